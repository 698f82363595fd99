//! trailwatch: the response to a plain HTTP request sent to the HTTPS port.
//!
//! A user who types `http://` in front of the address would otherwise get a TLS alert back,
//! which curl 7.88 reports as an HTTP/0.9 reply. Since a TLS record
//! starts with its content type (20 to 24) and an HTTP request with an upper-case method name,
//! the first byte tells the two apart before rustls sees it.

use std::io::{Error, ErrorKind, Read, Write};
use std::net::Shutdown;
use std::time::Instant;

use crate::connection::Connection;

/// Longest request head read before the response. A longer head is answered without its rest.
const MAX_HEAD_LEN: usize = 8 * 1024;

/// Longest `Host` value put in the redirect: a DNS name of 253 bytes, a colon and a port.
const MAX_HOST_LEN: usize = 259;

/// Returns whether `first` starts a plain HTTP request rather than a TLS record.
pub(crate) fn is_plain_http(first: u8) -> bool {
    first.is_ascii_uppercase()
}

/// Reads the rest of the request head that begins with `start`, until `deadline` at most,
/// answers it with a redirect to `https://HOST/` (or 400 without a usable `Host`), and shuts
/// the socket down. Returns the error that ends the connection for the caller.
pub(crate) fn reject(socket: &mut Connection, start: &[u8], deadline: Option<Instant>) -> Error {
    let mut head = start.to_vec();
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_HEAD_LEN {
        if deadline.is_some_and(|deadline| Instant::now() > deadline) {
            break;
        }
        match socket.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(read) => head.extend_from_slice(&chunk[..read]),
        }
    }

    let response = match host_of(&head) {
        Some(host) => {
            let body = format!("This port serves HTTPS. Open https://{host}/ instead.\n");
            format!(
                "HTTP/1.1 302 Found\r\nLocation: https://{host}/\r\nContent-Type: text/plain; \
                 charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        }
        None => {
            let body = "This port serves HTTPS. Open the same address with https://.\n";
            format!(
                "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        }
    };
    let _ = socket.write_all(response.as_bytes());
    let _ = socket.flush();
    let _ = socket.shutdown(Shutdown::Both);
    log::debug!("answered a plain HTTP request on the HTTPS port");
    Error::new(ErrorKind::InvalidData, "plain HTTP request on the HTTPS port")
}

/// Returns the `Host` header of `head` if it is a plain host name or address with an optional
/// port, so that nothing else from the request reaches the `Location` header.
fn host_of(head: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(head).ok()?;
    let value = text.split("\r\n").skip(1).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("host").then(|| value.trim())
    })?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']');
    let valid = !value.is_empty() && value.len() <= MAX_HOST_LEN && value.chars().all(allowed);
    valid.then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_taken_from_head() {
        let head = b"GET /x HTTP/1.1\r\nAccept: */*\r\nhOsT:  sensor.lan:8338 \r\n\r\n";

        assert_eq!(host_of(head), Some("sensor.lan:8338"));
    }

    #[test]
    fn unusual_host_rejected() {
        let heads: [&[u8]; 4] = [
            b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost:\r\n\r\n",
            b"GET / HTTP/1.1\r\nX-Host: a\r\n\r\n",
        ];

        for head in heads {
            assert_eq!(host_of(head), None, "{:?}", String::from_utf8_lossy(head));
        }
    }

    #[test]
    fn tls_record_not_plain_http() {
        assert!(!is_plain_http(0x16), "handshake record");
        assert!(!is_plain_http(0x80), "SSL 2 compatible hello");
        assert!(is_plain_http(b'G'));
        assert!(is_plain_http(b'P'));
    }
}
