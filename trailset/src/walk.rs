//! Listing the trail files of a tree in a deterministic order.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::TrailError;

/// One `*.txt` file of a trail tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TrailFile {
    pub(crate) path: PathBuf,
    /// The path below the tree root, from which the info text is derived.
    pub(crate) relative: PathBuf,
}

/// Lists every `*.txt` file below `root`, recursively, sorted by path so that the load order
/// (and with it which of two static duplicates wins) never depends on the file system.
///
/// Symbolic links are followed, except a link back to a folder being walked.
pub(crate) fn list_trail_files(root: &Path) -> Result<Vec<TrailFile>, TrailError> {
    let mut files = Vec::new();
    let mut ancestors = Vec::new();
    walk(root, Path::new(""), &mut ancestors, &mut files)?;
    Ok(files)
}

fn walk(
    folder: &Path,
    relative: &Path,
    ancestors: &mut Vec<PathBuf>,
    files: &mut Vec<TrailFile>,
) -> Result<(), TrailError> {
    let canonical = fs::canonicalize(folder).map_err(|source| io_error(folder, source))?;
    if ancestors.contains(&canonical) {
        return Ok(());
    }
    ancestors.push(canonical);

    let mut entries = Vec::new();
    for entry in fs::read_dir(folder).map_err(|source| io_error(folder, source))? {
        let entry = entry.map_err(|source| io_error(folder, source))?;
        entries.push(entry.file_name());
    }
    entries.sort();

    for name in entries {
        let path = folder.join(&name);
        let metadata = match fs::metadata(&path) {
            Ok(metadata) => metadata,
            // A symbolic link to nothing (an editor's lock file, a removed list) must not
            // stop the whole load.
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                log::warn!("{}: skipped, a symbolic link to nothing", path.display());
                continue;
            }
            Err(source) => return Err(io_error(&path, source)),
        };

        if metadata.is_dir() {
            walk(&path, &relative.join(&name), ancestors, files)?;
        } else if metadata.is_file() && path.extension().is_some_and(|ext| ext == "txt") {
            files.push(TrailFile {
                path,
                relative: relative.join(&name),
            });
        }
    }

    ancestors.pop();
    Ok(())
}

fn io_error(path: &Path, source: std::io::Error) -> TrailError {
    TrailError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relative_paths(root: &Path) -> Vec<String> {
        list_trail_files(root)
            .unwrap()
            .into_iter()
            .map(|file| file.relative.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn dangling_symlink_is_skipped() {
        let tree = tempfile::tempdir().unwrap();
        fs::write(tree.path().join("good.txt"), "evil.com\n").unwrap();
        std::os::unix::fs::symlink("/nonexistent/list.txt", tree.path().join("gone.txt")).unwrap();

        assert_eq!(relative_paths(tree.path()), vec!["good.txt".to_string()]);
    }

    #[test]
    fn files_are_listed_sorted_and_recursive() {
        let tree = tempfile::tempdir().unwrap();
        fs::create_dir_all(tree.path().join("malware")).unwrap();
        fs::create_dir_all(tree.path().join("abuse")).unwrap();
        for file in ["zeta.txt", "malware/b.txt", "malware/a.txt", "abuse/c.txt"] {
            fs::write(tree.path().join(file), "").unwrap();
        }

        let expected = ["abuse/c.txt", "malware/a.txt", "malware/b.txt", "zeta.txt"];
        assert_eq!(relative_paths(tree.path()), expected);
    }

    #[test]
    fn other_extensions_are_skipped() {
        let tree = tempfile::tempdir().unwrap();
        for file in ["LICENSE", "notes.md", "list.txt", "list.txt.bak"] {
            fs::write(tree.path().join(file), "").unwrap();
        }

        assert_eq!(relative_paths(tree.path()), ["list.txt"]);
    }

    #[cfg(unix)]
    #[test]
    fn link_cycle_is_walked_once() {
        let tree = tempfile::tempdir().unwrap();
        fs::create_dir_all(tree.path().join("malware")).unwrap();
        fs::write(tree.path().join("malware/a.txt"), "").unwrap();
        std::os::unix::fs::symlink(tree.path(), tree.path().join("malware/loop")).unwrap();

        assert_eq!(relative_paths(tree.path()), ["malware/a.txt"]);
    }

    #[test]
    fn missing_root_is_io_error() {
        let result = list_trail_files(Path::new("/nonexistent/trails"));

        assert!(matches!(result, Err(TrailError::Io { .. })));
    }
}
