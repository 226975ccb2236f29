//! Plaintext input of known length.

use std::fs::File;
use std::io::Seek;

use crate::Result;

/// A dataset as a file of known length, which encryption needs (the header records the
/// length before the first chunk): `file` itself when it is a regular file; otherwise
/// (a pipe, a terminal, a process substitution, whose reported length is 0 whatever
/// they hold) everything it yields, copied first into an unnamed temporary file in the
/// system's temporary directory. That copy holds plaintext on disk until it is closed.
///
/// # Errors
/// [`crate::Error::Io`] reading `file` or writing the copy.
pub fn file_of_known_length(mut file: File) -> Result<(File, u64)> {
    let meta = file.metadata()?;
    if meta.is_file() {
        return Ok((file, meta.len()));
    }
    let mut spool = tempfile::tempfile()?;
    let len = std::io::copy(&mut file, &mut spool)?;
    spool.rewind()?;
    Ok((spool, len))
}
