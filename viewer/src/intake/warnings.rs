//! Warnings about repeated failures, at most one per interval.

use std::time::{Duration, Instant};

/// Minimum time between two warnings of one kind.
const WARN_INTERVAL: Duration = Duration::from_secs(60);

/// A warning that logs at most once per [`WARN_INTERVAL`] and counts the occurrences in
/// between, which the next warning reports.
#[derive(Debug, Default)]
pub struct RateLimitedWarning {
    last: Option<Instant>,
    suppressed: u64,
}

impl RateLimitedWarning {
    /// Logs `message(suppressed)` at warn when the interval has passed since the last
    /// warning, else counts the occurrence. `suppressed` is the count since the last warning.
    pub fn warn(&mut self, message: impl FnOnce(u64) -> String) {
        let due = self.last.is_none_or(|last| last.elapsed() >= WARN_INTERVAL);
        if !due {
            self.suppressed += 1;
            return;
        }

        log::warn!("{}", message(self.suppressed));
        self.last = Some(Instant::now());
        self.suppressed = 0;
    }
}
