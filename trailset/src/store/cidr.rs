//! CIDR block tables: one sorted run of network addresses per prefix length, longest first,
//! behind a coverage bitmap.
//!
//! The bitmap has one bit per 16-bit address prefix that some block overlaps, so most
//! lookups of an address outside every block cost one bit test. Otherwise each prefix
//! length present is tried in turn with a binary search for the masked address, and the
//! first match is the most specific block.

use crate::ip_table::AddressBits;
use crate::store::bytes::{bytes_at, put_u32, put_uint, u32_at, uint_at, Span};
use crate::store::error::FormatError;
use crate::store::section::SectionReader;
use crate::store::sorted::SortedKey;

/// Length of the coverage bitmap: 65,536 bits.
const COVERAGE_LEN: usize = 8192;

const HEADER_LEN: usize = 16;

const GROUP_LEN: usize = 12;

/// An address type that CIDR tables store.
pub(crate) trait CidrAddress: AddressBits + SortedKey {
    type Bytes: AsRef<[u8]>;

    fn network_bytes(self) -> Self::Bytes;
}

impl CidrAddress for u32 {
    type Bytes = [u8; 4];

    fn network_bytes(self) -> [u8; 4] {
        self.to_be_bytes()
    }
}

impl CidrAddress for u128 {
    type Bytes = [u8; 16];

    fn network_bytes(self) -> [u8; 16] {
        self.to_be_bytes()
    }
}

/// Returns the length of the section that [`write_cidr`] writes.
pub(crate) fn cidr_len<K: CidrAddress>(prefixes: usize, blocks: usize, ref_width: usize) -> usize {
    HEADER_LEN + COVERAGE_LEN + prefixes * GROUP_LEN + blocks * (K::LEN + ref_width)
}

/// Writes the blocks `(network, prefix length, source reference)`, whose networks have their
/// host bits clear and which are unique.
pub(crate) fn write_cidr<K: CidrAddress>(
    out: &mut Vec<u8>,
    mut blocks: Vec<(K, u8, u32)>,
    ref_width: usize,
) {
    blocks.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut groups: Vec<(u8, u32, u32)> = Vec::new();
    for (i, (_, prefix, _)) in blocks.iter().enumerate() {
        match groups.last_mut() {
            Some(group) if group.0 == *prefix => group.2 += 1,
            _ => groups.push((*prefix, i as u32, 1)),
        }
    }

    put_u32(out, groups.len() as u32);
    put_u32(out, blocks.len() as u32);
    put_u32(out, K::LEN as u32);
    put_u32(out, ref_width as u32);

    let mut coverage = vec![0u8; COVERAGE_LEN];
    for (network, prefix, _) in &blocks {
        let first = network.top_bits();
        let span = match 16u32.checked_sub(u32::from(*prefix)) {
            Some(free_bits) => 1usize << free_bits,
            None => 1,
        };
        for index in first..first + span {
            if let Some(byte) = coverage.get_mut(index / 8) {
                *byte |= 1 << (index % 8);
            }
        }
    }
    out.extend_from_slice(&coverage);

    for (prefix, start, count) in &groups {
        put_u32(out, u32::from(*prefix));
        put_u32(out, *start);
        put_u32(out, *count);
    }
    for (network, _, _) in &blocks {
        network.put(out);
    }
    for (_, _, reference) in &blocks {
        put_uint(out, *reference, ref_width);
    }
}

/// A CIDR table inside the store bytes.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CidrView {
    groups: usize,
    blocks: usize,
    key_len: usize,
    ref_width: usize,
    coverage: Span,
    group_table: Span,
    keys: Span,
    refs: Span,
}

impl CidrView {
    /// Checks the section's header and prefix groups and returns its view.
    pub(crate) fn parse(
        name: &'static str,
        bytes: &[u8],
        span: Span,
        key_len: usize,
    ) -> Result<CidrView, FormatError> {
        let mut reader = SectionReader::new(name, bytes, span);
        let groups = reader.count()?;
        let blocks = reader.count()?;
        if reader.count()? != key_len {
            return Err(reader.error("has the wrong key length"));
        }
        let ref_width = reader.ref_width()?;
        let coverage = reader.take(COVERAGE_LEN)?;
        let group_table = reader.take_array(groups, GROUP_LEN)?;
        let keys = reader.take_array(blocks, key_len)?;
        let refs = reader.take_array(blocks, ref_width)?;
        reader.finish()?;

        // Groups run longest prefix first and tile the key array in order.
        let table = group_table.slice(bytes);
        let mut next_start = 0usize;
        let mut previous_prefix = u32::MAX;
        for i in 0..groups {
            let field = |n: usize| u32_at(table, i * GROUP_LEN + n * 4).unwrap_or(u32::MAX);
            let (prefix, start, count) = (field(0), field(1), field(2));
            if prefix >= previous_prefix || prefix as usize > key_len * 8 {
                return Err(reader_error(name, "has prefix lengths out of order"));
            }
            if start as usize != next_start {
                return Err(reader_error(
                    name,
                    "has prefix groups that do not tile its blocks",
                ));
            }
            next_start += count as usize;
            previous_prefix = prefix;
        }
        if next_start != blocks {
            return Err(reader_error(
                name,
                "has prefix groups that do not tile its blocks",
            ));
        }

        Ok(CidrView {
            groups,
            blocks,
            key_len,
            ref_width,
            coverage,
            group_table,
            keys,
            refs,
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.blocks
    }

    /// Returns false only when no stored block can contain `address`.
    #[inline]
    pub(crate) fn may_cover<K: CidrAddress>(&self, bytes: &[u8], address: K) -> bool {
        let index = address.top_bits();
        self.coverage
            .slice(bytes)
            .get(index / 8)
            .is_some_and(|byte| byte & (1 << (index % 8)) != 0)
    }

    /// Finds the longest block containing `address` and returns its source reference and
    /// prefix length.
    pub(crate) fn lookup<K: CidrAddress>(&self, bytes: &[u8], address: K) -> Option<(u32, u8)> {
        if self.blocks == 0 || !self.may_cover(bytes, address) {
            return None;
        }
        (0..self.groups).find_map(|group| {
            let (prefix, start, count) = self.group(bytes, group)?;
            let network = address.masked(prefix);
            let position = self.search(bytes, start, count, network.network_bytes().as_ref())?;
            let reference = uint_at(self.refs.slice(bytes), position, self.ref_width)?;
            Some((reference, prefix))
        })
    }

    /// Returns the source reference of the block `network/prefix`, stored exactly so.
    pub(crate) fn find_block<K: CidrAddress>(
        &self,
        bytes: &[u8],
        network: K,
        prefix: u8,
    ) -> Option<u32> {
        let group =
            (0..self.groups).find(|&g| self.group(bytes, g).is_some_and(|g| g.0 == prefix))?;
        let (_, start, count) = self.group(bytes, group)?;
        let key = network.masked(prefix).network_bytes();
        let position = self.search(bytes, start, count, key.as_ref())?;
        uint_at(self.refs.slice(bytes), position, self.ref_width)
    }

    fn group(&self, bytes: &[u8], group: usize) -> Option<(u8, usize, usize)> {
        let table = self.group_table.slice(bytes);
        let at = group * GROUP_LEN;
        let prefix = u8::try_from(u32_at(table, at)?).ok()?;
        Some((
            prefix,
            u32_at(table, at + 4)? as usize,
            u32_at(table, at + 8)? as usize,
        ))
    }

    fn search(&self, bytes: &[u8], start: usize, count: usize, key: &[u8]) -> Option<usize> {
        let keys = self.keys.slice(bytes);
        let (mut low, mut high) = (start, start.checked_add(count)?);
        while low < high {
            let middle = low + (high - low) / 2;
            match bytes_at(keys, middle.checked_mul(self.key_len)?, self.key_len)?.cmp(key) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return Some(middle),
            }
        }
        None
    }
}

fn reader_error(name: &'static str, reason: &'static str) -> FormatError {
    FormatError::inconsistent(name, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(blocks: Vec<(u32, u8, u32)>) -> (Vec<u8>, CidrView) {
        let prefixes = {
            let mut p: Vec<u8> = blocks.iter().map(|b| b.1).collect();
            p.sort_unstable();
            p.dedup();
            p.len()
        };
        let count = blocks.len();
        let mut out = Vec::new();
        write_cidr(&mut out, blocks, 4);
        assert_eq!(out.len(), cidr_len::<u32>(prefixes, count, 4));

        let view = CidrView::parse("test", &out, Span::new(0, out.len()), 4).unwrap();
        (out, view)
    }

    fn v4(a: u8, b: u8, c: u8, d: u8) -> u32 {
        u32::from_be_bytes([a, b, c, d])
    }

    #[test]
    fn most_specific_block_wins() {
        let (bytes, view) = table(vec![
            (v4(10, 0, 0, 0), 8, 1),
            (v4(10, 1, 0, 0), 16, 2),
            (v4(10, 1, 2, 0), 24, 3),
        ]);

        assert_eq!(view.lookup(&bytes, v4(10, 1, 2, 3)), Some((3, 24)));
        assert_eq!(view.lookup(&bytes, v4(10, 1, 9, 9)), Some((2, 16)));
        assert_eq!(view.lookup(&bytes, v4(10, 200, 0, 1)), Some((1, 8)));
    }

    #[test]
    fn outside_address_misses() {
        let (bytes, view) = table(vec![(v4(5, 63, 151, 0), 24, 1)]);

        assert_eq!(view.lookup(&bytes, v4(5, 63, 152, 1)), None);
    }

    #[test]
    fn zero_prefix_covers_everything() {
        let (bytes, view) = table(vec![(0, 0, 1)]);

        assert_eq!(view.lookup(&bytes, v4(203, 0, 113, 9)), Some((1, 0)));
    }

    #[test]
    fn exact_block_is_found() {
        let (bytes, view) = table(vec![(v4(10, 0, 0, 0), 8, 1), (v4(10, 1, 2, 0), 24, 3)]);

        assert_eq!(view.find_block(&bytes, v4(10, 0, 0, 0), 8), Some(1));
        assert_eq!(view.find_block(&bytes, v4(10, 0, 0, 0), 16), None);
    }

    #[test]
    fn disordered_groups_are_rejected() {
        let (mut bytes, _) = table(vec![(v4(10, 0, 0, 0), 8, 1), (v4(10, 1, 2, 0), 24, 3)]);
        let first_group = HEADER_LEN + COVERAGE_LEN;
        bytes[first_group..first_group + 4].copy_from_slice(&4u32.to_le_bytes());

        assert!(CidrView::parse("test", &bytes, Span::new(0, bytes.len()), 4).is_err());
    }
}
