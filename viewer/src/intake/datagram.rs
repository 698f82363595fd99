//! The datagram of Maltrail's UDP event protocol: `<epoch seconds> <log line>`.
//!
//! A Maltrail sensor with `LOG_SERVER` set, and trailwatch's `log_server` output, send one
//! datagram per event: the Unix time in seconds, a space, and the log line of the daily log
//! with its final newline. The protocol has no authentication.

use std::borrow::Cow;

use chrono::NaiveDate;
use thiserror::Error;
use trailwatch_event::{parse_log_line, ParseError};
use trailwatch_relay::MAX_LINE_BYTES;

/// Reason a datagram was dropped.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DatagramError {
    #[error("datagram is not UTF-8")]
    NotUtf8,

    #[error("datagram has no space after the epoch seconds")]
    MissingSeparator,

    #[error("invalid epoch seconds {text:?}, expected decimal digits")]
    Epoch { text: String },

    #[error("log line is {len} bytes long, the maximum is {MAX_LINE_BYTES}")]
    TooLong { len: usize },

    #[error("log line contains control character 0x{byte:02x} at byte {offset}")]
    ControlCharacter { byte: u8, offset: usize },

    #[error("invalid log line: {0}")]
    Line(#[from] ParseError),

    #[error("invalid time field {time:?} in the log line")]
    Time { time: String },
}

/// A datagram that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram<'a> {
    /// Local date of the line's time field, which picks the daily log.
    pub date: NaiveDate,
    /// The log line, ending in exactly one `\n`.
    pub line: Cow<'a, str>,
}

/// Checks a datagram and returns the line to store with its date.
///
/// The seconds must be decimal digits, optionally with a fraction (`1772359200.25`). The line
/// must parse as a Maltrail line with a readable time field and contain no ASCII control
/// character other than its final `\n` or `\r\n`. A line without a final newline gets one.
///
/// The date comes from the line's time field, as it does for the reliable intake and for the
/// viewer's queries, and not from the seconds, which Maltrail's server uses instead. The two
/// differ only when sender and viewer run in different time zones.
pub fn parse_datagram(bytes: &[u8]) -> Result<Datagram<'_>, DatagramError> {
    let text = std::str::from_utf8(bytes).map_err(|_| DatagramError::NotUtf8)?;
    let (epoch, line) = text
        .split_once(' ')
        .ok_or(DatagramError::MissingSeparator)?;
    if !is_epoch(epoch) {
        return Err(DatagramError::Epoch {
            text: epoch.chars().take(32).collect(),
        });
    }

    let body = line.strip_suffix('\n').unwrap_or(line);
    let body = body.strip_suffix('\r').unwrap_or(body);
    if body.len() + 1 > MAX_LINE_BYTES {
        return Err(DatagramError::TooLong {
            len: body.len() + 1,
        });
    }
    if let Some(offset) = body.bytes().position(|byte| byte.is_ascii_control()) {
        return Err(DatagramError::ControlCharacter {
            byte: body.as_bytes()[offset],
            offset,
        });
    }

    let fields = parse_log_line(body)?;
    let time = fields
        .local_time()
        .map_err(|_| DatagramError::Time { time: fields.time })?;

    let line = if line.len() == body.len() + 1 {
        Cow::Borrowed(line)
    } else {
        Cow::Owned(format!("{body}\n"))
    };
    Ok(Datagram {
        date: time.date(),
        line,
    })
}

/// Returns whether `text` is decimal digits with an optional `.` and fraction digits.
fn is_epoch(text: &str) -> bool {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit());
    digits(whole) && digits(fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = "\"2026-03-01 10:00:00.000000\" pi 10.0.0.5 51234 10.0.0.1 53 UDP DNS \
                        evil.test malware (static)\n";

    #[test]
    fn maltrail_datagram_accepted() {
        let bytes = format!("1772359200 {LINE}");

        let datagram = parse_datagram(bytes.as_bytes()).unwrap();

        assert_eq!(datagram.date, NaiveDate::from_ymd_opt(2026, 3, 1).unwrap());
        assert_eq!(datagram.line, LINE);
        assert!(matches!(datagram.line, Cow::Borrowed(_)));
    }

    #[test]
    fn missing_newline_added() {
        let bytes = format!("1772359200.5 {}", LINE.trim_end());

        let datagram = parse_datagram(bytes.as_bytes()).unwrap();

        assert_eq!(datagram.line, LINE);
    }

    #[test]
    fn crlf_line_ends_in_newline() {
        let bytes = format!("1772359200 {}\r\n", LINE.trim_end());

        let datagram = parse_datagram(bytes.as_bytes()).unwrap();

        assert_eq!(datagram.line, LINE);
    }

    /// Check that a rejection is the expected kind.
    type Expected = fn(&DatagramError) -> bool;

    #[test]
    fn malformed_datagrams_rejected() {
        let long = format!("1 {}\n", "x".repeat(MAX_LINE_BYTES));
        let cases: [(Vec<u8>, Expected); 9] = [
            (b"\xff\xfe".to_vec(), |e| *e == DatagramError::NotUtf8),
            (b"1772359200".to_vec(), |e| {
                *e == DatagramError::MissingSeparator
            }),
            (format!("-5 {LINE}").into_bytes(), |e| {
                matches!(e, DatagramError::Epoch { .. })
            }),
            (format!("12x {LINE}").into_bytes(), |e| {
                matches!(e, DatagramError::Epoch { .. })
            }),
            (format!("1. {LINE}").into_bytes(), |e| {
                matches!(e, DatagramError::Epoch { .. })
            }),
            (format!(" {LINE}").into_bytes(), |e| {
                matches!(e, DatagramError::Epoch { .. })
            }),
            (long.into_bytes(), |e| {
                matches!(e, DatagramError::TooLong { .. })
            }),
            (format!("1 {}\n{LINE}", LINE.trim_end()).into_bytes(), |e| {
                matches!(e, DatagramError::ControlCharacter { byte: b'\n', .. })
            }),
            (b"1 just some words\n".to_vec(), |e| {
                matches!(e, DatagramError::Line(_))
            }),
        ];
        for (bytes, expected) in cases {
            let error = parse_datagram(&bytes).unwrap_err();
            assert!(
                expected(&error),
                "{:?}: {error:?}",
                String::from_utf8_lossy(&bytes)
            );
        }
    }

    #[test]
    fn unreadable_time_rejected() {
        let line = LINE.replace("2026-03-01 10:00:00.000000", "soon");

        let error = parse_datagram(format!("1 {line}").as_bytes()).unwrap_err();

        assert_eq!(
            error,
            DatagramError::Time {
                time: "soon".to_string()
            }
        );
    }
}
