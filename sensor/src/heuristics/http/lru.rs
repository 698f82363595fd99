//! A map with a fixed capacity that evicts its least recently used entry to make room.
//!
//! Entries live in a slab and are linked in recency order by index, so lookup, insertion and
//! eviction cost O(1) and memory grows with use up to the capacity.

use std::hash::Hash;

use rustc_hash::FxHashMap;

/// Slab index meaning "no entry".
const NONE: usize = usize::MAX;

struct Node<K, V> {
    key: K,
    value: V,
    /// The next more recently used entry.
    newer: usize,
    /// The next less recently used entry.
    older: usize,
}

/// Map of at most `capacity` entries. Inserting into a full map evicts the entry that was
/// least recently inserted or returned by [`Lru::get_mut`], and counts it in
/// [`Lru::evictions`].
pub struct Lru<K, V> {
    index: FxHashMap<K, usize>,
    nodes: Vec<Node<K, V>>,
    capacity: usize,
    newest: usize,
    oldest: usize,
    evictions: u64,
}

impl<K: Hash + Eq + Clone, V> Lru<K, V> {
    /// Creates an empty map. A capacity of 0 is raised to 1.
    pub fn new(capacity: usize) -> Lru<K, V> {
        Lru {
            index: FxHashMap::default(),
            nodes: Vec::new(),
            capacity: capacity.max(1),
            newest: NONE,
            oldest: NONE,
            evictions: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Number of entries evicted to make room since the map was created.
    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    /// Returns the value of `key` and marks it as the most recently used entry.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let slot = *self.index.get(key)?;
        self.unlink(slot);
        self.push_newest(slot);
        Some(&mut self.nodes[slot].value)
    }

    /// Inserts or replaces the value of `key` as the most recently used entry, evicting the
    /// least recently used entry if the map is full.
    pub fn insert(&mut self, key: K, value: V) -> &mut V {
        if let Some(&slot) = self.index.get(&key) {
            self.unlink(slot);
            self.push_newest(slot);
            self.nodes[slot].value = value;
            return &mut self.nodes[slot].value;
        }

        let slot = if self.nodes.len() < self.capacity {
            self.nodes.push(Node {
                key: key.clone(),
                value,
                newer: NONE,
                older: NONE,
            });
            self.nodes.len() - 1
        } else {
            // Reuse the slot of the least recently used entry.
            let slot = self.oldest;
            self.unlink(slot);
            let old_key = std::mem::replace(&mut self.nodes[slot].key, key.clone());
            self.index.remove(&old_key);
            self.nodes[slot].value = value;
            self.evictions += 1;
            slot
        };
        self.index.insert(key, slot);
        self.push_newest(slot);
        &mut self.nodes[slot].value
    }

    fn unlink(&mut self, slot: usize) {
        let (newer, older) = (self.nodes[slot].newer, self.nodes[slot].older);
        match newer {
            NONE => self.newest = older,
            newer => self.nodes[newer].older = older,
        }
        match older {
            NONE => self.oldest = newer,
            older => self.nodes[older].newer = newer,
        }
    }

    fn push_newest(&mut self, slot: usize) {
        self.nodes[slot].newer = NONE;
        self.nodes[slot].older = self.newest;
        match self.newest {
            NONE => self.oldest = slot,
            newest => self.nodes[newest].newer = slot,
        }
        self.newest = slot;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_map_evicts_least_recent() {
        let mut map = Lru::new(3);
        map.insert(1, "a");
        map.insert(2, "b");
        map.insert(3, "c");
        assert_eq!(map.get_mut(&1), Some(&mut "a"));

        map.insert(4, "d");
        assert_eq!(map.len(), 3);
        assert_eq!(map.evictions(), 1);
        assert!(map.get_mut(&2).is_none(), "2 was the least recently used");
        assert!(map.get_mut(&1).is_some());
        assert!(map.get_mut(&3).is_some());
        assert!(map.get_mut(&4).is_some());
    }

    #[test]
    fn replacing_value_evicts_nothing() {
        let mut map = Lru::new(2);
        map.insert(1, 10);
        map.insert(1, 11);
        map.insert(2, 20);
        assert_eq!(map.len(), 2);
        assert_eq!(map.evictions(), 0);
        assert_eq!(map.get_mut(&1), Some(&mut 11));
    }

    #[test]
    fn capacity_one_keeps_newest() {
        let mut map = Lru::new(0);
        for key in 0..100 {
            map.insert(key, key);
        }
        assert_eq!(map.len(), 1);
        assert_eq!(map.evictions(), 99);
        assert_eq!(map.get_mut(&99), Some(&mut 99));
    }
}
