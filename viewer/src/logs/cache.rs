//! The bounded, least-recently-used set of day indexes.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDate;

use super::index::{DayIndex, IndexError};

/// Indexed lines kept across all cached days: about 96 MB of entries at 24 bytes each. A query
/// over more days than fit still works, but indexes the evicted days again.
pub const MAX_CACHED_LINES: usize = 4_000_000;

/// Default time a query over several days may read logs before it stops; see
/// [`IndexCache::query_time_limit`].
pub const DEFAULT_QUERY_TIME_LIMIT: Duration = Duration::from_secs(20);

/// Index of each recently used day, refreshed on every use.
#[derive(Debug)]
pub struct IndexCache {
    log_dir: PathBuf,
    max_lines: usize,
    /// Most recently used last. Each day has its own lock, so that indexing one day does not
    /// block queries on another.
    days: Mutex<Vec<(NaiveDate, Arc<Mutex<DayIndex>>)>>,
    query_time_limit: Duration,
}

impl IndexCache {
    pub fn new(log_dir: &Path, max_lines: usize) -> IndexCache {
        IndexCache {
            log_dir: log_dir.to_path_buf(),
            max_lines,
            days: Mutex::new(Vec::new()),
            query_time_limit: DEFAULT_QUERY_TIME_LIMIT,
        }
    }

    /// Returns the cache with another limit on the time a query may read logs.
    pub fn with_query_time_limit(mut self, limit: Duration) -> IndexCache {
        self.query_time_limit = limit;
        self
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

    /// Adds an empty entry for `date` unless the cache has one, and returns whether it added
    /// it. Later queries of `date` then wait for the index in [`IndexCache::get`] instead of
    /// finding the day missing.
    pub fn reserve(&self, date: NaiveDate) -> bool {
        let mut days = self.days.lock().unwrap_or_else(|e| e.into_inner());
        if days.iter().any(|(day, _)| *day == date) {
            return false;
        }
        let empty = DayIndex::empty(&self.path_of(date));
        days.push((date, Arc::new(Mutex::new(empty))));
        true
    }

    /// Returns the up-to-date index of `date`, empty if the day has no file.
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
            let fresh = current.refresh()?;
            *current = fresh.clone();
            fresh
        };

        self.evict(date);
        Ok(index)
    }

    /// Drops the least recently used days, never `keep`, until the cached lines fit the bound.
    fn evict(&self, keep: NaiveDate) {
        let mut days = self.days.lock().unwrap_or_else(|e| e.into_inner());
        let lines_of =
            |slot: &Arc<Mutex<DayIndex>>| slot.try_lock().map(|index| index.len()).unwrap_or(0);
        let mut total: usize = days.iter().map(|(_, slot)| lines_of(slot)).sum();

        let mut position = 0;
        while total > self.max_lines && position < days.len() {
            if days[position].0 == keep {
                position += 1;
                continue;
            }
            total -= lines_of(&days[position].1);
            days.remove(position);
        }
    }
}
