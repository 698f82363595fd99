//! The delivery worker: syncs the spool, sends batches in order, retries with backoff.
//!
//! One loop step: wait until events are pending (lingering briefly so that a trickle of
//! events goes out in fewer, larger batches), fsync the spool, read the oldest batch, POST
//! it and apply the acknowledgement. The lock on the spool is held only to take a sync ticket,
//! read a batch and record results. Fsyncs, state saves and requests run without it.

use std::fmt::Display;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::batch::Batch;
use crate::client::Client;
use crate::sender::{Inner, SenderConfig, Shared};
use crate::spool::SpoolBatch;

/// Time the worker waits for a batch to fill before sending a partial one.
const LINGER: Duration = Duration::from_millis(200);

/// Time between two fsyncs of appended events while the worker waits, for events or for the
/// next retry. A request in flight delays the next fsync by up to its timeout.
const SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// Minimum time between two saves of the acknowledged sequence to the state file. A save that
/// lags only makes a restart send some acknowledged events again.
const SAVE_INTERVAL: Duration = Duration::from_secs(1);

/// Delay between retries: the initial value, doubled after each failure up to a maximum.
#[derive(Debug)]
pub(crate) struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub(crate) fn new(initial: Duration, max: Duration) -> Backoff {
        Backoff {
            initial,
            max,
            next: initial,
        }
    }

    /// Returns the delay before the next retry and doubles the one after it.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = self.next.saturating_mul(2).min(self.max);
        delay
    }

    pub(crate) fn reset(&mut self) {
        self.next = self.initial;
    }
}

/// Logs a failing operation once when it starts failing and once when it works again, with
/// each failure in between at debug level.
#[derive(Debug)]
struct FailureLog {
    what: String,
    since: Option<Instant>,
    failures: u64,
}

impl FailureLog {
    fn new(what: String) -> FailureLog {
        FailureLog {
            what,
            since: None,
            failures: 0,
        }
    }

    fn failed(&mut self, error: &dyn Display, consequence: &str) {
        self.failures += 1;
        if self.since.is_none() {
            self.since = Some(Instant::now());
            log::warn!("{} failed: {error}; {consequence}", self.what);
        } else {
            log::debug!(
                "{} failed again ({} failures): {error}",
                self.what,
                self.failures
            );
        }
    }

    fn succeeded(&mut self, detail: &str) {
        if let Some(since) = self.since.take() {
            let failures = match self.failures {
                1 => "1 failure".to_string(),
                count => format!("{count} failures"),
            };
            log::info!(
                "{} works again after {failures} in {} s{detail}",
                self.what,
                since.elapsed().as_secs()
            );
        }
        self.failures = 0;
    }
}

/// Outcome of waiting for work.
enum Wake {
    /// Events are pending.
    Work,
    /// Nothing pending yet. Housekeeping is due.
    Idle,
    /// Stop requested and done, or its deadline passed.
    Exit,
}

pub(crate) struct Worker {
    shared: Arc<Shared>,
    client: Client,
    sensor_id: String,
    batch_max_events: usize,
    batch_max_bytes: usize,
    request_timeout: Duration,
    backoff: Backoff,
    backoff_max: Duration,
    delivery: FailureLog,
    sync: FailureLog,
    read: FailureLog,
    save: FailureLog,
    last_save: Instant,
}

impl Worker {
    pub(crate) fn new(shared: Arc<Shared>, client: Client, config: &SenderConfig) -> Worker {
        let spool_dir = config.spool_dir.display();
        Worker {
            shared,
            delivery: FailureLog::new(format!("delivery to {}", client.url())),
            sync: FailureLog::new(format!("fsync of spool {spool_dir}")),
            read: FailureLog::new(format!("reading spool {spool_dir}")),
            save: FailureLog::new(format!("saving the state of spool {spool_dir}")),
            client,
            sensor_id: config.sensor_id.clone(),
            batch_max_events: config.batch_max_events,
            batch_max_bytes: config.batch_max_bytes,
            request_timeout: config.request_timeout,
            backoff: Backoff::new(config.backoff_initial, config.backoff_max),
            backoff_max: config.backoff_max,
            last_save: Instant::now(),
        }
    }

    /// Runs until [`crate::Sender::shutdown`] requests a stop, then fsyncs the spool and saves
    /// its state.
    pub(crate) fn run(mut self) {
        loop {
            match self.wait_for_work() {
                Wake::Exit => break,
                Wake::Idle => {
                    self.sync_spool();
                    self.save_state(false);
                    continue;
                }
                Wake::Work => {}
            }

            self.sync_spool();
            let batch = match self
                .shared
                .lock()
                .spool
                .read_batch(self.batch_max_events, self.batch_max_bytes)
            {
                Ok(batch) => batch,
                Err(error) => {
                    self.read
                        .failed(&error, "delivery waits until it can be read");
                    None
                }
            };
            let Some(batch) = batch else {
                // Pending events are not synced or not readable yet.
                self.pause(SYNC_INTERVAL);
                continue;
            };
            self.read.succeeded("");

            if self.deliver(batch) {
                self.backoff.reset();
            } else {
                self.shared.lock().failed_attempts += 1;
                let delay = self.backoff.next_delay();
                self.pause(delay);
            }
            self.save_state(false);
        }

        self.sync_spool();
        self.save_state(true);
    }

    /// Waits for pending events, lingering up to [`LINGER`] for a full batch unless a stop was
    /// requested. Returns [`Wake::Idle`] after [`SYNC_INTERVAL`] without events.
    fn wait_for_work(&self) -> Wake {
        let mut inner = self.shared.lock();
        if stop_deadline_passed(&inner) {
            return Wake::Exit;
        }

        if inner.spool.pending() == 0 {
            if inner.stop_at.is_some() {
                return Wake::Exit;
            }
            let (guard, _) = self
                .shared
                .wake
                .wait_timeout_while(inner, SYNC_INTERVAL, |inner| {
                    inner.spool.pending() == 0 && inner.stop_at.is_none()
                })
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            inner = guard;
            if inner.spool.pending() == 0 {
                return Wake::Idle;
            }
        }

        let batch_max = self.batch_max_events as u64;
        if inner.stop_at.is_none() && inner.spool.pending() < batch_max {
            let _ = self
                .shared
                .wake
                .wait_timeout_while(inner, LINGER, |inner| {
                    inner.spool.pending() < batch_max && inner.stop_at.is_none()
                })
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        Wake::Work
    }

    /// Sends one batch and applies the acknowledgement. Returns whether it was accepted.
    fn deliver(&mut self, batch: SpoolBatch) -> bool {
        let last = batch.last_sequence();
        let (stream, timeout) = {
            let inner = self.shared.lock();
            (inner.spool.stream(), self.timeout(&inner))
        };
        let body = Batch {
            sensor: self.sensor_id.clone(),
            stream,
            first_sequence: batch.first_sequence,
            events: batch.events,
        }
        .encode();

        let consequence = format!(
            "events stay in the spool and are retried with backoff up to {} s",
            self.backoff_max.as_secs()
        );
        let acked = match self.client.post(body, timeout) {
            Ok(acked) if acked >= last => acked,
            Ok(acked) => {
                let error = format!(
                    "receiver acknowledged sequence {acked}, below the batch's last sequence \
                     {last}"
                );
                self.delivery.failed(&error, &consequence);
                return false;
            }
            Err(error) => {
                self.delivery.failed(&error, &consequence);
                return false;
            }
        };

        let mut inner = self.shared.lock();
        let pending_before = inner.spool.pending();
        if let Err(error) = inner.spool.acknowledge(acked) {
            drop(inner);
            self.delivery.failed(&error, &consequence);
            return false;
        }
        let pending = inner.spool.pending();
        inner.acknowledged += pending_before - pending;
        drop(inner);

        self.delivery
            .succeeded(&format!(", {pending} events pending"));
        log::debug!("delivered events up to sequence {acked}");
        true
    }

    /// Returns the request timeout, shortened to the time left before a requested stop.
    fn timeout(&self, inner: &Inner) -> Duration {
        match inner.stop_at {
            Some(stop_at) => self
                .request_timeout
                .min(stop_at.saturating_duration_since(Instant::now())),
            None => self.request_timeout,
        }
    }

    /// Waits for `duration`, fsyncing appended events every [`SYNC_INTERVAL`]. Returns early
    /// when a stop is requested or its deadline passes.
    fn pause(&mut self, duration: Duration) {
        let end = Instant::now() + duration;
        let stop_was_requested = self.shared.lock().stop_at.is_some();

        loop {
            let inner = self.shared.lock();
            if inner.stop_at.is_some() != stop_was_requested {
                return;
            }
            let until = inner.stop_at.map_or(end, |stop_at| stop_at.min(end));
            let now = Instant::now();
            if now >= until {
                return;
            }
            let slice = (until - now).min(SYNC_INTERVAL);

            let (inner, _) = self
                .shared
                .wake
                .wait_timeout_while(inner, slice, |inner| {
                    inner.stop_at.is_some() == stop_was_requested
                })
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            drop(inner);

            self.sync_spool();
        }
    }

    /// Fsyncs what was appended since the last sync, without holding the lock during the fsync.
    fn sync_spool(&mut self) {
        let Some(ticket) = self.shared.lock().spool.begin_sync() else {
            return;
        };
        match ticket.run() {
            Ok(()) => {
                self.shared.lock().spool.finish_sync(&ticket);
                self.sync.succeeded("");
            }
            Err(error) => self
                .sync
                .failed(&error, "events are not sent until they are on disk"),
        }
    }

    /// Saves the acknowledged sequence if it changed, at most every [`SAVE_INTERVAL`] unless
    /// `now` is set.
    fn save_state(&mut self, now: bool) {
        if !now && self.last_save.elapsed() < SAVE_INTERVAL {
            return;
        }
        let (state, dir) = {
            let inner = self.shared.lock();
            (inner.spool.unsaved_state(), inner.spool.dir().to_path_buf())
        };
        let Some(state) = state else {
            return;
        };

        self.last_save = Instant::now();
        match state.save(&dir) {
            Ok(()) => {
                self.shared.lock().spool.mark_saved(state);
                self.save.succeeded("");
            }
            Err(error) => self
                .save
                .failed(&error, "a restart may send acknowledged events again"),
        }
    }
}

fn stop_deadline_passed(inner: &Inner) -> bool {
    inner
        .stop_at
        .is_some_and(|stop_at| Instant::now() >= stop_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_maximum() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));

        let delays: Vec<u64> = (0..9).map(|_| backoff.next_delay().as_secs()).collect();
        backoff.reset();

        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(backoff.next_delay(), Duration::from_secs(1));
    }
}
