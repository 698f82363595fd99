//! The sensor on a compiled trail store: mapping it with `--trails STORE`, and swapping in a
//! new version that a writer renames over the old one while packets keep arriving.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::frames::{dns_query, ethernet, ipv4_udp, write_pcap, CLIENT, SERVER};
use common::{log_events, run_sensor};
use trailwatch_trailset::{write_store_atomic, StoreBuilder};

/// 2026-01-15 12:00:00 UTC.
const T0: i64 = 1_768_478_400;

fn write_store(path: &Path, indicators: &[&str]) {
    let mut builder = StoreBuilder::new();
    builder
        .add_indicators(
            "test feed",
            "testfeed (malware)",
            "feed.example",
            indicators.iter().copied(),
        )
        .unwrap();
    let (bytes, _report) = builder.finish(None).unwrap();
    write_store_atomic(path, &bytes).unwrap();
}

/// Writes a pcap of `count` DNS queries for `name`, one per millisecond from `start_ms`.
fn queries(path: &Path, name: &str, count: i64, start_ms: i64) {
    let query = ipv4_udp(CLIENT, SERVER, 40000, 53, &dns_query(3, name));
    let frame = ethernet(&[], 0x0800, &query);
    let records: Vec<_> = (0..count)
        .map(|i| {
            let ms = start_ms + i;
            (T0 + ms / 1000, (ms % 1000) * 1000, frame.clone())
        })
        .collect();
    write_pcap(path, 1, &records);
}

#[test]
fn store_file_as_trails() {
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("trails.store");
    write_store(&store, &["evil.example"]);
    let capture = work.path().join("one.pcap");
    queries(&capture, "www.evil.example", 1, 0);
    let log_dir = work.path().join("log");

    let output = run_sensor(&[
        "-r",
        capture.to_str().unwrap(),
        "--trails",
        store.to_str().unwrap(),
        "--log-dir",
        log_dir.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);

    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let events = log_events(&log_dir);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].trail, "(www).evil.example");
    assert_eq!(events[0].info, "testfeed (malware)");
    assert_eq!(events[0].reference, "feed.example");
}

#[test]
fn corrupt_store_rejected_at_start() {
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("trails.store");
    write_store(&store, &["evil.example"]);
    let mut bytes = std::fs::read(&store).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&store, bytes).unwrap();
    let capture = work.path().join("one.pcap");
    queries(&capture, "evil.example", 1, 0);

    let output = run_sensor(&[
        "-r",
        capture.to_str().unwrap(),
        "--trails",
        store.to_str().unwrap(),
        "--log-dir",
        work.path().join("log").to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);

    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("trails.store"), "{stderr}");
}

#[test]
fn replaced_store_swapped_while_reading() {
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("trails.store");
    write_store(&store, &["first.example"]);
    let before = work.path().join("before.pcap");
    let after = work.path().join("after.pcap");
    queries(&before, "second.example", 5000, 0);
    queries(&after, "second.example", 5000, 5000);
    let log_dir = work.path().join("log");
    let stats = work.path().join("stats.json");

    let mut child = Command::new(env!("CARGO_BIN_EXE_trailwatch-sensor"))
        .args(["-r", "-", "--trails", store.to_str().unwrap()])
        .args(["--log-dir", log_dir.to_str().unwrap()])
        .args(["--stats-json", stats.to_str().unwrap()])
        .env("TZ", "UTC")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();

    // The first half goes out with the old store in place. The second half, sent after the
    // new store was renamed over the old one and the watcher's one-second interval passed,
    // carries the same header-less records, so the stream stays one valid pcap.
    stdin.write_all(&std::fs::read(&before).unwrap()).unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    write_store(&store, &["second.example"]);
    std::thread::sleep(Duration::from_millis(100));
    let second = std::fs::read(&after).unwrap();
    stdin.write_all(&second[24..]).unwrap();
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);

    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("new trail store mapped"), "{stderr}");
    let stats: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    assert_eq!(stats["trail_reloads"], 1, "{stats}");
    assert_eq!(stats["packets_read"], 10_000, "{stats}");
    let events = log_events(&log_dir);
    assert!(!events.is_empty(), "no event after the swap");
    assert!(
        events.iter().all(|event| event.trail == "second.example"),
        "{events:?}"
    );
}
