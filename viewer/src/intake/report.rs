//! Starting and stopping the intakes, and logging their counters.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use trailwatch_relay::IntakeStats;

use super::reliable::ReliableIntake;
use super::udp::{UdpIntake, UdpStats};
use super::IntakeStartError;
use crate::config::IntakeConfig;

/// Time between two counter reports at info. A report is skipped when nothing changed.
pub const STATS_INTERVAL: Duration = Duration::from_secs(300);

/// The running intakes: what `[intake]` turned on, and the thread that reports counters.
#[derive(Debug, Default)]
pub struct Intakes {
    reliable: Option<Arc<ReliableIntake>>,
    udp: Option<Arc<Mutex<UdpIntake>>>,
    reporter: Option<Reporter>,
}

#[derive(Debug)]
struct Reporter {
    /// Set to true by [`Intakes::stop`], with the condition variable that wakes the thread.
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: JoinHandle<()>,
}

impl Intakes {
    /// Starts the intakes that `config` turns on, writing to the daily logs in `log_dir`.
    /// Without `secret_file` and `udp` nothing starts and no thread runs.
    pub fn start(config: &IntakeConfig, log_dir: &Path) -> Result<Intakes, IntakeStartError> {
        let reliable = match &config.secret_file {
            Some(secret_file) => Some(Arc::new(ReliableIntake::open(
                secret_file,
                &config.state_file,
                log_dir,
            )?)),
            None => None,
        };

        let udp = match config.udp {
            Some(addr) => {
                let udp = UdpIntake::start(addr, config.udp_allow.clone(), log_dir)
                    .map_err(IntakeStartError::Udp)?;
                log_udp_start(&udp, config);
                Some(Arc::new(Mutex::new(udp)))
            }
            None => None,
        };

        let mut intakes = Intakes {
            reliable,
            udp,
            reporter: None,
        };
        if intakes.reliable.is_some() || intakes.udp.is_some() {
            intakes.reporter = Some(intakes.start_reporter()?);
        }
        Ok(intakes)
    }

    /// Returns the reliable intake, `None` when `[intake] secret_file` is not set.
    pub fn reliable(&self) -> Option<Arc<ReliableIntake>> {
        self.reliable.clone()
    }

    /// Returns the bound address of the UDP intake, `None` when it is off.
    pub fn udp_addr(&self) -> Option<SocketAddr> {
        self.udp.as_ref().map(|udp| lock(udp).local_addr())
    }

    /// Returns the counters of the UDP intake, `None` when it is off.
    pub fn udp_stats(&self) -> Option<UdpStats> {
        self.udp.as_ref().map(|udp| lock(udp).stats())
    }

    /// Stops the UDP intake and the reporter, then logs the final counters. Later calls do
    /// nothing.
    pub fn stop(&mut self) {
        let Some(reporter) = self.reporter.take() else {
            return;
        };
        if let Some(udp) = &self.udp {
            lock(udp).stop();
        }

        let (stopped, wake) = &*reporter.stop;
        *lock(stopped) = true;
        wake.notify_all();
        if reporter.thread.join().is_err() {
            log::error!("intake counter thread panicked");
        }

        let counters = snapshot(self.reliable.as_deref(), self.udp.as_deref());
        log::info!("intake stopped: {}", describe(&counters));
    }

    fn start_reporter(&self) -> Result<Reporter, IntakeStartError> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let reliable = self.reliable.clone();
        let udp = self.udp.clone();
        let thread = thread::Builder::new()
            .name("intake-stats".to_string())
            .spawn({
                let stop = Arc::clone(&stop);
                move || report_until_stopped(&stop, reliable.as_deref(), udp.as_deref())
            })
            .map_err(IntakeStartError::Thread)?;
        Ok(Reporter { stop, thread })
    }
}

impl Drop for Intakes {
    fn drop(&mut self) {
        self.stop();
    }
}

fn log_udp_start(udp: &UdpIntake, config: &IntakeConfig) {
    match &config.udp_allow {
        Some(allow) => {
            let networks: Vec<String> = allow.iter().map(ToString::to_string).collect();
            log::info!(
                "UDP intake (Maltrail protocol, unauthenticated) on {}, senders allowed: {}",
                udp.local_addr(),
                networks.join(", ")
            );
        }
        None => log::warn!(
            "UDP intake on {} accepts events from every sender, and the protocol has no \
             authentication; limit it with [intake] udp_allow",
            udp.local_addr()
        ),
    }
}

/// Counters of both intakes at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counters {
    reliable: Option<IntakeStats>,
    udp: Option<UdpStats>,
}

fn snapshot(reliable: Option<&ReliableIntake>, udp: Option<&Mutex<UdpIntake>>) -> Counters {
    Counters {
        reliable: reliable.map(ReliableIntake::stats),
        udp: udp.map(|udp| lock(udp).stats()),
    }
}

fn report_until_stopped(
    stop: &(Mutex<bool>, Condvar),
    reliable: Option<&ReliableIntake>,
    udp: Option<&Mutex<UdpIntake>>,
) {
    let (stopped, wake) = stop;
    let mut last = snapshot(reliable, udp);
    let mut next = Instant::now() + STATS_INTERVAL;
    let mut guard = lock(stopped);
    while !*guard {
        let wait = next.saturating_duration_since(Instant::now());
        guard = wake
            .wait_timeout(guard, wait)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
        if *guard || Instant::now() < next {
            continue;
        }

        next += STATS_INTERVAL;
        let counters = snapshot(reliable, udp);
        if counters != last {
            log::info!("intake: {}", describe(&counters));
            last = counters;
        }
    }
}

fn describe(counters: &Counters) -> String {
    let mut parts = Vec::new();
    if let Some(stats) = &counters.reliable {
        parts.push(format!(
            "reliable: {} batches accepted, {} events written, {} duplicates skipped, {} \
             missing from senders, {} rejected for the signature, {} malformed, {} rejected \
             over the stream limit, {} failed to store, {} streams",
            stats.batches_accepted,
            stats.events_written,
            stats.events_duplicate,
            stats.events_missing,
            stats.rejected_signature,
            stats.rejected_malformed,
            stats.rejected_full,
            stats.failed,
            stats.streams
        ));
    }
    if let Some(stats) = &counters.udp {
        parts.push(format!(
            "udp: {} datagrams received, {} events written, {} malformed, {} from disallowed \
             senders, {} failed to store",
            stats.received, stats.written, stats.malformed, stats.disallowed, stats.write_failed
        ));
    }
    parts.join("; ")
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
