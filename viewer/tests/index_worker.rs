//! The background index behind the default view: many concurrent requests of days without a
//! count start one worker thread, which counts every day. This file contains one test, because
//! it counts the threads of the whole test process by name.

mod common;

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use common::TestViewer;

const DAYS: usize = 24;
const LINES_PER_DAY: u32 = 3000;

/// Returns the number of threads of this process named like the viewer's index worker.
fn index_threads() -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|name| name.trim_end() == "viewer-index")
        })
        .count()
}

#[test]
fn concurrent_requests_share_worker() {
    let viewer = TestViewer::start_with(|config| config.inline_count_bytes = 0);
    let first: NaiveDate = "2026-03-01".parse().unwrap();
    let dates: Vec<NaiveDate> = first.iter_days().take(DAYS).collect();
    for date in &dates {
        let mut text = String::new();
        for n in 0..LINES_PER_DAY {
            let (minute, second) = (n / 60 % 60, n % 60);
            writeln!(
                text,
                "\"{date} 10:{minute:02}:{second:02}.000000\" s1 10.0.0.{} 1 198.51.100.1 53 \
                 UDP DNS a.test \"x\" feed",
                n % 250
            )
            .unwrap();
        }
        std::fs::write(viewer.log_dir().join(format!("{date}.log")), text).unwrap();
    }
    let session = Arc::new(viewer.login("admin"));

    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let sampling = Arc::clone(&sampling);
        std::thread::spawn(move || {
            let mut max_seen = 0;
            while sampling.load(Ordering::Relaxed) {
                max_seen = max_seen.max(index_threads());
                std::thread::sleep(Duration::from_millis(1));
            }
            max_seen
        })
    };
    let requests: Vec<_> = dates
        .iter()
        .map(|&date| {
            let session = Arc::clone(&session);
            std::thread::spawn(move || {
                let page = session.json(&format!("/api/events?from={date}&to={date}&limit=1"));
                page["total"].is_null()
            })
        })
        .collect();
    let null_totals = requests
        .into_iter()
        .map(|request| request.join().unwrap())
        .filter(|null| *null)
        .count();

    // Every day is counted once the worker drained the queue.
    let range = format!(
        "/api/events?from={}&to={}&limit=1",
        dates[0],
        dates[DAYS - 1]
    );
    let mut counted = session.json(&range);
    for _ in 0..400 {
        if !counted["total"].is_null() {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
        counted = session.json(&range);
    }
    sampling.store(false, Ordering::Relaxed);
    let max_threads = sampler.join().unwrap();

    assert!(null_totals > 0, "no request found a day without a count");
    assert!(
        max_threads <= 1,
        "{max_threads} index worker threads at once"
    );
    assert_eq!(counted["total"], DAYS as u64 * u64::from(LINES_PER_DAY));
    let newest = format!("{} 10:49:59.000000", dates[DAYS - 1]);
    assert_eq!(counted["events"][0]["time"], newest.as_str());
}
