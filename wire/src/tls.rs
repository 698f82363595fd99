//! The server name (SNI, RFC 6066 section 3) of a TLS ClientHello, read from the start of a
//! client's TCP stream.
//!
//! A ClientHello may be split across TCP segments and across TLS records: a 1.2 KB
//! post-quantum key share already makes it larger than one segment, and some clients split the
//! record on purpose. The reader walks the handshake bytes through the record headers without
//! copying them, and returns how many stream bytes it needs when they are not all there yet.
//! With Encrypted Client Hello (ECH) only the outer ClientHello is visible, so the name found
//! is its public name.

/// Maximum number of stream bytes a caller needs to buffer for one ClientHello: one full
/// record (2^14 bytes of handshake data) and its 5-byte header. Real ClientHellos, post-quantum
/// key shares included, are under 2 KB. [`Sni::Incomplete`] never requests more, and a
/// server_name that lies beyond this many bytes is reported as [`Sni::NoSni`].
pub const MAX_CLIENT_HELLO_STREAM_LEN: usize = MAX_RECORD_LEN + RECORD_HEADER_LEN;

/// Maximum length of a TLS plaintext record (RFC 8446 section 5.1).
const MAX_RECORD_LEN: usize = 1 << 14;
const RECORD_HEADER_LEN: usize = 5;
const HANDSHAKE_HEADER_LEN: usize = 4;
const CONTENT_TYPE_HANDSHAKE: u8 = 22;
const HANDSHAKE_CLIENT_HELLO: u8 = 1;
const RANDOM_LEN: usize = 32;
const MAX_SESSION_ID_LEN: u8 = 32;
const EXTENSION_SERVER_NAME: usize = 0;
const NAME_TYPE_HOST_NAME: u8 = 0;
/// Capacity of the buffer that [`client_hello_sni_lowercase`] fills.
const MAX_SERVER_NAME_LEN: usize = 255;

/// Result of looking for the server name in a ClientHello.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sni<'a> {
    /// The host_name of the server_name extension, as sent. It is 1 to 255 bytes of printable
    /// ASCII other than space, `"` and `\`, with no empty label.
    Found(&'a str),
    /// A ClientHello without a usable host_name. This covers a ClientHello without the
    /// extension, the SSLv2-compatible ClientHello (which has no extensions), a host_name that
    /// fails the checks of [`Sni::Found`], and a host_name beyond
    /// [`MAX_CLIENT_HELLO_STREAM_LEN`] bytes.
    NoSni,
    /// The stream starts like a ClientHello but ends before the server name. Call again once
    /// the stream contains `needed` bytes. `needed` is at most [`MAX_CLIENT_HELLO_STREAM_LEN`].
    /// It is a lower bound when the handshake continues in a record whose header has not
    /// arrived, so a later call may request more.
    Incomplete { needed: usize },
    /// The stream does not start with a TLS handshake record holding a ClientHello, or the
    /// ClientHello is malformed.
    NotClientHello,
}

/// Tests whether `buf` starts with the header of a TLS handshake record: content type 22 and
/// protocol version 3.0 to 3.4. It needs the first 3 bytes.
pub fn starts_like_tls_handshake(buf: &[u8]) -> bool {
    matches!(buf, [CONTENT_TYPE_HANDSHAKE, 3, 0..=4, ..])
}

/// Tests whether `buf`, shorter than the three bytes [`starts_like_tls_handshake`] checks,
/// could still grow into the start of a handshake record.
pub fn could_start_tls_handshake(buf: &[u8]) -> bool {
    matches!(buf, [CONTENT_TYPE_HANDSHAKE] | [CONTENT_TYPE_HANDSHAKE, 3])
}

/// Reads the server_name from the ClientHello at the start of `stream`, which may be the
/// concatenation of several TCP segments.
///
/// The name is returned as soon as its bytes are present, even if the rest of the ClientHello
/// has not arrived.
///
/// NOTE: a host_name that is split across two TLS records cannot be borrowed from the stream,
/// so it gives `NoSni` here. [`client_hello_sni_lowercase`] copies the name and reads it.
pub fn client_hello_sni(stream: &[u8]) -> Sni<'_> {
    let (mut reader, name_len) = match locate_host_name(stream) {
        Ok(found) => found,
        Err(outcome) => return outcome,
    };
    match reader.take_contiguous(name_len) {
        Ok(Some(name)) if is_valid_host_name(name) => {
            // The check above admits ASCII only, so the conversion cannot fail.
            std::str::from_utf8(name).map_or(Sni::NoSni, Sni::Found)
        }
        Ok(_) => Sni::NoSni,
        Err(stop) => stop.outcome(stream),
    }
}

/// Reads the server_name like [`client_hello_sni`], but copies it into `out`, ASCII
/// lower-cased and without a trailing dot. This also reads a name split across TLS records.
pub fn client_hello_sni_lowercase<'b>(stream: &[u8], out: &'b mut [u8; 255]) -> Sni<'b> {
    let (mut reader, name_len) = match locate_host_name(stream) {
        Ok(found) => found,
        Err(outcome) => return outcome,
    };
    let Some(name) = out.get_mut(..name_len) else {
        return Sni::NoSni;
    };
    if let Err(stop) = reader.copy_into(name) {
        return stop.outcome(stream);
    }
    if !is_valid_host_name(name) {
        return Sni::NoSni;
    }
    name.make_ascii_lowercase();
    let name: &'b [u8] = name;
    let name = match name.strip_suffix(b".") {
        Some(without_dot) if !without_dot.is_empty() => without_dot,
        _ => name,
    };
    std::str::from_utf8(name).map_or(Sni::NoSni, Sni::Found)
}

fn is_valid_host_name(name: &[u8]) -> bool {
    // An empty label (`.evil.com`, `a..b`) is not a host name. A trailing dot is tolerated
    // (and stripped later), although RFC 6066 section 3 does not allow it either.
    let labels = name.strip_suffix(b".").unwrap_or(name);
    let has_empty_label = labels.split(|&b| b == b'.').any(<[u8]>::is_empty);
    (1..=MAX_SERVER_NAME_LEN).contains(&name.len())
        && !has_empty_label
        && name
            .iter()
            .all(|&b| matches!(b, b'!'..=b'~') && b != b'"' && b != b'\\')
}

/// Tests for an SSLv2-format CLIENT-HELLO: a 2-byte record header with the top bit set,
/// message type 1, and version 2.0 or 3.x (RFC 5246 appendix E.2).
fn is_sslv2_client_hello(stream: &[u8]) -> bool {
    matches!(stream, [length_high, _, 1, 0, 2, ..] | [length_high, _, 1, 3, 0..=3, ..]
        if length_high & 0x80 != 0)
}

/// Walks the ClientHello up to its host_name entry and returns the reader positioned at the
/// name, with the name's length. Every other result is returned as the final [`Sni`].
fn locate_host_name(stream: &[u8]) -> Result<(HandshakeReader<'_>, usize), Sni<'static>> {
    match stream.first() {
        None => {
            return Err(Sni::Incomplete {
                needed: RECORD_HEADER_LEN,
            })
        }
        Some(&CONTENT_TYPE_HANDSHAKE) => {}
        Some(first) if first & 0x80 != 0 && stream.len() < RECORD_HEADER_LEN => {
            return Err(Sni::Incomplete {
                needed: RECORD_HEADER_LEN,
            })
        }
        Some(_) if is_sslv2_client_hello(stream) => return Err(Sni::NoSni),
        Some(_) => return Err(Sni::NotClientHello),
    }

    let mut reader = HandshakeReader::new(stream);
    match find_host_name(&mut reader) {
        Ok(Some(name_len)) => Ok((reader, name_len)),
        Ok(None) => Err(Sni::NoSni),
        Err(stop) => Err(stop.outcome(stream)),
    }
}

/// Reads the ClientHello fields in order (RFC 8446 section 4.1.2) and stops at the first
/// host_name entry of the server_name extension.
fn find_host_name(reader: &mut HandshakeReader<'_>) -> Result<Option<usize>, Stop> {
    if reader.read_u8()? != HANDSHAKE_CLIENT_HELLO {
        return Err(Stop::NotClientHello);
    }
    let body_len = reader.read_u24()?;
    reader.limit = HANDSHAKE_HEADER_LEN + body_len;

    let (major, _minor) = (reader.read_u8()?, reader.read_u8()?);
    if major != 3 {
        return Err(Stop::NotClientHello);
    }
    reader.skip(RANDOM_LEN)?;
    let session_id_len = reader.read_u8()?;
    if session_id_len > MAX_SESSION_ID_LEN {
        return Err(Stop::NotClientHello);
    }
    reader.skip(usize::from(session_id_len))?;
    let cipher_suites_len = reader.read_u16()?;
    reader.skip(cipher_suites_len)?;
    let compression_methods_len = reader.read_u8()?;
    reader.skip(usize::from(compression_methods_len))?;
    if reader.offset == reader.limit {
        return Ok(None);
    }

    let extensions_len = reader.read_u16()?;
    let extensions_end = reader.end_of(extensions_len)?;
    while reader.offset < extensions_end {
        let extension_type = reader.read_u16()?;
        let extension_len = reader.read_u16()?;
        let extension_end = reader.end_of(extension_len)?;
        if extension_end > extensions_end {
            return Err(Stop::NotClientHello);
        }
        if extension_type != EXTENSION_SERVER_NAME {
            reader.skip(extension_end - reader.offset)?;
            continue;
        }

        let list_len = reader.read_u16()?;
        let list_end = reader.end_of(list_len)?;
        if list_end > extension_end {
            return Err(Stop::NotClientHello);
        }
        while reader.offset < list_end {
            let name_type = reader.read_u8()?;
            let name_len = reader.read_u16()?;
            if reader.end_of(name_len)? > list_end {
                return Err(Stop::NotClientHello);
            }
            if name_type == NAME_TYPE_HOST_NAME {
                return Ok(Some(name_len));
            }
            reader.skip(name_len)?;
        }
        return Ok(None);
    }
    Ok(None)
}

/// Reason the handshake reader stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    /// The stream ends early. `message_len` is the length of the handshake message (header
    /// included) as far as it is known.
    NeedMore {
        message_len: usize,
    },
    NotClientHello,
}

impl Stop {
    fn outcome(self, stream: &[u8]) -> Sni<'static> {
        match self {
            Stop::NotClientHello => Sni::NotClientHello,
            Stop::NeedMore { message_len } => {
                let needed = stream_len_for(stream, message_len).max(stream.len() + 1);
                if needed <= MAX_CLIENT_HELLO_STREAM_LEN {
                    Sni::Incomplete { needed }
                } else if stream.len() < MAX_CLIENT_HELLO_STREAM_LEN {
                    Sni::Incomplete {
                        needed: MAX_CLIENT_HELLO_STREAM_LEN,
                    }
                } else {
                    Sni::NoSni
                }
            }
        }
    }
}

/// Returns the number of stream bytes that carry the first `message_len` bytes of handshake
/// data, from the record headers present. Data that those records do not cover is assumed to
/// come in one more record.
fn stream_len_for(stream: &[u8], message_len: usize) -> usize {
    let mut pos = 0;
    let mut left = message_len;
    while let Some(&[_, _, _, len_high, len_low]) = stream.get(pos..pos + RECORD_HEADER_LEN) {
        let fragment_len = usize::from(u16::from_be_bytes([len_high, len_low]));
        if fragment_len >= left {
            break;
        }
        left -= fragment_len;
        pos += RECORD_HEADER_LEN + fragment_len;
    }
    pos + RECORD_HEADER_LEN + left
}

/// Forward-only reader of the handshake bytes carried in consecutive handshake records.
///
/// Reads never go past `limit` bytes of handshake data, the end of the handshake message once
/// its header has been read.
#[derive(Clone, Debug)]
struct HandshakeReader<'a> {
    stream: &'a [u8],
    /// Index of the next stream byte to read.
    pos: usize,
    /// Index just past the fragment of the current record.
    fragment_end: usize,
    /// Handshake bytes read so far.
    offset: usize,
    /// Handshake bytes that may be read.
    limit: usize,
}

impl<'a> HandshakeReader<'a> {
    fn new(stream: &'a [u8]) -> Self {
        HandshakeReader {
            stream,
            pos: 0,
            fragment_end: 0,
            offset: 0,
            limit: HANDSHAKE_HEADER_LEN,
        }
    }

    fn need_more(&self) -> Stop {
        Stop::NeedMore {
            message_len: self.limit,
        }
    }

    /// Returns the handshake offset `len` bytes ahead, which must not pass the limit.
    fn end_of(&self, len: usize) -> Result<usize, Stop> {
        let end = self.offset + len;
        if end > self.limit {
            return Err(Stop::NotClientHello);
        }
        Ok(end)
    }

    /// Moves to the next record with data when the current fragment is used up. Each empty
    /// record takes 5 stream bytes, so this ends at the end of the stream.
    fn enter_fragment(&mut self) -> Result<(), Stop> {
        while self.pos == self.fragment_end {
            let header = self.stream.get(self.pos..self.pos + RECORD_HEADER_LEN);
            let Some(&[content_type, major, _, len_high, len_low]) = header else {
                return Err(self.need_more());
            };
            let fragment_len = usize::from(u16::from_be_bytes([len_high, len_low]));
            if content_type != CONTENT_TYPE_HANDSHAKE || major != 3 || fragment_len > MAX_RECORD_LEN
            {
                return Err(Stop::NotClientHello);
            }
            self.pos += RECORD_HEADER_LEN;
            self.fragment_end = self.pos + fragment_len;
        }
        Ok(())
    }

    fn read_u8(&mut self) -> Result<u8, Stop> {
        self.end_of(1)?;
        self.enter_fragment()?;
        let byte = *self.stream.get(self.pos).ok_or(self.need_more())?;
        self.pos += 1;
        self.offset += 1;
        Ok(byte)
    }

    fn read_u16(&mut self) -> Result<usize, Stop> {
        let high = self.read_u8()?;
        let low = self.read_u8()?;
        Ok(usize::from(u16::from_be_bytes([high, low])))
    }

    fn read_u24(&mut self) -> Result<usize, Stop> {
        let high = usize::from(self.read_u8()?);
        Ok(high << 16 | self.read_u16()?)
    }

    fn skip(&mut self, len: usize) -> Result<(), Stop> {
        self.end_of(len)?;
        let mut left = len;
        while left > 0 {
            self.enter_fragment()?;
            let step = left.min(self.fragment_end - self.pos);
            if self.pos + step > self.stream.len() {
                return Err(self.need_more());
            }
            self.pos += step;
            self.offset += step;
            left -= step;
        }
        Ok(())
    }

    /// Returns the next `len` bytes if they lie in the current record, or `None` if they
    /// continue in the next one.
    fn take_contiguous(&mut self, len: usize) -> Result<Option<&'a [u8]>, Stop> {
        self.end_of(len)?;
        if len == 0 {
            return Ok(Some(&[]));
        }
        self.enter_fragment()?;
        if len > self.fragment_end - self.pos {
            return Ok(None);
        }
        let bytes = self
            .stream
            .get(self.pos..self.pos + len)
            .ok_or(self.need_more())?;
        self.pos += len;
        self.offset += len;
        Ok(Some(bytes))
    }

    fn copy_into(&mut self, out: &mut [u8]) -> Result<(), Stop> {
        self.end_of(out.len())?;
        for slot in out.iter_mut() {
            *slot = self.read_u8()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_prefix_could_start() {
        assert!(could_start_tls_handshake(&[22]));
        assert!(could_start_tls_handshake(&[22, 3]));
        assert!(!could_start_tls_handshake(&[22, 4]));
        assert!(!could_start_tls_handshake(&[23]));
        assert!(!could_start_tls_handshake(&[]));
    }

    #[test]
    fn empty_label_is_invalid() {
        assert!(!is_valid_host_name(b".evil.com"));
        assert!(!is_valid_host_name(b"a..evil.com"));
        assert!(is_valid_host_name(b"a.evil.com"));
    }

    /// A whole ClientHello in one record, written out byte by byte, with server_name "a.io".
    const MINIMAL_HELLO: [u8; 65] = [
        22, 0x03, 0x01, 0x00, 60, // record: handshake, TLS 1.0 record version, 60 bytes
        1, 0x00, 0x00, 56, // handshake: ClientHello, 56 bytes
        0x03, 0x03, // legacy_version TLS 1.2
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, // random, first half
        16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, // random, second half
        0,  // legacy_session_id: empty
        0x00, 0x02, 0x13, 0x01, // cipher_suites: 2 bytes, TLS_AES_128_GCM_SHA256
        0x01, 0x00, // compression_methods: 1 byte, null
        0x00, 13, // extensions: 13 bytes
        0x00, 0x00, 0x00, 9, // extension server_name, 9 bytes
        0x00, 7, // server_name_list: 7 bytes
        0, 0x00, 4, b'a', b'.', b'i', b'o', // host_name, 4 bytes, "a.io"
    ];

    /// Builds a ClientHello handshake message, header included, with the given extensions.
    fn client_hello(extensions: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut body = vec![0x03, 0x03]; // legacy_version TLS 1.2
        body.extend([0x11; 32]); // random
        body.push(32); // legacy_session_id: 32 bytes
        body.extend([0x22; 32]);
        body.extend([0x00, 0x04, 0x13, 0x01, 0xc0, 0x2f]); // two cipher suites
        body.extend([0x01, 0x00]); // compression_methods: null
        let mut encoded = Vec::new();
        for (extension_type, data) in extensions {
            encoded.extend(extension_type.to_be_bytes());
            encoded.extend((data.len() as u16).to_be_bytes());
            encoded.extend(data);
        }
        body.extend((encoded.len() as u16).to_be_bytes());
        body.extend(encoded);

        let mut message = vec![HANDSHAKE_CLIENT_HELLO];
        message.extend(&(body.len() as u32).to_be_bytes()[1..]);
        message.extend(body);
        message
    }

    fn server_name(name: &[u8]) -> (u16, Vec<u8>) {
        let mut data = ((name.len() + 3) as u16).to_be_bytes().to_vec(); // server_name_list
        data.push(NAME_TYPE_HOST_NAME);
        data.extend((name.len() as u16).to_be_bytes());
        data.extend(name);
        (EXTENSION_SERVER_NAME as u16, data)
    }

    /// Builds a key_share extension with an X25519Kyber768 share (group 0x6399, 1216 bytes),
    /// the size that makes Chrome's ClientHello longer than one TCP segment.
    fn large_key_share() -> (u16, Vec<u8>) {
        let share_len: usize = 1216;
        let mut data = ((share_len + 4) as u16).to_be_bytes().to_vec(); // client_shares
        data.extend([0x63, 0x99]); // group X25519Kyber768Draft00
        data.extend((share_len as u16).to_be_bytes());
        data.extend(std::iter::repeat_n(0xab, share_len));
        (51, data)
    }

    /// Wraps `message` in handshake records whose fragments end at the given offsets of the
    /// message; the last record takes the rest.
    fn in_records(message: &[u8], cuts: &[usize]) -> Vec<u8> {
        let mut stream = Vec::new();
        let mut start = 0;
        for &end in cuts.iter().chain([&message.len()]) {
            let fragment = &message[start..end];
            stream.extend([CONTENT_TYPE_HANDSHAKE, 0x03, 0x01]);
            stream.extend((fragment.len() as u16).to_be_bytes());
            stream.extend(fragment);
            start = end;
        }
        stream
    }

    #[test]
    fn minimal_hello_name_found() {
        assert!(starts_like_tls_handshake(&MINIMAL_HELLO));
        assert_eq!(client_hello_sni(&MINIMAL_HELLO), Sni::Found("a.io"));
    }

    #[test]
    fn hello_without_extensions_no_sni() {
        // The same ClientHello cut after its compression methods: 41 bytes of body.
        let mut stream = MINIMAL_HELLO[..5 + 4 + 41].to_vec();
        stream[4] = 4 + 41; // record length
        stream[8] = 41; // handshake length
        assert_eq!(client_hello_sni(&stream), Sni::NoSni);
    }

    #[test]
    fn other_extensions_only_no_sni() {
        let supported_versions = (43, vec![2, 0x03, 0x04]);
        let stream = in_records(&client_hello(&[supported_versions]), &[]);
        assert_eq!(client_hello_sni(&stream), Sni::NoSni);
    }

    #[test]
    fn name_after_large_key_share() {
        let stream = in_records(
            &client_hello(&[large_key_share(), server_name(b"lh3.google.com")]),
            &[],
        );
        assert!(stream.len() > 1300);
        assert_eq!(client_hello_sni(&stream), Sni::Found("lh3.google.com"));
    }

    #[test]
    fn split_segments_report_needed() {
        let stream = in_records(
            &client_hello(&[large_key_share(), server_name(b"lh3.google.com")]),
            &[],
        );
        for cut in 0..stream.len() {
            match client_hello_sni(&stream[..cut]) {
                Sni::Incomplete { needed } => {
                    assert!(needed > cut, "cut {cut}: needed {needed}");
                    assert!(needed <= stream.len(), "cut {cut}: needed {needed}");
                }
                other => panic!("cut {cut}: expected Incomplete, got {other:?}"),
            }
        }
    }

    #[test]
    fn needed_covers_whole_record() {
        let stream = in_records(
            &client_hello(&[large_key_share(), server_name(b"x.example")]),
            &[],
        );
        assert_eq!(
            client_hello_sni(&stream[..1000]),
            Sni::Incomplete {
                needed: stream.len()
            }
        );
    }

    #[test]
    fn needed_before_handshake_header() {
        assert_eq!(client_hello_sni(&[22, 3, 1]), Sni::Incomplete { needed: 9 });
        assert_eq!(client_hello_sni(&[]), Sni::Incomplete { needed: 5 });
    }

    #[test]
    fn early_name_found_before_rest() {
        let stream = in_records(
            &client_hello(&[server_name(b"early.example"), large_key_share()]),
            &[],
        );
        assert_eq!(
            client_hello_sni(&stream[..200]),
            Sni::Found("early.example")
        );
    }

    #[test]
    fn hello_across_two_records() {
        let message = client_hello(&[large_key_share(), server_name(b"clients2.google.com")]);
        let stream = in_records(&message, &[700]);
        assert_eq!(client_hello_sni(&stream), Sni::Found("clients2.google.com"));
    }

    #[test]
    fn needed_counts_next_record_header() {
        let message = client_hello(&[large_key_share(), server_name(b"clients2.google.com")]);
        let stream = in_records(&message, &[700]);
        // Only the first record has arrived: the rest needs one more record header.
        let first_record_len = 5 + 700;
        assert_eq!(
            client_hello_sni(&stream[..first_record_len]),
            Sni::Incomplete {
                needed: stream.len()
            }
        );
    }

    #[test]
    fn one_byte_records_read() {
        let message = client_hello(&[server_name(b"tiny.example")]);
        let cuts: Vec<usize> = (1..message.len()).collect();
        let stream = in_records(&message, &cuts);
        let mut out = [0u8; 255];
        assert_eq!(
            client_hello_sni_lowercase(&stream, &mut out),
            Sni::Found("tiny.example")
        );
    }

    #[test]
    fn name_split_across_records() {
        let message = client_hello(&[server_name(b"Split.Example.COM")]);
        // Cut 5 bytes before the end, inside the host name.
        let stream = in_records(&message, &[message.len() - 5]);
        assert_eq!(client_hello_sni(&stream), Sni::NoSni);
        let mut out = [0u8; 255];
        assert_eq!(
            client_hello_sni_lowercase(&stream, &mut out),
            Sni::Found("split.example.com")
        );
    }

    #[test]
    fn mixed_case_name_as_sent() {
        let stream = in_records(&client_hello(&[server_name(b"WWW.Example.com.")]), &[]);
        assert_eq!(client_hello_sni(&stream), Sni::Found("WWW.Example.com."));
        let mut out = [0u8; 255];
        assert_eq!(
            client_hello_sni_lowercase(&stream, &mut out),
            Sni::Found("www.example.com")
        );
    }

    #[test]
    fn ech_outer_name_found() {
        // encrypted_client_hello (0xfe0d), outer type, with a dummy payload.
        let ech = (0xfe0d, vec![0; 200]);
        let stream = in_records(
            &client_hello(&[ech, server_name(b"cloudflare-ech.com")]),
            &[],
        );
        assert_eq!(client_hello_sni(&stream), Sni::Found("cloudflare-ech.com"));
    }

    #[test]
    fn unprintable_name_no_sni() {
        for name in [
            &b"bad name"[..],
            b"quote\"d",
            b"back\\slash",
            b"nul\0",
            b"",
            b"\xc3\xa9",
        ] {
            let stream = in_records(&client_hello(&[server_name(name)]), &[]);
            assert_eq!(client_hello_sni(&stream), Sni::NoSni, "name {name:?}");
        }
    }

    #[test]
    fn sslv2_hello_no_sni() {
        // SSLv2 record: 2-byte header with the top bit set (length 46), CLIENT-HELLO,
        // version 2.0, then cipher spec, session id and challenge lengths.
        let stream = [
            0x80, 0x2e, 0x01, 0x00, 0x02, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10,
        ];
        assert!(!starts_like_tls_handshake(&stream));
        assert_eq!(client_hello_sni(&stream), Sni::NoSni);
    }

    #[test]
    fn sslv2_server_hello_not_client_hello() {
        // SSLv2 SERVER-HELLO (message type 4).
        let stream = [0x83, 0xb4, 0x04, 0x00, 0x01, 0x00, 0x02];
        assert_eq!(client_hello_sni(&stream), Sni::NotClientHello);
    }

    #[test]
    fn server_hello_not_client_hello() {
        let mut stream = MINIMAL_HELLO;
        stream[5] = 2; // handshake type ServerHello
        assert_eq!(client_hello_sni(&stream), Sni::NotClientHello);
    }

    #[test]
    fn other_record_types_rejected() {
        let alert = [21, 0x03, 0x03, 0x00, 0x02, 2, 40];
        assert!(!starts_like_tls_handshake(&alert));
        assert_eq!(client_hello_sni(&alert), Sni::NotClientHello);
        assert_eq!(client_hello_sni(b"GET / HTTP/1.1\r\n"), Sni::NotClientHello);
    }

    #[test]
    fn alert_between_records_rejected() {
        let message = client_hello(&[server_name(b"x.example")]);
        let mut stream = in_records(&message[..50], &[]);
        stream.extend([21, 0x03, 0x03, 0x00, 0x02, 2, 40]);
        assert_eq!(client_hello_sni(&stream), Sni::NotClientHello);
    }

    #[test]
    fn oversized_record_rejected() {
        let mut stream = MINIMAL_HELLO;
        stream[3] = 0x40; // record length 0x403c, over 2^14
        assert_eq!(client_hello_sni(&stream), Sni::NotClientHello);
    }

    #[test]
    fn long_session_id_rejected() {
        let mut stream = MINIMAL_HELLO;
        stream[43] = 33; // legacy_session_id length
        assert_eq!(client_hello_sni(&stream), Sni::NotClientHello);
    }

    #[test]
    fn extension_past_message_rejected() {
        let mut stream = MINIMAL_HELLO;
        stream[55] = 200; // server_name extension length, past the extensions block
        assert_eq!(client_hello_sni(&stream), Sni::NotClientHello);
    }

    #[test]
    fn huge_hello_needed_capped() {
        // A ClientHello whose padding extension makes it longer than one record can be.
        let padding = (21, vec![0; 20_000]);
        let message = client_hello(&[padding, server_name(b"late.example")]);
        let stream = in_records(&message, &[MAX_RECORD_LEN]);
        assert_eq!(
            client_hello_sni(&stream[..100]),
            Sni::Incomplete {
                needed: MAX_CLIENT_HELLO_STREAM_LEN
            }
        );
    }

    #[test]
    fn name_past_cap_no_sni() {
        let padding = (21, vec![0; 20_000]);
        let message = client_hello(&[padding, server_name(b"late.example")]);
        let stream = in_records(&message, &[MAX_RECORD_LEN]);
        let capped = &stream[..MAX_CLIENT_HELLO_STREAM_LEN];
        assert_eq!(client_hello_sni(capped), Sni::NoSni);
    }

    mod random_input {
        use super::*;
        use proptest::prelude::*;

        fn check(stream: &[u8]) -> Result<(), TestCaseError> {
            let range = stream.as_ptr_range();
            match client_hello_sni(stream) {
                Sni::Found(name) => {
                    let inner = name.as_bytes().as_ptr_range();
                    prop_assert!(range.start <= inner.start && inner.end <= range.end);
                }
                Sni::Incomplete { needed } => {
                    prop_assert!(needed > stream.len());
                    prop_assert!(needed <= MAX_CLIENT_HELLO_STREAM_LEN);
                }
                Sni::NoSni | Sni::NotClientHello => {}
            }
            let mut out = [0u8; 255];
            let _ = client_hello_sni_lowercase(stream, &mut out);
            Ok(())
        }

        proptest! {
            #[test]
            fn random_bytes_never_panic(stream in proptest::collection::vec(any::<u8>(), 0..400)) {
                check(&stream)?;
            }

            #[test]
            fn record_like_bytes_stay_inside(
                fragment_len in 0u16..600,
                body in proptest::collection::vec(any::<u8>(), 0..600),
            ) {
                let mut stream = vec![CONTENT_TYPE_HANDSHAKE, 3, 1];
                stream.extend(fragment_len.to_be_bytes());
                stream.push(HANDSHAKE_CLIENT_HELLO);
                stream.extend(body);
                check(&stream)?;
            }

            #[test]
            fn mutated_hello_stays_inside(
                index in 0usize..MINIMAL_HELLO.len(),
                byte in any::<u8>(),
                cut in 0usize..=MINIMAL_HELLO.len(),
            ) {
                let mut stream = MINIMAL_HELLO;
                stream[index] = byte;
                check(&stream[..cut])?;
            }
        }
    }
}
