//! TLS ClientHello messages (RFC 8446 section 4.1.2) with a server_name extension (RFC 6066).
//!
//! The hello offers TLS 1.3 and 1.2 with the cipher suites, groups and extensions a current
//! browser sends, so that a parser must skip a realistic set of extensions to reach the SNI.

use crate::rng::Rng;

const CONTENT_HANDSHAKE: u8 = 22;
const HANDSHAKE_CLIENT_HELLO: u8 = 1;

const CIPHER_SUITES: [u16; 15] = [
    0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0xC013, 0xC014, 0x009C,
    0x009D, 0x002F, 0x0035,
];

const EXT_SERVER_NAME: u16 = 0;
const EXT_STATUS_REQUEST: u16 = 5;
const EXT_SUPPORTED_GROUPS: u16 = 10;
const EXT_EC_POINT_FORMATS: u16 = 11;
const EXT_SIGNATURE_ALGORITHMS: u16 = 13;
const EXT_ALPN: u16 = 16;
const EXT_EXTENDED_MASTER_SECRET: u16 = 23;
const EXT_SESSION_TICKET: u16 = 35;
const EXT_SUPPORTED_VERSIONS: u16 = 43;
const EXT_PSK_KEY_EXCHANGE_MODES: u16 = 45;
const EXT_KEY_SHARE: u16 = 51;
const EXT_RENEGOTIATION_INFO: u16 = 0xFF01;

const GROUP_X25519: u16 = 0x001D;

/// Writes one TLS record holding a ClientHello for `server_name` into `out`, drawing the
/// random, session id and key share from `rng`. Returns `None` when the name does not fit the
/// 16-bit length fields.
pub fn build_client_hello(out: &mut Vec<u8>, server_name: &str, rng: &mut Rng) -> Option<()> {
    out.clear();
    out.push(CONTENT_HANDSHAKE);
    out.extend_from_slice(&[0x03, 0x01]);

    with_length(out, 2, |out| {
        out.push(HANDSHAKE_CLIENT_HELLO);
        with_length(out, 3, |out| write_hello_body(out, server_name, rng))
    })
}

fn write_hello_body(out: &mut Vec<u8>, server_name: &str, rng: &mut Rng) -> Option<()> {
    out.extend_from_slice(&[0x03, 0x03]);

    let mut random = [0u8; 32];
    rng.fill(&mut random);
    out.extend_from_slice(&random);

    // A 32-byte legacy session id, as TLS 1.3 clients in middlebox compatibility mode send.
    out.push(32);
    let mut session_id = [0u8; 32];
    rng.fill(&mut session_id);
    out.extend_from_slice(&session_id);

    with_length(out, 2, |out| {
        for suite in CIPHER_SUITES {
            out.extend_from_slice(&suite.to_be_bytes());
        }
        Some(())
    })?;
    out.extend_from_slice(&[1, 0]);

    with_length(out, 2, |out| write_extensions(out, server_name, rng))
}

fn write_extensions(out: &mut Vec<u8>, server_name: &str, rng: &mut Rng) -> Option<()> {
    extension(out, EXT_SERVER_NAME, |out| {
        with_length(out, 2, |out| {
            out.push(0);
            with_length(out, 2, |out| {
                out.extend_from_slice(server_name.as_bytes());
                Some(())
            })
        })
    })?;

    extension(out, EXT_EXTENDED_MASTER_SECRET, |_| Some(()))?;
    extension(out, EXT_RENEGOTIATION_INFO, |out| bytes(out, &[0]))?;
    extension(out, EXT_SUPPORTED_GROUPS, |out| {
        bytes(out, &[0, 6, 0x00, 0x1D, 0x00, 0x17, 0x00, 0x18])
    })?;
    extension(out, EXT_EC_POINT_FORMATS, |out| bytes(out, &[1, 0]))?;
    extension(out, EXT_SESSION_TICKET, |_| Some(()))?;
    extension(out, EXT_ALPN, |out| {
        bytes(out, &[0, 12, 2, b'h', b'2', 8])?;
        bytes(out, b"http/1.1")
    })?;
    extension(out, EXT_STATUS_REQUEST, |out| bytes(out, &[1, 0, 0, 0, 0]))?;
    extension(out, EXT_SIGNATURE_ALGORITHMS, |out| {
        bytes(
            out,
            &[0, 16, 4, 3, 8, 4, 4, 1, 5, 3, 8, 5, 5, 1, 8, 6, 6, 1],
        )
    })?;

    // One x25519 key share of 32 random bytes.
    extension(out, EXT_KEY_SHARE, |out| {
        bytes(out, &[0, 36])?;
        bytes(out, &GROUP_X25519.to_be_bytes())?;
        bytes(out, &[0, 32])?;
        let mut key = [0u8; 32];
        rng.fill(&mut key);
        bytes(out, &key)
    })?;

    extension(out, EXT_PSK_KEY_EXCHANGE_MODES, |out| bytes(out, &[1, 1]))?;
    extension(out, EXT_SUPPORTED_VERSIONS, |out| {
        bytes(out, &[4, 0x03, 0x04, 0x03, 0x03])
    })
}

fn bytes(out: &mut Vec<u8>, data: &[u8]) -> Option<()> {
    out.extend_from_slice(data);
    Some(())
}

fn extension(
    out: &mut Vec<u8>,
    kind: u16,
    body: impl FnOnce(&mut Vec<u8>) -> Option<()>,
) -> Option<()> {
    out.extend_from_slice(&kind.to_be_bytes());
    with_length(out, 2, body)
}

/// Writes a big-endian length field of `width` bytes (2 or 3) followed by what `body` writes,
/// then fills the field in. Returns `None` when the body does not fit the field.
fn with_length(
    out: &mut Vec<u8>,
    width: usize,
    body: impl FnOnce(&mut Vec<u8>) -> Option<()>,
) -> Option<()> {
    let at = out.len();
    out.resize(at + width, 0);
    body(out)?;

    let length = out.len() - at - width;
    if length >= 1 << (8 * width) {
        return None;
    }
    let be = (length as u32).to_be_bytes();
    out.get_mut(at..at + width)?
        .copy_from_slice(&be[4 - width..]);
    Some(())
}

/// Test helper: walks a ClientHello record to its extensions and returns the server_name
/// extension's host name.
#[cfg(test)]
pub(crate) fn find_server_name(record: &[u8]) -> Option<&[u8]> {
    let hello = record.get(9..)?;
    let session_len = usize::from(*hello.get(34)?);
    let mut at = 35 + session_len;
    let suites_len = usize::from(u16::from_be_bytes([*hello.get(at)?, *hello.get(at + 1)?]));
    at += 2 + suites_len;
    let compression_len = usize::from(*hello.get(at)?);
    at += 1 + compression_len + 2;

    while at + 4 <= hello.len() {
        let kind = u16::from_be_bytes([hello[at], hello[at + 1]]);
        let len = usize::from(u16::from_be_bytes([hello[at + 2], hello[at + 3]]));
        let data = hello.get(at + 4..at + 4 + len)?;
        if kind == EXT_SERVER_NAME {
            let name_len = usize::from(u16::from_be_bytes([*data.get(3)?, *data.get(4)?]));
            return data.get(5..5 + name_len);
        }
        at += 4 + len;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_length_covers_handshake() {
        let mut out = Vec::new();
        build_client_hello(&mut out, "www.example.com", &mut Rng::new(1)).unwrap();
        let record_len = usize::from(u16::from_be_bytes([out[3], out[4]]));
        assert_eq!(record_len, out.len() - 5);
    }

    #[test]
    fn handshake_length_covers_body() {
        let mut out = Vec::new();
        build_client_hello(&mut out, "www.example.com", &mut Rng::new(1)).unwrap();
        let handshake_len = u32::from_be_bytes([0, out[6], out[7], out[8]]) as usize;
        assert_eq!(handshake_len, out.len() - 9);
    }

    #[test]
    fn server_name_is_found() {
        let mut out = Vec::new();
        build_client_hello(&mut out, "api.example.net", &mut Rng::new(2)).unwrap();
        assert_eq!(find_server_name(&out), Some(&b"api.example.net"[..]));
    }

    #[test]
    fn extensions_end_exactly_at_record_end() {
        let mut out = Vec::new();
        build_client_hello(&mut out, "a.example", &mut Rng::new(3)).unwrap();

        let hello = &out[9..];
        let mut at = 35 + usize::from(hello[34]);
        at += 2 + usize::from(u16::from_be_bytes([hello[at], hello[at + 1]]));
        at += 1 + usize::from(hello[at]);
        let extensions_len = usize::from(u16::from_be_bytes([hello[at], hello[at + 1]]));
        assert_eq!(at + 2 + extensions_len, hello.len());
    }

    #[test]
    fn oversized_name_is_rejected() {
        let mut out = Vec::new();
        let name = "a".repeat(70_000);
        assert!(build_client_hello(&mut out, &name, &mut Rng::new(4)).is_none());
    }
}
