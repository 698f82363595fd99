//! Splitting a Maltrail log line back into its eleven fields.

use chrono::NaiveDateTime;
use thiserror::Error;

/// Number of fields in a log line.
pub const FIELD_COUNT: usize = 11;

/// Field names in line order, used in error messages.
const FIELD_NAMES: [&str; FIELD_COUNT] = [
    "time",
    "sensor",
    "src_ip",
    "src_port",
    "dst_ip",
    "dst_port",
    "proto",
    "type",
    "trail",
    "info",
    "reference",
];

/// Format of the time field, in chrono's `strftime` syntax.
const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S%.f";

/// The eleven fields of one log line, unquoted.
///
/// Values are kept as written, after quotes are removed and doubled quotes are collapsed: a
/// missing value stays `-` (the format cannot tell it from a literal `-`), and CR/LF that the
/// renderer turned into spaces stay spaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Local time, `YYYY-MM-DD HH:MM:SS.ffffff`.
    pub time: String,
    pub sensor: String,
    pub src_ip: String,
    pub src_port: String,
    pub dst_ip: String,
    pub dst_port: String,
    pub proto: String,
    pub trail_type: String,
    pub trail: String,
    pub info: String,
    pub reference: String,
}

impl LogLine {
    /// Parses the time field as a local date and time (the line carries no UTC offset).
    pub fn local_time(&self) -> Result<NaiveDateTime, chrono::ParseError> {
        NaiveDateTime::parse_from_str(&self.time, TIME_FORMAT)
    }

    /// Splits the info field of a summary line into the original info and the repeat count.
    ///
    /// Returns the info unchanged and 0 for a normal line. An empty original info comes back as
    /// `-`, as a normal line would show it. A normal info that itself ends in
    /// `(N repeats suppressed)` is read as a summary, because the line cannot tell them apart.
    pub fn info_and_repeats(&self) -> (&str, u64) {
        let Some(head) = self.info.strip_suffix(" repeats suppressed)") else {
            return (&self.info, 0);
        };
        let Some((plain, count)) = head.rsplit_once('(') else {
            return (&self.info, 0);
        };
        let Ok(repeats) = count.parse::<u64>() else {
            return (&self.info, 0);
        };

        if plain.is_empty() {
            ("-", repeats)
        } else if let Some(plain) = plain.strip_suffix(' ') {
            (plain, repeats)
        } else {
            (&self.info, 0)
        }
    }
}

/// Reason a log line could not be split into its fields. Fields are numbered from 1, and offsets
/// are 0-based byte offsets into the line.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    #[error("log line has {found} fields, expected {FIELD_COUNT}")]
    FieldCount { found: usize },

    #[error(
        "field {field} ({}) at byte {offset} is empty; a missing value is written as -",
        field_name(*field)
    )]
    EmptyField { field: usize, offset: usize },

    #[error(
        "field {field} ({}) opens a quote at byte {offset} that is never closed",
        field_name(*field)
    )]
    UnterminatedQuote { field: usize, offset: usize },

    #[error(
        "field {field} ({}) has a quote at byte {offset} inside an unquoted value",
        field_name(*field)
    )]
    StrayQuote { field: usize, offset: usize },

    #[error(
        "field {field} ({}) continues after its closing quote at byte {offset}; \
         expected a space or the end of the line",
        field_name(*field)
    )]
    TextAfterQuote { field: usize, offset: usize },
}

fn field_name(field: usize) -> &'static str {
    field
        .checked_sub(1)
        .and_then(|index| FIELD_NAMES.get(index))
        .copied()
        .unwrap_or("extra")
}

/// Splits a log line into its eleven fields, undoing the quoting of [`crate::Event::to_log_line`].
///
/// One trailing `\n` (or `\r\n`) is removed first. Fields are separated by single spaces. A
/// field that starts with `"` runs to the next `"` that is not doubled, and `""` inside it stands
/// for one `"`. Any other field runs to the next space and must not contain `"`.
pub fn parse_log_line(line: &str) -> Result<LogLine, ParseError> {
    let line = line.strip_suffix('\n').unwrap_or(line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.is_empty() {
        return Err(ParseError::FieldCount { found: 0 });
    }

    let mut fields: Vec<String> = Vec::with_capacity(FIELD_COUNT);
    let mut found = 0;
    let mut rest = Some(line);

    while let Some(text) = rest {
        found += 1;
        let offset = line.len() - text.len();
        let (value, next) = if let Some(quoted) = text.strip_prefix('"') {
            take_quoted(quoted, found, offset, line.len())?
        } else {
            take_bare(text, found, offset)?
        };

        // Fields past the eleventh are only counted, for the error message.
        if fields.len() < FIELD_COUNT {
            fields.push(value);
        }
        rest = next;
    }

    if found != FIELD_COUNT {
        return Err(ParseError::FieldCount { found });
    }
    let Ok(
        [time, sensor, src_ip, src_port, dst_ip, dst_port, proto, trail_type, trail, info, reference],
    ) = <[String; FIELD_COUNT]>::try_from(fields)
    else {
        return Err(ParseError::FieldCount { found });
    };

    Ok(LogLine {
        time,
        sensor,
        src_ip,
        src_port,
        dst_ip,
        dst_port,
        proto,
        trail_type,
        trail,
        info,
        reference,
    })
}

/// Reads a quoted value from `text`, which starts just after the opening quote at `offset`.
/// Returns the value and the text after the following separator, or `None` at the end of line.
fn take_quoted(
    text: &str,
    field: usize,
    offset: usize,
    line_len: usize,
) -> Result<(String, Option<&str>), ParseError> {
    let mut value = String::new();
    let mut rest = text;

    let after_close = loop {
        let Some((chunk, tail)) = rest.split_once('"') else {
            return Err(ParseError::UnterminatedQuote { field, offset });
        };
        value.push_str(chunk);

        match tail.strip_prefix('"') {
            Some(after_doubled) => {
                value.push('"');
                rest = after_doubled;
            }
            None => break tail,
        }
    };

    if after_close.is_empty() {
        return Ok((value, None));
    }
    match after_close.strip_prefix(' ') {
        Some(next) => Ok((value, Some(next))),
        None => Err(ParseError::TextAfterQuote {
            field,
            offset: line_len - after_close.len(),
        }),
    }
}

/// Reads an unquoted value from `text`, which starts at `offset`. Returns the value and the text
/// after the following separator, or `None` at the end of line.
fn take_bare(
    text: &str,
    field: usize,
    offset: usize,
) -> Result<(String, Option<&str>), ParseError> {
    let (value, next) = match text.split_once(' ') {
        Some((value, next)) => (value, Some(next)),
        None => (text, None),
    };

    if value.is_empty() {
        return Err(ParseError::EmptyField { field, offset });
    }
    if let Some(position) = value.find('"') {
        return Err(ParseError::StrayQuote {
            field,
            offset: offset + position,
        });
    }

    Ok((value.to_string(), next))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = "\"2026-12-04 06:46:54.123456\" edge1 192.168.1.20 51234 8.8.8.8 53 UDP \
                        DNS \"a \"\"b\"\" c\" \"known attacker\" -\n";

    #[test]
    fn parses_quoted_and_bare_fields() {
        let parsed = parse_log_line(LINE).unwrap();

        assert_eq!(parsed.time, "2026-12-04 06:46:54.123456");
        assert_eq!(parsed.sensor, "edge1");
        assert_eq!(parsed.src_port, "51234");
        assert_eq!(parsed.trail_type, "DNS");
        assert_eq!(parsed.trail, "a \"b\" c");
        assert_eq!(parsed.info, "known attacker");
        assert_eq!(parsed.reference, "-");
    }

    #[test]
    fn time_parses_as_local() {
        let parsed = parse_log_line(LINE).unwrap();
        let expected = chrono::NaiveDate::from_ymd_opt(2026, 12, 4)
            .unwrap()
            .and_hms_micro_opt(6, 46, 54, 123_456)
            .unwrap();

        assert_eq!(parsed.local_time().unwrap(), expected);
    }

    #[test]
    fn accepts_missing_newline_and_crlf() {
        let bare = LINE.trim_end_matches('\n');
        let crlf = format!("{bare}\r\n");

        assert_eq!(parse_log_line(bare), parse_log_line(LINE));
        assert_eq!(parse_log_line(&crlf), parse_log_line(LINE));
    }

    #[test]
    fn too_few_fields_rejected() {
        assert_eq!(
            parse_log_line("a b c"),
            Err(ParseError::FieldCount { found: 3 })
        );
    }

    #[test]
    fn too_many_fields_rejected() {
        let line = "a b c d e f g h i j k l\n";

        assert_eq!(
            parse_log_line(line),
            Err(ParseError::FieldCount { found: 12 })
        );
    }

    #[test]
    fn empty_line_rejected() {
        assert_eq!(
            parse_log_line("\n"),
            Err(ParseError::FieldCount { found: 0 })
        );
    }

    #[test]
    fn double_space_is_empty_field() {
        assert_eq!(
            parse_log_line("a  b"),
            Err(ParseError::EmptyField {
                field: 2,
                offset: 2
            })
        );
    }

    #[test]
    fn trailing_space_is_empty_field() {
        assert_eq!(
            parse_log_line("a b "),
            Err(ParseError::EmptyField {
                field: 3,
                offset: 4
            })
        );
    }

    #[test]
    fn unterminated_quote_rejected() {
        let error = parse_log_line("a \"b c").unwrap_err();

        assert_eq!(
            error,
            ParseError::UnterminatedQuote {
                field: 2,
                offset: 2
            }
        );
    }

    #[test]
    fn stray_quote_rejected() {
        assert_eq!(
            parse_log_line("a b\"c"),
            Err(ParseError::StrayQuote {
                field: 2,
                offset: 3
            })
        );
    }

    #[test]
    fn text_after_quote_rejected() {
        let error = parse_log_line("a \"b\"c d").unwrap_err();

        assert_eq!(
            error,
            ParseError::TextAfterQuote {
                field: 2,
                offset: 5
            }
        );
    }

    #[test]
    fn error_message_names_field() {
        let error = parse_log_line("a b c d e f g h \"i").unwrap_err();

        assert_eq!(
            error.to_string(),
            "field 9 (trail) opens a quote at byte 16 that is never closed"
        );
    }

    #[test]
    fn multibyte_text_never_panics() {
        for line in ["\"é", "é\"", "\"é\"é", "é  é", "\"\u{1F600}\"\"", " é"] {
            assert!(parse_log_line(line).is_err(), "{line:?} parsed");
        }
    }

    fn line_with_info(info: &str) -> LogLine {
        let line = format!("t s 1.1.1.1 1 2.2.2.2 2 TCP DNS x {info} r");
        parse_log_line(&line).unwrap()
    }

    #[test]
    fn summary_info_splits_count() {
        let parsed = line_with_info("\"malware (42 repeats suppressed)\"");

        assert_eq!(parsed.info_and_repeats(), ("malware", 42));
    }

    #[test]
    fn summary_of_empty_info_splits() {
        let parsed = line_with_info("\"(7 repeats suppressed)\"");

        assert_eq!(parsed.info_and_repeats(), ("-", 7));
    }

    #[test]
    fn normal_info_has_no_repeats() {
        let parsed = line_with_info("\"malware (static)\"");

        assert_eq!(parsed.info_and_repeats(), ("malware (static)", 0));
    }
}
