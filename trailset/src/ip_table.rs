//! Address tables: exact IPv4/IPv6 addresses and CIDR blocks, with most-specific-match lookup.

use std::hash::{BuildHasher, Hash};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hashbrown::hash_map::Entry;
use rustc_hash::FxBuildHasher;

use crate::host::canonical_ip;
use crate::presence::PresenceFilter;

pub(crate) type FxHashMap<K, V> = hashbrown::HashMap<K, V, FxBuildHasher>;

/// The number of leading address bits that index the CIDR coverage bitmap (65,536 bits, 8 KiB).
const COVERAGE_BITS: u32 = 16;

/// An address as an unsigned integer (`u32` for IPv4, `u128` for IPv6).
pub(crate) trait AddressBits: Copy + Eq + Hash {
    const WIDTH: u8;

    /// Clears every bit after the first `prefix` bits.
    fn masked(self, prefix: u8) -> Self;

    /// Returns the first 16 bits, as a coverage bitmap index.
    fn top_bits(self) -> usize;
}

impl AddressBits for u32 {
    const WIDTH: u8 = 32;

    fn masked(self, prefix: u8) -> u32 {
        match u32::MAX.checked_shl(u32::from(Self::WIDTH - prefix.min(Self::WIDTH))) {
            Some(mask) => self & mask,
            None => 0,
        }
    }

    fn top_bits(self) -> usize {
        (self >> (u32::BITS - COVERAGE_BITS)) as usize
    }
}

impl AddressBits for u128 {
    const WIDTH: u8 = 128;

    fn masked(self, prefix: u8) -> u128 {
        match u128::MAX.checked_shl(u32::from(Self::WIDTH - prefix.min(Self::WIDTH))) {
            Some(mask) => self & mask,
            None => 0,
        }
    }

    fn top_bits(self) -> usize {
        (self >> (u128::BITS - COVERAGE_BITS)) as usize
    }
}

/// Returns the network of `ip/prefix` with host bits cleared. An IPv4-mapped IPv6 block of
/// /96 or longer becomes the IPv4 block it maps.
pub(crate) fn canonical_network(ip: IpAddr, prefix: u8) -> (IpAddr, u8) {
    let (ip, prefix) = match ip {
        IpAddr::V6(v6) if prefix >= 96 => match v6.to_ipv4_mapped() {
            Some(v4) => (IpAddr::V4(v4), prefix - 96),
            None => (ip, prefix),
        },
        _ => (ip, prefix),
    };

    match ip {
        IpAddr::V4(v4) => (
            IpAddr::V4(Ipv4Addr::from(u32::from(v4).masked(prefix))),
            prefix,
        ),
        IpAddr::V6(v6) => (
            IpAddr::V6(Ipv6Addr::from(u128::from(v6).masked(prefix))),
            prefix,
        ),
    }
}

/// CIDR blocks of one address family, in one hash table per prefix length that occurs.
///
/// A lookup probes only the prefix lengths present, longest first, and only when the coverage
/// bitmap shows that some block overlaps the address's first 16 bits, so a miss usually costs one bit
/// test.
#[derive(Clone, Debug)]
pub(crate) struct CidrTable<K, V> {
    /// Tables sorted by prefix length, longest first.
    by_prefix: Vec<(u8, FxHashMap<K, V>)>,
    /// One bit per 16-bit address prefix that some block overlaps, empty while no block exists.
    coverage: Vec<u64>,
}

impl<K: AddressBits, V: Copy> CidrTable<K, V> {
    fn new() -> CidrTable<K, V> {
        CidrTable {
            by_prefix: Vec::new(),
            coverage: Vec::new(),
        }
    }

    /// Inserts a block whose host bits are already clear and returns `true` if it was new. For
    /// a block already present, `resolve` picks the value to keep from the stored one.
    fn insert(&mut self, network: K, prefix: u8, value: V, resolve: impl FnOnce(V) -> V) -> bool {
        let position = match self.by_prefix.iter().position(|(p, _)| *p <= prefix) {
            Some(position) if self.by_prefix[position].0 == prefix => position,
            Some(position) => {
                self.by_prefix
                    .insert(position, (prefix, FxHashMap::default()));
                position
            }
            None => {
                self.by_prefix.push((prefix, FxHashMap::default()));
                self.by_prefix.len() - 1
            }
        };

        let added = match self.by_prefix[position].1.entry(network) {
            Entry::Occupied(mut entry) => {
                let chosen = resolve(*entry.get());
                entry.insert(chosen);
                false
            }
            Entry::Vacant(entry) => {
                entry.insert(value);
                true
            }
        };

        self.mark_coverage(network, prefix);
        added
    }

    fn mark_coverage(&mut self, network: K, prefix: u8) {
        if self.coverage.is_empty() {
            self.coverage = vec![0; (1 << COVERAGE_BITS) / 64];
        }

        let first = network.top_bits();
        let span = match COVERAGE_BITS.checked_sub(u32::from(prefix)) {
            Some(free_bits) => 1usize << free_bits,
            None => 1,
        };
        for index in first..first + span {
            self.coverage[index / 64] |= 1 << (index % 64);
        }
    }

    /// Finds the longest block containing `address`.
    /// Returns false only when no stored block can contain `address`.
    fn may_cover(&self, address: K) -> bool {
        let index = address.top_bits();
        self.coverage
            .get(index / 64)
            .is_some_and(|word| word & (1 << (index % 64)) != 0)
    }

    fn lookup(&self, address: K) -> Option<(V, u8)> {
        if !self.may_cover(address) {
            return None;
        }

        self.by_prefix.iter().find_map(|(prefix, table)| {
            table
                .get(&address.masked(*prefix))
                .map(|value| (*value, *prefix))
        })
    }

    fn len(&self) -> usize {
        self.by_prefix.iter().map(|(_, table)| table.len()).sum()
    }

    fn shrink_to_fit(&mut self) {
        for (_, table) in &mut self.by_prefix {
            table.shrink_to_fit();
        }
    }

    fn memory_bytes(&self) -> usize {
        let tables: usize = self
            .by_prefix
            .iter()
            .map(|(_, table)| table.allocation_size())
            .sum();
        tables + self.coverage.capacity() * size_of::<u64>()
    }
}

/// Exact addresses and CIDR blocks of both families.
///
/// Every address is stored and looked up in canonical form (IPv4-mapped IPv6 as IPv4).
#[derive(Clone, Debug)]
pub(crate) struct IpTable<V> {
    v4: FxHashMap<u32, V>,
    /// Presence filter over `v4`, built by [`IpTable::shrink_to_fit`]; `None` while entries
    /// are still being inserted.
    v4_filter: Option<PresenceFilter>,
    v6: FxHashMap<u128, V>,
    cidr_v4: CidrTable<u32, V>,
    cidr_v6: CidrTable<u128, V>,
}

impl<V: Copy> Default for IpTable<V> {
    fn default() -> IpTable<V> {
        IpTable {
            v4: FxHashMap::default(),
            v4_filter: None,
            v6: FxHashMap::default(),
            cidr_v4: CidrTable::new(),
            cidr_v6: CidrTable::new(),
        }
    }
}

impl<V: Copy> IpTable<V> {
    /// Inserts one address and returns `true` if it was new. For an address already present,
    /// `resolve` picks the value to keep from the stored one.
    pub(crate) fn insert_ip(&mut self, ip: IpAddr, value: V, resolve: impl FnOnce(V) -> V) -> bool {
        self.v4_filter = None;
        match canonical_ip(ip) {
            IpAddr::V4(v4) => insert_exact(&mut self.v4, u32::from(v4), value, resolve),
            IpAddr::V6(v6) => insert_exact(&mut self.v6, u128::from(v6), value, resolve),
        }
    }

    /// Inserts one CIDR block, clearing its host bits first. Returns `true` if it was new.
    pub(crate) fn insert_cidr(
        &mut self,
        ip: IpAddr,
        prefix: u8,
        value: V,
        resolve: impl FnOnce(V) -> V,
    ) -> bool {
        match canonical_network(ip, prefix) {
            (IpAddr::V4(v4), prefix) => {
                self.cidr_v4
                    .insert(u32::from(v4), prefix.min(32), value, resolve)
            }
            (IpAddr::V6(v6), prefix) => {
                self.cidr_v6
                    .insert(u128::from(v6), prefix.min(128), value, resolve)
            }
        }
    }

    /// Finds the exact address, then the longest CIDR block containing it. The prefix length
    /// is `None` for an exact match.
    pub(crate) fn lookup(&self, ip: IpAddr) -> Option<(V, Option<u8>)> {
        match canonical_ip(ip) {
            IpAddr::V4(v4) => {
                let address = u32::from(v4);
                let filter = self.v4_filter.as_ref();
                let maybe_exact =
                    filter.is_none_or(|f| f.may_contain(FxBuildHasher.hash_one(address)));
                if let Some(value) = maybe_exact.then(|| self.v4.get(&address)).flatten() {
                    return Some((*value, None));
                }
                self.cidr_v4
                    .lookup(address)
                    .map(|(value, prefix)| (value, Some(prefix)))
            }
            IpAddr::V6(v6) => {
                let address = u128::from(v6);
                if let Some(value) = self.v6.get(&address) {
                    return Some((*value, None));
                }
                self.cidr_v6
                    .lookup(address)
                    .map(|(value, prefix)| (value, Some(prefix)))
            }
        }
    }

    /// The exact IPv4 addresses stored.
    pub(crate) fn v4_addresses(&self) -> impl Iterator<Item = u32> + '_ {
        self.v4.keys().copied()
    }

    /// Returns false only when no IPv4 CIDR block can contain `address`.
    pub(crate) fn cidr_v4_may_cover(&self, address: u32) -> bool {
        self.cidr_v4.may_cover(address)
    }

    pub(crate) fn exact_len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    pub(crate) fn cidr_len(&self) -> usize {
        self.cidr_v4.len() + self.cidr_v6.len()
    }

    /// Releases spare capacity and builds the IPv4 presence filter; call when loading is done.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.v4.shrink_to_fit();
        let hashes = self
            .v4
            .keys()
            .map(|address| FxBuildHasher.hash_one(*address));
        self.v4_filter = Some(PresenceFilter::from_hashes(self.v4.len(), hashes));
        self.v6.shrink_to_fit();
        self.cidr_v4.shrink_to_fit();
        self.cidr_v6.shrink_to_fit();
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        self.v4.allocation_size()
            + self
                .v4_filter
                .as_ref()
                .map_or(0, PresenceFilter::memory_bytes)
            + self.v6.allocation_size()
            + self.cidr_v4.memory_bytes()
            + self.cidr_v6.memory_bytes()
    }
}

fn insert_exact<K: Eq + Hash, V: Copy>(
    table: &mut FxHashMap<K, V>,
    key: K,
    value: V,
    resolve: impl FnOnce(V) -> V,
) -> bool {
    match table.entry(key) {
        Entry::Occupied(mut entry) => {
            let chosen = resolve(*entry.get());
            entry.insert(chosen);
            false
        }
        Entry::Vacant(entry) => {
            entry.insert(value);
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn keep(stored: u32) -> u32 {
        stored
    }

    #[test]
    fn exact_ipv4_is_found() {
        let mut table = IpTable::default();
        table.insert_ip(ip("1.2.3.4"), 7, keep);

        assert_eq!(table.lookup(ip("1.2.3.4")), Some((7, None)));
    }

    #[test]
    fn neighbouring_ipv4_is_not_found() {
        let mut table = IpTable::default();
        table.insert_ip(ip("1.2.3.4"), 7, keep);

        assert_eq!(table.lookup(ip("1.2.3.5")), None);
    }

    #[test]
    fn mapped_ipv6_finds_ipv4_entry() {
        let mut table = IpTable::default();
        table.insert_ip(ip("1.2.3.4"), 7, keep);

        assert_eq!(table.lookup(ip("::ffff:1.2.3.4")), Some((7, None)));
    }

    #[test]
    fn exact_ipv6_is_found() {
        let mut table = IpTable::default();
        table.insert_ip(ip("2001:db8::1"), 3, keep);

        assert_eq!(table.lookup(ip("2001:db8::1")), Some((3, None)));
    }

    #[test]
    fn cidr_contains_address() {
        let mut table = IpTable::default();
        table.insert_cidr(ip("5.63.151.0"), 24, 1, keep);

        assert_eq!(table.lookup(ip("5.63.151.200")), Some((1, Some(24))));
    }

    #[test]
    fn cidr_excludes_outside_address() {
        let mut table = IpTable::default();
        table.insert_cidr(ip("5.63.151.0"), 24, 1, keep);

        assert_eq!(table.lookup(ip("5.63.152.1")), None);
    }

    #[test]
    fn most_specific_cidr_wins() {
        let mut table = IpTable::default();
        table.insert_cidr(ip("10.0.0.0"), 8, 1, keep);
        table.insert_cidr(ip("10.1.0.0"), 16, 2, keep);
        table.insert_cidr(ip("10.1.2.0"), 24, 3, keep);

        assert_eq!(table.lookup(ip("10.1.2.3")), Some((3, Some(24))));
    }

    #[test]
    fn shorter_cidr_covers_rest() {
        let mut table = IpTable::default();
        table.insert_cidr(ip("10.0.0.0"), 8, 1, keep);
        table.insert_cidr(ip("10.1.2.0"), 24, 3, keep);

        assert_eq!(table.lookup(ip("10.200.0.1")), Some((1, Some(8))));
    }

    #[test]
    fn exact_address_beats_cidr() {
        let mut table = IpTable::default();
        table.insert_cidr(ip("1.2.3.0"), 24, 1, keep);
        table.insert_ip(ip("1.2.3.4"), 2, keep);

        assert_eq!(table.lookup(ip("1.2.3.4")), Some((2, None)));
    }

    #[test]
    fn zero_prefix_covers_everything() {
        let mut table = IpTable::default();
        table.insert_cidr(ip("0.0.0.0"), 0, 1, keep);

        assert_eq!(table.lookup(ip("203.0.113.9")), Some((1, Some(0))));
    }

    #[test]
    fn ipv6_cidr_contains_address() {
        let mut table = IpTable::default();
        table.insert_cidr(ip("2001:db8::"), 32, 4, keep);

        assert_eq!(table.lookup(ip("2001:db8:1::5")), Some((4, Some(32))));
    }

    #[test]
    fn mapped_ipv6_cidr_becomes_ipv4() {
        assert_eq!(
            canonical_network(ip("::ffff:10.1.2.3"), 120),
            (ip("10.1.2.0"), 24)
        );
    }

    #[test]
    fn duplicate_insert_reports_existing() {
        let mut table = IpTable::default();
        table.insert_ip(ip("1.2.3.4"), 7, keep);

        assert!(!table.insert_ip(ip("1.2.3.4"), 8, keep));
    }

    #[test]
    fn resolve_replaces_stored_value() {
        let mut table = IpTable::default();
        table.insert_ip(ip("1.2.3.4"), 7, keep);
        table.insert_ip(ip("1.2.3.4"), 8, |_| 8);

        assert_eq!(table.lookup(ip("1.2.3.4")), Some((8, None)));
    }
}
