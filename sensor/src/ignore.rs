//! Rules that silence events from known-noisy hosts (`--ignore FILE`).
//!
//! One rule per line: `src_ip;src_port;dst_ip;dst_port`, where each field is a value or `*`
//! for any. `#` starts a comment. An IP field may also be a CIDR such as `10.0.0.0/8`. Unlike the
//! whitelist, which stops an indicator from being a trail at all, an ignore rule drops finished
//! events by their endpoints. So a monitoring host that polls a listed address stays quiet,
//! and anyone else who talks to that address is still reported.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// A malformed ignore file.
#[derive(Debug, thiserror::Error)]
pub enum IgnoreError {
    #[error("cannot read ignore file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error(
        "{}:{line}: invalid ignore rule {text:?}: {reason}; expected \
         src_ip;src_port;dst_ip;dst_port with `*` for any value",
        path.display()
    )]
    Invalid {
        path: PathBuf,
        line: usize,
        text: String,
        reason: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AddressPattern {
    Any,
    Network { address: IpAddr, prefix: u8 },
}

impl AddressPattern {
    fn matches(&self, ip: IpAddr) -> bool {
        match *self {
            AddressPattern::Any => true,
            AddressPattern::Network { address, prefix } => in_network(ip, address, prefix),
        }
    }
}

/// One `src_ip;src_port;dst_ip;dst_port` rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rule {
    src_ip: AddressPattern,
    src_port: Option<u16>,
    dst_ip: AddressPattern,
    dst_port: Option<u16>,
}

/// The loaded ignore rules; an empty list ignores nothing.
#[derive(Debug, Default, Clone)]
pub struct IgnoreList {
    rules: Vec<Rule>,
}

impl IgnoreList {
    pub fn load(path: &Path) -> Result<IgnoreList, IgnoreError> {
        let text = std::fs::read_to_string(path).map_err(|source| IgnoreError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        IgnoreList::parse(&text, path)
    }

    /// Parses rules from `text`; `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<IgnoreList, IgnoreError> {
        let mut rules = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let rule = parse_rule(line).map_err(|reason| IgnoreError::Invalid {
                path: path.to_path_buf(),
                line: index + 1,
                text: line.to_string(),
                reason,
            })?;
            rules.push(rule);
        }
        Ok(IgnoreList { rules })
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Returns true when some rule matches the event's endpoints. A missing port matches only
    /// `*`.
    pub fn matches(
        &self,
        src_ip: IpAddr,
        src_port: Option<u16>,
        dst_ip: IpAddr,
        dst_port: Option<u16>,
    ) -> bool {
        self.rules.iter().any(|rule| {
            rule.src_ip.matches(src_ip)
                && port_matches(rule.src_port, src_port)
                && rule.dst_ip.matches(dst_ip)
                && port_matches(rule.dst_port, dst_port)
        })
    }
}

fn port_matches(rule: Option<u16>, port: Option<u16>) -> bool {
    match rule {
        None => true,
        Some(wanted) => port == Some(wanted),
    }
}

fn parse_rule(line: &str) -> Result<Rule, String> {
    let fields: Vec<&str> = line.split(';').map(str::trim).collect();
    if fields.len() != 4 {
        return Err(format!("found {} fields, expected 4", fields.len()));
    }
    Ok(Rule {
        src_ip: parse_address(fields[0])?,
        src_port: parse_port(fields[1])?,
        dst_ip: parse_address(fields[2])?,
        dst_port: parse_port(fields[3])?,
    })
}

fn parse_address(field: &str) -> Result<AddressPattern, String> {
    if field == "*" {
        return Ok(AddressPattern::Any);
    }
    let (address, prefix) = match field.split_once('/') {
        Some((address, prefix)) => (address, Some(prefix)),
        None => (field, None),
    };
    let address: IpAddr = address
        .parse()
        .map_err(|_| format!("{address:?} is not an IP address"))?;
    let max_prefix = if address.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => max_prefix,
        Some(text) => match text.parse::<u8>() {
            Ok(prefix) if prefix <= max_prefix => prefix,
            _ => {
                return Err(format!(
                    "{text:?} is not a prefix length from 0 to {max_prefix}"
                ))
            }
        },
    };
    Ok(AddressPattern::Network { address, prefix })
}

fn parse_port(field: &str) -> Result<Option<u16>, String> {
    if field == "*" {
        return Ok(None);
    }
    match field.parse::<u16>() {
        Ok(port) if port > 0 => Ok(Some(port)),
        _ => Err(format!("{field:?} is not a port from 1 to 65535")),
    }
}

fn in_network(ip: IpAddr, network: IpAddr, prefix: u8) -> bool {
    match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(network)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(network) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(network)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(network) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn list(text: &str) -> IgnoreList {
        IgnoreList::parse(text, Path::new("ignore.txt")).unwrap()
    }

    #[test]
    fn wildcards_match_any_value() {
        let rules = list("192.0.2.10;*;*;53\n");
        assert!(rules.matches(ip("192.0.2.10"), Some(5353), ip("198.51.100.1"), Some(53)));
        assert!(!rules.matches(ip("192.0.2.10"), Some(5353), ip("198.51.100.1"), Some(80)));
        assert!(!rules.matches(ip("192.0.2.11"), Some(5353), ip("198.51.100.1"), Some(53)));
    }

    #[test]
    fn cidr_and_ipv6_fields() {
        let rules = list("# monitoring\n10.1.0.0/16;*;2001:db8::/32;*  # poller\n");
        assert!(rules.matches(ip("10.1.2.3"), None, ip("2001:db8::1"), Some(443)));
        assert!(!rules.matches(ip("10.2.2.3"), None, ip("2001:db8::1"), Some(443)));
    }

    #[test]
    fn missing_port_matches_only_wildcard() {
        let rules = list("*;*;*;80\n");
        assert!(!rules.matches(ip("192.0.2.1"), None, ip("192.0.2.2"), None));
    }

    #[test]
    fn invalid_rule_names_line_and_value() {
        let error = IgnoreList::parse("*;*;*;*\n1.2.3;*;*;*\n", Path::new("/etc/ignore.txt"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("/etc/ignore.txt:2"), "{error}");
        assert!(error.contains("\"1.2.3\" is not an IP address"), "{error}");
    }

    #[test]
    fn wrong_field_count_rejected() {
        let error = IgnoreList::parse("1.2.3.4;80\n", Path::new("i"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("found 2 fields, expected 4"), "{error}");
    }

    #[test]
    fn port_zero_rejected() {
        assert!(IgnoreList::parse("*;0;*;*\n", Path::new("i")).is_err());
    }
}
