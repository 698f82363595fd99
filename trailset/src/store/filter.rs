//! A blocked Bloom filter stored in the file, probed before the big tables.
//!
//! Almost every probe from real traffic is a miss, and the tables behind the filters span
//! tens of megabytes. A key picks one 64-byte block (one cache line) by the high half of its
//! hash and sets or tests five bits in it given by the low half. A probe so reads one cache
//! line, and only keys that pass go on to the table. With 16 bits per key about 0.2% of
//! absent keys pass (a test below checks for less than 0.5%).

use crate::store::bytes::{put_u32, reduce, Span};
use crate::store::error::FormatError;
use crate::store::section::SectionReader;

/// Length of one block.
pub(crate) const BLOCK_LEN: usize = 64;

/// Filter bits per stored key.
///
/// Every probe that passes costs a read of the table behind the filter. In a mapped store,
/// each read of a page not yet touched maps 64 KiB or more of the file (the kernel's
/// fault-around), which counts against the resident set. A filter twice the size of a 1%
/// filter passes a tenth as many absent keys, and the filters take about a tenth of the
/// store.
const BITS_PER_KEY: usize = 16;

/// Bits tested per key, each taken from 9 of the hash's low 45 bits, which barely overlap the
/// high bits that pick the block.
const PROBES: u32 = 5;

/// Returns the number of blocks for a filter over `keys` keys: 0 for none.
pub(crate) fn block_count(keys: usize) -> u32 {
    let blocks = keys.saturating_mul(BITS_PER_KEY).div_ceil(BLOCK_LEN * 8);
    u32::try_from(blocks).unwrap_or(u32::MAX)
}

/// Yields the bit positions (0..512) that a hash sets in its block.
#[inline]
fn bit_positions(hash: u64) -> impl Iterator<Item = usize> {
    (0..PROBES).map(move |i| ((hash >> (9 * i)) & 511) as usize)
}

#[inline]
fn block_index(hash: u64, blocks: u32) -> usize {
    reduce((hash >> 32) as u32, blocks)
}

/// A filter being filled, written to the store as its raw blocks.
#[derive(Debug)]
pub(crate) struct FilterBuilder {
    bits: Vec<u8>,
    blocks: u32,
}

impl FilterBuilder {
    pub(crate) fn new(keys: usize) -> FilterBuilder {
        let blocks = block_count(keys);
        FilterBuilder {
            bits: vec![0; blocks as usize * BLOCK_LEN],
            blocks,
        }
    }

    pub(crate) fn insert(&mut self, hash: u64) {
        if self.blocks == 0 {
            return;
        }
        let start = block_index(hash, self.blocks) * BLOCK_LEN;
        for bit in bit_positions(hash) {
            if let Some(byte) = self.bits.get_mut(start + bit / 8) {
                *byte |= 1 << (bit % 8);
            }
        }
    }

    pub(crate) fn blocks(&self) -> u32 {
        self.blocks
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.bits
    }
}

/// A filter inside the store bytes.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FilterView {
    pub(crate) bits: Span,
    pub(crate) blocks: u32,
}

impl FilterView {
    /// Returns false only when no inserted key had this hash's bits. A filter without blocks
    /// contains nothing.
    #[inline]
    pub(crate) fn may_contain(&self, bytes: &[u8], hash: u64) -> bool {
        if self.blocks == 0 {
            return false;
        }
        let start = block_index(hash, self.blocks) * BLOCK_LEN;
        let Some(block) = self.bits.slice(bytes).get(start..start + BLOCK_LEN) else {
            return false;
        };
        bit_positions(hash).all(|bit| {
            block
                .get(bit / 8)
                .is_some_and(|b| b & (1 << (bit % 8)) != 0)
        })
    }
}

/// Returns the length of a stand-alone filter section over `keys` keys.
pub(crate) fn filter_section_len(keys: usize) -> usize {
    8 + block_count(keys) as usize * BLOCK_LEN
}

/// Writes a stand-alone filter section: block count, key count, blocks.
pub(crate) fn write_filter_section(out: &mut Vec<u8>, filter: FilterBuilder, keys: usize) {
    put_u32(out, filter.blocks());
    put_u32(out, keys as u32);
    out.extend_from_slice(&filter.into_bytes());
}

/// Checks a stand-alone filter section and returns its view.
pub(crate) fn parse_filter_section(
    name: &'static str,
    bytes: &[u8],
    span: Span,
) -> Result<FilterView, FormatError> {
    let mut reader = SectionReader::new(name, bytes, span);
    let blocks = reader.u32()?;
    let _keys = reader.u32()?;
    let bits = reader.take_array(blocks as usize, BLOCK_LEN)?;
    reader.finish()?;
    Ok(FilterView { bits, blocks })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::mix64;

    fn filled(keys: u64) -> Vec<u8> {
        let mut builder = FilterBuilder::new(keys as usize);
        for key in 0..keys {
            builder.insert(mix64(key));
        }
        builder.into_bytes()
    }

    fn view(bytes: &[u8]) -> FilterView {
        FilterView {
            bits: Span::new(0, bytes.len()),
            blocks: (bytes.len() / BLOCK_LEN) as u32,
        }
    }

    #[test]
    fn inserted_keys_are_present() {
        let bytes = filled(10_000);
        let filter = view(&bytes);

        assert!((0..10_000).all(|key| filter.may_contain(&bytes, mix64(key))));
    }

    #[test]
    fn few_absent_keys_pass() {
        let bytes = filled(100_000);
        let filter = view(&bytes);

        let passed = (100_000..1_100_000)
            .filter(|&key| filter.may_contain(&bytes, mix64(key)))
            .count();
        assert!(passed < 5_000, "{passed} of 1000000");
    }

    #[test]
    fn empty_filter_contains_nothing() {
        assert!(!FilterView::default().may_contain(&[], mix64(1)));
    }

    #[test]
    fn filter_beyond_bytes_contains_nothing() {
        let filter = FilterView {
            bits: Span::new(0, 4 * BLOCK_LEN),
            blocks: 4,
        };

        assert!((0..1000).all(|key| !filter.may_contain(&[0xff; 10], mix64(key))));
    }
}
