//! Splitting a trail file into indicator lines.

/// Yields `(line number, raw line)` for every line of a file, numbered from 1.
///
/// The raw line still carries its CR, if the file has CRLF endings, and its comments.
pub(crate) fn numbered_lines(contents: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    contents
        .split(|&byte| byte == b'\n')
        .enumerate()
        .map(|(index, line)| (index + 1, line))
}

/// Extracts the indicator text of one line, or `None` for blank lines and comment lines.
///
/// Surrounding whitespace (including a CR) is trimmed. A line starting with `#` is a comment,
/// `# Reference: URL` lines among them. A trailing comment starts at the first `#` that
/// follows whitespace, so `1.2.3.4 # scanner` gives `1.2.3.4`, while the `#` in
/// `evil.com/a#b` stays part of the indicator.
pub(crate) fn indicator_text(line: &str) -> Option<&str> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }

    let text = match trailing_comment_start(line) {
        Some(start) => line[..start].trim_end(),
        None => line,
    };
    Some(text)
}

fn trailing_comment_start(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    let mut from = 0;
    while let Some(offset) = line[from..].find('#') {
        let hash = from + offset;
        if hash > 0 && bytes[hash - 1].is_ascii_whitespace() {
            return Some(hash);
        }
        from = hash + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_line_is_skipped() {
        assert_eq!(indicator_text("   \t"), None);
    }

    #[test]
    fn comment_line_is_skipped() {
        assert_eq!(indicator_text("# Copyright (c) 2014-2026"), None);
    }

    #[test]
    fn reference_line_is_skipped() {
        assert_eq!(
            indicator_text("# Reference: https://example.org/report"),
            None
        );
    }

    #[test]
    fn indented_comment_is_skipped() {
        assert_eq!(indicator_text("  # note"), None);
    }

    #[test]
    fn trailing_comment_after_space_is_cut() {
        assert_eq!(
            indicator_text("129.82.138.12 # pinger1a"),
            Some("129.82.138.12")
        );
    }

    #[test]
    fn trailing_comment_after_tab_is_cut() {
        assert_eq!(
            indicator_text("94.102.51.31\t# scanner"),
            Some("94.102.51.31")
        );
    }

    #[test]
    fn hash_inside_indicator_is_kept() {
        assert_eq!(indicator_text("evil.com/a#b"), Some("evil.com/a#b"));
    }

    #[test]
    fn carriage_return_is_trimmed() {
        assert_eq!(indicator_text("evil.com\r"), Some("evil.com"));
    }

    #[test]
    fn trailing_spaces_are_trimmed() {
        assert_eq!(indicator_text("evil.com   "), Some("evil.com"));
    }

    #[test]
    fn lines_are_numbered_from_one() {
        let lines: Vec<_> = numbered_lines(b"a\r\nb\n").collect();

        assert_eq!(lines[..2], [(1, &b"a\r"[..]), (2, &b"b"[..])]);
    }
}
