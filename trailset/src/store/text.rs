//! Tables keyed by indicator text (domains, TLDs, URLs and paths): a static hash table over
//! one arena of key records.
//!
//! The writer sorts the keys into `bucket_count` buckets by the high half of their
//! [`crate::hash::hash_key`] hash and stores each bucket's records back to back. An offset
//! array gives each bucket's byte range, so a probe reads one offset pair and about four
//! short records, which usually share one cache line. No slot is ever empty, so the table
//! costs 1 byte per key (the offsets) plus the records. A presence filter in front of the
//! table rejects most absent keys before the table is touched.

use crate::hash::hash_key;
use crate::store::bytes::{
    bytes_at, put_u32, put_uint, put_varint, reduce, u32_at, uint_at, varint_at, varint_len, Span,
};
use crate::store::error::FormatError;
use crate::store::filter::{block_count, FilterBuilder, FilterView, BLOCK_LEN};
use crate::store::section::SectionReader;

/// Keys per bucket the table aims at.
const KEYS_PER_BUCKET: usize = 4;

const HEADER_LEN: usize = 28;

/// Totals of a set of keys that size its section.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TextStats {
    keys: usize,
    /// Key bytes plus their length prefixes.
    key_bytes: usize,
    max_key_len: usize,
    path_keys: usize,
}

impl TextStats {
    pub(crate) fn of<'a>(keys: impl Iterator<Item = &'a [u8]>) -> TextStats {
        let mut stats = TextStats::default();
        for key in keys {
            stats.keys += 1;
            stats.key_bytes += varint_len(key.len() as u32) + key.len();
            stats.max_key_len = stats.max_key_len.max(key.len());
            stats.path_keys += usize::from(key.first() == Some(&b'/'));
        }
        stats
    }

    fn buckets(&self) -> usize {
        self.keys.div_ceil(KEYS_PER_BUCKET)
    }

    fn arena_len(&self, ref_width: usize) -> usize {
        self.key_bytes + self.keys * ref_width
    }

    /// Returns the length of the section that [`write_text`] writes.
    pub(crate) fn section_len(&self, ref_width: usize) -> usize {
        HEADER_LEN
            + block_count(self.keys) as usize * BLOCK_LEN
            + (self.buckets() + 1) * 4
            + self.arena_len(ref_width)
    }

    /// Tells whether the arena offsets fit in 32 bits.
    pub(crate) fn fits(&self, ref_width: usize) -> bool {
        u32::try_from(self.arena_len(ref_width)).is_ok()
    }
}

/// Writes the table of the keys and source references that `entries` yields. It calls
/// `entries` twice, and both times it must yield the keys `stats` was computed from, in the
/// same order, each once.
pub(crate) fn write_text<'a, I>(
    out: &mut Vec<u8>,
    stats: &TextStats,
    ref_width: usize,
    entries: impl Fn() -> I,
) where
    I: Iterator<Item = (&'a [u8], u32)>,
{
    let buckets = stats.buckets();
    let record_len = |key: &[u8]| varint_len(key.len() as u32) + key.len() + ref_width;

    // The first pass hashes every key once and remembers its bucket for the second.
    let mut filter = FilterBuilder::new(stats.keys);
    let mut offsets = vec![0u32; buckets + 1];
    let mut key_buckets = Vec::with_capacity(stats.keys);
    for (key, _) in entries() {
        let hash = hash_key(key);
        filter.insert(hash);
        let bucket = bucket_of(hash, buckets);
        key_buckets.push(bucket as u32);
        if let Some(size) = offsets.get_mut(bucket + 1) {
            *size += record_len(key) as u32;
        }
    }
    for i in 1..offsets.len() {
        offsets[i] += offsets[i - 1];
    }

    put_u32(out, stats.keys as u32);
    put_u32(out, buckets as u32);
    put_u32(out, stats.max_key_len as u32);
    put_u32(out, stats.path_keys as u32);
    put_u32(out, stats.arena_len(ref_width) as u32);
    put_u32(out, filter.blocks());
    put_u32(out, ref_width as u32);
    out.extend_from_slice(&filter.into_bytes());
    for offset in &offsets {
        put_u32(out, *offset);
    }

    // Each bucket's records go to the next free byte of its range.
    let arena_start = out.len();
    out.resize(arena_start + stats.arena_len(ref_width), 0);
    let arena = &mut out[arena_start..];
    let mut record = Vec::with_capacity(16);
    for ((key, reference), bucket) in entries().zip(key_buckets) {
        let Some(cursor) = offsets.get_mut(bucket as usize) else {
            continue;
        };
        record.clear();
        put_varint(&mut record, key.len() as u32);
        record.extend_from_slice(key);
        put_uint(&mut record, reference, ref_width);

        let at = *cursor as usize;
        if let Some(slot) = arena.get_mut(at..at + record.len()) {
            slot.copy_from_slice(&record);
        }
        *cursor += record.len() as u32;
    }
}

#[inline]
fn bucket_of(hash: u64, buckets: usize) -> usize {
    reduce((hash >> 32) as u32, buckets as u32)
}

/// A text table inside the store bytes.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TextView {
    keys: usize,
    buckets: usize,
    max_key_len: usize,
    path_keys: usize,
    ref_width: usize,
    filter: FilterView,
    offsets: Span,
    arena: Span,
}

impl TextView {
    /// Checks the section's header and bucket offsets and returns its view.
    pub(crate) fn parse(
        name: &'static str,
        bytes: &[u8],
        span: Span,
    ) -> Result<TextView, FormatError> {
        let mut reader = SectionReader::new(name, bytes, span);
        let keys = reader.count()?;
        let buckets = reader.count()?;
        let max_key_len = reader.count()?;
        let path_keys = reader.count()?;
        let arena_len = reader.count()?;
        let blocks = reader.u32()?;
        let ref_width = reader.ref_width()?;
        if buckets != keys.div_ceil(KEYS_PER_BUCKET) || path_keys > keys {
            return Err(reader.error("has key and bucket counts that disagree"));
        }
        let min_record_len = 1 + ref_width;
        if keys
            .checked_mul(min_record_len)
            .is_none_or(|len| len > arena_len)
        {
            return Err(reader.error("has more keys than its arena can hold"));
        }

        let filter = FilterView {
            bits: reader.take_array(blocks as usize, BLOCK_LEN)?,
            blocks,
        };
        let offsets = reader.take_array(buckets + 1, 4)?;
        let arena = reader.take(arena_len)?;
        reader.check_offsets(offsets, arena_len)?;
        reader.finish()?;

        Ok(TextView {
            keys,
            buckets,
            max_key_len,
            path_keys,
            ref_width,
            filter,
            offsets,
            arena,
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.keys
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.keys == 0
    }

    /// Returns the number of keys that start with `/` (bare path trails).
    pub(crate) fn path_len(&self) -> usize {
        self.path_keys
    }

    /// Returns the length of the longest key, so callers can skip longer candidates.
    pub(crate) fn max_key_len(&self) -> usize {
        self.max_key_len
    }

    pub(crate) fn get(&self, bytes: &[u8], key: &[u8]) -> Option<u32> {
        self.get_joined(bytes, hash_key(key), b"", key)
    }

    /// Finds the key `head` followed by `tail`, compared ASCII-case-insensitively, whose
    /// [`crate::hash::KeyHasher`] hash the caller has computed, and returns its source
    /// reference.
    #[inline]
    pub(crate) fn get_joined(
        &self,
        bytes: &[u8],
        hash: u64,
        head: &[u8],
        tail: &[u8],
    ) -> Option<u32> {
        if !self.filter.may_contain(bytes, hash) {
            return None;
        }
        let bucket = bucket_of(hash, self.buckets);
        let offsets = self.offsets.slice(bytes);
        let start = u32_at(offsets, bucket * 4)? as usize;
        let end = u32_at(offsets, bucket * 4 + 4)? as usize;
        let records = self.arena.slice(bytes).get(start..end)?;

        let wanted = head.len() + tail.len();
        let mut at = 0;
        while at < records.len() {
            let (len, used) = varint_at(records, at)?;
            let key_start = at + used;
            let key = bytes_at(records, key_start, len as usize)?;
            let reference_at = key_start + key.len();
            if key.len() == wanted && joined_eq(key, head, tail) {
                return uint_at(records.get(reference_at..)?, 0, self.ref_width);
            }
            at = reference_at + self.ref_width;
        }
        None
    }
}

fn joined_eq(key: &[u8], head: &[u8], tail: &[u8]) -> bool {
    match key.split_at_checked(head.len()) {
        Some((first, rest)) => first.eq_ignore_ascii_case(head) && rest.eq_ignore_ascii_case(tail),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::KeyHasher;

    fn table(keys: &[(&str, u32)]) -> (Vec<u8>, TextView) {
        let entries = || keys.iter().map(|(key, value)| (key.as_bytes(), *value));
        let stats = TextStats::of(entries().map(|(key, _)| key));
        let mut out = Vec::new();
        write_text(&mut out, &stats, 2, entries);
        assert_eq!(out.len(), stats.section_len(2));

        let view = TextView::parse("test", &out, Span::new(0, out.len())).unwrap();
        (out, view)
    }

    #[test]
    fn stored_key_is_found() {
        let (bytes, view) = table(&[("evil.com", 3), ("other.example", 4)]);

        assert_eq!(view.get(&bytes, b"evil.com"), Some(3));
    }

    #[test]
    fn missing_key_is_not_found() {
        let (bytes, view) = table(&[("evil.com", 3)]);

        assert_eq!(view.get(&bytes, b"evil.co"), None);
    }

    #[test]
    fn lookup_ignores_ascii_case() {
        let (bytes, view) = table(&[("evil.com/gate.php", 1)]);

        assert_eq!(view.get(&bytes, b"evil.com/GATE.php"), Some(1));
    }

    #[test]
    fn joined_lookup_finds_key() {
        let (bytes, view) = table(&[("evil.com/gate.php", 1)]);
        let mut hasher = KeyHasher::new();
        hasher.write(b"evil.com");
        hasher.write(b"/gate.php");

        assert_eq!(
            view.get_joined(&bytes, hasher.finish(), b"evil.com", b"/gate.php"),
            Some(1)
        );
    }

    #[test]
    fn many_keys_are_all_found() {
        let keys: Vec<(String, u32)> = (0..20_000)
            .map(|i| (format!("host{i}.example"), i))
            .collect();
        let borrowed: Vec<(&str, u32)> = keys.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        let (bytes, view) = table(&borrowed);

        let all_found = keys
            .iter()
            .all(|(key, value)| view.get(&bytes, key.as_bytes()) == Some(*value));
        assert!(all_found);
    }

    #[test]
    fn counts_come_from_header() {
        let (_, view) = table(&[("a.example", 0), ("/gate.php", 1), ("b.example/x", 2)]);

        assert_eq!(view.len(), 3);
        assert_eq!(view.path_len(), 1);
        assert_eq!(view.max_key_len(), 11);
    }

    #[test]
    fn empty_table_finds_nothing() {
        let (bytes, view) = table(&[]);

        assert!(view.is_empty());
        assert_eq!(view.get(&bytes, b"evil.com"), None);
    }

    #[test]
    fn arena_length_mismatch_is_rejected() {
        let (mut bytes, _) = table(&[("evil.com", 3)]);
        bytes.push(0);

        assert!(TextView::parse("test", &bytes, Span::new(0, bytes.len())).is_err());
    }
}
