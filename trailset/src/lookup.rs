//! Lookups from the sensor's hot path.
//!
//! A miss never allocates, and a hit allocates only when a domain pattern matched. Whitelist
//! checks run only after a trail matched, so a miss costs only the trail probes. Each hit
//! reports the trail's primary source; [`TrailSet::sources`] lists all of them.

use std::net::IpAddr;

use crate::hash::hash_v4_address;
use crate::host::canonical_ip;
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
    /// results as [`TrailSet::lookup_ip`] and [`TrailSet::lookup_ip_port`], but an IPv4
    /// address that no trail can match costs a single cached filter probe and a coverage
    /// check.
    pub fn lookup_endpoint(&self, ip: IpAddr, port: Option<u16>) -> EndpointHits {
        if let IpAddr::V4(v4) = canonical_ip(ip) {
            let bytes = self.bytes();
            let address = u32::from(v4);
            let listed = self
                .view
                .v4_endpoints
                .may_contain(bytes, hash_v4_address(address));
            if !listed && !self.view.cidr_v4.may_cover(bytes, address) {
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
        let (reference, prefix) = self.find_ip(ip)?;
        if self.whitelist.contains_ip(ip) {
            return None;
        }
        Some(IpHit {
            source: self.primary(reference)?,
            prefix,
        })
    }

    /// Returns the source reference and prefix length (`None` for an exact address) of the
    /// trail `lookup_ip` matches, before the whitelist.
    pub(crate) fn find_ip(&self, ip: IpAddr) -> Option<(u32, Option<u8>)> {
        let bytes = self.bytes();
        match canonical_ip(ip) {
            IpAddr::V4(v4) => {
                let address = u32::from(v4);
                let listed = self
                    .view
                    .v4_endpoints
                    .may_contain(bytes, hash_v4_address(address));
                let exact = listed
                    .then(|| self.view.ipv4.find(bytes, &address.to_be_bytes()))
                    .flatten();
                match exact {
                    Some(reference) => Some((reference, None)),
                    None => self
                        .view
                        .cidr_v4
                        .lookup(bytes, address)
                        .map(|(reference, prefix)| (reference, Some(prefix))),
                }
            }
            IpAddr::V6(v6) => {
                let address = u128::from(v6);
                match self.view.ipv6.find(bytes, &address.to_be_bytes()) {
                    Some(reference) => Some((reference, None)),
                    None => self
                        .view
                        .cidr_v6
                        .lookup(bytes, address)
                        .map(|(reference, prefix)| (reference, Some(prefix))),
                }
            }
        }
    }

    /// Finds an `address:port` trail. A whitelisted address has no hit.
    pub fn lookup_ip_port(&self, ip: IpAddr, port: u16) -> Option<SourceId> {
        let reference = self.find_ip_port(ip, port)?;
        if self.whitelist.contains_ip(ip) {
            return None;
        }
        self.primary(reference)
    }

    pub(crate) fn find_ip_port(&self, ip: IpAddr, port: u16) -> Option<u32> {
        let bytes = self.bytes();
        match canonical_ip(ip) {
            IpAddr::V4(v4) => {
                let address = u32::from(v4);
                if !self
                    .view
                    .v4_endpoints
                    .may_contain(bytes, hash_v4_address(address))
                {
                    return None;
                }
                let mut key = [0u8; 6];
                key[..4].copy_from_slice(&address.to_be_bytes());
                key[4..].copy_from_slice(&port.to_be_bytes());
                self.view.ipv4_port.find(bytes, &key)
            }
            IpAddr::V6(v6) => {
                let mut key = [0u8; 18];
                key[..16].copy_from_slice(&v6.octets());
                key[16..].copy_from_slice(&port.to_be_bytes());
                self.view.ipv6_port.find(bytes, &key)
            }
        }
    }

    /// Finds the trail for a DNS name, which is lower-case ASCII without a trailing dot.
    ///
    /// Tries the whole name, then each parent at label boundaries (a trail `evil.com` matches
    /// `a.b.evil.com` but not `notevil.com`), then the TLD form `.tld`, then the patterns. A
    /// name that is whitelisted, or under a whitelisted domain, has no hit.
    pub fn lookup_domain(&self, name: &str) -> Option<DomainHit> {
        let (reference, hit) = self.find_domain(name.as_bytes())?;
        if self.whitelist.contains_domain(name) {
            return None;
        }
        Some(DomainHit {
            source: self.primary(reference)?,
            ..hit
        })
    }

    /// Returns the source reference of the trail `lookup_domain` matches, before the
    /// whitelist, with the hit (whose source is a placeholder).
    pub(crate) fn find_domain(&self, name: &[u8]) -> Option<(u32, DomainHit)> {
        let bytes = self.bytes();
        let hit = |matched_start, pattern| DomainHit {
            source: SourceId(u32::MAX),
            matched_start,
            pattern,
        };

        let max_len = self.view.domains.max_key_len();
        for start in label_starts(name) {
            let suffix = name.get(start..).unwrap_or_default();
            if suffix.len() > max_len {
                continue;
            }
            if let Some(reference) = self.view.domains.get(bytes, suffix) {
                return Some((reference, hit(start, false)));
            }
        }

        if !self.view.tlds.is_empty() {
            for start in label_starts(name).skip(1) {
                let suffix = name.get(start..).unwrap_or_default();
                if let Some(reference) = self.view.tlds.get(bytes, suffix) {
                    return Some((reference, hit(start - 1, false)));
                }
            }
        }

        let reference = self.find_pattern(name)?;
        Some((reference, hit(0, true)))
    }

    /// Returns the source reference of the pattern that matches `name`: the first whose
    /// primary source is custom, or else the first.
    pub(crate) fn find_pattern(&self, name: &[u8]) -> Option<u32> {
        let bytes = self.bytes();
        let sources = &self.view.sources;
        let is_custom = |reference| {
            sources
                .primary(bytes, reference)
                .is_some_and(|source| sources.is_custom(bytes, source))
        };
        self.patterns.as_ref()?.lookup(name, is_custom)
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
        let found = self
            .view
            .urls
            .lookup(self.bytes(), host.as_bytes(), path.as_bytes())?;
        Some(UrlHit {
            source: self.primary(found.reference)?,
            host_start: found.host_start,
            path_end: found.path_end,
            bare_path: found.bare_path,
        })
    }

    /// Tells whether the whitelist covers the address, exactly or by a CIDR block.
    pub fn is_whitelisted_ip(&self, ip: IpAddr) -> bool {
        self.whitelist.contains_ip(ip)
    }

    /// Tells whether the whitelist covers the name or one of its parent domains.
    pub fn is_whitelisted_domain(&self, name: &str) -> bool {
        self.whitelist.contains_domain(name)
    }

    /// Returns the primary source of a stored reference.
    #[inline]
    pub(crate) fn primary(&self, reference: u32) -> Option<SourceId> {
        self.view.sources.primary(self.bytes(), reference)
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
