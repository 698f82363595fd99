//! JSON feeds: NDJSON (one record per line) or one JSON document.

use serde_json::Value;

use super::indicator;
use super::lines;
use super::parsed::Collector;

/// Parses the field at the dotted `path` of every record.
///
/// A body that is one JSON document gives its array elements as records (or itself, when it
/// is an object). Otherwise every non-blank line is a record, and a line that is not JSON is
/// skipped. Returns the reason when the body does not start like JSON.
pub(crate) fn parse(path: &str, body: &str, out: &mut Collector) -> Result<(), String> {
    let start = body.trim_start_matches('\u{feff}').trim_start();
    if !start.starts_with(['{', '[']) {
        return Err("it does not start with `{` or `[`".to_owned());
    }

    let segments: Vec<&str> = path.split('.').collect();
    match serde_json::from_str::<Value>(body.trim_start_matches('\u{feff}')) {
        Ok(Value::Array(records)) => {
            for (index, record) in records.iter().enumerate() {
                parse_record(index + 1, record, &segments, out);
            }
        }
        Ok(record) => parse_record(1, &record, &segments, out),
        Err(_) => parse_lines(body, &segments, out),
    }
    Ok(())
}

fn parse_lines(body: &str, segments: &[&str], out: &mut Collector) {
    for (number, line) in lines::numbered_lines(body) {
        if line.is_empty() {
            continue;
        }

        match serde_json::from_str::<Value>(line) {
            Ok(record) => parse_record(number, &record, segments, out),
            Err(error) => out.skip(number, line, &format!("is not JSON: {error}"), false),
        }
    }
}

/// Records every value found at the path. A record without the field is not an entry.
fn parse_record(number: usize, record: &Value, segments: &[&str], out: &mut Collector) {
    let mut values = Vec::new();
    collect(record, segments, &mut values);

    for value in values {
        match value {
            Value::String(text) => out.record(number, text, indicator::parse_any(text)),
            Value::Array(items) => {
                for item in items {
                    match item.as_str() {
                        Some(text) => out.record(number, text, indicator::parse_any(text)),
                        None => out.skip(number, &item.to_string(), "is not a string", false),
                    }
                }
            }
            Value::Null => {}
            other => out.skip(number, &other.to_string(), "is not a string", false),
        }
    }
}

/// Follows the object keys of `segments`, searching arrays on the way element by element.
fn collect<'a>(value: &'a Value, segments: &[&str], found: &mut Vec<&'a Value>) {
    let Some((first, rest)) = segments.split_first() else {
        found.push(value);
        return;
    };

    match value {
        Value::Object(object) => {
            if let Some(inner) = object.get(*first) {
                collect(inner, rest, found);
            }
        }
        Value::Array(items) => {
            for item in items {
                collect(item, segments, found);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(path: &str, body: &str) -> Result<super::super::Parsed, String> {
        let mut out = Collector::default();
        parse(path, body, &mut out)?;
        Ok(out.finish())
    }

    const NDJSON: &str = "{\"cidr\":\"203.0.113.0/24\",\"sblid\":\"SBL1\"}\n\
        {\"cidr\":\"198.51.100.0/24\",\"sblid\":\"SBL2\"}\n\
        {\"type\":\"metadata\",\"records\":2}\n";

    #[test]
    fn ndjson_records_are_read() {
        let parsed = run("cidr", NDJSON).unwrap();

        assert_eq!(parsed.indicators, ["203.0.113.0/24", "198.51.100.0/24"]);
    }

    #[test]
    fn metadata_line_is_not_skipped() {
        assert_eq!(run("cidr", NDJSON).unwrap().skipped, 0);
    }

    #[test]
    fn array_document_is_read() {
        let body = r#"[{"ip":"198.51.100.7"},{"ip":"198.51.100.8"}]"#;

        let parsed = run("ip", body).unwrap();

        assert_eq!(parsed.indicators, ["198.51.100.7", "198.51.100.8"]);
    }

    #[test]
    fn nested_path_searches_arrays() {
        let body =
            r#"{"data":[{"host":{"name":"a.example.com"}},{"host":{"name":"b.example.com"}}]}"#;

        let parsed = run("data.host.name", body).unwrap();

        assert_eq!(parsed.indicators, ["a.example.com", "b.example.com"]);
    }

    #[test]
    fn string_array_field_is_read() {
        let body = r#"{"ips":["198.51.100.7","198.51.100.8"]}"#;

        let parsed = run("ips", body).unwrap();

        assert_eq!(parsed.indicators.len(), 2);
    }

    #[test]
    fn number_field_is_skipped() {
        let parsed = run("ip", "{\"ip\":12}\n").unwrap();

        assert_eq!(parsed.skipped, 1);
    }

    #[test]
    fn broken_line_is_skipped() {
        let body = "{\"ip\":\"198.51.100.7\"}\n{\"ip\":\n";

        let parsed = run("ip", body).unwrap();

        assert_eq!(parsed.skipped, 1);
    }

    #[test]
    fn text_body_is_wrong_format() {
        assert!(run("ip", "198.51.100.7\n").is_err());
    }
}
