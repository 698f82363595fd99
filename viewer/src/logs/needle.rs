//! Case-insensitive substring search for the text filters, built once per scan.

use memchr::memmem::Finder;

/// Haystacks up to this length are lower-cased on the stack, and longer ones allocate.
const STACK_LEN: usize = 512;

/// A lower-case needle with its prebuilt [`Finder`].
#[derive(Debug, Clone)]
pub struct Needle {
    lower: String,
    finder: Finder<'static>,
}

impl Needle {
    /// Builds the search for `lower`, which the caller has already lower-cased.
    pub fn new(lower: &str) -> Needle {
        Needle {
            lower: lower.to_string(),
            finder: Finder::new(lower.as_bytes()).into_owned(),
        }
    }

    /// Length of the needle in bytes.
    pub fn len(&self) -> usize {
        self.lower.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lower.is_empty()
    }

    /// Returns whether `haystack` contains the needle, ignoring case. An ASCII needle is
    /// compared with ASCII case folding and without allocating for haystacks up to 512 bytes.
    /// Other needles go through full Unicode lower-casing of the haystack.
    pub fn is_in(&self, haystack: &str) -> bool {
        if !self.lower.is_ascii() {
            return haystack.to_lowercase().contains(&self.lower);
        }
        let bytes = haystack.as_bytes();
        if bytes.len() <= STACK_LEN {
            let mut lowered = [0u8; STACK_LEN];
            let lowered = &mut lowered[..bytes.len()];
            lowered.copy_from_slice(bytes);
            lowered.make_ascii_lowercase();
            return self.finder.find(lowered).is_some();
        }
        self.finder.find(&bytes.to_ascii_lowercase()).is_some()
    }

    /// Returns whether the ASCII-lower-cased bytes of a whole log line contain the needle.
    pub fn is_in_lowered(&self, lowered: &[u8]) -> bool {
        self.finder.find(lowered).is_some()
    }

    /// Returns whether a field that contains this needle always has it in the raw log line
    /// too, ignoring ASCII case, so that a line without it can be skipped before parsing.
    /// That holds for ASCII needles without `"`, because unquoting only turns `""` into `"`.
    /// Unicode lower-casing can change a text's length, so other needles do not qualify.
    pub fn is_in_raw_line(&self) -> bool {
        self.lower.is_ascii() && !self.lower.contains('"')
    }
}

/// The needles of a filter's substring conditions, built once per scan.
#[derive(Debug, Clone, Default)]
pub struct TextNeedles {
    pub trail: Option<Needle>,
    pub info: Option<Needle>,
    /// Substring of the whole line.
    pub text: Option<Needle>,
}

impl TextNeedles {
    /// Returns the longest needle that every matching line contains in its raw text, if one
    /// qualifies (see [`Needle::is_in_raw_line`]).
    pub fn raw_line_needle(&self) -> Option<&Needle> {
        [&self.trail, &self.info, &self.text]
            .into_iter()
            .flatten()
            .filter(|needle| needle.is_in_raw_line() && !needle.is_empty())
            .max_by_key(|needle| needle.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_needle_ignores_case() {
        let needle = Needle::new("evil.test");

        assert!(needle.is_in("x EVIL.Test y"));
        assert!(!needle.is_in("evil-test"));
        assert!(needle.is_in(&format!("{}Evil.test", "a".repeat(STACK_LEN))));
        assert!(needle.is_in_lowered(b"x evil.test"));
    }

    #[test]
    fn unicode_needle_lowercases_haystack() {
        let needle = Needle::new("straße");

        assert!(needle.is_in("STRAßE 1"));
        assert!(!needle.is_in_raw_line());
    }

    #[test]
    fn quoted_needle_not_in_raw_line() {
        assert!(Needle::new("evil").is_in_raw_line());
        assert!(!Needle::new("a \"b").is_in_raw_line());
    }
}
