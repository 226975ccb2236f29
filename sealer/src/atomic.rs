//! Output files that appear only when complete.
//!
//! On Linux the output is written into a file that has no name at all (`O_TMPFILE` in
//! the target's directory) and is given its name only once it is whole and on disk. A
//! crash, a `kill -9` or Ctrl-C part-way through leaves nothing behind: the kernel frees
//! a nameless file when its last descriptor closes, so no half-decrypted plaintext can
//! linger under a `.partial` name. Where that is not available (another OS, a file
//! system without `O_TMPFILE`, no `/proc`), a named temporary file beside the target
//! is used instead, and removed on any error.

use std::fs::File;
use std::path::Path;

use crate::{Error, Result};

/// Runs `write` on a new file in `path`'s directory and gives it the name `path` only
/// if `write` succeeds, replacing what was there; on any error `path` is left as it
/// was and nothing else remains (see the module's documentation for a crash). The
/// file's data and then its name are flushed to disk before it returns, so after a
/// power loss `path` is either whole or as it was. The file is readable by its owner
/// only (0600 on Unix).
///
/// A device or a FIFO at `path` is refused: renaming over it would replace the node
/// itself (run as root, a plaintext "written" to /dev/null would become /dev/null).
///
/// # Errors
/// Whatever `write` returns, or [`Error::Io`] creating, flushing or naming the file
/// (kind `InvalidInput` for a device or FIFO at `path`).
pub fn write_atomically<T>(path: &Path, write: impl FnOnce(&mut File) -> Result<T>) -> Result<T> {
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        return Err(Error::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "{} is a device or a FIFO: an output written whole and then named would \
                 replace it; write to a regular file",
                path.display()
            ),
        )));
    }
    let mut staged = Staged::new(path)?;
    // Writes are already large (jobs or whole chunks), so no extra buffer copy.
    let value = write(staged.file_mut())?;
    staged.persist(path, Replace::Yes)?;
    Ok(value)
}

/// Like [`write_atomically`], but refuses to replace an existing `path`: for secrets.
///
/// # Errors
/// [`Error::Io`] with kind `AlreadyExists` when `path` exists; else as
/// [`write_atomically`].
pub fn write_new_private(path: &Path, contents: &[u8]) -> Result<()> {
    let mut staged = Staged::new(path)?;
    std::io::Write::write_all(staged.file_mut(), contents)?;
    staged.persist(path, Replace::No)
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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Replace {
    Yes,
    No,
}

/// A file being written until it is whole.
enum Staged {
    /// A file without a name in the target's directory (Linux `O_TMPFILE`).
    #[cfg(target_os = "linux")]
    Nameless(File),
    /// A named temporary file beside the target, so that renaming it is atomic; tempfile
    /// creates it 0600 on Unix and removes it when dropped.
    Named(tempfile::NamedTempFile),
}

impl Staged {
    fn new(path: &Path) -> Result<Self> {
        let dir = parent_dir(path);
        #[cfg(target_os = "linux")]
        if let Some(file) = nameless::create_in(dir) {
            return Ok(Self::Nameless(file));
        }
        Ok(Self::Named(staging_name().tempfile_in(dir)?))
    }

    fn file_mut(&mut self) -> &mut File {
        match self {
            #[cfg(target_os = "linux")]
            Self::Nameless(file) => file,
            Self::Named(tmp) => tmp.as_file_mut(),
        }
    }

    /// Flushes the file, names it `path`, and flushes the name.
    fn persist(self, path: &Path, replace: Replace) -> Result<()> {
        match self {
            #[cfg(target_os = "linux")]
            Self::Nameless(file) => {
                file.sync_all()?;
                nameless::link(&file, path, replace)?;
            }
            Self::Named(tmp) => {
                tmp.as_file().sync_all()?;
                match replace {
                    Replace::Yes => tmp.persist(path),
                    Replace::No => tmp.persist_noclobber(path),
                }
                .map_err(|e| Error::Io(e.error))?;
            }
        }
        sync_parent_dir(path)
    }
}

#[cfg(target_os = "linux")]
mod nameless {
    use std::fs::File;
    use std::io;
    use std::os::fd::AsRawFd;
    use std::path::{Path, PathBuf};

    use rustix::fs::{linkat, openat, AtFlags, Mode, OFlags, CWD};

    use super::Replace;

    /// A new file with no name in `dir`, mode 0600, or `None` where the kernel or the
    /// file system cannot make one, or it could not be named later (no `/proc`).
    pub(super) fn create_in(dir: &Path) -> Option<File> {
        let fd = openat(
            CWD,
            dir,
            OFlags::TMPFILE | OFlags::RDWR | OFlags::CLOEXEC,
            Mode::RUSR | Mode::WUSR,
        )
        .ok()?;
        let file = File::from(fd);
        // Naming it goes through /proc (linkat's AT_EMPTY_PATH needs a capability).
        proc_path(&file).exists().then_some(file)
    }

    /// Gives `file` the name `path`; with [`Replace::Yes`] an existing `path` is
    /// replaced atomically (linked beside it under a fresh temporary name, then renamed
    /// over it; the temporary name is removed if the rename fails).
    pub(super) fn link(file: &File, path: &Path, replace: Replace) -> io::Result<()> {
        match link_as(file, path) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && replace == Replace::Yes => {
                super::staging_name()
                    .make_in(super::parent_dir(path), |aside| link_as(file, aside))?
                    .persist(path)
                    .map(|_| ())
                    .map_err(|e| e.error)
            }
            other => other,
        }
    }

    fn link_as(file: &File, path: &Path) -> io::Result<()> {
        linkat(CWD, proc_path(file), CWD, path, AtFlags::SYMLINK_FOLLOW).map_err(io::Error::from)
    }

    fn proc_path(file: &File) -> PathBuf {
        PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()))
    }
}

/// The temporary name of a file on its way to its own (the fallback's staging file, or
/// a whole nameless file linked beside the one it replaces): hidden, and saying what it
/// is to whoever finds one after a crash.
fn staging_name() -> tempfile::Builder<'static, 'static> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".sealer-").suffix(".partial");
    builder
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn a_fifo_or_device_is_refused_not_renamed_over() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let r = write_atomically(&fifo, |f| Ok(f.write_all(b"plaintext")?));
        assert!(
            matches!(&r, Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::InvalidInput),
            "{r:?}"
        );
        assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
        assert_eq!(names(dir.path()), vec!["fifo".to_string()]);
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// While the output is being written, nothing in its directory holds it, so a
    /// crash or a kill at that moment leaves no plaintext behind; afterwards it is there
    /// whole, with mode 0600.
    #[test]
    #[cfg(target_os = "linux")]
    fn an_output_has_no_name_until_it_is_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        write_atomically(&path, |f| {
            f.write_all(b"half of the plaintext")?;
            assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));
            f.write_all(b", and the rest")?;
            Ok(())
        })
        .unwrap();
        assert_eq!(names(dir.path()), ["out.bin"]);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"half of the plaintext, and the rest"
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        std::fs::write(&path, b"before").unwrap();
        let err = write_atomically(&path, |f| {
            f.write_all(b"partial")?;
            Err::<(), _>(Error::Io(std::io::Error::other("stopped")))
        })
        .unwrap_err();
        assert!(err.to_string().contains("stopped"), "{err}");
        assert_eq!(names(dir.path()), ["out.bin"]);
        assert_eq!(std::fs::read(&path).unwrap(), b"before");
    }

    #[test]
    fn an_existing_output_is_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        std::fs::write(&path, b"an older and longer output").unwrap();
        write_atomically(&path, |f| Ok(f.write_all(b"new")?)).unwrap();
        assert_eq!(names(dir.path()), ["out.bin"]);
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
    }

    #[test]
    fn a_secret_never_replaces_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        write_new_private(&path, b"first").unwrap();
        let err = write_new_private(&path, b"second").unwrap_err();
        match err {
            Error::Io(e) => assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists),
            other => panic!("{other:?}"),
        }
        assert_eq!(names(dir.path()), ["key"]);
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
    }

    #[test]
    fn an_output_is_written_in_its_own_directory() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        let path = sub.join("out.bin");
        write_atomically(&path, |f| Ok(f.write_all(b"x")?)).unwrap();
        assert_eq!(names(&sub), ["out.bin"]);
        assert_eq!(names(dir.path()), ["sub"]);
    }

    /// The fallback where a nameless file cannot be made: a named temporary file that
    /// replaces, or refuses to replace, the target.
    #[test]
    fn the_named_fallback_replaces_or_refuses_as_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        std::fs::write(&path, b"before").unwrap();
        let named = || {
            let mut staged = Staged::Named(tempfile::NamedTempFile::new_in(dir.path()).unwrap());
            staged.file_mut().write_all(b"after").unwrap();
            staged
        };
        let err = named().persist(&path, Replace::No).unwrap_err();
        assert!(matches!(err, Error::Io(ref e) if e.kind() == std::io::ErrorKind::AlreadyExists));
        assert_eq!(names(dir.path()), ["out.bin"]);
        named().persist(&path, Replace::Yes).unwrap();
        assert_eq!(names(dir.path()), ["out.bin"]);
        assert_eq!(std::fs::read(&path).unwrap(), b"after");
    }
}
