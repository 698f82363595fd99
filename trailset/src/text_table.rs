//! The builder's table of indicator texts (domains, URLs, paths), deduplicated without one
//! allocation per entry.
//!
//! Every entry is a record in one byte arena: the key length (`u16`, little-endian), the
//! entry's value (`u32`) and the key. The hash table contains 8-byte slots with the record's
//! offset and 32 bits of the key's hash. Growing the table so rehashes without touching the
//! arena, and iterating the entries walks the arena in insertion order.

use hashbrown::hash_table::Entry;
use hashbrown::HashTable;

use crate::error::TrailError;
use crate::hash::{hash_key, mix64};

/// Maximum key length a record can hold.
pub(crate) const MAX_KEY_LEN: usize = 4095;

/// Set in a record's length field once the entry is removed.
const REMOVED: u16 = 0x8000;

const RECORD_HEADER_LEN: usize = 6;

#[derive(Clone, Copy, Debug)]
struct Slot {
    offset: u32,
    hash: u32,
}

/// Returns the table hash of a key hash: the hash table only keeps 32 bits per slot, and
/// widens them again for hashbrown, which needs well-mixed high and low bits.
fn table_hash(hash: u32) -> u64 {
    mix64(u64::from(hash))
}

/// Reads the record at `offset`: (length field, value, key).
fn record(arena: &[u8], offset: usize) -> Option<(u16, u32, &[u8])> {
    let header = arena.get(offset..offset + RECORD_HEADER_LEN)?;
    let len_field = u16::from_le_bytes([header[0], header[1]]);
    let value = u32::from_le_bytes([header[2], header[3], header[4], header[5]]);
    let len = usize::from(len_field & !REMOVED);
    let start = offset + RECORD_HEADER_LEN;
    Some((len_field, value, arena.get(start..start + len)?))
}

fn key_at(arena: &[u8], offset: u32) -> &[u8] {
    record(arena, offset as usize).map_or(&[], |(_, _, key)| key)
}

/// Yields the key and value of every record not marked as removed.
fn live_records(arena: &[u8]) -> impl Iterator<Item = (&[u8], u32)> + '_ {
    let mut offset = 0;
    std::iter::from_fn(move || loop {
        let (len_field, value, key) = record(arena, offset)?;
        offset += RECORD_HEADER_LEN + key.len();
        if len_field & REMOVED == 0 {
            return Some((key, value));
        }
    })
}

/// The records of a finished [`TextTable`], without its hash table.
#[derive(Debug)]
pub(crate) struct TextRecords {
    arena: Vec<u8>,
    len: usize,
}

impl TextRecords {
    /// Yields every key with its value, in insertion order.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&[u8], u32)> + '_ {
        live_records(&self.arena)
    }

    pub(crate) fn len(&self) -> usize {
        self.len
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
        let end = self.arena.len() + RECORD_HEADER_LEN + key.len();
        if key.len() > MAX_KEY_LEN || u32::try_from(end).is_err() {
            return Err(TrailError::TextTooLarge);
        }

        let hash = (hash_key(key) >> 32) as u32;
        let arena = &self.arena;
        let same =
            |slot: &Slot| slot.hash == hash && key_at(arena, slot.offset).eq_ignore_ascii_case(key);
        let rehash = |slot: &Slot| table_hash(slot.hash);

        match self.slots.entry(table_hash(hash), same, rehash) {
            Entry::Occupied(entry) => {
                let at = entry.get().offset as usize + 2;
                if let Some(field) = self.arena.get_mut(at..at + 4) {
                    let stored = u32::from_le_bytes([field[0], field[1], field[2], field[3]]);
                    field.copy_from_slice(&resolve(stored).to_le_bytes());
                }
                Ok(false)
            }
            Entry::Vacant(entry) => {
                entry.insert(Slot { offset, hash });
                self.arena
                    .extend_from_slice(&(key.len() as u16).to_le_bytes());
                self.arena.extend_from_slice(&value.to_le_bytes());
                self.arena.extend_from_slice(key);
                Ok(true)
            }
        }
    }

    /// Yields every key with its value, in insertion order.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&[u8], u32)> + '_ {
        live_records(&self.arena)
    }

    /// Drops the hash table and keeps only the records, for writing them out.
    pub(crate) fn into_records(self) -> TextRecords {
        TextRecords {
            len: self.slots.len(),
            arena: self.arena,
        }
    }

    /// Replaces every value by `map(value)`.
    pub(crate) fn map_values(&mut self, mut map: impl FnMut(u32) -> u32) {
        let mut offset = 0;
        while let Some((len_field, value, key)) = record(&self.arena, offset) {
            let next = offset + RECORD_HEADER_LEN + key.len();
            if len_field & REMOVED == 0 {
                let mapped = map(value).to_le_bytes();
                self.arena[offset + 2..offset + 6].copy_from_slice(&mapped);
            }
            offset = next;
        }
    }

    /// Drops every key for which `drop` returns true and returns how many it dropped. Their
    /// records stay in the arena, marked as removed.
    pub(crate) fn remove_where(&mut self, mut drop: impl FnMut(&[u8]) -> bool) -> usize {
        let before = self.slots.len();
        let arena = &mut self.arena;
        self.slots.retain(|slot| {
            let offset = slot.offset as usize;
            if !drop(key_at(arena, slot.offset)) {
                return true;
            }
            if let Some(field) = arena.get_mut(offset..offset + 2) {
                let len = u16::from_le_bytes([field[0], field[1]]) | REMOVED;
                field.copy_from_slice(&len.to_le_bytes());
            }
            false
        });
        before - self.slots.len()
    }

    #[cfg(test)]
    pub(crate) fn get(&self, key: &[u8]) -> Option<u32> {
        let hash = (hash_key(key) >> 32) as u32;
        let same = |slot: &Slot| key_at(&self.arena, slot.offset).eq_ignore_ascii_case(key);
        let slot = self.slots.find(table_hash(hash), same)?;
        record(&self.arena, slot.offset as usize).map(|(_, value, _)| value)
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

        assert_eq!(table.arena.len(), RECORD_HEADER_LEN + "evil.com".len());
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
        assert_eq!(table.entries().count(), 1);
    }

    #[test]
    fn entries_keep_insertion_order() {
        let table = table(&[("b.example", 2), ("a.example", 1)]);
        let entries: Vec<(&[u8], u32)> = table.entries().collect();

        assert_eq!(entries, [(&b"b.example"[..], 2), (&b"a.example"[..], 1)]);
    }

    #[test]
    fn mapped_values_replace_stored() {
        let mut table = table(&[("a.example", 1), ("b.example", 2)]);
        table.map_values(|value| value * 10);

        assert_eq!(table.get(b"b.example"), Some(20));
    }

    #[test]
    fn keys_survive_growth() {
        let keys: Vec<String> = (0..5000).map(|i| format!("host{i}.example")).collect();
        let mut table = TextTable::default();
        for (i, key) in keys.iter().enumerate() {
            table.insert(key.as_bytes(), i as u32, keep).unwrap();
        }

        let found = keys
            .iter()
            .enumerate()
            .all(|(i, key)| table.get(key.as_bytes()) == Some(i as u32));
        assert!(found);
    }
}
