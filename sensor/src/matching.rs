//! Trail lookups for what the inspector extracted, and how each hit is shown in the log.
//!
//! Event types keep Maltrail's names. An address hit is `IP`, an address with port `IPORT`,
//! and a `host/path` or `/path` hit `URL`. A domain hit is `DNS`, also when the name came
//! from a TLS server name or an HTTP Host header, and then the protocol is TCP.

use std::net::{IpAddr, SocketAddr};

use trailwatch_event::TrailType;
use trailwatch_trailset::{format_domain_trail, format_url_trail, SourceId, TrailSet};

use crate::output::Detection;

/// Looks up an address among IP and CIDR trails.
pub fn address(trails: &TrailSet, ip: IpAddr) -> Option<Detection> {
    let hit = trails.lookup_ip(ip)?;
    Some(address_detection(ip, hit.source))
}

/// Looks up a packet endpoint among IP, CIDR and `ip:port` trails; returns the address hit and
/// the address-and-port hit.
pub fn endpoint(
    trails: &TrailSet,
    ip: IpAddr,
    port: Option<u16>,
) -> (Option<Detection>, Option<Detection>) {
    let hits = trails.lookup_endpoint(ip, port);
    let address = hits.ip.map(|hit| address_detection(ip, hit.source));
    let with_port = match (hits.ip_port, port) {
        (Some(source), Some(port)) => {
            // SocketAddr writes IPv6 as `[2001:db8::1]:443`, the form the trail lists use.
            let trail = SocketAddr::new(ip, port).to_string();
            Some(Detection {
                trail_type: TrailType::IpPort,
                trail,
                source,
            })
        }
        _ => None,
    };
    (address, with_port)
}

fn address_detection(ip: IpAddr, source: SourceId) -> Detection {
    Detection {
        trail_type: TrailType::Ip,
        trail: ip.to_string(),
        source,
    }
}

/// Looks up a lower-case DNS name (a query, a TLS server name or an HTTP host).
pub fn domain(trails: &TrailSet, name: &str) -> Option<Detection> {
    if name.is_empty() {
        return None;
    }
    let hit = trails.lookup_domain(name)?;
    let trail = format_domain_trail(name, &hit);
    Some(Detection {
        trail_type: TrailType::Dns,
        trail,
        source: hit.source,
    })
}

/// Maximum length in bytes of a URL trail field. The field shows the request's whole path and
/// query, which the sender controls, so it is cut here (and ends in `...`) to keep log lines
/// and throttle keys small.
pub const MAX_URL_TRAIL_BYTES: usize = 512;

/// Looks up an HTTP request among URL and path trails. `host` is lower case without port;
/// `path` is the request target's path and query.
pub fn url(trails: &TrailSet, host: &str, path: &str) -> Option<Detection> {
    let hit = trails.lookup_url(host, path)?;
    let mut trail = format_url_trail(host, path, &hit);
    if trail.len() > MAX_URL_TRAIL_BYTES {
        let mut cut = MAX_URL_TRAIL_BYTES - 3;
        while !trail.is_char_boundary(cut) {
            cut -= 1;
        }
        trail.truncate(cut);
        trail.push_str("...");
    }
    let trail_type = TrailType::Url;
    Some(Detection {
        trail_type,
        trail,
        source: hit.source,
    })
}

/// Splits an absolute-form request target (`http://host:port/path`, as sent to proxies) into
/// its authority and path; other targets return `None`.
pub fn split_absolute_target(target: &str) -> Option<(&str, &str)> {
    let rest = strip_prefix_ignore_case(target, "http://")
        .or_else(|| strip_prefix_ignore_case(target, "https://"))?;
    match rest.find('/') {
        Some(slash) => Some((&rest[..slash], &rest[slash..])),
        None => Some((rest, "/")),
    }
}

fn strip_prefix_ignore_case<'t>(text: &'t str, prefix: &str) -> Option<&'t str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_target_split() {
        assert_eq!(
            split_absolute_target("http://bro.org/a/b?c"),
            Some(("bro.org", "/a/b?c"))
        );
        assert_eq!(
            split_absolute_target("HTTP://Host:8080"),
            Some(("Host:8080", "/"))
        );
        assert_eq!(split_absolute_target("/relative"), None);
    }
}
