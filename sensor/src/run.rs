//! One offline run: load trails, read every capture file, report the counters.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use log::{debug, info, warn};
use trailwatch_event::LogWriter;
use trailwatch_trailset::{LoadReport, TrailDir, TrailSet, Whitelist};

use crate::capture::{self, ReadEnd};
use crate::cli::Args;
use crate::ignore::IgnoreList;
use crate::inspect::Inspector;
use crate::output::EventSink;
use crate::signals;
use crate::stats::Counters;

/// Folder of the bundled trails on an installed sensor.
pub const INSTALLED_TRAILS: &str = "/usr/share/trailwatch/trails";

/// A problem that stops the run before any packet is read.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(
        "no bundled trail set found in {} or in the source tree's trails/; pass --trails DIR",
        .0.display()
    )]
    NoDefaultTrails(PathBuf),

    #[error("cannot load trails (--trails): {0}")]
    Trails(#[source] trailwatch_trailset::TrailError),

    #[error("cannot load the whitelist (--whitelist): {0}")]
    Whitelist(#[source] trailwatch_trailset::TrailError),

    #[error("cannot load the ignore rules (--ignore): {0}")]
    Ignore(#[from] crate::ignore::IgnoreError),

    #[error("cannot open the event log (--log-dir): {0}")]
    Log(#[from] trailwatch_event::LogError),

    #[error("cannot write statistics (--stats-json) to {}: {source}", path.display())]
    Stats {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The outcome of a run that got as far as reading packets.
pub struct Outcome {
    pub counters: Counters,
    /// Files that could not be opened, have an unsupported link type, or that libpcap stopped
    /// reading before their end for a reason other than a cut-short last record.
    pub failed_files: u64,
    /// Whether a stop signal ended the run before every file was read.
    pub stopped: bool,
}

impl Outcome {
    /// Returns true when every file was read and every event written.
    pub fn is_complete(&self) -> bool {
        self.failed_files == 0 && self.counters.write_errors == 0 && !self.stopped
    }
}

/// Runs the sensor over the capture files named in `args`.
pub fn run(args: &Args) -> Result<Outcome, RunError> {
    if let Err(error) = signals::install() {
        warn!(
            "cannot install the SIGINT/SIGTERM handlers ({error}); a signal ends the run at once"
        );
    }

    // Created now, so that a bad path fails before the capture is read rather than after.
    let stats_file = match &args.stats_json {
        Some(path) => {
            let file = File::create(path).map_err(|source| RunError::Stats {
                path: path.clone(),
                source,
            })?;
            Some((path, file))
        }
        None => None,
    };

    let trails = load_trails(args)?;
    let ignore = match &args.ignore {
        Some(path) => IgnoreList::load(path)?,
        None => IgnoreList::default(),
    };
    let writer = LogWriter::open(&args.log_dir, args.json)?;
    info!("writing events to {}", args.log_dir.display());

    let sensor_name = args.sensor_name.clone().unwrap_or_else(host_name);
    let sink = EventSink::new(
        &sensor_name,
        ignore,
        Duration::from_secs(args.throttle),
        writer,
        args.console,
    );
    let mut inspector = Inspector::new(trails.set, sink);
    inspector.counters.trails_loaded = inspector.trails().len() as u64;
    inspector.counters.trails_load_ms = trails.load_ms;

    let started = Instant::now();
    let mut failed_files = 0;
    for path in &args.read {
        if signals::stop_requested() {
            break;
        }
        if !read_one(&mut inspector, path) {
            failed_files += 1;
        }
    }
    let stopped = signals::stop_requested();
    if stopped {
        warn!("stopped by a signal; pending summaries and counters are written");
    }
    inspector.finish();
    inspector.counters.process_ms = started.elapsed().as_secs_f64() * 1000.0;
    inspector.counters.files_failed = failed_files;

    let counters = inspector.counters.clone();
    if let Some((path, mut file)) = stats_file {
        let text = format!("{}\n", counters.to_json());
        file.write_all(text.as_bytes())
            .map_err(|source| RunError::Stats {
                path: path.clone(),
                source,
            })?;
    }
    if counters.write_errors > 0 {
        warn!(
            "{} events could not be written to {}",
            counters.write_errors,
            args.log_dir.display()
        );
    }
    Ok(Outcome {
        counters,
        failed_files,
        stopped,
    })
}

/// Reads one capture file; returns false when it could not be read to its end.
fn read_one(inspector: &mut Inspector, path: &Path) -> bool {
    let name = path.display();
    let on_frame = |link, frame: &capture::Frame<'_>| inspector.on_frame(link, frame);
    let report = match capture::read_file(path, signals::stop_requested, on_frame) {
        Ok(report) => report,
        Err(error) => {
            log::error!("{error}");
            return false;
        }
    };
    inspector.end_of_file();
    inspector.counters.files_read += 1;

    match report.end {
        ReadEnd::Complete => {
            info!(
                "{name}: {} packets, link type {}",
                report.packets,
                report.link.name()
            );
            true
        }
        ReadEnd::Truncated(message) => {
            warn!(
                "{name}: the file is cut short in the middle of a record ({message}); the {} \
                 complete records before it were read",
                report.packets
            );
            true
        }
        ReadEnd::Failed(message) => {
            log::error!(
                "{name}: libpcap stopped reading after {} records: {message}",
                report.packets
            );
            false
        }
        ReadEnd::Stopped => {
            info!("{name}: stopped after {} records", report.packets);
            true
        }
    }
}

struct LoadedTrails {
    set: TrailSet,
    load_ms: f64,
}

fn load_trails(args: &Args) -> Result<LoadedTrails, RunError> {
    let dirs = match args.trails.is_empty() {
        true => default_trail_dirs()?,
        false => args
            .trails
            .iter()
            .map(|path| TrailDir { path: path.clone() })
            .collect(),
    };
    let whitelist = match &args.whitelist {
        Some(path) => Some(Whitelist::load(path).map_err(RunError::Whitelist)?),
        None => None,
    };

    let started = Instant::now();
    let (set, report) = TrailSet::load(&dirs, whitelist.as_ref()).map_err(RunError::Trails)?;
    let load_ms = started.elapsed().as_secs_f64() * 1000.0;

    report_bad_lines(&report);
    let folders: Vec<String> = dirs
        .iter()
        .map(|dir| dir.path.display().to_string())
        .collect();
    info!(
        "loaded {} trails from {} files in {:.0} ms ({})",
        set.len(),
        report.files,
        load_ms,
        folders.join(", ")
    );
    if set.is_empty() {
        warn!(
            "no trails loaded from {}: no event can match a trail",
            folders.join(", ")
        );
    }
    debug!(
        "trail counts: {:?}, duplicates: {}",
        report.counts, report.duplicates
    );
    Ok(LoadedTrails { set, load_ms })
}

/// Number of unusable trail lines listed at warning level. The rest are listed at debug level
/// (`-v`). The public lists contain a few dozen typos, and listing them all on every start
/// would bury a mistake in a custom list.
const BAD_LINES_SHOWN: usize = 5;

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

fn host_name() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|name| name.into_string().ok())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "trailwatch".to_string())
}
