//! One invocation of the sensor: the start-up shared by both modes, and the offline run that
//! reads capture files (`-r`). Live capture is in [`crate::daemon`].

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use log::{info, warn};
use trailwatch_event::LogWriter;
use trailwatch_outputs::{Context, Outputs};

use crate::capture::{self, ReadEnd};
use crate::cli::Args;
use crate::ignore::IgnoreList;
use crate::inspect::Inspector;
use crate::output::EventSink;
use crate::settings::{Settings, Source};
use crate::signals;
use crate::stats::Counters;
use crate::trails::{self, LoadedTrails, StoreWatcher};

/// Time the outputs get at exit to deliver the events they queued.
pub const OUTPUTS_SHUTDOWN_DEADLINE: Duration = Duration::from_secs(3);

/// A problem that stops the run before any packet is read.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Config(#[from] crate::config::ConfigError),

    #[error(
        "nothing to read: give -r FILE, -i IFACE, or [capture] interfaces in the file given \
         with -c"
    )]
    NoSource,

    #[error(
        "no bundled trail set found in {} or in the source tree's trails/; pass --trails DIR",
        .0.display()
    )]
    NoDefaultTrails(PathBuf),

    #[error("cannot load trails (--trails or [trails] paths): {0}")]
    Trails(#[source] trailwatch_trailset::TrailError),

    #[error("cannot open the trail store (--trails or [trails] paths): {0}")]
    Store(#[source] trailwatch_trailset::StoreError),

    #[error(
        "--trails ([trails] paths) takes either text trail folders or one compiled store file, \
         not both or several stores"
    )]
    MixedTrails,

    #[error("cannot load the whitelist (--whitelist or [trails] whitelist): {0}")]
    Whitelist(#[source] trailwatch_trailset::TrailError),

    #[error("cannot load the ignore rules (--ignore or [trails] ignore): {0}")]
    Ignore(#[from] crate::ignore::IgnoreError),

    #[error("cannot open the event log (--log-dir or [sensor] log_dir): {0}")]
    Log(#[from] trailwatch_event::LogError),

    #[error(
        "the event log folder {} is not writable by user {user}; give that user write access \
         or choose another --log-dir",
        dir.display()
    )]
    LogNotWritable { dir: PathBuf, user: String },

    #[error("{0}")]
    Capture(#[from] crate::capture::live::LiveError),

    #[error("{0}")]
    Privileges(#[from] crate::privileges::PrivilegeError),

    #[error("cannot start the outputs: {0}")]
    Outputs(#[from] trailwatch_outputs::OutputError),

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
    /// Interfaces whose capture stopped on a read error.
    pub failed_interfaces: u64,
    /// Whether a stop signal ended an offline run before every file was read. A signal is the
    /// normal end of a live capture and does not set it.
    pub stopped: bool,
}

impl Outcome {
    /// Returns true when every file or interface was read to its end and every event written.
    pub fn is_complete(&self) -> bool {
        self.failed_files == 0
            && self.failed_interfaces == 0
            && self.counters.write_errors == 0
            && !self.stopped
    }
}

/// Runs the sensor as `args` and the configuration file they name ask: over capture files, or
/// on interfaces until a stop signal.
pub fn run(args: &Args) -> Result<Outcome, RunError> {
    if let Err(error) = signals::install() {
        warn!(
            "cannot install the SIGINT/SIGTERM/SIGHUP handlers ({error}); a signal ends the run \
             at once"
        );
    }
    let settings = Settings::load(args)?;
    if let Some(path) = &settings.config_path {
        info!("configuration read from {}", path.display());
    }
    match settings.source.clone() {
        Some(Source::Files(files)) => run_files(&settings, &files),
        Some(Source::Interfaces(_)) => crate::daemon::run(args, settings),
        None => Err(RunError::NoSource),
    }
}

/// Creates the `--stats-json` file now, so that a bad path fails before any packet is read.
pub fn create_stats_file(settings: &Settings) -> Result<Option<(PathBuf, File)>, RunError> {
    let Some(path) = &settings.stats_json else {
        return Ok(None);
    };
    let file = File::create(path).map_err(|source| RunError::Stats {
        path: path.clone(),
        source,
    })?;
    Ok(Some((path.clone(), file)))
}

/// Writes `counters` (the JSON of [`Counters::to_json`], perhaps with more keys) as one line to
/// the file from [`create_stats_file`].
pub fn write_stats_file(
    stats_file: Option<(PathBuf, File)>,
    counters: &serde_json::Value,
) -> Result<(), RunError> {
    let Some((path, mut file)) = stats_file else {
        return Ok(());
    };
    let text = format!("{counters}\n");
    file.write_all(text.as_bytes())
        .map_err(|source| RunError::Stats { path, source })
}

/// Builds the packet path from loaded trails: ignore rules, log writer and outputs.
pub fn build_inspector(settings: &Settings, trails: LoadedTrails) -> Result<Inspector, RunError> {
    let ignore = load_ignore(settings)?;
    let writer = LogWriter::open(&settings.log_dir, settings.json)?;
    info!("writing events to {}", settings.log_dir.display());

    let mut sink = EventSink::new(
        &settings.sensor_name,
        ignore,
        settings.throttle,
        writer,
        settings.console,
    );
    sink.replace_outputs(start_outputs(settings)?);
    let mut inspector = Inspector::new(trails.set, sink);
    inspector.set_heuristics(&settings.heuristics);
    inspector.counters.trails_loaded = inspector.trails().len() as u64;
    inspector.counters.trails_load_ms = trails.load_ms;
    Ok(inspector)
}

/// Loads the ignore rules that the settings name, or none.
pub fn load_ignore(settings: &Settings) -> Result<IgnoreList, RunError> {
    Ok(match &settings.trails.ignore {
        Some(path) => IgnoreList::load(path)?,
        None => IgnoreList::default(),
    })
}

/// Starts the outputs of `settings.outputs`, logging how many run.
pub fn start_outputs(settings: &Settings) -> Result<Outputs, RunError> {
    let context = Context {
        sensor_name: settings.sensor_name.clone(),
    };
    let outputs = Outputs::start(&settings.outputs, &context)?;
    if !outputs.is_empty() {
        info!("started {} outputs", outputs.stats().len());
    }
    Ok(outputs)
}

/// Runs the sensor over capture files.
fn run_files(settings: &Settings, files: &[PathBuf]) -> Result<Outcome, RunError> {
    let stats_file = create_stats_file(settings)?;
    let trails = trails::load(&settings.trails)?;
    let store = trails.store.clone();
    let whitelist = trails.whitelist.clone();
    let mut inspector = build_inspector(settings, trails)?;
    let mut watcher = store.map(|path| StoreWatcher::new(path, whitelist));

    let started = Instant::now();
    let mut failed_files = 0;
    for path in files {
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
    inspector
        .sink_mut()
        .shutdown_outputs(OUTPUTS_SHUTDOWN_DEADLINE);
    inspector.counters.process_ms = started.elapsed().as_secs_f64() * 1000.0;
    inspector.counters.files_failed = failed_files;

    let counters = inspector.counters.clone();
    write_stats_file(stats_file, &counters.to_json())?;
    if counters.write_errors > 0 {
        warn!(
            "{} events could not be written to {}",
            counters.write_errors,
            settings.log_dir.display()
        );
    }
    Ok(Outcome {
        counters,
        failed_files,
        failed_interfaces: 0,
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
