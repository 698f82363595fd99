//! Severity of an event, derived from its trail type and info text.
//!
//! Neither trailwatch's nor Maltrail's log line carries a severity, so the viewer derives one
//! from keywords that trail lists put in the info field ("malware", "suspicious", ...).

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

/// Severity levels, ordered so that a minimum filter compares with `>=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Low = 1,
    Medium = 2,
    High = 3,
}

/// Info keywords that mark a high-severity event: malware and its infrastructure.
const HIGH_KEYWORDS: [&str; 9] = [
    "malware",
    "ransomware",
    "trojan",
    "botnet",
    "backdoor",
    "c&c",
    "c2",
    "exploit",
    "sinkhole",
];

/// Info keywords that mark a medium-severity event: hostile but not confirmed malicious.
const MEDIUM_KEYWORDS: [&str; 8] = [
    "attacker",
    "suspicious",
    "phishing",
    "scanner",
    "spammer",
    "potential",
    "crawler",
    "mass scanner",
];

impl Severity {
    /// Classifies an event by case-insensitive keywords in `info`. A DNS or URL hit whose info
    /// has no keyword is medium, because a named trail rarely matches by chance; everything
    /// else is low.
    pub fn classify(trail_type: &str, info: &str) -> Severity {
        keyword_severity(info).unwrap_or_else(|| Severity::by_type(trail_type))
    }

    fn by_type(trail_type: &str) -> Severity {
        match trail_type {
            "DNS" | "URL" => Severity::Medium,
            _ => Severity::Low,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }

    /// Returns the level stored in two bits of an index entry.
    pub(crate) fn from_bits(bits: u8) -> Severity {
        match bits {
            3 => Severity::High,
            2 => Severity::Medium,
            _ => Severity::Low,
        }
    }
}

/// Returns the severity that keywords in `info` imply, if any.
fn keyword_severity(info: &str) -> Option<Severity> {
    let info = info.to_ascii_lowercase();
    if HIGH_KEYWORDS.iter().any(|word| contains_word(&info, word)) {
        return Some(Severity::High);
    }
    if MEDIUM_KEYWORDS.iter().any(|word| info.contains(word)) {
        return Some(Severity::Medium);
    }
    None
}

/// Distinct info texts remembered by a [`SeverityCache`]. Trail lists repeat a few hundred
/// descriptions, so this covers a day's infos while bounding what hostile text can add.
const MAX_CACHED_INFOS: usize = 4096;

/// Keyword results by info text, so that indexing a file classifies each distinct info once.
#[derive(Debug, Default)]
pub struct SeverityCache {
    by_info: HashMap<String, Option<Severity>>,
}

impl SeverityCache {
    /// Returns [`Severity::classify`] of the arguments.
    pub fn classify(&mut self, trail_type: &str, info: &str) -> Severity {
        let keyword = match self.by_info.get(info) {
            Some(keyword) => *keyword,
            None => {
                let keyword = keyword_severity(info);
                if self.by_info.len() < MAX_CACHED_INFOS {
                    self.by_info.insert(info.to_string(), keyword);
                }
                keyword
            }
        };
        keyword.unwrap_or_else(|| Severity::by_type(trail_type))
    }
}

/// Returns whether `word` occurs in `text` with no letter or digit right before or after it, so
/// that "c2" does not match inside "abc23".
fn contains_word(text: &str, word: &str) -> bool {
    let bytes = text.as_bytes();
    text.match_indices(word).any(|(start, _)| {
        let end = start + word.len();
        let before_ok = start == 0 || !bytes[start - 1].is_ascii_alphanumeric();
        let after_ok = end == bytes.len() || !bytes[end].is_ascii_alphanumeric();
        before_ok && after_ok
    })
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = ();

    fn from_str(text: &str) -> Result<Severity, ()> {
        match text {
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            _ => Err(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malware_info_is_high() {
        assert_eq!(Severity::classify("IP", "emotet (malware)"), Severity::High);
        assert_eq!(
            Severity::classify("DNS", "Cobalt Strike C2"),
            Severity::High
        );
    }

    #[test]
    fn attacker_info_is_medium() {
        assert_eq!(Severity::classify("IP", "known attacker"), Severity::Medium);
    }

    #[test]
    fn plain_ip_hit_is_low() {
        assert_eq!(Severity::classify("IP", "bad reputation"), Severity::Low);
        assert_eq!(
            Severity::classify("DNS", "dynamic domain"),
            Severity::Medium
        );
    }

    #[test]
    fn cache_matches_classify() {
        let mut cache = SeverityCache::default();
        for (kind, info) in [
            ("IP", "x (malware)"),
            ("DNS", "x (malware)"),
            ("DNS", "y"),
            ("IP", "y"),
        ] {
            assert_eq!(
                cache.classify(kind, info),
                Severity::classify(kind, info),
                "{kind} {info}"
            );
        }
    }

    #[test]
    fn keyword_inside_word_ignored() {
        assert_eq!(Severity::classify("IP", "abc23 list"), Severity::Low);
    }
}
