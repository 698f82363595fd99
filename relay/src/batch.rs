//! The batch: the JSON body of one intake request, its limits and its validation.
//!
//! ```json
//! {"version":1,"sensor":"office-pi","stream":"9f1c0a3e5b7d2468","first_sequence":41,
//!  "events":["\"2026-03-01 10:00:00.000000\" office-pi 10.0.0.5 ... (ref)\n", "..."]}
//! ```
//!
//! The events carry the consecutive sequence numbers `first_sequence`, `first_sequence + 1`,
//! and so on. Each event is one Maltrail log line exactly as the sensor wrote it to its own log,
//! final newline included. See `PROTOCOL.md` in this crate for the whole exchange.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use trailwatch_event::{parse_log_line, ParseError};

/// Version number in every batch. A receiver rejects any other version with 400.
pub const PROTOCOL_VERSION: u32 = 1;

/// Maximum size of a request body in bytes. A full batch of [`MAX_EVENTS_PER_BATCH`] typical
/// 200-byte lines is about 250 KiB, so this leaves room for long URL trails.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Maximum number of events in one batch.
pub const MAX_EVENTS_PER_BATCH: usize = 1000;

/// Maximum length of one log line in bytes, newline included. The sensor caps the packet
/// fields it copies far below this, so only a corrupt line comes near it.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Maximum length of a sensor id in bytes.
pub const MAX_SENSOR_ID_BYTES: usize = 64;

/// Random 64-bit id of one sender spool, written as 16 lowercase hex digits.
///
/// A spool that is wiped starts a new stream, so its sequence numbers, which start at 1
/// again, are not taken for repeats of the old stream's events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(pub u64);

impl StreamId {
    /// Draws a new id from the operating system's random source.
    pub fn random() -> Result<StreamId, getrandom::Error> {
        getrandom::u64().map(StreamId)
    }

    /// Parses exactly 16 hex digits.
    pub fn parse(text: &str) -> Option<StreamId> {
        if text.len() != 16 || !text.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return None;
        }
        u64::from_str_radix(text, 16).ok().map(StreamId)
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// Reason a log line cannot travel in a batch.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LineError {
    #[error("line is {len} bytes long, the maximum is {MAX_LINE_BYTES}")]
    TooLong { len: usize },

    #[error("line does not end in a newline")]
    MissingNewline,

    #[error("line contains control character {byte:#04x} at byte {offset}")]
    ControlCharacter { byte: u8, offset: usize },

    #[error("line is not a Maltrail log line: {0}")]
    Fields(#[from] ParseError),

    #[error("time field {time:?} is not YYYY-MM-DD HH:MM:SS.ffffff")]
    Time { time: String },
}

/// Reason a sensor id is rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "invalid sensor id {id:?}: expected 1 to {MAX_SENSOR_ID_BYTES} ASCII letters, digits, \
     '.', '-' or '_'"
)]
pub struct SensorIdError {
    pub id: String,
}

/// Reason a request body is not a valid batch.
#[derive(Debug, Error)]
pub enum BatchError {
    #[error("body is {len} bytes long, the maximum is {MAX_BODY_BYTES}")]
    TooLarge { len: usize },

    #[error("body is not a batch object: {0}")]
    Json(#[from] serde_json::Error),

    #[error("unsupported protocol version {found}, expected {PROTOCOL_VERSION}")]
    Version { found: u32 },

    #[error(transparent)]
    SensorId(#[from] SensorIdError),

    #[error("invalid stream id {value:?}: expected 16 hex digits")]
    StreamId { value: String },

    #[error("first_sequence is 0; sequence numbers start at 1")]
    ZeroSequence,

    #[error("batch has no events")]
    NoEvents,

    #[error("batch has {count} events, the maximum is {MAX_EVENTS_PER_BATCH}")]
    TooManyEvents { count: usize },

    #[error("sequence numbers from {first} for {count} events exceed 2^64 - 1")]
    SequenceOverflow { first: u64, count: usize },

    #[error("event {index} (sequence {sequence}): {reason}")]
    Line {
        index: usize,
        sequence: u64,
        reason: LineError,
    },
}

/// One batch of events of one (sensor, stream), with consecutive sequence numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Sensor id, see [`validate_sensor_id`].
    pub sensor: String,
    pub stream: StreamId,
    /// Sequence number of `events[0]`, at least 1.
    pub first_sequence: u64,
    /// Maltrail log lines, each ending in `\n`.
    pub events: Vec<String>,
}

/// The batch as written on the wire, borrowed for encoding.
#[derive(Serialize)]
struct WireBatchRef<'a> {
    version: u32,
    sensor: &'a str,
    stream: String,
    first_sequence: u64,
    events: &'a [String],
}

/// The batch as read from the wire.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireBatch {
    version: u32,
    sensor: String,
    stream: String,
    first_sequence: u64,
    events: Vec<String>,
}

impl Batch {
    /// Returns the sequence number of the last event, or `first_sequence - 1` for no events.
    pub fn last_sequence(&self) -> u64 {
        // Written as first + (count - 1): a decoded batch may end at exactly 2^64 - 1.
        match self.events.len() as u64 {
            0 => self.first_sequence.saturating_sub(1),
            count => self.first_sequence.saturating_add(count - 1),
        }
    }

    /// Encodes the batch as the JSON request body. The caller is responsible for the limits;
    /// [`Batch::decode`] checks them.
    pub fn encode(&self) -> Vec<u8> {
        let wire = WireBatchRef {
            version: PROTOCOL_VERSION,
            sensor: &self.sensor,
            stream: self.stream.to_string(),
            first_sequence: self.first_sequence,
            events: &self.events,
        };
        // serde_json fails only on maps with non-string keys or on a failing Serialize impl,
        // and this struct has neither.
        serde_json::to_vec(&wire).expect("a batch serializes to JSON")
    }

    /// Decodes and validates a request body: size, JSON shape (unknown fields are rejected),
    /// version, sensor id, stream id, sequence range, event count and every line.
    pub fn decode(body: &[u8]) -> Result<Batch, BatchError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(BatchError::TooLarge { len: body.len() });
        }
        let wire: WireBatch = serde_json::from_slice(body)?;

        if wire.version != PROTOCOL_VERSION {
            return Err(BatchError::Version {
                found: wire.version,
            });
        }
        validate_sensor_id(&wire.sensor)?;
        let stream = StreamId::parse(&wire.stream).ok_or(BatchError::StreamId {
            value: wire.stream.clone(),
        })?;

        check_sequence_range(wire.first_sequence, wire.events.len())?;
        for (index, line) in wire.events.iter().enumerate() {
            validate_line(line).map_err(|reason| BatchError::Line {
                index,
                sequence: wire.first_sequence + index as u64,
                reason,
            })?;
        }

        Ok(Batch {
            sensor: wire.sensor,
            stream,
            first_sequence: wire.first_sequence,
            events: wire.events,
        })
    }
}

fn check_sequence_range(first: u64, count: usize) -> Result<(), BatchError> {
    if first == 0 {
        return Err(BatchError::ZeroSequence);
    }
    if count == 0 {
        return Err(BatchError::NoEvents);
    }
    if count > MAX_EVENTS_PER_BATCH {
        return Err(BatchError::TooManyEvents { count });
    }
    if first.checked_add(count as u64 - 1).is_none() {
        return Err(BatchError::SequenceOverflow { first, count });
    }
    Ok(())
}

/// Checks that `line` is one Maltrail log line that a receiver will accept.
///
/// The line must be at most [`MAX_LINE_BYTES`] long and end in a single `\n`. It must contain
/// no other ASCII control character, which the sensor writes as `\xHH`. It must split into
/// eleven fields, with a time field that the viewer can read to pick the daily log.
///
/// Without control characters, JSON escaping at most doubles a line, which the batch size
/// limits rely on.
pub fn validate_line(line: &str) -> Result<(), LineError> {
    if line.len() > MAX_LINE_BYTES {
        return Err(LineError::TooLong { len: line.len() });
    }
    let body = line.strip_suffix('\n').ok_or(LineError::MissingNewline)?;
    let control = body.bytes().position(|byte| byte.is_ascii_control());
    if let Some(offset) = control {
        return Err(LineError::ControlCharacter {
            byte: body.as_bytes()[offset],
            offset,
        });
    }

    let fields = parse_log_line(line)?;
    if fields.local_time().is_err() {
        return Err(LineError::Time { time: fields.time });
    }
    Ok(())
}

/// Checks a sensor id: 1 to [`MAX_SENSOR_ID_BYTES`] ASCII letters, digits, `.`, `-` or `_`,
/// so that it is safe in file names and log lines.
pub fn validate_sensor_id(id: &str) -> Result<(), SensorIdError> {
    let valid_byte = |byte: u8| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-' | b'_');
    if id.is_empty() || id.len() > MAX_SENSOR_ID_BYTES || !id.bytes().all(valid_byte) {
        return Err(SensorIdError { id: id.to_string() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LINE: &str = "\"2026-03-01 10:00:00.000000\" office-pi 10.0.0.5 51234 192.0.2.7 53 \
                        UDP DNS evil.example malware (static)\n";

    fn batch() -> Batch {
        Batch {
            sensor: "office-pi".to_string(),
            stream: StreamId(0x9f1c_0a3e_5b7d_2468),
            first_sequence: 41,
            events: vec![LINE.to_string(), LINE.replace("evil", "bad")],
        }
    }

    fn decode_text(body: &str) -> Result<Batch, BatchError> {
        Batch::decode(body.as_bytes())
    }

    #[test]
    fn batch_round_trips() {
        let decoded = Batch::decode(&batch().encode()).unwrap();

        assert_eq!(decoded, batch());
        assert_eq!(decoded.last_sequence(), 42);
    }

    #[test]
    fn batch_wire_form_is_stable() {
        let one = Batch {
            events: vec![LINE.to_string()],
            ..batch()
        };

        let text = String::from_utf8(one.encode()).unwrap();

        let head = concat!(
            r#"{"version":1,"sensor":"office-pi","stream":"9f1c0a3e5b7d2468","#,
            r#""first_sequence":41,"events":["\"2026-03-01"#
        );
        assert!(text.starts_with(head), "{text}");
        assert!(text.ends_with(r#"(static)\n"]}"#), "{text}");
    }

    #[test]
    fn stream_id_parses_hex_only() {
        assert_eq!(StreamId::parse("000000000000002a"), Some(StreamId(42)));
        assert_eq!(
            StreamId::parse("FFFFFFFFFFFFFFFF"),
            Some(StreamId(u64::MAX))
        );
        assert_eq!(StreamId::parse("2a"), None);
        assert_eq!(StreamId::parse("+00000000000002a"), None);
        assert_eq!(StreamId::parse("00000000000000g0"), None);
        assert_eq!(StreamId(42).to_string(), "000000000000002a");
    }

    #[test]
    fn decode_rejects_bad_headers() {
        let good = String::from_utf8(batch().encode()).unwrap();

        let cases = [
            (good.replace("\"version\":1", "\"version\":2"), "version"),
            (good.replace("office-pi\",", "office pi\","), "sensor id"),
            (good.replace("9f1c0a3e5b7d2468", "9f1c"), "stream id"),
            (good.replace(":41,", ":0,"), "first_sequence"),
            (good.replace(":41,", ":18446744073709551615,"), "exceed"),
            (
                good.replace("\"version\":1,", "\"version\":1,\"extra\":true,"),
                "unknown field",
            ),
            (good.replace("\"version\":1,", ""), "missing field"),
            (good[..good.len() - 2].to_string(), "EOF"),
        ];
        for (body, expected) in cases {
            let error = decode_text(&body).unwrap_err();
            assert!(
                error.to_string().contains(expected),
                "{body}: {error} should mention {expected}"
            );
        }
    }

    #[test]
    fn decode_rejects_bad_event_lists() {
        let empty = Batch {
            events: Vec::new(),
            ..batch()
        };
        assert!(matches!(
            Batch::decode(&empty.encode()),
            Err(BatchError::NoEvents)
        ));

        let many = Batch {
            events: vec![LINE.to_string(); MAX_EVENTS_PER_BATCH + 1],
            ..batch()
        };
        assert!(matches!(
            Batch::decode(&many.encode()),
            Err(BatchError::TooManyEvents { count: 1001 })
        ));

        let oversize = vec![b' '; MAX_BODY_BYTES + 1];
        assert!(matches!(
            Batch::decode(&oversize),
            Err(BatchError::TooLarge { .. })
        ));
    }

    #[test]
    fn decode_names_the_bad_line() {
        let mut bad = batch();
        bad.events[1] = "not a log line\n".to_string();

        let error = Batch::decode(&bad.encode()).unwrap_err();

        assert!(
            matches!(
                error,
                BatchError::Line {
                    index: 1,
                    sequence: 42,
                    ..
                }
            ),
            "{error}"
        );
    }

    #[test]
    fn line_validation_cases() {
        let no_newline = LINE.trim_end();
        let inner_break = LINE.replace("evil", "ev\nil");
        let carriage_return = LINE.replace("evil", "ev\ril");
        let tab = LINE.replace("evil", "ev\til");
        let bad_time = LINE.replace("10:00:00", "25:00:00");
        let long = LINE.replace("evil", &"e".repeat(MAX_LINE_BYTES));

        assert_eq!(validate_line(LINE), Ok(()));
        assert_eq!(validate_line(no_newline), Err(LineError::MissingNewline));
        assert!(matches!(
            validate_line(&inner_break),
            Err(LineError::ControlCharacter { byte: b'\n', .. })
        ));
        assert!(matches!(
            validate_line(&carriage_return),
            Err(LineError::ControlCharacter { byte: b'\r', .. })
        ));
        assert!(matches!(
            validate_line(&tab),
            Err(LineError::ControlCharacter { byte: b'\t', .. })
        ));
        assert!(matches!(
            validate_line(&bad_time),
            Err(LineError::Time { .. })
        ));
        assert!(matches!(
            validate_line(&long),
            Err(LineError::TooLong { .. })
        ));
        assert!(matches!(
            validate_line("a b c\n"),
            Err(LineError::Fields(_))
        ));
    }

    #[test]
    fn sensor_id_validation_cases() {
        for good in [
            "office-pi",
            "a",
            "pi_4.lan",
            &"x".repeat(MAX_SENSOR_ID_BYTES),
        ] {
            assert_eq!(validate_sensor_id(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "office pi",
            "a/b",
            "é",
            &"x".repeat(MAX_SENSOR_ID_BYTES + 1),
        ] {
            assert!(validate_sensor_id(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn decode_never_panics_on_bytes(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = Batch::decode(&body);
        }

        #[test]
        fn decode_never_panics_on_mutations(
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)
        ) {
            let mut body = batch().encode();
            for (position, value) in flips {
                let index = position % body.len();
                body[index] = value;
            }

            if let Ok(decoded) = Batch::decode(&body) {
                prop_assert!(!decoded.events.is_empty());
                prop_assert!(decoded.first_sequence >= 1);
            }
        }
    }
}
