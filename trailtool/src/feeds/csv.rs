//! CSV feeds: quoted or unquoted rows, a header row or header comment, status and port
//! columns.

use std::borrow::Cow;

use super::format::{Column, HeaderMode};
use super::indicator::{self, Indicator, Reject};
use super::lines;
use super::parsed::Collector;

/// The options of [`Format::Csv`](super::Format::Csv), borrowed from the feed.
pub(crate) struct CsvOptions<'a> {
    pub(crate) column: &'a Column,
    pub(crate) port_column: Option<&'a Column>,
    pub(crate) status_column: Option<&'a Column>,
    pub(crate) status_allow: &'a [String],
    pub(crate) delimiter: char,
    pub(crate) header: HeaderMode,
}

/// Field indexes once column names are resolved against the header.
struct Resolved {
    column: usize,
    port: Option<usize>,
    status: Option<usize>,
}

/// Parses CSV rows. `#` lines are comments. Returns the reason when the header cannot be
/// found or lacks a named column.
pub(crate) fn parse(
    options: &CsvOptions<'_>,
    body: &str,
    out: &mut Collector,
) -> Result<(), String> {
    let mut resolved = match options.header {
        HeaderMode::None => Some(resolve(options, &[])?),
        HeaderMode::Row | HeaderMode::Comment => None,
    };
    let mut last_comment = None;

    for (number, line) in lines::numbered_lines(body) {
        if line.is_empty() {
            continue;
        }
        if line.starts_with('#') {
            last_comment = Some(line);
            continue;
        }

        let fields = split_fields(line, options.delimiter);
        if resolved.is_none() {
            let columns = match options.header {
                HeaderMode::Comment => match last_comment {
                    Some(comment) => {
                        let header =
                            split_fields(comment.trim_start_matches('#'), options.delimiter);
                        resolve(options, &header)?
                    }
                    // Columns given by index need no header.
                    None => resolve(options, &[]).map_err(|_| {
                        "no `#` header comment comes before the first row".to_owned()
                    })?,
                },
                HeaderMode::Row | HeaderMode::None => resolve(options, &fields)?,
            };
            resolved = Some(columns);

            // A header row is not data, but the row after a header comment is.
            if options.header == HeaderMode::Row {
                continue;
            }
        }

        if let Some(columns) = &resolved {
            parse_row(options, columns, number, line, &fields, out);
        }
    }
    Ok(())
}

fn parse_row(
    options: &CsvOptions<'_>,
    columns: &Resolved,
    number: usize,
    line: &str,
    fields: &[Cow<'_, str>],
    out: &mut Collector,
) {
    let Some(value) = fields.get(columns.column) else {
        let reason = format!(
            "has {} fields, so column {} is missing",
            fields.len(),
            columns.column
        );
        out.skip(number, line, &reason, false);
        return;
    };

    if let Some(status_index) = columns.status {
        let status = fields.get(status_index).map_or("", |status| status.trim());
        let allowed = options
            .status_allow
            .iter()
            .any(|allow| allow.trim().eq_ignore_ascii_case(status));
        if !allowed {
            let reason = format!("has status {status:?}, which is not in status_allow");
            out.skip(number, value, &reason, true);
            return;
        }
    }

    let port = columns
        .port
        .and_then(|index| fields.get(index))
        .map(|port| port.trim())
        .filter(|port| !port.is_empty());
    out.record(number, value, with_port(indicator::parse_any(value), port));
}

/// Joins a port field to an address indicator. Domains and URLs keep no port, and an empty
/// port field leaves the address as it is.
fn with_port(parsed: Result<Indicator, Reject>, port: Option<&str>) -> Result<Indicator, Reject> {
    let (Ok(Indicator::Ip(ip)), Some(port)) = (&parsed, port) else {
        return parsed;
    };

    match port.parse::<u16>() {
        Ok(port) if port > 0 => Ok(Indicator::Endpoint(*ip, port)),
        _ => Err(Reject::InvalidPort),
    }
}

fn resolve(options: &CsvOptions<'_>, header: &[Cow<'_, str>]) -> Result<Resolved, String> {
    Ok(Resolved {
        column: find(options.column, header)?,
        port: options
            .port_column
            .map(|column| find(column, header))
            .transpose()?,
        status: options
            .status_column
            .map(|column| find(column, header))
            .transpose()?,
    })
}

fn find(column: &Column, header: &[Cow<'_, str>]) -> Result<usize, String> {
    let name = match column {
        Column::Index(index) => return Ok(*index),
        Column::Name(name) => name.trim(),
    };

    header
        .iter()
        .position(|field| field.trim().eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            let names: Vec<&str> = header.iter().map(|field| field.trim()).collect();
            format!("the header has no column {name:?} (it has {names:?})")
        })
}

/// Splits one CSV line into trimmed fields.
///
/// A field that starts with `"` is quoted: delimiters inside it are data and `""` is one
/// quote. Text after the closing quote is kept, and an unclosed quote runs to the end of
/// the line, so a malformed row costs one row.
pub(crate) fn split_fields(line: &str, delimiter: char) -> Vec<Cow<'_, str>> {
    let mut fields = Vec::new();
    let mut rest = line;

    loop {
        let trimmed = rest.trim_start();
        let Some(quoted) = trimmed.strip_prefix('"') else {
            match rest.split_once(delimiter) {
                Some((field, after)) => {
                    fields.push(Cow::Borrowed(field.trim()));
                    rest = after;
                    continue;
                }
                None => {
                    fields.push(Cow::Borrowed(rest.trim()));
                    return fields;
                }
            }
        };

        let (field, after) = read_quoted(quoted, delimiter);
        fields.push(Cow::Owned(field.trim().to_owned()));
        match after {
            Some(after) => rest = after,
            None => return fields,
        }
    }
}

/// Reads a quoted field body up to the delimiter after its closing quote. Returns the field
/// and the text after that delimiter, or `None` at the end of the line.
fn read_quoted(text: &str, delimiter: char) -> (String, Option<&str>) {
    let mut field = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    let mut closed = false;

    while let Some((index, c)) = chars.next() {
        if closed {
            if c == delimiter {
                return (field, Some(&text[index + c.len_utf8()..]));
            }
            field.push(c);
            continue;
        }

        if c != '"' {
            field.push(c);
        } else if chars.next_if(|&(_, next)| next == '"').is_some() {
            field.push('"');
        } else {
            closed = true;
        }
    }
    (field, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(line: &str) -> Vec<String> {
        split_fields(line, ',')
            .into_iter()
            .map(Cow::into_owned)
            .collect()
    }

    fn options(column: &Column, header: HeaderMode) -> CsvOptions<'_> {
        CsvOptions {
            column,
            port_column: None,
            status_column: None,
            status_allow: &[],
            delimiter: ',',
            header,
        }
    }

    fn run(options: &CsvOptions<'_>, body: &str) -> Result<super::super::Parsed, String> {
        let mut out = Collector::default();
        parse(options, body, &mut out)?;
        Ok(out.finish())
    }

    #[test]
    fn unquoted_fields_are_split() {
        assert_eq!(fields("a,b,,c"), ["a", "b", "", "c"]);
    }

    #[test]
    fn quoted_fields_are_unquoted() {
        assert_eq!(fields(r#""a","b c","d""#), ["a", "b c", "d"]);
    }

    #[test]
    fn quoted_delimiter_is_data() {
        assert_eq!(fields(r#""x","elf,mirai",y"#), ["x", "elf,mirai", "y"]);
    }

    #[test]
    fn doubled_quote_is_one_quote() {
        assert_eq!(fields(r#""say ""hi""",z"#), [r#"say "hi""#, "z"]);
    }

    #[test]
    fn unclosed_quote_runs_to_end() {
        assert_eq!(fields(r#"a,"b,c"#), ["a", "b,c"]);
    }

    #[test]
    fn leading_space_is_trimmed() {
        assert_eq!(fields(" evil.example.com,x"), ["evil.example.com", "x"]);
    }

    #[test]
    fn header_row_names_column() {
        let column = Column::Name("host".to_owned());
        let body = "id,Host\n1,evil.example.com\n";

        let parsed = run(&options(&column, HeaderMode::Row), body).unwrap();

        assert_eq!(parsed.indicators, ["evil.example.com"]);
    }

    #[test]
    fn header_comment_names_column() {
        let column = Column::Name("host".to_owned());
        let body = "# banner\n# id,host\n1,evil.example.com\n";

        let parsed = run(&options(&column, HeaderMode::Comment), body).unwrap();

        assert_eq!(parsed.indicators, ["evil.example.com"]);
    }

    #[test]
    fn missing_header_column_is_wrong_format() {
        let column = Column::Name("dst_ip".to_owned());

        let error = run(&options(&column, HeaderMode::Row), "a,b\n1,2\n").unwrap_err();

        assert!(error.contains("dst_ip"), "{error}");
    }

    #[test]
    fn missing_header_comment_is_wrong_format() {
        let column = Column::Name("url".to_owned());

        let result = run(
            &options(&column, HeaderMode::Comment),
            "1,evil.example.com\n",
        );

        assert!(result.is_err());
    }

    #[test]
    fn index_column_needs_no_comment() {
        let column = Column::Index(1);

        let parsed = run(
            &options(&column, HeaderMode::Comment),
            "1,evil.example.com\n",
        )
        .unwrap();

        assert_eq!(parsed.indicators, ["evil.example.com"]);
    }

    #[test]
    fn short_row_is_skipped() {
        let column = Column::Index(3);

        let parsed = run(&options(&column, HeaderMode::None), "a,b\n").unwrap();

        assert_eq!(parsed.skipped, 1);
    }

    #[test]
    fn status_filter_drops_offline_row() {
        let column = Column::Index(0);
        let status = Column::Index(1);
        let allow = ["online".to_owned()];
        let mut options = options(&column, HeaderMode::None);
        options.status_column = Some(&status);
        options.status_allow = &allow;

        let body = "198.51.100.7,Online\n198.51.100.8,offline\n";
        let parsed = run(&options, body).unwrap();

        assert_eq!(parsed.indicators, ["198.51.100.7"]);
    }

    #[test]
    fn port_column_makes_endpoint() {
        let column = Column::Index(0);
        let port = Column::Index(1);
        let mut options = options(&column, HeaderMode::None);
        options.port_column = Some(&port);

        let parsed = run(&options, "198.51.100.7,8443\n").unwrap();

        assert_eq!(parsed.indicators, ["198.51.100.7:8443"]);
    }

    #[test]
    fn invalid_port_is_skipped() {
        let column = Column::Index(0);
        let port = Column::Index(1);
        let mut options = options(&column, HeaderMode::None);
        options.port_column = Some(&port);

        let parsed = run(&options, "198.51.100.7,http\n").unwrap();

        assert_eq!(parsed.skipped, 1);
    }

    #[test]
    fn semicolon_delimiter_is_used() {
        let column = Column::Index(1);
        let mut options = options(&column, HeaderMode::None);
        options.delimiter = ';';

        let parsed = run(&options, "x;evil.example.com;y\n").unwrap();

        assert_eq!(parsed.indicators, ["evil.example.com"]);
    }
}
