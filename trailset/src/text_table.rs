//! The builder's table of indicator texts (domains, URLs, paths), deduplicated without one
//! allocation per entry.
//!
//! Every key lives in one byte arena, preceded by its length as a little-endian `u16`. The
//! hash table holds 8-byte slots: the arena offset and the entry's value (a source reference
//! while loading).

use hashbrown::hash_table::Entry;
use hashbrown::HashTable;

use crate::error::TrailError;
use crate::hash::hash_key;

/// Maximum key length a slot can record.
pub(crate) const MAX_KEY_LEN: usize = 4095;

#[derive(Clone, Copy, Debug)]
struct Slot {
    offset: u32,
    value: u32,
}

impl Slot {
    fn key(self, arena: &[u8]) -> &[u8] {
        let start = self.offset as usize;
        let len = match arena.get(start..start + 2) {
            Some(&[low, high]) => usize::from(u16::from_le_bytes([low, high])),
            _ => return &[],
        };
        arena.get(start + 2..start + 2 + len).unwrap_or_default()
    }
}

/// Indicator texts with their values, compared ASCII-case-insensitively.
#[derive(Clone, Debug, Default)]
pub(crate) struct TextTable {
    arena: Vec<u8>,
    slots: HashTable<Slot>,
}

impl TextTable {
    /// Inserts a key and returns `true` if it was new. For a key already present, `resolve`
    /// picks the value to keep from the stored one.
    ///
    /// Fails when the key is longer than [`MAX_KEY_LEN`] or the arena would pass 4 GiB.
    pub(crate) fn insert(
        &mut self,
        key: &[u8],
        value: u32,
        resolve: impl FnOnce(u32) -> u32,
    ) -> Result<bool, TrailError> {
        let offset = u32::try_from(self.arena.len()).map_err(|_| TrailError::TextTooLarge)?;
        if key.len() > MAX_KEY_LEN || u32::try_from(self.arena.len() + 2 + key.len()).is_err() {
            return Err(TrailError::TextTooLarge);
        }

        let arena = &self.arena;
        let same = |slot: &Slot| slot.key(arena).eq_ignore_ascii_case(key);
        let rehash = |slot: &Slot| hash_key(slot.key(arena));

        match self.slots.entry(hash_key(key), same, rehash) {
            Entry::Occupied(mut entry) => {
                let slot = entry.get_mut();
                slot.value = resolve(slot.value);
                Ok(false)
            }
            Entry::Vacant(entry) => {
                entry.insert(Slot { offset, value });
                self.arena
                    .extend_from_slice(&(key.len() as u16).to_le_bytes());
                self.arena.extend_from_slice(key);
                Ok(true)
            }
        }
    }

    /// Yields every key with its value.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&[u8], u32)> + '_ {
        self.slots
            .iter()
            .map(|slot| (slot.key(&self.arena), slot.value))
    }

    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut u32> {
        self.slots.iter_mut().map(|slot| &mut slot.value)
    }

    /// Drops every key for which `drop` returns true and returns how many it dropped. Their
    /// text stays in the arena until the table is dropped.
    pub(crate) fn remove_where(&mut self, mut drop: impl FnMut(&[u8]) -> bool) -> usize {
        let before = self.slots.len();
        let arena = &self.arena;
        self.slots.retain(|slot| !drop(slot.key(arena)));
        before - self.slots.len()
    }

    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    #[cfg(test)]
    pub(crate) fn get(&self, key: &[u8]) -> Option<u32> {
        let same = |slot: &Slot| slot.key(&self.arena).eq_ignore_ascii_case(key);
        self.slots.find(hash_key(key), same).map(|slot| slot.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keep(stored: u32) -> u32 {
        stored
    }

    fn table(keys: &[(&str, u32)]) -> TextTable {
        let mut table = TextTable::default();
        for (key, value) in keys {
            table.insert(key.as_bytes(), *value, keep).unwrap();
        }
        table
    }

    #[test]
    fn inserted_key_is_found() {
        assert_eq!(table(&[("evil.com", 3)]).get(b"evil.com"), Some(3));
    }

    #[test]
    fn duplicate_ignores_ascii_case() {
        let mut table = table(&[("evil.com/gate.php", 1)]);

        assert_eq!(
            table.insert(b"evil.com/GATE.php", 2, keep).ok(),
            Some(false)
        );
    }

    #[test]
    fn duplicate_key_stores_text_once() {
        let mut table = table(&[("evil.com", 3)]);
        table.insert(b"evil.com", 4, keep).unwrap();

        assert_eq!(table.arena.len(), 2 + "evil.com".len());
    }

    #[test]
    fn resolve_replaces_value() {
        let mut table = table(&[("evil.com", 3)]);
        table.insert(b"evil.com", 4, |_| 4).unwrap();

        assert_eq!(table.get(b"evil.com"), Some(4));
    }

    #[test]
    fn overlong_key_is_rejected() {
        let key = vec![b'a'; MAX_KEY_LEN + 1];

        assert!(TextTable::default().insert(&key, 0, keep).is_err());
    }

    #[test]
    fn removed_key_is_gone() {
        let mut table = table(&[("evil.com", 3), ("good.example", 4)]);

        assert_eq!(table.remove_where(|key| key == b"good.example"), 1);
        assert_eq!(table.get(b"good.example"), None);
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn entries_yield_every_key() {
        let table = table(&[("a.example", 1), ("b.example", 2)]);
        let mut entries: Vec<(Vec<u8>, u32)> = table
            .entries()
            .map(|(key, value)| (key.to_vec(), value))
            .collect();
        entries.sort();

        assert_eq!(
            entries,
            [(b"a.example".to_vec(), 1), (b"b.example".to_vec(), 2)]
        );
    }
}
