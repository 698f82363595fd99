use ascii::AsciiString;

use std::io::Error as IoError;
use std::io::Result as IoResult;
use std::io::{BufReader, BufWriter, ErrorKind, Read};

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::{Duration, Instant};

use crate::common::{HTTPVersion, Method};
use crate::util::RefinedTcpStream;
use crate::util::{SequentialReader, SequentialReaderBuilder, SequentialWriterBuilder};
use crate::Request;

/// A ClientConnection is an object that will store a socket to a client
/// and return Request objects.
pub struct ClientConnection {
    // address of the client
    remote_addr: IoResult<Option<SocketAddr>>,

    // sequence of Readers to the stream, so that the data is not read in
    //  the wrong order
    source: SequentialReaderBuilder<BufReader<RefinedTcpStream>>,

    // sequence of Writers to the stream, to avoid writing response #2 before
    //  response #1
    sink: SequentialWriterBuilder<BufWriter<RefinedTcpStream>>,

    // Reader to read the next header from
    next_header_source: SequentialReader<BufReader<RefinedTcpStream>>,

    // set to true if we know that the previous request is the last one
    no_more_requests: bool,

    // true if the connection goes through SSL
    secure: bool,
}

/// trailwatch: maximum length of the request line and of each header line, CRLF included.
/// Apache's `LimitRequestLine` and `LimitRequestFieldSize` default to about the same.
pub const MAX_LINE_LEN: usize = 8 * 1024;

/// trailwatch: maximum length of a whole request head, request line and headers included.
pub const MAX_HEAD_LEN: usize = 64 * 1024;

/// trailwatch: maximum time from the first byte of a request head to its end. A socket read
/// timeout bounds each wait for a byte, and this bounds a client that sends one byte just
/// before every timeout.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(30);

/// Error that can happen when reading a request.
#[derive(Debug)]
enum ReadError {
    WrongRequestLine,
    WrongHeader(HTTPVersion),
    /// the client sent an unrecognized `Expect` header
    ExpectationFailed(HTTPVersion),
    ReadIoError(IoError),
    /// trailwatch: the request line is longer than `MAX_LINE_LEN`.
    RequestLineTooLong,
    /// trailwatch: a header line is longer than `MAX_LINE_LEN`, or the head is longer than
    /// `MAX_HEAD_LEN`.
    HeadTooLarge(HTTPVersion),
    /// trailwatch: the head took longer than `HEAD_TIMEOUT`.
    HeadTimedOut,
    /// trailwatch: a `Transfer-Encoding` other than `chunked` alone.
    UnsupportedTransferEncoding(HTTPVersion),
}

/// trailwatch: reason a line of the request head could not be read.
#[derive(Debug)]
enum LineError {
    Io(IoError),
    /// No CRLF came within the allowed length.
    TooLong,
    /// The head's deadline passed, or a read timed out after the head's first byte.
    TimedOut,
    /// A byte outside ASCII, or a LF without the CR before it.
    Malformed,
}

impl ClientConnection {
    /// Creates a new `ClientConnection` that takes ownership of the `TcpStream`.
    pub fn new(
        write_socket: RefinedTcpStream,
        mut read_socket: RefinedTcpStream,
    ) -> ClientConnection {
        let remote_addr = read_socket.peer_addr();
        let secure = read_socket.secure();

        let mut source = SequentialReaderBuilder::new(BufReader::with_capacity(1024, read_socket));
        let first_header = source.next().unwrap();

        ClientConnection {
            source,
            sink: SequentialWriterBuilder::new(BufWriter::with_capacity(1024, write_socket)),
            remote_addr,
            next_header_source: first_header,
            no_more_requests: false,
            secure,
        }
    }

    /// true if the connection is HTTPS
    pub fn secure(&self) -> bool {
        self.secure
    }

    /// Reads the next line from self.next_header_source.
    ///
    /// Reads until `CRLF` is reached. The next read will start
    ///  at the first byte of the new line.
    ///
    /// trailwatch: fails with `LineError::TooLong` once `max_len` bytes came without a CRLF,
    /// so that a client cannot make the line buffer grow without bound, and with
    /// `LineError::TimedOut` when a byte arrives after `HEAD_TIMEOUT` from `head_started`.
    /// Sets `head_started` when the head's first byte arrives.
    fn read_next_line(
        &mut self,
        max_len: usize,
        head_started: &mut Option<Instant>,
    ) -> Result<AsciiString, LineError> {
        let mut buf = Vec::new();
        let mut prev_byte_was_cr = false;

        loop {
            if buf.len() >= max_len {
                return Err(LineError::TooLong);
            }

            let byte = self.next_header_source.by_ref().bytes().next();

            let byte = match byte {
                // trailwatch: a socket read timeout shows as `WouldBlock` on Linux. Once part
                // of a head came, the client is told why the connection closes.
                Some(Err(e))
                    if head_started.is_some()
                        && matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                {
                    return Err(LineError::TimedOut);
                }
                Some(b) => b.map_err(LineError::Io)?,
                None => {
                    let eof = IoError::new(ErrorKind::ConnectionAborted, "Unexpected EOF");
                    return Err(LineError::Io(eof));
                }
            };

            let started = *head_started.get_or_insert_with(Instant::now);
            if started.elapsed() > HEAD_TIMEOUT {
                return Err(LineError::TimedOut);
            }

            if byte == b'\n' && prev_byte_was_cr {
                buf.pop(); // removing the '\r'
                return AsciiString::from_ascii(buf).map_err(|_| LineError::Malformed);
            }

            // trailwatch: the release waited for a CRLF after a bare LF and closed without a
            // response on bytes outside ASCII. Both now get 400 at once.
            if byte == b'\n' || !byte.is_ascii() {
                return Err(LineError::Malformed);
            }

            prev_byte_was_cr = byte == b'\r';

            buf.push(byte);
        }
    }

    /// Reads a request from the stream.
    /// Blocks until the header has been read.
    fn read(&mut self) -> Result<Request, ReadError> {
        // trailwatch: bytes of the head that may still come before it is too large.
        let mut head_left = MAX_HEAD_LEN;
        let mut head_started = None;

        let (method, path, version, headers) = {
            // reading the request line
            let (method, path, version) = {
                let line = match self.read_next_line(MAX_LINE_LEN, &mut head_started) {
                    Ok(line) => line,
                    Err(LineError::Io(e)) => return Err(ReadError::ReadIoError(e)),
                    Err(LineError::TooLong) => return Err(ReadError::RequestLineTooLong),
                    Err(LineError::TimedOut) => return Err(ReadError::HeadTimedOut),
                    Err(LineError::Malformed) => return Err(ReadError::WrongRequestLine),
                };
                head_left -= line.len() + 2;

                parse_request_line(
                    line.as_str().trim(), // TODO: remove this conversion
                )?
            };

            // getting all headers
            let headers = {
                let mut headers = Vec::new();
                loop {
                    let max_len = MAX_LINE_LEN.min(head_left);
                    let line = match self.read_next_line(max_len, &mut head_started) {
                        Ok(line) => line,
                        Err(LineError::Io(e)) => return Err(ReadError::ReadIoError(e)),
                        Err(LineError::TooLong) => return Err(ReadError::HeadTooLarge(version)),
                        Err(LineError::TimedOut) => return Err(ReadError::HeadTimedOut),
                        Err(LineError::Malformed) => return Err(ReadError::WrongHeader(version)),
                    };
                    // trailwatch: the limit above keeps the line and its CRLF within what is
                    // left of the head.
                    head_left = head_left.saturating_sub(line.len() + 2);

                    if line.is_empty() {
                        break;
                    };
                    headers.push(match FromStr::from_str(line.as_str().trim()) {
                        // TODO: remove this conversion
                        Ok(h) => h,
                        _ => return Err(ReadError::WrongHeader(version)),
                    });
                }

                // trailwatch: an invalid or doubled Content-Length leaves the end of the
                // body to a guess, and a proxy that guessed otherwise would split requests
                // differently (RFC 9112 section 6.3 makes such a message invalid).
                if has_invalid_length(&headers) {
                    return Err(ReadError::WrongHeader(version));
                }

                headers
            };

            (method, path, version, headers)
        };

        // building the writer for the request
        let writer = self.sink.next().unwrap();

        // follow-up for next potential request
        let mut data_source = self.source.next().unwrap();
        std::mem::swap(&mut self.next_header_source, &mut data_source);

        // building the next reader
        let request = crate::request::new_request(
            self.secure,
            method,
            path,
            version.clone(),
            headers,
            *self.remote_addr.as_ref().unwrap(),
            data_source,
            writer,
        )
        .map_err(|e| {
            use crate::request;
            match e {
                request::RequestCreationError::CreationIoError(e) => ReadError::ReadIoError(e),
                request::RequestCreationError::ExpectationFailed => {
                    ReadError::ExpectationFailed(version)
                }
                request::RequestCreationError::UnsupportedTransferEncoding => {
                    ReadError::UnsupportedTransferEncoding(version)
                }
            }
        })?;

        // return the request
        Ok(request)
    }
}

impl Iterator for ClientConnection {
    type Item = Request;

    /// Blocks until the next Request is available.
    /// Returns None when no new Requests will come from the client.
    fn next(&mut self) -> Option<Request> {
        use crate::{Response, StatusCode};

        // the client sent a "connection: close" header in this previous request
        //  or is using HTTP 1.0, meaning that no new request will come
        if self.no_more_requests {
            return None;
        }

        loop {
            let rq = match self.read() {
                Err(ReadError::WrongRequestLine) => {
                    let writer = self.sink.next().unwrap();
                    let response = Response::new_empty(StatusCode(400));
                    response
                        .raw_print(writer, HTTPVersion(1, 1), &[], false, None)
                        .ok();
                    return None; // we don't know where the next request would start,
                                 // se we have to close
                }

                Err(ReadError::WrongHeader(ver)) => {
                    let writer = self.sink.next().unwrap();
                    let response = Response::new_empty(StatusCode(400));
                    response.raw_print(writer, ver, &[], false, None).ok();
                    return None; // we don't know where the next request would start,
                                 // se we have to close
                }

                Err(ReadError::ReadIoError(ref err)) if err.kind() == ErrorKind::TimedOut => {
                    // request timeout
                    let writer = self.sink.next().unwrap();
                    let response = Response::new_empty(StatusCode(408));
                    response
                        .raw_print(writer, HTTPVersion(1, 1), &[], false, None)
                        .ok();
                    return None; // closing the connection
                }

                Err(ReadError::ExpectationFailed(ver)) => {
                    let writer = self.sink.next().unwrap();
                    let response = Response::new_empty(StatusCode(417));
                    response.raw_print(writer, ver, &[], true, None).ok();
                    return None; // TODO: should be recoverable, but needs handling in case of body
                }

                Err(ReadError::ReadIoError(_)) => return None,

                // trailwatch: the rest of the over-long head is never read, so the connection
                // cannot go on.
                Err(ReadError::RequestLineTooLong) => {
                    let writer = self.sink.next().unwrap();
                    let response = Response::new_empty(StatusCode(414));
                    response
                        .raw_print(writer, HTTPVersion(1, 1), &[], false, None)
                        .ok();
                    return None;
                }

                Err(ReadError::HeadTooLarge(ver)) => {
                    let writer = self.sink.next().unwrap();
                    let response = Response::new_empty(StatusCode(431));
                    response.raw_print(writer, ver, &[], false, None).ok();
                    return None;
                }

                // The body cannot be delimited, so the connection cannot go on.
                Err(ReadError::UnsupportedTransferEncoding(ver)) => {
                    let writer = self.sink.next().unwrap();
                    let response = Response::new_empty(StatusCode(501));
                    response.raw_print(writer, ver, &[], false, None).ok();
                    return None;
                }

                Err(ReadError::HeadTimedOut) => {
                    let writer = self.sink.next().unwrap();
                    let response = Response::new_empty(StatusCode(408));
                    response
                        .raw_print(writer, HTTPVersion(1, 1), &[], false, None)
                        .ok();
                    return None;
                }

                Ok(rq) => rq,
            };

            // checking HTTP version
            // trailwatch: the release wrote the 505 through a new writer of the sequence,
            // which waits until the request's own writer is done, and so blocked this thread
            // and kept the connection open for ever. The request's writer is used instead.
            // What follows, such as the rest of the HTTP/2 preface, is no HTTP/1 request, so
            // the connection closes.
            // trailwatch: HTTP/0.9 too, which the release answered with a 0.9 status line.
            if *rq.http_version() > (1, 1) || *rq.http_version() < (1, 0) {
                let writer = rq.into_writer();
                let response = Response::from_string(
                    "This server only supports HTTP versions 1.0 and 1.1".to_owned(),
                )
                .with_status_code(StatusCode(505));
                response
                    .raw_print(writer, HTTPVersion(1, 1), &[], false, None)
                    .ok();
                return None;
            }

            // updating the status of the connection
            let connection_header = rq
                .headers()
                .iter()
                .find(|h| h.field.equiv("Connection"))
                .map(|h| h.value.as_str());

            let lowercase = connection_header.map(|h| h.to_ascii_lowercase());

            match lowercase {
                Some(ref val) if val.contains("close") => self.no_more_requests = true,
                Some(ref val) if val.contains("upgrade") => self.no_more_requests = true,
                Some(ref val)
                    if !val.contains("keep-alive") && *rq.http_version() == HTTPVersion(1, 0) =>
                {
                    self.no_more_requests = true
                }
                None if *rq.http_version() == HTTPVersion(1, 0) => self.no_more_requests = true,
                _ => (),
            };

            // trailwatch: a handler may leave a chunked body unread, and the chunked reader
            // does not discard the rest when it is dropped, so the next request would be read
            // from inside the body. Closing after the response also covers Transfer-Encoding
            // sent together with Content-Length, which RFC 9112 section 6.1 requires.
            if rq.headers().iter().any(|h| h.field.equiv("Transfer-Encoding")) {
                self.no_more_requests = true;
            }

            // returning the request
            return Some(rq);
        }
    }
}

/// trailwatch: returns whether the Content-Length headers of a request are unusable: a value
/// that is not all ASCII digits or does not fit a `usize`, or values that differ. The body
/// reader ignores a value it cannot parse, so such a body would be read as the next request.
fn has_invalid_length(headers: &[crate::Header]) -> bool {
    let mut lengths = headers
        .iter()
        .filter(|h| h.field.equiv("Content-Length"))
        .map(|h| h.value.as_str());
    let Some(first) = lengths.next() else {
        return false;
    };
    let is_number = first.bytes().all(|b| b.is_ascii_digit()) && first.parse::<usize>().is_ok();
    !is_number || lengths.any(|length| length != first)
}

/// Parses a "HTTP/1.1" string.
fn parse_http_version(version: &str) -> Result<HTTPVersion, ReadError> {
    let (major, minor) = match version {
        "HTTP/0.9" => (0, 9),
        "HTTP/1.0" => (1, 0),
        "HTTP/1.1" => (1, 1),
        "HTTP/2.0" => (2, 0),
        "HTTP/3.0" => (3, 0),
        _ => return Err(ReadError::WrongRequestLine),
    };

    Ok(HTTPVersion(major, minor))
}

/// Parses the request line of the request.
/// eg. GET / HTTP/1.1
fn parse_request_line(line: &str) -> Result<(Method, String, HTTPVersion), ReadError> {
    let mut parts = line.split(' ');

    let method = parts.next().and_then(|w| w.parse().ok());
    let path = parts.next().map(ToOwned::to_owned);
    let version = parts.next().and_then(|w| parse_http_version(w).ok());

    method
        .and_then(|method| Some((method, path?, version?)))
        .ok_or(ReadError::WrongRequestLine)
}

#[cfg(test)]
mod test {
    #[test]
    fn test_parse_request_line() {
        let (method, path, ver) = super::parse_request_line("GET /hello HTTP/1.1").unwrap();

        assert!(method == crate::Method::Get);
        assert!(path == "/hello");
        assert!(ver == crate::common::HTTPVersion(1, 1));

        assert!(super::parse_request_line("GET /hello").is_err());
        assert!(super::parse_request_line("qsd qsd qsd").is_err());
    }
}
