//! Output files that appear only when complete.

use std::fs::File;
use std::path::Path;

use crate::{Error, Result};

/// Runs `write` on a temporary file next to `path` and renames it to `path` only if
/// `write` succeeds; on any error the temporary file is removed and `path` is left as
/// it was, so no partial plaintext is ever left behind. The file's data and then the
/// rename are flushed to disk before it returns, so after a crash `path` is either
/// whole or as it was.
///
/// # Errors
/// Whatever `write` returns, or [`Error::Io`] creating, flushing or renaming the file.
pub fn write_atomically<T>(path: &Path, write: impl FnOnce(&mut File) -> Result<T>) -> Result<T> {
    let mut tmp = staging_file(path)?;
    // Writes are already large (jobs or whole chunks), so no extra buffer copy.
    let value = write(tmp.as_file_mut())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| Error::Io(e.error))?;
    sync_parent_dir(path)?;
    Ok(value)
}

/// Like [`write_atomically`], but refuses to replace an existing `path`, and the file
/// is created readable by its owner only (0600 on Unix, from its first byte): for
/// secrets.
///
/// # Errors
/// [`Error::Io`] with kind `AlreadyExists` when `path` exists; else as
/// [`write_atomically`].
pub fn write_new_private(path: &Path, contents: &[u8]) -> Result<()> {
    let mut tmp = staging_file(path)?;
    std::io::Write::write_all(tmp.as_file_mut(), contents)?;
    tmp.as_file().sync_all()?;
    tmp.persist_noclobber(path)
        .map_err(|e| Error::Io(e.error))?;
    sync_parent_dir(path)
}

/// Flushes the directory holding `path` to disk, so that a file just created or renamed
/// there survives a power loss (the file's own `sync_all` does not cover its name).
///
/// # Errors
/// [`Error::Io`] opening or flushing the directory.
pub fn sync_parent_dir(path: &Path) -> Result<()> {
    #[cfg(unix)]
    File::open(parent_dir(path))?.sync_all()?;
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// A temporary file beside `path`, so that renaming it to `path` is atomic; tempfile
/// creates it 0600 on Unix.
fn staging_file(path: &Path) -> Result<tempfile::NamedTempFile> {
    Ok(tempfile::Builder::new()
        .prefix(".sealer-")
        .suffix(".partial")
        .tempfile_in(parent_dir(path))?)
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}
