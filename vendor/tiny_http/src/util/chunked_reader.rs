//! trailwatch: a decoder of the chunked transfer coding (RFC 9112 section 7.1) with bounded
//! lines. It replaces `chunked_transfer::Decoder` 1.5.0 for request bodies, which collected a
//! chunk-size line until a CR came, without limit. One client sending hex digits and no CR
//! grew the viewer by about 120 MiB a second (measured over loopback) until its body deadline.

use std::io::{Error as IoError, ErrorKind, Read, Result as IoResult};

/// Maximum length of a chunk-size line, chunk extensions and CRLF included, and of each
/// trailer line.
pub const MAX_CHUNK_LINE_LEN: usize = 4 * 1024;

/// Maximum length of the trailer section after the last chunk.
pub const MAX_TRAILER_LEN: usize = 16 * 1024;

/// Reader of the data in a chunked body, which ends after the last chunk and its trailer
/// section. Invalid framing fails the read with `InvalidData`: a size that is not hexadecimal
/// or does not fit a `usize`, a chunk not followed by CRLF, a bare LF, or a line longer than
/// [`MAX_CHUNK_LINE_LEN`]. A connection closed early fails it with `UnexpectedEof`.
pub struct ChunkedReader<R: Read> {
    source: R,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The next bytes are a chunk-size line.
    SizeLine,
    /// This many bytes of chunk data are left, followed by CRLF.
    Data(usize),
    /// The last chunk and the trailer section were read.
    Done,
}

impl<R: Read> ChunkedReader<R> {
    pub fn new(source: R) -> ChunkedReader<R> {
        ChunkedReader {
            source,
            state: State::SizeLine,
        }
    }

    /// Reads one line up to its CRLF into `line`, without the CRLF.
    fn read_line(&mut self, line: &mut Vec<u8>, max_len: usize) -> IoResult<()> {
        line.clear();
        loop {
            let byte = self.read_byte()?;
            if byte == b'\n' {
                return match line.pop() {
                    Some(b'\r') => Ok(()),
                    _ => Err(invalid("a line of the chunked body ends in a bare LF")),
                };
            }
            line.push(byte);
            // The LF still to come counts against the limit too.
            if line.len() + 1 > max_len {
                let message = format!("a line of the chunked body exceeds {max_len} bytes");
                return Err(IoError::new(ErrorKind::InvalidData, message));
            }
        }
    }

    fn read_byte(&mut self) -> IoResult<u8> {
        let mut byte = [0];
        loop {
            match self.source.read(&mut byte) {
                Ok(0) => {
                    let message = "the connection closed inside a chunked body";
                    return Err(IoError::new(ErrorKind::UnexpectedEof, message));
                }
                Ok(_) => return Ok(byte[0]),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn read_crlf(&mut self) -> IoResult<()> {
        if self.read_byte()? == b'\r' && self.read_byte()? == b'\n' {
            Ok(())
        } else {
            Err(invalid("a chunk is not followed by CRLF"))
        }
    }

    /// Reads a chunk-size line and returns the size. Chunk extensions are skipped.
    fn read_size(&mut self) -> IoResult<usize> {
        let mut line = Vec::new();
        self.read_line(&mut line, MAX_CHUNK_LINE_LEN)?;
        let end = line.iter().position(|&b| b == b';').unwrap_or(line.len());
        let digits = line[..end].trim_ascii_end();
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_hexdigit) {
            return Err(invalid("a chunk size is not hexadecimal"));
        }
        // Only hex digits are left, so the text is ASCII and only overflow can fail.
        let text = std::str::from_utf8(digits).map_err(|_| invalid("a chunk size is not ASCII"))?;
        usize::from_str_radix(text, 16).map_err(|_| invalid("a chunk size is too large"))
    }

    /// Reads the trailer section up to its empty line and discards it.
    fn skip_trailers(&mut self) -> IoResult<()> {
        let mut line = Vec::new();
        let mut total = 0;
        loop {
            self.read_line(&mut line, MAX_CHUNK_LINE_LEN)?;
            if line.is_empty() {
                return Ok(());
            }
            total += line.len() + 2;
            if total > MAX_TRAILER_LEN {
                let message = format!("chunked body trailers exceed {MAX_TRAILER_LEN} bytes");
                return Err(IoError::new(ErrorKind::InvalidData, message));
            }
        }
    }
}

impl<R: Read> Read for ChunkedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> IoResult<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match self.state {
                State::Done => return Ok(0),
                State::SizeLine => match self.read_size()? {
                    0 => {
                        self.skip_trailers()?;
                        self.state = State::Done;
                    }
                    size => self.state = State::Data(size),
                },
                State::Data(left) => {
                    let want = left.min(buf.len());
                    let read = self.source.read(&mut buf[..want])?;
                    if read == 0 {
                        let message = "the connection closed inside a chunk";
                        return Err(IoError::new(ErrorKind::UnexpectedEof, message));
                    }
                    if read == left {
                        self.read_crlf()?;
                        self.state = State::SizeLine;
                    } else {
                        self.state = State::Data(left - read);
                    }
                    return Ok(read);
                }
            }
        }
    }
}

fn invalid(message: &str) -> IoError {
    IoError::new(ErrorKind::InvalidData, message.to_string())
}

#[cfg(test)]
mod tests {
    use super::{ChunkedReader, MAX_CHUNK_LINE_LEN};
    use std::io::{ErrorKind, Read};

    fn decode(body: &[u8]) -> std::io::Result<Vec<u8>> {
        let mut data = Vec::new();
        ChunkedReader::new(body).read_to_end(&mut data)?;
        Ok(data)
    }

    #[test]
    fn chunks_extensions_and_trailers_decoded() {
        let body = b"3\r\nabc\r\nA;name=\"v\"\r\n0123456789\r\n0\r\nX-Sum: 1\r\n\r\nrest";

        assert_eq!(decode(body).unwrap(), b"abc0123456789");
    }

    #[test]
    fn reads_stop_at_last_chunk() {
        let mut reader = ChunkedReader::new(&b"2\r\nab\r\n0\r\n\r\nGET / HTTP/1.1"[..]);
        let mut data = Vec::new();
        reader.read_to_end(&mut data).unwrap();

        assert_eq!(data, b"ab");
        let mut rest = String::new();
        reader.source.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "GET / HTTP/1.1");
    }

    #[test]
    fn invalid_framing_rejected() {
        let cases: [&[u8]; 8] = [
            b"+3\r\nabc\r\n0\r\n\r\n",
            b"-3\r\nabc\r\n0\r\n\r\n",
            b"zz\r\nabc\r\n0\r\n\r\n",
            b"\r\nabc\r\n0\r\n\r\n",
            b"3\nabc\r\n0\r\n\r\n",
            b"3\r\nabcXY0\r\n\r\n",
            b"10000000000000000\r\n",
            b"0\r\nX: 1\n\r\n",
        ];
        for body in cases {
            let error = decode(body).unwrap_err();

            assert_eq!(error.kind(), ErrorKind::InvalidData, "{body:?}");
        }
    }

    #[test]
    fn long_size_line_rejected() {
        // All zeros would be size 0, the end of the body, if the line were read to its end.
        let mut body = vec![b'0'; 100 * 1024];
        body.extend_from_slice(b"\r\n\r\n");

        let error = decode(&body).unwrap_err();

        assert_eq!(error.kind(), ErrorKind::InvalidData);
    }

    #[test]
    fn size_line_at_limit_accepted() {
        let mut body = vec![b'0'; MAX_CHUNK_LINE_LEN - 3];
        body.extend_from_slice(b"1\r\nx\r\n0\r\n\r\n");

        assert_eq!(decode(&body).unwrap(), b"x");
    }

    #[test]
    fn cut_short_body_fails() {
        for body in [&b"5\r\nab"[..], b"2\r\nab\r\n", b"2\r\nab\r\n0\r\n"] {
            let error = decode(body).unwrap_err();

            assert_eq!(error.kind(), ErrorKind::UnexpectedEof, "{body:?}");
        }
    }
}
