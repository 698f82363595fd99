//! Line splitting shared by the line-based formats.

/// Yields `(line number from 1, line)` for every line, without its LF or CRLF ending, a
/// leading byte-order mark, or surrounding whitespace. Mixed line endings are fine.
pub(crate) fn numbered_lines(body: &str) -> impl Iterator<Item = (usize, &str)> {
    let body = body.strip_prefix('\u{feff}').unwrap_or(body);
    body.lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim()))
}

/// Yields the lines that are neither blank nor comments (starting with `#` or `;`).
pub(crate) fn data_lines(body: &str) -> impl Iterator<Item = (usize, &str)> {
    numbered_lines(body).filter(|(_, line)| !line.is_empty() && !is_comment(line))
}

/// Tells whether a trimmed line is a comment.
pub(crate) fn is_comment(line: &str) -> bool {
    line.starts_with('#') || line.starts_with(';')
}

/// Drops a trailing annotation: text from a `#` or `;` that follows whitespace, as in
/// `1.2.3.4 # ssh` or `1.4.0.0/17 ; SBL256893`. A `#` inside a token (`evil.com/a#b`) stays.
pub(crate) fn cut_annotation(line: &str) -> &str {
    let bytes = line.as_bytes();
    let start = bytes.iter().enumerate().position(|(index, &byte)| {
        (byte == b'#' || byte == b';') && index > 0 && bytes[index - 1].is_ascii_whitespace()
    });

    match start {
        Some(start) => line[..start].trim_end(),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_is_stripped() {
        let lines: Vec<_> = numbered_lines("a\r\nb\n").collect();

        assert_eq!(lines, [(1, "a"), (2, "b")]);
    }

    #[test]
    fn last_line_without_newline_is_kept() {
        let lines: Vec<_> = numbered_lines("a\n# END 28 entries").collect();

        assert_eq!(lines[1], (2, "# END 28 entries"));
    }

    #[test]
    fn byte_order_mark_is_dropped() {
        let lines: Vec<_> = numbered_lines("\u{feff}evil.example.com\n").collect();

        assert_eq!(lines, [(1, "evil.example.com")]);
    }

    #[test]
    fn data_lines_skip_comments_and_blanks() {
        let lines: Vec<_> = data_lines("# header\n\n; spamhaus\n  x  \n").collect();

        assert_eq!(lines, [(4, "x")]);
    }

    #[test]
    fn hash_annotation_is_cut() {
        assert_eq!(cut_annotation("198.51.100.7\t# 2024-01-01"), "198.51.100.7");
    }

    #[test]
    fn semicolon_annotation_is_cut() {
        assert_eq!(cut_annotation("1.4.0.0/17 ; SBL256893"), "1.4.0.0/17");
    }

    #[test]
    fn hash_inside_token_is_kept() {
        assert_eq!(
            cut_annotation("evil.example.com/a#b"),
            "evil.example.com/a#b"
        );
    }
}
