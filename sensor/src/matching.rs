//! Trail lookups for what the inspector extracted, and how each hit is shown in the log.
//!
//! Event types keep Maltrail's names. An address hit is `IP`, an address with port `IPORT`,
//! and a `host/path` or `/path` hit `URL`. A domain hit is `DNS`, also when the name came
//! from a TLS server name or an HTTP Host header, and then the protocol is TCP.

use std::borrow::Cow;
use std::fmt::Write as _;
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
/// `path` is the request target's path and query, as [`target_text`] renders it.
pub fn url(trails: &TrailSet, host: &str, path: &str) -> Option<Detection> {
    let hit = trails.lookup_url(host, path)?;
    let mut trail = format_url_trail(host, path, &hit);
    if trail.len() > MAX_URL_TRAIL_BYTES {
        let cut = escape_safe_cut(&trail, MAX_URL_TRAIL_BYTES - 3);
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

/// Renders the exact bytes of a request target as text for matching and for the log. UTF-8
/// characters are kept, and every byte that is not part of one, and CR, becomes `\xHH`, so no
/// part of the target is dropped. Other control characters are kept here because the log line
/// escapes them the same way. Borrows `raw` when there is nothing to escape.
///
/// NOTE: a backslash is not doubled, so a target that contains the text `\xe9` renders like
/// one that contains the byte 0xE9.
pub fn target_text(raw: &[u8]) -> Cow<'_, str> {
    if let Ok(text) = std::str::from_utf8(raw) {
        if !text.contains('\r') {
            return Cow::Borrowed(text);
        }
    }

    let mut text = String::with_capacity(raw.len() * 2);
    for chunk in raw.utf8_chunks() {
        for part in chunk.valid().split_inclusive('\r') {
            match part.strip_suffix('\r') {
                Some(before) => {
                    text.push_str(before);
                    text.push_str("\\x0d");
                }
                None => text.push_str(part),
            }
        }
        for byte in chunk.invalid() {
            let _ = write!(text, "\\x{byte:02x}");
        }
    }
    Cow::Owned(text)
}

/// Returns the largest cut at or before `max` that splits neither a UTF-8 character nor a
/// `\xHH` escape of [`target_text`].
fn escape_safe_cut(text: &str, max: usize) -> usize {
    let mut cut = max.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }

    // An escape is four ASCII bytes, so one that the cut splits starts at most three bytes
    // before it. A backslash that the path itself contains may move the cut too, which only
    // makes the trail a few bytes shorter.
    let bytes = text.as_bytes();
    for start in cut.saturating_sub(3)..cut {
        if bytes[start] == b'\\' && bytes.get(start + 1) == Some(&b'x') && start + 4 > cut {
            return start;
        }
    }
    cut
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

    #[test]
    fn target_text_escapes_invalid_bytes() {
        assert_eq!(
            target_text(b"/gate.php?a\xe9b\xffc"),
            r"/gate.php?a\xe9b\xffc"
        );
        assert_eq!(target_text(b"/a\xc0\xafb"), r"/a\xc0\xafb");
        assert_eq!(target_text(b"/a\rb"), r"/a\x0db");
    }

    #[test]
    fn target_text_keeps_valid_text() {
        let text = target_text("/caf\u{e9}?q=\u{1b}[2J\\x".as_bytes());
        assert!(matches!(text, Cow::Borrowed(_)));
        assert_eq!(text, "/caf\u{e9}?q=\u{1b}[2J\\x");
    }

    #[test]
    fn cut_never_splits_escape() {
        let text = r"ab\xe9\xe9";
        assert_eq!(escape_safe_cut(text, 2), 2);
        for max in 3..=5 {
            assert_eq!(escape_safe_cut(text, max), 2, "max {max}");
        }
        assert_eq!(escape_safe_cut(text, 6), 6);
        assert_eq!(escape_safe_cut(text, 7), 6);
        assert_eq!(escape_safe_cut(text, 10), 10);
    }

    #[test]
    fn cut_never_splits_character() {
        let text = "ab\u{e9}";
        assert_eq!(escape_safe_cut(text, 3), 2);
        assert_eq!(escape_safe_cut(text, 4), 4);
    }
}
