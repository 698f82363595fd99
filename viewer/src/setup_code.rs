//! The one-time setup code that lets the first user be created over HTTP.
//!
//! An appliance writes a random code to the file of `[data] setup_code` at first boot and
//! shows it on its console. While the users file has no user, `POST /setup` with that code
//! creates the first user, after which the file is deleted.

use std::fs;
use std::io;
use std::path::Path;

use crate::session::tokens_equal;

/// Minimum code length in the file. A shorter code could be guessed despite the rate limit of
/// 5 wrong attempts a minute, so it is treated as missing.
pub const MIN_CODE_LEN: usize = 8;

/// Reads the code from `path`: the file's first line without surrounding whitespace, in lower
/// case. Returns `Ok(None)` when the file is missing, or when its code is shorter than
/// [`MIN_CODE_LEN`].
pub fn read(path: &Path) -> io::Result<Option<String>> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    let code = text
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    Ok((code.len() >= MIN_CODE_LEN).then_some(code))
}

/// Returns whether `entered` matches `expected`, ignoring case and surrounding whitespace, in
/// time that does not depend on where they differ.
pub fn matches(expected: &str, entered: &str) -> bool {
    tokens_equal(expected, &entered.trim().to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_takes_first_line_lowercased() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("setup-code");
        fs::write(&path, "  3F9A-77C2-0B1D \r\nsecond line\n").unwrap();

        assert_eq!(read(&path).unwrap().as_deref(), Some("3f9a-77c2-0b1d"));
    }

    #[test]
    fn missing_or_short_code_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let short = dir.path().join("short");
        fs::write(&short, "abc\n").unwrap();

        assert_eq!(read(&dir.path().join("missing")).unwrap(), None);
        assert_eq!(read(&short).unwrap(), None);
    }

    #[test]
    fn matches_ignores_case_and_spaces() {
        assert!(matches("3f9a-77c2", " 3F9A-77C2\n"));
        assert!(!matches("3f9a-77c2", "3f9a-77c3"));
        assert!(!matches("3f9a-77c2", "3f9a-77c"));
    }
}
