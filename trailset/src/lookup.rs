//! Lookups from the sensor's hot path.
//!
//! A miss never allocates, and a hit allocates only when a domain pattern matched. Whitelist
//! checks run only after a trail matched, so a miss costs only the trail probes.

use std::net::IpAddr;

use crate::presence::hash_v4_address;
use crate::trail_set::TrailSet;
use crate::SourceId;

/// An address trail that matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpHit {
    pub source: SourceId,
    /// The prefix length of the CIDR block that matched, or `None` for an exact address.
    pub prefix: Option<u8>,
}

/// A domain trail that matched a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DomainHit {
    pub source: SourceId,
    /// Byte offset in the name where the matched trail starts: 0 for the whole name, the start
    /// of a parent label for a parent domain, the dot before the TLD for a TLD trail.
    pub matched_start: usize,
    /// Whether a regex-like pattern matched (always the whole name).
    pub pattern: bool,
}

/// A URL or bare path trail that matched a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UrlHit {
    pub source: SourceId,
    /// Byte offset in the host where the matched host suffix starts, or the host length for a
    /// bare path trail.
    pub host_start: usize,
    /// Byte offset in the path where the matched prefix ends.
    pub path_end: usize,
    /// Whether a bare `/path` trail matched, without a host.
    pub bare_path: bool,
}

/// The address trails that matched one packet endpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EndpointHits {
    /// An exact address or CIDR trail.
    pub ip: Option<IpHit>,
    /// An `address:port` trail.
    pub ip_port: Option<SourceId>,
}

impl TrailSet {
    /// Looks up one packet endpoint among address, CIDR and `address:port` trails: the same
    /// answers as [`TrailSet::lookup_ip`] and [`TrailSet::lookup_ip_port`], but an IPv4
    /// address that no trail can match costs a single cached bit probe and a coverage check.
    pub fn lookup_endpoint(&self, ip: IpAddr, port: Option<u16>) -> EndpointHits {
        if let (Some(filter), IpAddr::V4(v4)) = (&self.v4_endpoints, ip) {
            let address = u32::from(v4);
            if !filter.may_contain(hash_v4_address(address)) && !self.ips.cidr_v4_may_cover(address)
            {
                return EndpointHits::default();
            }
        }
        EndpointHits {
            ip: self.lookup_ip(ip),
            ip_port: port.and_then(|port| self.lookup_ip_port(ip, port)),
        }
    }

    /// Finds the exact address, then the most specific CIDR block containing it.
    ///
    /// An IPv4-mapped IPv6 address is looked up as IPv4. A whitelisted address has no hit.
    pub fn lookup_ip(&self, ip: IpAddr) -> Option<IpHit> {
        let (source, prefix) = self.ips.lookup(ip)?;
        if self.whitelist.contains_ip(ip) {
            return None;
        }
        Some(IpHit { source, prefix })
    }

    /// Finds an `address:port` trail. A whitelisted address has no hit.
    pub fn lookup_ip_port(&self, ip: IpAddr, port: u16) -> Option<SourceId> {
        let source = self.ports.lookup(ip, port)?;
        if self.whitelist.contains_ip(ip) {
            return None;
        }
        Some(source)
    }

    /// Finds the trail for a DNS name, which is lower-case ASCII without a trailing dot.
    ///
    /// Tries the whole name, then each parent at label boundaries (a trail `evil.com` matches
    /// `a.b.evil.com` but not `notevil.com`), then the TLD form `.tld`, then the patterns. A
    /// name that is whitelisted, or under a whitelisted domain, has no hit.
    pub fn lookup_domain(&self, name: &str) -> Option<DomainHit> {
        let hit = self.find_domain(name.as_bytes())?;
        if self.whitelist.contains_domain(name) {
            return None;
        }
        Some(hit)
    }

    fn find_domain(&self, name: &[u8]) -> Option<DomainHit> {
        let max_len = self.domains.max_key_len();
        for start in label_starts(name) {
            if name.len() - start > max_len {
                continue;
            }
            if let Some(source) = self.domains.get(&name[start..]) {
                return Some(DomainHit {
                    source,
                    matched_start: start,
                    pattern: false,
                });
            }
        }

        if !self.tlds.is_empty() {
            for start in label_starts(name).skip(1) {
                if let Some(source) = self.tlds.get(&name[start..]) {
                    return Some(DomainHit {
                        source,
                        matched_start: start - 1,
                        pattern: false,
                    });
                }
            }
        }

        let source = self.patterns.as_ref()?.lookup(name, &self.sources)?;
        Some(DomainHit {
            source,
            matched_start: 0,
            pattern: true,
        })
    }

    /// Finds the trail for an HTTP request: `host` is lower-case without a port, `path` is the
    /// request target as sent (it may carry a query).
    ///
    /// Tries each host suffix at label boundaries, longest first, combined with the path
    /// prefixes that end before a `/`, `?`, `&` or `=`, or at the end, longest first. Then it
    /// tries bare path trails on the path alone. Paths compare ASCII-case-insensitively. A
    /// host written as an IPv4 address is only tried whole.
    ///
    /// The whitelist does not apply: a URL trail names one resource, so it still matches on
    /// a whitelisted host such as a code-hosting site.
    pub fn lookup_url(&self, host: &str, path: &str) -> Option<UrlHit> {
        self.urls.lookup(host.as_bytes(), path.as_bytes())
    }

    /// Tells whether the whitelist covers the address, exactly or by a CIDR block.
    pub fn is_whitelisted_ip(&self, ip: IpAddr) -> bool {
        self.whitelist.contains_ip(ip)
    }

    /// Tells whether the whitelist covers the name or one of its parent domains.
    pub fn is_whitelisted_domain(&self, name: &str) -> bool {
        self.whitelist.contains_domain(name)
    }
}

/// Yields 0 and the offset after each dot: the starts of the name and of each parent.
pub(crate) fn label_starts(name: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let parents = name
        .iter()
        .enumerate()
        .filter(|(_, &byte)| byte == b'.')
        .map(|(i, _)| i + 1);
    std::iter::once(0)
        .chain(parents)
        .filter(move |&start| start < name.len())
}
