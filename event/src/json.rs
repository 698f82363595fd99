//! The JSON rendering of an event: one object per line, with named fields.

use std::net::IpAddr;

use chrono::FixedOffset;
use serde::Serialize;

use crate::event::Event;
use crate::time::Timestamp;

/// Format of the `time` field: RFC 3339 with microseconds and the local UTC offset.
const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6f%:z";

/// The JSON object of one event. Field order is the output order.
#[derive(Serialize)]
struct JsonRecord<'a> {
    time: String,
    epoch: f64,
    sensor: &'a str,
    src_ip: IpAddr,
    src_port: Option<u16>,
    dst_ip: IpAddr,
    dst_port: Option<u16>,
    proto: String,
    #[serde(rename = "type")]
    trail_type: &'static str,
    trail: &'a str,
    info: &'a str,
    reference: &'a str,
    repeats: u64,
}

impl Event {
    /// Renders the event as one JSON object followed by a newline.
    ///
    /// `time` is the packet time in the local time zone (RFC 3339 with microseconds and the
    /// offset, such as `2026-12-04T07:46:54.123456+01:00`), and `epoch` is the same instant as
    /// Unix seconds with six decimals. A missing or zero port is `null`, matching the `-` of the
    /// log line. Strings are written as they are, escaped by serde_json, so unlike the log line
    /// an empty value stays `""` and CR/LF are kept. `info` is never given the summary suffix,
    /// because `repeats` carries the count.
    pub fn to_json_line(&self) -> String {
        let mut line = Vec::with_capacity(256);
        self.write_json_line(self.time.local_offset(), &mut line);

        // serde_json writes valid UTF-8 and the newline is ASCII, so the fallback is never taken.
        String::from_utf8(line).unwrap_or_default()
    }

    /// Appends the JSON line with the time shown at the given UTC offset.
    pub(crate) fn write_json_line(&self, offset: FixedOffset, out: &mut Vec<u8>) {
        let record = JsonRecord {
            time: self
                .time
                .with_offset(offset)
                .format(TIME_FORMAT)
                .to_string(),
            epoch: epoch_seconds(self.time),
            sensor: &self.sensor,
            src_ip: self.src_ip,
            src_port: self.src_port.filter(|&port| port != 0),
            dst_ip: self.dst_ip,
            dst_port: self.dst_port.filter(|&port| port != 0),
            proto: self.proto.to_string(),
            trail_type: self.trail_type.as_str(),
            trail: &self.trail,
            info: &self.info,
            reference: &self.reference,
            repeats: self.repeats,
        };

        // NOTE(expect): serde_json fails only on an I/O error, a map with non-string keys or a
        // `Serialize` impl that returns an error. Writing this struct into a `Vec` has none.
        serde_json::to_writer(&mut *out, &record).expect("JSON encoding of an event cannot fail");
        out.push(b'\n');
    }
}

/// Returns Unix seconds with microsecond precision, as the `f64` nearest to the decimal
/// `SECS.MICROS`, so serde_json prints that decimal (minus trailing zeros) for times before
/// about year 2242, where `f64` still resolves microseconds.
fn epoch_seconds(time: Timestamp) -> f64 {
    let time = time.normalized();
    let micros = i128::from(time.secs) * 1_000_000 + i128::from(time.micros());
    let sign = if micros < 0 { "-" } else { "" };
    let magnitude = micros.unsigned_abs();
    let decimal = format!(
        "{sign}{}.{:06}",
        magnitude / 1_000_000,
        magnitude % 1_000_000
    );

    decimal.parse().unwrap_or(time.secs as f64)
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};
    use std::sync::Arc;

    use super::*;
    use crate::event::{Proto, TrailType};

    fn sample_event() -> Event {
        Event {
            time: Timestamp {
                secs: 1_796_366_814,
                nanos: 123_456_789,
            },
            sensor: Arc::from("edge1"),
            src_ip: IpAddr::V4(Ipv4Addr::new(192, 168, 1, 20)),
            src_port: Some(51234),
            dst_ip: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
            dst_port: None,
            proto: Proto::Other(47),
            trail_type: TrailType::Url,
            trail: "evil.example/\"x\"\n".to_string(),
            info: String::new(),
            reference: "feed".to_string(),
            repeats: 5,
        }
    }

    fn render(event: &Event, offset: FixedOffset) -> String {
        let mut line = Vec::new();
        event.write_json_line(offset, &mut line);
        String::from_utf8(line).unwrap()
    }

    #[test]
    fn json_line_renders_exactly() {
        let offset = FixedOffset::east_opt(3600).unwrap();
        let expected = concat!(
            r#"{"time":"2026-12-04T07:46:54.123456+01:00","epoch":1796366814.123456,"#,
            r#""sensor":"edge1","src_ip":"192.168.1.20","src_port":51234,"dst_ip":"2001:db8::1","#,
            r#""dst_port":null,"proto":"47","type":"URL","trail":"evil.example/\"x\"\n","#,
            r#""info":"","reference":"feed","repeats":5}"#,
            "\n"
        );

        assert_eq!(render(&sample_event(), offset), expected);
    }

    #[test]
    fn zero_port_is_null() {
        let mut event = sample_event();
        event.src_port = Some(0);
        let value: serde_json::Value =
            serde_json::from_str(&render(&event, FixedOffset::east_opt(0).unwrap())).unwrap();

        assert!(value["src_port"].is_null());
    }

    #[test]
    fn epoch_keeps_six_decimals() {
        let epoch = epoch_seconds(Timestamp {
            secs: 1_796_366_814,
            nanos: 100_999,
        });

        assert_eq!(serde_json::to_string(&epoch).unwrap(), "1796366814.0001");
    }

    #[test]
    fn negative_epoch_keeps_fraction() {
        let epoch = epoch_seconds(Timestamp {
            secs: -2,
            nanos: 500_000_000,
        });

        assert_eq!(epoch, -1.5);
    }
}
