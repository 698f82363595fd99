//! Days waiting to be indexed in the background, served by one worker thread at a time.
//!
//! Each default-view request that lacks a day's count adds the day here. Only the request
//! that finds no worker running starts one, so many requests never start many threads, and
//! the worker indexes one day at a time to stay within the cache's memory bound.

use std::collections::VecDeque;
use std::sync::Mutex;

use chrono::NaiveDate;

/// Queue of dates and whether a worker is draining it.
#[derive(Debug, Default)]
pub struct IndexQueue {
    state: Mutex<QueueState>,
}

#[derive(Debug, Default)]
struct QueueState {
    /// Dates in the order they are indexed, each at most once. Callers queue only days whose
    /// log file exists, because a missing file counts as 0 events, so the queue is at most as
    /// long as the log folder has files.
    dates: VecDeque<NaiveDate>,
    worker_running: bool,
}

impl IndexQueue {
    /// Adds the dates that are not queued yet, in order. Returns `true` when no worker is
    /// running and there is work, in which case the caller must start a worker that calls
    /// [`IndexQueue::pop`] until it returns `None`, or call [`IndexQueue::abandon`].
    pub fn push(&self, dates: &[NaiveDate]) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for date in dates {
            if !state.dates.contains(date) {
                state.dates.push_back(*date);
            }
        }
        if state.worker_running || state.dates.is_empty() {
            return false;
        }
        state.worker_running = true;
        true
    }

    /// Takes the next date for the worker. Returns `None` and marks the worker stopped once the
    /// queue is empty, so that the next [`IndexQueue::push`] starts a new one.
    pub fn pop(&self) -> Option<NaiveDate> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let next = state.dates.pop_front();
        if next.is_none() {
            state.worker_running = false;
        }
        next
    }

    /// Drops the queued dates and marks the worker stopped, for a worker that could not start
    /// or that panicked. Later requests queue their days again.
    pub fn abandon(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.dates.clear();
        state.worker_running = false;
    }

    /// Dates waiting, without the one a worker is indexing.
    pub fn len(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .dates
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dates(texts: &[&str]) -> Vec<NaiveDate> {
        texts.iter().map(|text| text.parse().unwrap()).collect()
    }

    #[test]
    fn one_worker_for_many_pushes() {
        let queue = IndexQueue::default();
        let first = dates(&["2026-01-15", "2026-01-16"]);
        let second = dates(&["2026-01-16", "2026-01-17"]);

        assert!(queue.push(&first), "the first push starts the worker");
        assert!(!queue.push(&second), "a running worker takes the new dates");
        assert_eq!(queue.len(), 3, "2026-01-16 is queued once");

        let drained: Vec<NaiveDate> = std::iter::from_fn(|| queue.pop()).collect();
        assert_eq!(drained, dates(&["2026-01-15", "2026-01-16", "2026-01-17"]));
        assert!(queue.push(&first), "a drained queue starts a new worker");
    }

    #[test]
    fn empty_push_starts_nothing() {
        let queue = IndexQueue::default();

        assert!(!queue.push(&[]));
        assert!(queue.push(&dates(&["2026-01-15"])));
    }

    #[test]
    fn abandon_clears_worker() {
        let queue = IndexQueue::default();
        queue.push(&dates(&["2026-01-15", "2026-01-16"]));

        queue.abandon();

        assert!(queue.is_empty());
        assert!(
            queue.push(&dates(&["2026-01-17"])),
            "a new worker may start"
        );
    }
}
