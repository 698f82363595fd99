//! Hosts-file feeds: `0.0.0.0 domain [domain...]` lines.

use std::net::IpAddr;

use super::indicator;
use super::lines;
use super::parsed::Collector;

/// Names of the standard hosts-file preamble (`127.0.0.1 localhost`, `::1 ip6-loopback`,
/// `255.255.255.255 broadcasthost`...). They are structure, not entries, so they are neither
/// kept nor counted.
const PREAMBLE_NAMES: &[&str] = &[
    "localhost",
    "localhost.localdomain",
    "local",
    "broadcasthost",
    "ip6-localhost",
    "ip6-loopback",
    "ip6-localnet",
    "ip6-mcastprefix",
    "ip6-allnodes",
    "ip6-allrouters",
    "ip6-allhosts",
    "0.0.0.0",
];

/// Parses hosts-file lines. Everything from a `#` on is a comment, and a line that does not
/// start with an address (`fe80::1%lo0` counts as one) is skipped.
pub(crate) fn parse(body: &str, out: &mut Collector) {
    for (number, line) in lines::numbered_lines(body) {
        let line = line.split_once('#').map_or(line, |(before, _)| before);
        let mut tokens = line.split_whitespace();
        let Some(address) = tokens.next() else {
            continue;
        };

        if !is_address(address) {
            out.skip(
                number,
                line.trim(),
                "does not start with an IP address",
                false,
            );
            continue;
        }

        for name in tokens {
            if PREAMBLE_NAMES
                .iter()
                .any(|preamble| preamble.eq_ignore_ascii_case(name))
            {
                continue;
            }
            out.record(number, name, indicator::parse_domain(name));
        }
    }
}

/// Tells whether a token is an IP address, allowing an IPv6 zone index.
fn is_address(token: &str) -> bool {
    let address = token.split_once('%').map_or(token, |(address, _)| address);
    address.parse::<IpAddr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(body: &str) -> super::super::Parsed {
        let mut out = Collector::default();
        parse(body, &mut out);
        out.finish()
    }

    const PREAMBLE: &str = "127.0.0.1 localhost\n127.0.0.1 localhost.localdomain\n\
        255.255.255.255 broadcasthost\n::1 localhost\nfe80::1%lo0 localhost\n";

    #[test]
    fn preamble_gives_nothing() {
        assert_eq!(run(PREAMBLE).indicators, Vec::<String>::new());
    }

    #[test]
    fn preamble_is_not_skipped() {
        assert_eq!(run(PREAMBLE).skipped, 0);
    }

    #[test]
    fn sink_line_gives_domain() {
        let parsed = run("0.0.0.0 Ads.Example.com\n");

        assert_eq!(parsed.indicators, ["ads.example.com"]);
    }

    #[test]
    fn several_names_on_one_line() {
        let parsed = run("0.0.0.0 a.example.com b.example.com # trackers\n");

        assert_eq!(parsed.indicators, ["a.example.com", "b.example.com"]);
    }

    #[test]
    fn commented_entry_is_ignored() {
        let parsed = run("#127.0.0.1 tracking.example.com\n");

        assert_eq!(parsed.indicators, Vec::<String>::new());
    }

    #[test]
    fn line_without_address_is_skipped() {
        let parsed = run("ads.example.com\n");

        assert_eq!(parsed.skipped, 1);
    }

    #[test]
    fn address_as_name_is_skipped() {
        let parsed = run("0.0.0.0 198.51.100.7\n");

        assert_eq!(parsed.skipped, 1);
    }
}
