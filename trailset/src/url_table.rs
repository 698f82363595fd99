//! URL and bare path trails, and the prefix matching of HTTP requests against them.

use crate::hash::KeyHasher;
use crate::indicator::PATH_DELIMITERS;
use crate::lookup::label_starts;
use crate::store::filter::FilterView;
use crate::store::text::TextView;

/// A URL or bare path trail that matched, before its source reference is resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct UrlMatch {
    pub(crate) reference: u32,
    pub(crate) host_start: usize,
    pub(crate) path_end: usize,
    pub(crate) bare_path: bool,
}

/// `host/path` trails and bare `/path` trails in one store table (a key starting with `/` is
/// a bare path), plus a filter over the keys' gates that lets most requests skip the path
/// scan.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct UrlView {
    pub(crate) keys: TextView,
    pub(crate) gates: FilterView,
}

impl UrlView {
    /// Matches a request in the order that `TrailSet::lookup_url` documents.
    pub(crate) fn lookup(&self, bytes: &[u8], host: &[u8], path: &[u8]) -> Option<UrlMatch> {
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

            let suffix = host.get(start..).unwrap_or_default();
            let mut hasher = KeyHasher::new();
            hasher.write(suffix);
            if !self.gates.may_contain(bytes, hasher.finish()) {
                continue;
            }
            if let Some((reference, path_end)) = self.longest_match(bytes, hasher, suffix, path) {
                return Some(UrlMatch {
                    reference,
                    host_start: start,
                    path_end,
                    bare_path: false,
                });
            }
        }

        let mut hasher = KeyHasher::new();
        hasher.write(path.get(..first_segment_end(path)).unwrap_or_default());
        if !self.gates.may_contain(bytes, hasher.finish()) {
            return None;
        }
        let (reference, path_end) = self.longest_match(bytes, KeyHasher::new(), b"", path)?;
        Some(UrlMatch {
            reference,
            host_start: host.len(),
            path_end,
            bare_path: true,
        })
    }

    /// Returns the source reference of the key `host` + `path` exactly.
    pub(crate) fn find(&self, bytes: &[u8], host: &[u8], path: &[u8]) -> Option<u32> {
        let mut hasher = KeyHasher::new();
        hasher.write(host);
        hasher.write(path);
        self.keys.get_joined(bytes, hasher.finish(), host, path)
    }

    /// Finds the longest path prefix that, appended to `host`, is a key. The caller has fed
    /// `host` to `hasher`, which is read at each delimiter and fed on, so one pass hashes
    /// every prefix.
    fn longest_match(
        &self,
        bytes: &[u8],
        mut hasher: KeyHasher,
        host: &[u8],
        path: &[u8],
    ) -> Option<(u32, usize)> {
        let max_len = self.keys.max_key_len();
        if host.len() >= max_len {
            return None;
        }
        let limit = path.len().min(max_len - host.len());
        let mut hashed = 0;
        let mut best = None;

        // A prefix ending right after another delimiter cannot match, because trails lose
        // their trailing delimiters when loaded.
        for end in 1..=limit.min(path.len().saturating_sub(1)) {
            let (Some(&byte), Some(&before)) = (path.get(end), path.get(end - 1)) else {
                break;
            };
            if !is_path_delimiter(byte) || is_path_delimiter(before) {
                continue;
            }
            let prefix = path.get(..end).unwrap_or_default();
            hasher.write(prefix.get(hashed..).unwrap_or_default());
            hashed = end;
            if let Some(reference) = self.keys.get_joined(bytes, hasher.finish(), host, prefix) {
                best = Some((reference, end));
            }
        }

        let last = path.last().copied().unwrap_or(b'/');
        if path.len() <= limit && !is_path_delimiter(last) {
            hasher.write(path.get(hashed..).unwrap_or_default());
            if let Some(reference) = self.keys.get_joined(bytes, hasher.finish(), host, path) {
                best = Some((reference, path.len()));
            }
        }
        best
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
pub(crate) fn gate(key: &[u8]) -> &[u8] {
    if key.first() == Some(&b'/') {
        return &key[..first_segment_end(key)];
    }
    let host_end = key
        .iter()
        .position(|&byte| byte == b'/')
        .unwrap_or(key.len());
    &key[..host_end]
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
}
