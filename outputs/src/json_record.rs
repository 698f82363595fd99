//! The JSON object of an event as the JSON lines and webhook outputs send it.

use trailwatch_event::Event;

/// Returns the event's JSON object ([`Event::to_json_line`]) with a `severity` field added
/// last, followed by a newline.
///
/// The fields are those of the daily JSON log, which include `sensor`, so a receiver can parse
/// both the same way.
pub(crate) fn json_line_with_severity(event: &Event) -> String {
    let mut line = event.to_json_line();

    // The object ends in "}\n". Reopening it there keeps serde_json's field order and escaping.
    if line.ends_with("}\n") {
        line.truncate(line.len() - 2);
        line.push_str(",\"severity\":\"");
        line.push_str(event.severity().as_str());
        line.push_str("\"}\n");
    }
    line
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::sync::Arc;

    use trailwatch_event::{Proto, Timestamp, TrailType};

    use super::*;

    #[test]
    fn severity_is_last_field() {
        let event = Event {
            time: Timestamp::new(1_796_366_814, 0),
            sensor: Arc::from("edge1"),
            src_ip: Ipv4Addr::new(192, 168, 1, 20).into(),
            src_port: Some(51234),
            dst_ip: Ipv4Addr::new(8, 8, 8, 8).into(),
            dst_port: Some(53),
            proto: Proto::Udp,
            trail_type: TrailType::Dns,
            trail: "evil.example".to_owned(),
            info: "emotet (malware)".to_owned(),
            reference: "(static)".to_owned(),
            repeats: 0,
        };
        let line = json_line_with_severity(&event);

        assert!(line.ends_with(",\"repeats\":0,\"severity\":\"high\"}\n"));
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["severity"], "high");
        assert_eq!(value["sensor"], "edge1");
    }
}
