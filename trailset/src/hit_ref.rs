//! Every source of a matched trail, not only the primary one that hits report.

use std::net::IpAddr;

use crate::host::canonical_ip;
use crate::ip_table::canonical_network;
use crate::lookup::{DomainHit, IpHit, UrlHit};
use crate::store::sources::Members;
use crate::trail_set::TrailSet;
use crate::SourceId;

/// A trail that a lookup matched, named by the lookup's arguments and its hit, so that
/// [`TrailSet::sources`] can find the same trail again.
///
/// Build one from a tuple: `(ip, ip_hit)`, `(ip, port)`, `(name, domain_hit)` or
/// `(host, path, url_hit)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HitRef<'a> {
    /// An exact address or CIDR trail matched by [`TrailSet::lookup_ip`].
    Ip { ip: IpAddr, hit: IpHit },
    /// An `address:port` trail matched by [`TrailSet::lookup_ip_port`].
    IpPort { ip: IpAddr, port: u16 },
    /// A domain, TLD or pattern trail matched by [`TrailSet::lookup_domain`].
    Domain { name: &'a str, hit: DomainHit },
    /// A URL or bare path trail matched by [`TrailSet::lookup_url`].
    Url {
        host: &'a str,
        path: &'a str,
        hit: UrlHit,
    },
}

impl From<(IpAddr, IpHit)> for HitRef<'_> {
    fn from((ip, hit): (IpAddr, IpHit)) -> Self {
        HitRef::Ip { ip, hit }
    }
}

impl From<(IpAddr, u16)> for HitRef<'_> {
    fn from((ip, port): (IpAddr, u16)) -> Self {
        HitRef::IpPort { ip, port }
    }
}

impl<'a> From<(&'a str, DomainHit)> for HitRef<'a> {
    fn from((name, hit): (&'a str, DomainHit)) -> Self {
        HitRef::Domain { name, hit }
    }
}

impl<'a> From<(&'a str, &'a str, UrlHit)> for HitRef<'a> {
    fn from((host, path, hit): (&'a str, &'a str, UrlHit)) -> Self {
        HitRef::Url { host, path, hit }
    }
}

/// The sources of one trail, primary first.
#[derive(Clone, Debug, Default)]
pub struct TrailSources<'a> {
    members: Members<'a>,
}

impl Iterator for TrailSources<'_> {
    type Item = SourceId;

    fn next(&mut self) -> Option<SourceId> {
        self.members.next()
    }
}

impl TrailSet {
    /// Lists every source of the trail that a lookup matched, primary first: custom sources
    /// in the order they were added, then the others in the order they were added. The
    /// primary is the source the hit reports.
    ///
    /// Yields nothing when this set contains no such trail, for example for a hit from another
    /// set. The whitelist plays no part: a hit exists only for trails it did not silence.
    ///
    /// ```
    /// use trailwatch_trailset::TrailSet;
    ///
    /// let files = [("malware/a.txt", "evil.com\n", false), ("malware/b.txt", "evil.com\n", false)];
    /// let (set, _) = TrailSet::from_text(&files, None).unwrap();
    /// let hit = set.lookup_domain("www.evil.com").unwrap();
    ///
    /// let infos: Vec<&str> = set.sources(("www.evil.com", hit)).map(|id| set.info(id)).collect();
    /// assert_eq!(infos, ["a (malware)", "b (malware)"]);
    /// ```
    pub fn sources<'a>(&'a self, hit: impl Into<HitRef<'a>>) -> TrailSources<'a> {
        let reference = match hit.into() {
            HitRef::Ip { ip, hit } => self.trail_of_ip(ip, hit),
            HitRef::IpPort { ip, port } => self.find_ip_port(ip, port),
            HitRef::Domain { name, hit } => self.trail_of_domain(name, hit),
            HitRef::Url { host, path, hit } => self.trail_of_url(host, path, hit),
        };
        let members = match reference {
            Some(reference) => self.view.sources.members(self.bytes(), reference),
            None => Members::default(),
        };
        TrailSources { members }
    }

    fn trail_of_ip(&self, ip: IpAddr, hit: IpHit) -> Option<u32> {
        let bytes = self.bytes();
        let Some(prefix) = hit.prefix else {
            return match canonical_ip(ip) {
                IpAddr::V4(v4) => self.view.ipv4.find(bytes, &v4.octets()),
                IpAddr::V6(v6) => self.view.ipv6.find(bytes, &v6.octets()),
            };
        };
        match canonical_network(canonical_ip(ip), prefix) {
            (IpAddr::V4(network), prefix) => {
                self.view
                    .cidr_v4
                    .find_block(bytes, u32::from(network), prefix)
            }
            (IpAddr::V6(network), prefix) => {
                self.view
                    .cidr_v6
                    .find_block(bytes, u128::from(network), prefix)
            }
        }
    }

    fn trail_of_domain(&self, name: &str, hit: DomainHit) -> Option<u32> {
        let bytes = self.bytes();
        let name = name.as_bytes();
        if hit.pattern {
            return self.find_pattern(name);
        }
        match name.get(hit.matched_start) {
            Some(b'.') => {
                let tld = name.get(hit.matched_start + 1..)?;
                self.view.tlds.get(bytes, tld)
            }
            Some(_) => self.view.domains.get(bytes, name.get(hit.matched_start..)?),
            None => None,
        }
    }

    fn trail_of_url(&self, host: &str, path: &str, hit: UrlHit) -> Option<u32> {
        let bytes = self.bytes();
        let path = path.as_bytes().get(..hit.path_end)?;
        let host = match hit.bare_path {
            true => &b""[..],
            false => host.as_bytes().get(hit.host_start..)?,
        };
        self.view.urls.find(bytes, host, path)
    }
}
