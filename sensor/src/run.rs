//! One offline run: load trails, read every capture file, report the counters.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use log::{info, warn};
use trailwatch_event::LogWriter;

use crate::capture::{self, ReadEnd};
use crate::cli::Args;
use crate::ignore::IgnoreList;
use crate::inspect::Inspector;
use crate::output::EventSink;
use crate::signals;
use crate::stats::Counters;
use crate::trails::{self, StoreWatcher};

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

    #[error("cannot open the trail store (--trails): {0}")]
    Store(#[source] trailwatch_trailset::StoreError),

    #[error(
        "--trails takes either text trail folders or one compiled store file, not both or \
         several stores"
    )]
    MixedTrails,

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

    let trails = trails::load(args)?;
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

    let mut watcher = trails
        .store
        .map(|path| StoreWatcher::new(path, trails.whitelist));

    let started = Instant::now();
    let mut failed_files = 0;
    for path in &args.read {
        if signals::stop_requested() {
            break;
        }
        if !read_one(&mut inspector, watcher.as_mut(), path) {
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

/// Number of frames between two calls to the store watcher, which itself looks at the file at
/// most once a second. Low, so that a new store is mapped soon also on a quiet link.
const WATCH_EVERY_FRAMES: u64 = 256;

/// Reads one capture file; returns false when it could not be read to its end. Between two
/// frames, a replaced store file is mapped and swapped in, so no frame is skipped.
fn read_one(
    inspector: &mut Inspector,
    mut watcher: Option<&mut StoreWatcher>,
    path: &Path,
) -> bool {
    let name = path.display();
    let mut frames = 0u64;
    let on_frame = |link, frame: &capture::Frame<'_>| {
        frames += 1;
        if frames.is_multiple_of(WATCH_EVERY_FRAMES) {
            if let Some(set) = watcher.as_mut().and_then(|watcher| watcher.poll()) {
                inspector.replace_trails(set);
            }
        }
        inspector.on_frame(link, frame);
    };
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

fn host_name() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|name| name.into_string().ok())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "trailwatch".to_string())
}
