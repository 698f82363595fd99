//! Event filters: first checked on index entries, then on the parsed line where needed.

use std::net::IpAddr;

use super::entry::{self, Entry, TYPE_OTHER};
use super::fields::LineView;
use super::needle::{Needle, TextNeedles};
use super::severity::Severity;
use crate::net::IpNet;

/// The conditions an event must meet; `None` or empty means no condition.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub src: Option<IpNet>,
    pub dst: Option<IpNet>,
    /// Matches either port.
    pub port: Option<u16>,
    /// IP protocol number.
    pub proto: Option<u8>,
    /// Trail type name in upper case, such as `DNS`.
    pub trail_type: Option<String>,
    /// Case-insensitive substring of the trail, stored in lower case.
    pub trail: Option<String>,
    /// Case-insensitive substring of the info, stored in lower case.
    pub info: Option<String>,
    /// Minimum severity.
    pub severity: Option<Severity>,
    /// Case-insensitive substring of the whole line, stored in lower case.
    pub text: Option<String>,
    /// Exact trail, as used by the trail pivot.
    pub trail_exact: Option<String>,
    /// The user's networks: the source or the destination must lie in one. Empty means all.
    pub scope: Vec<IpNet>,
}

/// Outcome of checking an index entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Reject,
    Accept,
    /// The entry alone cannot decide; check the parsed line.
    NeedLine,
}

impl Filter {
    /// Returns whether the filter lets every event through.
    pub fn is_empty(&self) -> bool {
        let Filter {
            src,
            dst,
            port,
            proto,
            trail_type,
            trail,
            info,
            severity,
            text,
            trail_exact,
            scope,
        } = self;
        src.is_none()
            && dst.is_none()
            && port.is_none()
            && proto.is_none()
            && trail_type.is_none()
            && trail.is_none()
            && info.is_none()
            && severity.is_none()
            && text.is_none()
            && trail_exact.is_none()
            && scope.is_empty()
    }

    /// Checks the fields an index entry carries.
    pub fn check_entry(&self, entry: &Entry) -> Verdict {
        let mut verdict = Verdict::Accept;

        if let Some(minimum) = self.severity {
            if entry.severity() < minimum {
                return Verdict::Reject;
            }
        }
        if let Some(port) = self.port {
            if entry.src_port != port && entry.dst_port != port {
                return Verdict::Reject;
            }
        }
        if let Some(proto) = self.proto {
            if entry.proto != proto {
                return Verdict::Reject;
            }
        }
        if let Some(name) = &self.trail_type {
            let code = entry::type_code(name);
            if code == TYPE_OTHER && entry.type_code() == TYPE_OTHER {
                verdict = Verdict::NeedLine;
            } else if code != entry.type_code() {
                return Verdict::Reject;
            }
        }

        for (net, key, is_v4) in [
            (&self.src, entry.src, entry.src_is_v4()),
            (&self.dst, entry.dst, entry.dst_is_v4()),
        ] {
            let Some(net) = net else { continue };
            match address_verdict(net, key, is_v4) {
                Verdict::Reject => return Verdict::Reject,
                Verdict::NeedLine => verdict = Verdict::NeedLine,
                Verdict::Accept => {}
            }
        }

        if !self.scope.is_empty() {
            match self.scope_verdict(entry) {
                Verdict::Reject => return Verdict::Reject,
                Verdict::NeedLine => verdict = Verdict::NeedLine,
                Verdict::Accept => {}
            }
        }

        if self.trail.is_some()
            || self.info.is_some()
            || self.text.is_some()
            || self.trail_exact.is_some()
        {
            verdict = Verdict::NeedLine;
        }
        verdict
    }

    fn scope_verdict(&self, entry: &Entry) -> Verdict {
        let mut verdict = Verdict::Reject;
        for net in &self.scope {
            for (key, is_v4) in [
                (entry.src, entry.src_is_v4()),
                (entry.dst, entry.dst_is_v4()),
            ] {
                match address_verdict(net, key, is_v4) {
                    Verdict::Accept => return Verdict::Accept,
                    Verdict::NeedLine => verdict = Verdict::NeedLine,
                    Verdict::Reject => {}
                }
            }
        }
        verdict
    }

    /// Builds the searches of the substring conditions, for [`Filter::check_line_with`].
    pub fn needles(&self) -> TextNeedles {
        let build = |lower: &Option<String>| lower.as_deref().map(Needle::new);
        TextNeedles {
            trail: build(&self.trail),
            info: build(&self.info),
            text: build(&self.text),
        }
    }

    /// Checks every condition on the parsed line; `raw` is the line as stored in the file.
    pub fn check_line(&self, line: &LineView, raw: &str) -> bool {
        self.check_line_with(&self.needles(), line, raw)
    }

    /// Checks like [`Filter::check_line`] with the `needles` of this filter built beforehand.
    pub fn check_line_with(&self, needles: &TextNeedles, line: &LineView, raw: &str) -> bool {
        // Parsing addresses costs more than the text checks, so only filters on them do it.
        let addresses = self.src.is_some() || self.dst.is_some() || !self.scope.is_empty();
        let (src, dst) = if addresses {
            (
                line.src_ip.parse::<IpAddr>().ok(),
                line.dst_ip.parse::<IpAddr>().ok(),
            )
        } else {
            (None, None)
        };
        let in_net = |net: &IpNet, ip: Option<IpAddr>| ip.is_some_and(|ip| net.contains(ip));
        let (info, _) = line.info_and_repeats();

        if let Some(minimum) = self.severity {
            if Severity::classify(&line.trail_type, info, &line.reference) < minimum {
                return false;
            }
        }
        if let Some(port) = self.port {
            let port = Some(port);
            if line.src_port.parse().ok() != port && line.dst_port.parse().ok() != port {
                return false;
            }
        }
        if self
            .proto
            .is_some_and(|proto| entry::proto_code(&line.proto) != proto)
        {
            return false;
        }
        if self
            .trail_type
            .as_ref()
            .is_some_and(|name| !line.trail_type.eq_ignore_ascii_case(name))
        {
            return false;
        }
        if self.src.as_ref().is_some_and(|net| !in_net(net, src))
            || self.dst.as_ref().is_some_and(|net| !in_net(net, dst))
        {
            return false;
        }
        if !self.scope.is_empty()
            && !self
                .scope
                .iter()
                .any(|net| in_net(net, src) || in_net(net, dst))
        {
            return false;
        }

        if self
            .trail_exact
            .as_ref()
            .is_some_and(|trail| *trail != *line.trail)
        {
            return false;
        }
        let lacks = |needle: &Option<Needle>, haystack: &str| {
            needle
                .as_ref()
                .is_some_and(|needle| !needle.is_in(haystack))
        };
        !(lacks(&needles.trail, &line.trail)
            || lacks(&needles.info, info)
            || lacks(&needles.text, raw))
    }
}

/// Decides whether the address behind an index key lies in `net`.
fn address_verdict(net: &IpNet, key: u32, is_v4: bool) -> Verdict {
    match (is_v4, net.is_v4()) {
        (true, true) if net.contains_v4(key) => Verdict::Accept,
        (true, _) => Verdict::Reject,
        // An IPv6 text may be IPv4-mapped, which an IPv4 network contains, so read the line.
        (false, _) => Verdict::NeedLine,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::severity::SeverityCache;

    const LINE: &str = "\"2026-01-15 12:00:00.000000\" s1 10.1.2.3 4444 198.51.100.7 80 TCP URL \
                        \"evil.test/x\" \"emotet (malware)\" feed\n";

    fn check(filter: &Filter) -> (Verdict, bool) {
        let line = LineView::parse(LINE).unwrap();
        let entry = Entry::new(0, &line, &mut SeverityCache::default());
        (filter.check_entry(&entry), filter.check_line(&line, LINE))
    }

    #[test]
    fn index_fields_decide_without_line() {
        let matching = Filter {
            src: Some("10.0.0.0/8".parse().unwrap()),
            port: Some(80),
            proto: Some(6),
            severity: Some(Severity::High),
            ..Filter::default()
        };
        let other_port = Filter {
            port: Some(443),
            ..Filter::default()
        };

        assert_eq!(check(&matching), (Verdict::Accept, true));
        assert_eq!(check(&other_port), (Verdict::Reject, false));
    }

    #[test]
    fn text_filters_need_line() {
        let matching = Filter {
            trail: Some("evil".to_string()),
            info: Some("emotet".to_string()),
            text: Some("feed".to_string()),
            ..Filter::default()
        };
        let missing = Filter {
            trail: Some("good".to_string()),
            ..Filter::default()
        };

        assert_eq!(check(&matching), (Verdict::NeedLine, true));
        assert_eq!(check(&missing), (Verdict::NeedLine, false));
    }

    #[test]
    fn scope_matches_either_address() {
        let by_dst = Filter {
            scope: vec!["198.51.100.0/24".parse().unwrap()],
            ..Filter::default()
        };
        let outside = Filter {
            scope: vec!["192.0.2.0/24".parse().unwrap(), "fd00::/8".parse().unwrap()],
            ..Filter::default()
        };

        assert_eq!(check(&by_dst), (Verdict::Accept, true));
        assert_eq!(check(&outside), (Verdict::Reject, false));
    }

    #[test]
    fn v6_address_checked_on_line() {
        let text = LINE.replace("198.51.100.7", "::ffff:198.51.100.7");
        let line = LineView::parse(&text).unwrap();
        let entry = Entry::new(0, &line, &mut SeverityCache::default());
        let filter = Filter {
            dst: Some("198.51.100.0/24".parse().unwrap()),
            ..Filter::default()
        };

        assert_eq!(filter.check_entry(&entry), Verdict::NeedLine);
        assert!(filter.check_line(&line, &text));
    }
}
