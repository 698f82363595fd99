//! The reliable intake end to end: signed batches over HTTP on 127.0.0.1 into a real viewer,
//! stored in the daily logs and served by the API.

mod common;

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{day, event, request, TestViewer};
use trailwatch_outputs::delivery::{DeliveryConfig, DeliveryOutput};
use trailwatch_outputs::{Context, Output};
use trailwatch_relay::{Batch, Secret, StreamId, SIGNATURE_HEADER};
use trailwatch_viewer::{Config, ViewerServer};

/// Generous limit for conditions that normally hold within seconds.
const DEADLINE: Duration = Duration::from_secs(120);

const SECRET: &str = "intake test secret of 32 bytes!\n";

/// Returns true, after printing why, when a proxy variable is set: minreq 3 sends requests
/// through such a proxy and has no `no_proxy` list, so loopback requests would leave the host.
fn skip_for_proxy() -> bool {
    for name in [
        "http_proxy",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ] {
        if std::env::var_os(name).is_some() {
            eprintln!("skipping: {name} is set, and minreq would send loopback requests to it");
            return true;
        }
    }
    false
}

/// Writes the secret file into the folder of the users file and turns the intake on.
fn enable_intake(config: &mut Config) {
    let secret_file = config.users_file.parent().unwrap().join("intake.secret");
    fs::write(&secret_file, SECRET).unwrap();
    config.intake.secret_file = Some(secret_file);
}

/// Starts a viewer with only the intake on, with logs in `dir/logs` and state in `dir`.
fn start_viewer(dir: &Path) -> ViewerServer {
    let mut config = Config::with_defaults(
        "127.0.0.1:0".parse().unwrap(),
        dir.join("logs"),
        dir.join("users.toml"),
    );
    enable_intake(&mut config);
    ViewerServer::start(config).unwrap()
}

fn secret() -> Secret {
    Secret::new(SECRET.trim_end().as_bytes().to_vec()).unwrap()
}

fn line(time: &str, trail: &str) -> String {
    format!("\"{time}\" remote-pi 10.0.0.5 5000 10.0.0.1 53 UDP DNS {trail} malware (static)\n")
}

fn batch(first_sequence: u64, events: Vec<String>) -> Batch {
    Batch {
        sensor: "remote-pi".to_string(),
        stream: StreamId(0x9f1c_0a3e_5b7d_2468),
        first_sequence,
        events,
    }
}

/// POSTs `body` with `signature` and returns the status and body.
fn post(addr: SocketAddr, body: &[u8], signature: Option<&str>) -> (u16, String) {
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(signature) = signature {
        headers.push((SIGNATURE_HEADER, signature));
    }
    let reply = request(
        addr,
        "POST",
        "/api/intake",
        &headers,
        std::str::from_utf8(body).unwrap(),
    );
    (reply.status, reply.body)
}

fn post_signed(addr: SocketAddr, batch: &Batch) -> (u16, String) {
    let body = batch.encode();
    post(addr, &body, Some(&secret().sign(&body)))
}

fn log_file(dir: &Path, date: &str) -> PathBuf {
    dir.join("logs").join(format!("{date}.log"))
}

fn read_or_empty(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn delivered_events_reach_api() {
    if skip_for_proxy() {
        return;
    }
    let viewer = TestViewer::start_with(enable_intake);
    let yesterday = day(-1);
    let today = day(0);
    let mut events = Vec::new();
    for minute in 0..30 {
        events.push(event(
            yesterday,
            23,
            minute,
            "10.0.0.5",
            "192.0.2.1",
            "a.test",
            "x",
        ));
        events.push(event(
            today,
            1,
            minute,
            "10.0.0.6",
            "192.0.2.2",
            "b.test",
            "y",
        ));
    }

    let spool = tempfile::tempdir().unwrap();
    let secret_file = spool.path().join("secret");
    fs::write(&secret_file, SECRET).unwrap();
    let config = DeliveryConfig {
        url: format!("http://{}/api/intake", viewer.addr),
        secret_file,
        spool_dir: spool.path().join("spool"),
        spool_max_mib: 64,
        sensor_id: Some("remote-pi".to_string()),
        batch_max: Some(25),
    };
    let context = Context {
        sensor_name: "remote-pi".to_string(),
    };
    let mut output = DeliveryOutput::start(&config, &context).unwrap();
    for event in &events {
        output.send(event);
    }
    output.shutdown(DEADLINE);

    let yesterday_file = viewer.log_dir().join(format!("{yesterday}.log"));
    let today_file = viewer.log_dir().join(format!("{today}.log"));
    let yesterday_lines = read_or_empty(&yesterday_file).lines().count();
    let today_lines = read_or_empty(&today_file).lines().count();
    assert_eq!(yesterday_lines, 30);
    assert_eq!(today_lines, 30);
    assert_eq!(output.stats().sent, 60);

    let session = viewer.login("admin");
    let path = format!("/api/events?from={yesterday}&to={today}&limit=1000");
    // The default view returns a null total until the background index has counted the days.
    let mut page = session.json(&path);
    for _ in 0..200 {
        if !page["total"].is_null() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        page = session.json(&path);
    }
    assert_eq!(page["total"], 60);
    let trails: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["trail"].as_str().unwrap())
        .collect();
    assert_eq!(
        trails.iter().filter(|trail| **trail == "a.test").count(),
        30
    );
    assert!(page["events"]
        .as_array()
        .unwrap()
        .iter()
        .all(|event| event["sensor"] == "edge1"));
}

#[test]
fn bad_signature_gets_401() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_viewer(dir.path());
    let addr = server.addrs()[0];
    let body = batch(1, vec![line("2026-03-01 10:00:00.000000", "a.test")]).encode();
    let wrong = Secret::new(b"another secret of 32 bytes here!".to_vec()).unwrap();

    let (missing, _) = post(addr, &body, None);
    let (forged, message) = post(addr, &body, Some(&wrong.sign(&body)));
    let (garbled, _) = post(addr, &body, Some("sha256=zz"));

    assert_eq!(missing, 401);
    assert_eq!(forged, 401);
    assert!(message.contains("does not match"), "{message}");
    assert_eq!(garbled, 401);
    assert!(read_or_empty(&log_file(dir.path(), "2026-03-01")).is_empty());
    let stats = server.app().intake.as_ref().unwrap().stats();
    assert_eq!(stats.rejected_signature, 3);
    assert_eq!(stats.events_written, 0);
    server.stop();
}

#[test]
fn malformed_batch_gets_400() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_viewer(dir.path());
    let addr = server.addrs()[0];
    let bodies = [
        b"not json".to_vec(),
        batch(1, vec!["no fields here\n".to_string()]).encode(),
        batch(0, vec![line("2026-03-01 10:00:00.000000", "a.test")]).encode(),
    ];

    for body in &bodies {
        let (status, message) = post(addr, body, Some(&secret().sign(body)));
        assert_eq!(status, 400, "{message}");
    }

    assert!(read_or_empty(&log_file(dir.path(), "2026-03-01")).is_empty());
    let stats = server.app().intake.as_ref().unwrap().stats();
    assert_eq!(stats.rejected_malformed, 3);
    server.stop();
}

#[test]
fn replayed_batch_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_viewer(dir.path());
    let addr = server.addrs()[0];
    let first = batch(
        1,
        vec![
            line("2026-03-01 10:00:00.000000", "a.test"),
            line("2026-03-01 10:00:01.000000", "b.test"),
        ],
    );

    let (status, body) = post_signed(addr, &first);
    assert_eq!((status, body.trim()), (200, "{\"acked\":2}"));
    let stored = fs::read_to_string(log_file(dir.path(), "2026-03-01")).unwrap();
    assert_eq!(stored, first.events.concat());

    let (status, body) = post_signed(addr, &first);
    assert_eq!((status, body.trim()), (200, "{\"acked\":2}"));
    let overlapping = batch(
        2,
        vec![
            line("2026-03-01 10:00:01.000000", "b.test"),
            line("2026-03-01 10:00:02.000000", "c.test"),
        ],
    );
    let (status, body) = post_signed(addr, &overlapping);
    assert_eq!((status, body.trim()), (200, "{\"acked\":3}"));

    let after = fs::read_to_string(log_file(dir.path(), "2026-03-01")).unwrap();
    assert_eq!(after, format!("{stored}{}", overlapping.events[1]));
    let stats = server.app().intake.as_ref().unwrap().stats();
    assert_eq!(stats.events_written, 3);
    assert_eq!(stats.events_duplicate, 3);
    server.stop();
}

#[test]
fn restart_keeps_dedup_state() {
    let dir = tempfile::tempdir().unwrap();
    let sent = batch(1, vec![line("2026-03-01 10:00:00.000000", "a.test")]);

    let server = start_viewer(dir.path());
    assert_eq!(post_signed(server.addrs()[0], &sent).0, 200);
    server.stop();
    let stored = fs::read_to_string(log_file(dir.path(), "2026-03-01")).unwrap();

    let server = start_viewer(dir.path());
    let (status, body) = post_signed(server.addrs()[0], &sent);
    assert_eq!((status, body.trim()), (200, "{\"acked\":1}"));
    let after = fs::read_to_string(log_file(dir.path(), "2026-03-01")).unwrap();
    assert_eq!(after, stored);
    assert!(dir.path().join("intake-state.json").is_file());
    server.stop();
}

#[test]
fn intake_off_returns_404() {
    let viewer = TestViewer::start();
    let body = batch(1, vec![line("2026-03-01 10:00:00.000000", "a.test")]).encode();

    let (status, message) = post(viewer.addr, &body, Some(&secret().sign(&body)));
    let get = request(viewer.addr, "GET", "/api/intake", &[], "");

    assert_eq!(status, 404);
    assert!(message.contains("secret_file"), "{message}");
    assert_eq!(get.status, 405);
    assert!(!viewer.log_dir().join("2026-03-01.log").exists());
}
