//! The bounded queue and worker thread behind every network output.
//!
//! [`Queue::push`] never blocks: it hands a rendered message to a bounded channel, or drops and
//! counts it when the channel is full. One worker thread takes messages in order and passes each
//! to a [`Sink`], which writes it to the network. Every accepted message ends up counted as
//! either sent or dropped, and until then it counts as pending.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::{OutputError, OutputStats};

/// Maximum number of messages waiting per output. About ten seconds of a heavy scan at 200
/// events per second, and at most about 1 MiB of memory for typical messages of under 500
/// bytes. A receiver that is down for longer loses events, which the dropped counter shows.
pub(crate) const QUEUE_CAPACITY: usize = 2048;

/// The network end of an output, run on the worker thread.
pub(crate) trait Sink: Send {
    /// Writes one message, retrying by the sink's own rules. Returns `false` when the message
    /// was given up, which the queue counts as dropped. A sink that waits before a retry waits
    /// through [`Control::pause`], so that shutdown can cut the wait short.
    fn deliver(&mut self, message: &[u8], control: &Control) -> bool;
}

/// Counters and the shutdown state, shared by the queue and its worker.
struct Shared {
    sent: AtomicU64,
    dropped: AtomicU64,
    pending: AtomicU64,
    skipped: AtomicU64,
    state: Mutex<State>,
    /// Signals a change of `state`: shutdown started, or the worker finished.
    changed: Condvar,
}

#[derive(Default)]
struct State {
    /// The instant after which the worker drops what is left, set by shutdown.
    stop_at: Option<Instant>,
    finished: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The worker's view of the shutdown deadline.
pub(crate) struct Control {
    shared: Arc<Shared>,
}

impl Control {
    /// Tests whether the shutdown deadline has passed, after which nothing more is delivered.
    pub(crate) fn expired(&self) -> bool {
        self.shared
            .lock()
            .stop_at
            .is_some_and(|stop_at| Instant::now() >= stop_at)
    }

    /// Waits for `duration`, or less when the shutdown deadline comes first. Returns `false`
    /// when the deadline has passed.
    pub(crate) fn pause(&self, duration: Duration) -> bool {
        let end = Instant::now() + duration;
        let mut state = self.shared.lock();

        loop {
            let limit = state.stop_at.map_or(end, |stop_at| stop_at.min(end));
            let now = Instant::now();
            if now >= limit {
                break;
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, limit - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }

        drop(state);
        !self.expired()
    }
}

/// A bounded message queue with its worker thread.
pub(crate) struct Queue {
    name: &'static str,
    sender: Option<SyncSender<Vec<u8>>>,
    shared: Arc<Shared>,
    worker: Option<JoinHandle<()>>,
}

impl Queue {
    /// Starts the worker thread `trailwatch-<name>`, which delivers through `sink`.
    pub(crate) fn start(name: &'static str, sink: Box<dyn Sink>) -> Result<Queue, OutputError> {
        let (sender, receiver) = mpsc::sync_channel(QUEUE_CAPACITY);
        let shared = Arc::new(Shared {
            sent: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            pending: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        });

        let worker_shared = Arc::clone(&shared);
        let worker = thread::Builder::new()
            .name(format!("trailwatch-{name}"))
            .spawn(move || run_worker(receiver, sink, worker_shared))
            .map_err(|error| OutputError {
                key: name.to_owned(),
                value: String::new(),
                reason: format!("failed to start the worker thread: {error}"),
            })?;

        Ok(Queue {
            name,
            sender: Some(sender),
            shared,
            worker: Some(worker),
        })
    }

    /// Queues `message` for the worker, or drops and counts it when the queue is full or shut
    /// down. Never blocks.
    pub(crate) fn push(&self, message: Vec<u8>) {
        // Counted before the send, so that the worker cannot decrement first.
        self.shared.pending.fetch_add(1, Ordering::Relaxed);

        let rejected = match &self.sender {
            Some(sender) => match sender.try_send(message) {
                Ok(()) => false,
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => true,
            },
            None => true,
        };

        if rejected {
            self.shared.pending.fetch_sub(1, Ordering::Relaxed);
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts one event that the output filtered out on purpose.
    pub(crate) fn count_skipped(&self) {
        self.shared.skipped.fetch_add(1, Ordering::Relaxed);
    }

    /// Stops the worker: it delivers what is queued until `deadline` from now, then drops the
    /// rest. Waits for the worker at most until the deadline, and leaves it running detached
    /// when it is still blocked in a network call, which ends at the sink's own timeout.
    pub(crate) fn shutdown(&mut self, deadline: Duration) {
        let Some(stop_at) = self.signal_stop(deadline) else {
            return;
        };

        let mut state = self.shared.lock();
        while !state.finished {
            let now = Instant::now();
            if now >= stop_at {
                break;
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, stop_at - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        let finished = state.finished;
        drop(state);

        let stats = self.stats();
        if finished {
            if let Some(worker) = self.worker.take() {
                let _ = worker.join();
            }
            log::info!(
                "{}: stopped, {} events sent, {} dropped",
                self.name,
                stats.sent,
                stats.dropped
            );
        } else {
            log::warn!(
                "{}: shutdown deadline of {:?} passed with {} events pending, which are dropped",
                self.name,
                deadline,
                stats.pending
            );
        }
    }

    /// Sets the worker's deadline and closes the channel. Returns the deadline, or `None` when
    /// the queue was already stopped.
    fn signal_stop(&mut self, deadline: Duration) -> Option<Instant> {
        let sender = self.sender.take()?;

        // A deadline beyond what `Instant` can represent is cut to one hour.
        let stop_at = Instant::now()
            .checked_add(deadline)
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));

        self.shared.lock().stop_at = Some(stop_at);
        self.shared.changed.notify_all();

        // The worker's receive loop ends once the channel is empty and its sender is gone.
        drop(sender);
        Some(stop_at)
    }

    /// Returns the counters, named `name`.
    pub(crate) fn stats(&self) -> OutputStats {
        let pending = self.shared.pending.load(Ordering::Acquire);
        OutputStats {
            name: self.name,
            sent: self.shared.sent.load(Ordering::Relaxed),
            dropped: self.shared.dropped.load(Ordering::Relaxed),
            pending,
            skipped: self.shared.skipped.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Queue {
    /// Tells a worker that was not shut down to drop what is left, without waiting for it.
    fn drop(&mut self) {
        self.signal_stop(Duration::ZERO);
    }
}

/// Delivers messages until the channel is closed and empty, then marks the worker finished.
fn run_worker(receiver: Receiver<Vec<u8>>, mut sink: Box<dyn Sink>, shared: Arc<Shared>) {
    let control = Control {
        shared: Arc::clone(&shared),
    };

    while let Ok(message) = receiver.recv() {
        let delivered = !control.expired() && sink.deliver(&message, &control);
        if delivered {
            shared.sent.fetch_add(1, Ordering::Relaxed);
        } else {
            shared.dropped.fetch_add(1, Ordering::Relaxed);
        }

        // Decremented last with Release, and read first with Acquire in `stats`, so that
        // sent + dropped + pending never falls below the accepted count.
        shared.pending.fetch_sub(1, Ordering::Release);
    }

    // The sink goes first, so that a TCP connection is closed before shutdown returns.
    drop(sink);
    shared.lock().finished = true;
    shared.changed.notify_all();
}
