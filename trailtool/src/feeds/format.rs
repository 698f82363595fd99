//! The body formats a feed can have, with their options as written in the catalogue.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// The format of a feed body and its options.
///
/// In the catalogue the variant is the `format` key of the feed table and the options are
/// keys beside it (`format = "csv"`, `column = "dst_ip"`). Unknown option keys are rejected.
/// Column and field indexes count from 0.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(tag = "format", rename_all = "snake_case", deny_unknown_fields)]
pub enum Format {
    /// One IP address, CIDR block, `address:port`, domain or URL per line. Lines starting with
    /// `#` or `;` are comments, and a trailing annotation after whitespace (`1.2.3.4 # ssh`)
    /// is dropped.
    Plain,

    /// A FireHOL ipset or netset: IP addresses and CIDR blocks, one per line, under a `#`
    /// header. Domains and URLs are skipped.
    Ipset,

    /// Hosts-file lines `0.0.0.0 domain [domain...]`. Only the names are indicators, and the
    /// localhost preamble (`localhost`, `broadcasthost`, `ip6-loopback`...) is ignored.
    Hosts,

    /// One URL per line. The scheme is stripped and `host[:port]/path` kept, so a line
    /// without a scheme is read as a URL too, never as a CIDR block.
    Urls,

    /// Comma-separated (or `delimiter`-separated) rows with quoted fields as in RFC 4180,
    /// except that a quoted field cannot span lines.
    Csv {
        /// The field that contains the indicator.
        column: Column,
        /// A field with a port, joined to an IP indicator as `address:port`.
        port_column: Option<Column>,
        /// A field whose value must be one of `status_allow` for the row to be used.
        status_column: Option<Column>,
        /// Accepted values of `status_column`, compared case-insensitively.
        #[serde(default)]
        status_allow: Vec<String>,
        /// The field separator, `,` when absent.
        delimiter: Option<char>,
        /// The location of the column names, needed when a column is given by name.
        #[serde(default)]
        header: HeaderMode,
    },

    /// Dataplane.org style `ASN  |  ASname  |  address  |  ...` rows, fields padded with
    /// spaces. A pipe inside a field (ASname may contain one) has fewer than two spaces on a
    /// side, so it does not split the row.
    Pipe { column: usize },

    /// Suricata or Snort rule files: addresses from rule headers (also bracketed lists) and
    /// names from the single `content` of a `dns.query`, `dns_query`, `tls.sni` or `tls_sni`
    /// buffer. Commented-out rules are skipped.
    Suricata,

    /// NDJSON or one JSON document (an array of records or a single record). `path` is a
    /// dotted list of object keys to the indicator field. Arrays met along the path are
    /// searched element by element, so `data.ip` finds every `ip` in a `data` array. Records
    /// without the field, such as a trailing metadata line, are not entries.
    Json { path: String },

    /// The check.torproject.org `exit-addresses` records: every `ExitAddress` line of every
    /// `ExitNode`.
    TorExit,

    /// Lines split at `separator`, with the indicator in field `column`. Examples are
    /// AlienVault's `ip#reliability#risk#...` and Spamhaus' `cidr ; SBLid` (field 0).
    Delimited { separator: char, column: usize },
}

impl Format {
    /// Returns the name of the format as written in the catalogue's `format` key.
    pub fn name(&self) -> &'static str {
        match self {
            Format::Plain => "plain",
            Format::Ipset => "ipset",
            Format::Hosts => "hosts",
            Format::Urls => "urls",
            Format::Csv { .. } => "csv",
            Format::Pipe { .. } => "pipe",
            Format::Suricata => "suricata",
            Format::Json { .. } => "json",
            Format::TorExit => "tor_exit",
            Format::Delimited { .. } => "delimited",
        }
    }

    /// Tells whether the format takes option keys besides `format`.
    pub(crate) fn has_options(&self) -> bool {
        match self {
            Format::Csv { .. } | Format::Pipe { .. } | Format::Json { .. } => true,
            Format::Delimited { .. } => true,
            Format::Plain | Format::Ipset | Format::Hosts | Format::Urls => false,
            Format::Suricata | Format::TorExit => false,
        }
    }
}

/// A CSV field, by 0-based index or by its name in the header.
///
/// Written in the catalogue as an integer (`column = 1`) or a string (`column = "dst_ip"`).
/// Names are compared with the header fields trimmed and case-insensitively.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Column {
    Index(usize),
    Name(String),
}

impl fmt::Display for Column {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Column::Index(index) => write!(formatter, "{index}"),
            Column::Name(name) => write!(formatter, "{name:?}"),
        }
    }
}

impl<'de> Deserialize<'de> for Column {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ColumnVisitor)
    }
}

struct ColumnVisitor;

impl Visitor<'_> for ColumnVisitor {
    type Value = Column;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a column index (an integer from 0) or a header name (a string)")
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Column, E> {
        usize::try_from(value)
            .map(Column::Index)
            .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(value), &self))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Column, E> {
        usize::try_from(value)
            .map(Column::Index)
            .map_err(|_| E::invalid_value(de::Unexpected::Signed(value), &self))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Column, E> {
        Ok(Column::Name(value.to_owned()))
    }
}

/// The location of the column names of a CSV feed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeaderMode {
    /// No header: every row is data.
    #[default]
    None,
    /// The first row that is not a comment contains the names (Feodo Tracker, blackbook).
    Row,
    /// The last `#` comment line before the first row contains the names
    /// (`# Listingdate,SHA1,Listingreason` in SSLBL, URLhaus and ThreatFox exports).
    Comment,
}
