//! The log line and the JSON line of the same events, parsed back and compared with the event
//! and with each other.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use chrono::{DateTime, Local};
use trailwatch_event::{parse_log_line, Event, LogLine, Proto, Timestamp, TrailType};

/// Values that exercise the quoting: quotes at either end, doubled quotes, CR/LF with and
/// without spaces, a literal `-`, non-ASCII text and a text that looks like a summary.
const TRICKY_VALUES: &[&str] = &[
    "plain",
    "",
    "-",
    "two words",
    " leading and trailing ",
    "\"",
    "\"\"",
    "\"quoted\"",
    "a \"b\" c",
    "say \"\"hi\"\"",
    "line\nbreak",
    "crlf\r\nin the middle",
    "\r",
    "tab\there",
    "back\\slash",
    "ünïcödé ✓",
    "bot (3 repeats suppressed)",
];

fn event_with(trail: &str, info: &str, reference: &str) -> Event {
    Event {
        time: Timestamp {
            secs: 1_796_366_814,
            nanos: 123_456_789,
        },
        sensor: Arc::from("edge 1"),
        src_ip: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10)),
        src_port: None,
        dst_ip: IpAddr::V4(Ipv4Addr::new(8, 8, 8, 8)),
        dst_port: Some(443),
        proto: Proto::Tcp,
        trail_type: TrailType::Url,
        trail: trail.to_string(),
        info: info.to_string(),
        reference: reference.to_string(),
        repeats: 0,
    }
}

/// Returns every tricky value in each of the trail, info and reference fields, plus summaries.
fn tricky_events() -> Vec<Event> {
    let mut events = Vec::new();
    for value in TRICKY_VALUES {
        events.push(event_with(value, "info", "ref"));
        events.push(event_with("trail", value, "ref"));
        events.push(event_with("trail", "info", value));

        let mut summary = event_with("trail", value, "ref");
        summary.repeats = 9;
        events.push(summary);
    }
    events
}

/// Returns a value as the log line shows it: `-` when empty, CR and LF replaced by spaces,
/// a tab (the only other control character among the tricky values) escaped as `\x09`.
fn as_logged(value: &str) -> String {
    if value.is_empty() {
        "-".to_string()
    } else {
        value.replace(['\r', '\n'], " ").replace('\t', "\\x09")
    }
}

fn parse(event: &Event) -> LogLine {
    let line = event.to_log_line();
    parse_log_line(&line).unwrap_or_else(|error| panic!("{error}: {line:?}"))
}

#[test]
fn line_ends_with_single_newline() {
    for event in tricky_events() {
        let line = event.to_log_line();

        assert_eq!(line.matches(['\n', '\r']).count(), 1, "{line:?}");
    }
}

#[test]
fn trail_round_trips_through_line() {
    for event in tricky_events() {
        assert_eq!(parse(&event).trail, as_logged(&event.trail), "{event:?}");
    }
}

#[test]
fn info_round_trips_through_line() {
    for event in tricky_events() {
        let parsed = parse(&event);
        let (info, repeats) = parsed.info_and_repeats();

        // A normal info that ends like a summary cannot be distinguished, so skip that one.
        if event.repeats == 0 && event.info.ends_with("repeats suppressed)") {
            continue;
        }
        assert_eq!(info, as_logged(&event.info), "{event:?}");
        assert_eq!(repeats, event.repeats, "{event:?}");
    }
}

#[test]
fn reference_round_trips_through_line() {
    for event in tricky_events() {
        assert_eq!(
            parse(&event).reference,
            as_logged(&event.reference),
            "{event:?}"
        );
    }
}

#[test]
fn fixed_fields_round_trip() {
    let parsed = parse(&event_with("trail", "info", "ref"));

    assert_eq!(parsed.sensor, "edge 1");
    assert_eq!(parsed.src_ip, "2001:db8::10");
    assert_eq!(parsed.src_port, "-");
    assert_eq!(parsed.dst_ip, "8.8.8.8");
    assert_eq!(parsed.dst_port, "443");
    assert_eq!(parsed.proto, "TCP");
    assert_eq!(parsed.trail_type, "URL");
}

#[test]
fn line_time_is_local_microseconds() {
    let event = event_with("trail", "info", "ref");
    let expected = DateTime::from_timestamp(event.time.secs, 123_456_000)
        .unwrap()
        .with_timezone(&Local)
        .naive_local();

    assert_eq!(parse(&event).local_time().unwrap(), expected);
}

/// Returns the JSON value of a port as the log line shows it.
fn port_as_logged(value: &serde_json::Value) -> String {
    match value.as_u64() {
        Some(port) => port.to_string(),
        None => "-".to_string(),
    }
}

fn json_str<'a>(json: &'a serde_json::Value, name: &str) -> &'a str {
    json[name]
        .as_str()
        .unwrap_or_else(|| panic!("JSON field {name} is not a string: {json}"))
}

#[test]
fn text_and_json_agree() {
    for event in tricky_events() {
        let text = parse(&event);
        let json: serde_json::Value = serde_json::from_str(&event.to_json_line()).unwrap();
        let json_time = DateTime::parse_from_rfc3339(json_str(&json, "time")).unwrap();
        let (text_info, text_repeats) = text.info_and_repeats();

        assert_eq!(
            text.local_time().unwrap(),
            json_time.naive_local(),
            "time of {event:?}"
        );
        assert_eq!(text.sensor, as_logged(json_str(&json, "sensor")));
        assert_eq!(text.src_ip, json_str(&json, "src_ip"));
        assert_eq!(text.src_port, port_as_logged(&json["src_port"]));
        assert_eq!(text.dst_ip, json_str(&json, "dst_ip"));
        assert_eq!(text.dst_port, port_as_logged(&json["dst_port"]));
        assert_eq!(text.proto, json_str(&json, "proto"));
        assert_eq!(text.trail_type, json_str(&json, "type"));
        assert_eq!(
            text.trail,
            as_logged(json_str(&json, "trail")),
            "trail of {event:?}"
        );
        assert_eq!(text.reference, as_logged(json_str(&json, "reference")));
        if event.repeats > 0 || !event.info.ends_with("repeats suppressed)") {
            assert_eq!(
                text_info,
                as_logged(json_str(&json, "info")),
                "info of {event:?}"
            );
            assert_eq!(
                text_repeats,
                json["repeats"].as_u64().unwrap(),
                "repeats of {event:?}"
            );
        }
    }
}

#[test]
fn json_epoch_matches_time() {
    let event = event_with("trail", "info", "ref");
    let json: serde_json::Value = serde_json::from_str(&event.to_json_line()).unwrap();
    let json_time = DateTime::parse_from_rfc3339(json_str(&json, "time")).unwrap();
    let epoch = json["epoch"].as_f64().unwrap();

    assert_eq!(epoch, 1_796_366_814.123456);
    assert_eq!(json_time.timestamp_micros(), 1_796_366_814_123_456);
}
