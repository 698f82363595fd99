//! Regular-expression trails, matched against whole domain names.
//!
//! Each pattern is anchored at both ends and compiled case-insensitively, without Unicode
//! classes because names arrive in their ASCII wire form. All patterns form one `RegexSet`, so
//! a name is scanned once however many patterns exist.

use regex::bytes::{RegexBuilder, RegexSet, RegexSetBuilder};

use crate::indicator::LineError;
use crate::ip_table::FxHashMap;

/// The compiled patterns of a trail set.
#[derive(Clone, Debug)]
pub(crate) struct PatternSet {
    set: RegexSet,
    /// The source reference of each pattern, in set order.
    references: Vec<u32>,
}

impl PatternSet {
    /// Compiles patterns as written, each with its source reference. Returns `None` for no
    /// patterns.
    pub(crate) fn compile<'a>(
        patterns: impl Iterator<Item = (&'a str, u32)>,
    ) -> Result<Option<PatternSet>, regex::Error> {
        let (anchored, references): (Vec<String>, Vec<u32>) = patterns
            .map(|(text, reference)| (anchor(text), reference))
            .unzip();
        if anchored.is_empty() {
            return Ok(None);
        }

        let set = RegexSetBuilder::new(&anchored)
            .case_insensitive(true)
            .unicode(false)
            .build()?;
        Ok(Some(PatternSet { set, references }))
    }

    /// Finds the reference of the first matching pattern whose reference `is_custom` accepts,
    /// or else of the first matching pattern.
    ///
    /// A miss does not allocate: only after `is_match` succeeds does `matches` build its list.
    pub(crate) fn lookup(&self, name: &[u8], is_custom: impl Fn(u32) -> bool) -> Option<u32> {
        if !self.set.is_match(name) {
            return None;
        }

        let matches = self.set.matches(name);
        let mut first = None;
        for index in matches.iter() {
            let reference = *self.references.get(index)?;
            if is_custom(reference) {
                return Some(reference);
            }
            first = first.or(Some(reference));
        }
        first
    }

    /// Estimates the heap bytes, because the regex crate does not expose the size of its
    /// automata.
    pub(crate) fn memory_bytes(&self) -> usize {
        let text: usize = self.set.patterns().iter().map(String::len).sum();
        text * 16 + self.references.capacity() * size_of::<u32>()
    }
}

/// Patterns collected while loading, each validated on its own so that one bad pattern
/// becomes a bad line instead of failing the set.
#[derive(Debug, Default)]
pub(crate) struct PatternBuilder {
    texts: Vec<String>,
    values: Vec<u32>,
    index: FxHashMap<String, usize>,
}

impl PatternBuilder {
    /// Adds a pattern as written and returns `true` if it was new. For a pattern already
    /// present, `resolve` picks the value to keep.
    pub(crate) fn insert(
        &mut self,
        text: &str,
        value: u32,
        resolve: impl FnOnce(u32) -> u32,
    ) -> Result<bool, LineError> {
        if let Some(&position) = self.index.get(text) {
            self.values[position] = resolve(self.values[position]);
            return Ok(false);
        }

        configure(&mut RegexBuilder::new(&anchor(text)))
            .build()
            .map_err(|error| LineError::InvalidPattern(error_summary(&error.to_string())))?;

        self.index.insert(text.to_owned(), self.texts.len());
        self.texts.push(text.to_owned());
        self.values.push(value);
        Ok(true)
    }

    /// Yields each pattern as written with its value, in insertion order.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&str, u32)> + Clone + '_ {
        self.texts
            .iter()
            .map(String::as_str)
            .zip(self.values.iter().copied())
    }

    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut u32> {
        self.values.iter_mut()
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
pub(crate) fn error_summary(message: &str) -> String {
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

    fn keep(stored: u32) -> u32 {
        stored
    }

    /// References below 10 are static, 10 and above custom.
    fn is_custom(reference: u32) -> bool {
        reference >= 10
    }

    fn set(patterns: &[(&str, u32)]) -> PatternSet {
        let mut builder = PatternBuilder::default();
        for (text, reference) in patterns {
            builder.insert(text, *reference, keep).unwrap();
        }
        PatternSet::compile(builder.entries()).unwrap().unwrap()
    }

    #[test]
    fn pattern_matches_whole_name() {
        let set = set(&[(r"backdates[0-9]{1,2}\.(com|net)", 0)]);

        assert_eq!(set.lookup(b"backdates12.net", is_custom), Some(0));
    }

    #[test]
    fn pattern_is_anchored_at_start() {
        let set = set(&[(r"backdates[0-9]{1,2}\.(com|net)", 0)]);

        assert_eq!(set.lookup(b"xbackdates12.net", is_custom), None);
    }

    #[test]
    fn pattern_is_anchored_at_end() {
        let set = set(&[(r"backdates[0-9]{1,2}\.(com|net)", 0)]);

        assert_eq!(set.lookup(b"backdates12.net.example", is_custom), None);
    }

    #[test]
    fn pattern_ignores_case() {
        let set = set(&[(r"vh[0-9]{6}\.eurodir\.ru", 0)]);

        assert_eq!(set.lookup(b"VH123456.eurodir.ru", is_custom), Some(0));
    }

    #[test]
    fn pattern_with_own_anchors_compiles() {
        let set = set(&[(r"^leboncoin\-[a-z]{1,3}\.(com|info|me|top)$", 0)]);

        assert_eq!(set.lookup(b"leboncoin-ab.top", is_custom), Some(0));
    }

    #[test]
    fn custom_pattern_wins_over_earlier_static() {
        let set = set(&[(r"evil[0-9]\.com", 0), (r"evil.\.com", 10)]);

        assert_eq!(set.lookup(b"evil1.com", is_custom), Some(10));
    }

    #[test]
    fn invalid_pattern_is_rejected() {
        let mut builder = PatternBuilder::default();

        let result = builder.insert(r"(unclosed\.com", 0, keep);
        assert!(matches!(result, Err(LineError::InvalidPattern(_))));
    }

    #[test]
    fn repeated_pattern_is_not_new() {
        let mut builder = PatternBuilder::default();
        builder.insert(r"a+\.com", 0, keep).unwrap();

        assert_eq!(builder.insert(r"a+\.com", 1, keep), Ok(false));
    }

    #[test]
    fn no_patterns_compile_to_none() {
        assert!(PatternSet::compile(std::iter::empty()).unwrap().is_none());
    }
}
