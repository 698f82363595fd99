//! The IP:port table.

use std::hash::BuildHasher;
use std::net::IpAddr;

use hashbrown::hash_table::Entry;
use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

use crate::host::canonical_ip;
use crate::ip_table::FxHashMap;
use crate::presence::PresenceFilter;
use crate::SourceId;

/// One IPv4 endpoint: 12 bytes, where a `HashMap<u64, SourceId>` entry would take 16.
#[derive(Clone, Copy, Debug)]
struct V4Slot {
    ip: u32,
    port: u16,
    source: SourceId,
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
    v6: FxHashMap<(u128, u16), SourceId>,
    /// Addresses (without port) of the IPv4 entries, built by [`PortTable::shrink_to_fit`];
    /// `None` while entries are still being inserted.
    v4_addresses: Option<PresenceFilter>,
}

fn hash_address(ip: u32) -> u64 {
    FxBuildHasher.hash_one(ip)
}

impl PortTable {
    /// Inserts one endpoint and returns `true` if it was new. For an endpoint already present,
    /// `resolve` picks the source to keep from the stored one.
    pub(crate) fn insert(
        &mut self,
        ip: IpAddr,
        port: u16,
        source: SourceId,
        resolve: impl FnOnce(SourceId) -> SourceId,
    ) -> bool {
        let v4 = match canonical_ip(ip) {
            IpAddr::V4(v4) => u32::from(v4),
            IpAddr::V6(v6) => {
                let entry = self.v6.entry((u128::from(v6), port));
                return match entry {
                    hashbrown::hash_map::Entry::Occupied(mut entry) => {
                        let chosen = resolve(*entry.get());
                        entry.insert(chosen);
                        false
                    }
                    hashbrown::hash_map::Entry::Vacant(entry) => {
                        entry.insert(source);
                        true
                    }
                };
            }
        };

        self.v4_addresses = None;
        let hash = hash_v4(v4, port);
        let same = |slot: &V4Slot| slot.ip == v4 && slot.port == port;
        match self.v4.entry(hash, same, V4Slot::hash) {
            Entry::Occupied(mut entry) => {
                let slot = entry.get_mut();
                slot.source = resolve(slot.source);
                false
            }
            Entry::Vacant(entry) => {
                entry.insert(V4Slot {
                    ip: v4,
                    port,
                    source,
                });
                true
            }
        }
    }

    pub(crate) fn lookup(&self, ip: IpAddr, port: u16) -> Option<SourceId> {
        match canonical_ip(ip) {
            IpAddr::V4(v4) => {
                let v4 = u32::from(v4);
                let filter = self.v4_addresses.as_ref();
                if filter.is_some_and(|filter| !filter.may_contain(hash_address(v4))) {
                    return None;
                }
                let same = |slot: &V4Slot| slot.ip == v4 && slot.port == port;
                self.v4
                    .find(hash_v4(v4, port), same)
                    .map(|slot| slot.source)
            }
            IpAddr::V6(v6) => self.v6.get(&(u128::from(v6), port)).copied(),
        }
    }

    /// The IPv4 addresses of the stored endpoints, once per endpoint.
    pub(crate) fn v4_addresses(&self) -> impl Iterator<Item = u32> + '_ {
        self.v4.iter().map(|slot| slot.ip)
    }

    pub(crate) fn v4_len(&self) -> usize {
        self.v4.len()
    }

    /// Releases spare capacity and builds the address filter; call when loading is done.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.v4.shrink_to_fit(V4Slot::hash);
        self.v6.shrink_to_fit();
        let hashes = self.v4.iter().map(|slot| hash_address(slot.ip));
        self.v4_addresses = Some(PresenceFilter::from_hashes(self.v4.len(), hashes));
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        let filter = self
            .v4_addresses
            .as_ref()
            .map_or(0, PresenceFilter::memory_bytes);
        self.v4.allocation_size() + self.v6.allocation_size() + filter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn keep(stored: SourceId) -> SourceId {
        stored
    }

    #[test]
    fn v4_slot_is_twelve_bytes() {
        assert_eq!(size_of::<V4Slot>(), 12);
    }

    #[test]
    fn endpoint_is_found() {
        let mut table = PortTable::default();
        table.insert(ip("1.2.3.4"), 443, SourceId(5), keep);

        assert_eq!(table.lookup(ip("1.2.3.4"), 443), Some(SourceId(5)));
    }

    #[test]
    fn other_port_is_not_found() {
        let mut table = PortTable::default();
        table.insert(ip("1.2.3.4"), 443, SourceId(5), keep);

        assert_eq!(table.lookup(ip("1.2.3.4"), 80), None);
    }

    #[test]
    fn ipv6_endpoint_is_found() {
        let mut table = PortTable::default();
        table.insert(ip("2001:db8::66"), 443, SourceId(2), keep);

        assert_eq!(table.lookup(ip("2001:db8::66"), 443), Some(SourceId(2)));
    }

    #[test]
    fn mapped_endpoint_matches_ipv4() {
        let mut table = PortTable::default();
        table.insert(ip("::ffff:45.62.198.73"), 53, SourceId(1), keep);

        assert_eq!(table.lookup(ip("45.62.198.73"), 53), Some(SourceId(1)));
    }

    #[test]
    fn duplicate_endpoint_is_not_new() {
        let mut table = PortTable::default();
        table.insert(ip("1.2.3.4"), 443, SourceId(5), keep);

        assert!(!table.insert(ip("1.2.3.4"), 443, SourceId(6), keep));
    }
}
