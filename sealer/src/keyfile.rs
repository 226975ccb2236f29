//! Secret key files: one line `<label>:<64 hex digits>`, written 0600, and refused
//! when group or others may read them.

use std::fs;
use std::path::Path;

use zeroize::Zeroizing;

use crate::envelope::BuyerSecretKey;
use crate::{DataKey, Error, Result};

/// Label of a data key (DEK) file.
pub const DATA_KEY_LABEL: &str = "datamarket-data-key-v1";
/// Label of a buyer X25519 secret key file.
pub const BUYER_SECRET_LABEL: &str = "datamarket-buyer-secret-key-v1";

/// Writes a new secret file with mode 0600. Refuses to overwrite an existing file. The
/// file appears whole or not at all, also after a crash (written aside, flushed, then
/// renamed into place and the directory flushed), so a failed write never leaves a
/// partial key that blocks the next attempt.
fn write_secret(path: &Path, label: &str, secret: &[u8; 32]) -> Result<()> {
    let hex = Zeroizing::new(hex::encode(secret));
    let line = Zeroizing::new(format!("{label}:{}\n", hex.as_str()));
    crate::write_new_private(path, line.as_bytes())
}

/// The most a key file holds (a label, a colon, 64 hex digits and a newline, with room
/// for a trailing newline or two): anything longer is not a key file.
const MAX_KEY_FILE_LEN: u64 = 256;

/// Opens a key file once, without following a symbolic link and without blocking on a
/// FIFO, so that the checks below and the read are of one and the same file.
fn open_key_file(path: &Path) -> Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
        options.custom_flags(flags.bits() as i32);
    }
    options.open(path).map_err(|e| {
        // ELOOP: the last component is a symbolic link.
        #[cfg(target_os = "linux")]
        let is_link = e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error());
        #[cfg(not(target_os = "linux"))]
        let is_link = false;
        if is_link {
            Error::KeyFile {
                path: path.to_owned(),
                reason: "a symbolic link: give the key file itself",
            }
        } else {
            Error::Io(e)
        }
    })
}

/// Reads a secret file after checking, on the open handle, that it is a regular file
/// of a key file's size that only its owner may read.
fn read_secret(path: &Path, label: &str) -> Result<Zeroizing<[u8; 32]>> {
    use std::io::Read as _;
    let file = open_key_file(path)?;
    let meta = file.metadata()?;
    let bad = |reason| Error::KeyFile {
        path: path.to_owned(),
        reason,
    };
    if !meta.is_file() {
        return Err(bad("not a regular file"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(Error::InsecureKeyFile {
                path: path.to_owned(),
                mode: mode & 0o777,
            });
        }
    }
    if meta.len() > MAX_KEY_FILE_LEN {
        return Err(bad("too long for a key file"));
    }
    let mut bytes = Zeroizing::new(Vec::with_capacity(MAX_KEY_FILE_LEN as usize + 1));
    (&file).take(MAX_KEY_FILE_LEN + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_KEY_FILE_LEN {
        return Err(bad("too long for a key file"));
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| bad("not a text key file"))?;
    let line = text.trim();
    let hex_part = line
        .strip_prefix(label)
        .and_then(|rest| rest.strip_prefix(':'))
        .ok_or_else(|| bad("wrong kind of key file (bad label)"))?;
    let mut key = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(hex_part, &mut key[..]).map_err(|_| bad("key is not 64 hex digits"))?;
    Ok(key)
}

/// Writes a data key file (0600; never overwrites).
///
/// # Errors
/// [`Error::Io`], also when the file exists.
pub fn write_data_key(path: &Path, dek: &DataKey) -> Result<()> {
    write_secret(path, DATA_KEY_LABEL, dek.expose_secret())
}

/// Reads a data key file.
///
/// # Errors
/// [`Error::InsecureKeyFile`], [`Error::KeyFile`], [`Error::Io`].
pub fn read_data_key(path: &Path) -> Result<DataKey> {
    read_secret(path, DATA_KEY_LABEL).map(|k| DataKey::from_bytes(*k))
}

/// Writes a buyer secret key file (0600; never overwrites).
///
/// # Errors
/// [`Error::Io`], also when the file exists.
pub fn write_buyer_secret(path: &Path, key: &BuyerSecretKey) -> Result<()> {
    write_secret(path, BUYER_SECRET_LABEL, key.expose_secret())
}

/// Reads a buyer secret key file.
///
/// # Errors
/// [`Error::InsecureKeyFile`], [`Error::KeyFile`], [`Error::Io`].
pub fn read_buyer_secret(path: &Path) -> Result<BuyerSecretKey> {
    read_secret(path, BUYER_SECRET_LABEL).map(|k| BuyerSecretKey::from_bytes(*k))
}
