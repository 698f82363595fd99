//! The Maltrail log line: eleven space-separated fields ending in a newline.
//!
//! ```text
//! "YYYY-MM-DD HH:MM:SS.ffffff" SENSOR SRC_IP SRC_PORT DST_IP DST_PORT PROTO TYPE TRAIL INFO REFERENCE
//! ```
//!
//! Each field is rendered as Maltrail's `safe_value` does. An empty value (or a missing or zero
//! port) becomes `-`. A value containing a space or `"` is wrapped in double quotes, with each
//! inner `"` doubled. CR and LF become spaces. fail2ban filters and log tailers split lines by
//! these rules, so the output must stay byte-exact.
//!
//! One deliberate difference: a value containing CR or LF is quoted as well. Maltrail checks for
//! quoting before it replaces CR/LF, so it writes `a\nb` as the bare `a b`, which splits into
//! two fields and lets a packet inject fields into the line. Every value Maltrail renders as a
//! single field comes out byte-identical here.
//!
//! A second difference: other control characters are written as `\xHH` or `\u{HHHH}`. These
//! are C0 other than CR and LF, DEL, C1, and the Unicode separators U+2028 and U+2029. So
//! packet bytes in a URL cannot clear a terminal that tails the log, or split the line for a
//! reader that honours those separators. A value without such characters renders exactly as
//! Maltrail renders it.

use std::fmt::Write as _;

use chrono::{Datelike, FixedOffset, NaiveDate, Timelike};

use crate::event::Event;

/// Typical length of a line, to size a fresh buffer.
const TYPICAL_LINE_LEN: usize = 160;

impl Event {
    /// Renders the Maltrail log line, including the final newline, with the packet time in the
    /// local time zone (see [`Event::log_date`]).
    pub fn to_log_line(&self) -> String {
        let mut line = String::with_capacity(TYPICAL_LINE_LEN);
        self.write_log_line(&mut line);
        line
    }

    /// Appends the line of [`Event::to_log_line`] to `out`, so a caller can reuse one buffer.
    pub fn write_log_line(&self, out: &mut String) {
        self.format_with_offset(self.time.local_offset(), out);
    }

    /// Returns the local date of the packet, which names the daily log file.
    ///
    /// The local time zone is chrono's `Local`: the `TZ` environment variable if set, else
    /// `/etc/localtime`, else UTC.
    pub fn log_date(&self) -> NaiveDate {
        self.log_date_with_offset(self.time.local_offset())
    }

    pub(crate) fn log_date_with_offset(&self, offset: FixedOffset) -> NaiveDate {
        self.time.with_offset(offset).date_naive()
    }

    /// Appends the log line with the packet time shown at the given UTC offset.
    pub(crate) fn format_with_offset(&self, offset: FixedOffset, out: &mut String) {
        let local = self.time.with_offset(offset);

        // The time always contains a space, so it is always quoted. `write!` into a `String`
        // cannot fail.
        let _ = write!(
            out,
            "\"{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}\" ",
            local.year(),
            local.month(),
            local.day(),
            local.hour(),
            local.minute(),
            local.second(),
            self.time.micros(),
        );

        push_field(out, &self.sensor);
        out.push(' ');
        let _ = write!(out, "{} ", self.src_ip);
        push_port(out, self.src_port);
        out.push(' ');
        let _ = write!(out, "{} ", self.dst_ip);
        push_port(out, self.dst_port);
        let _ = write!(out, " {} {} ", self.proto, self.trail_type);
        push_field(out, &self.trail);
        out.push(' ');

        if self.repeats > 0 {
            push_field(out, &summary_info(&self.info, self.repeats));
        } else {
            push_field(out, &self.info);
        }

        out.push(' ');
        push_field(out, &self.reference);
        out.push('\n');
    }
}

/// Returns the info field of a summary event: `<info> (<N> repeats suppressed)`, or only the
/// bracketed part when the info is empty.
pub(crate) fn summary_info(info: &str, repeats: u64) -> String {
    if info.is_empty() {
        format!("({repeats} repeats suppressed)")
    } else {
        format!("{info} ({repeats} repeats suppressed)")
    }
}

/// Appends a port, or `-` for a missing port or port 0 (Maltrail writes `-` for any false value).
fn push_port(out: &mut String, port: Option<u16>) {
    match port {
        Some(port) if port != 0 => {
            let _ = write!(out, "{port}");
        }
        _ => out.push('-'),
    }
}

/// Appends one field value with the quoting described in the module documentation.
fn push_field(out: &mut String, value: &str) {
    if value.is_empty() {
        out.push('-');
        return;
    }

    let needs_quotes = value.contains([' ', '"', '\r', '\n']);
    if !needs_quotes && !value.chars().any(is_escaped_control) {
        out.push_str(value);
        return;
    }

    if needs_quotes {
        out.push('"');
    }
    for c in value.chars() {
        match c {
            '"' => out.push_str("\"\""),
            '\r' | '\n' => out.push(' '),
            c if is_escaped_control(c) && u32::from(c) <= 0xff => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if is_escaped_control(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", u32::from(c));
            }
            other => out.push(other),
        }
    }
    if needs_quotes {
        out.push('"');
    }
}

/// Tests for a control character that a field must not carry literally: every C0 control but
/// CR and LF (which become spaces), DEL, every C1 control, and U+2028 and U+2029.
fn is_escaped_control(c: char) -> bool {
    (c.is_control() && c != '\r' && c != '\n') || c == '\u{2028}' || c == '\u{2029}'
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    use std::sync::Arc;

    use super::*;
    use crate::event::{Proto, TrailType};
    use crate::time::Timestamp;

    /// 2026-12-04T06:46:54.123456789Z.
    const PACKET_TIME: Timestamp = Timestamp {
        secs: 1_796_366_814,
        nanos: 123_456_789,
    };

    fn utc() -> FixedOffset {
        FixedOffset::east_opt(0).unwrap()
    }

    fn sample_event() -> Event {
        Event {
            time: PACKET_TIME,
            sensor: Arc::from("edge1"),
            src_ip: IpAddr::V4(Ipv4Addr::new(192, 168, 1, 20)),
            src_port: Some(51234),
            dst_ip: IpAddr::V4(Ipv4Addr::new(8, 8, 8, 8)),
            dst_port: Some(53),
            proto: Proto::Udp,
            trail_type: TrailType::Dns,
            trail: "evil.example.com".to_string(),
            info: "malware".to_string(),
            reference: "abuse.ch".to_string(),
            repeats: 0,
        }
    }

    fn render_utc(event: &Event) -> String {
        let mut line = String::new();
        event.format_with_offset(utc(), &mut line);
        line
    }

    #[test]
    fn ipv4_line_renders_exactly() {
        let expected = "\"2026-12-04 06:46:54.123456\" edge1 192.168.1.20 51234 8.8.8.8 53 UDP \
                        DNS evil.example.com malware abuse.ch\n";

        assert_eq!(render_utc(&sample_event()), expected);
    }

    #[test]
    fn ipv6_line_renders_exactly() {
        let mut event = sample_event();
        event.src_ip = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10));
        event.dst_ip = IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0x1, 0, 0, 0xab));
        event.proto = Proto::Tcp;
        event.dst_port = Some(443);
        event.trail_type = TrailType::IpPort;
        event.trail = "fe80::1:0:0:ab:443".to_string();
        let expected = "\"2026-12-04 06:46:54.123456\" edge1 2001:db8::10 51234 fe80::1:0:0:ab \
                        443 TCP IPORT fe80::1:0:0:ab:443 malware abuse.ch\n";

        assert_eq!(render_utc(&event), expected);
    }

    #[test]
    fn missing_ports_render_as_dash() {
        let mut event = sample_event();
        event.src_port = None;
        event.dst_port = Some(0);
        event.proto = Proto::Icmp;
        event.trail_type = TrailType::Ip;
        event.trail = "8.8.8.8".to_string();
        let expected = "\"2026-12-04 06:46:54.123456\" edge1 192.168.1.20 - 8.8.8.8 - ICMP IP \
                        8.8.8.8 malware abuse.ch\n";

        assert_eq!(render_utc(&event), expected);
    }

    #[test]
    fn info_with_spaces_is_quoted() {
        let mut event = sample_event();
        event.info = "known attacker (static)".to_string();
        let expected = "\"2026-12-04 06:46:54.123456\" edge1 192.168.1.20 51234 8.8.8.8 53 UDP \
                        DNS evil.example.com \"known attacker (static)\" abuse.ch\n";

        assert_eq!(render_utc(&event), expected);
    }

    #[test]
    fn trail_quote_is_doubled() {
        let mut event = sample_event();
        event.trail_type = TrailType::Ua;
        event.trail = "Mozilla\"x".to_string();
        let expected = "\"2026-12-04 06:46:54.123456\" edge1 192.168.1.20 51234 8.8.8.8 53 UDP \
                        UA \"Mozilla\"\"x\" malware abuse.ch\n";

        assert_eq!(render_utc(&event), expected);
    }

    #[test]
    fn trail_crlf_becomes_spaces() {
        let mut event = sample_event();
        event.trail_type = TrailType::Path;
        event.trail = "/a b\r\nc".to_string();
        let expected = "\"2026-12-04 06:46:54.123456\" edge1 192.168.1.20 51234 8.8.8.8 53 UDP \
                        PATH \"/a b  c\" malware abuse.ch\n";

        assert_eq!(render_utc(&event), expected);
    }

    #[test]
    fn lone_newline_value_is_quoted() {
        let mut event = sample_event();
        event.trail = "evil\nexample.com".to_string();
        let expected = "\"2026-12-04 06:46:54.123456\" edge1 192.168.1.20 51234 8.8.8.8 53 UDP \
                        DNS \"evil example.com\" malware abuse.ch\n";

        assert_eq!(render_utc(&event), expected);
    }

    #[test]
    fn control_characters_are_escaped() {
        let mut event = sample_event();
        event.trail_type = TrailType::Url;
        event.trail = "/a\u{1b}[2J\t\u{7f}\u{85}\u{2028}b".to_string();
        let expected = "\"2026-12-04 06:46:54.123456\" edge1 192.168.1.20 51234 8.8.8.8 53 UDP \
                        URL /a\\x1b[2J\\x09\\x7f\\x85\\u{2028}b malware abuse.ch\n";

        assert_eq!(render_utc(&event), expected);
    }

    #[test]
    fn control_character_with_space_is_quoted() {
        let mut event = sample_event();
        event.trail = "a b\u{0}".to_string();
        let expected = "\"2026-12-04 06:46:54.123456\" edge1 192.168.1.20 51234 8.8.8.8 53 UDP \
                        DNS \"a b\\x00\" malware abuse.ch\n";

        assert_eq!(render_utc(&event), expected);
    }

    #[test]
    fn empty_reference_renders_as_dash() {
        let mut event = sample_event();
        event.reference = String::new();
        let expected = "\"2026-12-04 06:46:54.123456\" edge1 192.168.1.20 51234 8.8.8.8 53 UDP \
                        DNS evil.example.com malware -\n";

        assert_eq!(render_utc(&event), expected);
    }

    #[test]
    fn sensor_name_with_space_is_quoted() {
        let mut event = sample_event();
        event.sensor = Arc::from("edge 1");
        let expected = "\"2026-12-04 06:46:54.123456\" \"edge 1\" 192.168.1.20 51234 8.8.8.8 53 \
                        UDP DNS evil.example.com malware abuse.ch\n";

        assert_eq!(render_utc(&event), expected);
    }

    #[test]
    fn summary_appends_repeat_count() {
        let mut event = sample_event();
        event.repeats = 42;
        let expected = "\"2026-12-04 06:46:54.123456\" edge1 192.168.1.20 51234 8.8.8.8 53 UDP \
                        DNS evil.example.com \"malware (42 repeats suppressed)\" abuse.ch\n";

        assert_eq!(render_utc(&event), expected);
    }

    #[test]
    fn summary_with_empty_info() {
        let mut event = sample_event();
        event.info = String::new();
        event.repeats = 3;
        let expected = "\"2026-12-04 06:46:54.123456\" edge1 192.168.1.20 51234 8.8.8.8 53 UDP \
                        DNS evil.example.com \"(3 repeats suppressed)\" abuse.ch\n";

        assert_eq!(render_utc(&event), expected);
    }

    #[test]
    fn kolkata_offset_shifts_time() {
        let kolkata = FixedOffset::east_opt(5 * 3600 + 30 * 60).unwrap();
        let mut line = String::new();
        sample_event().format_with_offset(kolkata, &mut line);
        let expected = "\"2026-12-04 12:16:54.123456\" edge1 192.168.1.20 51234 8.8.8.8 53 UDP \
                        DNS evil.example.com malware abuse.ch\n";

        assert_eq!(line, expected);
    }

    #[test]
    fn negative_offset_changes_date() {
        let new_york = FixedOffset::west_opt(5 * 3600).unwrap();
        let mut event = sample_event();
        event.time = Timestamp {
            secs: 1_796_351_400,
            nanos: 0,
        }; // 2026-12-04T02:30:00Z

        assert_eq!(
            event.log_date_with_offset(new_york),
            NaiveDate::from_ymd_opt(2026, 12, 3).unwrap()
        );
    }

    #[test]
    fn write_log_line_appends() {
        let event = sample_event();
        let mut buffer = String::from("previous\n");
        event.write_log_line(&mut buffer);

        assert_eq!(buffer, format!("previous\n{}", event.to_log_line()));
    }
}
