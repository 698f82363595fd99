//! The feed catalogue and the parsers that turn downloaded feed bodies into trails.
//!
//! [`Catalogue::load`] reads `trails/feeds.toml`, one [`Feed`] per public blocklist, and
//! [`parse`] turns a downloaded body into indicators in trail-file syntax.
//!
//! Parsing keeps what it can: an entry that is not an indicator is counted in
//! [`Parsed::skipped`], and only a body that plainly has another format fails. No input
//! makes it panic, which a property test checks with random text for every format.
//!
//! ```
//! use trailwatch_trails::feeds::{parse, Feed, Format};
//!
//! let feed = Feed {
//!     name: "example".to_owned(),
//!     url: "https://blocklist.example.org/ips.txt".to_owned(),
//!     format: Format::Plain,
//!     info: "example (attacker)".to_owned(),
//!     reference: "blocklist.example.org".to_owned(),
//!     enabled: true,
//!     min_entries: None,
//! };
//!
//! let parsed = parse(&feed, "# banner\n198.51.100.7\n10.0.0.1\n").unwrap();
//! assert_eq!(parsed.indicators, ["198.51.100.7"]);
//! assert_eq!(parsed.skipped, 1);
//! ```

mod catalogue;
mod csv;
mod delimited;
mod error;
mod format;
mod hosts;
mod indicator;
mod json;
mod lines;
mod parsed;
mod pipe;
mod plain;
mod reserved;
mod sniff;
mod suricata;
mod tor;
mod validate;

pub use catalogue::{Catalogue, Feed};
pub use error::{CatalogueError, FeedError};
pub use format::{Column, Format, HeaderMode};
pub use parsed::{Parsed, MAX_FIRST_SKIPPED};

use parsed::Collector;
use plain::LineKind;

/// Parses a downloaded feed body into indicators in trail-file syntax: `1.2.3.4`,
/// `1.2.3.0/24`, `1.2.3.4:443`, `[2001:db8::1]:443`, `evil.com` and `host[:port]/path`.
///
/// Lines are trimmed and CR, BOM and URL schemes stripped, hosts lower-cased, CIDR host
/// bits cleared, and each indicator kept once. Entries that are not indicators are
/// skipped, and so are addresses and blocks overlapping private, loopback, link-local,
/// multicast or reserved space, because such trails would flag every LAN packet. Skips are
/// counted in [`Parsed::skipped`] with the first few in [`Parsed::first_skipped`].
///
/// Version strings that FireHOL lists carry as addresses (`0.8.2.2`) fall in `0.0.0.0/8`
/// and are dropped that way. A version string that is also a public address (`1.7.3.2`)
/// cannot be distinguished from a real one and is kept.
///
/// # Errors
///
/// [`FeedError::WrongFormat`] when the body plainly is not in the feed's format: an HTML or
/// XML page, a JSON document for a text format, text for a JSON feed, a CSV header without
/// a named column, a rule file without a rule, or entries none of which is a well-formed
/// indicator. A body without entries (only comments, or empty) is not an error.
///
/// [`FeedError::TooFewEntries`] when fewer indicators than the feed's `min_entries` remain.
pub fn parse(feed: &Feed, body: &str) -> Result<Parsed, FeedError> {
    let wrong_format = |reason: String| FeedError::WrongFormat {
        feed: feed.name.clone(),
        format: feed.format.name(),
        reason,
    };

    sniff::check(&feed.format, body).map_err(wrong_format)?;
    let mut out = Collector::default();
    parse_format(&feed.format, body, &mut out).map_err(wrong_format)?;

    let entries = out.entries();
    let no_indicators = out.has_no_indicator_entries();
    let parsed = out.finish();
    if no_indicators {
        let first = match parsed.first_skipped.first() {
            Some((line, message)) => format!(", for example line {line}: {message}"),
            None => String::new(),
        };
        let reason = format!("none of its {entries} entries is an indicator{first}");
        return Err(wrong_format(reason));
    }

    if let Some(minimum) = feed.min_entries {
        if parsed.indicators.len() < minimum {
            return Err(FeedError::TooFewEntries {
                feed: feed.name.clone(),
                found: parsed.indicators.len(),
                minimum,
            });
        }
    }
    Ok(parsed)
}

fn parse_format(format: &Format, body: &str, out: &mut Collector) -> Result<(), String> {
    match format {
        Format::Plain => plain::parse(LineKind::Any, body, out),
        Format::Ipset => plain::parse(LineKind::Address, body, out),
        Format::Urls => plain::parse(LineKind::Url, body, out),
        Format::Hosts => hosts::parse(body, out),
        Format::Csv {
            column,
            port_column,
            status_column,
            status_allow,
            delimiter,
            header,
        } => {
            let options = csv::CsvOptions {
                column,
                port_column: port_column.as_ref(),
                status_column: status_column.as_ref(),
                status_allow,
                delimiter: delimiter.unwrap_or(','),
                header: *header,
            };
            return csv::parse(&options, body, out);
        }
        Format::Pipe { column } => pipe::parse(*column, body, out),
        Format::Suricata => return suricata::parse(body, out),
        Format::Json { path } => return json::parse(path, body, out),
        Format::TorExit => tor::parse(body, out),
        Format::Delimited { separator, column } => delimited::parse(*separator, *column, body, out),
    }
    Ok(())
}
