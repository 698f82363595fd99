//! The live sensor: capture on interfaces until SIGTERM or SIGINT, reload on SIGHUP.
//!
//! One thread runs everything. It waits in `poll(2)` on every capture handle for at most
//! [`POLL_TIMEOUT`] and reads what arrived. On each wake-up it checks the stop and reload
//! requests, writes the throttle summaries due by the wall clock and the periodic statistics,
//! and looks for a replaced trail store. With one thread the throttle and the TCP stream
//! buffers have one owner, but one core bounds the packet rate of all interfaces together.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use log::{error, info};
use trailwatch_event::Timestamp;

use crate::capture::live::LiveCapture;
use crate::cli::Args;
use crate::inspect::Inspector;
use crate::privileges;
use crate::run::{self, Outcome, RunError, OUTPUTS_SHUTDOWN_DEADLINE};
use crate::settings::Settings;
use crate::signals;
use crate::stats;
use crate::trails::{self, StoreWatcher};

/// Longest time spent at stop reading frames the kernel still holds.
const DRAIN_DEADLINE: Duration = Duration::from_secs(1);

/// Maximum wait in `poll` before the loop's time-driven work runs on a quiet link.
pub const POLL_TIMEOUT: Duration = Duration::from_millis(250);

/// State of a running live sensor, changed only between two reads.
pub(crate) struct Daemon {
    /// The command line, laid again over the configuration file at each reload.
    pub(crate) args: Args,
    /// Settings in effect; those that need the handles reopened keep their start-up value.
    pub(crate) settings: Settings,
    pub(crate) live: LiveCapture,
    pub(crate) inspector: Inspector,
    pub(crate) watcher: Option<StoreWatcher>,
    /// When the next periodic statistics are due; `None` when they are only written at exit.
    pub(crate) next_stats: Option<Instant>,
}

/// Opens the interfaces of `settings`, switches to `[sensor] user` if set, loads the trails
/// and captures until a stop signal. Returns after the summaries, the event log and the
/// outputs are flushed and the final statistics are logged.
pub fn run(args: &Args, settings: Settings) -> Result<Outcome, RunError> {
    let stats_file = run::create_stats_file(&settings)?;
    let live = LiveCapture::open(&settings.capture.interfaces, &settings.capture)?;

    if let Some(user) = &settings.user {
        privileges::drop_to(user)?;
        if settings.log_dir.exists() && !privileges::can_write(&settings.log_dir) {
            return Err(RunError::LogNotWritable {
                dir: settings.log_dir.clone(),
                user: user.clone(),
            });
        }
    }

    let loaded = trails::load(&settings.trails)?;
    let watcher = loaded
        .store
        .clone()
        .map(|path| StoreWatcher::new(path, loaded.whitelist.clone()));
    let inspector = run::build_inspector(&settings, loaded)?;

    let capture = &settings.capture;
    info!(
        "capturing on {} (snaplen {}, buffer {} MiB, promiscuous {}, immediate {}, filter {:?})",
        live.names().join(", "),
        capture.snaplen,
        capture.buffer_mib,
        capture.promiscuous,
        capture.immediate,
        capture.filter
    );
    let mut daemon = Daemon {
        args: args.clone(),
        next_stats: settings.stats_interval.map(|every| Instant::now() + every),
        settings,
        live,
        inspector,
        watcher,
    };

    let started = Instant::now();
    let failed_interfaces = daemon.capture_until_stopped();
    let inspector = &mut daemon.inspector;
    daemon.live.drain(DRAIN_DEADLINE, |link, frame| {
        inspector.on_frame(link, frame)
    });

    daemon.inspector.tick(wall_clock());
    daemon.inspector.finish();
    daemon
        .inspector
        .sink_mut()
        .shutdown_outputs(OUTPUTS_SHUTDOWN_DEADLINE);
    daemon.inspector.counters.process_ms = started.elapsed().as_secs_f64() * 1000.0;
    info!("stopped; final statistics follow");
    daemon.log_stats();

    let counters = daemon.inspector.counters.clone();
    let mut json = counters.to_json();
    json["interfaces"] = daemon
        .live
        .stats()
        .iter()
        .map(|interface| {
            serde_json::json!({
                "interface": interface.interface,
                "received": interface.received,
                "dropped_kernel": interface.dropped_kernel,
                "dropped_interface": interface.dropped_interface,
                "failed": interface.failed,
            })
        })
        .collect();
    run::write_stats_file(stats_file, &json)?;
    Ok(Outcome {
        counters,
        failed_files: 0,
        failed_interfaces,
        stopped: false,
    })
}

impl Daemon {
    /// Runs the capture loop until a stop signal, or until every handle failed. Returns the
    /// number of interfaces whose capture failed.
    fn capture_until_stopped(&mut self) -> u64 {
        let mut failed_interfaces = 0;
        while !signals::stop_requested() {
            if signals::take_reload_request() {
                self.reload();
            }

            if let Err(error) = self.live.wait(POLL_TIMEOUT) {
                error!("poll on the capture handles failed: {error}; the sensor stops");
                return self.live.names().len() as u64;
            }
            let inspector = &mut self.inspector;
            let failed = self
                .live
                .read(|link, frame| inspector.on_frame(link, frame));
            failed_interfaces += failed.len() as u64;
            if self.live.all_failed() {
                error!("the capture failed on every interface; the sensor stops");
                break;
            }

            self.inspector.tick(wall_clock());
            if self.next_stats.is_some_and(|due| Instant::now() >= due) {
                self.log_stats();
                self.next_stats = self
                    .settings
                    .stats_interval
                    .map(|every| Instant::now() + every);
            }
            if let Some(set) = self.watcher.as_mut().and_then(StoreWatcher::poll) {
                self.inspector.replace_trails(set);
            }
        }
        failed_interfaces
    }

    /// Logs one statistics line per interface and one summary line at info level.
    pub(crate) fn log_stats(&mut self) {
        let interfaces = self.live.stats();
        let outputs = self.inspector.sink().output_stats();
        for line in stats::live_lines(&interfaces, &self.inspector.counters, &outputs) {
            info!("{line}");
        }
    }
}

/// Returns the current wall-clock time.
pub(crate) fn wall_clock() -> Timestamp {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::new(since_epoch.as_secs() as i64, since_epoch.subsec_nanos())
}
