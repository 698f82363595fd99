//! The Tor exit list of check.torproject.org (`exit-addresses`).
//!
//! Each record is an `ExitNode <fingerprint>` line, `Published` and `LastStatus` lines, and
//! one or more `ExitAddress <ip> <date> <time>` lines.

use super::indicator;
use super::lines;
use super::parsed::Collector;

/// Keywords of record lines that carry no address.
const OTHER_KEYWORDS: &[&str] = &["ExitNode", "Published", "LastStatus"];

/// Parses every `ExitAddress` line. Lines with another keyword are skipped.
pub(crate) fn parse(body: &str, out: &mut Collector) {
    for (number, line) in lines::data_lines(body) {
        let mut tokens = line.split_whitespace();
        let keyword = tokens.next().unwrap_or_default();

        if keyword == "ExitAddress" {
            let address = tokens.next().unwrap_or_default();
            out.record(number, address, indicator::parse_address(address));
        } else if !OTHER_KEYWORDS.contains(&keyword) {
            out.skip(number, line, "is not an exit-addresses record line", false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(body: &str) -> super::super::Parsed {
        let mut out = Collector::default();
        parse(body, &mut out);
        out.finish()
    }

    const RECORD: &str = "ExitNode 0011223344556677889900112233445566778899\n\
        Published 2024-03-12 10:10:44\n\
        LastStatus 2024-03-12 14:00:00\n\
        ExitAddress 198.51.100.7 2024-03-12 14:19:12\n\
        ExitAddress 203.0.113.9 2024-03-12 09:07:32\n";

    #[test]
    fn every_exit_address_is_kept() {
        assert_eq!(run(RECORD).indicators, ["198.51.100.7", "203.0.113.9"]);
    }

    #[test]
    fn record_keywords_are_not_skipped() {
        assert_eq!(run(RECORD).skipped, 0);
    }

    #[test]
    fn bare_address_line_is_skipped() {
        assert_eq!(run("198.51.100.7\n").skipped, 1);
    }
}
