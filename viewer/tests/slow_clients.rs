//! Clients that send requests a byte at a time, go silent, or stop reading, against a real
//! viewer on loopback.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::{day, event, ping, TestViewer};
use nix::sys::socket::{setsockopt, sockopt};
use trailwatch_viewer::http::connection::ConnectionTimeouts;
use trailwatch_viewer::http::server::WORKERS_PER_LISTENER;

/// Opens a connection and sends the head of a request whose 8000-byte body is then withheld.
fn start_slow_request(addr: SocketAddr, method: &str, path: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 8000\r\n\r\nu"
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream
}

/// Waits until tiny_http has taken up the connections just opened. Its thread pool queues a
/// connection that arrives while idle threads have not yet woken for earlier ones. A queued
/// connection waits until a thread is free, so a request sent in the same burst as
/// long-lived connections would wait for them.
fn settle_tiny_http_pool() {
    thread::sleep(Duration::from_secs(1));
}

/// Sends one byte on every stream every `interval` until the returned flag is set.
fn drip(
    mut streams: Vec<TcpStream>,
    interval: Duration,
) -> (Arc<AtomicBool>, thread::JoinHandle<()>) {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let dripper = thread::spawn(move || {
        while !flag.load(Ordering::Relaxed) {
            for stream in &mut streams {
                let _ = stream.write_all(b"a");
            }
            thread::sleep(interval);
        }
    });
    (stop, dripper)
}

#[test]
fn byte_dripping_bodies_block_nobody() {
    let viewer = TestViewer::start();

    // One more slow client than the server has workers, on the login form and on a route
    // whose handler never reads the body (dropping the request reads the rest).
    let mut slow = Vec::new();
    for _ in 0..=WORKERS_PER_LISTENER {
        slow.push(start_slow_request(viewer.addr, "POST", "/login"));
        slow.push(start_slow_request(viewer.addr, "GET", "/ping"));
    }
    // A byte every 2 s stays under the 10 s read timeout, so only serving these requests off
    // the worker threads lets the ping through before the 30 s body deadline.
    let (stop, dripper) = drip(slow, Duration::from_secs(2));
    settle_tiny_http_pool();

    let started = Instant::now();
    let reply = ping(viewer.addr);
    let waited = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    dripper.join().unwrap();

    let reply = reply.expect("GET /ping got no response while slow clients were connected");
    assert!(reply.starts_with("HTTP/1.1 200"), "response: {reply}");
    assert!(reply.ends_with("pong"), "response: {reply}");
    assert!(
        waited < ConnectionTimeouts::default().body,
        "GET /ping waited {waited:?}, as long as the slow bodies"
    );
}

#[test]
fn slow_body_closed_at_deadline() {
    let viewer = TestViewer::start_with(|config| {
        config.timeouts.body = Duration::from_secs(2);
    });
    let mut stream = start_slow_request(viewer.addr, "POST", "/login");
    stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();

    // Keep sending a byte every 300 ms, under every timeout but the body deadline, until the
    // server ends the request.
    let mut reply = Vec::new();
    let started = Instant::now();
    let ended = loop {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server still reads the body after 30 s"
        );
        let _ = stream.write_all(b"a");
        let mut buffer = [0u8; 4096];
        match stream.read(&mut buffer) {
            Ok(0) => break true,
            Ok(read) => reply.extend_from_slice(&buffer[..read]),
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(error) if error.kind() == ErrorKind::ConnectionReset => break true,
            Err(error) => panic!("read failed: {error}"),
        }
    };

    assert!(ended);
    let reply = String::from_utf8_lossy(&reply);
    assert!(
        !reply.starts_with("HTTP/1.1 303"),
        "a truncated login form logged in: {reply}"
    );
    // A ping on a worker thread still works after the slow body ended.
    assert!(ping(viewer.addr).unwrap().ends_with("pong"));
}

#[test]
fn idle_connection_closed_after_read_timeout() {
    let viewer = TestViewer::start_with(|config| {
        config.timeouts.read = Duration::from_secs(1);
    });
    let mut stream = TcpStream::connect(viewer.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();

    // A complete kept-alive request, then silence: the server's read timeout, which the
    // socket inherited from the listening socket, ends the connection.
    stream
        .write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut reply = Vec::new();
    let read = stream.read_to_end(&mut reply);

    assert!(
        read.is_ok(),
        "the server kept the connection open: {read:?}"
    );
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.starts_with("HTTP/1.1 200"), "response: {reply}");
    assert!(reply.ends_with("pong"), "response: {reply}");
}

#[test]
fn stalled_export_reader_dropped() {
    let viewer = TestViewer::start_with(|config| {
        config.timeouts.write = Duration::from_secs(1);
    });
    // About 10 MB of CSV, more than the socket buffers of both ends and the pipe hold.
    let date = day(0);
    let events: Vec<_> = (0..80_000u32)
        .map(|i| {
            let src = format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255);
            let info = format!("stalled reader test event number {i:08} with some padding");
            event(
                date,
                (i / 10_000) % 24,
                (i / 200) % 60,
                &src,
                "192.0.2.1",
                "bad.test",
                &info,
            )
        })
        .collect();
    viewer.write_events(&events);
    let session = viewer.login("admin");

    // As many stalled downloads as workers, plus one: none of them reads a byte.
    let path = format!("/api/export.csv?from={date}&to={date}");
    let mut stalled = Vec::new();
    for _ in 0..=WORKERS_PER_LISTENER {
        let mut stream = TcpStream::connect(viewer.addr).unwrap();
        // A small receive buffer, so that the kernel cannot take in the whole export.
        setsockopt(&stream, sockopt::RcvBuf, &8192).unwrap();
        let head = format!(
            "GET {path} HTTP/1.1\r\nHost: x\r\nCookie: tw_session={}\r\n\r\n",
            session.token
        );
        stream.write_all(head.as_bytes()).unwrap();
        stalled.push(stream);
    }

    // Every worker is stuck writing until the 1 s write timeout drops its client.
    settle_tiny_http_pool();
    let reply = ping(viewer.addr).expect("GET /ping got no response behind stalled exports");
    assert!(reply.ends_with("pong"), "response: {reply}");

    // The server resets a connection whose client stopped reading. The worker that was free
    // last may still be sending when this reads, so that client can get the whole export.
    let mut dropped = 0;
    for mut stream in stalled {
        // Loopback segments are larger than the small buffer, which makes the kernel drop and
        // resend them with growing delays, so reading the complete export needs it larger.
        setsockopt(&stream, sockopt::RcvBuf, &(4 << 20)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut received = Vec::new();
        // A reset, or seldom a close, before the chunked body's last chunk: the server
        // dropped this client.
        match stream.read_to_end(&mut received) {
            Err(error) if error.kind() == ErrorKind::ConnectionReset => dropped += 1,
            Ok(_) if !received.ends_with(b"\r\n0\r\n\r\n") => dropped += 1,
            Ok(_) => {}
            Err(error) => panic!("reading a stalled export failed: {error}"),
        }
    }
    assert!(
        dropped >= WORKERS_PER_LISTENER,
        "only {dropped} of {} stalled clients were dropped",
        WORKERS_PER_LISTENER + 1
    );
}
