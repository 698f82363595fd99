//! Reliable delivery through the sensor binary: events found while the viewer's intake is down
//! stay in the spool across the sensor's exit, and reach the intake exactly once and in order
//! when a later run finds it up. The intake is a server this test starts on 127.0.0.1.

mod common;

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use common::frames::*;
use common::{log_lines, run_sensor};
use trailwatch_relay::{serve, Intake, Secret};

/// 2026-01-15 12:00:00 UTC.
const T0: i64 = 1_768_478_400;

const SECRET: &str = "sensor delivery test secret 0123";

/// Returns true, after printing why, when a proxy variable would send loopback requests to a
/// proxy instead (minreq honours these and has no `no_proxy` list).
fn skip_for_proxy() -> bool {
    let set = [
        "http_proxy",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ]
    .into_iter()
    .find(|name| std::env::var_os(name).is_some());
    if let Some(name) = set {
        eprintln!("skipped: {name} is set, and loopback requests would go to that proxy");
    }
    set.is_some()
}

/// Writes a capture with one DNS query per name, one second apart from `start`.
fn write_capture(path: &Path, start: i64, names: &[&str]) {
    let frames: Vec<(i64, i64, Vec<u8>)> = names
        .iter()
        .enumerate()
        .map(|(at, name)| {
            let query = dns_query(at as u16, name);
            let frame = ethernet(&[], 0x0800, &ipv4_udp(CLIENT, SERVER, 40000, 53, &query));
            (start + at as i64, 0, frame)
        })
        .collect();
    write_pcap(path, 1, &frames);
}

/// Runs the sensor over `capture` with delivery to `intake` and returns its standard error.
fn run_with_delivery(work: &Path, capture: &Path, intake: SocketAddr) -> String {
    let config = work.join("sensor.toml");
    let text = format!(
        "[outputs.delivery]\nurl = \"http://{intake}/api/intake\"\nsecret_file = \"{}\"\n\
         spool_dir = \"{}\"\n",
        work.join("secret").display(),
        work.join("spool").display()
    );
    std::fs::write(&config, text).unwrap();
    let output = run_sensor(&[
        "-c",
        config.to_str().unwrap(),
        "-r",
        capture.to_str().unwrap(),
        "--trails",
        work.join("trails").to_str().unwrap(),
        "--log-dir",
        work.join("log").to_str().unwrap(),
        "--sensor-name",
        "branch-office",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    stderr
}

#[test]
fn spooled_events_arrive_after_outage() {
    if skip_for_proxy() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    std::fs::create_dir_all(work.join("trails/malware")).unwrap();
    std::fs::write(
        work.join("trails/malware/evil.txt"),
        "# Reference: test fixture\nevil.example\n",
    )
    .unwrap();
    std::fs::write(work.join("secret"), SECRET).unwrap();
    std::fs::set_permissions(work.join("secret"), std::fs::Permissions::from_mode(0o600)).unwrap();
    // A port that was free a moment ago: nothing listens there during the first run.
    let intake_addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();

    let first = work.join("first.pcap");
    write_capture(&first, T0, &["a.evil.example", "b.evil.example"]);
    let stderr = run_with_delivery(work, &first, intake_addr);
    assert!(stderr.contains("2 pending in the spool"), "{stderr}");

    let received = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = Arc::clone(&received);
    let secret = Secret::new(SECRET.as_bytes().to_vec()).unwrap();
    let intake = Intake::open(secret, &work.join("intake-state.json")).unwrap();
    let server = serve(
        intake_addr,
        "/api/intake",
        intake,
        move |lines: &[String]| {
            sink.lock().unwrap().extend_from_slice(lines);
            Ok::<(), io::Error>(())
        },
    )
    .unwrap();

    let second = work.join("second.pcap");
    write_capture(&second, T0 + 10, &["c.evil.example"]);
    run_with_delivery(work, &second, intake_addr);
    server.stop();

    let local = log_lines(&work.join("log"));
    let delivered: Vec<String> = received
        .lock()
        .unwrap()
        .iter()
        .map(|line| line.trim_end().to_string())
        .collect();
    assert_eq!(local.len(), 3, "{local:?}");
    assert_eq!(delivered, local);
}
