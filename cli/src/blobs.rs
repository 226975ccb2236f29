//! Where ciphertexts live: any store that `object_store` reaches. A plain path or a
//! `file://` URL is a local directory; `s3://bucket/prefix` is S3 or an S3-compatible
//! server (credentials, region and endpoint from the standard `AWS_*` environment
//! variables: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`,
//! `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`, ...); `http(s)://` is a WebDAV server (upload)
//! or any web server (download); `gs://`, `az://` and the rest that
//! [`object_store::parse_url_opts`] knows take their settings from the environment too.
//!
//! The CLI is synchronous; each store drives its requests on a small current-thread
//! tokio runtime of its own.

use std::{
    fs::File,
    io::{Read, Write},
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use futures::StreamExt;
use indicatif::ProgressBar;
use object_store::{
    aws::AmazonS3Builder, buffered::BufWriter, http::HttpBuilder, path::Path as ObjectPath,
    ObjectStore, ObjectStoreExt, ObjectStoreScheme, RetryConfig,
};
use tokio::io::AsyncWriteExt;
use url::Url;

use crate::{Error, Result};

/// Objects above this size go up in parts of this size (S3 wants parts of 5 MiB or more).
const PART_SIZE: usize = 10 * 1024 * 1024;
/// Bytes read from the local file per upload step.
const READ_SIZE: usize = 1024 * 1024;

/// A blob store, opened from its location (a path or a URL).
pub struct BlobStore {
    location: Location,
    runtime: tokio::runtime::Runtime,
}

enum Location {
    /// A local directory: ciphertexts are renamed into it, not copied.
    Local(PathBuf),
    /// Anything else: the store, the URL of its root and the prefix under it.
    Remote {
        store: Arc<dyn ObjectStore>,
        base: Url,
        prefix: ObjectPath,
    },
}

/// A current-thread runtime for one store's requests.
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::invalid(format!("cannot start the blob store's I/O: {e}")))
}

/// Fails fast on an unreachable store: a few retries, not object_store's three minutes.
fn retry() -> RetryConfig {
    RetryConfig {
        max_retries: 2,
        retry_timeout: Duration::from_secs(15),
        ..RetryConfig::default()
    }
}

/// A local path, or a URL with a scheme (`file://`, `s3://`, `https://`, ...).
fn parse_location(text: &str) -> Result<Url> {
    if text.is_empty() {
        return Err(Error::invalid(
            "no blob store: give --blobs (a directory or a URL; without HOME there is no default)",
        ));
    }
    if text.contains("://") {
        return Url::parse(text).map_err(|e| Error::invalid(format!("bad blob store URL: {e}")));
    }
    let path = Path::new(text);
    let absolute = if path.is_absolute() {
        path.to_owned()
    } else {
        std::env::current_dir()
            .map_err(|e| Error::io("cannot resolve", path, e))?
            .join(path)
    };
    Url::from_directory_path(&absolute)
        .map_err(|()| Error::invalid(format!("bad blob directory {}", absolute.display())))
}

/// The store holding `url` and the object's path in it.
fn open_url(url: &Url) -> Result<(Arc<dyn ObjectStore>, ObjectPath)> {
    let unusable = |e: &dyn std::fmt::Display| {
        Error::invalid(format!(
            "cannot use the blob store {}: {e}",
            redact(url.as_str())
        ))
    };
    let (scheme, path) = ObjectStoreScheme::parse(url).map_err(|e| unusable(&e))?;
    let store: Arc<dyn ObjectStore> = match scheme {
        ObjectStoreScheme::AmazonS3 => Arc::new(
            AmazonS3Builder::from_env()
                .with_url(url.as_str())
                .with_retry(retry())
                .build()
                .map_err(|e| unusable(&e))?,
        ),
        ObjectStoreScheme::Http => Arc::new(
            HttpBuilder::new()
                .with_url(&url[..url::Position::BeforePath])
                .with_retry(retry())
                .build()
                .map_err(|e| unusable(&e))?,
        ),
        // gs://, az://, memory:// ...: their builders read the same kind of variables.
        _ => {
            let (store, _) =
                object_store::parse_url_opts(url, std::env::vars()).map_err(|e| unusable(&e))?;
            Arc::from(store)
        }
    };
    Ok((store, path))
}

/// `url` without a password, for messages.
fn redact(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

impl BlobStore {
    /// Opens the store at `location` (nothing is sent yet).
    ///
    /// # Errors
    /// A malformed URL, an unknown scheme, or a store that cannot be configured.
    pub fn open(location: &str) -> Result<Self> {
        let url = parse_location(location)?;
        let location = if url.scheme() == "file" {
            let dir = url
                .to_file_path()
                .map_err(|()| Error::invalid(format!("{url} is not a local directory")))?;
            Location::Local(dir)
        } else {
            let (store, prefix) = open_url(&url)?;
            // The URI that goes on chain never carries credentials.
            let mut base = url.clone();
            base.set_path("");
            base.set_query(None);
            let _ = base.set_username("");
            let _ = base.set_password(None);
            Location::Remote {
                store,
                base,
                prefix,
            }
        };
        Ok(Self {
            location,
            runtime: runtime()?,
        })
    }

    /// The store's location, for messages.
    pub fn describe(&self) -> String {
        match &self.location {
            Location::Local(dir) => file_uri(dir).trim_end_matches('/').to_owned(),
            Location::Remote { base, prefix, .. } => {
                format!("{}/{prefix}", redact(base.as_str()).trim_end_matches('/'))
            }
        }
    }

    /// A temporary file for a ciphertext on its way into this store: in the directory
    /// itself for a local store (so that [`BlobStore::put`] is a rename), else in the
    /// system's temporary directory.
    ///
    /// # Errors
    /// The directory cannot be made or written.
    pub fn staging_file(&self) -> Result<tempfile::NamedTempFile> {
        let dir = match &self.location {
            Location::Local(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| Error::io("cannot create the blob directory", dir, e))?;
                dir.clone()
            }
            Location::Remote { .. } => std::env::temp_dir(),
        };
        tempfile::Builder::new()
            .prefix(".datamarket-")
            .suffix(".partial")
            .tempfile_in(&dir)
            .map_err(|e| Error::io("cannot write in", &dir, e))
    }

    /// Stores `file` (from [`BlobStore::staging_file`]) as `name` and returns the URI
    /// that fetches it. Remote stores get it in parts when it is large; `progress`
    /// counts the bytes sent.
    ///
    /// # Errors
    /// The store refusing or not answering; nothing is left behind then.
    pub fn put(
        &self,
        file: tempfile::NamedTempFile,
        name: &str,
        progress: &ProgressBar,
    ) -> Result<String> {
        match &self.location {
            Location::Local(dir) => {
                let dir = dir
                    .canonicalize()
                    .map_err(|e| Error::io("cannot open the blob directory", dir, e))?;
                let path = dir.join(name);
                // Ciphertext is public by design: readable by a web server that serves it.
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    file.as_file()
                        .set_permissions(std::fs::Permissions::from_mode(0o644))
                        .map_err(|e| Error::io("cannot write", file.path(), e))?;
                }
                // The file and its name are on disk before the offer that commits to
                // them goes on chain: a power loss must not leave a listed offer whose
                // ciphertext is gone.
                file.as_file()
                    .sync_all()
                    .map_err(|e| Error::io("cannot write", file.path(), e))?;
                file.persist(&path)
                    .map_err(|e| Error::io("cannot write", &path, e.error))?;
                sealer::sync_parent_dir(&path)?;
                progress.inc(std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0));
                Ok(file_uri(&path))
            }
            Location::Remote {
                store,
                base,
                prefix,
            } => {
                let path = prefix.clone().join(name);
                let uri = format!("{}/{path}", redact(base.as_str()).trim_end_matches('/'));
                let failed = |e: &dyn std::fmt::Display| {
                    Error::invalid(format!("cannot upload the ciphertext to {uri}: {e}"))
                };
                let mut input = file
                    .reopen()
                    .map_err(|e| Error::io("cannot read", file.path(), e))?;
                let mut writer =
                    BufWriter::with_capacity(Arc::clone(store), path.clone(), PART_SIZE);
                let mut finishing = false;
                let sent = self.runtime.block_on(async {
                    loop {
                        let mut buffer = vec![0; READ_SIZE];
                        let n = read_full(&mut input, &mut buffer)
                            .map_err(|e| Error::io("cannot read", file.path(), e))?;
                        if n == 0 {
                            break;
                        }
                        buffer.truncate(n);
                        writer.write_all(&buffer).await.map_err(|e| failed(&e))?;
                        progress.inc(n as u64);
                    }
                    finishing = true;
                    writer.shutdown().await.map_err(|e| failed(&e))
                });
                if let Err(e) = sent {
                    // A multipart upload cut short is not an object: drop its parts
                    // (`abort` may only run before the writer finishes).
                    if !finishing {
                        let _ = self.runtime.block_on(writer.abort());
                    }
                    return Err(e);
                }
                Ok(uri)
            }
        }
    }

    /// Deletes the object at `uri` (an offer that was refused); a missing one is fine.
    ///
    /// # Errors
    /// The store refusing.
    pub fn delete(&self, uri: &str) -> Result<()> {
        match &self.location {
            Location::Local(_) => {
                let path = local_path(uri)?;
                match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        Err(Error::io("cannot delete", path, e))
                    }
                    _ => Ok(()),
                }
            }
            Location::Remote { store, .. } => {
                let url = Url::parse(uri).map_err(|e| Error::invalid(format!("{uri}: {e}")))?;
                let (_, path) = ObjectStoreScheme::parse(&url)
                    .map_err(|e| Error::invalid(format!("{uri}: {e}")))?;
                match self.runtime.block_on(store.delete(&path)) {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                    Err(e) => Err(Error::invalid(format!("cannot delete {uri}: {e}"))),
                }
            }
        }
    }
}

/// Reads until `buffer` is full or the input ends.
fn read_full(input: &mut impl Read, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match input.read(&mut buffer[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// The `file://` URI of a local path, percent-encoded (a `#`, `?` or `%` in a directory
/// name would otherwise make a URI that names another file).
fn file_uri(path: &Path) -> String {
    Url::from_file_path(path)
        .map(String::from)
        .unwrap_or_else(|()| format!("file://{}", path.display()))
}

/// The local path of a `file://` URI.
fn local_path(uri: &str) -> Result<PathBuf> {
    Url::parse(uri)
        .ok()
        .filter(|url| url.scheme() == "file")
        .and_then(|url| url.to_file_path().ok())
        .ok_or_else(|| Error::invalid(format!("{uri} is not a local file")))
}

/// The ciphertext at `uri`, readable from a local file: a `file://` URI is opened where
/// it is; anything else is downloaded with `object_store` into an anonymous temporary
/// file (gone when dropped), `progress` counting the bytes. An object of another length
/// than `expected_len` (the offer's header says it) is refused before its download, and
/// a download that runs past it is stopped: a store cannot fill the disk.
///
/// # Errors
/// An unknown scheme, a missing object, one of the wrong length, or an unreachable
/// store.
pub fn open_ciphertext(uri: &str, expected_len: u64, progress: &ProgressBar) -> Result<File> {
    let url = Url::parse(uri)
        .map_err(|e| Error::invalid(format!("the offer's ciphertext URI {uri} is bad: {e}")))?;
    if url.scheme() == "file" {
        let path = local_path(uri)?;
        return File::open(&path).map_err(|e| Error::io("cannot read the ciphertext", path, e));
    }
    let (store, path) = open_url(&url)?;
    let failed = |e: &dyn std::fmt::Display| {
        Error::invalid(format!(
            "cannot download the ciphertext from {}: {e}",
            redact(uri)
        ))
    };
    let mut file =
        tempfile::tempfile().map_err(|e| Error::io("cannot write in", std::env::temp_dir(), e))?;
    runtime()?.block_on(async {
        let got = store.get(&path).await.map_err(|e| failed(&e))?;
        let wrong_length = |size: u64| {
            failed(&format!(
                "it holds {size} bytes or more where the offer's ciphertext has {expected_len}"
            ))
        };
        if got.meta.size != expected_len {
            return Err(wrong_length(got.meta.size));
        }
        let mut received = 0u64;
        let mut stream = got.into_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| failed(&e))?;
            received += chunk.len() as u64;
            if received > expected_len {
                return Err(wrong_length(received));
            }
            file.write_all(&chunk)
                .map_err(|e| Error::io("cannot write in", std::env::temp_dir(), e))?;
            progress.inc(chunk.len() as u64);
        }
        Ok::<_, Error>(())
    })?;
    file.flush()
        .map_err(|e| Error::io("cannot write in", std::env::temp_dir(), e))?;
    Ok(file)
}

/// A small object at `uri` (a job module, its arguments, a job result), whole in
/// memory; `None` when there is no such object. One larger than `max_len` is refused.
///
/// # Errors
/// A bad URI, an object over `max_len`, or an unreachable store.
pub fn fetch_small(uri: &str, max_len: u64) -> Result<Option<Vec<u8>>> {
    let url = Url::parse(uri).map_err(|e| Error::invalid(format!("the URI {uri} is bad: {e}")))?;
    let too_large = || Error::invalid(format!("{} holds more than {max_len} bytes", redact(uri)));
    if url.scheme() == "file" {
        let path = local_path(uri)?;
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("cannot read", path, e)),
        };
        let mut bytes = Vec::new();
        file.take(max_len + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io("cannot read", &path, e))?;
        if bytes.len() as u64 > max_len {
            return Err(too_large());
        }
        return Ok(Some(bytes));
    }
    let (store, path) = open_url(&url)?;
    let failed =
        |e: &dyn std::fmt::Display| Error::invalid(format!("cannot download {}: {e}", redact(uri)));
    runtime()?.block_on(async {
        let got = match store.get(&path).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(failed(&e)),
        };
        if got.meta.size > max_len {
            return Err(too_large());
        }
        let mut bytes = Vec::new();
        let mut stream = got.into_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| failed(&e))?;
            if (bytes.len() + chunk.len()) as u64 > max_len {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Some(bytes))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_are_local_directories() {
        let url = parse_location("/var/blobs").unwrap();
        assert_eq!(url.as_str(), "file:///var/blobs/");
        let store = BlobStore::open("/var/blobs").unwrap();
        assert_eq!(store.describe(), "file:///var/blobs");
    }

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            redact("https://user:secret@dav.example/blobs"),
            "https://user:***@dav.example/blobs"
        );
        let error = BlobStore::open("nosuch://bucket/x").err().unwrap();
        assert!(
            error.to_string().contains("cannot use the blob store"),
            "{error}"
        );
    }
}
