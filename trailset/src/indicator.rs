//! Classification of one trail line into an indicator kind.

use std::borrow::Cow;
use std::net::IpAddr;

use crate::host::{self, Host};
use crate::text_table::MAX_KEY_LEN;

/// Characters at which a URL path prefix may end. Trails lose them at their end.
pub(crate) const PATH_DELIMITERS: &[u8] = b"/?&=";

/// One indicator, normalised to the form that lookups compare against.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Indicator<'a> {
    Ip(IpAddr),
    IpPort(IpAddr, u16),
    /// A network address with its host bits cleared, and the prefix length.
    Cidr(IpAddr, u8),
    /// A lower-case ASCII name that also matches its subdomains.
    Domain(Cow<'a, str>),
    /// A leading-dot trail such as `.cc`, stored without the dot.
    Tld(Cow<'a, str>),
    /// `host` + path: lower-case, without scheme and port, without trailing delimiters.
    Url(String),
    /// A bare path starting with `/`, ASCII lower-cased, without trailing delimiters.
    Path(Cow<'a, str>),
    /// A regular expression to match against whole names, as written.
    Pattern(&'a str),
}

/// The reason a trail line cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LineError {
    #[error("is not valid UTF-8")]
    InvalidUtf8,
    #[error("contains whitespace")]
    Whitespace,
    #[error("contains {0:?}, which is not valid in a host name")]
    InvalidCharacter(char),
    #[error("has an empty label")]
    EmptyLabel,
    #[error("has a label longer than 63 bytes")]
    LabelTooLong,
    #[error("is longer than 253 bytes, the maximum for a domain name")]
    NameTooLong,
    #[error("ends in an all-digit label, so it is neither an IPv4 address nor a domain name")]
    NumericTld,
    #[error("has an invalid port (expected 1-65535)")]
    InvalidPort,
    #[error("has an invalid IPv6 address in brackets")]
    InvalidIpv6,
    #[error("has a CIDR prefix length beyond the address size")]
    InvalidPrefix,
    #[error("uses the scheme {0}://, but only http:// and https:// URLs can be matched")]
    UnsupportedScheme(String),
    #[error("is a URL without a host")]
    MissingHost,
    #[error("is the path /, which would match every request")]
    RootPath,
    #[error("is longer than 4095 bytes, the maximum for a URL trail")]
    TextTooLong,
    #[error("is not a valid regular expression: {0}")]
    InvalidPattern(String),
}

/// Classifies the indicator text of one line (already trimmed and without comments).
pub(crate) fn classify(text: &str) -> Result<Indicator<'_>, LineError> {
    let (rest, has_scheme) = match strip_scheme(text) {
        Some(rest) => (rest, true),
        None => (text, false),
    };
    let shape = scan(rest)?;
    if rest.is_empty() {
        return Err(LineError::MissingHost);
    }

    match shape.first_slash {
        Some(0) if has_scheme => Err(LineError::MissingHost),
        Some(0) => bare_path(rest),
        Some(slash) => {
            let (host_port, path) = rest.split_at(slash);
            if let Some(scheme) = host_port
                .strip_suffix(':')
                .filter(|_| path.starts_with("//"))
            {
                return Err(LineError::UnsupportedScheme(scheme.to_owned()));
            }
            if !has_scheme {
                if let Some(cidr) = parse_cidr(host_port, &path[1..]) {
                    return cidr;
                }
            }
            url(host_port, path)
        }
        None if has_scheme => host_trail(rest),
        None => host_or_pattern(rest, shape.has_pattern_characters),
    }
}

/// Properties of a line, found in one pass over its bytes.
struct Shape {
    first_slash: Option<usize>,
    has_pattern_characters: bool,
}

/// Rejects whitespace and control characters and notes the bytes that steer classification.
fn scan(text: &str) -> Result<Shape, LineError> {
    let mut shape = Shape {
        first_slash: None,
        has_pattern_characters: false,
    };
    let mut non_ascii = false;

    for (index, &byte) in text.as_bytes().iter().enumerate() {
        match byte {
            b'/' if shape.first_slash.is_none() => shape.first_slash = Some(index),
            // These mark a line without `/` as a regular expression over names.
            b'[' | b']' | b'(' | b')' | b'{' | b'}' | b'\\' | b'*' | b'+' | b'?' | b'^' | b'$'
            | b'|' => shape.has_pattern_characters = true,
            b' ' | b'\t' | b'\n' | b'\r' | 0x0c => return Err(LineError::Whitespace),
            0..=0x1f | 0x7f => return Err(LineError::InvalidCharacter(char::from(byte))),
            0x80..=0xff => non_ascii = true,
            _ => {}
        }
    }

    if non_ascii {
        if text.contains(char::is_whitespace) {
            return Err(LineError::Whitespace);
        }
        if let Some(control) = text.chars().find(|c| c.is_control()) {
            return Err(LineError::InvalidCharacter(control));
        }
    }
    Ok(shape)
}

fn strip_scheme(text: &str) -> Option<&str> {
    ["http://", "https://"].iter().find_map(|scheme| {
        let head = text.get(..scheme.len())?;
        head.eq_ignore_ascii_case(scheme)
            .then(|| &text[scheme.len()..])
    })
}

/// Returns `None` unless the text is `address/digits`, so `1.2.3.4/x.php` stays a URL.
fn parse_cidr(address: &str, prefix: &str) -> Option<Result<Indicator<'static>, LineError>> {
    if prefix.is_empty() || !prefix.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let ip = address.parse::<IpAddr>().ok()?;

    let max = match ip {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    };
    let prefix = match prefix.parse::<u8>() {
        Ok(prefix) if prefix <= max => prefix,
        _ => return Some(Err(LineError::InvalidPrefix)),
    };

    let (network, prefix) = crate::ip_table::canonical_network(ip, prefix);
    Some(Ok(Indicator::Cidr(network, prefix)))
}

fn bare_path(path: &str) -> Result<Indicator<'_>, LineError> {
    let trimmed = trim_path(path);
    if trimmed.is_empty() {
        return Err(LineError::RootPath);
    }
    if trimmed.len() > MAX_KEY_LEN {
        return Err(LineError::TextTooLong);
    }

    if trimmed.bytes().any(|byte| byte.is_ascii_uppercase()) {
        return Ok(Indicator::Path(Cow::Owned(trimmed.to_ascii_lowercase())));
    }
    Ok(Indicator::Path(Cow::Borrowed(trimmed)))
}

/// Builds a URL trail from `host[:port]` and a path that starts with `/`.
///
/// The port is dropped because URL lookups receive the host without it. A URL with nothing
/// after the host (`http://158.69.57.135/`) becomes a host trail.
fn url<'a>(host_port: &'a str, path: &str) -> Result<Indicator<'a>, LineError> {
    let path = trim_path(path);
    if path.is_empty() {
        return host_trail(host_port);
    }

    let (host, _port) = host::parse_host_port(host_port)?;
    let mut key = match host {
        Host::Ip(IpAddr::V4(v4)) => v4.to_string(),
        Host::Ip(IpAddr::V6(v6)) => format!("[{v6}]"),
        Host::Domain(name) => name.into_owned(),
    };
    key.push_str(path);
    key.make_ascii_lowercase();

    if key.len() > MAX_KEY_LEN {
        return Err(LineError::TextTooLong);
    }
    Ok(Indicator::Url(key))
}

/// Builds an address, endpoint or domain trail. A domain drops its port, because names are
/// looked up without one.
fn host_trail(text: &str) -> Result<Indicator<'_>, LineError> {
    match host::parse_host_port(text)? {
        (Host::Ip(ip), None) => Ok(Indicator::Ip(ip)),
        (Host::Ip(ip), Some(port)) => Ok(Indicator::IpPort(ip, port)),
        (Host::Domain(name), _) => Ok(Indicator::Domain(name)),
    }
}

fn host_or_pattern(text: &str, has_pattern_characters: bool) -> Result<Indicator<'_>, LineError> {
    if text.starts_with('[') && is_bracketed_ipv6(text) {
        return host_trail(text);
    }
    if has_pattern_characters {
        return Ok(Indicator::Pattern(text));
    }
    if let Some(name) = text.strip_prefix('.') {
        return Ok(Indicator::Tld(host::normalize_domain(name)?));
    }
    host_trail(text)
}

/// Tells `[2001:db8::1]:443` apart from a pattern such as `[a-z]{10}\.evil\.ru`.
fn is_bracketed_ipv6(text: &str) -> bool {
    text.strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
        .is_some_and(|(address, _)| address.parse::<std::net::Ipv6Addr>().is_ok())
}

/// Drops trailing path delimiters, so `evil.com/panel/` and a request for `/panel/x` meet at
/// the prefix `/panel`.
pub(crate) fn trim_path(path: &str) -> &str {
    path.trim_end_matches(|c: char| c.is_ascii() && PATH_DELIMITERS.contains(&(c as u8)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(a, b, c, d))
    }

    fn v6(text: &str) -> IpAddr {
        IpAddr::V6(text.parse::<Ipv6Addr>().unwrap())
    }

    fn borrowed(text: &str) -> Cow<'_, str> {
        Cow::Borrowed(text)
    }

    #[test]
    fn ipv4_line_is_address() {
        assert_eq!(classify("1.2.3.4"), Ok(Indicator::Ip(v4(1, 2, 3, 4))));
    }

    #[test]
    fn ipv6_line_is_address() {
        assert_eq!(
            classify("2001:db8::1"),
            Ok(Indicator::Ip(v6("2001:db8::1")))
        );
    }

    #[test]
    fn ipv4_port_line_is_endpoint() {
        assert_eq!(
            classify("1.2.3.4:443"),
            Ok(Indicator::IpPort(v4(1, 2, 3, 4), 443))
        );
    }

    #[test]
    fn ipv6_port_line_is_endpoint() {
        let expected = Indicator::IpPort(v6("2001:db8::66"), 443);

        assert_eq!(classify("[2001:db8::66]:443"), Ok(expected));
    }

    #[test]
    fn ipv4_cidr_line_is_block() {
        assert_eq!(
            classify("5.63.151.0/24"),
            Ok(Indicator::Cidr(v4(5, 63, 151, 0), 24))
        );
    }

    #[test]
    fn cidr_host_bits_are_cleared() {
        assert_eq!(
            classify("5.63.151.7/24"),
            Ok(Indicator::Cidr(v4(5, 63, 151, 0), 24))
        );
    }

    #[test]
    fn ipv6_cidr_line_is_block() {
        assert_eq!(
            classify("2001:db8::/32"),
            Ok(Indicator::Cidr(v6("2001:db8::"), 32))
        );
    }

    #[test]
    fn cidr_prefix_beyond_size_is_bad() {
        assert_eq!(classify("1.2.3.0/33"), Err(LineError::InvalidPrefix));
    }

    #[test]
    fn domain_line_is_domain() {
        assert_eq!(
            classify("evil.com"),
            Ok(Indicator::Domain(borrowed("evil.com")))
        );
    }

    #[test]
    fn upper_case_domain_is_lowered() {
        let expected = Indicator::Domain(Cow::Owned("citingsecurity.com".to_owned()));

        assert_eq!(classify("CitingSecurity.com"), Ok(expected));
    }

    #[test]
    fn tld_line_loses_dot() {
        assert_eq!(classify(".cc"), Ok(Indicator::Tld(borrowed("cc"))));
    }

    #[test]
    fn host_path_line_is_url() {
        let expected = Indicator::Url("evil.com/gate.php".to_owned());

        assert_eq!(classify("evil.com/gate.php"), Ok(expected));
    }

    #[test]
    fn url_port_is_dropped() {
        let expected = Indicator::Url("evil.com/x.php".to_owned());

        assert_eq!(classify("evil.com:8080/x.php"), Ok(expected));
    }

    #[test]
    fn url_with_ip_host() {
        assert_eq!(
            classify("1.2.3.4/x"),
            Ok(Indicator::Url("1.2.3.4/x".to_owned()))
        );
    }

    #[test]
    fn url_path_is_lower_cased() {
        let expected = Indicator::Url("evil.com/admin/gate.php".to_owned());

        assert_eq!(classify("Evil.com/Admin/Gate.php"), Ok(expected));
    }

    #[test]
    fn url_trailing_delimiters_are_dropped() {
        let expected = Indicator::Url("evil.com/index.php?page".to_owned());

        assert_eq!(classify("evil.com/index.php?page="), Ok(expected));
    }

    #[test]
    fn scheme_is_stripped_from_url() {
        let expected = Indicator::Url("47.91.56.21/verify.php".to_owned());

        assert_eq!(classify("http://47.91.56.21/verify.php"), Ok(expected));
    }

    #[test]
    fn https_scheme_is_stripped() {
        let expected = Indicator::Url("evil.com/x".to_owned());

        assert_eq!(classify("HTTPS://evil.com/x"), Ok(expected));
    }

    #[test]
    fn scheme_with_host_only_is_ip() {
        assert_eq!(
            classify("http://158.69.57.135"),
            Ok(Indicator::Ip(v4(158, 69, 57, 135)))
        );
    }

    #[test]
    fn scheme_host_slash_is_domain() {
        assert_eq!(
            classify("http://evil.com/"),
            Ok(Indicator::Domain(borrowed("evil.com")))
        );
    }

    #[test]
    fn scheme_ip_port_is_endpoint() {
        let expected = Indicator::IpPort(v4(1, 2, 3, 4), 8080);

        assert_eq!(classify("http://1.2.3.4:8080/"), Ok(expected));
    }

    #[test]
    fn bare_path_line_is_path() {
        assert_eq!(
            classify("/gate.php"),
            Ok(Indicator::Path(borrowed("/gate.php")))
        );
    }

    #[test]
    fn bare_path_keeps_inner_slashes() {
        let expected = Indicator::Path(borrowed("/mstealer/logs"));

        assert_eq!(classify("/mstealer/logs/"), Ok(expected));
    }

    #[test]
    fn path_with_pattern_characters_is_literal() {
        assert_eq!(
            classify("/(null).arm"),
            Ok(Indicator::Path(borrowed("/(null).arm")))
        );
    }

    #[test]
    fn root_path_is_bad() {
        assert_eq!(classify("/"), Err(LineError::RootPath));
    }

    #[test]
    fn regex_line_is_pattern() {
        let text = r"backdates[0-9]{1,2}\.(com|net)";

        assert_eq!(classify(text), Ok(Indicator::Pattern(text)));
    }

    #[test]
    fn bracket_pattern_is_not_ipv6() {
        let text = r"[a-z0-9]{10}\.temp\.swtest\.ru";

        assert_eq!(classify(text), Ok(Indicator::Pattern(text)));
    }

    #[test]
    fn inner_space_is_bad() {
        assert_eq!(classify("/Consulta FGTS.js"), Err(LineError::Whitespace));
    }

    #[test]
    fn control_character_is_bad() {
        assert_eq!(
            classify("/gate\u{0}.php"),
            Err(LineError::InvalidCharacter('\0'))
        );
    }

    #[test]
    fn invalid_character_is_bad() {
        assert_eq!(
            classify("support¬forum.org"),
            Err(LineError::InvalidCharacter('¬'))
        );
    }

    #[test]
    fn scheme_without_host_is_bad() {
        assert_eq!(classify("http://"), Err(LineError::MissingHost));
    }

    #[test]
    fn ftp_url_is_bad() {
        let expected = LineError::UnsupportedScheme("ftp".to_owned());

        assert_eq!(classify("ftp://ftp.fasttradeco.com"), Err(expected));
    }

    #[test]
    fn tab_inside_is_bad() {
        assert_eq!(classify("evil.com\tx"), Err(LineError::Whitespace));
    }

    #[test]
    fn unicode_space_inside_is_bad() {
        assert_eq!(classify("/a\u{3000}b.apk"), Err(LineError::Whitespace));
    }

    #[test]
    fn non_ascii_path_is_kept() {
        assert_eq!(
            classify("/Госуслуги.apk"),
            Ok(Indicator::Path(borrowed("/Госуслуги.apk")))
        );
    }

    #[test]
    fn url_with_pattern_host_is_bad() {
        assert_eq!(
            classify("ev(il).com/x"),
            Err(LineError::InvalidCharacter('('))
        );
    }

    #[test]
    fn overlong_url_is_bad() {
        let text = format!("evil.com/{}", "a".repeat(MAX_KEY_LEN));

        assert_eq!(classify(&text), Err(LineError::TextTooLong));
    }
}
