//! `GET /api/events` in the default view over a range of days, which is newest first without a
//! filter. Pages come from the ends of the files, and the total once the background worker has
//! indexed the days. Scoped users and sorted or filtered requests take the exact path.

mod common;

use std::fs::OpenOptions;
use std::io::Write;
use std::time::Duration;

use chrono::NaiveDate;
use common::{day, event, Session, TestViewer};
use trailwatch_event::Event;
use trailwatch_viewer::logs::cache::DEFAULT_INLINE_COUNT_BYTES;

/// Writes 2 events three days ago, none two days ago, 3 events and a bad line yesterday, and
/// 2 events today, for a viewer that counts no day during a request. Returns the first and last
/// date of the range.
fn viewer_with_days() -> (TestViewer, NaiveDate, NaiveDate) {
    viewer_with_days_counting(0)
}

/// [`viewer_with_days`] for a viewer that counts `inline_bytes` of log files during a request.
fn viewer_with_days_counting(inline_bytes: u64) -> (TestViewer, NaiveDate, NaiveDate) {
    let viewer = TestViewer::start_with(|config| config.inline_count_bytes = inline_bytes);
    let (oldest, yesterday, today) = (day(-3), day(-1), day(0));
    viewer.write_events(&[
        event(
            oldest,
            8,
            0,
            "10.0.0.1",
            "203.0.113.1",
            "a.test",
            "oldest 1",
        ),
        event(
            oldest,
            9,
            0,
            "10.0.0.2",
            "203.0.113.1",
            "a.test",
            "oldest 2",
        ),
        event(
            yesterday,
            7,
            0,
            "10.0.0.3",
            "203.0.113.2",
            "b.test",
            "yesterday 1",
        ),
        event(
            yesterday,
            7,
            0,
            "10.0.0.4",
            "203.0.113.2",
            "b.test",
            "yesterday 2",
        ),
    ]);
    let path = viewer.log_dir().join(format!("{yesterday}.log"));
    let mut file = OpenOptions::new().append(true).open(path).unwrap();
    file.write_all(b"not an event\n").unwrap();
    viewer.write_events(&[
        event(
            yesterday,
            23,
            0,
            "192.0.2.5",
            "203.0.113.2",
            "b.test",
            "yesterday 3",
        ),
        event(today, 0, 5, "10.0.0.6", "203.0.113.3", "c.test", "today 1"),
        event(today, 0, 6, "192.0.2.7", "203.0.113.3", "c.test", "today 2"),
    ]);
    (viewer, oldest, today)
}

/// Returns the event appended to `today` after the first request, the newest of the range.
fn third_today(today: NaiveDate) -> Event {
    event(today, 0, 7, "10.0.0.8", "203.0.113.4", "d.test", "today 3")
}

/// Requests `path` until its total is not null, for up to 10 s.
fn poll_total(session: &Session, path: &str) -> serde_json::Value {
    for _ in 0..200 {
        let page = session.json(path);
        if !page["total"].is_null() {
            return page;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{path}: the total stayed null for 10 s");
}

fn infos(page: &serde_json::Value) -> Vec<String> {
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["info"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn range_total_null_then_indexed() {
    let (viewer, from, to) = viewer_with_days();
    let session = viewer.login("admin");
    let range = format!("from={from}&to={to}");

    let first = session.json(&format!("/api/events?{range}&limit=4&offset=1"));
    let counted = poll_total(&session, &format!("/api/events?{range}&limit=4&offset=1"));
    let oldest_first = session.json(&format!("/api/events?{range}&sort=time&limit=1000"));

    assert!(first["total"].is_null(), "first request: {first}");
    assert_eq!(
        infos(&first),
        ["today 1", "yesterday 3", "yesterday 2", "yesterday 1"]
    );
    assert_eq!(infos(&counted), infos(&first));
    assert_eq!(counted["total"], 7, "the bad line is not counted");
    assert_eq!(counted["total"], oldest_first["total"]);
    let mut newest_first = infos(&oldest_first);
    newest_first.reverse();
    assert_eq!(infos(&counted), newest_first[1..5]);
}

#[test]
fn small_days_counted_at_once() {
    let (viewer, from, to) = viewer_with_days_counting(DEFAULT_INLINE_COUNT_BYTES);
    let session = viewer.login("admin");
    let range = format!("from={from}&to={to}");

    let first = session.json(&format!("/api/events?{range}&limit=4&offset=1"));
    viewer.write_events(&[third_today(to)]);
    let grown = session.json(&format!("/api/events?{range}&limit=1"));

    assert_eq!(first["total"], 7, "first request: {first}");
    assert_eq!(
        infos(&first),
        ["today 1", "yesterday 3", "yesterday 2", "yesterday 1"]
    );
    assert_eq!(grown["total"], 8, "after an append: {grown}");
    assert_eq!(infos(&grown), ["today 3"]);
}

#[test]
fn appended_event_changes_total() {
    let (viewer, from, to) = viewer_with_days();
    let session = viewer.login("admin");
    let path = format!("/api/events?from={from}&to={to}&limit=1");
    poll_total(&session, &path);

    viewer.write_events(&[third_today(to)]);
    let grown = poll_total(&session, &path);

    assert_eq!(grown["total"], 8);
    assert_eq!(infos(&grown), ["today 3"]);
}

#[test]
fn scoped_and_filtered_take_exact_path() {
    let (viewer, from, to) = viewer_with_days();
    let admin = viewer.login("admin");
    let lan = viewer.login("lan");
    let range = format!("from={from}&to={to}");

    let default_view = admin.json(&format!("/api/events?{range}"));
    let scoped = lan.json(&format!("/api/events?{range}"));
    let filtered = admin.json(&format!("/api/events?{range}&src=192.0.2.0/24"));
    let sorted = admin.json(&format!("/api/events?{range}&sort=-src&limit=2"));
    let deep = admin.json(&format!("/api/events?{range}&offset=999&limit=2"));

    assert!(default_view["total"].is_null(), "{default_view}");
    // The scope is 10.0.0.0/8, which leaves out the two sources in 192.0.2.0/24.
    assert_eq!(scoped["total"], 5, "{scoped}");
    assert!(!infos(&scoped).contains(&"yesterday 3".to_string()));
    assert_eq!(filtered["total"], 2, "{filtered}");
    assert_eq!(infos(&filtered), ["today 2", "yesterday 3"]);
    assert_eq!(sorted["total"], 7, "{sorted}");
    assert_eq!(infos(&sorted), ["today 2", "yesterday 3"]);
    assert_eq!(deep["total"], 7, "past the tail's 1000 events: {deep}");
}
