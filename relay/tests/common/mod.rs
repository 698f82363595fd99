//! Helpers shared by the relay integration tests: log lines, a collecting intake server on
//! 127.0.0.1, raw signed requests and condition waits.

#![allow(dead_code)]

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use trailwatch_relay::{serve, Batch, Intake, IntakeServer, Secret, StreamId, SIGNATURE_HEADER};

/// Generous limit for conditions that normally hold within a second.
pub const DEADLINE: Duration = Duration::from_secs(60);

pub const SECRET: &[u8] = b"test secret of thirty-two bytes!";

pub fn secret() -> Secret {
    Secret::new(SECRET.to_vec()).unwrap()
}

/// Returns true, after printing why, when a proxy variable is set. minreq 3.0 sends requests
/// through such a proxy and has no `no_proxy` list, so these loopback tests would reach
/// another host.
pub fn skip_for_proxy() -> bool {
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

/// Returns a valid Maltrail log line whose trail names `index`.
pub fn line(index: u64) -> String {
    format!(
        "\"2026-03-01 10:00:00.000000\" pi 10.0.0.5 5000 10.0.0.1 53 UDP DNS \
         event-{index}.example malware (static)\n"
    )
}

/// Returns the index that [`line`] put into `line`.
pub fn index_of(line: &str) -> u64 {
    let start = line.find("event-").expect("a test line") + "event-".len();
    let end = line[start..].find('.').expect("a test line") + start;
    line[start..end].parse().expect("a test line index")
}

/// Lines written by an intake server, in order.
pub type Written = Arc<Mutex<Vec<String>>>;

/// Starts an intake server on `addr` with its state in `state`, appending written lines to
/// `written`. Retries the bind for a while, because the port of a server that just stopped may
/// not be free yet.
pub fn start_server(addr: SocketAddr, state: &Path, written: &Written) -> IntakeServer {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let sink = Arc::clone(written);
        let intake = Intake::open(secret(), state).unwrap();
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

/// Returns a free loopback port, by binding port 0 and closing the socket again.
pub fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Posts `body` to the intake at `addr` with `signature` (or none) and returns the status and
/// the response text.
pub fn post_raw(addr: SocketAddr, body: &[u8], signature: Option<&str>) -> (u16, String) {
    let mut request = minreq::post(format!("http://{addr}/api/intake"))
        .with_body(body.to_vec())
        .with_timeout(30);
    if let Some(signature) = signature {
        request = request.with_header(SIGNATURE_HEADER, signature);
    }
    let response = request.send().unwrap();
    (
        response.status_code,
        response.as_str().unwrap_or("").to_string(),
    )
}

/// Posts a batch signed with the test secret.
pub fn post_batch(addr: SocketAddr, batch: &Batch) -> (u16, String) {
    let body = batch.encode();
    post_raw(addr, &body, Some(&secret().sign(&body)))
}

/// Returns a batch of sensor `pi` with the lines of `first..first + count`.
pub fn batch(stream: StreamId, first: u64, count: u64) -> Batch {
    Batch {
        sensor: "pi".to_string(),
        stream,
        first_sequence: first,
        events: (first..first + count).map(line).collect(),
    }
}

/// Polls `condition` every 20 ms until it holds, panicking with `what` after [`DEADLINE`].
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(20));
    }
}
