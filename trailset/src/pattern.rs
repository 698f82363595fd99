//! Regular-expression trails, matched against whole domain names.
//!
//! Each pattern is anchored at both ends and compiled case-insensitively, without Unicode
//! classes because names arrive in their ASCII wire form. All patterns form one `RegexSet`, so
//! a name is scanned once however many patterns exist.

use regex::bytes::{RegexBuilder, RegexSet, RegexSetBuilder};

use crate::indicator::LineError;
use crate::ip_table::FxHashMap;
use crate::source::Source;
use crate::SourceId;

/// The compiled patterns of a trail set.
#[derive(Clone, Debug)]
pub(crate) struct PatternSet {
    set: RegexSet,
    sources: Vec<SourceId>,
}

impl PatternSet {
    /// Finds the source of the first matching pattern from a custom file, or else of the first
    /// matching pattern.
    ///
    /// A miss does not allocate: only after `is_match` succeeds does `matches` build its list.
    pub(crate) fn lookup(&self, name: &[u8], sources: &[Source]) -> Option<SourceId> {
        if !self.set.is_match(name) {
            return None;
        }

        let matches = self.set.matches(name);
        let is_custom = |id: &SourceId| sources.get(id.0 as usize).is_some_and(|s| s.custom);

        let mut first = None;
        for index in matches.iter() {
            let source = *self.sources.get(index)?;
            if is_custom(&source) {
                return Some(source);
            }
            first = first.or(Some(source));
        }
        first
    }

    /// Estimates the heap bytes, because the regex crate does not expose the size of its
    /// automata.
    pub(crate) fn memory_bytes(&self) -> usize {
        let text: usize = self.set.patterns().iter().map(String::len).sum();
        text * 16 + self.sources.capacity() * size_of::<SourceId>()
    }
}

/// Patterns collected while loading, each validated on its own so that one bad pattern
/// becomes a bad line instead of failing the set.
#[derive(Debug, Default)]
pub(crate) struct PatternBuilder {
    anchored: Vec<String>,
    sources: Vec<SourceId>,
    index: FxHashMap<String, usize>,
}

impl PatternBuilder {
    /// Adds a pattern as written and returns `true` if it was new. For a pattern already
    /// present, `resolve` picks the source to keep.
    pub(crate) fn insert(
        &mut self,
        text: &str,
        source: SourceId,
        resolve: impl FnOnce(SourceId) -> SourceId,
    ) -> Result<bool, LineError> {
        if let Some(&position) = self.index.get(text) {
            self.sources[position] = resolve(self.sources[position]);
            return Ok(false);
        }

        let anchored = anchor(text);
        configure(&mut RegexBuilder::new(&anchored))
            .build()
            .map_err(|error| LineError::InvalidPattern(error_summary(&error.to_string())))?;

        self.index.insert(text.to_owned(), self.anchored.len());
        self.anchored.push(anchored);
        self.sources.push(source);
        Ok(true)
    }

    pub(crate) fn build(self) -> Result<Option<PatternSet>, regex::Error> {
        if self.anchored.is_empty() {
            return Ok(None);
        }

        let set = RegexSetBuilder::new(&self.anchored)
            .case_insensitive(true)
            .unicode(false)
            .build()?;
        Ok(Some(PatternSet {
            set,
            sources: self.sources,
        }))
    }
}

fn anchor(text: &str) -> String {
    format!("^(?:{text})$")
}

fn configure(builder: &mut RegexBuilder) -> &mut RegexBuilder {
    builder.case_insensitive(true).unicode(false)
}

/// Returns the last line of a regex crate error message. The message spans several lines
/// with a caret diagram, and its last line states the error.
fn error_summary(message: &str) -> String {
    message
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or(message)
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(custom: &[bool]) -> Vec<Source> {
        custom
            .iter()
            .map(|&custom| Source {
                info: "x".into(),
                custom,
            })
            .collect()
    }

    fn keep(stored: SourceId) -> SourceId {
        stored
    }

    fn set(patterns: &[(&str, u32)]) -> PatternSet {
        let mut builder = PatternBuilder::default();
        for (text, source) in patterns {
            builder.insert(text, SourceId(*source), keep).unwrap();
        }
        builder.build().unwrap().unwrap()
    }

    #[test]
    fn pattern_matches_whole_name() {
        let set = set(&[(r"backdates[0-9]{1,2}\.(com|net)", 0)]);

        assert_eq!(
            set.lookup(b"backdates12.net", &sources(&[false])),
            Some(SourceId(0))
        );
    }

    #[test]
    fn pattern_is_anchored_at_start() {
        let set = set(&[(r"backdates[0-9]{1,2}\.(com|net)", 0)]);

        assert_eq!(set.lookup(b"xbackdates12.net", &sources(&[false])), None);
    }

    #[test]
    fn pattern_is_anchored_at_end() {
        let set = set(&[(r"backdates[0-9]{1,2}\.(com|net)", 0)]);

        assert_eq!(
            set.lookup(b"backdates12.net.example", &sources(&[false])),
            None
        );
    }

    #[test]
    fn pattern_ignores_case() {
        let set = set(&[(r"vh[0-9]{6}\.eurodir\.ru", 0)]);

        assert_eq!(
            set.lookup(b"VH123456.eurodir.ru", &sources(&[false])),
            Some(SourceId(0))
        );
    }

    #[test]
    fn pattern_with_own_anchors_compiles() {
        let set = set(&[(r"^leboncoin\-[a-z]{1,3}\.(com|info|me|top)$", 0)]);

        assert_eq!(
            set.lookup(b"leboncoin-ab.top", &sources(&[false])),
            Some(SourceId(0))
        );
    }

    #[test]
    fn custom_pattern_wins_over_earlier_static() {
        let set = set(&[(r"evil[0-9]\.com", 0), (r"evil.\.com", 1)]);

        assert_eq!(
            set.lookup(b"evil1.com", &sources(&[false, true])),
            Some(SourceId(1))
        );
    }

    #[test]
    fn invalid_pattern_is_rejected() {
        let mut builder = PatternBuilder::default();

        let result = builder.insert(r"(unclosed\.com", SourceId(0), keep);
        assert!(matches!(result, Err(LineError::InvalidPattern(_))));
    }

    #[test]
    fn repeated_pattern_is_not_new() {
        let mut builder = PatternBuilder::default();
        builder.insert(r"a+\.com", SourceId(0), keep).unwrap();

        assert_eq!(builder.insert(r"a+\.com", SourceId(1), keep), Ok(false));
    }
}
