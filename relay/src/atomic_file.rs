//! Atomic replacement of small state files, and the lock files that keep a second process
//! away from them.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Replaces `path` with `bytes` so that a crash or power cut leaves either the old or the new
/// content: writes `<path>.tmp`, fsyncs it, renames it over `path` and fsyncs the folder.
///
/// The temporary name is fixed, so only one process may write a given `path` at a time.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let temporary = temporary_path(path);

    let mut file = File::create(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);

    fs::rename(&temporary, path)?;
    sync_dir(parent_dir(path))
}

/// Fsyncs a folder, so that files created, renamed or removed in it stay so after power loss.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Opens or creates `path` and takes an exclusive `flock(2)` on it without waiting. Returns
/// `Ok(None)` when another open file (in this or another process) holds the lock. The lock
/// lasts until the returned file is closed.
pub(crate) fn lock_exclusive(path: &Path) -> io::Result<Option<File>> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(error)) => Err(error),
    }
}

fn temporary_path(path: &Path) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(".tmp");
    PathBuf::from(name)
}

/// Returns the folder of `path`, `.` for a bare file name.
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_replaces_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");

        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();

        assert_eq!(fs::read(&path).unwrap(), b"second");
        assert!(!temporary_path(&path).exists());
    }

    #[test]
    fn second_lock_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");

        let first = lock_exclusive(&path).unwrap();
        let second = lock_exclusive(&path).unwrap();
        drop(first);
        let third = lock_exclusive(&path).unwrap();

        assert!(second.is_none());
        assert!(third.is_some());
    }

    #[test]
    fn write_atomic_reports_missing_folder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("state.json");

        let error = write_atomic(&path, b"x").unwrap_err();

        assert_eq!(error.kind(), io::ErrorKind::NotFound);
    }
}
