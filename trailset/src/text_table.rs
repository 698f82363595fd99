//! A set of indicator texts (domains, URLs, paths) stored without one allocation per entry.
//!
//! Every key lives in one byte arena. The hash table contains 8-byte slots: the arena offset, and
//! the key length (12 bits) packed with the source id (20 bits). For the default trail set this
//! is about 9 bytes per bucket plus the text itself, where a `HashMap<String, u32>` would spend
//! over 40 bytes per entry before counting the text.

use hashbrown::hash_table::Entry;
use hashbrown::HashTable;

use crate::error::TrailError;
use crate::hash::hash_key;
use crate::presence::PresenceFilter;
use crate::SourceId;

const LEN_BITS: u32 = 12;
const LEN_MASK: u32 = (1 << LEN_BITS) - 1;

/// Maximum key length a slot can record.
pub(crate) const MAX_KEY_LEN: usize = LEN_MASK as usize;

/// Number of distinct source ids a slot can record.
pub(crate) const MAX_SOURCES: usize = 1 << (u32::BITS - LEN_BITS);

#[derive(Clone, Copy, Debug)]
struct Slot {
    offset: u32,
    len_and_source: u32,
}

impl Slot {
    fn len(self) -> usize {
        (self.len_and_source & LEN_MASK) as usize
    }

    fn source(self) -> SourceId {
        SourceId(self.len_and_source >> LEN_BITS)
    }

    fn with_source(self, source: SourceId) -> Slot {
        Slot {
            len_and_source: (source.0 << LEN_BITS) | (self.len_and_source & LEN_MASK),
            ..self
        }
    }

    fn key(self, arena: &[u8]) -> &[u8] {
        let start = self.offset as usize;
        arena.get(start..start + self.len()).unwrap_or_default()
    }
}

/// Indicator texts with their source ids, compared ASCII-case-insensitively.
#[derive(Clone, Debug, Default)]
pub(crate) struct TextTable {
    arena: Vec<u8>,
    slots: HashTable<Slot>,
    max_key_len: usize,
    /// Built by [`TextTable::shrink_to_fit`] once loading is done; `None` while keys are still
    /// being inserted, and then every lookup probes the table.
    filter: Option<PresenceFilter>,
}

impl TextTable {
    /// Inserts a key and returns `true` if it was new. For a key already present, `resolve`
    /// picks the source to keep from the stored one.
    ///
    /// Fails when the key is longer than [`MAX_KEY_LEN`] or the arena would pass 4 GiB.
    pub(crate) fn insert(
        &mut self,
        key: &[u8],
        source: SourceId,
        resolve: impl FnOnce(SourceId) -> SourceId,
    ) -> Result<bool, TrailError> {
        let offset = u32::try_from(self.arena.len()).map_err(|_| TrailError::TextTooLarge)?;
        if key.len() > MAX_KEY_LEN || u32::try_from(self.arena.len() + key.len()).is_err() {
            return Err(TrailError::TextTooLarge);
        }
        debug_assert!(
            (source.0 as usize) < MAX_SOURCES,
            "source id beyond the slot's 20 bits"
        );

        self.filter = None;
        let arena = &self.arena;
        let same = |slot: &Slot| slot.key(arena).eq_ignore_ascii_case(key);
        let rehash = |slot: &Slot| hash_key(slot.key(arena));

        match self.slots.entry(hash_key(key), same, rehash) {
            Entry::Occupied(mut entry) => {
                let slot = entry.get_mut();
                *slot = slot.with_source(resolve(slot.source()));
                Ok(false)
            }
            Entry::Vacant(entry) => {
                let len_and_source = (source.0 << LEN_BITS) | key.len() as u32;
                entry.insert(Slot {
                    offset,
                    len_and_source,
                });
                self.arena.extend_from_slice(key);
                self.max_key_len = self.max_key_len.max(key.len());
                Ok(true)
            }
        }
    }

    pub(crate) fn get(&self, key: &[u8]) -> Option<SourceId> {
        self.get_joined(hash_key(key), b"", key)
    }

    /// Finds the key `head` followed by `tail`, whose [`crate::hash::KeyHasher`] hash the
    /// caller has computed, without joining the two.
    pub(crate) fn get_joined(&self, hash: u64, head: &[u8], tail: &[u8]) -> Option<SourceId> {
        if self
            .filter
            .as_ref()
            .is_some_and(|filter| !filter.may_contain(hash))
        {
            return None;
        }
        let same = |slot: &Slot| {
            let key = slot.key(&self.arena);
            key.len() == head.len() + tail.len()
                && key[..head.len()].eq_ignore_ascii_case(head)
                && key[head.len()..].eq_ignore_ascii_case(tail)
        };
        self.slots.find(hash, same).map(|slot| slot.source())
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.slots.iter().map(|slot| slot.key(&self.arena))
    }

    /// Returns the length of the longest key, so callers can skip longer candidates.
    pub(crate) fn max_key_len(&self) -> usize {
        self.max_key_len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Releases spare capacity and builds the presence filter; call when loading is done.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.arena.shrink_to_fit();
        let arena = &self.arena;
        self.slots.shrink_to_fit(|slot| hash_key(slot.key(arena)));
        let hashes = self.slots.iter().map(|slot| hash_key(slot.key(arena)));
        self.filter = Some(PresenceFilter::from_hashes(self.slots.len(), hashes));
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        let filter = self.filter.as_ref().map_or(0, PresenceFilter::memory_bytes);
        self.arena.capacity() + self.slots.allocation_size() + filter
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::KeyHasher;

    fn keep(stored: SourceId) -> SourceId {
        stored
    }

    fn table(keys: &[(&str, u32)]) -> TextTable {
        let mut table = TextTable::default();
        for (key, source) in keys {
            table
                .insert(key.as_bytes(), SourceId(*source), keep)
                .unwrap();
        }
        table
    }

    #[test]
    fn inserted_key_is_found() {
        let table = table(&[("evil.com", 3)]);

        assert_eq!(table.get(b"evil.com"), Some(SourceId(3)));
    }

    #[test]
    fn missing_key_is_not_found() {
        let table = table(&[("evil.com", 3)]);

        assert_eq!(table.get(b"evil.co"), None);
    }

    #[test]
    fn lookup_ignores_ascii_case() {
        let table = table(&[("evil.com/gate.php", 1)]);

        assert_eq!(table.get(b"evil.com/GATE.php"), Some(SourceId(1)));
    }

    #[test]
    fn joined_lookup_finds_key() {
        let table = table(&[("evil.com/gate.php", 1)]);
        let mut hasher = KeyHasher::new();
        hasher.write(b"evil.com");
        hasher.write(b"/gate.php");

        assert_eq!(
            table.get_joined(hasher.finish(), b"evil.com", b"/gate.php"),
            Some(SourceId(1))
        );
    }

    #[test]
    fn duplicate_key_is_not_new() {
        let mut table = table(&[("evil.com", 3)]);

        assert_eq!(
            table.insert(b"evil.com", SourceId(4), keep).ok(),
            Some(false)
        );
    }

    #[test]
    fn duplicate_key_stores_text_once() {
        let mut table = table(&[("evil.com", 3)]);
        table.insert(b"evil.com", SourceId(4), keep).unwrap();

        assert_eq!(table.arena.len(), "evil.com".len());
    }

    #[test]
    fn resolve_replaces_source() {
        let mut table = table(&[("evil.com", 3)]);
        table
            .insert(b"evil.com", SourceId(4), |_| SourceId(4))
            .unwrap();

        assert_eq!(table.get(b"evil.com"), Some(SourceId(4)));
    }

    #[test]
    fn largest_source_id_survives_packing() {
        let largest = (MAX_SOURCES - 1) as u32;
        let table = table(&[("evil.com", largest)]);

        assert_eq!(table.get(b"evil.com"), Some(SourceId(largest)));
    }

    #[test]
    fn overlong_key_is_rejected() {
        let mut table = TextTable::default();
        let key = vec![b'a'; MAX_KEY_LEN + 1];

        assert!(table.insert(&key, SourceId(0), keep).is_err());
    }

    #[test]
    fn keys_survive_growth_and_shrink() {
        let keys: Vec<String> = (0..5000).map(|i| format!("host{i}.example")).collect();
        let mut table = TextTable::default();
        for (i, key) in keys.iter().enumerate() {
            table
                .insert(key.as_bytes(), SourceId(i as u32), keep)
                .unwrap();
        }
        table.shrink_to_fit();

        let found = keys
            .iter()
            .enumerate()
            .all(|(i, key)| table.get(key.as_bytes()) == Some(SourceId(i as u32)));
        assert!(found);
    }
}
