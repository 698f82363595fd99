//! A bounded table of per-key counters that restart every window.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

use rustc_hash::FxBuildHasher;

use crate::heuristics::TableStats;

/// A map from keys to values that belong to a time window, with a maximum number of entries.
///
/// Eviction rule: when a new key arrives and the table is full, the entry whose window started
/// first is removed and counted in [`TableStats::evictions`]. A key whose window has ended
/// restarts with a fresh value when it is next seen, and so moves to the back of that order.
/// Time is the packet time in seconds, so a replayed capture behaves like live traffic.
pub(super) struct WindowTable<K, V> {
    name: &'static str,
    capacity: usize,
    window_secs: i64,
    entries: HashMap<K, Entry<V>, FxBuildHasher>,
    /// Keys in the order their windows started, each with the stamp of that start. A key whose
    /// window restarted has a newer stamp in the map, so its older position is skipped.
    order: VecDeque<(K, u64)>,
    next_stamp: u64,
    evictions: u64,
}

struct Entry<V> {
    start_secs: i64,
    stamp: u64,
    value: V,
}

impl<K: Hash + Eq + Clone, V> WindowTable<K, V> {
    /// Creates an empty table of at most `capacity` entries (at least 1) whose windows last
    /// `window_secs` seconds (at least 1).
    pub fn new(name: &'static str, capacity: usize, window_secs: u64) -> WindowTable<K, V> {
        WindowTable {
            name,
            capacity: capacity.max(1),
            window_secs: i64::try_from(window_secs).unwrap_or(i64::MAX).max(1),
            entries: HashMap::default(),
            order: VecDeque::new(),
            next_stamp: 0,
            evictions: 0,
        }
    }

    /// Returns the value of `key` in the window that contains `now_secs`, created with `init`
    /// when the key is new or its previous window has ended.
    pub fn get(&mut self, now_secs: i64, key: &K, init: impl FnOnce() -> V) -> &mut V {
        let expired = match self.entries.get(key) {
            Some(entry) => now_secs.saturating_sub(entry.start_secs) >= self.window_secs,
            None => {
                if self.entries.len() >= self.capacity {
                    self.evict_oldest();
                }
                true
            }
        };

        if expired {
            let stamp = self.next_stamp;
            self.next_stamp += 1;
            self.order.push_back((key.clone(), stamp));
            self.entries.insert(
                key.clone(),
                Entry {
                    start_secs: now_secs,
                    stamp,
                    value: init(),
                },
            );
            self.compact_order();
        }

        // The key was either present or has just been inserted.
        &mut self
            .entries
            .get_mut(key)
            .expect("entry inserted above")
            .value
    }

    /// Removes the entry whose window started first.
    fn evict_oldest(&mut self) {
        while let Some((key, stamp)) = self.order.pop_front() {
            let current = self.entries.get(&key).is_some_and(|e| e.stamp == stamp);
            if current {
                self.entries.remove(&key);
                self.evictions += 1;
                return;
            }
        }
    }

    /// Drops positions of restarted windows once they outnumber the entries, so the order
    /// queue stays within twice the capacity.
    fn compact_order(&mut self) {
        if self.order.len() <= 2 * self.capacity {
            return;
        }
        let entries = &self.entries;
        self.order
            .retain(|(key, stamp)| entries.get(key).is_some_and(|e| e.stamp == *stamp));
    }

    /// Returns the occupancy of the table.
    pub fn stats(&self) -> TableStats {
        TableStats {
            name: self.name,
            len: self.entries.len(),
            capacity: self.capacity,
            evictions: self.evictions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_restarts_after_window() {
        let mut table = WindowTable::<u32, u32>::new("t", 4, 10);
        *table.get(100, &1, || 0) += 5;
        assert_eq!(*table.get(109, &1, || 0), 5);
        assert_eq!(*table.get(110, &1, || 0), 0);
    }

    #[test]
    fn full_table_evicts_oldest_window() {
        let mut table = WindowTable::<u32, u32>::new("t", 2, 10);
        *table.get(0, &1, || 0) = 1;
        *table.get(1, &2, || 0) = 2;
        // Key 1 restarts its window, so key 2 now has the oldest window.
        *table.get(12, &1, || 0) = 3;
        *table.get(13, &3, || 0) = 4;
        assert_eq!(*table.get(13, &1, || 0), 3);
        let stats = table.stats();
        assert_eq!(stats.len, 2);
        assert_eq!(stats.evictions, 1);
        // Key 2 was evicted and comes back fresh, evicting key 1.
        assert_eq!(*table.get(14, &2, || 9), 9);
        assert_eq!(table.stats().evictions, 2);
    }

    #[test]
    fn order_queue_stays_bounded() {
        let mut table = WindowTable::<u32, ()>::new("t", 3, 1);
        for second in 0..1000 {
            table.get(second, &(second as u32 % 3), || ());
        }
        assert!(table.order.len() <= 6);
        assert_eq!(table.stats().evictions, 0);
    }
}
