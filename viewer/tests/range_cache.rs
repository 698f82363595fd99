//! Queries over a range of more days than the index cache can keep, compared with the same
//! queries over a cache large enough for every day.

use std::path::Path;

use chrono::NaiveDate;
use trailwatch_viewer::logs::aggregate::{self, PivotKind};
use trailwatch_viewer::logs::cache::IndexCache;
use trailwatch_viewer::logs::filter::Filter;
use trailwatch_viewer::logs::query::{self, Sort, SortField};

const DAYS: u32 = 5;
const LINES_PER_DAY: u32 = 120;
/// Fewer lines than two days have, so that every day evicts the one before.
const SMALL_BOUND: usize = 150;

/// Writes the test days: times out of file order within each day, and per-day differences in
/// ports, sources and trails, so that sorts interleave events of different days.
fn write_days(dir: &Path) -> Vec<NaiveDate> {
    let first: NaiveDate = "2026-01-10".parse().unwrap();
    let dates: Vec<NaiveDate> = first.iter_days().take(DAYS as usize).collect();
    for (day, date) in dates.iter().enumerate() {
        let day = day as u32;
        let mut text = String::new();
        for n in 0..LINES_PER_DAY {
            let second = (n * 7919 + day * 13) % 86_400;
            let (hour, minute, second) = (second / 3600, second / 60 % 60, second % 60);
            let src = format!("10.0.{}.{}", (n + day) % 4, n % 10);
            let dst_port = [53, 80, 443, 8080][((n + day) % 4) as usize];
            let trail = format!("trail-{}.test", (n % 5 + day) % 17);
            let info = format!("family {} (malware)", (n + 2 * day) % 9);
            text.push_str(&format!(
                "\"{date} {hour:02}:{minute:02}:{second:02}.000000\" s1 {src} {} 198.51.100.{} \
                 {dst_port} TCP DNS {trail} \"{info}\" feed\n",
                30_000 + n,
                n % 7
            ));
        }
        std::fs::write(dir.join(format!("{date}.log")), text).unwrap();
    }
    dates
}

fn sort(field: SortField, descending: bool) -> Sort {
    Sort { field, descending }
}

#[test]
fn small_cache_pages_match_large() {
    let dir = tempfile::tempdir().unwrap();
    let dates = write_days(dir.path());
    let small = IndexCache::new(dir.path(), SMALL_BOUND);
    let large = IndexCache::new(dir.path(), 1_000_000);
    let text_filter = Filter {
        info: Some("family 3".to_string()),
        ..Filter::default()
    };
    let filters = [Filter::default(), text_filter];
    let sorts = [
        sort(SortField::Time, true),
        sort(SortField::Port, false),
        sort(SortField::Trail, false),
        sort(SortField::Src, true),
    ];

    for filter in &filters {
        for &order in &sorts {
            for offset in [0, 100, 450] {
                let case = format!("{filter:?} {order:?} offset {offset}");
                let from_small = query::page(&small, &dates, filter, order, offset, 50).unwrap();
                let from_large = query::page(&large, &dates, filter, order, offset, 50).unwrap();

                assert_eq!(from_small.total, from_large.total, "{case}");
                assert_eq!(from_small.events, from_large.events, "{case}");
                assert!(small.cached_lines() <= SMALL_BOUND, "{case}");
            }
        }
    }
    assert!(
        large.cached_lines() == (DAYS * LINES_PER_DAY) as usize,
        "the large cache keeps every day"
    );
}

#[test]
fn range_page_sorted_across_days() {
    let dir = tempfile::tempdir().unwrap();
    let dates = write_days(dir.path());
    let small = IndexCache::new(dir.path(), SMALL_BOUND);
    let newest_first = sort(SortField::Time, true);

    let page = query::page(&small, &dates, &Filter::default(), newest_first, 0, 200).unwrap();
    let times: Vec<&str> = page
        .events
        .iter()
        .map(|event| event.time.as_str())
        .collect();

    assert_eq!(page.total, u64::from(DAYS * LINES_PER_DAY));
    assert_eq!(times.len(), 200);
    assert!(
        times[0].starts_with("2026-01-14"),
        "newest day first: {}",
        times[0]
    );
    assert!(
        times.windows(2).all(|pair| pair[0] >= pair[1]),
        "times descend across days"
    );
    assert!(
        times.last().unwrap().starts_with("2026-01-13"),
        "the page runs into the day before: {}",
        times.last().unwrap()
    );
}

#[test]
fn small_cache_aggregates_match_large() {
    let dir = tempfile::tempdir().unwrap();
    let dates = write_days(dir.path());
    let small = IndexCache::new(dir.path(), SMALL_BOUND);
    let large = IndexCache::new(dir.path(), 1_000_000);
    let all = Filter::default();

    let threats = (
        aggregate::threats(&small, &dates, &all).unwrap(),
        aggregate::threats(&large, &dates, &all).unwrap(),
    );
    let timeline = (
        aggregate::timeline(&small, &dates, &all).unwrap(),
        aggregate::timeline(&large, &dates, &all).unwrap(),
    );
    let by_src = Filter {
        src: Some("10.0.1.0/24".parse().unwrap()),
        ..Filter::default()
    };
    let pivot = (
        aggregate::pivot(&small, &dates, &by_src, PivotKind::Src, "10.0.1.0/24").unwrap(),
        aggregate::pivot(&large, &dates, &by_src, PivotKind::Src, "10.0.1.0/24").unwrap(),
    );

    let counted: u64 = threats.0.threats.iter().map(|threat| threat.count).sum();
    assert!(
        threats.0.threats.len() < aggregate::MAX_THREATS,
        "every group returned"
    );
    assert_eq!(counted, u64::from(DAYS * LINES_PER_DAY));
    assert_eq!(json(&threats.0), json(&threats.1));
    assert_eq!(json(&timeline.0), json(&timeline.1));
    assert_eq!(timeline.0.buckets.len(), DAYS as usize);
    assert!(timeline
        .0
        .buckets
        .iter()
        .all(|bucket| bucket.count == u64::from(LINES_PER_DAY)));
    assert_eq!(json(&pivot.0), json(&pivot.1));
    assert_eq!(pivot.0.events.len(), aggregate::MAX_PIVOT_EVENTS);
    assert!(small.cached_lines() <= SMALL_BOUND);
}

/// Serializes an aggregate for comparison, because the aggregates do not implement
/// `PartialEq`.
fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap()
}
