//! HTTP/1.x response heads (RFC 9112 section 4): the status line, the Content-Type, Server and
//! Content-Length headers, and an iterator over every header line, read from the start of a
//! server's TCP stream.
//!
//! Parsing is lenient in the same way as for requests: header lines are split at the first
//! colon, lines without one are skipped, and an obs-folded continuation line is skipped. A
//! text field is cut before its first byte that is not UTF-8 or is a CR.

use super::{field_text, find_head_end, parse_decimal, trim_spaces, HeadEnd, MAX_HEADER_BYTES};

/// The head of one HTTP response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response<'a> {
    /// Minor version of HTTP/1.x (0 or 1).
    pub version: u8,
    /// Status code, from 100 to 999.
    pub status: u16,
    /// Value of the first Content-Type header, trimmed, parameters included.
    pub content_type: Option<&'a str>,
    /// Value of the first Server header, trimmed.
    pub server: Option<&'a str>,
    /// Value of the first Content-Length header, if it is a decimal number.
    pub content_length: Option<u64>,
    /// Bytes from the start of the input up to and including the blank line that ends the
    /// head, or up to the last complete header line when `headers_truncated` is set.
    pub header_len: usize,
    /// No blank line was found within [`MAX_HEADER_BYTES`].
    pub headers_truncated: bool,
    /// The header lines, without the status line.
    header_block: &'a [u8],
}

impl<'a> Response<'a> {
    /// Returns an iterator over the `(name, value)` pairs of every header line, in order.
    pub fn headers(&self) -> HeaderLines<'a> {
        HeaderLines {
            rest: self.header_block,
        }
    }
}

/// Result of [`parse_response`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseParse<'a> {
    Complete(Response<'a>),
    /// The input is the beginning of a response head. Call again with more bytes. Within
    /// [`MAX_HEADER_BYTES`] the result is `Complete` or `NotHttp`.
    Partial,
    /// The input does not start with an HTTP/1.x status line.
    NotHttp,
}

/// Tests whether `buf` starts with `HTTP/1.`, the start of every HTTP/1.x status line.
pub fn starts_like_response(buf: &[u8]) -> bool {
    buf.starts_with(b"HTTP/1.")
}

/// Parses the response head at the start of `buf`.
///
/// The status line must be `HTTP/1.x` followed by a space and a three-digit status code. A
/// head with no blank line within [`MAX_HEADER_BYTES`] is returned as `Complete` with
/// [`Response::headers_truncated`] set.
pub fn parse_response(buf: &[u8]) -> ResponseParse<'_> {
    if !starts_like_response(buf) {
        return if b"HTTP/1.".starts_with(buf) {
            ResponseParse::Partial
        } else {
            ResponseParse::NotHttp
        };
    }

    // The status line.
    let window = buf.get(..MAX_HEADER_BYTES).unwrap_or(buf);
    let Some(line_end) = window.iter().position(|&b| b == b'\n') else {
        return if buf.len() < MAX_HEADER_BYTES {
            ResponseParse::Partial
        } else {
            ResponseParse::NotHttp
        };
    };
    let line = window.get(..line_end).unwrap_or_default();
    let Some((version, status)) = parse_status_line(line) else {
        return ResponseParse::NotHttp;
    };

    // The header lines, up to the blank line or the size limit.
    let head_start = line_end + 1;
    let (head_end, truncated) = match find_head_end(window, head_start) {
        HeadEnd::Found(end) => (end, false),
        HeadEnd::Missing { .. } if buf.len() < MAX_HEADER_BYTES => return ResponseParse::Partial,
        HeadEnd::Missing { lines_end } => (lines_end, true),
    };
    let mut response = Response {
        version,
        status,
        content_type: None,
        server: None,
        content_length: None,
        header_len: head_end,
        headers_truncated: truncated,
        header_block: window.get(head_start..head_end).unwrap_or_default(),
    };
    for (name, value) in response.headers() {
        let mut lossy = false;
        if name.eq_ignore_ascii_case(b"content-type") && response.content_type.is_none() {
            response.content_type = Some(field_text(value, &mut lossy));
        } else if name.eq_ignore_ascii_case(b"server") && response.server.is_none() {
            response.server = Some(field_text(value, &mut lossy));
        } else if name.eq_ignore_ascii_case(b"content-length") && response.content_length.is_none()
        {
            response.content_length = parse_decimal(value);
        }
    }
    ResponseParse::Complete(response)
}

/// Splits `HTTP/1.x SSS reason` (with or without its CR) into the minor version and status.
fn parse_status_line(line: &[u8]) -> Option<(u8, u16)> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let rest = line.strip_prefix(b"HTTP/1.")?;
    let (&minor, rest) = rest.split_first()?;
    if !minor.is_ascii_digit() {
        return None;
    }
    let rest = rest.strip_prefix(b" ")?;
    let digits = rest.get(..3)?;
    if !digits.iter().all(u8::is_ascii_digit) || digits.first() == Some(&b'0') {
        return None;
    }
    if !matches!(rest.get(3), None | Some(b' ')) {
        return None;
    }
    let status = digits
        .iter()
        .fold(0u16, |total, &digit| total * 10 + u16::from(digit - b'0'));
    Some((minor - b'0', status))
}

/// Iterator over the header lines of a head block, returned by [`Response::headers`]. Each
/// item is the name and the trimmed value. Lines without a colon and obs-folded continuation
/// lines are skipped, and the blank line ends the iteration.
#[derive(Clone, Debug)]
pub struct HeaderLines<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for HeaderLines<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let (line, rest) = match self.rest.iter().position(|&b| b == b'\n') {
                Some(end) => (&self.rest[..end], &self.rest[end + 1..]),
                None => (self.rest, &[][..]),
            };
            self.rest = rest;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                self.rest = &[];
                return None;
            }
            if matches!(line.first(), Some(b' ' | b'\t')) {
                continue;
            }
            if let Some(colon) = line.iter().position(|&b| b == b':') {
                let name = trim_spaces(&line[..colon]);
                let value = trim_spaces(&line[colon + 1..]);
                return Some((name, value));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(buf: &[u8]) -> Response<'_> {
        match parse_response(buf) {
            ResponseParse::Complete(response) => response,
            other => panic!("expected a complete response, got {other:?}"),
        }
    }

    const NOT_FOUND: &[u8] = b"HTTP/1.1 404 Not Found\r\n\
        Server: nginx/1.24.0\r\n\
        Content-Type: text/html; charset=utf-8\r\n\
        Content-Length: 153\r\n\
        \r\n\
        <html>";

    #[test]
    fn status_and_fields_read() {
        let response = complete(NOT_FOUND);
        assert_eq!(response.version, 1);
        assert_eq!(response.status, 404);
        assert_eq!(response.server, Some("nginx/1.24.0"));
        assert_eq!(response.content_type, Some("text/html; charset=utf-8"));
        assert_eq!(response.content_length, Some(153));
        assert_eq!(&NOT_FOUND[response.header_len..], b"<html>");
        assert!(!response.headers_truncated);
    }

    #[test]
    fn header_lines_in_order() {
        let response = complete(b"HTTP/1.0 200 OK\nX-A: 1\n  folded\nno colon\nx-b:2\n\nbody");
        let headers: Vec<_> = response.headers().collect();
        assert_eq!(
            headers,
            [(&b"X-A"[..], &b"1"[..]), (&b"x-b"[..], &b"2"[..])]
        );
        assert_eq!(response.version, 0);
    }

    #[test]
    fn status_without_reason_accepted() {
        assert_eq!(complete(b"HTTP/1.1 204\r\n\r\n").status, 204);
    }

    #[test]
    fn head_split_waits() {
        for cut in 0..NOT_FOUND.len() - b"<html>".len() {
            assert_eq!(
                parse_response(&NOT_FOUND[..cut]),
                ResponseParse::Partial,
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn invalid_status_lines_not_http() {
        for buf in [
            &b"HTTP/2 200\r\n\r\n"[..],
            b"HTTP/1.1 20x OK\r\n\r\n",
            b"HTTP/1.1 2000 OK\r\n\r\n",
            b"HTTP/1.1 099 Low\r\n\r\n",
            b"HTTP/1.1  200 OK\r\n\r\n",
            b"GET / HTTP/1.1\r\n\r\n",
            b"SSH-2.0-OpenSSH\r\n",
        ] {
            assert_eq!(parse_response(buf), ResponseParse::NotHttp, "{buf:?}");
        }
    }

    #[test]
    fn oversized_head_cut_at_limit() {
        let mut buf = b"HTTP/1.1 200 OK\r\nServer: big\r\n".to_vec();
        while buf.len() < MAX_HEADER_BYTES + 100 {
            buf.extend_from_slice(b"X-Filler: 0123456789abcdef\r\n");
        }
        let response = complete(&buf);
        assert!(response.headers_truncated);
        assert_eq!(response.server, Some("big"));
        assert!(response.header_len <= MAX_HEADER_BYTES);
    }

    mod random_input {
        use super::*;
        use proptest::prelude::*;

        fn check(buf: &[u8]) -> Result<(), TestCaseError> {
            if let ResponseParse::Complete(response) = parse_response(buf) {
                prop_assert!(response.header_len <= buf.len());
                prop_assert!((100..=999).contains(&response.status));
                for (name, value) in response.headers() {
                    prop_assert!(!name.contains(&b'\n'));
                    prop_assert!(!value.contains(&b'\n'));
                }
                for field in [response.content_type, response.server]
                    .into_iter()
                    .flatten()
                {
                    prop_assert!(!field.contains(['\r', '\n']));
                }
            }
            Ok(())
        }

        proptest! {
            #[test]
            fn random_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..400)) {
                check(&buf)?;
            }

            #[test]
            fn response_like_bytes_parse_safely(
                body in proptest::collection::vec(
                    prop_oneof![Just(b'\r'), Just(b'\n'), Just(b' '), Just(b':'), Just(b'\t'),
                                Just(0xff), b'0'..=b'z'],
                    0..300,
                ),
            ) {
                let mut buf = b"HTTP/1.1 ".to_vec();
                buf.extend(body);
                check(&buf)?;
            }
        }
    }
}
