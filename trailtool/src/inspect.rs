//! Questions about a store: `trailwatch-trails lookup` and `stats`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use trailwatch_trailset::{
    format_domain_trail, format_url_trail, HitRef, IpHit, SourceId, TrailSet,
};

/// The indicator kinds `lookup` accepts, parsed from its argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Query {
    Ip(IpAddr),
    /// `address:port`, IPv6 as `[address]:port`.
    Endpoint(IpAddr, u16),
    /// A lower-case domain name without a trailing dot.
    Domain(String),
    /// `host/path`, with the scheme and port removed and the host lower-cased.
    Url {
        host: String,
        path: String,
    },
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an IP address, address:port, domain or host/path URL")]
pub struct QueryError(String);

impl Query {
    /// Parses an IP address, `address:port`, a domain or a URL (`host/path`, with or without
    /// `http://` or `https://`).
    pub fn parse(text: &str) -> Result<Query, QueryError> {
        let invalid = || QueryError(text.to_owned());
        let trimmed = text.trim();
        let without_scheme = strip_scheme(trimmed);

        if let Some(slash) = without_scheme.find('/') {
            let host = host_without_port(&without_scheme[..slash]).ok_or_else(invalid)?;
            return Ok(Query::Url {
                host,
                path: without_scheme[slash..].to_owned(),
            });
        }
        if let Ok(endpoint) = without_scheme.parse::<SocketAddr>() {
            return Ok(Query::Endpoint(endpoint.ip(), endpoint.port()));
        }
        if let Ok(ip) = without_scheme.parse::<IpAddr>() {
            return Ok(Query::Ip(ip));
        }

        let name = without_scheme.trim_end_matches('.').to_ascii_lowercase();
        let valid =
            !name.is_empty() && !name.contains(|c: char| c.is_whitespace() || c == ':' || c == '@');
        match valid {
            true => Ok(Query::Domain(name)),
            false => Err(invalid()),
        }
    }
}

/// One trail that matched a query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Match {
    /// The kind of trail: `ip`, `cidr`, `ip:port`, `domain`, `url`.
    pub kind: &'static str,
    /// The trail as written in a log line: `(www).evil.com`, `192.0.2.0/24`.
    pub trail: String,
    /// The primary source, which events report.
    pub info: String,
    pub reference: String,
    /// Every source that lists the trail, primary first, as (info, reference).
    pub sources: Vec<(String, String)>,
}

impl fmt::Display for Match {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "listed: {} ({})", self.trail, self.kind)?;
        writeln!(f, "  info:      {}", self.info)?;
        writeln!(f, "  reference: {}", self.reference)?;
        let sources: Vec<String> = self
            .sources
            .iter()
            .map(|(info, reference)| format!("{info} [{reference}]"))
            .collect();
        write!(f, "  sources:   {}", sources.join(", "))
    }
}

/// Looks a query up the way the sensor would, and returns every trail that matched: for a
/// URL the URL trail and then its host, for an endpoint the `address:port` trail and then
/// the address.
pub fn lookup(set: &TrailSet, query: &Query) -> Vec<Match> {
    let mut matches = Vec::new();
    match query {
        Query::Ip(ip) => matches.extend(lookup_ip(set, *ip)),
        Query::Endpoint(ip, port) => {
            if let Some(source) = set.lookup_ip_port(*ip, *port) {
                let trail = SocketAddr::new(*ip, *port).to_string();
                let hit = HitRef::from((*ip, *port));
                matches.push(describe(set, "ip:port", trail, source, hit));
            }
            matches.extend(lookup_ip(set, *ip));
        }
        Query::Domain(name) => matches.extend(lookup_domain(set, name)),
        Query::Url { host, path } => {
            if let Some(hit) = set.lookup_url(host, path) {
                let trail = format_url_trail(host, path, &hit);
                let hit_ref = HitRef::from((host.as_str(), path.as_str(), hit));
                matches.push(describe(set, "url", trail, hit.source, hit_ref));
            }
            match host.parse::<IpAddr>() {
                Ok(ip) => matches.extend(lookup_ip(set, ip)),
                Err(_) => matches.extend(lookup_domain(set, host)),
            }
        }
    }
    matches
}

/// Renders the indicator counts per kind and per source, largest source first.
pub fn stats(set: &TrailSet) -> String {
    let counts = set.counts();
    let mut text = format!("indicators: {}\n", counts.total());
    let kinds = [
        ("domains", counts.domain),
        ("TLDs", counts.tld),
        ("IPs", counts.ip),
        ("IP:ports", counts.ip_port),
        ("CIDRs", counts.cidr),
        ("URLs", counts.url),
        ("paths", counts.path),
        ("patterns", counts.pattern),
    ];
    for (kind, count) in kinds {
        text.push_str(&format!("  {kind:<10} {count:>10}\n"));
    }

    let mut sources = set.source_counts();
    sources.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| set.info(a.0).cmp(set.info(b.0))));
    text.push_str(&format!("sources: {}\n", sources.len()));
    for (source, count) in sources {
        text.push_str(&format!(
            "  {count:>10}  {} [{}]\n",
            set.info(source),
            set.reference(source)
        ));
    }
    text
}

fn lookup_ip(set: &TrailSet, ip: IpAddr) -> Option<Match> {
    let hit = set.lookup_ip(ip)?;
    let (kind, trail) = match hit.prefix {
        None => ("ip", ip.to_string()),
        Some(prefix) => ("cidr", format!("{}/{prefix}", network(ip, &hit))),
    };
    Some(describe(
        set,
        kind,
        trail,
        hit.source,
        HitRef::from((ip, hit)),
    ))
}

fn lookup_domain(set: &TrailSet, name: &str) -> Option<Match> {
    let hit = set.lookup_domain(name)?;
    let trail = format_domain_trail(name, &hit);
    Some(describe(
        set,
        "domain",
        trail,
        hit.source,
        HitRef::from((name, hit)),
    ))
}

/// Returns the network address of the CIDR block that matched `ip`.
fn network(ip: IpAddr, hit: &IpHit) -> IpAddr {
    let prefix = u32::from(hit.prefix.unwrap_or(0));
    match ip {
        IpAddr::V4(v4) => {
            let mask = u32::MAX.checked_shl(32 - prefix.min(32)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask))
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - prefix.min(128)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
        }
    }
}

fn describe(
    set: &TrailSet,
    kind: &'static str,
    trail: String,
    source: SourceId,
    hit: HitRef<'_>,
) -> Match {
    let sources = set
        .sources(hit)
        .map(|id| (set.info(id).to_owned(), set.reference(id).to_owned()))
        .collect();
    Match {
        kind,
        trail,
        info: set.info(source).to_owned(),
        reference: set.reference(source).to_owned(),
        sources,
    }
}

fn strip_scheme(text: &str) -> &str {
    for scheme in ["http://", "https://"] {
        // `get` returns None when the cut would split a multi-byte character.
        let head = text.get(..scheme.len());
        if head.is_some_and(|head| head.eq_ignore_ascii_case(scheme)) {
            return &text[scheme.len()..];
        }
    }
    text
}

/// Lower-cases a URL host and removes its port: `Evil.com:8080` gives `evil.com`,
/// `[2001:db8::1]:443` gives `2001:db8::1`.
fn host_without_port(host: &str) -> Option<String> {
    let host = match host.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next()?,
        None => host.split(':').next()?,
    };
    match host.is_empty() {
        true => None,
        false => Some(host.to_ascii_lowercase()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_strip_on_non_ascii() {
        assert_eq!(strip_scheme("пример.рф"), "пример.рф");
        assert_eq!(strip_scheme("a.com/é"), "a.com/é");
        assert_eq!(strip_scheme("HTTP://x.example/é"), "x.example/é");
    }

    #[test]
    fn address_parses_as_ip() {
        assert_eq!(
            Query::parse("192.0.2.7"),
            Ok(Query::Ip("192.0.2.7".parse().unwrap()))
        );
    }

    #[test]
    fn bracketed_v6_endpoint_parses() {
        assert_eq!(
            Query::parse("[2001:db8::1]:443"),
            Ok(Query::Endpoint("2001:db8::1".parse().unwrap(), 443))
        );
    }

    #[test]
    fn url_loses_scheme_and_port() {
        assert_eq!(
            Query::parse("HTTP://Evil.Example:8080/gate.php?id=1"),
            Ok(Query::Url {
                host: "evil.example".to_owned(),
                path: "/gate.php?id=1".to_owned()
            })
        );
    }

    #[test]
    fn domain_is_lower_cased() {
        assert_eq!(
            Query::parse("WWW.Evil.Example."),
            Ok(Query::Domain("www.evil.example".to_owned()))
        );
    }

    #[test]
    fn text_with_space_is_rejected() {
        assert!(Query::parse("not a domain").is_err());
    }

    #[test]
    fn cidr_match_shows_network() {
        let files = [("malware/x.txt", "198.51.100.0/24\n", false)];
        let (set, _) = TrailSet::from_text(&files, None).unwrap();

        let matches = lookup(&set, &Query::Ip("198.51.100.77".parse().unwrap()));
        assert_eq!(matches[0].trail, "198.51.100.0/24");
    }

    #[test]
    fn url_lookup_reports_host_too() {
        let files = [(
            "malware/x.txt",
            "evil.example\nevil.example/gate.php\n",
            false,
        )];
        let (set, _) = TrailSet::from_text(&files, None).unwrap();
        let query = Query::parse("http://evil.example/gate.php").unwrap();

        let kinds: Vec<&str> = lookup(&set, &query).iter().map(|m| m.kind).collect();
        assert_eq!(kinds, ["url", "domain"]);
    }
}
