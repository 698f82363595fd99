//! The trail text of a log line: the matched part bare, the rest in parentheses.

use crate::lookup::{DomainHit, UrlHit};

/// Renders a domain hit: `(www).evil.com` for the parent trail `evil.com`, `evil.com` for an
/// exact or pattern match, `(a.b).cc` for the TLD trail `.cc` on `a.b.cc`.
///
/// A hit that does not fit `name` (from a different name) renders the name bare.
pub fn format_domain_trail(name: &str, hit: &DomainHit) -> String {
    if hit.pattern || hit.matched_start == 0 {
        return name.to_owned();
    }

    let (Some(prefix), Some(matched)) =
        (name.get(..hit.matched_start), name.get(hit.matched_start..))
    else {
        return name.to_owned();
    };

    // A parent match starts after a dot and a TLD match starts at one. Either way the dot
    // goes outside the parentheses.
    let (prefix, matched) = match prefix.strip_suffix('.') {
        Some(prefix) => (prefix, &name[prefix.len()..]),
        None => (prefix, matched),
    };
    format!("({prefix}){matched}")
}

/// Renders a URL hit: `(www.)evil.com/gate.php(?id=1)` for the trail `evil.com/gate.php`, and
/// `(evil.com)/gate.php(?id=1)` for the bare path trail `/gate.php`.
///
/// A hit that does not fit `host` and `path` renders them joined, without parentheses.
pub fn format_url_trail(host: &str, path: &str, hit: &UrlHit) -> String {
    let parts = (
        host.get(..hit.host_start),
        host.get(hit.host_start..),
        path.get(..hit.path_end),
    );
    let (Some(host_prefix), Some(host_matched), Some(path_matched)) = parts else {
        return format!("{host}{path}");
    };
    let path_rest = &path[path_matched.len()..];

    let mut text = String::with_capacity(host.len() + path.len() + 4);
    if hit.bare_path {
        push_parenthesised(&mut text, host);
    } else {
        push_parenthesised(&mut text, host_prefix);
        text.push_str(host_matched);
    }
    text.push_str(path_matched);
    push_parenthesised(&mut text, path_rest);
    text
}

fn push_parenthesised(text: &mut String, part: &str) {
    if !part.is_empty() {
        text.push('(');
        text.push_str(part);
        text.push(')');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SourceId;

    fn domain_hit(matched_start: usize) -> DomainHit {
        DomainHit {
            source: SourceId(0),
            matched_start,
            pattern: false,
        }
    }

    fn url_hit(host_start: usize, path_end: usize, bare_path: bool) -> UrlHit {
        UrlHit {
            source: SourceId(0),
            host_start,
            path_end,
            bare_path,
        }
    }

    #[test]
    fn exact_domain_is_bare() {
        assert_eq!(format_domain_trail("evil.com", &domain_hit(0)), "evil.com");
    }

    #[test]
    fn parent_domain_wraps_subdomain() {
        assert_eq!(
            format_domain_trail("www.evil.com", &domain_hit(4)),
            "(www).evil.com"
        );
    }

    #[test]
    fn deep_parent_wraps_all_labels() {
        assert_eq!(
            format_domain_trail("a.b.evil.com", &domain_hit(4)),
            "(a.b).evil.com"
        );
    }

    #[test]
    fn tld_trail_wraps_name() {
        assert_eq!(format_domain_trail("a.b.cc", &domain_hit(3)), "(a.b).cc");
    }

    #[test]
    fn pattern_hit_is_bare() {
        let hit = DomainHit {
            source: SourceId(0),
            matched_start: 0,
            pattern: true,
        };

        assert_eq!(
            format_domain_trail("backdates12.net", &hit),
            "backdates12.net"
        );
    }

    #[test]
    fn foreign_domain_hit_renders_bare() {
        assert_eq!(format_domain_trail("a.cc", &domain_hit(40)), "a.cc");
    }

    #[test]
    fn url_with_subdomain_and_query() {
        let text = format_url_trail("www.evil.com", "/gate.php?id=1", &url_hit(4, 9, false));

        assert_eq!(text, "(www.)evil.com/gate.php(?id=1)");
    }

    #[test]
    fn exact_url_is_bare() {
        let text = format_url_trail("evil.com", "/gate.php", &url_hit(0, 9, false));

        assert_eq!(text, "evil.com/gate.php");
    }

    #[test]
    fn bare_path_wraps_host() {
        let text = format_url_trail("evil.com", "/gate.php?id=1", &url_hit(8, 9, true));

        assert_eq!(text, "(evil.com)/gate.php(?id=1)");
    }

    #[test]
    fn bare_path_without_host() {
        let text = format_url_trail("", "/gate.php", &url_hit(0, 9, true));

        assert_eq!(text, "/gate.php");
    }

    #[test]
    fn path_prefix_wraps_rest() {
        let text = format_url_trail("evil.com", "/panel/login.php", &url_hit(0, 6, false));

        assert_eq!(text, "evil.com/panel(/login.php)");
    }

    #[test]
    fn foreign_url_hit_renders_joined() {
        let text = format_url_trail("a.com", "/x", &url_hit(0, 50, false));

        assert_eq!(text, "a.com/x");
    }
}
