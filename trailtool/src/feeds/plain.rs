//! The one-indicator-per-line formats: plain lists, FireHOL ipsets and URL lists.

use super::indicator::{self, Indicator, Reject};
use super::lines;
use super::parsed::Collector;

/// The indicator kinds that a line format accepts.
#[derive(Clone, Copy, Debug)]
pub(crate) enum LineKind {
    /// Addresses, blocks, endpoints, domains and URLs ([`Format::Plain`]).
    ///
    /// [`Format::Plain`]: super::Format::Plain
    Any,
    /// Addresses and blocks only ([`Format::Ipset`]).
    ///
    /// [`Format::Ipset`]: super::Format::Ipset
    Address,
    /// URLs, with or without a scheme ([`Format::Urls`]).
    ///
    /// [`Format::Urls`]: super::Format::Urls
    Url,
}

/// Parses every data line as one indicator, after dropping a trailing annotation.
pub(crate) fn parse(kind: LineKind, body: &str, out: &mut Collector) {
    for (number, line) in lines::data_lines(body) {
        let text = lines::cut_annotation(line);
        out.record(number, text, parse_line(kind, text));
    }
}

fn parse_line(kind: LineKind, text: &str) -> Result<Indicator, Reject> {
    match kind {
        LineKind::Any => indicator::parse_any(text),
        LineKind::Address => indicator::parse_address(text),
        LineKind::Url => indicator::parse_url(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(kind: LineKind, body: &str) -> super::super::Parsed {
        let mut out = Collector::default();
        parse(kind, body, &mut out);
        out.finish()
    }

    #[test]
    fn plain_list_keeps_each_kind() {
        let body = "198.51.100.7\n203.0.113.0/24\nevil.example.com\nhttp://evil.example.net/x\n";

        let parsed = run(LineKind::Any, body);

        let expected = [
            "198.51.100.7",
            "203.0.113.0/24",
            "evil.example.com",
            "evil.example.net/x",
        ];
        assert_eq!(parsed.indicators, expected);
    }

    #[test]
    fn plain_annotation_is_dropped() {
        let parsed = run(LineKind::Any, "198.51.100.7   # reported 2024-03-01\n");

        assert_eq!(parsed.indicators, ["198.51.100.7"]);
    }

    #[test]
    fn plain_line_with_two_tokens_is_skipped() {
        let parsed = run(LineKind::Any, "deny from 198.51.100.7\n");

        assert_eq!(parsed.skipped, 1);
    }

    #[test]
    fn ipset_skips_domain() {
        let parsed = run(LineKind::Address, "198.51.100.7\nevil.example.com\n");

        assert_eq!(parsed.indicators, ["198.51.100.7"]);
    }

    #[test]
    fn ipset_drops_private_block() {
        let parsed = run(LineKind::Address, "0.0.0.0/8\n10.0.0.0/8\n203.0.113.0/24\n");

        assert_eq!(parsed.indicators, ["203.0.113.0/24"]);
    }

    #[test]
    fn ipset_counts_private_block() {
        let parsed = run(LineKind::Address, "0.0.0.0/8\n10.0.0.0/8\n203.0.113.0/24\n");

        assert_eq!(parsed.skipped, 2);
    }

    #[test]
    fn url_list_reads_cidr_lookalike_as_url() {
        let parsed = run(LineKind::Url, "evil.example.com/24\n");

        assert_eq!(parsed.indicators, ["evil.example.com/24"]);
    }

    #[test]
    fn url_list_skips_other_schemes() {
        let parsed = run(LineKind::Url, "ftp://files.example.com/a\n");

        assert_eq!(parsed.skipped, 1);
    }
}
