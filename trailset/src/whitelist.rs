//! The whitelist: domains, addresses and CIDR blocks that never produce a hit.

use std::fs;
use std::net::IpAddr;
use std::path::Path;

use hashbrown::HashSet;
use rustc_hash::FxBuildHasher;

use crate::error::TrailError;
use crate::host::normalize_domain;
use crate::ip_table::IpTable;
use crate::line::indicator_text;

/// Names and addresses whose own hits are silenced.
///
/// A whitelisted domain covers its subdomains. Whitelisting silences only the whitelisted
/// side: a lookup of the other address of the same packet still reports its hit.
#[derive(Clone, Debug, Default)]
pub struct Whitelist {
    domains: HashSet<Box<str>, FxBuildHasher>,
    ips: IpTable<()>,
}

impl Whitelist {
    /// Reads a whitelist file in the format that [`Whitelist::parse`] documents.
    pub fn load(path: &Path) -> Result<Whitelist, TrailError> {
        let text = fs::read_to_string(path).map_err(|source| TrailError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Whitelist::parse(&text, &path.display().to_string())
    }

    /// Parses one entry per line. An entry is a domain, which covers its subdomains (a
    /// leading `*.` or `.` means the same), an IPv4 or IPv6 address, or a CIDR block. Blank
    /// lines, `#` lines and trailing ` # comments` are skipped.
    ///
    /// Fails on the first invalid entry, naming `origin`, the line number and the value.
    pub fn parse(text: &str, origin: &str) -> Result<Whitelist, TrailError> {
        let mut whitelist = Whitelist::default();

        for (index, line) in text.lines().enumerate() {
            let Some(value) = indicator_text(line) else {
                continue;
            };

            whitelist
                .add_entry(value)
                .map_err(|reason| TrailError::Whitelist {
                    origin: origin.to_owned(),
                    line: index + 1,
                    value: value.to_owned(),
                    reason,
                })?;
        }

        Ok(whitelist)
    }

    fn add_entry(&mut self, value: &str) -> Result<(), String> {
        if value.contains(char::is_whitespace) {
            return Err("contains whitespace".to_owned());
        }

        if let Some((address, prefix)) = value.split_once('/') {
            let ip = address.parse::<IpAddr>().map_err(|_| invalid_cidr())?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let prefix = prefix
                .parse::<u8>()
                .ok()
                .filter(|&p| p <= max)
                .ok_or_else(invalid_cidr)?;
            self.ips.insert_cidr(ip, prefix, (), |_| ());
            return Ok(());
        }

        if let Ok(ip) = value.parse::<IpAddr>() {
            self.ips.insert_ip(ip, (), |_| ());
            return Ok(());
        }

        let name = value
            .strip_prefix("*.")
            .or_else(|| value.strip_prefix('.'))
            .unwrap_or(value);
        let name = normalize_domain(name).map_err(|error| error.to_string())?;
        self.domains.insert(name.into());
        Ok(())
    }

    /// Tells whether the address, or a CIDR block containing it, is whitelisted.
    pub fn contains_ip(&self, ip: IpAddr) -> bool {
        self.ips.lookup(ip).is_some()
    }

    /// Tells whether the whitelist covers every address of the block `ip/prefix`.
    pub(crate) fn covers_block(&self, ip: IpAddr, prefix: u8) -> bool {
        self.ips.covers_block(ip, prefix)
    }

    /// Tells whether the name or one of its parent domains is whitelisted.
    ///
    /// `name` is lower-case ASCII without a trailing dot, as DNS lookups produce it.
    pub fn contains_domain(&self, name: &str) -> bool {
        if self.domains.is_empty() {
            return false;
        }

        let mut rest = name;
        loop {
            if self.domains.contains(rest) {
                return true;
            }
            match rest.split_once('.') {
                Some((_, parent)) => rest = parent,
                None => return false,
            }
        }
    }

    /// Returns the number of entries.
    pub fn len(&self) -> usize {
        self.domains.len() + self.ips.exact_len() + self.ips.cidr_len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn invalid_cidr() -> String {
    "is not a valid CIDR block (expected address/prefix-length)".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whitelist(text: &str) -> Whitelist {
        Whitelist::parse(text, "test").unwrap()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn domain_entry_covers_itself() {
        assert!(whitelist("cdn.example\n").contains_domain("cdn.example"));
    }

    #[test]
    fn domain_entry_covers_subdomains() {
        assert!(whitelist("cdn.example\n").contains_domain("a.b.cdn.example"));
    }

    #[test]
    fn domain_entry_excludes_lookalike() {
        assert!(!whitelist("cdn.example\n").contains_domain("evilcdn.example"));
    }

    #[test]
    fn domain_entry_excludes_parent() {
        assert!(!whitelist("cdn.example\n").contains_domain("example"));
    }

    #[test]
    fn wildcard_entry_means_domain() {
        assert!(whitelist("*.cdn.example\n").contains_domain("cdn.example"));
    }

    #[test]
    fn upper_case_entry_is_lowered() {
        assert!(whitelist("CDN.Example\n").contains_domain("cdn.example"));
    }

    #[test]
    fn ip_entry_matches() {
        assert!(whitelist("192.0.2.1\n").contains_ip(ip("192.0.2.1")));
    }

    #[test]
    fn ip_entry_excludes_neighbour() {
        assert!(!whitelist("192.0.2.1\n").contains_ip(ip("192.0.2.2")));
    }

    #[test]
    fn cidr_entry_covers_addresses() {
        assert!(whitelist("192.0.2.0/24\n").contains_ip(ip("192.0.2.77")));
    }

    #[test]
    fn ipv6_cidr_entry_covers_addresses() {
        assert!(whitelist("2001:db8::/32\n").contains_ip(ip("2001:db8:5::1")));
    }

    #[test]
    fn wider_entry_covers_block() {
        let list = whitelist("10.0.0.0/8\n10.1.0.0/24\n");

        assert!(list.covers_block(ip("10.1.0.0"), 16));
    }

    #[test]
    fn narrower_entry_leaves_block() {
        assert!(!whitelist("10.1.0.0/24\n").covers_block(ip("10.1.0.0"), 16));
    }

    #[test]
    fn address_entry_covers_host_block() {
        assert!(whitelist("192.0.2.1\n").covers_block(ip("192.0.2.1"), 32));
    }

    #[test]
    fn comments_and_blank_lines_are_skipped() {
        let list = whitelist("# header\n\n192.0.2.1 # resolver\r\n");

        assert_eq!(list.len(), 1);
    }

    #[test]
    fn bad_entry_names_line_and_value() {
        let error = Whitelist::parse("good.example\nbad!name\n", "wl.txt").unwrap_err();

        let message = error.to_string();
        assert_eq!(message, "invalid whitelist entry \"bad!name\" at wl.txt:2: contains '!', which is not valid in a host name");
    }

    #[test]
    fn bad_cidr_is_rejected() {
        let result = Whitelist::parse("192.0.2.0/40\n", "wl.txt");

        assert!(matches!(result, Err(TrailError::Whitelist { line: 1, .. })));
    }

    #[test]
    fn missing_file_is_io_error() {
        let result = Whitelist::load(Path::new("/nonexistent/whitelist.txt"));

        assert!(matches!(result, Err(TrailError::Io { .. })));
    }
}
