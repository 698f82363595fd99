//! Request bodies sent to a real viewer on loopback: chunked bodies that a handler leaves
//! unread, chunk-size lines without an end, invalid chunk framing, and body lengths that leave
//! the end of a body to a guess. The rules are those
//! of the vendored tiny_http (vendor/tiny_http/TRAILWATCH.md).

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::TestViewer;

/// A complete request hidden in a body. The viewer must never serve it.
const HIDDEN_REQUEST: &[u8] = b"GET /hidden HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

/// Sends `bytes` on a new connection and returns everything the server sends before it
/// closes the connection or stays silent for 15 s, whichever comes first.
fn send_and_read(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    stream.write_all(bytes).unwrap();
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    String::from_utf8_lossy(&reply).into_owned()
}

/// Returns one chunk of the chunked transfer coding that carries `data`.
fn chunk(data: &[u8]) -> Vec<u8> {
    let mut encoded = format!("{:x}\r\n", data.len()).into_bytes();
    encoded.extend_from_slice(data);
    encoded.extend_from_slice(b"\r\n");
    encoded
}

fn status_lines(reply: &str) -> Vec<&str> {
    reply
        .match_indices("HTTP/1.1 ")
        .map(|(start, _)| &reply[start..start + 12])
        .collect()
}

#[test]
fn unread_chunked_body_not_served() {
    let viewer = TestViewer::start();

    // The login handler reads at most 8 KiB of a form, so the hidden request after the first
    // 8 KiB + 1 of the chunk stays on the socket. Released tiny_http 0.12 parsed it as the
    // next request of the connection.
    let mut body = vec![b'a'; 8 * 1024 + 1];
    body.extend_from_slice(HIDDEN_REQUEST);
    let mut request = b"POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\
        Content-Type: application/x-www-form-urlencoded\r\n\r\n"
        .to_vec();
    request.extend(chunk(&body));
    request.extend_from_slice(b"0\r\n\r\n");

    let reply = send_and_read(viewer.addr, &request);

    assert_eq!(status_lines(&reply), ["HTTP/1.1 400"], "response: {reply}");
    assert!(!reply.contains("not found"), "response: {reply}");
}

#[test]
fn chunked_with_content_length_closes() {
    let viewer = TestViewer::start();

    // Transfer-Encoding wins over Content-Length, and the connection must close after the
    // response, because a front end that trusted Content-Length would see other requests.
    let mut request = b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\
        Transfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n0\r\n\r\n"
        .to_vec();
    request.extend_from_slice(HIDDEN_REQUEST);

    let reply = send_and_read(viewer.addr, &request);

    assert_eq!(status_lines(&reply), ["HTTP/1.1 400"], "response: {reply}");
}

#[test]
fn endless_chunk_size_line_rejected() {
    let viewer = TestViewer::start();

    // 100 KiB of zeros is chunk size 0, the end of the body, if the line is read to its end.
    // The reader must give up on the line long before, so that a client cannot make it grow
    // without bound, and the login form is then invalid (400) instead of empty (401).
    let mut request = b"POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\
        Content-Type: application/x-www-form-urlencoded\r\n\r\n"
        .to_vec();
    request.extend(std::iter::repeat_n(b'0', 100 * 1024));
    request.extend_from_slice(b"\r\n\r\n");

    let reply = send_and_read(viewer.addr, &request);

    assert_eq!(status_lines(&reply), ["HTTP/1.1 400"], "response: {reply}");
    assert!(reply.contains("invalid login form"), "response: {reply}");
}

#[test]
fn invalid_chunk_sizes_rejected() {
    let viewer = TestViewer::start();

    // Sizes that are not plain hexadecimal, a size beyond usize, and a chunk not followed by
    // CRLF. Each must fail the body, never be read as some other size.
    let bodies: [&[u8]; 5] = [
        b"+5\r\nabcde\r\n0\r\n\r\n",
        b"zz\r\nabc\r\n0\r\n\r\n",
        b"\r\nabc\r\n0\r\n\r\n",
        b"1ffffffffffffffff\r\nabc\r\n0\r\n\r\n",
        b"3\r\nabcXY0\r\n\r\n",
    ];
    for body in bodies {
        let mut request = b"POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\
            Content-Type: application/x-www-form-urlencoded\r\n\r\n"
            .to_vec();
        request.extend_from_slice(body);

        let reply = send_and_read(viewer.addr, &request);

        let body_text = String::from_utf8_lossy(body);
        assert_eq!(
            status_lines(&reply),
            ["HTTP/1.1 400"],
            "{body_text:?}: {reply}"
        );
        assert!(
            reply.contains("invalid login form"),
            "{body_text:?}: {reply}"
        );
    }
}

#[test]
fn chunked_form_with_trailer_read() {
    let viewer = TestViewer::start();

    // A valid body in two chunks, with a chunk extension and a trailer field.
    let mut request = b"POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\
        Content-Type: application/x-www-form-urlencoded\r\n\r\n"
        .to_vec();
    request.extend_from_slice(b"e;name=value\r\nusername=admin\r\n");
    request.extend(chunk(format!("&password={}", common::PASSWORD).as_bytes()));
    request.extend_from_slice(b"0\r\nX-Trailer: 1\r\n\r\n");

    let reply = send_and_read(viewer.addr, &request);

    assert_eq!(status_lines(&reply), ["HTTP/1.1 303"], "response: {reply}");
}

#[test]
fn invalid_content_lengths_rejected() {
    let viewer = TestViewer::start();

    // Two different lengths, or one that does not parse, leave the end of the body to a
    // guess. tiny_http 0.12 took the first value, or no body for a value it could not parse,
    // and a front end that guessed otherwise would split the stream differently.
    let lengths: [&[u8]; 4] = [
        b"Content-Length: 5\r\nContent-Length: 40",
        b"Content-Length: 5x",
        b"Content-Length: -1",
        b"Content-Length: 99999999999999999999999",
    ];
    for length in lengths {
        let mut request = b"POST /login HTTP/1.1\r\nHost: x\r\n".to_vec();
        request.extend_from_slice(length);
        request.extend_from_slice(b"\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n");
        request.extend_from_slice(HIDDEN_REQUEST);

        let reply = send_and_read(viewer.addr, &request);

        let body_text = String::from_utf8_lossy(length);
        assert_eq!(
            status_lines(&reply),
            ["HTTP/1.1 400"],
            "{body_text}: {reply}"
        );
        assert!(!reply.contains("not found"), "{body_text}: {reply}");
    }
}
