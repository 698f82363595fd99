//! Address tables: exact IPv4/IPv6 addresses and CIDR blocks, with most-specific-match lookup.
//!
//! The builder deduplicates address trails in these tables, and the whitelist matches
//! against them directly.

use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hashbrown::hash_map::Entry;
use rustc_hash::FxBuildHasher;

use crate::host::canonical_ip;

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

    /// Tells whether some block of prefix length `prefix` or shorter contains the whole
    /// block `network/prefix`.
    fn covers_block(&self, network: K, prefix: u8) -> bool {
        self.by_prefix
            .iter()
            .filter(|(stored, _)| *stored <= prefix)
            .any(|(stored, table)| table.contains_key(&network.masked(*stored)))
    }

    /// Yields every block as (network, prefix length, value).
    fn entries(&self) -> impl Iterator<Item = (K, u8, V)> + '_ {
        self.by_prefix.iter().flat_map(|(prefix, table)| {
            table
                .iter()
                .map(move |(network, value)| (*network, *prefix, *value))
        })
    }

    fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.by_prefix
            .iter_mut()
            .flat_map(|(_, table)| table.values_mut())
    }

    fn remove_where(&mut self, mut drop: impl FnMut(K, u8) -> bool) -> usize {
        let mut dropped = 0;
        for (prefix, table) in &mut self.by_prefix {
            let before = table.len();
            table.retain(|network, _| !drop(*network, *prefix));
            dropped += before - table.len();
        }
        dropped
    }
}

/// Exact addresses and CIDR blocks of both families.
///
/// Every address is stored and looked up in canonical form (IPv4-mapped IPv6 as IPv4).
#[derive(Clone, Debug)]
pub(crate) struct IpTable<V> {
    v4: FxHashMap<u32, V>,
    v6: FxHashMap<u128, V>,
    cidr_v4: CidrTable<u32, V>,
    cidr_v6: CidrTable<u128, V>,
}

impl<V: Copy> Default for IpTable<V> {
    fn default() -> IpTable<V> {
        IpTable {
            v4: FxHashMap::default(),
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
                if let Some(value) = self.v4.get(&address) {
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

    /// Tells whether the table covers every address of `ip/prefix`: an exact address for a
    /// full-length prefix, or a block of that prefix length or shorter.
    pub(crate) fn covers_block(&self, ip: IpAddr, prefix: u8) -> bool {
        let (network, prefix) = canonical_network(ip, prefix);
        let exact = match network {
            IpAddr::V4(_) => prefix >= 32,
            IpAddr::V6(_) => prefix >= 128,
        };
        if exact && self.lookup(network).is_some_and(|(_, p)| p.is_none()) {
            return true;
        }
        match network {
            IpAddr::V4(v4) => self.cidr_v4.covers_block(u32::from(v4), prefix),
            IpAddr::V6(v6) => self.cidr_v6.covers_block(u128::from(v6), prefix),
        }
    }

    pub(crate) fn v4_entries(&self) -> impl Iterator<Item = (u32, V)> + '_ {
        self.v4.iter().map(|(address, value)| (*address, *value))
    }

    pub(crate) fn v6_entries(&self) -> impl Iterator<Item = (u128, V)> + '_ {
        self.v6.iter().map(|(address, value)| (*address, *value))
    }

    pub(crate) fn cidr_v4_entries(&self) -> impl Iterator<Item = (u32, u8, V)> + '_ {
        self.cidr_v4.entries()
    }

    pub(crate) fn cidr_v6_entries(&self) -> impl Iterator<Item = (u128, u8, V)> + '_ {
        self.cidr_v6.entries()
    }

    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.v4
            .values_mut()
            .chain(self.v6.values_mut())
            .chain(self.cidr_v4.values_mut())
            .chain(self.cidr_v6.values_mut())
    }

    /// Drops every exact address for which `drop` returns true and returns how many.
    pub(crate) fn remove_exact_where(&mut self, mut drop: impl FnMut(IpAddr) -> bool) -> usize {
        let before = self.exact_len();
        self.v4
            .retain(|address, _| !drop(IpAddr::V4(Ipv4Addr::from(*address))));
        self.v6
            .retain(|address, _| !drop(IpAddr::V6(Ipv6Addr::from(*address))));
        before - self.exact_len()
    }

    /// Drops every block for which `drop` returns true and returns how many.
    pub(crate) fn remove_cidr_where(&mut self, mut drop: impl FnMut(IpAddr, u8) -> bool) -> usize {
        let v4 = self
            .cidr_v4
            .remove_where(|network, prefix| drop(IpAddr::V4(Ipv4Addr::from(network)), prefix));
        let v6 = self
            .cidr_v6
            .remove_where(|network, prefix| drop(IpAddr::V6(Ipv6Addr::from(network)), prefix));
        v4 + v6
    }

    pub(crate) fn exact_len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    pub(crate) fn cidr_len(&self) -> usize {
        self.cidr_v4.len() + self.cidr_v6.len()
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
