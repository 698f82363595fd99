//! URL and bare path trails, and the prefix matching of HTTP requests against them.

use crate::error::TrailError;
use crate::hash::KeyHasher;
use crate::indicator::PATH_DELIMITERS;
use crate::lookup::{label_starts, UrlHit};
use crate::text_table::TextTable;
use crate::SourceId;

/// Filter bits per gate. With two probes per lookup, an estimated 1.4% of misses or fewer
/// pass the filter, because the bit count is rounded up to a power of two.
const FILTER_BITS_PER_GATE: usize = 16;

/// `host/path` trails and bare `/path` trails in one table (a key starting with `/` is a bare
/// path), plus a filter that lets most requests skip the path scan.
#[derive(Clone, Debug, Default)]
pub(crate) struct UrlTable {
    keys: TextTable,
    gates: GateFilter,
}

impl UrlTable {
    /// Inserts a key in the form `Indicator::Url` or `Indicator::Path` stores and returns
    /// `true` if it was new. Call [`UrlTable::finish`] after the last insert.
    pub(crate) fn insert(
        &mut self,
        key: &[u8],
        source: SourceId,
        resolve: impl FnOnce(SourceId) -> SourceId,
    ) -> Result<bool, TrailError> {
        self.keys.insert(key, source, resolve)
    }

    /// Trims the table and builds the gate filter over the final keys.
    pub(crate) fn finish(&mut self) {
        self.keys.shrink_to_fit();
        self.gates = GateFilter::build(&self.keys);
    }

    /// Matches a request in the order that `TrailSet::lookup_url` documents.
    pub(crate) fn lookup(&self, host: &[u8], path: &[u8]) -> Option<UrlHit> {
        if self.keys.is_empty() || path.first() != Some(&b'/') {
            return None;
        }

        let whole_host_only = host
            .rsplit(|&byte| byte == b'.')
            .next()
            .is_some_and(|label| !label.is_empty() && label.iter().all(u8::is_ascii_digit));
        for start in label_starts(host) {
            if whole_host_only && start > 0 {
                break;
            }

            let mut hasher = KeyHasher::new();
            hasher.write(&host[start..]);
            if !self.gates.may_contain(hasher.finish()) {
                continue;
            }
            if let Some((source, path_end)) = self.longest_match(hasher, &host[start..], path) {
                return Some(UrlHit {
                    source,
                    host_start: start,
                    path_end,
                    bare_path: false,
                });
            }
        }

        let mut hasher = KeyHasher::new();
        hasher.write(&path[..first_segment_end(path)]);
        if !self.gates.may_contain(hasher.finish()) {
            return None;
        }
        let (source, path_end) = self.longest_match(KeyHasher::new(), b"", path)?;
        Some(UrlHit {
            source,
            host_start: host.len(),
            path_end,
            bare_path: true,
        })
    }

    /// Finds the longest path prefix that, appended to `host`, is a key. The caller has fed
    /// `host` to `hasher`, which is read at each delimiter and fed on, so one pass hashes
    /// every prefix.
    fn longest_match(
        &self,
        mut hasher: KeyHasher,
        host: &[u8],
        path: &[u8],
    ) -> Option<(SourceId, usize)> {
        let max_len = self.keys.max_key_len();
        if host.len() >= max_len {
            return None;
        }
        let limit = path.len().min(max_len - host.len());
        let mut hashed = 0;
        let mut best = None;

        // A prefix ending right after another delimiter cannot match, because trails lose
        // their trailing delimiters when loaded.
        for end in 1..=limit.min(path.len() - 1) {
            if !is_path_delimiter(path[end]) || is_path_delimiter(path[end - 1]) {
                continue;
            }
            hasher.write(&path[hashed..end]);
            hashed = end;
            if let Some(source) = self.keys.get_joined(hasher.finish(), host, &path[..end]) {
                best = Some((source, end));
            }
        }

        let last = path.last().copied().unwrap_or(b'/');
        if path.len() <= limit && !is_path_delimiter(last) {
            hasher.write(&path[hashed..]);
            if let Some(source) = self.keys.get_joined(hasher.finish(), host, path) {
                best = Some((source, path.len()));
            }
        }
        best
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        self.keys.memory_bytes() + self.gates.bits.capacity() * size_of::<u64>()
    }
}

fn is_path_delimiter(byte: u8) -> bool {
    PATH_DELIMITERS.contains(&byte)
}

/// Returns the end of the first path segment: the first delimiter after the leading `/`, or the end.
fn first_segment_end(path: &[u8]) -> usize {
    path.iter()
        .skip(1)
        .position(|&byte| is_path_delimiter(byte))
        .map_or(path.len(), |i| i + 1)
}

/// Returns the gate of a key: the host of a URL trail, or the first segment of a bare path trail.
///
/// Any request that a key matches starts with the key's gate, because a key matches only a
/// host suffix plus a path prefix that ends at a delimiter or at the end of the path.
fn gate(key: &[u8]) -> &[u8] {
    if key.first() == Some(&b'/') {
        return &key[..first_segment_end(key)];
    }
    let host_end = key
        .iter()
        .position(|&byte| byte == b'/')
        .unwrap_or(key.len());
    &key[..host_end]
}

/// A Bloom filter with two probes over the gates of all keys.
#[derive(Clone, Debug, Default)]
struct GateFilter {
    /// A power-of-two number of words, empty when there are no keys.
    bits: Vec<u64>,
}

impl GateFilter {
    fn build(keys: &TextTable) -> GateFilter {
        let filter_bits = keys.keys().count().saturating_mul(FILTER_BITS_PER_GATE);
        let words = filter_bits.div_ceil(64).next_power_of_two();
        let mut filter = GateFilter {
            bits: vec![0; words],
        };

        for key in keys.keys() {
            let mut hasher = KeyHasher::new();
            hasher.write(gate(key));
            for bit in filter.positions(hasher.finish()) {
                filter.bits[bit / 64] |= 1 << (bit % 64);
            }
        }
        filter
    }

    fn positions(&self, hash: u64) -> [usize; 2] {
        let mask = (self.bits.len() * 64).saturating_sub(1) as u64;
        [
            (hash & mask) as usize,
            ((hash >> 32).rotate_left(7) & mask) as usize,
        ]
    }

    /// Tells whether some key may have this gate hash. A `false` is certain.
    fn may_contain(&self, hash: u64) -> bool {
        if self.bits.is_empty() {
            return false;
        }
        self.positions(hash)
            .iter()
            .all(|&bit| self.bits[bit / 64] & (1 << (bit % 64)) != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_of_url_is_host() {
        assert_eq!(gate(b"evil.com/panel/gate.php"), b"evil.com");
    }

    #[test]
    fn bare_path_gate_is_segment() {
        assert_eq!(gate(b"/panel/gate.php"), b"/panel");
    }

    #[test]
    fn single_segment_gate_is_path() {
        assert_eq!(gate(b"/gate.php"), b"/gate.php");
    }

    #[test]
    fn first_segment_stops_at_query() {
        assert_eq!(first_segment_end(b"/gate.php?id=1"), 9);
    }

    #[test]
    fn filter_contains_every_gate() {
        let mut keys = TextTable::default();
        for key in ["evil.com/a", "/gate.php", "/panel/x", "1.2.3.4/y"] {
            keys.insert(key.as_bytes(), SourceId(0), |stored| stored)
                .unwrap();
        }
        let filter = GateFilter::build(&keys);

        let all_present = ["evil.com", "/gate.php", "/panel", "1.2.3.4"]
            .iter()
            .all(|gate| {
                let mut hasher = KeyHasher::new();
                hasher.write(gate.as_bytes());
                filter.may_contain(hasher.finish())
            });
        assert!(all_present);
    }

    #[test]
    fn empty_filter_contains_nothing() {
        assert!(!GateFilter::default().may_contain(12345));
    }
}
