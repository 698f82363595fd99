//! The compact per-line record of a log index.

use std::net::IpAddr;

use super::fields::LineView;
use super::severity::{Severity, SeverityCache};

/// Trail type names in the order of their codes; any other name gets [`TYPE_OTHER`].
pub const TYPE_NAMES: [&str; 8] = ["DNS", "IP", "IPORT", "URL", "HTTP", "UA", "PATH", "PORT"];
pub const TYPE_OTHER: u8 = 15;

/// Protocol code for a protocol field that is neither a known name nor a number. IANA keeps
/// IP protocol number 255 reserved, so no real packet carries it.
pub const PROTO_UNKNOWN: u8 = 255;

const FLAG_SRC_V4: u8 = 0x40;
const FLAG_DST_V4: u8 = 0x80;

/// Fields of one log line that counts, filters and sorts read without opening the file: 24
/// bytes, so that an index of one million lines takes about 24 MB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    offset_low: u32,
    offset_high: u16,
    /// Milliseconds since midnight of the line's own date; [`u32::MAX`] if unreadable.
    pub time_ms: u32,
    /// Source address: its value for IPv4, else a hash (see [`Entry::src_is_v4`]).
    pub src: u32,
    pub dst: u32,
    /// Ports, 0 when the line shows `-`.
    pub src_port: u16,
    pub dst_port: u16,
    /// IP protocol number, or [`PROTO_UNKNOWN`].
    pub proto: u8,
    /// Type code (bits 0-3), severity (bits 4-5), IPv4 flags (bits 6 and 7).
    flags: u8,
}

impl Entry {
    /// Builds the entry of the line that starts at byte `offset` of its file.
    pub fn new(offset: u64, line: &LineView, severities: &mut SeverityCache) -> Entry {
        let (src, src_v4) = address_key(&line.src_ip);
        let (dst, dst_v4) = address_key(&line.dst_ip);
        let (info, _) = line.info_and_repeats();
        let severity = severities.classify(&line.trail_type, info, &line.reference);

        let mut flags = type_code(&line.trail_type) | ((severity as u8) << 4);
        if src_v4 {
            flags |= FLAG_SRC_V4;
        }
        if dst_v4 {
            flags |= FLAG_DST_V4;
        }

        Entry {
            offset_low: offset as u32,
            offset_high: (offset >> 32) as u16,
            time_ms: time_of_day_ms(&line.time).unwrap_or(u32::MAX),
            src,
            dst,
            src_port: line.src_port.parse().unwrap_or(0),
            dst_port: line.dst_port.parse().unwrap_or(0),
            proto: proto_code(&line.proto),
            flags,
        }
    }

    /// Byte offset of the line in its file.
    pub fn offset(&self) -> u64 {
        u64::from(self.offset_low) | (u64::from(self.offset_high) << 32)
    }

    pub fn type_code(&self) -> u8 {
        self.flags & 0x0f
    }

    pub fn severity(&self) -> Severity {
        Severity::from_bits((self.flags >> 4) & 0x03)
    }

    /// Returns whether [`Entry::src`] is the exact IPv4 address, so that comparing it needs no text.
    pub fn src_is_v4(&self) -> bool {
        self.flags & FLAG_SRC_V4 != 0
    }

    pub fn dst_is_v4(&self) -> bool {
        self.flags & FLAG_DST_V4 != 0
    }
}

/// Files larger than this cannot be indexed, because offsets are stored in 48 bits.
pub const MAX_FILE_LEN: u64 = 1 << 48;

/// Returns the code of a trail type name.
pub fn type_code(name: &str) -> u8 {
    TYPE_NAMES
        .iter()
        .position(|known| *known == name)
        .map_or(TYPE_OTHER, |code| code as u8)
}

/// Returns the IP protocol number of a protocol field as written in the log (`TCP`, `UDP`,
/// `ICMP`, `ICMPv6` or a decimal number), case-insensitively.
pub fn proto_code(text: &str) -> u8 {
    const NAMES: [(&str, u8); 4] = [("TCP", 6), ("UDP", 17), ("ICMP", 1), ("ICMPv6", 58)];
    if let Some((_, code)) = NAMES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(text))
    {
        return *code;
    }
    match text.parse::<u8>() {
        Ok(code) if code != PROTO_UNKNOWN && !text.starts_with('+') => code,
        _ => PROTO_UNKNOWN,
    }
}

/// Returns the index key of an address field and whether it is an exact IPv4 value.
fn address_key(text: &str) -> (u32, bool) {
    if let Some(v4) = canonical_ipv4(text.as_bytes()) {
        return (v4, true);
    }
    match text.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => (u32::from(v4), true),
        _ => (fnv1a(text.as_bytes()), false),
    }
}

/// Parses a dotted-quad IPv4 address without leading zeros, the form the sensor writes, with
/// a plain loop in place of the general standard parser. Returns `None` for anything else,
/// which the caller then passes to the standard parser, so both give accepted texts the same
/// value.
fn canonical_ipv4(text: &[u8]) -> Option<u32> {
    let mut address = 0u32;
    let mut parts = text.split(|&byte| byte == b'.');
    for _ in 0..4 {
        let part = parts.next()?;
        let leading_zero = part.len() > 1 && part[0] == b'0';
        if part.is_empty() || part.len() > 3 || leading_zero {
            return None;
        }
        let mut octet = 0u32;
        for &digit in part {
            if !digit.is_ascii_digit() {
                return None;
            }
            octet = octet * 10 + u32::from(digit - b'0');
        }
        if octet > 255 {
            return None;
        }
        address = (address << 8) | octet;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(address)
}

fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |hash, byte| {
        (hash ^ u32::from(*byte)).wrapping_mul(0x0100_0193)
    })
}

/// Parses the `HH:MM:SS[.ffffff]` part of a `YYYY-MM-DD HH:MM:SS[.ffffff]` time field.
pub fn time_of_day_ms(time: &str) -> Option<u32> {
    let clock = time.as_bytes().get(11..)?;
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = clock.get(range)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(
            part.iter()
                .fold(0, |value, d| value * 10 + u32::from(d - b'0')),
        )
    };
    if clock.get(2) != Some(&b':') || clock.get(5) != Some(&b':') {
        return None;
    }

    let hours = digits(0..2).filter(|h| *h < 24)?;
    let minutes = digits(3..5).filter(|m| *m < 60)?;
    let seconds = digits(6..8).filter(|s| *s < 61)?;
    let millis = match clock.get(8) {
        Some(b'.') => {
            let fraction = clock.get(9..)?;
            if fraction.is_empty() || !fraction.iter().all(u8::is_ascii_digit) {
                return None;
            }
            // Milliseconds from the first three digits; "5" means 500 ms.
            let millis = fraction.iter().chain(b"00").take(3);
            millis.fold(0, |value, digit| value * 10 + u32::from(digit - b'0'))
        }
        None => 0,
        Some(_) => return None,
    };

    Some(((hours * 60 + minutes) * 60 + seconds) * 1000 + millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_is_24_bytes() {
        assert_eq!(std::mem::size_of::<Entry>(), 24);
    }

    #[test]
    fn entry_keeps_line_fields() {
        let line = LineView::parse(
            "\"2026-01-15 12:00:03.250000\" s1 10.0.0.1 4444 2001:db8::1 - ICMPv6 DNS x \
             \"emotet (malware)\" r",
        )
        .unwrap();
        let entry = Entry::new(5_000_000_000, &line, &mut SeverityCache::default());

        assert_eq!(entry.offset(), 5_000_000_000);
        assert_eq!(entry.time_ms, 43_203_250);
        assert_eq!(entry.src, 0x0a00_0001);
        assert!(entry.src_is_v4());
        assert!(!entry.dst_is_v4());
        assert_eq!(entry.src_port, 4444);
        assert_eq!(entry.dst_port, 0);
        assert_eq!(entry.proto, 58);
        assert_eq!(entry.type_code(), 0);
        assert_eq!(entry.severity(), Severity::High);
    }

    #[test]
    fn times_without_fraction_parse() {
        assert_eq!(time_of_day_ms("2026-01-15 00:00:01"), Some(1000));
        assert_eq!(time_of_day_ms("2026-01-15 00:00:01.5"), Some(1500));
        assert_eq!(time_of_day_ms("2026-01-15 25:00:01"), None);
        assert_eq!(time_of_day_ms("garbage"), None);
    }

    #[test]
    fn canonical_ipv4_matches_std() {
        let texts = [
            "10.0.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "256.0.0.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "1.2.3.",
            "1..3.4",
            "1.2.3.4 ",
            "+1.2.3.4",
            "1.2.3.1000",
            "::ffff:1.2.3.4",
            "-",
        ];
        for text in texts {
            let fast = canonical_ipv4(text.as_bytes());
            let standard = text.parse::<std::net::Ipv4Addr>().ok().map(u32::from);

            assert!(fast.is_none() || fast == standard, "{text:?}");
            assert_eq!(address_key(text).1, standard.is_some(), "{text:?}");
        }
        assert_eq!(canonical_ipv4(b"10.0.3.7"), Some(0x0a00_0307));
    }

    #[test]
    fn protocol_names_map_to_numbers() {
        assert_eq!(proto_code("tcp"), 6);
        assert_eq!(proto_code("47"), 47);
        assert_eq!(proto_code("GRE"), PROTO_UNKNOWN);
    }
}
