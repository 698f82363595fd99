//! Dataplane.org style reports: `ASN  |  ASname  |  address  |  utc  |  category` rows.

use super::indicator;
use super::lines;
use super::parsed::Collector;

/// Minimum whitespace on each side of a `|` that separates fields. Dataplane documents at
/// least two, and a `|` inside the (30-character) ASname has fewer.
const MIN_PADDING: usize = 2;

/// Parses padded pipe rows, taking the indicator from field `column`.
pub(crate) fn parse(column: usize, body: &str, out: &mut Collector) {
    for (number, line) in lines::data_lines(body) {
        let fields = split_fields(line, column);
        match fields.get(column) {
            Some(value) => out.record(number, value, indicator::parse_any(value)),
            None => {
                let reason = format!("has {} fields, so field {column} is missing", fields.len());
                out.skip(number, line, &reason, false);
            }
        }
    }
}

/// Splits a row at padded separators. When that gives too few fields for `column`, the row
/// is not padded and every `|` separates.
fn split_fields(line: &str, column: usize) -> Vec<&str> {
    let padded = split_padded(line);
    if padded.len() > column {
        return padded;
    }
    line.split('|').map(str::trim).collect()
}

fn split_padded(line: &str) -> Vec<&str> {
    let bytes = line.as_bytes();
    let mut fields = Vec::new();
    let mut start = 0;

    for (index, &byte) in bytes.iter().enumerate() {
        if byte == b'|' && padded_before(bytes, index) && padded_after(bytes, index) {
            fields.push(line[start..index].trim());
            start = index + 1;
        }
    }
    fields.push(line[start..].trim());
    fields
}

fn padded_before(bytes: &[u8], index: usize) -> bool {
    index >= MIN_PADDING
        && bytes[index - MIN_PADDING..index]
            .iter()
            .all(u8::is_ascii_whitespace)
}

fn padded_after(bytes: &[u8], index: usize) -> bool {
    bytes
        .get(index + 1..index + 1 + MIN_PADDING)
        .is_some_and(|after| after.iter().all(u8::is_ascii_whitespace))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_row_is_split() {
        let row = "4134   |  CHINANET  |   198.51.100.7  |  2016-12-06 02:35:38  |  sshpwauth";

        assert_eq!(split_fields(row, 2)[2], "198.51.100.7");
    }

    #[test]
    fn pipe_inside_name_does_not_split() {
        let row = "1   |  TEST-AS company | With | pipe   |  198.51.100.7   |  2024-04-02  |  ssh";

        assert_eq!(split_fields(row, 2)[2], "198.51.100.7");
    }

    #[test]
    fn unpadded_row_splits_at_every_pipe() {
        assert_eq!(split_fields("NA|NA|198.51.100.7|x", 2)[2], "198.51.100.7");
    }

    #[test]
    fn short_row_is_skipped() {
        let mut out = Collector::default();
        parse(2, "NA  |  NA\n", &mut out);

        assert_eq!(out.finish().skipped, 1);
    }
}
