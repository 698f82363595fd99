//! Requests beyond the HTTP layer's limits, sent to a real viewer on loopback: oversized heads,
//! a huge announced body, heads that never end, and more connections than it serves at once.
//! The limits are those of the vendored tiny_http (vendor/tiny_http/TRAILWATCH.md).

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use common::{ping, TestViewer};

/// Maximum length of the request line and of a header line, CRLF included.
const MAX_LINE_LEN: usize = 8 * 1024;

/// Maximum length of a request head.
const MAX_HEAD_LEN: usize = 64 * 1024;

/// Sends `bytes` on a new connection and returns everything the server sends before it
/// closes. The server reads exactly `bytes` before it gives up on such a head, so it closes
/// with nothing unread and the response is not lost to a reset.
fn send_and_read(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    stream.write_all(bytes).unwrap();
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).unwrap();
    String::from_utf8_lossy(&reply).into_owned()
}

/// Reads until the server closes `stream` and returns how long that took.
fn time_until_closed(mut stream: TcpStream) -> (Duration, String) {
    let started = Instant::now();
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    let mut reply = Vec::new();
    match stream.read_to_end(&mut reply) {
        Ok(_) => {}
        Err(error) if error.kind() == ErrorKind::ConnectionReset => {}
        Err(error) => panic!("the server did not close the connection: {error}"),
    }
    (
        started.elapsed(),
        String::from_utf8_lossy(&reply).into_owned(),
    )
}

#[test]
fn huge_content_length_survived() {
    let viewer = TestViewer::start();

    // A body length far beyond memory, with only a few bytes sent. Released tiny_http 0.12
    // drained an unread body into a buffer of the remaining length, which aborted the viewer.
    for path in ["/login", "/ping", "/api/intake"] {
        let mut stream = TcpStream::connect(viewer.addr).unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: 99999999999999\r\n\r\nusername=a"
        );
        stream.write_all(head.as_bytes()).unwrap();
        drop(stream);
    }
    thread::sleep(Duration::from_secs(1));

    let reply = ping(viewer.addr).expect("the viewer stopped answering");
    assert!(reply.ends_with("pong"), "response: {reply}");
}

#[test]
fn long_request_line_gets_414() {
    let viewer = TestViewer::start();

    let mut line = b"GET /ping?q=".to_vec();
    line.resize(MAX_LINE_LEN, b'a');
    let reply = send_and_read(viewer.addr, &line);

    assert!(reply.starts_with("HTTP/1.1 414"), "response: {reply:.200}");
    assert!(ping(viewer.addr).unwrap().ends_with("pong"));
}

#[test]
fn long_header_line_gets_431() {
    let viewer = TestViewer::start();

    let mut head = b"GET /ping HTTP/1.1\r\n".to_vec();
    let header_start = head.len();
    head.extend_from_slice(b"Cookie: ");
    head.resize(header_start + MAX_LINE_LEN, b'a');
    let reply = send_and_read(viewer.addr, &head);

    assert!(reply.starts_with("HTTP/1.1 431"), "response: {reply:.200}");
    assert!(ping(viewer.addr).unwrap().ends_with("pong"));
}

#[test]
fn header_line_at_limit_accepted() {
    let viewer = TestViewer::start();

    // A header line of the maximum length: its content and CRLF make MAX_LINE_LEN bytes.
    let mut head = b"GET /ping HTTP/1.1\r\nConnection: close\r\n".to_vec();
    let header_start = head.len();
    head.extend_from_slice(b"X-Padding: ");
    head.resize(header_start + MAX_LINE_LEN - 2, b'a');
    head.extend_from_slice(b"\r\n\r\n");
    let reply = send_and_read(viewer.addr, &head);

    assert!(reply.starts_with("HTTP/1.1 200"), "response: {reply:.200}");
    assert!(reply.ends_with("pong"), "response: {reply:.200}");
}

#[test]
fn oversized_head_gets_431() {
    let viewer = TestViewer::start();

    // Headers of 8000 bytes each fill the head until one more would not fit. A last header
    // then runs to the head limit without ending.
    let mut head = b"GET /ping HTTP/1.1\r\n".to_vec();
    let mut index = 0;
    while head.len() + 8000 + 2 <= MAX_HEAD_LEN {
        let line = format!("X-Padding-{index:02}: ");
        let start = head.len();
        head.extend_from_slice(line.as_bytes());
        head.resize(start + 8000, b'a');
        head.extend_from_slice(b"\r\n");
        index += 1;
    }
    head.extend_from_slice(b"X-Last: ");
    head.resize(MAX_HEAD_LEN, b'a');
    let reply = send_and_read(viewer.addr, &head);

    assert!(reply.starts_with("HTTP/1.1 431"), "response: {reply:.200}");
    assert!(ping(viewer.addr).unwrap().ends_with("pong"));
}

#[test]
fn silent_connection_closed_after_read_timeout() {
    let viewer = TestViewer::start_with(|config| {
        config.timeouts.read = Duration::from_secs(1);
    });

    // No byte at all, then half a request head: the read timeout that accepted connections
    // inherit from the listening socket closes both, long before the client's 120 s.
    let silent = TcpStream::connect(viewer.addr).unwrap();
    let mut partial = TcpStream::connect(viewer.addr).unwrap();
    partial.write_all(b"GET /ping HTTP/1.1\r\nHo").unwrap();

    let (silent_wait, silent_reply) = time_until_closed(silent);
    let (partial_wait, _) = time_until_closed(partial);

    assert!(silent_reply.is_empty(), "response: {silent_reply}");
    assert!(
        silent_wait < Duration::from_secs(30),
        "closed after {silent_wait:?}"
    );
    assert!(
        partial_wait < Duration::from_secs(30),
        "closed after {partial_wait:?}"
    );

    // The same timeout ended the listening socket's waits in accept meanwhile, and the server
    // still accepts.
    let reply = ping(viewer.addr).expect("the viewer stopped accepting");
    assert!(reply.ends_with("pong"), "response: {reply}");
}

#[test]
fn dripping_head_gets_408() {
    let viewer = TestViewer::start();

    // One byte every 500 ms beats the 10 s read timeout every time, so only the head's own
    // deadline of 30 s from its first byte ends it.
    let mut stream = TcpStream::connect(viewer.addr).unwrap();
    let started = Instant::now();
    let mut dripper = stream.try_clone().unwrap();
    let sender = thread::spawn(move || {
        let head = b"GET /ping HTTP/1.1\r\nX-Slow: "
            .iter()
            .chain([b'a'; 200].iter());
        for byte in head {
            if dripper.write_all(&[*byte]).is_err() {
                break;
            }
            thread::sleep(Duration::from_millis(500));
        }
    });

    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    let waited = started.elapsed();
    let reply = String::from_utf8_lossy(&reply);
    drop(stream);
    sender.join().unwrap();

    assert!(reply.starts_with("HTTP/1.1 408"), "response: {reply}");
    assert!(waited >= Duration::from_secs(29), "closed after {waited:?}");
    assert!(waited < Duration::from_secs(60), "closed after {waited:?}");
}

#[test]
fn connections_beyond_limit_closed() {
    let viewer = TestViewer::start();

    // Fill the server with silent connections, each holding a tiny_http thread.
    let silent_clients: Vec<TcpStream> = (0..tiny_http::MAX_CONNECTIONS)
        .map(|_| TcpStream::connect(viewer.addr).unwrap())
        .collect();
    thread::sleep(Duration::from_secs(1));

    // One more is accepted and closed at once, without a response.
    let (waited, reply) = time_until_closed(TcpStream::connect(viewer.addr).unwrap());
    assert!(reply.is_empty(), "response: {reply}");
    assert!(waited < Duration::from_secs(5), "closed after {waited:?}");

    // Once the silent clients leave, the server serves again.
    drop(silent_clients);
    thread::sleep(Duration::from_secs(1));
    let reply = ping(viewer.addr).expect("the viewer stopped answering");
    assert!(reply.ends_with("pong"), "response: {reply}");
}

#[test]
fn http2_requests_get_505_and_close() {
    let viewer = TestViewer::start();

    // More HTTP/2 prefaces than the server keeps connections open at once. Released
    // tiny_http 0.12 never sent its 505 and kept each connection open for ever, so after 256
    // of them the viewer accepted no client until it was restarted.
    for _ in 0..tiny_http::MAX_CONNECTIONS + 8 {
        let reply = send_and_read(viewer.addr, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        assert!(reply.starts_with("HTTP/1.1 505"), "response: {reply:?}");
    }

    let reply = ping(viewer.addr).expect("the viewer stopped answering");
    assert!(reply.ends_with("pong"), "response: {reply}");
}

#[test]
fn malformed_heads_get_400() {
    let viewer = TestViewer::start();

    // Each case is a whole request that the server reads to its end before it responds.
    let cases: [(&str, &[u8]); 4] = [
        ("bare LF", b"GET /ping HTTP/1.1\nHost: x\n\n"),
        ("bare LF in a header", b"GET /ping HTTP/1.1\r\nHost: x\n"),
        ("non-ASCII path", b"GET /p\xc3\xa9 HTTP/1.1\r\n"),
        (
            "non-ASCII header",
            b"GET /ping HTTP/1.1\r\nX-Name: \xff\r\n",
        ),
    ];
    for (case, bytes) in cases {
        let started = Instant::now();
        let reply = send_and_read(viewer.addr, bytes);

        assert!(reply.starts_with("HTTP/1.1 400"), "{case}: {reply:.200}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{case}: answered after {:?}",
            started.elapsed()
        );
    }
    assert!(ping(viewer.addr).unwrap().ends_with("pong"));
}

#[test]
fn unsupported_transfer_encoding_gets_501() {
    let viewer = TestViewer::start();

    for coding in ["gzip", "gzip, chunked", "identity"] {
        let head = format!(
            "POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: {coding}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\n\r\n"
        );
        let reply = send_and_read(viewer.addr, head.as_bytes());

        assert!(reply.starts_with("HTTP/1.1 501"), "{coding}: {reply:.200}");
    }
}

#[test]
fn http_0_9_gets_505() {
    let viewer = TestViewer::start();

    let reply = send_and_read(viewer.addr, b"GET /ping HTTP/0.9\r\n\r\n");

    assert!(reply.starts_with("HTTP/1.1 505"), "response: {reply:.200}");
}

#[test]
fn stalled_head_gets_408() {
    let viewer = TestViewer::start_with(|config| {
        config.timeouts.read = Duration::from_secs(1);
    });

    // Part of a head, then silence: the read timeout ends it, and since the head had begun,
    // the client learns why.
    let mut stream = TcpStream::connect(viewer.addr).unwrap();
    stream.write_all(b"GET /ping HTTP/1.1\r\nHo").unwrap();
    let (waited, reply) = time_until_closed(stream);

    assert!(reply.starts_with("HTTP/1.1 408"), "response: {reply:.200}");
    assert!(waited < Duration::from_secs(10), "closed after {waited:?}");
}

/// Returns the number of file descriptors this process has open.
fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn finished_connections_hold_no_descriptors() {
    let viewer = TestViewer::start();
    assert!(ping(viewer.addr).unwrap().ends_with("pong"));
    let before = open_descriptors();

    // Each ping closes its connection. The viewer runs in this process, so a descriptor it
    // kept per finished connection would show here.
    for _ in 0..300 {
        assert!(ping(viewer.addr).unwrap().ends_with("pong"));
    }
    thread::sleep(Duration::from_millis(500));
    let after = open_descriptors();

    assert!(
        after < before + 20,
        "{before} descriptors open before 300 requests, {after} after"
    );
}
