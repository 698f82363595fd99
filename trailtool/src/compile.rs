//! Compiling text trail trees into a store file: `trailwatch-trails compile`.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use trailwatch_trailset::{
    write_store_atomic, LoadReport, StoreBuilder, StoreError, TrailDir, TrailError, Whitelist,
};

/// A store that could not be built or written.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error(transparent)]
    Trails(#[from] TrailError),

    #[error(transparent)]
    Store(#[from] StoreError),

    #[error("failed to create the store folder {}: {source}", path.display())]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The outcome of writing a store.
#[derive(Clone, Debug)]
pub struct Compiled {
    pub report: LoadReport,
    /// Size of the store file in bytes.
    pub bytes: usize,
    /// Time to build and write the store.
    pub elapsed: Duration,
}

/// Loads the whitelist file, if one is given.
pub fn load_whitelist(path: Option<&Path>) -> Result<Option<Whitelist>, TrailError> {
    path.map(Whitelist::load).transpose()
}

/// Builds a store from trail trees, in the order given, and writes it atomically to `output`.
pub fn compile_trees(
    trees: &[PathBuf],
    whitelist: Option<&Whitelist>,
    output: &Path,
) -> Result<Compiled, CompileError> {
    let started = Instant::now();
    let mut builder = StoreBuilder::new();
    for tree in trees {
        builder.add_tree(&TrailDir::new(tree))?;
    }
    write_store(builder, whitelist, output, started)
}

/// Finishes `builder` and writes the store atomically to `output`, creating its folder.
pub fn write_store(
    builder: StoreBuilder,
    whitelist: Option<&Whitelist>,
    output: &Path,
    started: Instant,
) -> Result<Compiled, CompileError> {
    let (bytes, report) = builder.finish(whitelist)?;

    if let Some(folder) = output.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(folder).map_err(|source| CompileError::Folder {
            path: folder.to_path_buf(),
            source,
        })?;
    }
    write_store_atomic(output, &bytes)?;

    Ok(Compiled {
        report,
        bytes: bytes.len(),
        elapsed: started.elapsed(),
    })
}
