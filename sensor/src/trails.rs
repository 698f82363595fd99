//! Trail sources of the sensor: text trail trees compiled at start-up, or a compiled store file
//! that is memory-mapped and swapped for a new one when it is replaced on disk.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use log::{debug, info, warn};
use trailwatch_trailset::{LoadReport, TrailDir, TrailSet, Whitelist};

use crate::config::TrailsConfig;
use crate::run::RunError;

/// Folder of the bundled text trails on an installed sensor.
pub const INSTALLED_TRAILS: &str = "/usr/share/trailwatch/trails";

/// Compiled store that `trailwatch-trails update` or `pull` keeps current on a device. When it
/// exists and no `--trails` is given, the sensor maps it instead of compiling the text trees.
pub const DEVICE_STORE: &str = "/data/trails/trails.store";

/// Number of unusable trail lines listed at warning level. The rest are listed at debug level
/// (`-v`). The public lists contain a few dozen typos, and listing them all on every start
/// would bury a mistake in a custom list.
const BAD_LINES_SHOWN: usize = 5;

/// Trails ready for the inspector, and the store file to watch when they came from one.
pub struct LoadedTrails {
    pub set: TrailSet,
    pub load_ms: f64,
    pub store: Option<PathBuf>,
    pub whitelist: Option<Whitelist>,
}

/// Loads the trails that `config.paths` names (text trees, or one store file), or the default
/// set when it is empty, and the whitelist.
pub fn load(config: &TrailsConfig) -> Result<LoadedTrails, RunError> {
    let whitelist = match &config.whitelist {
        Some(path) => Some(Whitelist::load(path).map_err(RunError::Whitelist)?),
        None => None,
    };

    let store = store_path(&config.paths)?;
    let started = Instant::now();
    let set = match &store {
        Some(path) => open_store(path, whitelist.as_ref())?,
        None => load_trees(&tree_dirs(&config.paths)?, whitelist.as_ref())?,
    };
    let load_ms = started.elapsed().as_secs_f64() * 1000.0;

    let origin = match &store {
        Some(path) => path.display().to_string(),
        None => "text trail trees".to_string(),
    };
    info!(
        "loaded {} trails in {load_ms:.0} ms from {origin}",
        set.len()
    );
    if set.is_empty() {
        warn!("no trails loaded from {origin}: no event can match a trail");
    }
    Ok(LoadedTrails {
        set,
        load_ms,
        store,
        whitelist,
    })
}

/// Returns the store file to map: the one `paths` names, or the device store when `paths` is
/// empty and the device store exists.
fn store_path(paths: &[PathBuf]) -> Result<Option<PathBuf>, RunError> {
    // Anything that exists and is not a folder is taken as a store, so that a FIFO or device
    // gets the store's "not a regular file" error rather than a folder error.
    let files: Vec<&PathBuf> = paths
        .iter()
        .filter(|path| path.exists() && !path.is_dir())
        .collect();
    match files.as_slice() {
        [] if paths.is_empty() && Path::new(DEVICE_STORE).is_file() => {
            Ok(Some(PathBuf::from(DEVICE_STORE)))
        }
        [] => Ok(None),
        [file] if paths.len() == 1 => Ok(Some(file.to_path_buf())),
        _ => Err(RunError::MixedTrails),
    }
}

fn open_store(path: &Path, whitelist: Option<&Whitelist>) -> Result<TrailSet, RunError> {
    let set = TrailSet::open(path).map_err(RunError::Store)?;
    Ok(match whitelist {
        Some(whitelist) => set.with_whitelist(whitelist.clone()),
        None => set,
    })
}

fn tree_dirs(paths: &[PathBuf]) -> Result<Vec<TrailDir>, RunError> {
    if paths.is_empty() {
        return default_trail_dirs();
    }
    let dirs = paths.iter().map(|path| TrailDir { path: path.clone() });
    Ok(dirs.collect())
}

fn load_trees(dirs: &[TrailDir], whitelist: Option<&Whitelist>) -> Result<TrailSet, RunError> {
    let (set, report) = TrailSet::load(dirs, whitelist).map_err(RunError::Trails)?;
    report_bad_lines(&report);

    let folders: Vec<String> = dirs
        .iter()
        .map(|dir| dir.path.display().to_string())
        .collect();
    info!(
        "compiled {} trail files from {}",
        report.files,
        folders.join(", ")
    );
    debug!(
        "trail counts: {:?}, duplicates: {}",
        report.counts, report.duplicates
    );
    Ok(set)
}

fn report_bad_lines(report: &LoadReport) {
    for (index, bad) in report.bad_lines.iter().enumerate() {
        let (file, line) = (bad.file.display(), bad.line);
        let message = format!(
            "{file}:{line}: skipped trail {:?}: {}",
            bad.text, bad.reason
        );
        if index < BAD_LINES_SHOWN {
            warn!("{message}");
        } else {
            debug!("{message}");
        }
    }
    if report.bad_line_total > BAD_LINES_SHOWN {
        let more = report.bad_line_total - BAD_LINES_SHOWN;
        let listed = report.bad_lines.len().saturating_sub(BAD_LINES_SHOWN);
        warn!(
            "{more} more unusable trail lines skipped ({listed} of them listed with -v); the \
             rest of each file was loaded"
        );
    }
}

/// Returns the bundled trail folders: the installed copy if present, else the source tree's.
fn default_trail_dirs() -> Result<Vec<TrailDir>, RunError> {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let source_tree = manifest_dir.parent().unwrap_or(manifest_dir).join("trails");
    let root = [PathBuf::from(INSTALLED_TRAILS), source_tree]
        .into_iter()
        .find(|root| root.join("static").is_dir())
        .ok_or_else(|| RunError::NoDefaultTrails(PathBuf::from(INSTALLED_TRAILS)))?;

    let mut dirs = vec![TrailDir {
        path: root.join("static"),
    }];
    if root.join("custom").is_dir() {
        dirs.push(TrailDir {
            path: root.join("custom"),
        });
    }
    Ok(dirs)
}

/// Minimum wall time between two looks at the store file.
const WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// Identity of a store file version: a writer replaces the file by renaming a new one over it,
/// which gives a new inode, and the size and modification time catch an in-place rewrite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    device: u64,
    inode: u64,
    size: u64,
    modified_ns: i128,
}

impl FileStamp {
    fn of(path: &Path) -> Option<FileStamp> {
        let metadata = std::fs::metadata(path).ok()?;
        Some(FileStamp {
            device: metadata.dev(),
            inode: metadata.ino(),
            size: metadata.size(),
            modified_ns: i128::from(metadata.mtime()) * 1_000_000_000
                + i128::from(metadata.mtime_nsec()),
        })
    }
}

/// Watches a store file and maps its new version when a writer replaces it.
pub struct StoreWatcher {
    path: PathBuf,
    whitelist: Option<Whitelist>,
    current: Option<FileStamp>,
    /// The version that failed to open, so it is reported once rather than every second.
    rejected: Option<FileStamp>,
    last_check: Instant,
}

impl StoreWatcher {
    /// Starts watching `path`, whose current version is already loaded.
    pub fn new(path: PathBuf, whitelist: Option<Whitelist>) -> StoreWatcher {
        let current = FileStamp::of(&path);
        StoreWatcher {
            path,
            whitelist,
            current,
            rejected: None,
            last_check: Instant::now(),
        }
    }

    /// Returns the new trail set when the file changed since the last call (looking at most
    /// once per [`WATCH_INTERVAL`]) and the new version opens. A version that fails to open is
    /// reported once and the caller keeps the trails it has.
    pub fn poll(&mut self) -> Option<TrailSet> {
        if self.last_check.elapsed() < WATCH_INTERVAL {
            return None;
        }
        self.last_check = Instant::now();
        self.check_now()
    }

    /// Looks at the file now, whatever the interval.
    pub fn check_now(&mut self) -> Option<TrailSet> {
        let stamp = FileStamp::of(&self.path)?;
        if Some(stamp) == self.current || Some(stamp) == self.rejected {
            return None;
        }

        match open_store(&self.path, self.whitelist.as_ref()) {
            Ok(set) => {
                info!(
                    "{}: new trail store mapped ({} trails)",
                    self.path.display(),
                    set.len()
                );
                self.current = Some(stamp);
                self.rejected = None;
                Some(set)
            }
            Err(error) => {
                warn!("rejected the new trail store ({error}); the previous one stays in use");
                self.rejected = Some(stamp);
                None
            }
        }
    }
}
