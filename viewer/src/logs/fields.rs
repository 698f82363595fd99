//! A borrowed view of a log line's eleven fields, split without allocating where possible.

use std::borrow::Cow;

use trailwatch_event::{parse_log_line, FIELD_COUNT};

/// The fields of one log line. Fields borrow from the line unless unquoting changed them
/// (a doubled `""` inside a quoted value), in which case the whole line was parsed by
/// [`trailwatch_event::parse_log_line`] and every field is owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineView<'a> {
    pub time: Cow<'a, str>,
    pub sensor: Cow<'a, str>,
    pub src_ip: Cow<'a, str>,
    pub src_port: Cow<'a, str>,
    pub dst_ip: Cow<'a, str>,
    pub dst_port: Cow<'a, str>,
    pub proto: Cow<'a, str>,
    pub trail_type: Cow<'a, str>,
    pub trail: Cow<'a, str>,
    pub info: Cow<'a, str>,
    pub reference: Cow<'a, str>,
}

impl<'a> LineView<'a> {
    /// Splits `line` (with or without its newline) by the rules of
    /// [`trailwatch_event::parse_log_line`], which it falls back to for doubled quotes.
    /// Returns `None` for a line that does not parse.
    pub fn parse(line: &'a str) -> Option<LineView<'a>> {
        let line = line.strip_suffix('\n').unwrap_or(line);
        let line = line.strip_suffix('\r').unwrap_or(line);
        match split_plain(line) {
            Split::Fields(fields) => {
                let [time, sensor, src_ip, src_port, dst_ip, dst_port, proto, trail_type, trail, info, reference] =
                    fields.map(Cow::Borrowed);
                Some(LineView {
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
            Split::Invalid => None,
            Split::NeedsUnquoting => {
                let parsed = parse_log_line(line).ok()?;
                Some(LineView {
                    time: parsed.time.into(),
                    sensor: parsed.sensor.into(),
                    src_ip: parsed.src_ip.into(),
                    src_port: parsed.src_port.into(),
                    dst_ip: parsed.dst_ip.into(),
                    dst_port: parsed.dst_port.into(),
                    proto: parsed.proto.into(),
                    trail_type: parsed.trail_type.into(),
                    trail: parsed.trail.into(),
                    info: parsed.info.into(),
                    reference: parsed.reference.into(),
                })
            }
        }
    }

    /// Splits the info of a summary line into the original info and the repeat count, by the
    /// rule of [`trailwatch_event::LogLine::info_and_repeats`].
    pub fn info_and_repeats(&self) -> (&str, u64) {
        let info: &str = &self.info;
        let Some(head) = info.strip_suffix(" repeats suppressed)") else {
            return (info, 0);
        };
        let Some((plain, count)) = head.rsplit_once('(') else {
            return (info, 0);
        };
        let Ok(repeats) = count.parse::<u64>() else {
            return (info, 0);
        };
        if plain.is_empty() {
            ("-", repeats)
        } else if let Some(plain) = plain.strip_suffix(' ') {
            (plain, repeats)
        } else {
            (info, 0)
        }
    }
}

enum Split<'a> {
    Fields([&'a str; FIELD_COUNT]),
    /// A quoted field contains `""`, so its value differs from its text.
    NeedsUnquoting,
    Invalid,
}

/// Splits a line whose quoted fields contain no doubled quotes.
fn split_plain(line: &str) -> Split<'_> {
    let mut fields = [""; FIELD_COUNT];
    let mut rest = line;
    for (position, field) in fields.iter_mut().enumerate() {
        let last = position + 1 == FIELD_COUNT;
        // Unquoted fields are short, so a byte loop finds their end without the setup of a
        // vector search. memchr finds the closing quote of the longer quoted fields.
        let (value, after) = if let Some(quoted) = rest.strip_prefix('"') {
            let Some(close) = memchr::memchr(b'"', quoted.as_bytes()) else {
                return Split::Invalid;
            };
            let after = &quoted[close + 1..];
            if after.starts_with('"') {
                return Split::NeedsUnquoting;
            }
            (&quoted[..close], after)
        } else {
            let end = rest
                .bytes()
                .position(|byte| byte == b' ' || byte == b'"')
                .unwrap_or(rest.len());
            let value = &rest[..end];
            if value.is_empty() || rest[end..].starts_with('"') {
                return Split::Invalid;
            }
            (value, &rest[end..])
        };
        *field = value;

        rest = match (last, after.strip_prefix(' ')) {
            (true, _) if after.is_empty() => after,
            (false, Some(next)) => next,
            _ => return Split::Invalid,
        };
    }
    Split::Fields(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines whose view must equal what `parse_log_line` makes of them.
    const LINES: [&str; 9] = [
        "\"2026-01-15 12:00:00.000000\" s1 10.0.0.1 1 10.0.0.2 2 TCP DNS a.test \"x y\" ref\n",
        "\"2026-01-15 12:00:00\" s1 10.0.0.1 - ::1 - ICMP IP \"a \"\"b\"\"\" \"\" -",
        "t s 1 2 3 4 5 6 7 8 9\r\n",
        "t s 1 2 3 4 5 6 7 8",
        "t s 1 2 3 4 5 6 7 8 9 10",
        "t s 1 2 3 4 5 6 7 8 \"9",
        "t s 1 2 3 4 5 6 7  9",
        "t s 1 2 3 4 5 6 7 8\"x 9",
        "t s 1 2 3 4 5 6 7 \"8\"x 9",
    ];

    #[test]
    fn view_matches_event_parser() {
        for line in LINES {
            let view = LineView::parse(line);
            let parsed = parse_log_line(line).ok();

            assert_eq!(view.is_some(), parsed.is_some(), "{line:?}");
            if let (Some(view), Some(parsed)) = (view, parsed) {
                assert_eq!(view.time, parsed.time, "{line:?}");
                assert_eq!(view.trail, parsed.trail, "{line:?}");
                assert_eq!(view.info, parsed.info, "{line:?}");
                assert_eq!(view.reference, parsed.reference, "{line:?}");
                assert_eq!(
                    view.info_and_repeats(),
                    parsed.info_and_repeats(),
                    "{line:?}"
                );
            }
        }
    }

    #[test]
    fn plain_line_borrows_fields() {
        let view = LineView::parse(LINES[0]).unwrap();

        assert!(matches!(view.trail, Cow::Borrowed("a.test")));
        assert!(matches!(view.info, Cow::Borrowed("x y")));
    }
}
