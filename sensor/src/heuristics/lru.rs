//! A map with a fixed maximum number of entries that evicts the least recently used one.
//!
//! Every heuristic table is one of these, so a flood of distinct keys costs at most
//! `capacity` entries and each eviction is counted. Lookups and inserts are O(1): the entries
//! sit in a slab, linked in use order, and a hash map points from key to slot. The hash map
//! uses hashbrown's default hasher, which is seeded per process, so an attacker cannot pick
//! addresses that collide.

use std::hash::Hash;

use hashbrown::HashMap;

use super::TableStats;

/// Slot number that marks the end of the use-order list.
const NONE: u32 = u32::MAX;

struct Node<K, V> {
    key: K,
    value: V,
    /// Next more recently used slot.
    newer: u32,
    /// Next less recently used slot.
    older: u32,
}

/// A bounded map with least-recently-used eviction.
pub struct LruMap<K, V> {
    name: &'static str,
    capacity: usize,
    slots: HashMap<K, u32>,
    nodes: Vec<Node<K, V>>,
    newest: u32,
    oldest: u32,
    evictions: u64,
}

impl<K: Copy + Hash + Eq, V> LruMap<K, V> {
    /// Creates an empty map, named `name` in the statistics, of at most `capacity`
    /// entries (at least 1, and at most `u32::MAX - 1`).
    pub fn new(name: &'static str, capacity: usize) -> LruMap<K, V> {
        let capacity = capacity.clamp(1, (NONE - 1) as usize);
        LruMap {
            name,
            capacity,
            slots: HashMap::new(),
            nodes: Vec::new(),
            newest: NONE,
            oldest: NONE,
            evictions: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Returns the value of `key` and marks it most recently used.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let slot = *self.slots.get(key)?;
        self.touch(slot);
        Some(&mut self.nodes[slot as usize].value)
    }

    /// Returns the value of `key`, inserting `make()` first when it is missing, and marks it
    /// most recently used. Inserting into a full map evicts the least recently used entry.
    pub fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        if let Some(&slot) = self.slots.get(&key) {
            self.touch(slot);
            return &mut self.nodes[slot as usize].value;
        }

        if self.nodes.len() >= self.capacity {
            self.remove_slot(self.oldest);
            self.evictions += 1;
        }
        let slot = self.nodes.len() as u32;
        self.nodes.push(Node {
            key,
            value: make(),
            newer: NONE,
            older: NONE,
        });
        self.slots.insert(key, slot);
        self.link_newest(slot);
        &mut self.nodes[slot as usize].value
    }

    /// Removes entries from the least recently used end while `stale` returns true for them,
    /// and returns how many it removed. Expiry uses this: with packet times that only grow,
    /// use order is last-seen order, so the stale entries are the oldest ones.
    pub fn remove_oldest_while(&mut self, mut stale: impl FnMut(&V) -> bool) -> usize {
        let mut removed = 0;
        while self.oldest != NONE && stale(&self.nodes[self.oldest as usize].value) {
            self.remove_slot(self.oldest);
            removed += 1;
        }
        removed
    }

    pub fn clear(&mut self) {
        self.slots.clear();
        self.nodes.clear();
        self.newest = NONE;
        self.oldest = NONE;
    }

    /// Returns the occupancy and eviction count for the statistics.
    pub fn stats(&self) -> TableStats {
        TableStats {
            name: self.name,
            len: self.nodes.len(),
            capacity: self.capacity,
            evictions: self.evictions,
        }
    }

    fn touch(&mut self, slot: u32) {
        if slot == self.newest {
            return;
        }
        self.unlink(slot);
        self.link_newest(slot);
    }

    fn link_newest(&mut self, slot: u32) {
        let node = &mut self.nodes[slot as usize];
        node.older = self.newest;
        node.newer = NONE;
        if self.newest != NONE {
            self.nodes[self.newest as usize].newer = slot;
        }
        self.newest = slot;
        if self.oldest == NONE {
            self.oldest = slot;
        }
    }

    fn unlink(&mut self, slot: u32) {
        let Node { newer, older, .. } = self.nodes[slot as usize];
        match newer {
            NONE => self.newest = older,
            newer => self.nodes[newer as usize].older = older,
        }
        match older {
            NONE => self.oldest = newer,
            older => self.nodes[older as usize].newer = newer,
        }
    }

    /// Removes the entry in `slot` and moves the last slab entry into the hole, so the slab
    /// stays dense.
    fn remove_slot(&mut self, slot: u32) {
        self.unlink(slot);
        let key = self.nodes[slot as usize].key;
        self.slots.remove(&key);
        self.nodes.swap_remove(slot as usize);

        // The former last entry now sits in `slot`: repoint its neighbours and its key.
        if (slot as usize) < self.nodes.len() {
            let Node {
                key, newer, older, ..
            } = self.nodes[slot as usize];
            match newer {
                NONE => self.newest = slot,
                newer => self.nodes[newer as usize].older = slot,
            }
            match older {
                NONE => self.oldest = slot,
                older => self.nodes[older as usize].newer = slot,
            }
            self.slots.insert(key, slot);
        }
    }
}

impl<K, V> std::fmt::Debug for LruMap<K, V> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("LruMap")
            .field("name", &self.name)
            .field("len", &self.nodes.len())
            .field("capacity", &self.capacity)
            .field("evictions", &self.evictions)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(map: &mut LruMap<u32, u32>) -> Vec<u32> {
        let mut present: Vec<u32> = (0..100).filter(|k| map.slots.contains_key(k)).collect();
        present.sort_unstable();
        present
    }

    #[test]
    fn full_map_evicts_least_recent() {
        let mut map = LruMap::new("test", 3);
        for key in 0..3 {
            *map.get_or_insert_with(key, || 0) = key * 10;
        }
        map.get_mut(&0);
        map.get_or_insert_with(3, || 30);
        assert_eq!(keys(&mut map), vec![0, 2, 3]);
        assert_eq!(map.stats().evictions, 1);
        assert_eq!(map.get_mut(&0).copied(), Some(0));
        assert_eq!(map.get_mut(&3).copied(), Some(30));
    }

    #[test]
    fn flood_stays_within_capacity() {
        let mut map = LruMap::new("test", 100);
        for key in 0..100_000u32 {
            map.get_or_insert_with(key, || key);
            assert!(map.len() <= 100);
        }
        assert_eq!(map.stats().evictions, 100_000 - 100);
        // The survivors are the last 100 keys, with their own values.
        for key in 99_900..100_000 {
            assert_eq!(map.get_mut(&key).copied(), Some(key));
        }
    }

    #[test]
    fn remove_oldest_stops_at_fresh_entry() {
        let mut map = LruMap::new("test", 10);
        for key in 0..5u32 {
            map.get_or_insert_with(key, || key);
        }
        map.get_mut(&1);
        let removed = map.remove_oldest_while(|&value| value != 3);
        // Use order oldest first: 0, 2, 3, 4, 1; removal stops at 3.
        assert_eq!(removed, 2);
        assert_eq!(keys(&mut map), vec![1, 3, 4]);
        assert_eq!(map.stats().evictions, 0);
    }

    #[test]
    fn order_survives_slot_moves() {
        let mut map = LruMap::new("test", 4);
        for key in 0..4u32 {
            map.get_or_insert_with(key, || key);
        }
        // Evicting key 0 moves key 3 into slot 0; the use order must still be 1, 2, 3, 4.
        map.get_or_insert_with(4, || 4);
        map.get_or_insert_with(5, || 5);
        map.get_or_insert_with(6, || 6);
        assert_eq!(keys(&mut map), vec![3, 4, 5, 6]);
        let removed = map.remove_oldest_while(|_| true);
        assert_eq!(removed, 4);
        assert!(map.is_empty());
    }
}
