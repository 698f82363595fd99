//! Host names and addresses as written in trail and whitelist lines.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::indicator::LineError;
use crate::punycode;

/// Maximum length of a domain name in its text form (RFC 1035, 255 octets on the wire).
pub(crate) const MAX_NAME_LEN: usize = 253;

/// Maximum length of one label (RFC 1035).
pub(crate) const MAX_LABEL_LEN: usize = 63;

/// A host part: an address, or a validated lower-case ASCII domain name.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Host<'a> {
    Ip(IpAddr),
    Domain(Cow<'a, str>),
}

/// Maps an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) to its IPv4 form.
///
/// Packets carry such a peer as IPv4, so trails, whitelist entries and lookups all use this
/// form.
pub(crate) fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        IpAddr::V4(_) => ip,
    }
}

/// Parses `host`, `host:port`, an IPv6 address, or `[IPv6]:port`.
///
/// A port of 0 is rejected because no connection uses it.
pub(crate) fn parse_host_port(text: &str) -> Result<(Host<'_>, Option<u16>), LineError> {
    if let Some(rest) = text.strip_prefix('[') {
        let (address, after) = rest.split_once(']').ok_or(LineError::InvalidIpv6)?;
        let ip = address
            .parse::<Ipv6Addr>()
            .map_err(|_| LineError::InvalidIpv6)?;
        let port = match after {
            "" => None,
            _ => Some(parse_port(
                after.strip_prefix(':').ok_or(LineError::InvalidPort)?,
            )?),
        };
        return Ok((Host::Ip(canonical_ip(IpAddr::V6(ip))), port));
    }

    let Some(colon) = text.rfind(':') else {
        // Without a colon the text is IPv4 or a domain, and an IPv4 address ends in a digit.
        if text.ends_with(|c: char| c.is_ascii_digit()) {
            if let Ok(v4) = text.parse::<Ipv4Addr>() {
                return Ok((Host::Ip(IpAddr::V4(v4)), None));
            }
        }
        return Ok((Host::Domain(normalize_domain(text)?), None));
    };

    if let Ok(v6) = text.parse::<Ipv6Addr>() {
        return Ok((Host::Ip(canonical_ip(IpAddr::V6(v6))), None));
    }

    let (host, port) = (&text[..colon], parse_port(&text[colon + 1..])?);
    if let Ok(v4) = host.parse::<Ipv4Addr>() {
        return Ok((Host::Ip(IpAddr::V4(v4)), Some(port)));
    }
    Ok((Host::Domain(normalize_domain(host)?), Some(port)))
}

fn parse_port(text: &str) -> Result<u16, LineError> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(LineError::InvalidPort);
    }

    match text.parse::<u16>() {
        Ok(0) | Err(_) => Err(LineError::InvalidPort),
        Ok(port) => Ok(port),
    }
}

/// Lower-cases and validates a domain name, encoding internationalised labels as `xn--`.
///
/// One trailing dot (the absolute form `evil.com.`) is dropped. Labels may contain ASCII
/// letters, digits, `-` and `_`: underscores break the host name rules of RFC 952, but DNS
/// carries them and malware uses them (`ns_1.chanenergy.com`). A name whose last label is all
/// digits is rejected, because it is a mistyped IPv4 address (`182.86.133`), not a domain.
///
/// NOTE: Unicode labels are lower-cased and punycode-encoded, but not NFC-normalised or mapped
/// as UTS #46 prescribes, so a trail in decomposed form will not match its wire form.
pub(crate) fn normalize_domain(text: &str) -> Result<Cow<'_, str>, LineError> {
    let text = text.strip_suffix('.').unwrap_or(text);

    let name = if !text.is_ascii() {
        Cow::Owned(encode_international(text)?)
    } else if text.bytes().any(|byte| byte.is_ascii_uppercase()) {
        Cow::Owned(text.to_ascii_lowercase())
    } else {
        Cow::Borrowed(text)
    };

    validate_ascii_name(&name)?;
    Ok(name)
}

fn validate_ascii_name(name: &str) -> Result<(), LineError> {
    if name.len() > MAX_NAME_LEN {
        return Err(LineError::NameTooLong);
    }

    let mut label_len = 0;
    let mut label_all_digits = true;
    for &byte in name.as_bytes() {
        if byte == b'.' {
            if label_len == 0 {
                return Err(LineError::EmptyLabel);
            }
            label_len = 0;
            label_all_digits = true;
            continue;
        }

        if !is_label_byte(byte) {
            return Err(LineError::InvalidCharacter(char::from(byte)));
        }
        label_len += 1;
        label_all_digits &= byte.is_ascii_digit();
        if label_len > MAX_LABEL_LEN {
            return Err(LineError::LabelTooLong);
        }
    }

    if label_len == 0 {
        return Err(LineError::EmptyLabel);
    }
    if label_all_digits {
        return Err(LineError::NumericTld);
    }
    Ok(())
}

fn is_label_byte(byte: u8) -> bool {
    byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-' || byte == b'_'
}

/// Lower-cases every label and encodes each label that is not ASCII.
fn encode_international(text: &str) -> Result<String, LineError> {
    let mut name = String::with_capacity(text.len() * 2);

    for (index, label) in text.split('.').enumerate() {
        if index > 0 {
            name.push('.');
        }

        if label.is_ascii() {
            name.push_str(&label.to_ascii_lowercase());
            continue;
        }

        let lower = label.to_lowercase();
        if let Some(bad) = lower
            .chars()
            .find(|&c| !(c.is_alphanumeric() || c == '-' || c == '_'))
        {
            return Err(LineError::InvalidCharacter(bad));
        }
        name.push_str(&punycode::encode_label(&lower).ok_or(LineError::LabelTooLong)?);
    }

    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain(text: &str) -> Result<String, LineError> {
        normalize_domain(text).map(Cow::into_owned)
    }

    #[test]
    fn domain_is_lower_cased() {
        assert_eq!(domain("dingtaIk.tk"), Ok("dingtaik.tk".to_owned()));
    }

    #[test]
    fn absolute_domain_loses_trailing_dot() {
        assert_eq!(domain("evil.com."), Ok("evil.com".to_owned()));
    }

    #[test]
    fn underscore_label_is_accepted() {
        assert_eq!(
            domain("ns_1.chanenergy.com"),
            Ok("ns_1.chanenergy.com".to_owned())
        );
    }

    #[test]
    fn single_label_is_accepted() {
        assert_eq!(domain("wpad"), Ok("wpad".to_owned()));
    }

    #[test]
    fn unicode_domain_becomes_ace_form() {
        assert_eq!(domain("München.de"), Ok("xn--mnchen-3ya.de".to_owned()));
    }

    #[test]
    fn symbol_in_unicode_domain_is_rejected() {
        assert_eq!(
            domain("support¬forum.org"),
            Err(LineError::InvalidCharacter('¬'))
        );
    }

    #[test]
    fn numeric_last_label_is_rejected() {
        assert_eq!(domain("c91.196.152.28"), Err(LineError::NumericTld));
    }

    #[test]
    fn empty_label_is_rejected() {
        assert_eq!(domain("evil..com"), Err(LineError::EmptyLabel));
    }

    #[test]
    fn long_label_is_rejected() {
        let name = format!("{}.com", "a".repeat(64));

        assert_eq!(domain(&name), Err(LineError::LabelTooLong));
    }

    #[test]
    fn long_name_is_rejected() {
        let name = ["a".repeat(60).as_str(); 5].join(".");

        assert_eq!(domain(&name), Err(LineError::NameTooLong));
    }

    #[test]
    fn percent_sign_is_rejected() {
        assert_eq!(domain("ev%il.com"), Err(LineError::InvalidCharacter('%')));
    }

    #[test]
    fn ipv4_with_port_parses() {
        let expected = (Host::Ip(IpAddr::V4(Ipv4Addr::new(1, 2, 3, 4))), Some(443));

        assert_eq!(parse_host_port("1.2.3.4:443"), Ok(expected));
    }

    #[test]
    fn bracketed_ipv6_with_port_parses() {
        let ip: IpAddr = "2001:db8::66".parse().unwrap();

        assert_eq!(
            parse_host_port("[2001:db8::66]:443"),
            Ok((Host::Ip(ip), Some(443)))
        );
    }

    #[test]
    fn bare_ipv6_parses_without_port() {
        let ip: IpAddr = "2001:db8::1".parse().unwrap();

        assert_eq!(parse_host_port("2001:db8::1"), Ok((Host::Ip(ip), None)));
    }

    #[test]
    fn mapped_ipv6_becomes_ipv4() {
        let ip = IpAddr::V4(Ipv4Addr::new(45, 62, 198, 73));

        assert_eq!(
            parse_host_port("[0:0:0:0:0:ffff:2d3e:c649]:53"),
            Ok((Host::Ip(ip), Some(53)))
        );
    }

    #[test]
    fn domain_port_is_returned() {
        let expected = (Host::Domain(Cow::Borrowed("evil.com")), Some(8080));

        assert_eq!(parse_host_port("evil.com:8080"), Ok(expected));
    }

    #[test]
    fn port_zero_is_rejected() {
        assert_eq!(parse_host_port("1.2.3.4:0"), Err(LineError::InvalidPort));
    }

    #[test]
    fn port_above_range_is_rejected() {
        assert_eq!(
            parse_host_port("1.2.3.4:65536"),
            Err(LineError::InvalidPort)
        );
    }

    #[test]
    fn short_dotted_quad_is_rejected() {
        assert_eq!(
            parse_host_port("182.86.133:8880"),
            Err(LineError::NumericTld)
        );
    }
}
