//! The default view over a range read from the ends of files, compared with the same pages from
//! the index, and its total from the stored day counts.

use std::io::Write;
use std::path::Path;

use chrono::NaiveDate;
use trailwatch_viewer::logs::cache::IndexCache;
use trailwatch_viewer::logs::filter::Filter;
use trailwatch_viewer::logs::newest::newest_page;
use trailwatch_viewer::logs::query::{self, Sort, SortField};
use trailwatch_viewer::logs::record::EventRecord;

/// Fewer lines than two days have, so that indexing a day evicts the one before.
const SMALL_BOUND: usize = 300;

const NEWEST_FIRST: Sort = Sort {
    field: SortField::Time,
    descending: true,
};

fn line(date: NaiveDate, n: u32, src_port: u32) -> String {
    // Two lines per second, so that ties in time are ordered by file position.
    let second = n / 2;
    let (hour, minute, second) = (second / 3600, second / 60 % 60, second % 60);
    format!(
        "\"{date} {hour:02}:{minute:02}:{second:02}.000000\" s1 10.0.{}.{} {src_port} \
         198.51.100.7 443 TCP IP 198.51.100.7 \"family {}\" feed\n",
        n % 3,
        n % 200,
        n % 9
    )
}

/// Writes four days, newest last: 210 lines, no file, 160 lines with bad lines between them,
/// and 250 lines. Returns the dates.
fn write_days(dir: &Path) -> Vec<NaiveDate> {
    let first: NaiveDate = "2026-02-01".parse().unwrap();
    let dates: Vec<NaiveDate> = first.iter_days().take(4).collect();
    let plain = |date: NaiveDate, lines: u32| -> String {
        (0..lines).map(|n| line(date, n, 40_000 + n)).collect()
    };

    std::fs::write(path(dir, dates[0]), plain(dates[0], 210)).unwrap();
    let mut with_bad_lines = Vec::new();
    for n in 0..160 {
        with_bad_lines.extend_from_slice(line(dates[2], n, 50_000 + n).as_bytes());
        match n % 40 {
            7 => with_bad_lines.extend_from_slice(b"not an event\n"),
            19 => with_bad_lines.extend_from_slice(b"\"2026-02-03 \xff\xfe\n"),
            _ => {}
        }
    }
    std::fs::write(path(dir, dates[2]), with_bad_lines).unwrap();
    std::fs::write(path(dir, dates[3]), plain(dates[3], 250)).unwrap();
    dates
}

fn path(dir: &Path, date: NaiveDate) -> std::path::PathBuf {
    dir.join(format!("{date}.log"))
}

fn indexed_page(dir: &Path, dates: &[NaiveDate], offset: usize, limit: usize) -> query::Page {
    let cache = IndexCache::new(dir, 1_000_000);
    query::page(
        &cache,
        dates,
        &Filter::default(),
        NEWEST_FIRST,
        offset,
        limit,
    )
    .unwrap()
}

fn ports(events: &[EventRecord]) -> Vec<Option<u16>> {
    events.iter().map(|e| e.src_port).collect()
}

#[test]
fn pages_match_indexed_pages() {
    let dir = tempfile::tempdir().unwrap();
    let dates = write_days(dir.path());
    let cache = IndexCache::new(dir.path(), SMALL_BOUND).with_inline_count_bytes(0);
    // Boundaries: the newest day ends at 250, the day with bad lines at 410, the oldest at 620.
    let pages = [
        (0, 1),
        (0, 100),
        (240, 20),
        (250, 1),
        (249, 2),
        (400, 30),
        (405, 300),
        (0, 1000),
        (615, 10),
        (620, 10),
        (900, 100),
        (10, 0),
    ];

    for (offset, limit) in pages {
        let expected = indexed_page(dir.path(), &dates, offset, limit);
        let page = newest_page(&cache, &dates, offset, limit).unwrap();
        let page = page.unwrap_or_else(|| panic!("{offset}+{limit}: fell back to the index"));

        assert_eq!(expected.total, 620, "indexed total");
        assert_eq!(
            ports(&page.events),
            ports(&expected.events),
            "{offset}+{limit}: source ports"
        );
        assert_eq!(page.events, expected.events, "{offset}+{limit}: records");
    }
}

#[test]
fn total_known_once_days_indexed() {
    let dir = tempfile::tempdir().unwrap();
    let dates = write_days(dir.path());
    let cache = IndexCache::new(dir.path(), SMALL_BOUND).with_inline_count_bytes(0);

    let before = newest_page(&cache, &dates, 0, 10).unwrap().unwrap();
    for &date in &dates {
        cache.get(date).unwrap();
    }
    let after = newest_page(&cache, &dates, 0, 10).unwrap().unwrap();

    assert_eq!(before.total, None);
    let days_with_files = vec![dates[0], dates[2], dates[3]];
    assert_eq!(before.uncounted, days_with_files);
    assert_eq!(after.total, Some(620), "bad lines are not counted");
    assert!(after.uncounted.is_empty());
    assert!(
        cache.cached_lines() <= SMALL_BOUND,
        "the counts outlive the evicted indexes"
    );
}

#[test]
fn grown_or_replaced_file_needs_indexing() {
    let dir = tempfile::tempdir().unwrap();
    let dates = write_days(dir.path());
    let cache = IndexCache::new(dir.path(), SMALL_BOUND).with_inline_count_bytes(0);
    for &date in &dates {
        cache.get(date).unwrap();
    }

    // The oldest day is evicted, so a line appended to it leaves the day without a count.
    let mut oldest = std::fs::OpenOptions::new()
        .append(true)
        .open(path(dir.path(), dates[0]))
        .unwrap();
    oldest.write_all(line(dates[0], 300, 1).as_bytes()).unwrap();
    let grown = newest_page(&cache, &dates, 0, 10).unwrap().unwrap();
    assert_eq!(grown.total, None, "grown evicted day");
    assert_eq!(grown.uncounted, [dates[0]]);
    cache.get(dates[0]).unwrap();
    let counted = newest_page(&cache, &dates, 0, 10).unwrap().unwrap();
    assert_eq!(counted.total, Some(621));
    assert_eq!(
        counted.total,
        Some(indexed_page(dir.path(), &dates, 0, 0).total)
    );

    // A file written elsewhere and renamed over the day has a new inode.
    let replacement = dir.path().join("replacement");
    std::fs::write(&replacement, line(dates[2], 1, 2)).unwrap();
    std::fs::rename(&replacement, path(dir.path(), dates[2])).unwrap();
    let replaced = newest_page(&cache, &dates, 0, 10).unwrap().unwrap();
    assert_eq!(replaced.total, None, "replaced day");
    assert_eq!(replaced.uncounted, [dates[2]]);
    cache.get(dates[2]).unwrap();
    let recounted = newest_page(&cache, &dates, 0, 10).unwrap().unwrap();
    assert_eq!(recounted.total, Some(210 + 1 + 1 + 250));
}

#[test]
fn growing_cached_day_counted_incrementally() {
    let dir = tempfile::tempdir().unwrap();
    let dates = write_days(dir.path());
    let cache = IndexCache::new(dir.path(), SMALL_BOUND).with_inline_count_bytes(0);
    for &date in &dates {
        cache.get(date).unwrap();
    }

    // The newest day is the one the cache keeps, as for today's file while the sensor writes.
    let mut newest = std::fs::OpenOptions::new()
        .append(true)
        .open(path(dir.path(), dates[3]))
        .unwrap();
    newest
        .write_all((line(dates[3], 260, 7) + "garbage\n").as_bytes())
        .unwrap();
    let page = newest_page(&cache, &dates, 0, 1).unwrap().unwrap();

    assert_eq!(page.total, Some(621));
    assert_eq!(page.events[0].src_port, Some(7));
    assert_eq!(
        page.total,
        Some(indexed_page(dir.path(), &dates, 0, 0).total)
    );
}

#[test]
fn unsorted_day_falls_back_to_index() {
    let dir = tempfile::tempdir().unwrap();
    let dates = write_days(dir.path());
    // A late event at the top of the newest day, newer than every line below it.
    let newest = path(dir.path(), dates[3]);
    let text = std::fs::read_to_string(&newest).unwrap();
    std::fs::write(&newest, line(dates[3], 80_000, 9) + &text).unwrap();
    let cache = IndexCache::new(dir.path(), SMALL_BOUND).with_inline_count_bytes(0);

    let before_indexing = newest_page(&cache, &dates, 0, 10).unwrap();
    cache.get(dates[3]).unwrap();
    let after_indexing = newest_page(&cache, &dates, 0, 10).unwrap();
    let older_days = newest_page(&cache, &dates[..3], 0, 10).unwrap();

    assert!(
        before_indexing.is_some(),
        "the last lines read are in order"
    );
    assert!(after_indexing.is_none(), "the index found the late event");
    assert!(older_days.is_some(), "the other days are in order");
    let expected = indexed_page(dir.path(), &dates, 0, 1);
    assert_eq!(expected.events[0].src_port, Some(9));
}
