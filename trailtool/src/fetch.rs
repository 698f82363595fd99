//! HTTP downloads of feeds and stores: timeouts, a size limit, gzip decoding and conditional
//! GET.

use std::io::{self, BufRead, BufReader, Read, Write};

use flate2::bufread::MultiGzDecoder;

use crate::config::DownloadConfig;

/// Maximum number of redirects followed: enough for an HTTP-to-HTTPS redirect plus a moved
/// file, and a bound on redirect loops.
const MAX_REDIRECTS: usize = 5;

/// The first two bytes of every gzip member (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Validators of a previous download, sent back as `If-None-Match` and `If-Modified-Since`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Validators {
    /// The `ETag` header, sent back verbatim.
    pub etag: Option<String>,
    /// The `Last-Modified` header, sent back verbatim.
    pub last_modified: Option<String>,
}

/// The result of a download that did not fail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fetched {
    /// The server returned 304 Not Modified, so the previous download is still current.
    NotModified,
    /// The body was written to the sink.
    Body {
        /// Validators for the next conditional GET.
        validators: Validators,
        /// Body bytes after gzip decoding.
        decoded_bytes: u64,
        /// Whether a cut-short body would have been detected: the response announced its
        /// length, or it was gzip-encoded (a cut gzip stream fails to decode).
        length_checked: bool,
    },
}

/// A download that failed. Each variant names the URL.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{url}: timed out after {seconds} s")]
    Timeout { url: String, seconds: u64 },

    #[error("{url}: failed to connect: {message}")]
    Connect { url: String, message: String },

    #[error("{url}: HTTP status {status} {reason}")]
    Status {
        url: String,
        status: u16,
        reason: String,
    },

    #[error("{url}: the body exceeds the limit of {limit} bytes")]
    TooLarge { url: String, limit: u64 },

    /// The connection closed before `Content-Length` bytes arrived.
    #[error("{url}: the body is truncated: {received} of {expected} bytes received")]
    Truncated {
        url: String,
        expected: u64,
        received: u64,
    },

    #[error("{url}: invalid gzip body: {source}")]
    Gzip { url: String, source: io::Error },

    #[error("{url}: the request failed: {message}")]
    Request { url: String, message: String },

    /// The sink rejected the body, for instance because the disk is full.
    #[error("{url}: failed to store the body: {source}")]
    Sink { url: String, source: io::Error },
}

/// Downloads `url` into `sink`, sending `previous` as conditional GET validators.
///
/// The body is decoded when the response has `Content-Encoding: gzip` or starts with the
/// gzip magic bytes. Both the bytes received and the decoded bytes are limited to `limit`.
/// A failure can leave part of the body in `sink`, so callers write to a buffer or a
/// temporary file.
pub fn fetch(
    url: &str,
    previous: &Validators,
    options: &DownloadConfig,
    limit: u64,
    sink: &mut dyn Write,
) -> Result<Fetched, FetchError> {
    let seconds = options.connect_timeout_s + options.read_timeout_s;
    let mut request = minreq::get(url)
        .with_header("User-Agent", options.user_agent.as_str())
        .with_header("Accept-Encoding", "gzip")
        .with_timeout(seconds)
        .with_max_redirects(MAX_REDIRECTS);
    if let Some(etag) = &previous.etag {
        request = request.with_header("If-None-Match", etag.as_str());
    }
    if let Some(last_modified) = &previous.last_modified {
        request = request.with_header("If-Modified-Since", last_modified.as_str());
    }
    if let Some(proxy) = &options.proxy {
        let proxy = minreq::Proxy::new(proxy).map_err(|error| request_error(url, error))?;
        request = request.with_proxy(proxy);
    }

    let response = request
        .send_lazy()
        .map_err(|error| classify(url, seconds, error))?;

    if response.status_code == 304 {
        return Ok(Fetched::NotModified);
    }
    if !(200..300).contains(&response.status_code) {
        return Err(FetchError::Status {
            url: url.to_owned(),
            status: response.status_code,
            reason: response.reason_phrase.clone(),
        });
    }

    let header = |name: &str| {
        response
            .headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.trim().to_owned())
    };
    let validators = Validators {
        etag: header("etag"),
        last_modified: header("last-modified"),
    };
    let gzip_encoded = header("content-encoding")
        .is_some_and(|encoding| encoding.to_ascii_lowercase().contains("gzip"));
    let content_length = header("content-length").and_then(|value| value.parse::<u64>().ok());
    if content_length.is_some_and(|length| length > limit) {
        return Err(too_large(url, limit));
    }

    let mut body = Body {
        url,
        seconds,
        limit,
        content_length,
        received: CountingReader {
            inner: response,
            count: 0,
            limit,
        },
    };
    let decoded_bytes = body.copy_to(gzip_encoded, sink)?;
    Ok(Fetched::Body {
        validators,
        decoded_bytes,
        length_checked: content_length.is_some() || gzip_encoded,
    })
}

/// Downloads `url` into memory; see [`fetch`].
pub fn fetch_to_vec(
    url: &str,
    previous: &Validators,
    options: &DownloadConfig,
    limit: u64,
) -> Result<(Fetched, Vec<u8>), FetchError> {
    let mut bytes = Vec::new();
    let fetched = fetch(url, previous, options, limit, &mut bytes)?;
    Ok((fetched, bytes))
}

/// The body of a successful response, being read.
struct Body<'a, R> {
    url: &'a str,
    seconds: u64,
    limit: u64,
    content_length: Option<u64>,
    received: CountingReader<R>,
}

impl<R: Read> Body<'_, R> {
    /// Copies the decoded body to `sink` and returns its length.
    fn copy_to(&mut self, gzip_encoded: bool, sink: &mut dyn Write) -> Result<u64, FetchError> {
        let url = self.url;
        let limit = self.limit;
        let mut buffered = BufReader::new(&mut self.received);

        // Some servers send gzip files without the header, so the magic bytes decide too.
        let starts_with_magic = match buffered.fill_buf() {
            Ok(start) => start.starts_with(&GZIP_MAGIC),
            Err(error) => return Err(self.read_error(error, false)),
        };
        let gzip = gzip_encoded || starts_with_magic;

        let copied = match gzip {
            true => copy_limited(&mut MultiGzDecoder::new(buffered), sink, limit),
            false => copy_limited(&mut buffered, sink, limit),
        };

        match copied {
            Ok(decoded_bytes) => {
                self.check_complete()?;
                Ok(decoded_bytes)
            }
            Err(CopyError::TooLarge) => Err(too_large(url, limit)),
            Err(CopyError::Sink(source)) => Err(FetchError::Sink {
                url: url.to_owned(),
                source,
            }),
            Err(CopyError::Read(error)) => Err(self.read_error(error, gzip)),
        }
    }

    /// Fails when fewer bytes arrived than `Content-Length` announced.
    ///
    /// NOTE: without `Content-Length` (a chunked body, or one ended by closing the connection)
    /// a cut-short plain-text body is not detected, because minreq 3 reports end of file
    /// inside a chunk as a normal end. `Fetched::Body::length_checked` reports that case, and
    /// the update drops the unterminated last line of such a body.
    fn check_complete(&self) -> Result<(), FetchError> {
        match self.content_length {
            Some(expected) if self.received.count < expected => Err(FetchError::Truncated {
                url: self.url.to_owned(),
                expected,
                received: self.received.count,
            }),
            _ => Ok(()),
        }
    }

    /// Explains a read error. A connection cut before `Content-Length` shows up as a gzip
    /// or socket error, so truncation is checked before those, but after timeouts.
    fn read_error(&self, error: io::Error, gzip: bool) -> FetchError {
        if is_timeout(&error) {
            return FetchError::Timeout {
                url: self.url.to_owned(),
                seconds: self.seconds,
            };
        }
        if let Err(truncated) = self.check_complete() {
            return truncated;
        }
        if self.received.count > self.limit {
            return too_large(self.url, self.limit);
        }
        match gzip {
            true => FetchError::Gzip {
                url: self.url.to_owned(),
                source: error,
            },
            false => FetchError::Request {
                url: self.url.to_owned(),
                message: error.to_string(),
            },
        }
    }
}

/// Counts the bytes read through it, the body as received before gzip decoding, and fails
/// once they exceed `limit`. A gzip body of many empty members would otherwise be read
/// without end, because it decodes to nothing.
struct CountingReader<R> {
    inner: R,
    count: u64,
    limit: u64,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.count += read as u64;
        if self.count > self.limit {
            return Err(io::Error::other("the body exceeds the download limit"));
        }
        Ok(read)
    }
}

enum CopyError {
    TooLarge,
    Read(io::Error),
    Sink(io::Error),
}

/// Copies `reader` into `sink`, failing as soon as more than `limit` bytes come out of
/// `reader`, so a small gzip body cannot expand into an unbounded one.
fn copy_limited(reader: &mut dyn Read, sink: &mut dyn Write, limit: u64) -> Result<u64, CopyError> {
    let mut buffer = vec![0u8; 64 * 1024];
    let mut total: u64 = 0;

    loop {
        let read = match reader.read(&mut buffer) {
            Ok(0) => return Ok(total),
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(CopyError::Read(error)),
        };

        total += read as u64;
        if total > limit {
            return Err(CopyError::TooLarge);
        }
        sink.write_all(&buffer[..read]).map_err(CopyError::Sink)?;
    }
}

fn too_large(url: &str, limit: u64) -> FetchError {
    FetchError::TooLarge {
        url: url.to_owned(),
        limit,
    }
}

fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    )
}

/// Sorts a minreq error from sending the request or reading the headers.
fn classify(url: &str, seconds: u64, error: minreq::Error) -> FetchError {
    match error {
        minreq::Error::IoError(io) if is_timeout(&io) => FetchError::Timeout {
            url: url.to_owned(),
            seconds,
        },
        minreq::Error::IoError(io) => FetchError::Connect {
            url: url.to_owned(),
            message: io.to_string(),
        },
        minreq::Error::AddressNotFound => FetchError::Connect {
            url: url.to_owned(),
            message: "the host name did not resolve to an address".to_owned(),
        },
        other => request_error(url, other),
    }
}

fn request_error(url: &str, error: minreq::Error) -> FetchError {
    FetchError::Request {
        url: url.to_owned(),
        message: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use flate2::write::GzEncoder;
    use flate2::Compression;

    #[test]
    fn copy_stops_past_limit() {
        let mut sink = Vec::new();
        let result = copy_limited(&mut &[0u8; 100][..], &mut sink, 99);

        assert!(matches!(result, Err(CopyError::TooLarge)));
    }

    #[test]
    fn copy_accepts_exact_limit() {
        let mut sink = Vec::new();
        let result = copy_limited(&mut &[0u8; 100][..], &mut sink, 100);

        assert!(matches!(result, Ok(100)));
    }

    #[test]
    fn gzip_magic_is_detected() {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(b"198.51.100.7\n").unwrap();
        let compressed = encoder.finish().unwrap();

        assert!(compressed.starts_with(&GZIP_MAGIC));
    }

    #[test]
    fn missing_bytes_are_truncation() {
        let body = Body {
            url: "http://127.0.0.1/x",
            seconds: 1,
            limit: 1000,
            content_length: Some(10),
            received: CountingReader {
                inner: &b"12345"[..],
                count: 5,
                limit: 1000,
            },
        };

        assert!(matches!(
            body.check_complete(),
            Err(FetchError::Truncated { expected: 10, .. })
        ));
    }
}
