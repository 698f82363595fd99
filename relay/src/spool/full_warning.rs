//! Rate limit of the warning that a full spool dropped its oldest segment.

use std::path::Path;
use std::time::{Duration, Instant};

/// Minimum time between two warnings about dropped segments.
const WARN_INTERVAL: Duration = Duration::from_secs(60);

/// Warns about the first dropped segment, then at most once per [`WARN_INTERVAL`] with the
/// segments and events dropped since the last warning. A spool that stays full under a steady
/// event rate drops a segment every few seconds, and one line each would flood the log.
#[derive(Debug, Default)]
pub(crate) struct FullWarning {
    last: Option<Instant>,
    segments: u64,
    events: u64,
}

impl FullWarning {
    /// Records that a segment with `lost` unsent events (sequences up to `last_sequence`) was
    /// dropped from the spool in `dir`, and logs it when a warning is due.
    pub(crate) fn dropped(&mut self, dir: &Path, max_bytes: u64, lost: u64, last_sequence: u64) {
        self.segments += 1;
        self.events += lost;

        let due = self.last.is_none_or(|last| last.elapsed() >= WARN_INTERVAL);
        if !due {
            log::debug!(
                "spool {} dropped a segment with {lost} unsent events (up to sequence \
                 {last_sequence})",
                dir.display()
            );
            return;
        }

        let segments = count(self.segments, "segment", "segments");
        let events = count(self.events, "unsent event", "unsent events");
        let since = match self.last {
            None => "",
            Some(_) => " since the last warning",
        };
        log::warn!(
            "spool {} reached its maximum of {max_bytes} bytes: dropped the oldest {segments} \
             with {events}{since}, up to sequence {last_sequence}; raise spool_max_mib or check \
             why the viewer does not acknowledge",
            dir.display()
        );
        self.last = Some(Instant::now());
        self.segments = 0;
        self.events = 0;
    }
}

/// Returns `n` and the noun in singular or plural form.
fn count(n: u64, singular: &str, plural: &str) -> String {
    if n == 1 {
        format!("1 {singular}")
    } else {
        format!("{n} {plural}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_within_interval_are_summed() {
        let mut warning = FullWarning::default();
        let dir = Path::new("/spool");

        warning.dropped(dir, 1024, 10, 10);
        warning.dropped(dir, 1024, 5, 15);
        warning.dropped(dir, 1024, 7, 22);

        assert!(warning.last.is_some());
        assert_eq!(warning.segments, 2);
        assert_eq!(warning.events, 12);
    }

    #[test]
    fn count_picks_singular() {
        assert_eq!(count(1, "segment", "segments"), "1 segment");
        assert_eq!(count(0, "segment", "segments"), "0 segments");
        assert_eq!(count(30, "segment", "segments"), "30 segments");
    }
}
