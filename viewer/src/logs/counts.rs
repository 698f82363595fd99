//! Event counts of indexed days, kept after their indexes are evicted.
//!
//! The default view over a range needs only the number of events of each day for its total.
//! Holding every day's index for that would exceed the cache's memory bound, so the cache
//! stores each day's count when it indexes the day, with the file's inode and length to notice
//! a file that grew or was replaced since.

use std::collections::HashMap;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Mutex;

use chrono::NaiveDate;

use super::index::DayIndex;

/// Days whose counts are kept, over eleven years of daily files. Each count takes a few dozen
/// bytes. When the table is full, the oldest date is dropped.
pub const MAX_COUNTED_DAYS: usize = 4096;

/// The events of one indexed day and the file they were counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayCount {
    /// Lines the index holds, without the skipped bad lines.
    pub events: u64,
    /// Whether event times never decrease in file order.
    pub time_sorted: bool,
    inode: u64,
    file_len: u64,
}

impl DayCount {
    /// The count of a day without a log file.
    pub const NO_FILE: DayCount = DayCount {
        events: 0,
        time_sorted: true,
        inode: 0,
        file_len: 0,
    };

    /// Takes the count of a refreshed index.
    pub fn of(index: &DayIndex) -> DayCount {
        DayCount {
            events: index.len() as u64,
            time_sorted: index.time_sorted,
            inode: index.inode(),
            file_len: index.file_len,
        }
    }
}

/// Remembered counts by date.
#[derive(Debug, Default)]
pub struct DayCounts {
    days: Mutex<HashMap<NaiveDate, DayCount>>,
}

impl DayCounts {
    /// Stores the count of `index` as the count of `date`, replacing an older one.
    pub fn record(&self, date: NaiveDate, index: &DayIndex) {
        let mut days = self.days.lock().unwrap_or_else(|e| e.into_inner());
        if days.len() >= MAX_COUNTED_DAYS && !days.contains_key(&date) {
            if let Some(oldest) = days.keys().min().copied() {
                days.remove(&oldest);
            }
        }
        days.insert(date, DayCount::of(index));
    }

    /// Returns the count of `date` if it still describes the file at `path`: a missing file
    /// counts 0 events, and a remembered count is valid while the file has the same inode and
    /// length. Returns `None` when the day must be indexed first.
    ///
    /// NOTE: a file rewritten in place to the same length keeps its count, as
    /// [`DayIndex::refresh`] keeps its index in that case.
    pub fn lookup(&self, date: NaiveDate, path: &Path) -> io::Result<Option<DayCount>> {
        let metadata = match std::fs::metadata(path) {
            Ok(metadata) => metadata,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Ok(Some(DayCount::NO_FILE))
            }
            Err(error) => return Err(error),
        };
        let days = self.days.lock().unwrap_or_else(|e| e.into_inner());
        let count = days.get(&date).copied();
        Ok(count.filter(|count| count.inode == metadata.ino() && count.file_len == metadata.len()))
    }

    /// Number of days with a stored count.
    pub fn len(&self) -> usize {
        self.days.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    const LINE: &str =
        "\"2026-01-15 12:00:00.000000\" s1 10.0.0.1 1 10.0.0.2 53 UDP DNS a.test \"x\" ref\n";

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn count_follows_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("2026-01-15.log");
        std::fs::write(&path, format!("{LINE}bad line\n{LINE}")).unwrap();
        let counts = DayCounts::default();
        let day = date("2026-01-15");
        let before_indexing = counts.lookup(day, &path).unwrap();
        counts.record(day, &DayIndex::empty(&path).refresh().unwrap());

        let indexed = counts.lookup(day, &path).unwrap().unwrap();
        assert_eq!(before_indexing, None);
        assert_eq!(indexed.events, 2, "the bad line is not counted");
        assert!(indexed.time_sorted);

        // A partial line changes the length, so the count is stale until indexed again.
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(&LINE.as_bytes()[..10]).unwrap();
        assert_eq!(counts.lookup(day, &path).unwrap(), None, "grown file");
        counts.record(day, &DayIndex::empty(&path).refresh().unwrap());
        let partial = counts.lookup(day, &path).unwrap().unwrap();
        assert_eq!(partial.events, 2, "the unfinished line is not counted");
    }

    #[test]
    fn replaced_file_invalidates_count() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("2026-01-15.log");
        std::fs::write(&path, LINE.repeat(3)).unwrap();
        let counts = DayCounts::default();
        let day = date("2026-01-15");
        counts.record(day, &DayIndex::empty(&path).refresh().unwrap());

        // Same length, new inode: the file is written elsewhere and renamed over the old one.
        let other = dir.path().join("replacement.log");
        std::fs::write(&other, LINE.repeat(3)).unwrap();
        std::fs::rename(&other, &path).unwrap();

        assert_eq!(counts.lookup(day, &path).unwrap(), None);
    }

    #[test]
    fn missing_file_counts_zero() {
        let dir = tempfile::tempdir().unwrap();
        let counts = DayCounts::default();

        let count = counts.lookup(date("2026-01-15"), &dir.path().join("none.log"));

        assert_eq!(count.unwrap(), Some(DayCount::NO_FILE));
    }

    #[test]
    fn oldest_day_dropped_when_full() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("day.log");
        std::fs::write(&path, LINE).unwrap();
        let index = DayIndex::empty(&path).refresh().unwrap();
        let counts = DayCounts::default();
        let first = date("2000-01-01");
        for day in first.iter_days().take(MAX_COUNTED_DAYS + 1) {
            counts.record(day, &index);
        }

        assert_eq!(counts.len(), MAX_COUNTED_DAYS);
        assert_eq!(counts.lookup(first, &path).unwrap(), None);
        let second = first.succ_opt().unwrap();
        assert!(counts.lookup(second, &path).unwrap().is_some());
    }
}
