//! Normalisation of one feed entry into trail-file syntax.
//!
//! The output is what `trailwatch-trailset` reads from a trail line: `1.2.3.4`,
//! `1.2.3.0/24`, `1.2.3.4:443`, `[2001:db8::1]:443`, `evil.com` and `host[:port]/path`.
//! Hosts are lower-cased, URL schemes and fragments dropped, CIDR host bits cleared, `/32`
//! and `/128` blocks written as addresses and IPv4-mapped IPv6 addresses as IPv4.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::reserved;

/// Maximum length of one indicator in bytes, the same cap that trail files put on a URL
/// trail. Longer entries are skipped.
pub(crate) const MAX_INDICATOR_LEN: usize = 4095;

/// Maximum length of a domain name in text form (RFC 1035).
const MAX_NAME_LEN: usize = 253;

/// Maximum length of one domain label (RFC 1035).
const MAX_LABEL_LEN: usize = 63;

/// One normalised indicator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Indicator {
    Ip(IpAddr),
    Endpoint(IpAddr, u16),
    /// A network address with its host bits cleared, and a prefix shorter than the address.
    Cidr(IpAddr, u8),
    /// A lower-case name with at least two labels.
    Domain(String),
    /// A lower-case host, an optional port, and a path starting with `/` (query kept).
    Url(String),
}

impl fmt::Display for Indicator {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Indicator::Ip(ip) => write!(formatter, "{ip}"),
            Indicator::Endpoint(IpAddr::V4(v4), port) => write!(formatter, "{v4}:{port}"),
            Indicator::Endpoint(IpAddr::V6(v6), port) => write!(formatter, "[{v6}]:{port}"),
            Indicator::Cidr(network, prefix) => write!(formatter, "{network}/{prefix}"),
            Indicator::Domain(name) | Indicator::Url(name) => formatter.write_str(name),
        }
    }
}

/// The reason an entry is not an indicator.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Reject {
    #[error("is empty")]
    Empty,
    #[error("is longer than {MAX_INDICATOR_LEN} bytes")]
    TooLong,
    #[error("contains whitespace")]
    Whitespace,
    #[error("contains the control character {0:?}")]
    ControlCharacter(char),
    #[error("is not an IP address, CIDR block, domain or URL")]
    NotAnIndicator,
    #[error("is not an IP address or CIDR block")]
    NotAnAddress,
    #[error("is not a domain name: {0}")]
    InvalidDomain(&'static str),
    #[error("has an invalid port (expected 1-65535)")]
    InvalidPort,
    #[error("has a CIDR prefix length beyond the address size")]
    InvalidPrefix,
    #[error("uses the scheme {0}://, but only http:// and https:// URLs can be matched")]
    UnsupportedScheme(String),
    #[error("is a URL without a host")]
    MissingHost,
    #[error("would be read as a CIDR block, not as a URL")]
    AmbiguousUrl,
    #[error("is in {0}, which would match local traffic")]
    NonRoutable(&'static str),
}

impl Reject {
    /// Tells whether the entry was a well-formed indicator that was dropped on purpose.
    pub(crate) fn is_well_formed(&self) -> bool {
        matches!(self, Reject::NonRoutable(_))
    }
}

/// Normalises an IP address, `address:port`, CIDR block, domain or URL.
///
/// A line with `/` is a CIDR block when it is `address/digits` and a URL otherwise, as in
/// trail files. A domain with a port loses the port, because names are matched without one.
pub(crate) fn parse_any(text: &str) -> Result<Indicator, Reject> {
    let text = check_text(text)?;

    if let Some((scheme, rest)) = split_scheme(text) {
        return parse_url_parts(&scheme, rest);
    }
    if let Some((address, prefix)) = text.split_once('/') {
        if let Some(cidr) = parse_cidr(address, prefix) {
            return cidr;
        }
        return parse_url_parts("http", text);
    }
    parse_host(text)
}

/// Normalises an IP address or CIDR block and rejects everything else.
pub(crate) fn parse_address(text: &str) -> Result<Indicator, Reject> {
    let text = check_text(text)?;

    if let Some((address, prefix)) = text.split_once('/') {
        return parse_cidr(address, prefix).unwrap_or(Err(Reject::NotAnAddress));
    }
    let ip = parse_ip(text).ok_or(Reject::NotAnAddress)?;
    routable(Indicator::Ip(ip))
}

/// Normalises a URL with or without a scheme. Without a path, the URL becomes a host trail.
pub(crate) fn parse_url(text: &str) -> Result<Indicator, Reject> {
    let text = check_text(text)?;

    match split_scheme(text) {
        Some((scheme, rest)) => parse_url_parts(&scheme, rest),
        None => parse_url_parts("http", text),
    }
}

/// Normalises a domain name (a trailing dot is dropped) and rejects addresses and URLs.
pub(crate) fn parse_domain(text: &str) -> Result<Indicator, Reject> {
    let text = check_text(text)?;
    normalize_domain(text).map(Indicator::Domain)
}

fn check_text(text: &str) -> Result<&str, Reject> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Reject::Empty);
    }
    if text.len() > MAX_INDICATOR_LEN {
        return Err(Reject::TooLong);
    }

    if text.chars().any(char::is_whitespace) {
        return Err(Reject::Whitespace);
    }
    if let Some(control) = text.chars().find(|c| c.is_control()) {
        return Err(Reject::ControlCharacter(control));
    }
    Ok(text)
}

/// Splits `scheme://rest`, returning the lower-case scheme.
fn split_scheme(text: &str) -> Option<(String, &str)> {
    let (scheme, rest) = text.split_once("://")?;
    let is_scheme = !scheme.is_empty()
        && scheme
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'+' | b'-' | b'.'));
    is_scheme.then(|| (scheme.to_ascii_lowercase(), rest))
}

/// Returns `None` unless the text is `address/digits`, so `1.2.3.4/x.php` stays a URL.
fn parse_cidr(address: &str, prefix: &str) -> Option<Result<Indicator, Reject>> {
    if prefix.is_empty() || !prefix.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let ip = parse_ip(address)?;

    let width = match ip {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    };
    let prefix = match prefix.parse::<u8>() {
        Ok(prefix) if prefix <= width => prefix,
        _ => return Some(Err(Reject::InvalidPrefix)),
    };

    let indicator = if prefix == width {
        Indicator::Ip(ip)
    } else {
        Indicator::Cidr(clear_host_bits(ip, prefix), prefix)
    };
    Some(routable(indicator))
}

fn clear_host_bits(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from_bits(v4.to_bits() & mask))
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & mask))
        }
    }
}

/// Parses a plain IPv4 or IPv6 address. IPv4-mapped IPv6 becomes IPv4, because packets
/// carry such peers as IPv4. Zone indexes (`fe80::1%lo0`) are not addresses here.
fn parse_ip(text: &str) -> Option<IpAddr> {
    let ip = text.parse::<IpAddr>().ok()?;
    match ip {
        IpAddr::V6(v6) => Some(v6.to_ipv4_mapped().map_or(ip, IpAddr::V4)),
        IpAddr::V4(_) => Some(ip),
    }
}

/// Passes the indicator on unless its address overlaps a non-routable range.
fn routable(indicator: Indicator) -> Result<Indicator, Reject> {
    let (network, prefix) = match &indicator {
        Indicator::Ip(ip) | Indicator::Endpoint(ip, _) => (*ip, full_prefix(*ip)),
        Indicator::Cidr(network, prefix) => (*network, *prefix),
        Indicator::Domain(_) | Indicator::Url(_) => return Ok(indicator),
    };

    match reserved::overlapped_range(network, prefix) {
        Some(range) => Err(Reject::NonRoutable(range)),
        None => Ok(indicator),
    }
}

fn full_prefix(ip: IpAddr) -> u8 {
    match ip {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// A parsed `host[:port]`.
enum Host {
    Ip(IpAddr),
    Domain(String),
}

/// Parses `host`, `host:port`, a bare IPv6 address or `[IPv6]:port` into an address,
/// endpoint or domain indicator.
fn parse_host(text: &str) -> Result<Indicator, Reject> {
    let (host, port) = split_host_port(text)?;
    match (host, port) {
        (Host::Ip(ip), None) => routable(Indicator::Ip(ip)),
        (Host::Ip(ip), Some(port)) => routable(Indicator::Endpoint(ip, port)),
        (Host::Domain(name), _) => Ok(Indicator::Domain(name)),
    }
}

fn split_host_port(text: &str) -> Result<(Host, Option<u16>), Reject> {
    if let Some(rest) = text.strip_prefix('[') {
        let (address, after) = rest.split_once(']').ok_or(Reject::NotAnIndicator)?;
        let ip = address
            .parse::<Ipv6Addr>()
            .map_err(|_| Reject::NotAnIndicator)?;
        let port = match after {
            "" => None,
            _ => Some(parse_port(
                after.strip_prefix(':').ok_or(Reject::InvalidPort)?,
            )?),
        };
        return Ok((Host::Ip(IpAddr::V6(ip)), port));
    }

    if let Some(ip) = parse_ip(text) {
        return Ok((Host::Ip(ip), None));
    }
    if text.contains('%') && text.contains(':') {
        // An IPv6 address with a zone index is link-local by definition.
        return Err(Reject::NonRoutable("fe80::/10, link-local"));
    }

    let (host, port) = match text.rsplit_once(':') {
        Some((host, port)) => (host, Some(parse_port(port)?)),
        None => (text, None),
    };
    if let Ok(v4) = host.parse::<Ipv4Addr>() {
        return Ok((Host::Ip(IpAddr::V4(v4)), port));
    }
    Ok((Host::Domain(normalize_domain(host)?), port))
}

fn parse_port(text: &str) -> Result<u16, Reject> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(Reject::InvalidPort);
    }

    match text.parse::<u16>() {
        Ok(0) | Err(_) => Err(Reject::InvalidPort),
        Ok(port) => Ok(port),
    }
}

/// Builds a URL indicator from the part after `scheme://`.
///
/// User information (`user@`) and the fragment are dropped. With nothing after the host but
/// `/`, the URL becomes a host trail (`http://1.2.3.4:8080/` gives `1.2.3.4:8080`).
fn parse_url_parts(scheme: &str, rest: &str) -> Result<Indicator, Reject> {
    if scheme != "http" && scheme != "https" {
        return Err(Reject::UnsupportedScheme(scheme.to_owned()));
    }

    let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if host_port.is_empty() {
        return Err(Reject::MissingHost);
    }

    let (host, port) = split_host_port(host_port)?;
    let path = match path {
        "" | "/" => return host_only(host, port),
        path if path.starts_with('?') => format!("/{path}"),
        path => path.to_owned(),
    };

    let mut url = match host {
        Host::Ip(ip) => {
            routable(Indicator::Ip(ip))?;
            if ip.is_ipv4() && port.is_none() && is_prefix_length(&path) {
                return Err(Reject::AmbiguousUrl);
            }
            match ip {
                IpAddr::V4(v4) => v4.to_string(),
                IpAddr::V6(v6) => format!("[{v6}]"),
            }
        }
        Host::Domain(name) => name,
    };

    if let Some(port) = port {
        url.push_str(&format!(":{port}"));
    }
    url.push_str(&path);
    Ok(Indicator::Url(url))
}

fn host_only(host: Host, port: Option<u16>) -> Result<Indicator, Reject> {
    match (host, port) {
        (Host::Ip(ip), None) => routable(Indicator::Ip(ip)),
        (Host::Ip(ip), Some(port)) => routable(Indicator::Endpoint(ip, port)),
        (Host::Domain(name), _) => Ok(Indicator::Domain(name)),
    }
}

/// Tells whether a URL path is `/digits`, which a trail file would read as the prefix length
/// of an IPv4 block.
fn is_prefix_length(path: &str) -> bool {
    path.strip_prefix('/')
        .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|byte| byte.is_ascii_digit()))
}

/// Lower-cases and validates a domain name.
///
/// Labels are ASCII letters, digits, `-` and `_` (malware uses underscores), or Unicode
/// letters and digits, which trail loading encodes as `xn--`. A single-label name is not an
/// indicator, and neither is a name whose last label is all digits, which is a mistyped
/// IPv4 address such as `182.86.133`.
fn normalize_domain(text: &str) -> Result<String, Reject> {
    let name = text.strip_suffix('.').unwrap_or(text).to_lowercase();
    if name.len() > MAX_NAME_LEN {
        return Err(Reject::InvalidDomain("longer than 253 bytes"));
    }

    let mut labels = 0;
    let mut last_all_digits = false;
    for label in name.split('.') {
        if label.is_empty() {
            return Err(Reject::InvalidDomain("has an empty label"));
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(Reject::InvalidDomain("has a label longer than 63 bytes"));
        }
        if !label
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        {
            return Err(Reject::InvalidDomain(
                "contains a character not valid in a name",
            ));
        }

        labels += 1;
        last_all_digits = label.bytes().all(|byte| byte.is_ascii_digit());
    }

    if labels < 2 {
        return Err(Reject::InvalidDomain("has a single label"));
    }
    if last_all_digits {
        return Err(Reject::InvalidDomain("ends in an all-digit label"));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any(text: &str) -> Result<String, Reject> {
        parse_any(text).map(|indicator| indicator.to_string())
    }

    fn url(text: &str) -> Result<String, Reject> {
        parse_url(text).map(|indicator| indicator.to_string())
    }

    #[test]
    fn ipv4_is_address() {
        assert_eq!(any("198.51.100.7"), Ok("198.51.100.7".to_owned()));
    }

    #[test]
    fn ipv6_is_compressed() {
        assert_eq!(any("2001:0db8:0000::0001"), Ok("2001:db8::1".to_owned()));
    }

    #[test]
    fn mapped_ipv6_becomes_ipv4() {
        assert_eq!(any("::ffff:198.51.100.7"), Ok("198.51.100.7".to_owned()));
    }

    #[test]
    fn endpoint_keeps_port() {
        assert_eq!(any("198.51.100.7:443"), Ok("198.51.100.7:443".to_owned()));
    }

    #[test]
    fn ipv6_endpoint_is_bracketed() {
        assert_eq!(any("[2001:db8::1]:443"), Ok("[2001:db8::1]:443".to_owned()));
    }

    #[test]
    fn cidr_host_bits_are_cleared() {
        assert_eq!(any("203.0.113.77/24"), Ok("203.0.113.0/24".to_owned()));
    }

    #[test]
    fn full_length_cidr_is_address() {
        assert_eq!(any("203.0.113.77/32"), Ok("203.0.113.77".to_owned()));
    }

    #[test]
    fn cidr_prefix_too_long_is_rejected() {
        assert_eq!(any("203.0.113.0/33"), Err(Reject::InvalidPrefix));
    }

    #[test]
    fn private_address_is_rejected() {
        assert!(matches!(any("10.9.71.2"), Err(Reject::NonRoutable(_))));
    }

    #[test]
    fn private_endpoint_is_rejected() {
        assert!(matches!(
            any("192.168.1.1:8080"),
            Err(Reject::NonRoutable(_))
        ));
    }

    #[test]
    fn domain_is_lower_cased() {
        assert_eq!(any("Evil.Example.COM"), Ok("evil.example.com".to_owned()));
    }

    #[test]
    fn domain_port_is_dropped() {
        assert_eq!(
            any("evil.example.com:8080"),
            Ok("evil.example.com".to_owned())
        );
    }

    #[test]
    fn absolute_domain_loses_dot() {
        assert_eq!(any("evil.example.com."), Ok("evil.example.com".to_owned()));
    }

    #[test]
    fn single_label_is_rejected() {
        assert!(matches!(any("localhost"), Err(Reject::InvalidDomain(_))));
    }

    #[test]
    fn three_part_number_is_rejected() {
        assert!(matches!(any("182.86.133"), Err(Reject::InvalidDomain(_))));
    }

    #[test]
    fn ip_lookalike_domain_is_domain() {
        assert_eq!(
            any("192.168.112.2o7.net"),
            Ok("192.168.112.2o7.net".to_owned())
        );
    }

    #[test]
    fn empty_label_is_rejected() {
        assert!(matches!(
            any("www..example.com"),
            Err(Reject::InvalidDomain(_))
        ));
    }

    #[test]
    fn url_scheme_is_stripped() {
        assert_eq!(
            any("HTTP://Evil.Example.com/Gate.php?id=1"),
            Ok("evil.example.com/Gate.php?id=1".to_owned())
        );
    }

    #[test]
    fn url_port_is_kept() {
        assert_eq!(
            url("http://198.51.100.7:8080/bins/x86"),
            Ok("198.51.100.7:8080/bins/x86".to_owned())
        );
    }

    #[test]
    fn url_fragment_and_user_are_dropped() {
        assert_eq!(
            url("https://user:pw@evil.example.com/login#top"),
            Ok("evil.example.com/login".to_owned())
        );
    }

    #[test]
    fn url_without_path_is_host() {
        assert_eq!(
            url("http://evil.example.com/"),
            Ok("evil.example.com".to_owned())
        );
    }

    #[test]
    fn url_with_query_only_gets_slash() {
        assert_eq!(
            url("http://evil.example.com?x=1"),
            Ok("evil.example.com/?x=1".to_owned())
        );
    }

    #[test]
    fn url_on_private_host_is_rejected() {
        assert!(matches!(
            url("http://192.168.0.10/x.sh"),
            Err(Reject::NonRoutable(_))
        ));
    }

    #[test]
    fn url_like_cidr_is_rejected() {
        assert_eq!(url("http://198.51.100.7/24"), Err(Reject::AmbiguousUrl));
    }

    #[test]
    fn ftp_url_is_rejected() {
        assert_eq!(
            any("ftp://files.example.com/x"),
            Err(Reject::UnsupportedScheme("ftp".to_owned()))
        );
    }

    #[test]
    fn scheme_without_host_is_rejected() {
        assert_eq!(url("http:///x"), Err(Reject::MissingHost));
    }

    #[test]
    fn zone_index_is_link_local() {
        assert!(matches!(any("fe80::1%lo0"), Err(Reject::NonRoutable(_))));
    }

    #[test]
    fn inner_space_is_rejected() {
        assert_eq!(any("evil example.com"), Err(Reject::Whitespace));
    }

    #[test]
    fn sha1_is_not_indicator() {
        assert!(any("2e3519b7cb61a3cd6167f727df993f68311085ea").is_err());
    }

    #[test]
    fn address_parser_rejects_domain() {
        assert_eq!(parse_address("evil.example.com"), Err(Reject::NotAnAddress));
    }

    #[test]
    fn domain_parser_rejects_address() {
        assert!(parse_domain("198.51.100.7").is_err());
    }

    #[test]
    fn unicode_domain_is_lowered() {
        assert_eq!(any("Bücher.example"), Ok("bücher.example".to_owned()));
    }

    #[test]
    fn overlong_text_is_rejected() {
        let text = format!("evil.example.com/{}", "a".repeat(MAX_INDICATOR_LEN));

        assert_eq!(any(&text), Err(Reject::TooLong));
    }
}
