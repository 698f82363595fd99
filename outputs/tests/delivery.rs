//! The delivery output end to end: events through `DeliveryOutput` into a real intake server
//! on 127.0.0.1, across a stop and restart of the server, and its configuration errors.

use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use trailwatch_event::{Event, Proto, Timestamp, TrailType};
use trailwatch_outputs::delivery::{DeliveryConfig, DeliveryOutput};
use trailwatch_outputs::{Context, Output};
use trailwatch_relay::{serve, Intake, IntakeServer, Secret};

/// Generous limit for conditions that normally hold within seconds.
const DEADLINE: Duration = Duration::from_secs(120);

const SECRET: &str = "delivery test secret, 32 bytes!\n";

/// Returns true, after printing why, when a proxy variable is set. minreq 3.0 sends requests
/// through such a proxy and has no `no_proxy` list, so these loopback tests would reach
/// another host.
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

fn context() -> Context {
    Context {
        sensor_name: "office-pi".to_string(),
    }
}

/// Returns event number `index`: its trail and packet time both carry the index.
fn event(index: u64) -> Event {
    Event {
        time: Timestamp::new(
            1_772_000_000 + index as i64,
            1_000 * index as u32 % 1_000_000_000,
        ),
        sensor: Arc::from("office-pi"),
        src_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5)),
        src_port: Some(40_000 + (index % 20_000) as u16),
        dst_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
        dst_port: Some(53),
        proto: Proto::Udp,
        trail_type: TrailType::Dns,
        trail: format!("event-{index}.example"),
        info: "malware \"quoted\"".to_string(),
        reference: "(static)".to_string(),
        repeats: 0,
    }
}

fn config(dir: &Path, addr: SocketAddr) -> DeliveryConfig {
    let secret_file = dir.join("delivery.secret");
    fs::write(&secret_file, SECRET).unwrap();
    DeliveryConfig {
        url: format!("http://{addr}/api/intake"),
        secret_file,
        spool_dir: dir.join("spool"),
        spool_max_mib: 64,
        sensor_id: None,
        batch_max: Some(100),
    }
}

type Written = Arc<Mutex<Vec<String>>>;

/// Starts an intake server on `addr`, retrying the bind while a stopped server's port is
/// still in use.
fn start_server(addr: SocketAddr, state: &Path, written: &Written) -> IntakeServer {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let secret = Secret::new(SECRET.trim_end().as_bytes().to_vec()).unwrap();
        let intake = Intake::open(secret, state).unwrap();
        let sink = Arc::clone(written);
        let result = serve(addr, "/api/intake", intake, move |lines: &[String]| {
            sink.lock().unwrap().extend_from_slice(lines);
            Ok::<(), io::Error>(())
        });
        match result {
            Ok(server) => return server,
            Err(error) if Instant::now() < deadline => {
                eprintln!("binding {addr} failed, retrying: {error}");
                thread::sleep(Duration::from_millis(100));
            }
            Err(error) => panic!("binding {addr} failed: {error}"),
        }
    }
}

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn outage_mid_stream_delivers_exactly_once() {
    if skip_for_proxy() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let state = dir.path().join("intake.json");
    let written: Written = Arc::new(Mutex::new(Vec::new()));
    let mut server = Some(start_server(addr, &state, &written));
    let mut output = DeliveryOutput::start(&config(dir.path(), addr), &context()).unwrap();

    // 3000 events at about 300 per second: 30 events every 100 ms. The server is down from
    // the 1000th to the 2000th event, so for about 3.5 s.
    let total = 3000;
    let mut restarted_server = None;
    let mut pending_at_restart = 0;
    for index in 1..=total {
        output.send(&event(index));
        if index % 30 == 0 {
            thread::sleep(Duration::from_millis(100));
        }
        if index == 1000 {
            server.take().unwrap().stop();
        }
        if index == 2000 {
            pending_at_restart = output.stats().pending;
            restarted_server = Some(start_server(addr, &state, &written));
        }
    }
    wait_until("every event acknowledged", || output.stats().pending == 0);
    output.shutdown(DEADLINE);

    let stats = output.stats();
    // Nothing could acknowledge the 1000 events sent while the server was down.
    assert!(pending_at_restart >= 1000, "{pending_at_restart} pending");
    let expected: Vec<String> = (1..=total)
        .map(|index| event(index).to_log_line())
        .collect();
    let written = written.lock().unwrap();
    assert_eq!(written.len(), expected.len(), "events written");
    let first_wrong = written
        .iter()
        .zip(&expected)
        .position(|(got, want)| got != want);
    assert_eq!(first_wrong, None, "first event out of order or changed");
    assert_eq!(stats.sent, total);
    assert_eq!(stats.dropped, 0);
    assert_eq!(stats.pending, 0);
    let restarted = restarted_server.unwrap().stats();
    eprintln!("pending at restart: {pending_at_restart}, restarted server: {restarted:?}");
    assert!(restarted.events_written >= 1000, "{restarted:?}");
}

#[test]
fn restart_over_same_spool_resumes() {
    if skip_for_proxy() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let state = dir.path().join("intake.json");
    let written: Written = Arc::new(Mutex::new(Vec::new()));
    let config = config(dir.path(), addr);

    // Nothing listens on `addr` yet, so the first output only spools.
    let mut first = DeliveryOutput::start(&config, &context()).unwrap();
    for index in 1..=200 {
        first.send(&event(index));
    }
    first.shutdown(Duration::ZERO);
    assert_eq!(first.stats().pending, 200);
    drop(first);

    let server = start_server(addr, &state, &written);
    let mut second = DeliveryOutput::start(&config, &context()).unwrap();
    for index in 201..=300 {
        second.send(&event(index));
    }
    wait_until("every event acknowledged", || second.stats().pending == 0);
    second.shutdown(DEADLINE);

    let expected: Vec<String> = (1..=300).map(|index| event(index).to_log_line()).collect();
    assert_eq!(*written.lock().unwrap(), expected);
    assert_eq!(second.stats().sent, 300);
    assert_eq!(server.stats().events_duplicate, 0);
}

#[test]
fn restart_before_drop_resumes() {
    if skip_for_proxy() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let written: Written = Arc::new(Mutex::new(Vec::new()));
    let server = start_server(free_addr(), &dir.path().join("intake.json"), &written);
    let config = config(dir.path(), server.local_addr());

    let mut first = DeliveryOutput::start(&config, &context()).unwrap();
    for index in 1..=50 {
        first.send(&event(index));
    }
    first.shutdown(DEADLINE);

    // A configuration reload starts the new output while the old one still exists.
    let mut second = DeliveryOutput::start(&config, &context()).unwrap();
    for index in 51..=100 {
        second.send(&event(index));
    }
    wait_until("every event acknowledged", || second.stats().pending == 0);
    second.shutdown(DEADLINE);
    let mut third = DeliveryOutput::start(&config, &context()).unwrap();
    third.shutdown(DEADLINE);

    let expected: Vec<String> = (1..=100).map(|index| event(index).to_log_line()).collect();
    assert_eq!(*written.lock().unwrap(), expected);
    assert_eq!(first.stats().sent + second.stats().sent, 100);
    assert_eq!(server.stats().streams, 1);
    assert_eq!(server.stats().events_duplicate, 0);
}

#[test]
fn wiped_spool_is_accepted_again() {
    if skip_for_proxy() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let written: Written = Arc::new(Mutex::new(Vec::new()));
    let server = start_server(free_addr(), &dir.path().join("intake.json"), &written);
    let config = config(dir.path(), server.local_addr());

    let mut first = DeliveryOutput::start(&config, &context()).unwrap();
    for index in 1..=50 {
        first.send(&event(index));
    }
    wait_until("the first 50 events", || first.stats().pending == 0);
    first.shutdown(DEADLINE);
    drop(first);
    fs::remove_dir_all(&config.spool_dir).unwrap();

    // The new spool numbers its events from 1 again, under a new stream id.
    let mut second = DeliveryOutput::start(&config, &context()).unwrap();
    for index in 51..=100 {
        second.send(&event(index));
    }
    wait_until("the next 50 events", || second.stats().pending == 0);
    second.shutdown(DEADLINE);

    let expected: Vec<String> = (1..=100).map(|index| event(index).to_log_line()).collect();
    assert_eq!(*written.lock().unwrap(), expected);
    assert_eq!(server.stats().streams, 2);
    assert_eq!(server.stats().events_duplicate, 0);
}

#[test]
fn full_spool_counts_dropped_events() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on the address, so no event leaves the 1 MiB spool.
    let config = DeliveryConfig {
        spool_max_mib: 1,
        ..config(dir.path(), free_addr())
    };
    let mut output = DeliveryOutput::start(&config, &context()).unwrap();
    let total = 20_000;

    for index in 1..=total {
        output.send(&event(index));
    }
    let stats = output.stats();
    output.shutdown(Duration::ZERO);

    assert!(stats.dropped > 0, "{stats:?}");
    assert_eq!(stats.dropped + stats.pending, total);
    assert_eq!(stats.sent, 0);
}

#[test]
fn secret_file_errors_name_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path(), free_addr());
    let path = config.secret_file.display().to_string();

    let cases: [(Option<&str>, &str); 3] = [
        (None, "failed to read"),
        (Some("\n"), "empty"),
        (Some("only15bytes....\n"), "15 bytes"),
    ];
    for (content, expected) in cases {
        match content {
            Some(content) => fs::write(&config.secret_file, content).unwrap(),
            None => config.secret_file = dir.path().join("missing.secret"),
        }
        let error = DeliveryOutput::start(&config, &context()).err().unwrap();
        let message = error.to_string();
        assert_eq!(error.key, "delivery.secret_file");
        assert!(message.contains(expected), "{message}");
        assert!(
            message.contains(&config.secret_file.display().to_string()),
            "{message}"
        );
        config.secret_file = path.clone().into();
    }
}

#[test]
fn invalid_values_name_their_key() {
    let dir = tempfile::tempdir().unwrap();
    let good = config(dir.path(), free_addr());
    let cases = [
        (
            DeliveryConfig {
                url: "viewer:8338".to_string(),
                ..good.clone()
            },
            "delivery.url",
        ),
        (
            DeliveryConfig {
                spool_max_mib: 0,
                ..good.clone()
            },
            "delivery.spool_max_mib",
        ),
        (
            DeliveryConfig {
                batch_max: Some(1001),
                ..good.clone()
            },
            "delivery.batch_max",
        ),
        (
            DeliveryConfig {
                sensor_id: Some("office pi".to_string()),
                ..good.clone()
            },
            "delivery.sensor_id",
        ),
        (
            DeliveryConfig {
                spool_dir: good.secret_file.join("spool"),
                ..good.clone()
            },
            "delivery.spool_dir",
        ),
    ];

    for (config, key) in cases {
        let error = DeliveryOutput::start(&config, &context()).err().unwrap();
        assert_eq!(error.key, key, "{error}");
    }
}

#[test]
fn default_sensor_id_must_be_valid() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), free_addr());
    let context = Context {
        sensor_name: "office pi".to_string(),
    };

    let error = DeliveryOutput::start(&config, &context).err().unwrap();

    assert_eq!(error.key, "delivery.sensor_id");
    assert!(error.reason.contains("sensor name"), "{error}");
}

#[test]
fn damaged_state_moves_spool_aside() {
    if skip_for_proxy() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let written: Written = Arc::new(Mutex::new(Vec::new()));
    let config = config(dir.path(), addr);

    // Nothing listens yet, so the first output only spools, and then its state is damaged.
    let mut first = DeliveryOutput::start(&config, &context()).unwrap();
    for index in 1..=20 {
        first.send(&event(index));
    }
    first.shutdown(Duration::ZERO);
    fs::write(config.spool_dir.join("state.json"), "{\"version\":1,").unwrap();

    let server = start_server(addr, &dir.path().join("intake.json"), &written);
    let mut second = DeliveryOutput::start(&config, &context()).unwrap();
    for index in 21..=30 {
        second.send(&event(index));
    }
    wait_until("the new spool's events", || second.stats().pending == 0);
    second.shutdown(DEADLINE);

    let aside: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("spool.damaged-")
        })
        .collect();
    assert_eq!(aside.len(), 1, "one folder set aside");
    let aside = &aside[0];
    assert_eq!(
        fs::read_to_string(aside.join("state.json")).unwrap(),
        "{\"version\":1,"
    );
    let expected: Vec<String> = (21..=30).map(|index| event(index).to_log_line()).collect();
    assert_eq!(*written.lock().unwrap(), expected);
    assert_eq!(second.stats().sent, 10);

    // The recovery that the error message describes delivers the events set aside.
    fs::remove_file(aside.join("state.json")).unwrap();
    fs::remove_dir_all(&config.spool_dir).unwrap();
    fs::rename(aside, &config.spool_dir).unwrap();
    let mut third = DeliveryOutput::start(&config, &context()).unwrap();
    wait_until("the recovered events", || third.stats().pending == 0);
    third.shutdown(DEADLINE);

    let mut expected: Vec<String> = (21..=30).map(|index| event(index).to_log_line()).collect();
    expected.extend((1..=20).map(|index| event(index).to_log_line()));
    assert_eq!(*written.lock().unwrap(), expected);
    assert_eq!(third.stats().sent, 20);
    assert_eq!(server.stats().streams, 2);
}
