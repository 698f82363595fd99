//! The bounded, least-recently-used set of day indexes.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDate;

use super::counts::{DayCount, DayCounts};
use super::index::{DayIndex, IndexError};
use super::index_queue::IndexQueue;

/// Indexed lines kept across all cached days: 28.8 MB of entries at 24 bytes each, enough for
/// one day of a million events and some small days while the viewer stays under 50 MB. A query
/// over more days than fit still works, but indexes the evicted days again.
///
/// NOTE: each running query also keeps the index of the day it reads, evicted or not, so
/// concurrent queries on different large days can exceed the bound by one day each.
pub const MAX_CACHED_LINES: usize = 1_200_000;

/// Bytes per line assumed to estimate the lines of a file before it is indexed, while no cached
/// day gives a measured average. Sensor lines are longer (about 130 bytes in the query
/// benchmark), so the estimate errs toward evicting more.
const DEFAULT_LINE_BYTES: u64 = 100;

/// Default time a query over several days may read logs before it stops; see
/// [`IndexCache::query_time_limit`].
pub const DEFAULT_QUERY_TIME_LIMIT: Duration = Duration::from_secs(20);

/// Default bytes of uncounted log files that a default-view request indexes itself; see
/// [`IndexCache::with_inline_count_bytes`]. Four MiB are about 30,000 sensor lines.
pub const DEFAULT_INLINE_COUNT_BYTES: u64 = 4 << 20;

/// Index of each recently used day, refreshed on every use.
#[derive(Debug)]
pub struct IndexCache {
    log_dir: PathBuf,
    max_lines: usize,
    /// Most recently used last. Each day has its own lock, so that indexing one day does not
    /// block queries on another.
    days: Mutex<Vec<(NaiveDate, Arc<Mutex<DayIndex>>)>>,
    query_time_limit: Duration,
    inline_count_bytes: u64,
    /// Event count of every day indexed so far, kept after eviction.
    counts: DayCounts,
    /// Days that a default-view request found without a count.
    queue: IndexQueue,
}

impl IndexCache {
    /// Builds an empty cache of the logs in `log_dir`, bounded to `max_lines` indexed lines.
    /// The first call also fixes the allocator's mmap threshold (see [`map_large_blocks`]).
    pub fn new(log_dir: &Path, max_lines: usize) -> IndexCache {
        map_large_blocks();
        IndexCache {
            log_dir: log_dir.to_path_buf(),
            max_lines,
            days: Mutex::new(Vec::new()),
            query_time_limit: DEFAULT_QUERY_TIME_LIMIT,
            inline_count_bytes: DEFAULT_INLINE_COUNT_BYTES,
            counts: DayCounts::default(),
            queue: IndexQueue::default(),
        }
    }

    /// Returns the cache with another limit on the time a query may read logs.
    pub fn with_query_time_limit(mut self, limit: Duration) -> IndexCache {
        self.query_time_limit = limit;
        self
    }

    /// Returns the cache with another budget for counting small days during a request.
    pub fn with_inline_count_bytes(mut self, bytes: u64) -> IndexCache {
        self.inline_count_bytes = bytes;
        self
    }

    /// Bytes of files without a count that one default-view request indexes before it
    /// responds, so that small days, such as the first minutes of today, get their total at
    /// once instead of `null` and a retry. Larger days go to the background worker.
    pub fn inline_count_bytes(&self) -> u64 {
        self.inline_count_bytes
    }

    /// Time a query over several days may read logs. The check runs before each day after
    /// the first, so a query always reads one day and may exceed the limit by one day's scan.
    pub fn query_time_limit(&self) -> Duration {
        self.query_time_limit
    }

    /// Returns the path of the log file of `date`.
    pub fn path_of(&self, date: NaiveDate) -> PathBuf {
        self.log_dir
            .join(format!("{}.log", date.format("%Y-%m-%d")))
    }

    /// Returns the up-to-date index of `date`, empty if the day has no file.
    ///
    /// Before indexing new lines, it evicts other days to make room for the lines the file is
    /// estimated to add, so that the cache and the index being built stay near the bound
    /// together. The returned index stays in memory while the caller keeps it, even once
    /// evicted, so callers over a range keep one day at a time.
    pub fn get(&self, date: NaiveDate) -> Result<DayIndex, IndexError> {
        let slot = {
            let mut days = self.days.lock().unwrap_or_else(|e| e.into_inner());
            let slot = match days.iter().position(|(day, _)| *day == date) {
                Some(position) => days.remove(position).1,
                None => Arc::new(Mutex::new(DayIndex::empty(&self.path_of(date)))),
            };
            days.push((date, Arc::clone(&slot)));
            slot
        };

        let index = {
            let mut current = slot.lock().unwrap_or_else(|e| e.into_inner());
            let expected = self.expected_lines(&current);
            if expected > current.len() {
                self.evict(date, self.max_lines.saturating_sub(expected));
            }
            let fresh = current.refresh()?;
            *current = fresh.clone();
            fresh
        };
        self.counts.record(date, &index);

        self.evict(date, self.max_lines);
        Ok(index)
    }

    /// Returns the event count of `date` without indexing the whole day: the stored count
    /// while the file is unchanged, or the count of the cached index after indexing the lines
    /// appended since, as for today's growing file. Returns `None` when the day is neither
    /// counted nor cached, or while another thread is indexing it.
    pub fn known_count(&self, date: NaiveDate) -> Result<Option<DayCount>, IndexError> {
        let path = self.path_of(date);
        let stored = self
            .counts
            .lookup(date, &path)
            .map_err(|source| IndexError::Read { path, source })?;
        if stored.is_some() {
            return Ok(stored);
        }
        if !self.has_index(date) {
            return Ok(None);
        }
        Ok(Some(DayCount::of(&self.get(date)?)))
    }

    /// Returns whether the cache contains an index of `date` built from its file, and no other
    /// thread is updating it.
    fn has_index(&self, date: NaiveDate) -> bool {
        let days = self.days.lock().unwrap_or_else(|e| e.into_inner());
        let Some((_, slot)) = days.iter().find(|(day, _)| *day == date) else {
            return false;
        };
        let ready = slot.try_lock().is_ok_and(|index| index.inode() != 0);
        ready
    }

    /// Days that default-view requests found without a count, for the background worker.
    pub fn index_queue(&self) -> &IndexQueue {
        &self.queue
    }

    /// Lines currently cached. Days whose index another thread is updating count as empty.
    pub fn cached_lines(&self) -> usize {
        let days = self.days.lock().unwrap_or_else(|e| e.into_inner());
        days.iter().map(|(_, slot)| lines_of(slot)).sum()
    }

    /// Estimates the lines `current` will have once refreshed, from the size of its file and
    /// the average line length of the cached days. A file that cannot be read counts as
    /// unchanged, and [`DayIndex::refresh`] reports the error.
    fn expected_lines(&self, current: &DayIndex) -> usize {
        let Ok(metadata) = std::fs::metadata(&current.path) else {
            return current.len();
        };
        let (indexed, new_bytes) = if metadata.len() < current.end {
            // Shrunk or replaced: refresh indexes the whole file again.
            (0, metadata.len())
        } else {
            (current.len(), metadata.len() - current.end)
        };
        if new_bytes == 0 {
            return indexed;
        }

        let (bytes, lines) = {
            let days = self.days.lock().unwrap_or_else(|e| e.into_inner());
            days.iter()
                .filter_map(|(_, slot)| slot.try_lock().ok().map(|i| (i.end, i.len() as u64)))
                .fold((current.end, current.len() as u64), |sum, day| {
                    (sum.0 + day.0, sum.1 + day.1)
                })
        };
        let line_bytes = bytes
            .checked_div(lines)
            .map_or(DEFAULT_LINE_BYTES, |b| b.max(1));
        indexed.saturating_add(usize::try_from(new_bytes / line_bytes).unwrap_or(usize::MAX))
    }

    /// Drops the least recently used days, never `keep`, until the other days' lines fit in
    /// `others_max` and all cached lines fit the cache's bound.
    fn evict(&self, keep: NaiveDate, others_max: usize) {
        let mut days = self.days.lock().unwrap_or_else(|e| e.into_inner());
        let (mut kept, mut others) = (0, 0);
        for (day, slot) in days.iter() {
            if *day == keep {
                kept += lines_of(slot);
            } else {
                others += lines_of(slot);
            }
        }
        let fits = |others: usize| others <= others_max && others + kept <= self.max_lines;

        let mut position = 0;
        while !fits(others) && position < days.len() {
            if days[position].0 == keep {
                position += 1;
                continue;
            }
            others = others.saturating_sub(lines_of(&days[position].1));
            days.remove(position);
        }
    }
}

/// Makes glibc serve allocations of 1 MiB and more, such as index chunks (1.5 MB) and read
/// buffers, with their own mappings, so that freeing them returns the memory to the system.
///
/// By default glibc raises its mmap threshold after such a block is freed (up to 32 MiB on
/// 64-bit), and later chunks then come from per-thread arenas that keep freed memory. With
/// `query_bench --days 7` (a million events a day) the viewer peaked at 65 MB RSS with that
/// default and at 42 MB with this threshold. The setting is process-wide.
fn map_large_blocks() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static SET: std::sync::Once = std::sync::Once::new();
        // SAFETY: mallopt takes no pointers and only changes the allocator's policy.
        SET.call_once(|| unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        });
    }
}

/// Returns the lines of a cached day, 0 while another thread holds its lock to update it.
fn lines_of(slot: &Mutex<DayIndex>) -> usize {
    slot.try_lock().map(|index| index.len()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str =
        "\"2026-01-15 12:00:00.000000\" s1 10.0.0.1 1 10.0.0.2 53 UDP DNS a.test \"x\" ref\n";

    /// Writes `lines` copies of [`LINE`] as the log of `date` and returns the date.
    fn write_day(dir: &Path, date: &str, lines: usize) -> NaiveDate {
        std::fs::write(dir.join(format!("{date}.log")), LINE.repeat(lines)).unwrap();
        date.parse().unwrap()
    }

    #[test]
    fn estimate_uses_cached_line_length() {
        let dir = tempfile::tempdir().unwrap();
        let first = write_day(dir.path(), "2026-01-15", 200);
        let second = write_day(dir.path(), "2026-01-16", 300);
        let cache = IndexCache::new(dir.path(), 1000);
        let unindexed = DayIndex::empty(&cache.path_of(second));
        let without_cached_day = cache.expected_lines(&unindexed);
        cache.get(first).unwrap();

        let line_bytes = LINE.len() as u64;
        let default_estimate = (300 * line_bytes / DEFAULT_LINE_BYTES) as usize;
        assert_eq!(without_cached_day, default_estimate);
        assert_eq!(cache.expected_lines(&unindexed), 300);
    }

    #[test]
    fn room_made_before_indexing() {
        let dir = tempfile::tempdir().unwrap();
        let first = write_day(dir.path(), "2026-01-15", 200);
        let cache = IndexCache::new(dir.path(), 300);
        cache.get(first).unwrap();
        // 4 MiB without a newline is estimated at thousands of lines and indexed as none.
        let second: NaiveDate = "2026-01-16".parse().unwrap();
        let file = std::fs::File::create(cache.path_of(second)).unwrap();
        file.set_len(4 << 20).unwrap();

        let index = cache.get(second).unwrap();

        assert_eq!(index.len(), 0);
        assert_eq!(index.skipped, 1);
        // Evicting only after indexing would have kept the first day, since 200 + 0 lines fit.
        assert_eq!(cache.cached_lines(), 0, "first day evicted before indexing");
    }

    #[test]
    fn small_days_share_bound() {
        let dir = tempfile::tempdir().unwrap();
        let dates: Vec<NaiveDate> = ["2026-01-15", "2026-01-16", "2026-01-17", "2026-01-18"]
            .iter()
            .map(|date| write_day(dir.path(), date, 100))
            .collect();
        let cache = IndexCache::new(dir.path(), 300);
        for &date in &dates {
            cache.get(date).unwrap();
        }

        assert_eq!(cache.cached_lines(), 300);
        // The oldest day was evicted, so reading it again indexes it and evicts the next.
        let again = cache.get(dates[0]).unwrap();
        assert_eq!(again.len(), 100);
        assert_eq!(cache.cached_lines(), 300);
    }

    #[test]
    fn day_over_bound_still_served() {
        let dir = tempfile::tempdir().unwrap();
        let small = write_day(dir.path(), "2026-01-15", 50);
        let big = write_day(dir.path(), "2026-01-16", 500);
        let cache = IndexCache::new(dir.path(), 300);
        cache.get(small).unwrap();

        let index = cache.get(big).unwrap();

        assert_eq!(index.len(), 500);
        assert_eq!(cache.cached_lines(), 500, "only the day in use stays");
    }
}
