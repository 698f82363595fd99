//! HTTP/1.x request heads (RFC 9112): the request line and the Host, User-Agent,
//! Content-Length and Transfer-Encoding headers, read from the start of a client's TCP stream.
//!
//! The header lines go through `httparse` first. Real clients and attack tools also send heads
//! that it rejects, and a lenient line parser reads those: obs-folded header lines, bytes that
//! RFC 9112 forbids in a field, and more than [`MAX_HEADERS`] header lines. The request line
//! has its own lenient parser, which also accepts HTTP/0.9 lines without a version.
//!
//! The text fields borrow the input as `&str`, so they cannot hold bytes that are not UTF-8.
//! Such a field is cut before the first invalid byte, and [`Request::lossy`] is set. The same
//! happens at a CR inside a field, so a field never contains CR or LF. Other control bytes,
//! such as NUL, are kept. [`Request::raw_path`] keeps the exact target bytes, and
//! [`EscapedBytes`] renders them losslessly for a log line.
//!
//! [`parse_response`] reads the head of a server's response the same way.

use std::fmt;
use std::net::Ipv6Addr;

mod response;

pub use response::{parse_response, starts_like_response, HeaderLines, Response, ResponseParse};

/// Maximum number of bytes of a request head (request line, header lines and the blank line)
/// that [`parse_request`] waits for and reads. Servers limit the request line to about as much
/// (Apache's default LimitRequestLine is 8190 bytes). A longer head, as big cookies make, is
/// read as far as this limit.
pub const MAX_HEADER_BYTES: usize = 8192;

/// Number of header lines `httparse` reads before the lenient parser takes over.
pub const MAX_HEADERS: usize = 64;

/// Empty lines skipped before a request line. RFC 9112 section 2.2 recommends that servers
/// ignore at least one, because some clients send one after a request body.
const MAX_LEADING_EMPTY_LINES: usize = 2;

/// Methods that [`starts_like_request`] accepts, compared without regard to ASCII case: those
/// of RFC 9110, PATCH (RFC 5789) and the WebDAV methods (RFC 4918, RFC 5323).
const METHODS: [&str; 17] = [
    "GET",
    "POST",
    "HEAD",
    "PUT",
    "DELETE",
    "OPTIONS",
    "CONNECT",
    "TRACE",
    "PATCH",
    "PROPFIND",
    "PROPPATCH",
    "MKCOL",
    "COPY",
    "MOVE",
    "LOCK",
    "UNLOCK",
    "SEARCH",
];

/// The head of one HTTP request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// The method as sent, in its original case.
    pub method: &'a str,
    /// The request-target as sent, which is absolute-form (`http://host/path`) for proxies.
    pub path: &'a str,
    /// The exact bytes of the request-target.
    pub raw_path: &'a [u8],
    /// Minor version of HTTP/1.x (0 or 1), or `None` for an HTTP/0.9 request line, which has
    /// no version and no headers.
    pub version: Option<u8>,
    /// Value of the first Host header, trimmed, as sent (it may include `:port`).
    pub host: Option<&'a str>,
    /// Value of the first User-Agent header, trimmed. `Some("")` for an empty header.
    pub user_agent: Option<&'a str>,
    /// Value of the first Content-Length header, if it is a decimal number.
    pub content_length: Option<u64>,
    /// The Transfer-Encoding header ends in `chunked`, so the body length is not known from
    /// the head.
    pub chunked: bool,
    /// Bytes from the start of the input up to and including the blank line that ends the
    /// head: the body, or the next pipelined request, starts there.
    pub header_len: usize,
    /// No blank line was found within [`MAX_HEADER_BYTES`]. The header fields come from the
    /// complete lines before that limit, and `header_len` ends after the last of them, which
    /// is not where the body starts.
    pub headers_truncated: bool,
    /// A text field was cut because it contained a byte that is not UTF-8 or a CR, or a header
    /// that the sensor reads was obs-folded and only its first line was kept.
    pub lossy: bool,
}

/// Result of [`parse_request`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parse<'a> {
    Complete(Request<'a>),
    /// The input is the beginning of a request head. Call again with more bytes. Within
    /// [`MAX_HEADER_BYTES`] the result is `Complete`, `LineTooLong` or `NotHttp`.
    Partial,
    /// The input starts with a method, but the request line does not end within
    /// [`MAX_HEADER_BYTES`], so nothing of the request is read.
    LineTooLong,
    /// The input does not start with an HTTP request.
    NotHttp,
}

/// Tests whether `buf` starts with a known HTTP method followed by a space, after at most two
/// empty lines. It does not check the rest of the request line.
pub fn starts_like_request(buf: &[u8]) -> bool {
    let start = leading_empty_lines_len(buf);
    buf.get(start..).and_then(method_len).is_some()
}

/// Tests whether `buf`, shorter than a method and its space, could still grow into the start
/// of a request (`"GE"` could, `"GX"` could not), so that a caller keeps such a short first
/// segment instead of dropping it.
pub fn could_start_request(buf: &[u8]) -> bool {
    let start = leading_empty_lines_len(buf);
    buf.get(start..)
        .is_some_and(|rest| !rest.is_empty() && could_become_method(rest))
}

/// Parses the request head at the start of `buf`.
///
/// A head with no blank line within [`MAX_HEADER_BYTES`] is returned as `Complete` with
/// [`Request::headers_truncated`] set. A request line longer than that limit is
/// `LineTooLong`.
pub fn parse_request(buf: &[u8]) -> Parse<'_> {
    let line_start = leading_empty_lines_len(buf);
    let rest = buf.get(line_start..).unwrap_or_default();
    let Some(method_len) = method_len(rest) else {
        return if could_become_method(rest) {
            Parse::Partial
        } else {
            Parse::NotHttp
        };
    };

    // The request line.
    let window = buf.get(..MAX_HEADER_BYTES).unwrap_or(buf);
    let Some(line_end) = find_line_end(window, line_start) else {
        return partial_or_too_long(buf);
    };
    let Some(line) = buf.get(line_start..line_end) else {
        return Parse::NotHttp;
    };
    let Some(request_line) = RequestLine::parse(line, method_len) else {
        return Parse::NotHttp;
    };
    let mut lossy = false;
    let mut request = Request {
        method: request_line.method,
        path: field_text(request_line.target, &mut lossy),
        raw_path: request_line.target,
        version: request_line.version,
        host: None,
        user_agent: None,
        content_length: None,
        chunked: false,
        header_len: line_end + 1,
        headers_truncated: false,
        lossy,
    };
    if request.version.is_none() {
        return Parse::Complete(request);
    }

    // The header lines, up to the blank line or the size limit.
    let head_start = line_end + 1;
    let (head_end, truncated) = match find_head_end(window, head_start) {
        HeadEnd::Found(end) => (end, false),
        HeadEnd::Missing { .. } if buf.len() < MAX_HEADER_BYTES => return Parse::Partial,
        HeadEnd::Missing { lines_end } => (lines_end, true),
    };
    let block = buf.get(head_start..head_end).unwrap_or_default();
    read_headers(block, &mut request);
    request.header_len = head_end;
    request.headers_truncated = truncated;
    Parse::Complete(request)
}

fn partial_or_too_long(buf: &[u8]) -> Parse<'_> {
    if buf.len() < MAX_HEADER_BYTES {
        Parse::Partial
    } else {
        Parse::LineTooLong
    }
}

/// Returns the number of bytes taken by the empty lines at the start of `buf`.
fn leading_empty_lines_len(buf: &[u8]) -> usize {
    let mut pos = 0;
    for _ in 0..MAX_LEADING_EMPTY_LINES {
        match buf.get(pos..) {
            Some([b'\r', b'\n', ..]) => pos += 2,
            Some([b'\n', ..]) => pos += 1,
            _ => break,
        }
    }
    pos
}

/// Returns the length of the method if `buf` starts with a known method and a space.
fn method_len(buf: &[u8]) -> Option<usize> {
    // Every method is upper case, so testing the upper-cased first byte rejects most payloads
    // that are not HTTP before any full comparison.
    let first = buf.first()?.to_ascii_uppercase();
    METHODS
        .iter()
        .filter(|method| method.as_bytes().first() == Some(&first))
        .find(|method| {
            starts_with_ignore_case(buf, method.as_bytes()) && buf.get(method.len()) == Some(&b' ')
        })
        .map(|method| method.len())
}

/// Tests whether more bytes could turn `buf` into a known method and a space.
fn could_become_method(buf: &[u8]) -> bool {
    METHODS.iter().any(|method| {
        let expected = method.as_bytes().iter().chain(b" ");
        buf.len() <= method.len()
            && buf
                .iter()
                .zip(expected)
                .all(|(b, e)| b.eq_ignore_ascii_case(e))
    })
}

/// Returns the index of the LF that ends the line starting at `start`.
fn find_line_end(buf: &[u8], start: usize) -> Option<usize> {
    let line = buf.get(start..)?;
    line.iter()
        .position(|&b| b == b'\n')
        .map(|offset| start + offset)
}

enum HeadEnd {
    /// Index just past the blank line.
    Found(usize),
    /// No blank line yet. `lines_end` is the index just past the last complete line.
    Missing { lines_end: usize },
}

fn find_head_end(buf: &[u8], start: usize) -> HeadEnd {
    let mut pos = start;
    while let Some(line_end) = find_line_end(buf, pos) {
        let line = buf.get(pos..line_end).unwrap_or_default();
        if line.is_empty() || line == b"\r" {
            return HeadEnd::Found(line_end + 1);
        }
        pos = line_end + 1;
    }
    HeadEnd::Missing { lines_end: pos }
}

/// A request line split into its parts.
struct RequestLine<'a> {
    method: &'a str,
    target: &'a [u8],
    version: Option<u8>,
}

impl<'a> RequestLine<'a> {
    /// Splits `line` (without its LF) whose method of `method_len` bytes has been matched.
    ///
    /// The version is the last space-separated word when it starts with `HTTP/`, so a target
    /// that contains spaces is kept whole. Without such a word the line is an HTTP/0.9 request
    /// and the target is the rest of the line.
    fn parse(line: &'a [u8], method_len: usize) -> Option<Self> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let method = std::str::from_utf8(line.get(..method_len)?).ok()?;
        let rest = trim_spaces(line.get(method_len + 1..)?);

        let (target, version) = match rest.iter().rposition(|&b| b == b' ') {
            Some(space) if starts_with_ignore_case(rest.get(space + 1..)?, b"HTTP/") => {
                let version = rest.get(space + 1 + 5..)?;
                (
                    trim_spaces(rest.get(..space)?),
                    Some(http1_minor_version(version)?),
                )
            }
            _ => (rest, None),
        };
        if target.is_empty() {
            return None;
        }
        Some(RequestLine {
            method,
            target,
            version,
        })
    }
}

/// Reads the minor version from the `1.x` after `HTTP/`. Other major versions are rejected.
fn http1_minor_version(version: &[u8]) -> Option<u8> {
    match version {
        [b'1', b'.', minor @ b'0'..=b'9'] => Some(minor - b'0'),
        _ => None,
    }
}

/// Reads the header lines of `block`, which may end with the blank line, into `request`.
fn read_headers<'a>(block: &'a [u8], request: &mut Request<'a>) {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    match httparse::parse_headers(block, &mut headers) {
        Ok(httparse::Status::Complete((_, headers))) => {
            for header in headers.iter() {
                apply_header(header.name.as_bytes(), header.value, false, request);
            }
        }
        // Partial when the block was cut at the size limit; an error for obs-folding, bytes
        // httparse rejects, or more than MAX_HEADERS lines.
        Ok(httparse::Status::Partial) | Err(_) => read_header_lines(block, request),
    }
}

/// Reads header lines leniently: one header per line, `name: value`, with lines that have no
/// colon ignored. A line starting with a space or tab continues the previous header
/// (obs-fold). Only the first line of a folded value is kept, because joining lines needs a
/// copy.
fn read_header_lines<'a>(block: &'a [u8], request: &mut Request<'a>) {
    let mut pending: Option<(&'a [u8], &'a [u8], bool)> = None;
    for line in block.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if matches!(line.first(), Some(b' ' | b'\t')) {
            if let Some((_, _, folded)) = pending.as_mut() {
                *folded = true;
            }
            continue;
        }
        if let Some((name, value, folded)) = pending.take() {
            apply_header(name, value, folded, request);
        }
        if let Some(colon) = line.iter().position(|&b| b == b':') {
            let name = trim_spaces(line.get(..colon).unwrap_or_default());
            let value = trim_spaces(line.get(colon + 1..).unwrap_or_default());
            pending = Some((name, value, false));
        }
    }
    if let Some((name, value, folded)) = pending {
        apply_header(name, value, folded, request);
    }
}

/// Stores the header in `request` if it is one the sensor reads and the first of its name.
fn apply_header<'a>(name: &[u8], value: &'a [u8], folded: bool, request: &mut Request<'a>) {
    let value = trim_spaces(value);
    if name.eq_ignore_ascii_case(b"host") && request.host.is_none() {
        request.lossy |= folded;
        request.host = Some(field_text(value, &mut request.lossy));
    } else if name.eq_ignore_ascii_case(b"user-agent") && request.user_agent.is_none() {
        request.lossy |= folded;
        request.user_agent = Some(field_text(value, &mut request.lossy));
    } else if name.eq_ignore_ascii_case(b"content-length") && request.content_length.is_none() {
        request.content_length = parse_decimal(value);
    } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
        let last_coding = value.rsplit(|&b| b == b',').next().map(trim_spaces);
        request.chunked = last_coding.is_some_and(|coding| coding.eq_ignore_ascii_case(b"chunked"));
    }
}

/// Returns the longest prefix of `bytes` that is UTF-8 and has no CR, setting `lossy` when
/// that is not all of it.
fn field_text<'a>(bytes: &'a [u8], lossy: &mut bool) -> &'a str {
    let before_cr = match bytes.iter().position(|&b| b == b'\r') {
        Some(cr) => bytes.get(..cr).unwrap_or_default(),
        None => bytes,
    };
    let text = match std::str::from_utf8(before_cr) {
        Ok(text) => text,
        Err(error) => {
            let valid = before_cr.get(..error.valid_up_to()).unwrap_or_default();
            std::str::from_utf8(valid).unwrap_or_default()
        }
    };
    *lossy |= text.len() < bytes.len();
    text
}

fn parse_decimal(value: &[u8]) -> Option<u64> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    value.iter().try_fold(0u64, |total, &digit| {
        total.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
    })
}

fn trim_spaces(bytes: &[u8]) -> &[u8] {
    let is_space = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes
        .iter()
        .position(|b| !is_space(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_space(b))
        .map_or(start, |last| last + 1);
    bytes.get(start..end).unwrap_or_default()
}

fn starts_with_ignore_case(bytes: &[u8], prefix: &[u8]) -> bool {
    bytes
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// Returns the host of a Host header value (or of a URL authority) for trail matching:
/// without the port and a trailing dot, lower-cased into `out`.
///
/// Returns `None` unless the host is a plausible DNS name (labels of 1 to 63 letters, digits,
/// `-` or `_`, 253 bytes at most) or an IPv6 literal, bracketed as in `[2001:db8::1]:8080` or
/// bare. IPv4 literals pass as names.
pub fn host_for_matching<'b>(host: &str, out: &'b mut [u8; 255]) -> Option<&'b str> {
    let host = host.trim_matches([' ', '\t']);
    let name = if let Some(rest) = host.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        if !after.is_empty() && !is_port(after.strip_prefix(':')?) {
            return None;
        }
        inside.parse::<Ipv6Addr>().ok()?;
        inside
    } else if host.bytes().filter(|&b| b == b':').count() > 1 {
        host.parse::<Ipv6Addr>().ok()?;
        host
    } else {
        let (name, port) = host.split_once(':').unwrap_or((host, ""));
        if !is_port(port) {
            return None;
        }
        let name = name.strip_suffix('.').unwrap_or(name);
        if !is_plausible_host_name(name) {
            return None;
        }
        name
    };

    let target = out.get_mut(..name.len())?;
    target.copy_from_slice(name.as_bytes());
    target.make_ascii_lowercase();
    std::str::from_utf8(target).ok()
}

/// Tests for a TCP port number, allowing the empty port that RFC 3986 permits.
fn is_port(port: &str) -> bool {
    port.is_empty()
        || (port.len() <= 5
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u32>().is_ok_and(|number| number <= 65535))
}

fn is_plausible_host_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Raw bytes shown losslessly in one line of text: printable ASCII as is except `\`, which is
/// doubled, and every other byte as `\xHH`. The output never contains a control character.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EscapedBytes<'a>(pub &'a [u8]);

impl fmt::Display for EscapedBytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.0;
        let mut plain_start = 0;
        for (index, &byte) in bytes.iter().enumerate() {
            if matches!(byte, b' '..=b'~') && byte != b'\\' {
                continue;
            }
            f.write_str(printable_ascii(bytes.get(plain_start..index)))?;
            if byte == b'\\' {
                f.write_str("\\\\")?;
            } else {
                write!(f, "\\x{byte:02x}")?;
            }
            plain_start = index + 1;
        }
        f.write_str(printable_ascii(bytes.get(plain_start..)))
    }
}

/// Converts a run of printable ASCII, which is always UTF-8.
fn printable_ascii(bytes: Option<&[u8]>) -> &str {
    std::str::from_utf8(bytes.unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_prefix_could_start_request() {
        assert!(could_start_request(b"G"));
        assert!(could_start_request(b"GE"));
        assert!(could_start_request(b"\r\npo"));
        assert!(!could_start_request(b"GX"));
        assert!(!could_start_request(b""));
        assert!(!could_start_request(b"\r\n"));
    }

    fn complete(buf: &[u8]) -> Request<'_> {
        match parse_request(buf) {
            Parse::Complete(request) => request,
            other => panic!("expected a complete request, got {other:?}"),
        }
    }

    const SIMPLE_GET: &[u8] = b"GET /index.html HTTP/1.1\r\n\
        Host: www.example.com\r\n\
        User-Agent: curl/8.5.0\r\n\
        Accept: */*\r\n\
        \r\n";

    #[test]
    fn simple_get_fields_read() {
        let request = complete(SIMPLE_GET);
        assert_eq!(request.method, "GET");
        assert_eq!(request.path, "/index.html");
        assert_eq!(request.raw_path, b"/index.html");
        assert_eq!(request.version, Some(1));
        assert_eq!(request.host, Some("www.example.com"));
        assert_eq!(request.user_agent, Some("curl/8.5.0"));
        assert_eq!(request.content_length, None);
        assert_eq!(request.header_len, SIMPLE_GET.len());
        assert!(!request.lossy);
        assert!(!request.headers_truncated);
    }

    #[test]
    fn http_1_0_with_bare_lf() {
        let request = complete(b"GET / HTTP/1.0\nUser-Agent:\n\n");
        assert_eq!(request.version, Some(0));
        assert_eq!(request.user_agent, Some(""));
        assert_eq!(request.host, None);
        assert_eq!(request.header_len, 28);
    }

    #[test]
    fn lower_case_method_and_names() {
        let buf = b"get /a HTTP/1.1\r\nhost: 146.190.62.39\r\nuser-agent: x\r\n\r\n";
        assert!(starts_like_request(buf));
        let request = complete(buf);
        assert_eq!(request.method, "get");
        assert_eq!(request.host, Some("146.190.62.39"));
        assert_eq!(request.user_agent, Some("x"));
    }

    #[test]
    fn http_0_9_line_complete() {
        let buf = b"GET /bad.html\r\n";
        let request = complete(buf);
        assert_eq!(request.path, "/bad.html");
        assert_eq!(request.version, None);
        assert_eq!(request.header_len, buf.len());
    }

    #[test]
    fn http_0_9_line_waits_for_lf() {
        assert_eq!(parse_request(b"GET /bad.html"), Parse::Partial);
    }

    #[test]
    fn nul_and_backslash_path_kept() {
        // An IIS directory traversal attempt: no version, a NUL byte, a bare LF.
        let buf = b"GET /msadc/..%2f../..%2f../.RKNWUrdooM+WskO2IiALQTI\x00d.exe?/c+dir+c:\\\n";
        let request = complete(buf);
        assert_eq!(
            request.path,
            "/msadc/..%2f../..%2f../.RKNWUrdooM+WskO2IiALQTI\0d.exe?/c+dir+c:\\"
        );
        assert_eq!(request.version, None);
        assert!(!request.lossy);
        assert_eq!(
            EscapedBytes(request.raw_path).to_string(),
            r"/msadc/..%2f../..%2f../.RKNWUrdooM+WskO2IiALQTI\x00d.exe?/c+dir+c:\\"
        );
    }

    #[test]
    fn odd_url_characters_kept() {
        let buf = b"GET /~a/b%20c/r%FChma/..\\x/+y/~z,w.pdf HTTP/1.0\r\nHost: h\r\n\r\n";
        let request = complete(buf);
        assert_eq!(request.path, "/~a/b%20c/r%FChma/..\\x/+y/~z,w.pdf");
    }

    #[test]
    fn non_utf8_path_cut_and_flagged() {
        let buf = b"GET /a\xc0\xafb HTTP/1.1\r\nHost: h\r\n\r\n";
        let request = complete(buf);
        assert_eq!(request.path, "/a");
        assert_eq!(request.raw_path, b"/a\xc0\xafb");
        assert!(request.lossy);
        assert_eq!(EscapedBytes(request.raw_path).to_string(), r"/a\xc0\xafb");
    }

    #[test]
    fn space_inside_target_kept() {
        let request = complete(b"GET /a b HTTP/1.1\r\n\r\n");
        assert_eq!(request.path, "/a b");
        assert_eq!(request.version, Some(1));
    }

    #[test]
    fn absolute_form_target_kept() {
        let buf = b"GET http://bro.org/ HTTP/1.1\r\nHost: bro.org\r\n\r\n";
        let request = complete(buf);
        assert_eq!(request.path, "http://bro.org/");
        assert_eq!(request.host, Some("bro.org"));
    }

    #[test]
    fn folded_header_keeps_first_line() {
        let buf = b"GET / HTTP/1.1\r\n\
            User-Agent: Mozilla/5.0\r\n \
            (compatible; folded)\r\n\
            Host: folded.example\r\n\
            \r\n";
        let request = complete(buf);
        assert_eq!(request.user_agent, Some("Mozilla/5.0"));
        assert_eq!(request.host, Some("folded.example"));
        assert!(request.lossy);
        assert_eq!(request.header_len, buf.len());
    }

    #[test]
    fn folded_other_header_not_lossy() {
        let buf = b"GET / HTTP/1.1\r\nX-Long: a\r\n\tb\r\nHost: h\r\n\r\n";
        let request = complete(buf);
        assert_eq!(request.host, Some("h"));
        assert!(!request.lossy);
    }

    #[test]
    fn bare_cr_in_value_cut() {
        let request = complete(b"GET / HTTP/1.1\r\nUser-Agent: a\rb\r\n\r\n");
        assert_eq!(request.user_agent, Some("a"));
        assert!(request.lossy);
    }

    #[test]
    fn head_split_at_every_byte() {
        for cut in 1..SIMPLE_GET.len() {
            assert_eq!(
                parse_request(&SIMPLE_GET[..cut]),
                Parse::Partial,
                "cut at {cut}"
            );
        }
        assert_eq!(complete(SIMPLE_GET).host, Some("www.example.com"));
    }

    #[test]
    fn pipelined_requests_follow_header_len() {
        let mut stream = Vec::new();
        stream.extend_from_slice(b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n");
        stream.extend_from_slice(b"hello");
        stream.extend_from_slice(b"GET /second HTTP/1.1\r\nHost: b\r\n\r\n");

        let first = complete(&stream);
        assert_eq!(first.content_length, Some(5));
        let next = first.header_len + first.content_length.unwrap() as usize;
        let second = complete(&stream[next..]);
        assert_eq!(second.path, "/second");
        assert_eq!(second.host, Some("b"));
    }

    #[test]
    fn leading_empty_line_skipped() {
        let buf = b"\r\nGET /after-body HTTP/1.1\r\n\r\n";
        assert!(starts_like_request(buf));
        let request = complete(buf);
        assert_eq!(request.path, "/after-body");
        assert_eq!(request.header_len, buf.len());
    }

    #[test]
    fn chunked_encoding_detected() {
        let buf = b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n";
        assert!(complete(buf).chunked);
    }

    #[test]
    fn invalid_content_length_ignored() {
        let buf = b"POST / HTTP/1.1\r\nContent-Length: 12abc\r\n\r\n";
        assert_eq!(complete(buf).content_length, None);
    }

    #[test]
    fn first_host_header_wins() {
        let buf = b"GET / HTTP/1.1\r\nHost: first\r\nHost: second\r\n\r\n";
        assert_eq!(complete(buf).host, Some("first"));
    }

    #[test]
    fn many_headers_still_read() {
        let mut buf = b"GET / HTTP/1.1\r\n".to_vec();
        for index in 0..MAX_HEADERS + 10 {
            buf.extend_from_slice(format!("X-Filler-{index}: v\r\n").as_bytes());
        }
        buf.extend_from_slice(b"Host: late.example\r\n\r\n");
        let request = complete(&buf);
        assert_eq!(request.host, Some("late.example"));
        assert_eq!(request.header_len, buf.len());
    }

    #[test]
    fn oversized_head_cut_at_limit() {
        let mut buf = b"GET / HTTP/1.1\r\nHost: big.example\r\n".to_vec();
        while buf.len() < MAX_HEADER_BYTES + 100 {
            buf.extend_from_slice(b"X-Filler: 0123456789abcdef\r\n");
        }
        let request = complete(&buf);
        assert!(request.headers_truncated);
        assert_eq!(request.host, Some("big.example"));
        assert!(request.header_len <= MAX_HEADER_BYTES);
    }

    #[test]
    fn short_head_without_blank_waits() {
        let buf = b"GET / HTTP/1.1\r\nHost: big.example\r\nX-Filler: 1\r\n";
        assert_eq!(parse_request(buf), Parse::Partial);
    }

    #[test]
    fn oversized_request_line_rejected() {
        let mut buf = b"GET /".to_vec();
        buf.resize(MAX_HEADER_BYTES + 1, b'a');
        assert_eq!(parse_request(&buf), Parse::LineTooLong);
    }

    #[test]
    fn method_prefix_waits() {
        assert_eq!(parse_request(b""), Parse::Partial);
        assert_eq!(parse_request(b"GE"), Parse::Partial);
        assert_eq!(parse_request(b"propf"), Parse::Partial);
    }

    #[test]
    fn other_protocols_not_http() {
        for buf in [
            &b"HTTP/1.1 200 OK\r\n\r\n"[..],
            b"SSH-2.0-OpenSSH_8.7\r\n",
            b"\x16\x03\x01\x02\x00\x01",
            b"GETX / HTTP/1.1\r\n\r\n",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        ] {
            assert_eq!(parse_request(buf), Parse::NotHttp, "{}", EscapedBytes(buf));
            assert!(!starts_like_request(buf), "{}", EscapedBytes(buf));
        }
    }

    #[test]
    fn unsupported_version_not_http() {
        assert_eq!(parse_request(b"GET / HTTP/2.0\r\n\r\n"), Parse::NotHttp);
    }

    #[test]
    fn empty_target_not_http() {
        assert_eq!(parse_request(b"GET \r\n"), Parse::NotHttp);
    }

    #[test]
    fn webdav_method_recognised() {
        assert!(starts_like_request(b"PROPFIND /dav/ HTTP/1.1\r\n"));
        assert!(!starts_like_request(b"PROPFIND/dav/"));
    }

    #[test]
    fn host_for_matching_cases() {
        let cases: [(&str, Option<&str>); 14] = [
            ("WWW.Example.COM", Some("www.example.com")),
            ("example.com.", Some("example.com")),
            ("192.168.2.21:8000", Some("192.168.2.21")),
            ("example.com:", Some("example.com")),
            ("[2001:DB8::1]:8080", Some("2001:db8::1")),
            ("[::1]", Some("::1")),
            ("2001:db8::2", Some("2001:db8::2")),
            (" spaced.example ", Some("spaced.example")),
            ("", None),
            ("bad host", None),
            ("a..b", None),
            ("example.com:99999", None),
            ("[not-v6]:80", None),
            ("ex\"ample.com", None),
        ];
        for (host, expected) in cases {
            let mut out = [0u8; 255];
            assert_eq!(host_for_matching(host, &mut out), expected, "host {host:?}");
        }
    }

    #[test]
    fn host_label_over_63_rejected() {
        let host = format!("{}.com", "a".repeat(64));
        let mut out = [0u8; 255];
        assert_eq!(host_for_matching(&host, &mut out), None);
    }

    #[test]
    fn escaped_bytes_render_controls() {
        let text = EscapedBytes(b"a b\t\"\\\x7f\xff").to_string();
        assert_eq!(text, r#"a b\x09"\\\x7f\xff"#);
    }

    mod random_input {
        use super::*;
        use proptest::prelude::*;

        fn within(outer: &[u8], inner: &[u8]) -> bool {
            let outer = outer.as_ptr_range();
            let inner = inner.as_ptr_range();
            outer.start <= inner.start && inner.end <= outer.end
        }

        fn check_request(buf: &[u8]) -> Result<(), TestCaseError> {
            if let Parse::Complete(request) = parse_request(buf) {
                prop_assert!(request.header_len <= buf.len());
                prop_assert!(within(buf, request.raw_path));
                let fields = [
                    Some(request.method),
                    Some(request.path),
                    request.host,
                    request.user_agent,
                ];
                for field in fields.into_iter().flatten() {
                    prop_assert!(within(buf, field.as_bytes()));
                    prop_assert!(!field.contains(['\r', '\n']));
                }
            }
            Ok(())
        }

        proptest! {
            #[test]
            fn random_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..400)) {
                check_request(&buf)?;
            }

            #[test]
            fn request_like_bytes_stay_inside(
                body in proptest::collection::vec(
                    prop_oneof![Just(b'\r'), Just(b'\n'), Just(b' '), Just(b':'), Just(b'\t'),
                                Just(0xff), b'A'..=b'z'],
                    0..300,
                ),
            ) {
                let mut buf = b"GET /".to_vec();
                buf.extend(body);
                check_request(&buf)?;
            }
        }
    }
}
