//! The default view over a range of days without indexing them: the newest events from the ends
//! of the newest days' files, and the total from the days' stored counts.
//!
//! The index path orders newest-first events by day, then time, then file position. The sensor
//! appends each day's events in time order, so the newest day's last lines come first, then
//! the day before's last lines, and reading the ends of files backwards gives the same page.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::cache::IndexCache;
use super::counts::DayCount;
use super::query::QueryError;
use super::record::EventRecord;
use super::tail;

/// A page of the default view and what is known of its total.
#[derive(Debug)]
pub struct NewestPage {
    /// Events of the whole range, `None` while some day has no valid count.
    pub total: Option<u64>,
    pub events: Vec<EventRecord>,
    /// Days without a valid count, oldest first, to index in the background.
    pub uncounted: Vec<NaiveDate>,
}

/// Returns events `offset..offset + limit` of `dates` (ascending) newest first, read from the
/// ends of the newest days' files, with the total when every day has a count. Days without a
/// count are indexed first when their files together fit in
/// [`IndexCache::inline_count_bytes`], and are otherwise returned in `uncounted`.
///
/// Returns `None` when a day that the page reads has times out of file order, either seen in
/// the lines read or recorded when the day was indexed, because only the index can sort it.
/// Callers bound `offset + limit` by [`tail::MAX_TAIL_EVENTS`], since each day read keeps up
/// to that many events in memory.
///
/// NOTE: a day that was never indexed is checked only in the lines read, so a line further up
/// with a newer time, such as a late event from a remote sensor, shows first only once the day
/// is indexed.
pub fn newest_page(
    cache: &IndexCache,
    dates: &[NaiveDate],
    offset: usize,
    limit: usize,
) -> Result<Option<NewestPage>, QueryError> {
    let mut counts: HashMap<NaiveDate, DayCount> = HashMap::with_capacity(dates.len());
    let mut uncounted = Vec::new();
    for &date in dates {
        match cache.known_count(date)? {
            Some(count) => {
                counts.insert(date, count);
            }
            None => uncounted.push(date),
        }
    }
    count_small_days(cache, &mut counts, &mut uncounted)?;

    let needed = offset + limit;
    let mut events = Vec::with_capacity(needed.min(tail::MAX_TAIL_EVENTS));
    for &date in dates.iter().rev() {
        if events.len() >= needed {
            break;
        }
        if counts.get(&date).is_some_and(|count| !count.time_sorted) {
            return Ok(None);
        }
        let path = cache.path_of(date);
        match tail::newest(&path, needed - events.len()) {
            Ok(Some(newest)) => events.extend(newest),
            Ok(None) => return Ok(None),
            Err(source) => return Err(QueryError::Read { path, source }),
        }
    }
    events.drain(..offset.min(events.len()));

    let total = if uncounted.is_empty() {
        Some(counts.values().map(|count| count.events).sum())
    } else {
        None
    };
    Ok(Some(NewestPage {
        total,
        events,
        uncounted,
    }))
}

/// Indexes the `uncounted` days now if their files together fit in the cache's inline budget,
/// moving their counts to `counts`. Otherwise it leaves them all to the background worker,
/// since one uncounted day already makes the total unknown.
fn count_small_days(
    cache: &IndexCache,
    counts: &mut HashMap<NaiveDate, DayCount>,
    uncounted: &mut Vec<NaiveDate>,
) -> Result<(), QueryError> {
    let mut bytes = 0u64;
    for &date in uncounted.iter() {
        let path = cache.path_of(date);
        match std::fs::metadata(&path) {
            Ok(metadata) => bytes = bytes.saturating_add(metadata.len()),
            Err(source) if source.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(QueryError::Read { path, source }),
        }
    }
    if bytes > cache.inline_count_bytes() {
        return Ok(());
    }

    for date in uncounted.drain(..) {
        counts.insert(date, DayCount::of(&cache.get(date)?));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(date: &str, second: u32, src: &str) -> String {
        format!(
            "\"{date} 10:00:{second:02}.000000\" s1 {src} 1 10.0.0.2 53 UDP DNS a.test \"x\" ref\n"
        )
    }

    fn dates() -> Vec<NaiveDate> {
        let first: NaiveDate = "2026-01-15".parse().unwrap();
        first.iter_days().take(2).collect()
    }

    /// Writes two sorted events on the first of [`dates`] and one on the second into `dir`,
    /// and returns the bytes written.
    fn write_two_days(dir: &std::path::Path) -> u64 {
        let old = line("2026-01-15", 1, "10.0.0.1") + &line("2026-01-15", 2, "10.0.0.2");
        let new = line("2026-01-16", 1, "10.0.0.3");
        std::fs::write(dir.join("2026-01-15.log"), &old).unwrap();
        std::fs::write(dir.join("2026-01-16.log"), &new).unwrap();
        (old.len() + new.len()) as u64
    }

    #[test]
    fn newest_day_read_first() {
        let dir = tempfile::tempdir().unwrap();
        write_two_days(dir.path());
        let cache = IndexCache::new(dir.path(), 1000).with_inline_count_bytes(0);

        let page = newest_page(&cache, &dates(), 0, 3).unwrap().unwrap();

        let sources: Vec<&str> = page.events.iter().map(|e| e.src_ip.as_str()).collect();
        assert_eq!(sources, ["10.0.0.3", "10.0.0.2", "10.0.0.1"]);
        assert_eq!(page.total, None);
        assert_eq!(page.uncounted, dates());
    }

    #[test]
    fn small_days_counted_inline() {
        let dir = tempfile::tempdir().unwrap();
        let both = write_two_days(dir.path());
        let fits = IndexCache::new(dir.path(), 1000).with_inline_count_bytes(both);
        let short = IndexCache::new(dir.path(), 1000).with_inline_count_bytes(both - 1);

        let counted = newest_page(&fits, &dates(), 0, 1).unwrap().unwrap();
        let left = newest_page(&short, &dates(), 0, 1).unwrap().unwrap();

        assert_eq!(counted.total, Some(3));
        assert!(counted.uncounted.is_empty());
        assert_eq!(left.total, None, "one byte over the budget counts no day");
        assert_eq!(left.uncounted, dates());
        assert_eq!(short.cached_lines(), 0);
    }

    #[test]
    fn recorded_unsorted_day_needs_index() {
        let dir = tempfile::tempdir().unwrap();
        // Sorted at the end, so only the index finds that the first line is the newest.
        let text = line("2026-01-16", 9, "10.0.0.9")
            + &line("2026-01-16", 1, "10.0.0.1")
            + &line("2026-01-16", 2, "10.0.0.2");
        std::fs::write(dir.path().join("2026-01-16.log"), text).unwrap();
        let cache = IndexCache::new(dir.path(), 1000).with_inline_count_bytes(0);
        let inline = IndexCache::new(dir.path(), 1000);
        let before_indexing = newest_page(&cache, &dates(), 0, 2).unwrap();
        cache.get(dates()[1]).unwrap();

        assert!(before_indexing.is_some(), "the last two lines are in order");
        assert!(newest_page(&cache, &dates(), 0, 2).unwrap().is_none());
        assert!(
            newest_page(&inline, &dates(), 0, 2).unwrap().is_none(),
            "a day counted during the request is known to be unsorted"
        );
    }

    #[test]
    fn unsorted_older_day_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let unsorted = line("2026-01-15", 9, "10.0.0.9") + &line("2026-01-15", 1, "10.0.0.1");
        std::fs::write(dir.path().join("2026-01-15.log"), unsorted).unwrap();
        std::fs::write(
            dir.path().join("2026-01-16.log"),
            line("2026-01-16", 1, "10.0.0.3"),
        )
        .unwrap();
        let cache = IndexCache::new(dir.path(), 1000);

        let newest_only = newest_page(&cache, &dates(), 0, 1).unwrap().unwrap();
        let both_days = newest_page(&cache, &dates(), 0, 3).unwrap();

        assert_eq!(newest_only.events.len(), 1);
        assert_eq!(newest_only.events[0].src_ip, "10.0.0.3");
        assert!(both_days.is_none());
    }
}
