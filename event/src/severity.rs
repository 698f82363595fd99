//! Severity of an event: `low`, `medium` or `high`, derived from its info, reference and trail
//! type.
//!
//! The rules keep the spirit of the severity column in Maltrail's web interface
//! (`html/js/main.js`, 2025): a list the operator wrote is high, malware words are high,
//! Internet background noise (scanners, bad reputation, spammers) is low, and anything else is
//! medium. The words and the order below are trailwatch's own.
//!
//! The first rule whose words occur in the field wins. Words match as ASCII case-insensitive
//! substrings, so `malware` matches `Emotet (Malware)`.
//!
//! | #  | Field     | Words                                                             | Level  |
//! |----|-----------|-------------------------------------------------------------------|--------|
//! | 1  | reference | `(custom)`, `(remote custom)`                                     | high   |
//! | 2  | info      | `scanner` (as in `mass scanner`), `scanning`, `crawler`           | low    |
//! | 3  | info      | `potential`, `suspicious`, `malware distribution`, `malware site` | medium |
//! | 4  | info      | `malware`, `ransomware`, `adversary`, `botnet`                    | high   |
//! | 5  | info      | `reputation`, `attacker`, `spammer`, `compromised`                | low    |
//! | 6  | none      | every other event, such as `(malicious)` phishing trails          | medium |
//!
//! Two adjustments then lower the level found above:
//!
//! - A reference containing `(heuristic)` marks the sensor's own guess rather than a hit on a
//!   published list, so the level drops one step (high to medium, medium to low).
//! - A `PORT` trail matched a destination port alone, which is weak evidence about the peer,
//!   so it is at most medium.
//!
//! Step 2 comes before step 4 so that `potential port scanning (malware)` stays low, and step 3
//! comes before step 4 so that hedged texts such as `potential malware site` stay medium.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::event::{Event, TrailType};

/// Urgency of an event, ordered from [`Severity::Low`] to [`Severity::High`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Low,
    Medium,
    High,
}

/// A severity name other than `low`, `medium` or `high`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid severity {value:?}: expected low, medium or high")]
pub struct ParseSeverityError {
    /// The text that failed to parse.
    pub value: String,
}

/// Reference words of lists the operator maintains (step 1).
const CUSTOM_REFERENCES: &[&str] = &["(custom)", "(remote custom)"];

/// Info words of scans and crawls (step 2).
const NOISE_WORDS: &[&str] = &["scanner", "scanning", "crawler"];

/// Info words that hedge a claim (step 3).
const HEDGE_WORDS: &[&str] = &[
    "potential",
    "suspicious",
    "malware distribution",
    "malware site",
];

/// Info words of malware and targeted attacks (step 4).
const MALWARE_WORDS: &[&str] = &["malware", "ransomware", "adversary", "botnet"];

/// Info words of reputation lists (step 5).
const REPUTATION_WORDS: &[&str] = &["reputation", "attacker", "spammer", "compromised"];

/// Reference word of events the sensor's heuristics raised.
const HEURISTIC_REFERENCE: &str = "(heuristic)";

impl Severity {
    /// Every level, from low to high.
    pub const ALL: [Severity; 3] = [Severity::Low, Severity::Medium, Severity::High];

    /// Returns the lowercase name: `low`, `medium` or `high`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }

    /// Derives the severity of an event from its fields, by the rules in the module
    /// documentation.
    pub fn classify(info: &str, reference: &str, trail_type: TrailType) -> Severity {
        let mut severity = base_severity(info, reference);

        if contains_ignore_case(reference, HEURISTIC_REFERENCE) {
            severity = severity.lowered();
        }
        if trail_type == TrailType::Port {
            severity = severity.min(Severity::Medium);
        }

        severity
    }

    /// Returns the level one step below, or `Low` for `Low`.
    const fn lowered(self) -> Severity {
        match self {
            Severity::High => Severity::Medium,
            Severity::Medium | Severity::Low => Severity::Low,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = ParseSeverityError;

    /// Parses `low`, `medium` or `high`, ignoring ASCII case.
    fn from_str(value: &str) -> Result<Severity, ParseSeverityError> {
        Severity::ALL
            .into_iter()
            .find(|level| level.as_str().eq_ignore_ascii_case(value))
            .ok_or_else(|| ParseSeverityError {
                value: value.to_owned(),
            })
    }
}

impl Event {
    /// Returns the severity of this event (see [`Severity::classify`]).
    pub fn severity(&self) -> Severity {
        Severity::classify(&self.info, &self.reference, self.trail_type)
    }
}

/// Applies steps 1 to 6 of the rule table.
fn base_severity(info: &str, reference: &str) -> Severity {
    let steps: [(&str, &[&str], Severity); 5] = [
        (reference, CUSTOM_REFERENCES, Severity::High),
        (info, NOISE_WORDS, Severity::Low),
        (info, HEDGE_WORDS, Severity::Medium),
        (info, MALWARE_WORDS, Severity::High),
        (info, REPUTATION_WORDS, Severity::Low),
    ];

    for (field, words, severity) in steps {
        if words.iter().any(|word| contains_ignore_case(field, word)) {
            return severity;
        }
    }
    Severity::Medium
}

/// Tests whether `haystack` contains `needle`, ignoring ASCII case, without allocating.
fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    let needle = needle.as_bytes();
    haystack
        .as_bytes()
        .windows(needle.len())
        .any(|window| window.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(info: &str, reference: &str) -> Severity {
        Severity::classify(info, reference, TrailType::Dns)
    }

    #[test]
    fn levels_are_ordered() {
        assert!(Severity::Low < Severity::Medium);
        assert!(Severity::Medium < Severity::High);
    }

    #[test]
    fn names_round_trip() {
        for level in Severity::ALL {
            assert_eq!(level.to_string().parse::<Severity>(), Ok(level));
        }
    }

    #[test]
    fn parse_ignores_ascii_case() {
        assert_eq!("HIGH".parse::<Severity>(), Ok(Severity::High));
        assert_eq!("Medium".parse::<Severity>(), Ok(Severity::Medium));
    }

    #[test]
    fn parse_error_names_value() {
        let error = "urgent".parse::<Severity>().unwrap_err();

        assert_eq!(error.value, "urgent");
        assert_eq!(
            error.to_string(),
            "invalid severity \"urgent\": expected low, medium or high"
        );
    }

    #[test]
    fn custom_reference_is_high() {
        assert_eq!(classify("mass scanner", "(custom)"), Severity::High);
        assert_eq!(classify("watchlist", "(Remote Custom)"), Severity::High);
    }

    #[test]
    fn scanners_and_crawlers_are_low() {
        assert_eq!(classify("mass scanner", "(static)"), Severity::Low);
        assert_eq!(classify("shodan (scanner)", "feed"), Severity::Low);
        assert_eq!(
            classify("potential port scanning (malware)", "x"),
            Severity::Low
        );
        assert_eq!(classify("crawler", "x"), Severity::Low);
    }

    #[test]
    fn hedged_info_is_medium() {
        assert_eq!(classify("potential malware site", "x"), Severity::Medium);
        assert_eq!(classify("malware distribution", "x"), Severity::Medium);
        assert_eq!(
            classify("ipinfo (suspicious)", "(static)"),
            Severity::Medium
        );
    }

    #[test]
    fn malware_words_are_high() {
        assert_eq!(classify("emotet (Malware)", "(static)"), Severity::High);
        assert_eq!(classify("lockbit (ransomware)", "x"), Severity::High);
        assert_eq!(classify("apt28 (adversary)", "x"), Severity::High);
        assert_eq!(classify("mirai botnet", "x"), Severity::High);
    }

    #[test]
    fn reputation_lists_are_low() {
        assert_eq!(classify("bad reputation", "x"), Severity::Low);
        assert_eq!(classify("known attacker", "blocklist.de"), Severity::Low);
        assert_eq!(classify("spammer", "x"), Severity::Low);
        assert_eq!(classify("compromised host", "x"), Severity::Low);
    }

    #[test]
    fn malware_word_beats_reputation_word() {
        assert_eq!(classify("compromised (malware)", "x"), Severity::High);
    }

    #[test]
    fn other_info_is_medium() {
        assert_eq!(
            classify("gophish (malicious)", "(static)"),
            Severity::Medium
        );
        assert_eq!(classify("", ""), Severity::Medium);
    }

    #[test]
    fn heuristic_lowers_one_step() {
        assert_eq!(
            classify("sinkhole response (malware)", "(heuristic)"),
            Severity::Medium
        );
        assert_eq!(
            classify("long domain (suspicious)", "(heuristic)"),
            Severity::Low
        );
        assert_eq!(classify("crawler", "(heuristic)"), Severity::Low);
    }

    #[test]
    fn port_trail_is_at_most_medium() {
        let port = |info, reference| Severity::classify(info, reference, TrailType::Port);

        assert_eq!(port("trojan port (malware)", "x"), Severity::Medium);
        assert_eq!(port("anything", "(custom)"), Severity::Medium);
        assert_eq!(port("mass scanner", "x"), Severity::Low);
    }

    #[test]
    fn event_severity_uses_its_fields() {
        let event = Event {
            time: crate::time::Timestamp::default(),
            sensor: std::sync::Arc::from("edge1"),
            src_ip: std::net::Ipv4Addr::LOCALHOST.into(),
            src_port: None,
            dst_ip: std::net::Ipv4Addr::LOCALHOST.into(),
            dst_port: None,
            proto: crate::event::Proto::Udp,
            trail_type: TrailType::Dns,
            trail: "evil.example".to_owned(),
            info: "emotet (malware)".to_owned(),
            reference: "(heuristic)".to_owned(),
            repeats: 0,
        };

        assert_eq!(event.severity(), Severity::Medium);
    }
}
