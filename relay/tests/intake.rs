//! The intake server over real HTTP on 127.0.0.1: authentication, validation, deduplication,
//! its state across restarts and slow clients.

mod common;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};

use common::{batch, free_addr, post_batch, post_raw, secret, start_server, Written, DEADLINE};
use trailwatch_relay::{serve, Batch, Intake, Secret, StreamId, INTAKE_WORKERS, MAX_BODY_BYTES};

const STREAM: StreamId = StreamId(0x0123_4567_89ab_cdef);

fn setup() -> Option<(tempfile::TempDir, Written)> {
    if common::skip_for_proxy() {
        return None;
    }
    Some((
        tempfile::tempdir().unwrap(),
        Arc::new(Mutex::new(Vec::new())),
    ))
}

#[test]
fn intake_accepts_signed_batch() {
    let Some((dir, written)) = setup() else {
        return;
    };
    let server = start_server(free_addr(), &dir.path().join("intake.json"), &written);

    let (status, text) = post_batch(server.local_addr(), &batch(STREAM, 1, 3));

    assert_eq!(status, 200, "{text}");
    assert_eq!(text.trim(), r#"{"acked":3}"#);
    assert_eq!(*written.lock().unwrap(), batch(STREAM, 1, 3).events);
    assert_eq!(server.stats().events_written, 3);
}

#[test]
fn missing_signature_is_rejected() {
    let Some((dir, written)) = setup() else {
        return;
    };
    let server = start_server(free_addr(), &dir.path().join("intake.json"), &written);
    let body = batch(STREAM, 1, 2).encode();

    let (status, text) = post_raw(server.local_addr(), &body, None);

    assert_eq!(status, 401, "{text}");
    assert!(text.contains("missing"), "{text}");
    assert!(written.lock().unwrap().is_empty());
    assert_eq!(server.stats().rejected_signature, 1);
    assert!(!dir.path().join("intake.json").exists());
}

#[test]
fn wrong_secret_is_rejected() {
    let Some((dir, written)) = setup() else {
        return;
    };
    let server = start_server(free_addr(), &dir.path().join("intake.json"), &written);
    let body = batch(STREAM, 1, 2).encode();
    let other = Secret::new(b"a different secret, 16+ bytes".to_vec()).unwrap();

    let (status, text) = post_raw(server.local_addr(), &body, Some(&other.sign(&body)));

    assert_eq!(status, 401, "{text}");
    assert!(written.lock().unwrap().is_empty());
    assert_eq!(server.stats().rejected_signature, 1);
}

#[test]
fn tampered_body_is_rejected() {
    let Some((dir, written)) = setup() else {
        return;
    };
    let server = start_server(free_addr(), &dir.path().join("intake.json"), &written);
    let body = batch(STREAM, 1, 2).encode();
    let signature = secret().sign(&body);
    let tampered = String::from_utf8(body)
        .unwrap()
        .replace("event-1.example", "event-9.example");

    let (status, text) = post_raw(server.local_addr(), tampered.as_bytes(), Some(&signature));

    assert_eq!(status, 401, "{text}");
    assert!(text.contains("does not match"), "{text}");
    assert!(written.lock().unwrap().is_empty());
}

#[test]
fn malformed_batch_is_rejected() {
    let Some((dir, written)) = setup() else {
        return;
    };
    let server = start_server(free_addr(), &dir.path().join("intake.json"), &written);
    let mut bad_line = batch(STREAM, 1, 2);
    bad_line.events[1] = "not a log line\n".to_string();
    let bodies = [
        b"{\"version\":1}".to_vec(),
        b"[]".to_vec(),
        bad_line.encode(),
    ];

    for body in &bodies {
        let (status, text) = post_raw(server.local_addr(), body, Some(&secret().sign(body)));
        assert_eq!(status, 400, "{text}");
    }

    assert!(written.lock().unwrap().is_empty());
    assert_eq!(server.stats().rejected_malformed, 3);
}

#[test]
fn oversize_body_is_rejected() {
    let Some((dir, written)) = setup() else {
        return;
    };
    let server = start_server(free_addr(), &dir.path().join("intake.json"), &written);
    let body = vec![b' '; MAX_BODY_BYTES + 1];

    let (status, text) = post_raw(server.local_addr(), &body, Some(&secret().sign(&body)));

    assert_eq!(status, 413, "{text}");
    assert_eq!(server.stats().rejected_malformed, 1);
}

#[test]
fn wrong_path_and_method_rejected() {
    let Some((dir, written)) = setup() else {
        return;
    };
    let server = start_server(free_addr(), &dir.path().join("intake.json"), &written);
    let addr = server.local_addr();

    let other_path = minreq::post(format!("http://{addr}/api/other"))
        .with_timeout(30)
        .send()
        .unwrap();
    let get = minreq::get(format!("http://{addr}/api/intake"))
        .with_timeout(30)
        .send()
        .unwrap();

    assert_eq!(other_path.status_code, 404);
    assert_eq!(get.status_code, 405);
    assert_eq!(get.header("allow"), Some("POST"));
}

#[test]
fn replayed_batch_writes_nothing() {
    let Some((dir, written)) = setup() else {
        return;
    };
    let server = start_server(free_addr(), &dir.path().join("intake.json"), &written);
    let addr = server.local_addr();

    let first = post_batch(addr, &batch(STREAM, 1, 5));
    let replay = post_batch(addr, &batch(STREAM, 1, 5));
    let overlap = post_batch(addr, &batch(STREAM, 3, 5));

    assert_eq!(first.0, 200);
    assert_eq!(replay, (200, "{\"acked\":5}\n".to_string()));
    assert_eq!(overlap, (200, "{\"acked\":7}\n".to_string()));
    let indexes: Vec<u64> = written
        .lock()
        .unwrap()
        .iter()
        .map(|line| common::index_of(line))
        .collect();
    assert_eq!(indexes, [1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(server.stats().events_duplicate, 5 + 3);
}

#[test]
fn batch_ending_at_max_sequence() {
    let Some((dir, written)) = setup() else {
        return;
    };
    let server = start_server(free_addr(), &dir.path().join("intake.json"), &written);
    let addr = server.local_addr();
    let last = Batch {
        sensor: "pi".to_string(),
        stream: STREAM,
        first_sequence: u64::MAX,
        events: vec![common::line(1)],
    };

    let first = post_batch(addr, &last);
    let replay = post_batch(addr, &last);

    let acked = format!("{{\"acked\":{}}}\n", u64::MAX);
    assert_eq!(first, (200, acked.clone()));
    assert_eq!(replay, (200, acked));
    assert_eq!(written.lock().unwrap().len(), 1);
    assert_eq!(server.stats().events_duplicate, 1);
    assert_eq!(server.stats().events_missing, u64::MAX - 1);
}

#[test]
fn receiver_restart_keeps_dedup_state() {
    let Some((dir, written)) = setup() else {
        return;
    };
    let state = dir.path().join("intake.json");
    let addr = free_addr();
    let server = start_server(addr, &state, &written);
    assert_eq!(post_batch(addr, &batch(STREAM, 1, 4)).0, 200);
    server.stop();

    let server = start_server(addr, &state, &written);
    let replay = post_batch(addr, &batch(STREAM, 1, 4));
    let next = post_batch(addr, &batch(STREAM, 5, 1));

    assert_eq!(replay, (200, "{\"acked\":4}\n".to_string()));
    assert_eq!(next, (200, "{\"acked\":5}\n".to_string()));
    assert_eq!(written.lock().unwrap().len(), 5);
    assert_eq!(server.stats().events_duplicate, 4);
}

#[test]
fn new_stream_restarts_at_one() {
    let Some((dir, written)) = setup() else {
        return;
    };
    let server = start_server(free_addr(), &dir.path().join("intake.json"), &written);
    let addr = server.local_addr();
    assert_eq!(post_batch(addr, &batch(STREAM, 1, 3)).0, 200);

    // A wiped spool starts a new stream whose sequence numbers begin at 1 again.
    let wiped = post_batch(addr, &batch(StreamId(42), 1, 2));

    assert_eq!(wiped, (200, "{\"acked\":2}\n".to_string()));
    assert_eq!(written.lock().unwrap().len(), 5);
    assert_eq!(server.stats().streams, 2);
}

#[test]
fn gap_is_counted_and_accepted() {
    let Some((dir, written)) = setup() else {
        return;
    };
    let server = start_server(free_addr(), &dir.path().join("intake.json"), &written);
    let addr = server.local_addr();
    assert_eq!(post_batch(addr, &batch(STREAM, 1, 3)).0, 200);

    let after_gap = post_batch(addr, &batch(STREAM, 10, 2));

    assert_eq!(after_gap, (200, "{\"acked\":11}\n".to_string()));
    assert_eq!(server.stats().events_missing, 6);
    assert_eq!(written.lock().unwrap().len(), 5);
}

#[test]
fn failed_write_commits_nothing() {
    if common::skip_for_proxy() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("intake.json");
    let fail_next = Arc::new(Mutex::new(true));
    let written: Written = Arc::new(Mutex::new(Vec::new()));
    let intake = Intake::open(secret(), &state).unwrap();
    let server = serve("127.0.0.1:0", "/api/intake", intake, {
        let fail_next = Arc::clone(&fail_next);
        let written = Arc::clone(&written);
        move |lines: &[String]| {
            if std::mem::replace(&mut *fail_next.lock().unwrap(), false) {
                return Err(io::Error::other("disk unplugged"));
            }
            written.lock().unwrap().extend_from_slice(lines);
            Ok(())
        }
    })
    .unwrap();
    let addr = server.local_addr();

    let failed = post_batch(addr, &batch(STREAM, 1, 3));
    let retried = post_batch(addr, &batch(STREAM, 1, 3));

    assert_eq!(failed.0, 500, "{}", failed.1);
    assert!(failed.1.contains("disk unplugged"), "{}", failed.1);
    assert_eq!(retried, (200, "{\"acked\":3}\n".to_string()));
    assert_eq!(written.lock().unwrap().len(), 3);
    assert_eq!(server.stats().failed, 1);
}

#[test]
fn full_state_rejects_new_stream() {
    if common::skip_for_proxy() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let intake =
        Intake::open_with_max_streams(secret(), &dir.path().join("intake.json"), 1).unwrap();
    let server = serve("127.0.0.1:0", "/api/intake", intake, |_: &[String]| Ok(())).unwrap();
    let addr = server.local_addr();

    let first = post_batch(addr, &batch(STREAM, 1, 1));
    let known = post_batch(addr, &batch(STREAM, 2, 1));
    let new = post_batch(addr, &batch(StreamId(7), 1, 1));

    assert_eq!(first.0, 200);
    assert_eq!(known.0, 200);
    assert_eq!(new.0, 503, "{}", new.1);
    assert!(new.1.contains("maximum of 1 streams"), "{}", new.1);
    assert_eq!(server.stats().rejected_full, 1);
}

/// Opens a connection that announces a 900,000-byte body, waits until a worker starts reading
/// it and then sends one byte of it. tiny_http sends `100 Continue` when the handler starts
/// to read the body of a request with `Expect: 100-continue`.
fn start_slow_request(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    stream
        .write_all(
            b"POST /api/intake HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 900000\r\n\
              Expect: 100-continue\r\n\r\n",
        )
        .unwrap();

    let mut response = Vec::new();
    let mut byte = [0u8; 1];
    while !response.ends_with(b"\r\n\r\n") {
        let read = stream.read(&mut byte).expect("100 Continue from a worker");
        assert_eq!(read, 1, "connection closed before 100 Continue");
        response.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 100"), "{text}");

    stream.write_all(b"{").unwrap();
    stream
}

#[test]
fn slow_bodies_do_not_block_batches() {
    let Some((dir, written)) = setup() else {
        return;
    };
    let server = start_server(free_addr(), &dir.path().join("intake.json"), &written);
    let addr = server.local_addr();

    // Every worker but one is busy reading a body that does not arrive.
    let slow: Vec<TcpStream> = (1..INTAKE_WORKERS)
        .map(|_| start_slow_request(addr))
        .collect();
    let (status, text) = post_batch(addr, &batch(STREAM, 1, 3));

    assert_eq!(status, 200, "{text}");
    assert_eq!(*written.lock().unwrap(), batch(STREAM, 1, 3).events);
    for mut stream in slow {
        // No response yet: the slow requests still held their workers during the batch.
        stream.set_nonblocking(true).unwrap();
        let pending = stream.read(&mut [0u8; 64]).unwrap_err();
        assert_eq!(pending.kind(), io::ErrorKind::WouldBlock);
    }
    assert_eq!(server.stats().events_written, 3);
}
