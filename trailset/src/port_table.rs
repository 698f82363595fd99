//! The builder's table of `address:port` trails.

use std::hash::BuildHasher;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hashbrown::hash_table::Entry;
use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

use crate::host::canonical_ip;
use crate::ip_table::FxHashMap;

/// One IPv4 endpoint: 12 bytes, where a `HashMap<u64, u32>` entry would take 16.
#[derive(Clone, Copy, Debug)]
struct V4Slot {
    ip: u32,
    port: u16,
    value: u32,
}

impl V4Slot {
    fn hash(&self) -> u64 {
        hash_v4(self.ip, self.port)
    }
}

fn hash_v4(ip: u32, port: u16) -> u64 {
    FxBuildHasher.hash_one((u64::from(ip) << 16) | u64::from(port))
}

/// Trails of the form `address:port`, matched only when both agree.
#[derive(Clone, Debug, Default)]
pub(crate) struct PortTable {
    v4: HashTable<V4Slot>,
    v6: FxHashMap<(u128, u16), u32>,
}

impl PortTable {
    /// Inserts one endpoint and returns `true` if it was new. For an endpoint already present,
    /// `resolve` picks the value to keep from the stored one.
    pub(crate) fn insert(
        &mut self,
        ip: IpAddr,
        port: u16,
        value: u32,
        resolve: impl FnOnce(u32) -> u32,
    ) -> bool {
        let v4 = match canonical_ip(ip) {
            IpAddr::V4(v4) => u32::from(v4),
            IpAddr::V6(v6) => {
                return match self.v6.entry((u128::from(v6), port)) {
                    hashbrown::hash_map::Entry::Occupied(mut entry) => {
                        let chosen = resolve(*entry.get());
                        entry.insert(chosen);
                        false
                    }
                    hashbrown::hash_map::Entry::Vacant(entry) => {
                        entry.insert(value);
                        true
                    }
                };
            }
        };

        let same = |slot: &V4Slot| slot.ip == v4 && slot.port == port;
        match self.v4.entry(hash_v4(v4, port), same, V4Slot::hash) {
            Entry::Occupied(mut entry) => {
                let slot = entry.get_mut();
                slot.value = resolve(slot.value);
                false
            }
            Entry::Vacant(entry) => {
                entry.insert(V4Slot {
                    ip: v4,
                    port,
                    value,
                });
                true
            }
        }
    }

    /// Yields every IPv4 endpoint as ((address, port), value).
    pub(crate) fn v4_entries(&self) -> impl Iterator<Item = ((u32, u16), u32)> + '_ {
        self.v4
            .iter()
            .map(|slot| ((slot.ip, slot.port), slot.value))
    }

    /// Yields every IPv6 endpoint as ((address, port), value).
    pub(crate) fn v6_entries(&self) -> impl Iterator<Item = ((u128, u16), u32)> + '_ {
        self.v6.iter().map(|(endpoint, value)| (*endpoint, *value))
    }

    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut u32> {
        self.v4
            .iter_mut()
            .map(|slot| &mut slot.value)
            .chain(self.v6.values_mut())
    }

    /// Drops every endpoint whose address `drop` returns true for and returns how many.
    pub(crate) fn remove_where(&mut self, mut drop: impl FnMut(IpAddr) -> bool) -> usize {
        let before = self.len();
        self.v4
            .retain(|slot| !drop(IpAddr::V4(Ipv4Addr::from(slot.ip))));
        self.v6
            .retain(|(address, _), _| !drop(IpAddr::V6(Ipv6Addr::from(*address))));
        before - self.len()
    }

    pub(crate) fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
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
    fn v4_slot_is_twelve_bytes() {
        assert_eq!(size_of::<V4Slot>(), 12);
    }

    #[test]
    fn duplicate_endpoint_is_not_new() {
        let mut table = PortTable::default();
        table.insert(ip("1.2.3.4"), 443, 5, keep);

        assert!(!table.insert(ip("1.2.3.4"), 443, 6, keep));
    }

    #[test]
    fn other_port_is_new() {
        let mut table = PortTable::default();
        table.insert(ip("1.2.3.4"), 443, 5, keep);

        assert!(table.insert(ip("1.2.3.4"), 80, 6, keep));
    }

    #[test]
    fn mapped_endpoint_is_stored_as_ipv4() {
        let mut table = PortTable::default();
        table.insert(ip("::ffff:45.62.198.73"), 53, 1, keep);

        let entries: Vec<_> = table.v4_entries().collect();
        assert_eq!(entries, [((u32::from_be_bytes([45, 62, 198, 73]), 53), 1)]);
    }

    #[test]
    fn ipv6_endpoint_is_stored_apart() {
        let mut table = PortTable::default();
        table.insert(ip("2001:db8::66"), 443, 2, keep);

        assert_eq!(table.v6_entries().count(), 1);
        assert_eq!(table.v4_entries().count(), 0);
    }

    #[test]
    fn removal_matches_address() {
        let mut table = PortTable::default();
        table.insert(ip("1.2.3.4"), 443, 5, keep);
        table.insert(ip("1.2.3.5"), 443, 5, keep);

        assert_eq!(table.remove_where(|address| address == ip("1.2.3.4")), 1);
        assert_eq!(table.len(), 1);
    }
}
