//! Query strings and form bodies, and the query parameters the data endpoints share.

use std::collections::HashMap;

use chrono::NaiveDate;
use thiserror::Error;

use crate::logs::entry;
use crate::logs::filter::Filter;
use crate::logs::query::{Sort, SortField};
use crate::logs::severity::Severity;
use crate::net::IpNet;

/// Maximum date range of one query, in days (a leap year).
pub const MAX_RANGE_DAYS: i64 = 366;

/// Most events one page may return.
pub const MAX_LIMIT: usize = 1000;
pub const DEFAULT_LIMIT: usize = 100;

/// Largest page offset. Deeper pages would need the ranking of every earlier event in memory;
/// narrowing the filter or the dates reaches those events instead.
pub const MAX_OFFSET: usize = 100_000;

/// Maximum length of a text filter, in bytes.
const MAX_TEXT_LEN: usize = 256;

/// A bad query parameter: its name and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid parameter {name}: {problem}")]
pub struct ParamError {
    pub name: String,
    pub problem: String,
}

impl ParamError {
    pub fn new(name: &str, problem: impl Into<String>) -> ParamError {
        ParamError {
            name: name.to_string(),
            problem: problem.into(),
        }
    }
}

/// Decoded `name=value` pairs of a query string or form body; a repeated name keeps its last
/// value.
#[derive(Debug, Clone, Default)]
pub struct Params {
    values: HashMap<String, String>,
}

impl Params {
    /// Decodes `application/x-www-form-urlencoded` text: `+` is a space and `%XX` a byte.
    pub fn parse(text: &str) -> Result<Params, ParamError> {
        let mut values = HashMap::new();
        for pair in text.split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = percent_decode(name)
                .ok_or_else(|| ParamError::new("(name)", "is not valid percent-encoded UTF-8"))?;
            let value = percent_decode(value)
                .ok_or_else(|| ParamError::new(&name, "is not valid percent-encoded UTF-8"))?;
            values.insert(name, value);
        }
        Ok(Params { values })
    }

    /// Returns the value of `name`, with an empty value treated as absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(String::as_str)
            .filter(|value| !value.is_empty())
    }

    /// Iterates over the parameter names, empty values included, in no particular order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// Parses `name` as a date `YYYY-MM-DD`.
    pub fn date(&self, name: &str) -> Result<Option<NaiveDate>, ParamError> {
        self.get(name)
            .map(|text| parse_date(name, text))
            .transpose()
    }

    /// Parses `name` as a whole number from 0 to `max`.
    pub fn number(&self, name: &str, max: usize) -> Result<Option<usize>, ParamError> {
        let Some(text) = self.get(name) else {
            return Ok(None);
        };
        match text.parse::<usize>() {
            Ok(value) if value <= max && !text.starts_with('+') => Ok(Some(value)),
            _ => Err(ParamError::new(
                name,
                format!("expected a whole number from 0 to {max}, got {text:?}"),
            )),
        }
    }

    /// Reads `from` and `to` and returns every date between them. Without `to` the range
    /// ends today (or at `from`, if later); without `from` it starts today (or at `to`, if
    /// earlier).
    pub fn date_range(&self, today: NaiveDate) -> Result<Vec<NaiveDate>, ParamError> {
        let to = self.date("to")?;
        let from = self.date("from")?;
        let from = from.unwrap_or_else(|| to.map_or(today, |to| to.min(today)));
        let to = to.unwrap_or_else(|| from.max(today));
        dates_between(from, to)
    }

    /// Builds the filter from `src`, `dst`, `port`, `proto`, `type`, `trail`, `info`,
    /// `severity` and `q`; the caller adds the user's scope.
    pub fn filter(&self) -> Result<Filter, ParamError> {
        let net = |name: &str| -> Result<Option<IpNet>, ParamError> {
            self.get(name)
                .map(|text| {
                    text.parse().map_err(|_| {
                        ParamError::new(
                            name,
                            format!("expected an IP address or CIDR network, got {text:?}"),
                        )
                    })
                })
                .transpose()
        };
        let port = match self.get("port") {
            None => None,
            Some(text) => Some(text.parse::<u16>().map_err(|_| {
                ParamError::new(
                    "port",
                    format!("expected a port from 0 to 65535, got {text:?}"),
                )
            })?),
        };
        let proto = match self.get("proto") {
            None => None,
            Some(text) => match entry::proto_code(text) {
                entry::PROTO_UNKNOWN => {
                    return Err(ParamError::new(
                        "proto",
                        format!(
                            "expected TCP, UDP, ICMP, ICMPv6 or a protocol number, got {text:?}"
                        ),
                    ))
                }
                code => Some(code),
            },
        };
        let trail_type = match self.get("type") {
            None => None,
            Some(text) if text.len() <= 16 && text.chars().all(|c| c.is_ascii_alphanumeric()) => {
                Some(text.to_ascii_uppercase())
            }
            Some(text) => {
                return Err(ParamError::new(
                    "type",
                    format!("expected a trail type such as DNS, IP or URL, got {text:?}"),
                ))
            }
        };
        let severity = match self.get("severity") {
            None => None,
            Some(text) => Some(text.parse::<Severity>().map_err(|()| {
                ParamError::new(
                    "severity",
                    format!("expected low, medium or high, got {text:?}"),
                )
            })?),
        };

        Ok(Filter {
            src: net("src")?,
            dst: net("dst")?,
            port,
            proto,
            trail_type,
            trail: self.text("trail")?,
            info: self.text("info")?,
            severity,
            text: self.text("q")?,
            trail_exact: None,
            scope: Vec::new(),
        })
    }

    /// Reads `sort`: a field name, with a leading `-` for descending. Defaults to `-time`.
    pub fn sort(&self) -> Result<Sort, ParamError> {
        let Some(text) = self.get("sort") else {
            return Ok(Sort {
                field: SortField::Time,
                descending: true,
            });
        };
        let (name, descending) = match text.strip_prefix('-') {
            Some(name) => (name, true),
            None => (text, false),
        };
        match SortField::from_name(name) {
            Some(field) => Ok(Sort { field, descending }),
            None => Err(ParamError::new(
                "sort",
                format!(
                    "expected one of {} with an optional leading -, got {text:?}",
                    SortField::NAMES.join(" ")
                ),
            )),
        }
    }

    /// Reads a substring filter, lower-cased for case-insensitive matching.
    fn text(&self, name: &str) -> Result<Option<String>, ParamError> {
        match self.get(name) {
            Some(text) if text.len() > MAX_TEXT_LEN => Err(ParamError::new(
                name,
                format!(
                    "is {} bytes long; the maximum is {MAX_TEXT_LEN}",
                    text.len()
                ),
            )),
            Some(text) => Ok(Some(text.to_lowercase())),
            None => Ok(None),
        }
    }
}

/// Parses a date `YYYY-MM-DD`; the error names `name`.
pub fn parse_date(name: &str, text: &str) -> Result<NaiveDate, ParamError> {
    let well_formed = text.len() == 10 && text.as_bytes()[4] == b'-' && text.as_bytes()[7] == b'-';
    match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(date) if well_formed => Ok(date),
        _ => Err(ParamError::new(
            name,
            format!("expected a date YYYY-MM-DD, got {text:?}"),
        )),
    }
}

/// Returns the dates from `from` to `to`, both included, checking order and length.
pub fn dates_between(from: NaiveDate, to: NaiveDate) -> Result<Vec<NaiveDate>, ParamError> {
    if from > to {
        return Err(ParamError::new(
            "from",
            format!("{from} is after to={to}; give from <= to"),
        ));
    }
    let days = (to - from).num_days() + 1;
    if days > MAX_RANGE_DAYS {
        return Err(ParamError::new(
            "to",
            format!("the range covers {days} days; the maximum is {MAX_RANGE_DAYS}"),
        ));
    }
    Ok(from.iter_days().take(days as usize).collect())
}

/// Decodes `+` and `%XX`; returns `None` for a bad escape or bytes that are not UTF-8.
pub fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut position = 0;
    while position < bytes.len() {
        match bytes[position] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(position + 1..position + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                position += 2;
            }
            byte => out.push(byte),
        }
        position += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_plus_and_escapes() {
        let params = Params::parse("q=a+b%2Fc&trail=%C3%A9&empty=&flag").unwrap();

        assert_eq!(params.get("q"), Some("a b/c"));
        assert_eq!(params.get("trail"), Some("é"));
        assert_eq!(params.get("empty"), None);
        assert_eq!(params.get("flag"), None);
    }

    #[test]
    fn bad_escape_rejected() {
        assert!(Params::parse("q=%zz").is_err());
        assert!(Params::parse("q=%ff").is_err());
        assert!(Params::parse("q=%4").is_err());
    }

    #[test]
    fn range_checks_order_and_length() {
        let day = |text| parse_date("d", text).unwrap();

        assert_eq!(
            dates_between(day("2026-01-01"), day("2026-01-03"))
                .unwrap()
                .len(),
            3
        );
        assert_eq!(
            dates_between(day("2026-01-02"), day("2026-01-01"))
                .unwrap_err()
                .name,
            "from"
        );
        assert_eq!(
            dates_between(day("2025-01-01"), day("2026-01-02"))
                .unwrap_err()
                .name,
            "to"
        );
        assert!(dates_between(day("2024-01-01"), day("2024-12-31")).is_ok());
    }

    #[test]
    fn loose_dates_rejected() {
        for text in [
            "2026-1-5",
            "2026-13-01",
            "20260105",
            "2026-01-05x",
            "+2026-01-05",
        ] {
            assert!(parse_date("from", text).is_err(), "{text:?} accepted");
        }
    }

    #[test]
    fn sort_parses_direction() {
        let sort = Params::parse("sort=-trail").unwrap().sort().unwrap();

        assert_eq!(sort.field, SortField::Trail);
        assert!(sort.descending);
        assert_eq!(
            Params::parse("sort=size").unwrap().sort().unwrap_err().name,
            "sort"
        );
    }
}
