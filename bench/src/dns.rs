//! DNS messages (RFC 1035) for UDP port 53: one question, and in responses A or AAAA answers.

use std::net::IpAddr;

/// Maximum length of one label (RFC 1035 section 2.3.4).
const MAX_LABEL_LEN: usize = 63;

/// Maximum length of an encoded name including the length octets and the root label.
const MAX_NAME_WIRE_LEN: usize = 255;

/// Flags of a standard query with recursion desired.
const QUERY_FLAGS: u16 = 0x0100;

/// Flags of a response: QR, recursion desired and available, no error.
const RESPONSE_FLAGS: u16 = 0x8180;

/// Compression pointer to the question name, which always starts at offset 12.
const NAME_POINTER: [u8; 2] = [0xC0, 0x0C];

const CLASS_IN: u16 = 1;

/// The question and answer types this generator writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordType {
    A = 1,
    Aaaa = 28,
}

/// Returns true when `name` (without a trailing dot) encodes as a DNS name: labels of 1 to 63
/// bytes and at most 255 bytes on the wire.
pub fn is_encodable(name: &str) -> bool {
    !name.is_empty()
        && name.len() + 2 <= MAX_NAME_WIRE_LEN
        && name
            .split('.')
            .all(|label| (1..=MAX_LABEL_LEN).contains(&label.len()))
}

/// Writes a query for `name` into `out`. Returns `None` when the name is not encodable.
pub fn build_query(out: &mut Vec<u8>, id: u16, name: &str, kind: RecordType) -> Option<()> {
    out.clear();
    write_header(out, id, QUERY_FLAGS, 0);
    write_question(out, name, kind)
}

/// Writes a response to a query for `name` into `out`, with one answer per address in
/// `answers` that matches `kind` (A for IPv4, AAAA for IPv6). Returns `None` when the name is
/// not encodable.
pub fn build_response(
    out: &mut Vec<u8>,
    id: u16,
    name: &str,
    kind: RecordType,
    answers: &[IpAddr],
    ttl: u32,
) -> Option<()> {
    out.clear();

    let matching = answers.iter().filter(|ip| record_type_of(ip) == kind);
    let count = u16::try_from(matching.clone().count()).ok()?;
    write_header(out, id, RESPONSE_FLAGS, count);
    write_question(out, name, kind)?;

    for ip in matching {
        out.extend_from_slice(&NAME_POINTER);
        out.extend_from_slice(&(kind as u16).to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
        out.extend_from_slice(&ttl.to_be_bytes());
        match ip {
            IpAddr::V4(v4) => {
                out.extend_from_slice(&4u16.to_be_bytes());
                out.extend_from_slice(&v4.octets());
            }
            IpAddr::V6(v6) => {
                out.extend_from_slice(&16u16.to_be_bytes());
                out.extend_from_slice(&v6.octets());
            }
        }
    }
    Some(())
}

fn record_type_of(ip: &IpAddr) -> RecordType {
    match ip {
        IpAddr::V4(_) => RecordType::A,
        IpAddr::V6(_) => RecordType::Aaaa,
    }
}

fn write_header(out: &mut Vec<u8>, id: u16, flags: u16, answer_count: u16) {
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&answer_count.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
}

fn write_question(out: &mut Vec<u8>, name: &str, kind: RecordType) -> Option<()> {
    if !is_encodable(name) {
        return None;
    }

    for label in name.split('.') {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);

    out.extend_from_slice(&(kind as u16).to_be_bytes());
    out.extend_from_slice(&CLASS_IN.to_be_bytes());
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_bytes_match_rfc_layout() {
        let mut out = Vec::new();
        build_query(&mut out, 0x1234, "ab.cd", RecordType::A).unwrap();

        let expected: &[u8] = &[
            0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, // header, one question
            2, b'a', b'b', 2, b'c', b'd', 0, // name
            0, 1, 0, 1, // type A, class IN
        ];
        assert_eq!(out, expected);
    }

    #[test]
    fn response_keeps_matching_answers_only() {
        let mut out = Vec::new();
        let answers: Vec<IpAddr> =
            vec!["192.0.2.1".parse().unwrap(), "2001:db8::1".parse().unwrap()];
        build_response(&mut out, 7, "x.example", RecordType::A, &answers, 300).unwrap();

        assert_eq!(u16::from_be_bytes([out[6], out[7]]), 1);
        assert_eq!(&out[out.len() - 4..], &[192, 0, 2, 1]);
    }

    #[test]
    fn long_label_is_not_encodable() {
        let name = format!("{}.com", "a".repeat(64));
        assert!(!is_encodable(&name));
    }

    #[test]
    fn empty_label_is_not_encodable() {
        assert!(!is_encodable("a..com"));
    }
}
