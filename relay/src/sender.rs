//! The sender: takes event lines into the spool and runs the worker thread that delivers
//! them.

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::batch::{
    validate_line, validate_sensor_id, SensorIdError, StreamId, MAX_BODY_BYTES,
    MAX_EVENTS_PER_BATCH,
};
use crate::client::Client;
use crate::secret::Secret;
use crate::spool::{Spool, SpoolError, SpoolOptions, SpoolStats};
use crate::worker::Worker;

/// Default maximum of events per batch.
pub const DEFAULT_BATCH_EVENTS: usize = 500;

/// Default maximum of line bytes per batch.
pub const DEFAULT_BATCH_BYTES: usize = 256 * 1024;

/// Maximum of line bytes per batch that a sender accepts: half the body limit, less room for
/// the JSON keys and the quotes around each line. JSON escaping at most doubles a valid line,
/// because only `"`, `\` and the final newline are escaped in it.
pub const MAX_BATCH_BYTES: usize = MAX_BODY_BYTES / 2 - 16 * 1024;

/// Failure to start a sender.
#[derive(Debug, Error)]
pub enum SenderError {
    #[error(transparent)]
    SensorId(#[from] SensorIdError),

    #[error("batch_max_events is {value}, expected 1 to {MAX_EVENTS_PER_BATCH}")]
    BatchEvents { value: usize },

    #[error("batch_max_bytes is {value}, expected 1 to {MAX_BATCH_BYTES}")]
    BatchBytes { value: usize },

    #[error("invalid delivery url {url:?}: expected http://HOST[:PORT]/PATH or https://...")]
    Url { url: String },

    #[error(transparent)]
    Spool(#[from] SpoolError),

    #[error("failed to start the delivery thread: {0}")]
    Thread(std::io::Error),
}

/// Settings of a [`Sender`]. [`SenderConfig::new`] fills in the defaults.
#[derive(Debug, Clone)]
pub struct SenderConfig {
    /// Intake URL of the viewer, such as `http://viewer:8338/api/intake`.
    pub url: String,
    pub secret: Secret,
    /// Sensor id sent in every batch, see [`validate_sensor_id`].
    pub sensor_id: String,
    pub spool_dir: PathBuf,
    pub spool: SpoolOptions,
    pub batch_max_events: usize,
    /// Maximum bytes of event lines per batch, before JSON escaping.
    pub batch_max_bytes: usize,
    /// Limit of one request, connection included.
    pub request_timeout: Duration,
    /// Delay before the first retry. Each failure doubles it, up to `backoff_max`.
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
}

impl SenderConfig {
    /// Returns a configuration with a 64 MiB spool, [`DEFAULT_BATCH_EVENTS`],
    /// [`DEFAULT_BATCH_BYTES`], a 10 s request timeout and a backoff from 1 s to 60 s.
    pub fn new(url: &str, secret: Secret, sensor_id: &str, spool_dir: PathBuf) -> SenderConfig {
        SenderConfig {
            url: url.to_string(),
            secret,
            sensor_id: sensor_id.to_string(),
            spool_dir,
            spool: SpoolOptions::with_max_bytes(64 * 1024 * 1024),
            batch_max_events: DEFAULT_BATCH_EVENTS,
            batch_max_bytes: DEFAULT_BATCH_BYTES,
            request_timeout: Duration::from_secs(10),
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
        }
    }

    fn validate(&self) -> Result<(), SenderError> {
        validate_sensor_id(&self.sensor_id)?;
        if !(1..=MAX_EVENTS_PER_BATCH).contains(&self.batch_max_events) {
            return Err(SenderError::BatchEvents {
                value: self.batch_max_events,
            });
        }
        if !(1..=MAX_BATCH_BYTES).contains(&self.batch_max_bytes) {
            return Err(SenderError::BatchBytes {
                value: self.batch_max_bytes,
            });
        }
        if !is_http_url(&self.url) {
            return Err(SenderError::Url {
                url: self.url.clone(),
            });
        }
        Ok(())
    }
}

/// Returns whether `url` is http or https with a non-empty host.
pub fn is_http_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    let Some(rest) = rest else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    !host.is_empty() && !host.starts_with(':') && !url.chars().any(char::is_whitespace)
}

/// Counters of a sender since it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderStats {
    pub stream: StreamId,
    /// Events the receiver acknowledged.
    pub acknowledged: u64,
    /// Requests that failed or were rejected, each retried later.
    pub failed_attempts: u64,
    /// Events in the spool, not yet acknowledged.
    pub pending: u64,
    pub spool: SpoolStats,
    /// Events lost because the spool could not be written.
    pub append_failures: u64,
    /// Events rejected before spooling because they are not valid log lines.
    pub invalid_lines: u64,
}

impl SenderStats {
    /// Returns every event given up on: spool full or damaged, write failures, invalid lines.
    pub fn dropped(&self) -> u64 {
        self.spool.dropped_events + self.append_failures + self.invalid_lines
    }
}

/// State shared by the appending caller and the worker. The worker never holds the lock during
/// network requests or fsyncs.
pub(crate) struct Shared {
    pub(crate) inner: Mutex<Inner>,
    /// Signalled on every append and on shutdown.
    pub(crate) wake: Condvar,
}

pub(crate) struct Inner {
    pub(crate) spool: Spool,
    /// When the worker must stop, set by [`Sender::shutdown`].
    pub(crate) stop_at: Option<Instant>,
    pub(crate) acknowledged: u64,
    pub(crate) failed_attempts: u64,
    append_failures: u64,
    invalid_lines: u64,
    append_failing: bool,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        // The lock guards counters and the spool, which is consistent between its method calls,
        // so a panic in another thread does not make the data unusable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Reliable delivery of event lines to one intake URL.
///
/// [`Sender::append`] writes to the spool and returns. A worker thread sends the spooled
/// events in order and deletes them once the receiver acknowledges them.
pub struct Sender {
    shared: Arc<Shared>,
    worker: Option<JoinHandle<()>>,
    url: String,
}

impl Sender {
    /// Validates `config`, opens the spool and starts the worker thread.
    pub fn start(config: SenderConfig) -> Result<Sender, SenderError> {
        config.validate()?;
        let spool = Spool::open(&config.spool_dir, config.spool)?;
        log::info!(
            "delivery to {} starts: spool {}, stream {}, {} events pending",
            config.url,
            spool.dir().display(),
            spool.stream(),
            spool.pending()
        );

        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                spool,
                stop_at: None,
                acknowledged: 0,
                failed_attempts: 0,
                append_failures: 0,
                invalid_lines: 0,
                append_failing: false,
            }),
            wake: Condvar::new(),
        });

        let client = Client::new(config.url.clone(), config.secret.clone());
        let worker = Worker::new(Arc::clone(&shared), client, &config);
        let handle = thread::Builder::new()
            .name("delivery".to_string())
            .spawn(move || worker.run())
            .map_err(SenderError::Thread)?;

        Ok(Sender {
            shared,
            worker: Some(handle),
            url: config.url,
        })
    }

    /// Spools one Maltrail log line (final newline included) for delivery and returns without
    /// waiting for the network or an fsync.
    ///
    /// A line the receiver would reject, or a failed spool write, drops the event and counts
    /// it. A write failure logs one warning until writes work again.
    pub fn append(&self, line: &str) {
        if let Err(reason) = validate_line(line) {
            log::debug!("delivery skips an event that is not a valid log line: {reason}");
            self.shared.lock().invalid_lines += 1;
            return;
        }

        let mut inner = self.shared.lock();
        match inner.spool.append(line) {
            Ok(_) => {
                if inner.append_failing {
                    inner.append_failing = false;
                    log::info!(
                        "spool {} accepts events again after {} failed writes",
                        inner.spool.dir().display(),
                        inner.append_failures
                    );
                }
                self.shared.wake.notify_all();
            }
            Err(error) => {
                inner.append_failures += 1;
                if !inner.append_failing {
                    inner.append_failing = true;
                    log::warn!(
                        "failed to spool an event for delivery: {error}; events are dropped \
                         until the spool is writable again"
                    );
                }
            }
        }
    }

    /// Returns the stream id of the spool.
    pub fn stream(&self) -> StreamId {
        self.shared.lock().spool.stream()
    }

    /// Returns the counters.
    pub fn stats(&self) -> SenderStats {
        let inner = self.shared.lock();
        SenderStats {
            stream: inner.spool.stream(),
            acknowledged: inner.acknowledged,
            failed_attempts: inner.failed_attempts,
            pending: inner.spool.pending(),
            spool: inner.spool.stats(),
            append_failures: inner.append_failures,
            invalid_lines: inner.invalid_lines,
        }
    }

    /// Stops the worker after it delivered every spooled event or after `deadline`, whichever
    /// comes first, saves the spool state and closes the spool (see [`Spool::close`]), so a
    /// new sender can open the same spool folder as soon as this returns. A request in flight
    /// at the deadline may hold the return up by about a second. Later calls do nothing, and
    /// events appended afterwards are dropped and counted in
    /// [`SenderStats::append_failures`].
    pub fn shutdown(&mut self, deadline: Duration) {
        let Some(worker) = self.worker.take() else {
            return;
        };
        self.shared.lock().stop_at = Some(Instant::now() + deadline);
        self.shared.wake.notify_all();

        if worker.join().is_err() {
            log::error!("delivery worker for {} panicked", self.url);
        }
        if let Err(error) = self.shared.lock().spool.close() {
            log::error!(
                "delivery to {}: closing the spool failed: {error}; the next start cuts off \
                 a torn record or sends some acknowledged events again",
                self.url
            );
        }
        let stats = self.stats();
        log::info!(
            "delivery to {} stopped: {} events acknowledged, {} pending in the spool",
            self.url,
            stats.acknowledged,
            stats.pending
        );
    }
}

impl Drop for Sender {
    /// Stops the worker without waiting for delivery, as [`Sender::shutdown`] with a zero
    /// deadline.
    fn drop(&mut self) {
        self.shutdown(Duration::ZERO);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_check_cases() {
        for good in [
            "http://127.0.0.1:8338/api/intake",
            "https://viewer.example/api/intake",
            "http://viewer",
            "http://user@viewer:1/x?y",
        ] {
            assert!(is_http_url(good), "{good}");
        }
        for bad in [
            "",
            "viewer:8338/api/intake",
            "ftp://viewer/x",
            "http://",
            "http:///path",
            "http://:8338/x",
            "http://viewer /x",
        ] {
            assert!(!is_http_url(bad), "{bad}");
        }
    }

    #[test]
    fn config_rejects_bad_limits() {
        let dir = tempfile::tempdir().unwrap();
        let secret = Secret::new(vec![7; 16]).unwrap();
        let base = SenderConfig::new(
            "http://127.0.0.1:9/api/intake",
            secret,
            "pi",
            dir.path().to_path_buf(),
        );

        let cases = [
            SenderConfig {
                batch_max_events: 0,
                ..base.clone()
            },
            SenderConfig {
                batch_max_events: MAX_EVENTS_PER_BATCH + 1,
                ..base.clone()
            },
            SenderConfig {
                batch_max_bytes: MAX_BODY_BYTES,
                ..base.clone()
            },
            SenderConfig {
                sensor_id: "bad id".to_string(),
                ..base.clone()
            },
            SenderConfig {
                url: "127.0.0.1:9".to_string(),
                ..base.clone()
            },
        ];
        for config in cases {
            assert!(config.validate().is_err(), "{config:?}");
        }
        assert!(base.validate().is_ok());
    }
}
