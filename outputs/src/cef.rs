//! The event as an ArcSight Common Event Format (CEF) record, the message of the syslog
//! output.
//!
//! ```text
//! CEF:0|trailwatch|trailwatch-sensor|VERSION|TYPE|INFO|SEVERITY|EXTENSION
//! ```
//!
//! TYPE is the trail type (`DNS`, `URL`, ...), the signature id, and INFO the event's info as
//! its name (`-` when empty). SEVERITY is 3, 5 or 8 for low, medium and high, inside the
//! bands 0-3, 4-6 and 7-8 of the CEF specification. The extension contains these keys in this
//! order:
//!
//! | Key       | Value                                               |
//! |-----------|-----------------------------------------------------|
//! | `src`     | source IP address                                   |
//! | `spt`     | source port, left out when missing or 0             |
//! | `dst`     | destination IP address                              |
//! | `dpt`     | destination port, left out when missing or 0        |
//! | `proto`   | `TCP`, `UDP`, `ICMP`, `ICMPv6` or the protocol number |
//! | `cnt`     | repeats of a summary event, left out for others     |
//! | `cs2`     | the reference, with `cs2Label=reference`            |
//! | `cs1`     | the trail, with `cs1Label=trail`                    |
//!
//! The trail comes last, because it is the longest and least bounded value, so cutting a
//! message at the end to fit a datagram cuts the trail and keeps every other key.
//!
//! Escaping follows the CEF specification. In the header, `\` and `|` get a backslash. In
//! extension values, `\` and `=` get a backslash, and CR and LF become `\r` and `\n`. The
//! header has no escape for line breaks, so CR and LF become spaces there.
//!
//! CEF has no escape for other control characters, and packet bytes must not reach a
//! terminal or a log parser raw. So every other control character (C0, DEL and C1) becomes
//! the text `\xHH`, and U+2028 and U+2029 become `\u{HHHH}`, as in the sensor's log line.
//! Their backslash is escaped like any other, so the record contains `\\x1b` for ESC and a
//! CEF parser returns the text `\x1b`.
//!
//! NOTE: `src` and `dst` carry IPv6 addresses as well. Some CEF parsers expect only IPv4 in
//! these keys.

use std::fmt::Write as _;

use trailwatch_event::{Event, Severity};

/// Device vendor and product in the header.
const VENDOR_AND_PRODUCT: &str = "trailwatch|trailwatch-sensor";

/// Returns the CEF severity, 0 to 10, of `severity`.
pub(crate) const fn cef_severity(severity: Severity) -> u8 {
    match severity {
        Severity::Low => 3,
        Severity::Medium => 5,
        Severity::High => 8,
    }
}

/// Appends the CEF record of `event` to `out`.
pub(crate) fn write_cef(event: &Event, severity: Severity, out: &mut String) {
    let _ = write!(
        out,
        "CEF:0|{VENDOR_AND_PRODUCT}|{}|{}|",
        env!("CARGO_PKG_VERSION"),
        event.trail_type
    );
    if event.info.is_empty() {
        out.push('-');
    } else {
        push_header_value(out, &event.info);
    }
    let _ = write!(out, "|{}|", cef_severity(severity));

    let _ = write!(out, "src={}", event.src_ip);
    if let Some(port) = event.src_port.filter(|&port| port != 0) {
        let _ = write!(out, " spt={port}");
    }
    let _ = write!(out, " dst={}", event.dst_ip);
    if let Some(port) = event.dst_port.filter(|&port| port != 0) {
        let _ = write!(out, " dpt={port}");
    }
    let _ = write!(out, " proto={}", event.proto);
    if event.repeats > 0 {
        let _ = write!(out, " cnt={}", event.repeats);
    }

    out.push_str(" cs2Label=reference cs2=");
    push_extension_value(out, &event.reference);
    out.push_str(" cs1Label=trail cs1=");
    push_extension_value(out, &event.trail);
}

/// Appends a header field with `\` and `|` escaped, line breaks turned into spaces and other
/// control characters written as escaped text.
fn push_header_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '|' => out.push_str("\\|"),
            '\r' | '\n' => out.push(' '),
            c if is_escaped_control(c) => push_control(out, c),
            other => out.push(other),
        }
    }
}

/// Appends an extension value with `\` and `=` escaped, line breaks written as `\r`, `\n` and
/// other control characters written as escaped text.
fn push_extension_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '=' => out.push_str("\\="),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            c if is_escaped_control(c) => push_control(out, c),
            other => out.push(other),
        }
    }
}

/// Tests for a character that neither CEF escapes nor a record may carry raw: C0 controls
/// other than CR and LF, DEL, C1 controls, U+2028 and U+2029.
fn is_escaped_control(c: char) -> bool {
    (c.is_control() && c != '\r' && c != '\n') || c == '\u{2028}' || c == '\u{2029}'
}

/// Appends `c` as the text `\xHH` (or `\u{HHHH}` above U+00FF) with its backslash escaped.
fn push_control(out: &mut String, c: char) {
    let code = u32::from(c);
    if code <= 0xff {
        let _ = write!(out, "\\\\x{code:02x}");
    } else {
        let _ = write!(out, "\\\\u{{{code:04x}}}");
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    use std::sync::Arc;

    use trailwatch_event::{Proto, Timestamp, TrailType};

    use super::*;

    fn sample_event() -> Event {
        Event {
            time: Timestamp::new(1_796_366_814, 0),
            sensor: Arc::from("edge1"),
            src_ip: IpAddr::V4(Ipv4Addr::new(192, 168, 1, 20)),
            src_port: Some(51234),
            dst_ip: IpAddr::V4(Ipv4Addr::new(8, 8, 8, 8)),
            dst_port: Some(53),
            proto: Proto::Udp,
            trail_type: TrailType::Dns,
            trail: "evil.example".to_owned(),
            info: "emotet (malware)".to_owned(),
            reference: "(static)".to_owned(),
            repeats: 0,
        }
    }

    fn render(event: &Event) -> String {
        let mut out = String::new();
        write_cef(event, event.severity(), &mut out);
        out
    }

    #[test]
    fn record_renders_exactly() {
        let expected = format!(
            "CEF:0|trailwatch|trailwatch-sensor|{}|DNS|emotet (malware)|8|src=192.168.1.20 \
             spt=51234 dst=8.8.8.8 dpt=53 proto=UDP cs2Label=reference cs2=(static) \
             cs1Label=trail cs1=evil.example",
            env!("CARGO_PKG_VERSION")
        );

        assert_eq!(render(&sample_event()), expected);
    }

    #[test]
    fn header_escapes_pipe_and_backslash() {
        let mut event = sample_event();
        event.info = "a|b\\c\r\nd".to_owned();

        assert!(render(&event).contains("|DNS|a\\|b\\\\c  d|5|"));
    }

    #[test]
    fn extension_escapes_equals_and_newline() {
        let mut event = sample_event();
        event.trail = "host/?a=b\\c\r\nd|e".to_owned();

        assert!(render(&event).ends_with(" cs1=host/?a\\=b\\\\c\\r\\nd|e"));
    }

    #[test]
    fn control_bytes_become_escaped_text() {
        for byte in (0x00..=0x1f_u8).chain([0x7f]) {
            let c = char::from(byte);
            let mut event = sample_event();
            event.info = format!("a{c}b");
            event.trail = format!("host/?q={c}");
            event.reference = format!("r{c}");

            let record = render(&event);

            let raw = record.chars().find(|c| c.is_control());
            assert_eq!(raw, None, "byte {byte:#04x} in {record:?}");
            // CR and LF keep their CEF handling, every other byte becomes the text `\xHH`.
            let escaped = format!("\\\\x{byte:02x}");
            let (header, extension) = match byte {
                b'\r' => (" ", "\\r"),
                b'\n' => (" ", "\\n"),
                _ => (escaped.as_str(), escaped.as_str()),
            };
            assert!(
                record.contains(&format!("|a{header}b|")),
                "byte {byte:#04x} in {record:?}"
            );
            assert!(
                record.ends_with(&format!(" cs1=host/?q\\={extension}")),
                "{record:?}"
            );
            assert!(
                record.contains(&format!(" cs2=r{extension} ")),
                "{record:?}"
            );
        }
    }

    #[test]
    fn unicode_controls_become_escaped_text() {
        let mut event = sample_event();
        event.info = "a\u{85}b\u{2028}c".to_owned();
        event.trail = "x\u{9b}y\u{2029}".to_owned();

        let record = render(&event);

        assert!(record.contains("|a\\\\x85b\\\\u{2028}c|"), "{record:?}");
        assert!(record.ends_with(" cs1=x\\\\x9by\\\\u{2029}"), "{record:?}");
    }

    #[test]
    fn missing_ports_are_left_out() {
        let mut event = sample_event();
        event.src_port = None;
        event.dst_port = Some(0);
        event.src_ip = IpAddr::V6(Ipv6Addr::LOCALHOST);
        event.proto = Proto::Icmpv6;

        assert!(render(&event).contains("|src=::1 dst=8.8.8.8 proto=ICMPv6 cs2Label="));
    }

    #[test]
    fn summary_carries_count() {
        let mut event = sample_event();
        event.repeats = 42;

        assert!(render(&event).contains(" proto=UDP cnt=42 cs2Label="));
    }

    #[test]
    fn empty_info_becomes_dash() {
        let mut event = sample_event();
        event.info = String::new();

        assert!(render(&event).contains("|DNS|-|5|"));
    }
}
