//! Telling whether two paths name one file, so that no command overwrites its own input
//! or one of its outputs with another (a data key replaced by the ciphertext it opens
//! is a dataset nobody can ever read).

use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// What a path names: the device and inode of the file it reaches (through any
/// symlinks) once that file exists; before, the absolute path the file would get (its
/// directory made canonical, a dangling symlink followed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileIdentity {
    /// An existing file.
    Inode {
        /// Its device.
        dev: u64,
        /// Its inode.
        ino: u64,
    },
    /// A file not there yet.
    Planned(PathBuf),
}

impl FileIdentity {
    /// The identity of `path`.
    ///
    /// # Errors
    /// The file or its directory cannot be inspected (other than not existing).
    pub fn of(path: &Path) -> io::Result<Self> {
        match std::fs::metadata(path) {
            Ok(m) => Ok(Self::Inode {
                dev: m.dev(),
                ino: m.ino(),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Self::Planned(planned(path)?)),
            Err(e) => Err(e),
        }
    }
}

/// Where a file that does not exist yet would be created.
fn planned(path: &Path) -> io::Result<PathBuf> {
    let mut path = path.to_path_buf();
    // Writing through a dangling symlink creates its target (a few hops at most).
    for _ in 0..8 {
        match std::fs::read_link(&path) {
            Ok(target) => {
                path = match path.parent() {
                    Some(dir) => dir.join(target),
                    None => target,
                }
            }
            Err(_) => break,
        }
    }
    let name = path.file_name().map(ToOwned::to_owned);
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    match (std::fs::canonicalize(&dir), name) {
        (Ok(dir), Some(name)) => Ok(dir.join(name)),
        // A missing directory: writing there fails on its own; compare what was given.
        (Err(e), _) if e.kind() == io::ErrorKind::NotFound => Ok(std::path::absolute(&path)?),
        (Err(e), _) => Err(e),
        (Ok(_), None) => Ok(std::path::absolute(&path)?),
    }
}

/// The first two of the `(name, path)` pairs whose paths name one file, by their names.
/// Character devices (`/dev/null`) never clash: nothing on them is replaced.
///
/// # Errors
/// A path that cannot be inspected.
pub fn first_clash<'a>(paths: &[(&'a str, &Path)]) -> io::Result<Option<(&'a str, &'a str)>> {
    let mut seen: Vec<(&str, FileIdentity)> = Vec::with_capacity(paths.len());
    for &(name, path) in paths {
        let is_char_device = std::fs::metadata(path).is_ok_and(|m| m.file_type().is_char_device());
        if is_char_device {
            continue;
        }
        let identity = FileIdentity::of(path)?;
        if let Some((earlier, _)) = seen.iter().find(|(_, other)| *other == identity) {
            return Ok(Some((earlier, name)));
        }
        seen.push((name, identity));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_reach_one_file_clash_and_others_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("data.csv");
        std::fs::write(&file, b"a,b\n").unwrap();
        let hard = dir.path().join("hard.csv");
        std::fs::hard_link(&file, &hard).unwrap();
        let soft = dir.path().join("soft.csv");
        std::os::unix::fs::symlink(&file, &soft).unwrap();
        let dotted = dir.path().join("sub/../data.csv");
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let new = dir.path().join("out.key");
        let new_again = dir.path().join("sub/../out.key");
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink("out.key", &dangling).unwrap();
        let other = dir.path().join("other.key");

        for alias in [&hard, &soft, &dotted] {
            assert_eq!(
                first_clash(&[("input", &file), ("output", alias)]).unwrap(),
                Some(("input", "output")),
                "{}",
                alias.display()
            );
        }
        for alias in [&new_again, &dangling] {
            assert_eq!(
                first_clash(&[("key", &new), ("manifest", alias)]).unwrap(),
                Some(("key", "manifest")),
                "{}",
                alias.display()
            );
        }
        assert_eq!(
            first_clash(&[("input", &file), ("key", &new), ("manifest", &other)]).unwrap(),
            None
        );
        let null = Path::new("/dev/null");
        assert_eq!(
            first_clash(&[("output", null), ("manifest", null)]).unwrap(),
            None
        );
    }
}
