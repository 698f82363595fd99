//! Exact-match tables over fixed-width keys: IPv4 and IPv6 addresses and `address:port`
//! endpoints.
//!
//! Keys are stored in network byte order and sorted, so byte order is numeric order. An
//! index over the first `index_bits` bits of the key gives the range of keys that share
//! them, and a binary search inside that range (about 16 keys for a million addresses) finds
//! the key. A parallel array holds each key's source reference.

use std::cmp::Ordering;

use crate::store::bytes::{bytes_at, put_u32, put_uint, u32_at, uint_at, Span};
use crate::store::error::FormatError;
use crate::store::section::SectionReader;

/// Index bits at most: 65,537 offsets, 256 KiB.
const MAX_INDEX_BITS: u32 = 16;

/// Keys per index bucket the index aims at.
const KEYS_PER_BUCKET: usize = 16;

const HEADER_LEN: usize = 16;

/// A fixed-width table key.
pub(crate) trait SortedKey: Ord + Copy {
    /// Length of the key in bytes.
    const LEN: usize;

    /// Appends the key in network byte order.
    fn put(&self, out: &mut Vec<u8>);
}

impl SortedKey for u32 {
    const LEN: usize = 4;

    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_be_bytes());
    }
}

impl SortedKey for (u32, u16) {
    const LEN: usize = 6;

    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0.to_be_bytes());
        out.extend_from_slice(&self.1.to_be_bytes());
    }
}

impl SortedKey for u128 {
    const LEN: usize = 16;

    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_be_bytes());
    }
}

impl SortedKey for (u128, u16) {
    const LEN: usize = 18;

    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0.to_be_bytes());
        out.extend_from_slice(&self.1.to_be_bytes());
    }
}

/// Returns the index bits for a table of `count` keys.
fn index_bits(count: usize) -> u32 {
    let buckets = (count / KEYS_PER_BUCKET).max(1);
    (usize::BITS - 1 - buckets.leading_zeros()).min(MAX_INDEX_BITS)
}

/// Returns the index bucket of a key: its first `bits` bits.
fn bucket_of(key: &[u8], bits: u32) -> usize {
    if bits == 0 {
        return 0;
    }
    let top = match key {
        [first, second, ..] => u16::from_be_bytes([*first, *second]),
        _ => 0,
    };
    usize::from(top >> (16 - bits))
}

/// Returns the length of the section that [`write_sorted`] writes.
pub(crate) fn sorted_len<K: SortedKey>(count: usize, ref_width: usize) -> usize {
    let index = ((1usize << index_bits(count)) + 1) * 4;
    HEADER_LEN + index + count * (K::LEN + ref_width)
}

/// Writes a table of `entries` (key, source reference), sorting them first. Keys are unique.
pub(crate) fn write_sorted<K: SortedKey>(
    out: &mut Vec<u8>,
    mut entries: Vec<(K, u32)>,
    ref_width: usize,
) {
    entries.sort_unstable_by_key(|(key, _)| *key);
    let count = entries.len();
    let bits = index_bits(count);

    put_u32(out, count as u32);
    put_u32(out, K::LEN as u32);
    put_u32(out, bits);
    put_u32(out, ref_width as u32);

    let keys_start = out.len() + ((1usize << bits) + 1) * 4;
    let mut keys = Vec::with_capacity(count * K::LEN);
    for (key, _) in &entries {
        key.put(&mut keys);
    }

    let mut bucket_sizes = vec![0u32; 1 << bits];
    for key in keys.chunks_exact(K::LEN) {
        if let Some(size) = bucket_sizes.get_mut(bucket_of(key, bits)) {
            *size += 1;
        }
    }
    let mut offset = 0u32;
    put_u32(out, 0);
    for size in bucket_sizes {
        offset += size;
        put_u32(out, offset);
    }
    debug_assert_eq!(out.len(), keys_start);

    out.extend_from_slice(&keys);
    drop(keys);
    for (_, reference) in &entries {
        put_uint(out, *reference, ref_width);
    }
}

/// A sorted table inside the store bytes.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SortedView {
    count: usize,
    key_len: usize,
    bits: u32,
    ref_width: usize,
    index: Span,
    keys: Span,
    refs: Span,
}

impl SortedView {
    /// Checks the section's header and index and returns its view.
    pub(crate) fn parse(
        name: &'static str,
        bytes: &[u8],
        span: Span,
        key_len: usize,
    ) -> Result<SortedView, FormatError> {
        let mut reader = SectionReader::new(name, bytes, span);
        let count = reader.count()?;
        if reader.count()? != key_len {
            return Err(reader.error("has the wrong key length"));
        }
        let bits = reader.u32()?;
        if bits > MAX_INDEX_BITS {
            return Err(reader.error("has more than 16 index bits"));
        }
        let ref_width = reader.ref_width()?;

        let index = reader.take_array((1 << bits) + 1, 4)?;
        let keys = reader.take_array(count, key_len)?;
        let refs = reader.take_array(count, ref_width)?;
        reader.check_offsets(index, count)?;
        reader.finish()?;

        Ok(SortedView {
            count,
            key_len,
            bits,
            ref_width,
            index,
            keys,
            refs,
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// Returns the source reference of `key`, which is `key_len` bytes in network order.
    #[inline]
    pub(crate) fn find(&self, bytes: &[u8], key: &[u8]) -> Option<u32> {
        if self.count == 0 {
            return None;
        }
        let bucket = bucket_of(key, self.bits);
        let index = self.index.slice(bytes);
        let start = u32_at(index, bucket * 4)? as usize;
        let end = u32_at(index, bucket * 4 + 4)? as usize;

        let keys = self.keys.slice(bytes);
        let (mut low, mut high) = (start, end.min(self.count));
        while low < high {
            let middle = low + (high - low) / 2;
            let stored = bytes_at(keys, middle * self.key_len, self.key_len)?;
            match stored.cmp(key) {
                Ordering::Less => low = middle + 1,
                Ordering::Greater => high = middle,
                Ordering::Equal => return uint_at(self.refs.slice(bytes), middle, self.ref_width),
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table<K: SortedKey>(entries: Vec<(K, u32)>) -> (Vec<u8>, SortedView) {
        let mut out = Vec::new();
        let count = entries.len();
        write_sorted(&mut out, entries, 4);
        assert_eq!(out.len(), sorted_len::<K>(count, 4));

        let view = SortedView::parse("test", &out, Span::new(0, out.len()), K::LEN).unwrap();
        (out, view)
    }

    #[test]
    fn every_key_is_found() {
        let entries: Vec<(u32, u32)> = (0..5000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761), i))
            .collect();
        let (bytes, view) = table(entries.clone());

        let all_found = entries
            .iter()
            .all(|(key, value)| view.find(&bytes, &key.to_be_bytes()) == Some(*value));
        assert!(all_found);
    }

    #[test]
    fn absent_key_is_not_found() {
        let (bytes, view) = table(vec![(10u32, 1), (30, 3)]);

        assert_eq!(view.find(&bytes, &20u32.to_be_bytes()), None);
    }

    #[test]
    fn endpoint_key_needs_port() {
        let (bytes, view) = table(vec![((0x0102_0304u32, 443u16), 7)]);
        let mut key = Vec::new();
        (0x0102_0304u32, 80u16).put(&mut key);

        assert_eq!(view.find(&bytes, &key), None);
    }

    #[test]
    fn index_bits_grow_with_count() {
        assert_eq!(index_bits(0), 0);
        assert_eq!(index_bits(1_000_000), 15);
        assert_eq!(index_bits(100_000_000), 16);
    }

    #[test]
    fn wrong_key_length_is_rejected() {
        let mut out = Vec::new();
        write_sorted(&mut out, vec![(1u32, 1)], 4);

        assert!(SortedView::parse("test", &out, Span::new(0, out.len()), 16).is_err());
    }

    #[test]
    fn decreasing_index_is_rejected() {
        let mut out = Vec::new();
        write_sorted(&mut out, (0..100u32).map(|i| (i << 24, i)).collect(), 4);
        out[HEADER_LEN + 4..HEADER_LEN + 8].copy_from_slice(&200u32.to_le_bytes());

        assert!(SortedView::parse("test", &out, Span::new(0, out.len()), 4).is_err());
    }
}
