//! Severity of an event, as the sensor's outputs derive it.
//!
//! Neither trailwatch's nor Maltrail's log line carries a severity, so the viewer derives one
//! with the rules of [`trailwatch_event::Severity::classify`] (its module documents them as a
//! table), from the info and reference fields and the trail type. The viewer, the syslog CEF
//! output and the webhook therefore agree on every event's level.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use trailwatch_event::TrailType;

/// Severity levels, ordered so that a minimum filter compares with `>=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Low = 1,
    Medium = 2,
    High = 3,
}

impl From<trailwatch_event::Severity> for Severity {
    fn from(severity: trailwatch_event::Severity) -> Severity {
        match severity {
            trailwatch_event::Severity::Low => Severity::Low,
            trailwatch_event::Severity::Medium => Severity::Medium,
            trailwatch_event::Severity::High => Severity::High,
        }
    }
}

impl Severity {
    /// Classifies an event by its type field, info text and reference.
    pub fn classify(trail_type: &str, info: &str, reference: &str) -> Severity {
        // Of the trail types, the rules single out only PORT, which is at most medium.
        let kind = if trail_type == "PORT" {
            TrailType::Port
        } else {
            TrailType::Ip
        };
        trailwatch_event::Severity::classify(info, reference, kind).into()
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

/// Distinct (type, info, reference) triples remembered by a [`SeverityCache`]. Trail lists
/// repeat a few hundred descriptions, so this covers a day's events while bounding what
/// hostile text can add.
const MAX_CACHED_INFOS: usize = 4096;

/// Severities by type, info and reference, so that indexing a file classifies each distinct
/// triple once.
#[derive(Debug, Default)]
pub struct SeverityCache {
    by_fields: HashMap<(bool, String, String), Severity>,
}

impl SeverityCache {
    /// Returns [`Severity::classify`] of the arguments.
    pub fn classify(&mut self, trail_type: &str, info: &str, reference: &str) -> Severity {
        let key = (
            trail_type == "PORT",
            info.to_string(),
            reference.to_string(),
        );
        if let Some(severity) = self.by_fields.get(&key) {
            return *severity;
        }
        let severity = Severity::classify(trail_type, info, reference);
        if self.by_fields.len() < MAX_CACHED_INFOS {
            self.by_fields.insert(key, severity);
        }
        severity
    }
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
        assert_eq!(
            Severity::classify("IP", "emotet (malware)", "(static)"),
            Severity::High
        );
    }

    #[test]
    fn reputation_info_is_low() {
        assert_eq!(
            Severity::classify("IP", "bad reputation", "(static)"),
            Severity::Low
        );
    }

    #[test]
    fn heuristic_reference_lowers_level() {
        assert_eq!(
            Severity::classify("IP", "potential port scanning", "(heuristic)"),
            Severity::Low
        );
    }

    #[test]
    fn custom_list_is_high() {
        assert_eq!(
            Severity::classify("DNS", "internal blocklist", "(custom)"),
            Severity::High
        );
    }

    #[test]
    fn port_trail_at_most_medium() {
        assert_eq!(
            Severity::classify("PORT", "malware port", "(static)"),
            Severity::Medium
        );
    }

    #[test]
    fn cache_matches_classify() {
        let mut cache = SeverityCache::default();
        for (kind, info, reference) in [
            ("IP", "x (malware)", "(static)"),
            ("PORT", "x (malware)", "(static)"),
            ("DNS", "y", "(custom)"),
            ("DNS", "y", "(static)"),
        ] {
            assert_eq!(
                cache.classify(kind, info, reference),
                Severity::classify(kind, info, reference),
                "{kind} {info} {reference}"
            );
        }
    }
}
