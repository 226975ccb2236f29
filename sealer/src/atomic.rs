//! Output files that appear only when complete.

use std::fs::File;
use std::path::Path;

use crate::{Error, Result};

/// Runs `write` on a temporary file next to `path` and renames it to `path` only if
/// `write` succeeds; on any error the temporary file is removed and `path` is left as
/// it was, so no partial plaintext is ever left behind.
///
/// # Errors
/// Whatever `write` returns, or [`Error::Io`] creating, flushing or renaming the file.
pub fn write_atomically<T>(path: &Path, write: impl FnOnce(&mut File) -> Result<T>) -> Result<T> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".sealer-")
        .suffix(".partial")
        .tempfile_in(dir)?;
    // Writes are already large (jobs or whole chunks), so no extra buffer copy.
    let value = write(tmp.as_file_mut())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| Error::Io(e.error))?;
    Ok(value)
}
