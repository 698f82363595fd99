//! The patterns section: regex-like domain trails as written, compiled when a store opens.

use crate::store::bytes::{put_u32, u32_at, Span};
use crate::store::error::FormatError;
use crate::store::section::SectionReader;

const PATTERN_LEN: usize = 12;

pub(crate) fn patterns_len(count: usize) -> usize {
    8 + count * PATTERN_LEN
}

/// Writes one row per pattern: its source reference and the place of its text in the strings
/// section.
pub(crate) fn write_patterns(out: &mut Vec<u8>, patterns: &[(u32, (u32, u32))]) {
    put_u32(out, patterns.len() as u32);
    put_u32(out, 0);
    for (reference, (offset, len)) in patterns {
        put_u32(out, *reference);
        put_u32(out, *offset);
        put_u32(out, *len);
    }
}

/// Reads the patterns section and returns each pattern's text and source reference.
pub(crate) fn read_patterns(
    bytes: &[u8],
    span: Span,
    strings: Span,
) -> Result<Vec<(String, u32)>, FormatError> {
    let mut reader = SectionReader::new("patterns", bytes, span);
    let count = reader.count()?;
    if reader.u32()? != 0 {
        return Err(reader.error("has a nonzero reserved field"));
    }
    let rows = reader.take_array(count, PATTERN_LEN)?;
    reader.finish()?;

    let table = rows.slice(bytes);
    let texts = strings.slice(bytes);
    let mut patterns = Vec::with_capacity(count);
    for i in 0..count {
        let field = |n: usize| u32_at(table, i * PATTERN_LEN + n * 4).unwrap_or(u32::MAX);
        let (reference, offset, len) = (field(0), field(1) as usize, field(2) as usize);
        let text = texts
            .get(offset..offset.saturating_add(len))
            .and_then(|text| std::str::from_utf8(text).ok())
            .ok_or_else(|| {
                FormatError::inconsistent("patterns", "has a text outside the strings section")
            })?;
        patterns.push((text.to_owned(), reference));
    }
    Ok(patterns)
}
