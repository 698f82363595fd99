//! The result of parsing one feed body, and the collector that builds it.

use std::collections::HashSet;

use super::indicator::{Indicator, Reject};

/// Maximum number of skipped entries kept in [`Parsed::first_skipped`], enough to see what
/// went wrong without holding a whole broken feed in memory.
pub const MAX_FIRST_SKIPPED: usize = 20;

/// Maximum length, in characters, of an entry quoted in a skip message.
const MAX_QUOTED_CHARS: usize = 80;

/// The indicators of one feed body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    /// Unique indicators in trail-file syntax, in the order they first appear.
    pub indicators: Vec<String>,
    /// Entries dropped: malformed or not indicators, in a non-routable range, or filtered
    /// out by a status column. Repeats of an indicator already kept are not counted.
    pub skipped: usize,
    /// The first [`MAX_FIRST_SKIPPED`] skipped entries as (line number from 1, message). For
    /// a JSON array the number is the element's position from 1.
    pub first_skipped: Vec<(usize, String)>,
}

/// Gathers indicators and skips while a format parser walks a body.
#[derive(Default)]
pub(crate) struct Collector {
    parsed: Parsed,
    seen: HashSet<String>,
    /// Entries met: indicators kept or repeated, and entries skipped.
    entries: usize,
    /// Entries that were well-formed indicators, whether kept, repeated or dropped on
    /// purpose. Zero of them among many entries means the body has another format.
    well_formed: usize,
}

impl Collector {
    /// Records the outcome of one entry: the indicator, or why `text` is not one.
    pub(crate) fn record(&mut self, line: usize, text: &str, outcome: Result<Indicator, Reject>) {
        match outcome {
            Ok(indicator) => self.keep(indicator),
            Err(reject) => {
                let well_formed = reject.is_well_formed();
                self.skip(line, text, &reject.to_string(), well_formed);
            }
        }
    }

    /// Records one indicator, once however often it repeats.
    pub(crate) fn keep(&mut self, indicator: Indicator) {
        self.entries += 1;
        self.well_formed += 1;

        let text = indicator.to_string();
        if self.seen.insert(text.clone()) {
            self.parsed.indicators.push(text);
        }
    }

    /// Records a skipped entry. `well_formed` marks a valid indicator dropped on purpose (by a
    /// status filter), as opposed to text that is not an indicator at all.
    pub(crate) fn skip(&mut self, line: usize, text: &str, reason: &str, well_formed: bool) {
        self.entries += 1;
        self.well_formed += usize::from(well_formed);
        self.parsed.skipped += 1;

        if self.parsed.first_skipped.len() < MAX_FIRST_SKIPPED {
            let message = format!("{} {reason}", quote(text));
            self.parsed.first_skipped.push((line, message));
        }
    }

    /// Returns the number of entries met so far.
    pub(crate) fn entries(&self) -> usize {
        self.entries
    }

    /// Tells whether entries were met but none of them was a well-formed indicator.
    pub(crate) fn has_no_indicator_entries(&self) -> bool {
        self.entries > 0 && self.well_formed == 0
    }

    pub(crate) fn finish(self) -> Parsed {
        self.parsed
    }
}

/// Quotes an entry for a message, cut to [`MAX_QUOTED_CHARS`].
fn quote(text: &str) -> String {
    match text.char_indices().nth(MAX_QUOTED_CHARS) {
        Some((end, _)) => format!("{:?}...", &text[..end]),
        None => format!("{text:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain(name: &str) -> Indicator {
        Indicator::Domain(name.to_owned())
    }

    #[test]
    fn repeated_indicator_is_kept_once() {
        let mut collector = Collector::default();
        collector.keep(domain("evil.example.com"));
        collector.keep(domain("evil.example.com"));

        assert_eq!(collector.finish().indicators, ["evil.example.com"]);
    }

    #[test]
    fn repeat_is_not_skipped() {
        let mut collector = Collector::default();
        collector.keep(domain("evil.example.com"));
        collector.keep(domain("evil.example.com"));

        assert_eq!(collector.finish().skipped, 0);
    }

    #[test]
    fn skip_message_quotes_entry() {
        let mut collector = Collector::default();
        collector.skip(7, "bad entry", "contains whitespace", false);

        let expected = (7, "\"bad entry\" contains whitespace".to_owned());
        assert_eq!(collector.finish().first_skipped, [expected]);
    }

    #[test]
    fn skip_messages_are_capped() {
        let mut collector = Collector::default();
        for line in 0..MAX_FIRST_SKIPPED + 5 {
            collector.skip(line, "x", "is bad", false);
        }

        assert_eq!(collector.finish().first_skipped.len(), MAX_FIRST_SKIPPED);
    }

    #[test]
    fn skips_past_cap_are_counted() {
        let mut collector = Collector::default();
        for line in 0..MAX_FIRST_SKIPPED + 5 {
            collector.skip(line, "x", "is bad", false);
        }

        assert_eq!(collector.finish().skipped, MAX_FIRST_SKIPPED + 5);
    }

    #[test]
    fn long_entry_is_cut_in_message() {
        let mut collector = Collector::default();
        collector.skip(1, &"a".repeat(500), "is bad", false);

        let (_, message) = &collector.finish().first_skipped[0];
        assert!(message.len() < 100, "{message}");
    }

    #[test]
    fn only_malformed_entries_mean_wrong_format() {
        let mut collector = Collector::default();
        collector.skip(1, "x", "is bad", false);

        assert!(collector.has_no_indicator_entries());
    }

    #[test]
    fn filtered_entry_is_well_formed() {
        let mut collector = Collector::default();
        collector.skip(1, "198.51.100.7", "has status offline", true);

        assert!(!collector.has_no_indicator_entries());
    }
}
