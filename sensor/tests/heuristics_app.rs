//! DNS and HTTP heuristics end to end: generated captures through the sensor binary, each
//! with a case that must raise its event and a near miss that must not.

mod common;

use common::frames::*;
use common::{custom_trails, log_events, run_sensor};
use trailwatch_event::LogLine;

/// 2026-01-15 12:00:00 UTC.
const T0: i64 = 1_768_478_400;
const DLT_EN10MB: i32 = 1;

const RESOLVER: [u8; 4] = [10, 0, 0, 53];
const WEB_SERVER: [u8; 4] = [10, 0, 0, 80];

/// Runs the sensor on `frames` with an empty trail set and returns the heuristic events.
fn heuristic_events(frames: &[(i64, i64, Vec<u8>)]) -> Vec<LogLine> {
    let work = tempfile::tempdir().unwrap();
    let capture = work.path().join("app.pcap");
    write_pcap(&capture, DLT_EN10MB, frames);
    let trails = custom_trails(work.path(), &[]);
    let log_dir = work.path().join("log");
    let output = run_sensor(&[
        "-r",
        capture.to_str().unwrap(),
        "--trails",
        trails.to_str().unwrap(),
        "--log-dir",
        log_dir.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "sensor failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let events = log_events(&log_dir);
    assert!(
        events.iter().all(|event| event.reference == "(heuristic)"),
        "{events:?}"
    );
    events
}

fn query_frame(id: u16, name: &str) -> Vec<u8> {
    let query = dns_query(id, name);
    ethernet(
        &[],
        0x0800,
        &ipv4_udp(CLIENT, RESOLVER, 40_000 + id, 53, &query),
    )
}

/// Builds the resolver's NXDOMAIN response to `dns_query(id, name)`.
fn nxdomain_frame(id: u16, name: &str) -> Vec<u8> {
    let mut response = dns_query(id, name);
    // Flags: response, recursion desired and available, RCODE 3 (no such name).
    response[2] = 0x81;
    response[3] = 0x83;
    ethernet(
        &[],
        0x0800,
        &ipv4_udp(RESOLVER, CLIENT, 53, 40_000 + id, &response),
    )
}

/// Queries and NXDOMAIN responses for `count` distinct names under one internal domain.
fn failed_lookups(count: u16) -> Vec<(i64, i64, Vec<u8>)> {
    let mut frames = Vec::new();
    for id in 0..count {
        let name = format!("host{id}.branch.corp-example.com");
        frames.push((T0 + i64::from(id), 0, query_frame(id, &name)));
        frames.push((T0 + i64::from(id), 1_000, nxdomain_frame(id, &name)));
    }
    frames
}

fn http_request_frame(sport: u16, request: &str) -> Vec<u8> {
    let segment = ipv4_tcp(CLIENT, WEB_SERVER, sport, 80, 1, request.as_bytes());
    ethernet(&[], 0x0800, &segment)
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: Mozilla/5.0\r\n\r\n")
}

#[test]
fn long_first_label_reported() {
    let name = "abcdefghijklmnopqrstuvwxyzab.example.com";
    let events = heuristic_events(&[(T0, 0, query_frame(1, name))]);

    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].info, "long domain (suspicious)");
    assert_eq!(
        events[0].trail,
        "(abcdefghijklmnopqrstuvwxyzab).example.com"
    );
    assert_eq!(events[0].trail_type, "DNS");
    assert_eq!(events[0].src_ip, "192.0.2.10");
    assert_eq!(events[0].dst_port, "53");
}

#[test]
fn label_under_limit_not_reported() {
    let name = "abcdefghijklmnopqrstuvwx.example.com";
    let events = heuristic_events(&[(T0, 0, query_frame(1, name))]);

    assert!(events.is_empty(), "{events:?}");
}

#[test]
fn nxdomain_flood_reported_once() {
    let events = heuristic_events(&failed_lookups(60));

    assert_eq!(events.len(), 1, "{events:?}");
    // The forty-first distinct failed name crossed the threshold of 40.
    assert_eq!(events[0].info, "excessive no such domain (suspicious)");
    assert_eq!(events[0].trail, "host40.branch.corp-example.com");
    assert_eq!(events[0].trail_type, "DNS");
}

#[test]
fn forty_nxdomains_not_reported() {
    let events = heuristic_events(&failed_lookups(40));

    assert!(events.is_empty(), "{events:?}");
}

#[test]
fn sql_injection_reported() {
    let request = get("/item.php?id=1%27%20UNION%20SELECT%20password%20FROM%20users--");
    let events = heuristic_events(&[(T0, 0, http_request_frame(41_000, &request))]);

    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].info, "potential sql injection (suspicious)");
    assert_eq!(
        events[0].trail,
        "shop.example(/item.php?id=1%27%20UNION%20SELECT%20password%20FROM%20users--)"
    );
    assert_eq!(events[0].src_ip, "192.0.2.10");
    assert_eq!(events[0].dst_ip, "10.0.0.80");
    assert_eq!(events[0].proto, "TCP");
}

#[test]
fn quote_in_search_not_reported() {
    let request = get("/search?q=select+shoes+by+o%27neill");
    let events = heuristic_events(&[(T0, 0, http_request_frame(41_000, &request))]);

    assert!(events.is_empty(), "{events:?}");
}

#[test]
fn directory_traversal_reported() {
    let request = get("/download?file=..%2f..%2f..%2fetc%2fpasswd");
    let events = heuristic_events(&[(T0, 0, http_request_frame(41_000, &request))]);

    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].info, "potential directory traversal (suspicious)");
    assert_eq!(
        events[0].trail,
        "shop.example(/download?file=..%2f..%2f..%2fetc%2fpasswd)"
    );
}
