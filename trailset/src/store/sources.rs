//! The strings, sources and source lists sections: who listed each indicator.
//!
//! Every table entry stores one source reference. A reference below the source count names
//! that source alone. A reference `source count + n` names source list `n`, which holds two or
//! more sources, primary first. Lists are deduplicated, so indicators listed by the same
//! files share one list.

use std::collections::HashMap;

use crate::store::bytes::{put_u32, u32_at, Span};
use crate::store::error::FormatError;
use crate::store::section::SectionReader;
use crate::SourceId;

const SOURCE_LEN: usize = 24;

/// Source flag: the source is a custom trail file, which takes precedence.
const CUSTOM_FLAG: u32 = 1;

/// The texts of the strings section, each stored once.
#[derive(Debug, Default)]
pub(crate) struct StringsBuilder {
    bytes: Vec<u8>,
    index: HashMap<String, (u32, u32)>,
}

impl StringsBuilder {
    /// Returns the offset and length of `text`, appending it on first use.
    pub(crate) fn intern(&mut self, text: &str) -> (u32, u32) {
        if let Some(&place) = self.index.get(text) {
            return place;
        }
        let place = (self.bytes.len() as u32, text.len() as u32);
        self.bytes.extend_from_slice(text.as_bytes());
        self.index.insert(text.to_owned(), place);
        place
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// One row of the sources section.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SourceRecord {
    pub(crate) info: (u32, u32),
    pub(crate) reference: (u32, u32),
    pub(crate) custom: bool,
    /// Indicators whose source list contains this source.
    pub(crate) indicators: u32,
}

pub(crate) fn sources_len(count: usize) -> usize {
    8 + count * SOURCE_LEN
}

pub(crate) fn write_sources(out: &mut Vec<u8>, records: &[SourceRecord]) {
    put_u32(out, records.len() as u32);
    put_u32(out, 0);
    for record in records {
        put_u32(out, record.info.0);
        put_u32(out, record.info.1);
        put_u32(out, record.reference.0);
        put_u32(out, record.reference.1);
        put_u32(out, if record.custom { CUSTOM_FLAG } else { 0 });
        put_u32(out, record.indicators);
    }
}

pub(crate) fn lists_len(lists: usize, items: usize) -> usize {
    8 + (lists + 1) * 4 + items * 4
}

pub(crate) fn write_lists<'a>(
    out: &mut Vec<u8>,
    lists: impl Iterator<Item = &'a [SourceId]> + Clone,
) {
    let count = lists.clone().count();
    let items: usize = lists.clone().map(<[SourceId]>::len).sum();
    put_u32(out, count as u32);
    put_u32(out, items as u32);
    let mut offset = 0u32;
    put_u32(out, 0);
    for list in lists.clone() {
        offset += list.len() as u32;
        put_u32(out, offset);
    }
    for list in lists {
        for source in list {
            put_u32(out, source.0);
        }
    }
}

/// The strings, sources and lists sections inside the store bytes.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SourcesView {
    count: usize,
    records: Span,
    strings: Span,
    lists: usize,
    list_offsets: Span,
    list_items: Span,
}

impl SourcesView {
    /// Checks the three sections: every text lies in the strings section and is UTF-8, every
    /// list lies in the items array and names only existing sources.
    pub(crate) fn parse(
        bytes: &[u8],
        strings: Span,
        sources: Span,
        lists: Span,
    ) -> Result<SourcesView, FormatError> {
        let mut reader = SectionReader::new("sources", bytes, sources);
        let count = reader.count()?;
        if reader.u32()? != 0 {
            return Err(reader.error("has a nonzero reserved field"));
        }
        let records = reader.take_array(count, SOURCE_LEN)?;
        reader.finish()?;

        let text_bytes = strings.slice(bytes);
        let table = records.slice(bytes);
        for i in 0..count {
            let field = |n: usize| u32_at(table, i * SOURCE_LEN + n * 4).unwrap_or(u32::MAX);
            for (offset, len) in [(field(0), field(1)), (field(2), field(3))] {
                let text =
                    text_bytes.get(offset as usize..(offset as usize).saturating_add(len as usize));
                if text.is_none_or(|text| std::str::from_utf8(text).is_err()) {
                    return Err(FormatError::inconsistent(
                        "sources",
                        "has a text outside the strings section or not in UTF-8",
                    ));
                }
            }
            if field(4) & !CUSTOM_FLAG != 0 {
                return Err(FormatError::inconsistent(
                    "sources",
                    "has unknown source flags",
                ));
            }
        }

        let mut reader = SectionReader::new("source lists", bytes, lists);
        let list_count = reader.count()?;
        let item_count = reader.count()?;
        // On 32-bit targets a count of u32::MAX is usize::MAX, so the addition saturates and
        // take_array rejects the length instead of overflowing.
        let list_offsets = reader.take_array(list_count.saturating_add(1), 4)?;
        let list_items = reader.take_array(item_count, 4)?;
        reader.check_offsets(list_offsets, item_count)?;
        reader.finish()?;
        let items = list_items.slice(bytes);
        let all_known = items.chunks_exact(4).all(|chunk| {
            (u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]) as usize) < count
        });
        if !all_known {
            return Err(FormatError::inconsistent(
                "source lists",
                "names a source that does not exist",
            ));
        }

        Ok(SourcesView {
            count,
            records,
            strings,
            lists: list_count,
            list_offsets,
            list_items,
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.count
    }

    fn field(&self, bytes: &[u8], id: SourceId, n: usize) -> Option<u32> {
        if id.0 as usize >= self.count {
            return None;
        }
        u32_at(
            self.records.slice(bytes),
            id.0 as usize * SOURCE_LEN + n * 4,
        )
    }

    fn text<'a>(&self, bytes: &'a [u8], id: SourceId, field: usize) -> &'a str {
        let (Some(offset), Some(len)) = (
            self.field(bytes, id, field),
            self.field(bytes, id, field + 1),
        ) else {
            return "";
        };
        let start = offset as usize;
        let text = self
            .strings
            .slice(bytes)
            .get(start..start.saturating_add(len as usize));
        text.and_then(|text| std::str::from_utf8(text).ok())
            .unwrap_or("")
    }

    pub(crate) fn info<'a>(&self, bytes: &'a [u8], id: SourceId) -> &'a str {
        self.text(bytes, id, 0)
    }

    pub(crate) fn reference<'a>(&self, bytes: &'a [u8], id: SourceId) -> &'a str {
        self.text(bytes, id, 2)
    }

    pub(crate) fn is_custom(&self, bytes: &[u8], id: SourceId) -> bool {
        self.field(bytes, id, 4)
            .is_some_and(|flags| flags & CUSTOM_FLAG != 0)
    }

    pub(crate) fn indicators(&self, bytes: &[u8], id: SourceId) -> usize {
        self.field(bytes, id, 5).unwrap_or(0) as usize
    }

    /// Returns the sources a reference names, primary first: one source, a list, or none for
    /// a reference this store did not issue.
    pub(crate) fn members<'a>(&self, bytes: &'a [u8], reference: u32) -> Members<'a> {
        let reference = reference as usize;
        if reference < self.count {
            return Members::Single(Some(SourceId(reference as u32)));
        }
        let list = reference - self.count;
        let offsets = self.list_offsets.slice(bytes);
        let range = list
            .checked_mul(4)
            .and_then(|at| Some(u32_at(offsets, at)? as usize..u32_at(offsets, at + 4)? as usize));
        let items = match range {
            Some(range) if list < self.lists => {
                let items = self.list_items.slice(bytes);
                let byte_range = range.start.checked_mul(4).zip(range.end.checked_mul(4));
                byte_range
                    .and_then(|(start, end)| items.get(start..end))
                    .unwrap_or_default()
            }
            _ => &[],
        };
        Members::List(items.chunks_exact(4))
    }

    /// Returns the primary source of a reference.
    #[inline]
    pub(crate) fn primary(&self, bytes: &[u8], reference: u32) -> Option<SourceId> {
        if (reference as usize) < self.count {
            return Some(SourceId(reference));
        }
        self.members(bytes, reference).next()
    }
}

/// The sources of one reference.
#[derive(Clone, Debug)]
pub(crate) enum Members<'a> {
    Single(Option<SourceId>),
    List(std::slice::ChunksExact<'a, u8>),
}

impl Iterator for Members<'_> {
    type Item = SourceId;

    fn next(&mut self) -> Option<SourceId> {
        match self {
            Members::Single(source) => source.take(),
            Members::List(chunks) => chunks
                .next()
                .map(|c| SourceId(u32::from_le_bytes([c[0], c[1], c[2], c[3]]))),
        }
    }
}

impl Default for Members<'_> {
    fn default() -> Self {
        Members::Single(None)
    }
}
