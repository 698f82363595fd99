//! Lines split at one separator character, such as AlienVault's `ip#reliability#risk#...`
//! and Spamhaus' `cidr ; SBLid`.

use super::indicator;
use super::lines;
use super::parsed::Collector;

/// Parses field `column` of every data line as an indicator. Lines starting with `#` or `;`
/// are comments even when the separator is one of those characters, because no entry starts
/// with its separator.
pub(crate) fn parse(separator: char, column: usize, body: &str, out: &mut Collector) {
    for (number, line) in lines::data_lines(body) {
        match line.split(separator).nth(column) {
            Some(value) => {
                let value = value.trim();
                out.record(number, value, indicator::parse_any(value));
            }
            None => {
                let reason = format!("has no field {column} separated by {separator:?}");
                out.skip(number, line, &reason, false);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(separator: char, column: usize, body: &str) -> super::super::Parsed {
        let mut out = Collector::default();
        parse(separator, column, body, &mut out);
        out.finish()
    }

    #[test]
    fn hash_separated_first_field() {
        let parsed = run('#', 0, "198.51.100.7#6#5#C&C#TH##15.0,100.0#2\n");

        assert_eq!(parsed.indicators, ["198.51.100.7"]);
    }

    #[test]
    fn semicolon_separated_field_is_trimmed() {
        let parsed = run(';', 0, "; header\n203.0.113.0/24 ; SBL000001\n");

        assert_eq!(parsed.indicators, ["203.0.113.0/24"]);
    }

    #[test]
    fn empty_middle_field_is_skipped() {
        let parsed = run('#', 5, "198.51.100.7#6#5#C&C#TH##15.0,100.0#2\n");

        assert_eq!(parsed.skipped, 1);
    }

    #[test]
    fn missing_field_is_skipped() {
        let parsed = run('#', 9, "198.51.100.7#6\n");

        assert_eq!(parsed.skipped, 1);
    }
}
