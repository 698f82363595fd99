//! Flow heuristics end to end: generated captures through the sensor binary, checked against
//! the events in its log.

mod common;

use std::path::Path;

use common::frames::*;
use common::{custom_trails, log_events, run_sensor};
use trailwatch_event::LogLine;

/// 2026-01-15 12:00:00 UTC.
const T0: i64 = 1_768_478_400;
const DLT_EN10MB: i32 = 1;

const SCANNER: [u8; 4] = [203, 0, 113, 9];
const VICTIM: [u8; 4] = [10, 0, 0, 7];
const WORKSTATION: [u8; 4] = [10, 0, 0, 5];

/// Runs the sensor on `frames` with an empty trail set and `extra` arguments, and returns the
/// events it logged.
fn run_on(frames: &[(i64, i64, Vec<u8>)], extra: &[&str]) -> Vec<LogLine> {
    let work = tempfile::tempdir().unwrap();
    let capture = work.path().join("flows.pcap");
    write_pcap(&capture, DLT_EN10MB, frames);
    let trails = custom_trails(work.path(), &[]);
    let log_dir = work.path().join("log");
    let mut args = vec![
        "-r",
        capture.to_str().unwrap(),
        "--trails",
        trails.to_str().unwrap(),
        "--log-dir",
        log_dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let output = run_sensor(&args);
    assert!(
        output.status.success(),
        "sensor failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    log_events(&log_dir)
}

fn syn_frame(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
    ethernet(&[], 0x0800, &ipv4_syn(src, dst, sport, dport))
}

/// SYNs from the scanner to `ports` distinct ports of the victim, 10 ms apart.
fn port_scan(ports: u16) -> Vec<(i64, i64, Vec<u8>)> {
    (0..ports)
        .map(|i| {
            let frame = syn_frame(SCANNER, VICTIM, 40_000 + i, 1 + i);
            (T0, i64::from(i) * 10_000, frame)
        })
        .collect()
}

/// Builds an Ethernet frame with an ARP packet for IPv4 (RFC 826).
fn arp_frame(
    operation: u16,
    sender_mac: [u8; 6],
    sender_ip: [u8; 4],
    target_ip: [u8; 4],
) -> Vec<u8> {
    let mut frame = vec![0xff; 6];
    frame.extend_from_slice(&sender_mac);
    frame.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4]);
    frame.extend_from_slice(&operation.to_be_bytes());
    frame.extend_from_slice(&sender_mac);
    frame.extend_from_slice(&sender_ip);
    frame.extend_from_slice(&[0; 6]);
    frame.extend_from_slice(&target_ip);
    frame
}

fn write_file(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn port_scan_logged_once() {
    let events = run_on(&port_scan(100), &[]);
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(event.info, "potential port scanning");
    assert_eq!(event.reference, "(heuristic)");
    assert_eq!(event.trail_type, "IP");
    assert_eq!(event.trail, "203.0.113.9");
    assert_eq!(event.src_ip, "203.0.113.9");
    assert_eq!(event.dst_ip, "10.0.0.7");
    // The twentieth distinct port is the one that crossed the threshold.
    assert_eq!(event.dst_port, "20");
    assert_eq!(event.proto, "TCP");
    assert_eq!(event.time, "2026-01-15 12:00:00.190000");
}

#[test]
fn nineteen_ports_log_nothing() {
    let events = run_on(&port_scan(19), &[]);
    assert!(events.is_empty(), "{events:?}");
}

#[test]
fn whitelisted_scanner_logs_nothing() {
    let work = tempfile::tempdir().unwrap();
    let whitelist = write_file(work.path(), "whitelist.txt", "203.0.113.0/24\n");
    let events = run_on(&port_scan(100), &["--whitelist", &whitelist]);
    assert!(events.is_empty(), "{events:?}");
}

#[test]
fn no_heuristics_flag_silences() {
    let events = run_on(&port_scan(100), &["--no-heuristics"]);
    assert!(events.is_empty(), "{events:?}");
}

#[test]
fn smb_sweep_logs_infection() {
    let frames: Vec<_> = (0..40u8)
        .map(|host| {
            let frame = syn_frame(WORKSTATION, [10, 0, 1, host], 50_000 + u16::from(host), 445);
            (T0, i64::from(host) * 1_000, frame)
        })
        .collect();
    let events = run_on(&frames, &[]);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].info, "potential infection");
    assert_eq!(events[0].trail_type, "PORT");
    assert_eq!(events[0].trail, "445");
    assert_eq!(events[0].src_ip, "10.0.0.5");
}

#[test]
fn contradicting_arp_reply_logged() {
    let router = [0x02, 0, 0, 0, 0, 0x01];
    let attacker = [0x02, 0, 0, 0, 0, 0x66];
    let gateway = [192, 168, 1, 1];
    let host = [192, 168, 1, 20];
    let frames = vec![
        (T0, 0, arp_frame(2, router, gateway, host)),
        (T0 + 30, 0, arp_frame(2, router, gateway, host)),
        (T0 + 40, 0, arp_frame(2, attacker, gateway, host)),
        (T0 + 41, 0, arp_frame(2, attacker, gateway, host)),
    ];
    let events = run_on(&frames, &[]);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].info, "potential arp spoofing (suspicious)");
    assert_eq!(events[0].trail, "192.168.1.1");
    assert_eq!(events[0].src_ip, "192.168.1.1");
    assert_eq!(events[0].dst_ip, "192.168.1.20");
    assert_eq!(events[0].time, "2026-01-15 12:00:40.000000");
}

#[test]
fn consistent_arp_logs_nothing() {
    let router = [0x02, 0, 0, 0, 0, 0x01];
    let frames: Vec<_> = (0..20)
        .map(|i| {
            (
                T0 + i * 30,
                0,
                arp_frame(2, router, [192, 168, 1, 1], [192, 168, 1, 20]),
            )
        })
        .collect();
    assert!(run_on(&frames, &[]).is_empty());
}

/// SYNs from the workstation to 198.51.100.80:8443 every 60 s, give or take up to 1.5 s.
fn beacon(beats: i64) -> Vec<(i64, i64, Vec<u8>)> {
    (0..beats)
        .map(|i| {
            let wobble_ms = (i * 7_919) % 3_001 - 1_500;
            let time_ms = i * 60_000 + wobble_ms + 10_000;
            let frame = syn_frame(WORKSTATION, [198, 51, 100, 80], 50_000 + i as u16, 8_443);
            (T0 + time_ms / 1000, (time_ms % 1000) * 1000, frame)
        })
        .collect()
}

#[test]
fn beacon_logged_as_ip_port() {
    let events = run_on(&beacon(30), &[]);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].info, "potential periodic beaconing (suspicious)");
    assert_eq!(events[0].trail_type, "IPORT");
    assert_eq!(events[0].trail, "198.51.100.80:8443");
    assert_eq!(events[0].src_ip, "10.0.0.5");
}

#[test]
fn disabled_beaconing_logs_nothing() {
    let work = tempfile::tempdir().unwrap();
    let config = write_file(
        work.path(),
        "sensor.toml",
        "[heuristics]\ndisabled = [\"beaconing\"]\n",
    );
    let events = run_on(&beacon(30), &["-c", &config]);
    assert!(events.is_empty(), "{events:?}");
}

#[test]
fn whitelisted_beacon_target_silent() {
    let work = tempfile::tempdir().unwrap();
    // A monitoring server that the workstation polls every minute by design.
    let whitelist = write_file(work.path(), "whitelist.txt", "198.51.100.80\n");
    let events = run_on(&beacon(30), &["--whitelist", &whitelist]);
    assert!(events.is_empty(), "{events:?}");
}

#[test]
fn bad_heuristics_key_fails_check() {
    let work = tempfile::tempdir().unwrap();
    let config = write_file(
        work.path(),
        "sensor.toml",
        "[heuristics]\ndisabled = [\"portscan\"]\n",
    );
    let output = run_sensor(&["-c", &config, "--check"]);
    // `--check` reports on standard output.
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{report}");
    assert!(report.contains("heuristics.disabled"), "{report}");
    assert!(report.contains("port_scan"), "{report}");
}
