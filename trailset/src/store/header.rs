//! The store header and section table: identification, length, checksum and section bounds.

use crate::store::bytes::{u32_at, u64_at, Span};
use crate::store::error::FormatError;
use crate::store::layout::{
    SectionKind, CHECKSUM_AT, FLAGS_AT, HEADER_LEN, MAGIC, MAX_SECTIONS, RESERVED_AT,
    SECTION_ALIGN, SECTION_COUNT_AT, SECTION_ENTRY_LEN, STORE_FORMAT_VERSION, TOTAL_LEN_AT,
    VERSION_AT,
};

/// The header fields a reader needs after the checks.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Header {
    pub(crate) checksum: u64,
    pub(crate) section_count: usize,
}

/// Checks the fixed header at the start of a store of `actual_len` bytes: the magic, the
/// version, the flags, the total length and the section count. `start` contains the first
/// bytes, up to the whole header.
pub(crate) fn check_header(start: &[u8], actual_len: u64) -> Result<Header, FormatError> {
    let magic_len = start.len().min(MAGIC.len());
    if start[..magic_len] != MAGIC[..magic_len] {
        return Err(FormatError::NotAStore);
    }
    if let Some(version) = u32_at(start, VERSION_AT) {
        if version != STORE_FORMAT_VERSION {
            return Err(FormatError::version(version));
        }
    }
    let (Some(flags), Some(total_len), Some(checksum), Some(count), Some(reserved)) = (
        u32_at(start, FLAGS_AT),
        u64_at(start, TOTAL_LEN_AT),
        u64_at(start, CHECKSUM_AT),
        u32_at(start, SECTION_COUNT_AT),
        u32_at(start, RESERVED_AT),
    ) else {
        return Err(FormatError::LengthMismatch {
            expected: HEADER_LEN as u64,
            actual: actual_len,
        });
    };

    if flags != 0 || reserved != 0 {
        return Err(FormatError::UnsupportedFlags {
            flags: if flags != 0 { flags } else { reserved },
        });
    }
    if total_len != actual_len {
        return Err(FormatError::LengthMismatch {
            expected: total_len,
            actual: actual_len,
        });
    }
    let section_count = count as usize;
    let table_end = HEADER_LEN + section_count.min(MAX_SECTIONS) * SECTION_ENTRY_LEN;
    if section_count > MAX_SECTIONS || table_end as u64 > total_len {
        return Err(FormatError::inconsistent(
            "section table",
            "lists more sections than fit",
        ));
    }
    Ok(Header {
        checksum,
        section_count,
    })
}

/// Returns the checksum of the bytes after the header: xxh3-64 with seed 0.
pub(crate) fn checksum(after_header: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(after_header)
}

/// The sections of a store, indexed by kind number.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Sections {
    spans: [Option<Span>; MAX_SECTIONS + 1],
}

impl Sections {
    /// Returns the section of a kind, which [`parse_sections`] has checked is present.
    pub(crate) fn get(&self, kind: SectionKind) -> Span {
        self.spans
            .get(kind as usize)
            .copied()
            .flatten()
            .unwrap_or_default()
    }
}

/// Checks the section table: every kind appears exactly once, and the sections start at
/// multiples of 8 after the table, ascend without overlapping and end inside the store.
pub(crate) fn parse_sections(bytes: &[u8], header: &Header) -> Result<Sections, FormatError> {
    let table_error = |reason| FormatError::inconsistent("section table", reason);
    let table_end = HEADER_LEN + header.section_count * SECTION_ENTRY_LEN;
    let mut sections = Sections::default();
    let mut previous_end = table_end;

    for i in 0..header.section_count {
        let at = HEADER_LEN + i * SECTION_ENTRY_LEN;
        let (Some(number), Some(reserved), Some(offset), Some(len)) = (
            u32_at(bytes, at),
            u32_at(bytes, at + 4),
            u64_at(bytes, at + 8),
            u64_at(bytes, at + 16),
        ) else {
            return Err(table_error("ends early"));
        };

        let kind = SectionKind::from_number(number).ok_or(table_error("has an unknown kind"))?;
        if reserved != 0 {
            return Err(table_error("has a nonzero reserved field"));
        }
        let (Ok(offset), Ok(len)) = (usize::try_from(offset), usize::try_from(len)) else {
            return Err(table_error(
                "has a section beyond this platform's address space",
            ));
        };
        if offset % SECTION_ALIGN != 0 {
            return Err(table_error("has a section not aligned to 8 bytes"));
        }
        if offset < previous_end {
            return Err(table_error("has overlapping or unordered sections"));
        }
        let end = offset
            .checked_add(len)
            .filter(|&end| end <= bytes.len())
            .ok_or(table_error("has a section beyond the end of the store"))?;

        let slot = &mut sections.spans[kind as usize];
        if slot.is_some() {
            return Err(table_error("lists a section kind twice"));
        }
        *slot = Some(Span::new(offset, len));
        previous_end = end;
    }

    if SectionKind::ALL
        .iter()
        .any(|kind| sections.spans[*kind as usize].is_none())
    {
        return Err(table_error("lacks a section kind"));
    }
    Ok(sections)
}
