//! Web directory scans: many distinct paths requested by one client from one server within a
//! window, with mostly client errors in the responses when those are visible.
//!
//! Each (client, server) pair keeps a small set of path hashes, so its memory is bounded by
//! the threshold. The table of pairs has a fixed capacity and evicts its least recently used
//! pair.

use std::hash::{Hash, Hasher};
use std::net::IpAddr;

use rustc_hash::FxHasher;

use super::lru::Lru;

/// Largest accepted threshold of distinct paths, so that a pair's hash set stays within 2 KiB.
pub const MAX_DISTINCT_PATHS: u32 = 512;

/// Thresholds of the scan detector.
#[derive(Debug, Clone, Copy)]
pub struct ScanLimits {
    /// Distinct paths in one window that make a scan when most responses are client errors.
    pub distinct_paths: u32,
    /// Distinct paths that make a scan when fewer responses than half the paths were seen, as
    /// on a capture that shows one direction only.
    pub distinct_paths_unanswered: u32,
    /// Share of client errors (status 400 to 499) among the seen responses, in percent, at
    /// or above which a pair with `distinct_paths` paths is a scan.
    pub min_error_percent: u8,
    /// Length of a window, in seconds.
    pub window_secs: i64,
}

#[derive(Debug)]
struct Pair {
    window_start: i64,
    path_hashes: Vec<u32>,
    responses: u32,
    client_errors: u32,
    reported: bool,
}

/// Per-(client, server) path counts.
pub struct ScanTable {
    pairs: Lru<(IpAddr, IpAddr), Pair>,
    limits: ScanLimits,
}

impl ScanTable {
    pub fn new(capacity: usize, limits: ScanLimits) -> ScanTable {
        ScanTable {
            pairs: Lru::new(capacity),
            limits,
        }
    }

    /// Counts `path` (without its query) requested by `client` from `server` at `now_secs`.
    /// Returns true once per window, when the pair first crosses a threshold.
    pub fn on_request(
        &mut self,
        now_secs: i64,
        client: IpAddr,
        server: IpAddr,
        path: &str,
    ) -> bool {
        let hash = path_hash(path);
        let limits = self.limits;
        let keep = limits.distinct_paths.max(limits.distinct_paths_unanswered) as usize;
        let pair = self.pair(now_secs, client, server);
        if pair.path_hashes.len() < keep && !pair.path_hashes.contains(&hash) {
            pair.path_hashes.push(hash);
        }
        if pair.reported {
            return false;
        }

        let distinct = pair.path_hashes.len() as u32;
        let answered = pair.responses.saturating_mul(2) >= distinct;
        let scan = if answered {
            distinct >= limits.distinct_paths
                && u64::from(pair.client_errors) * 100
                    >= u64::from(pair.responses) * u64::from(limits.min_error_percent)
        } else {
            distinct >= limits.distinct_paths_unanswered
        };
        pair.reported = scan;
        scan
    }

    /// Counts a response with `status` from `server` to `client`. Responses of pairs that sent
    /// no request in the table are ignored.
    pub fn on_response(&mut self, now_secs: i64, server: IpAddr, client: IpAddr, status: u16) {
        let window_secs = self.limits.window_secs;
        let Some(pair) = self.pairs.get_mut(&(client, server)) else {
            return;
        };
        if now_secs.saturating_sub(pair.window_start) >= window_secs {
            return;
        }
        pair.responses = pair.responses.saturating_add(1);
        if (400..500).contains(&status) {
            pair.client_errors = pair.client_errors.saturating_add(1);
        }
    }

    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn capacity(&self) -> usize {
        self.pairs.capacity()
    }

    pub fn evictions(&self) -> u64 {
        self.pairs.evictions()
    }

    /// Returns the pair's entry, restarted when its window has ended.
    fn pair(&mut self, now_secs: i64, client: IpAddr, server: IpAddr) -> &mut Pair {
        let window_secs = self.limits.window_secs;
        let key = (client, server);
        let expired = match self.pairs.get_mut(&key) {
            Some(pair) => now_secs.saturating_sub(pair.window_start) >= window_secs,
            None => true,
        };
        if expired {
            let fresh = Pair {
                window_start: now_secs,
                path_hashes: Vec::new(),
                responses: 0,
                client_errors: 0,
                reported: false,
            };
            return self.pairs.insert(key, fresh);
        }
        // NOTE(expect): the entry was found just above and nothing removed it.
        self.pairs.get_mut(&key).expect("pair present")
    }
}

fn path_hash(path: &str) -> u32 {
    let mut hasher = FxHasher::default();
    path.hash(&mut hasher);
    let hash = hasher.finish();
    (hash >> 32) as u32 ^ hash as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: ScanLimits = ScanLimits {
        distinct_paths: 10,
        distinct_paths_unanswered: 30,
        min_error_percent: 50,
        window_secs: 60,
    };

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    /// Sends `count` distinct paths, each answered with `status` when given, and returns the
    /// number of scans reported.
    fn scan(table: &mut ScanTable, count: u32, status: Option<u16>) -> u32 {
        let (client, server) = (ip("10.0.0.5"), ip("10.0.0.80"));
        let mut reported = 0;
        for index in 0..count {
            if table.on_request(100, client, server, &format!("/probe{index}")) {
                reported += 1;
            }
            if let Some(status) = status {
                table.on_response(100, server, client, status);
            }
        }
        reported
    }

    #[test]
    fn answered_404s_reported_once() {
        let mut table = ScanTable::new(16, LIMITS);
        assert_eq!(scan(&mut table, 9, Some(404)), 0);
        assert_eq!(scan(&mut table, 100, Some(404)), 1);
    }

    #[test]
    fn successful_browsing_not_scan() {
        let mut table = ScanTable::new(16, LIMITS);
        assert_eq!(scan(&mut table, 100, Some(200)), 0);
    }

    #[test]
    fn unanswered_needs_higher_threshold() {
        let mut table = ScanTable::new(16, LIMITS);
        assert_eq!(scan(&mut table, 29, None), 0);
        let mut table = ScanTable::new(16, LIMITS);
        assert_eq!(scan(&mut table, 30, None), 1);
    }

    #[test]
    fn repeated_path_counted_once() {
        let mut table = ScanTable::new(16, LIMITS);
        let (client, server) = (ip("10.0.0.5"), ip("10.0.0.80"));
        for _ in 0..1000 {
            assert!(!table.on_request(100, client, server, "/status"));
        }
    }

    #[test]
    fn new_window_starts_over() {
        let mut table = ScanTable::new(16, LIMITS);
        let (client, server) = (ip("10.0.0.5"), ip("10.0.0.80"));
        for index in 0..20 {
            let now = 100 + index * 10;
            assert!(!table.on_request(now, client, server, &format!("/p{index}")));
        }
    }

    #[test]
    fn table_bound_evicts_pairs() {
        let mut table = ScanTable::new(4, LIMITS);
        for host in 0..10u8 {
            let client = IpAddr::from([10, 0, 1, host]);
            table.on_request(100, client, ip("10.0.0.80"), "/");
        }
        assert_eq!(table.len(), 4);
        assert_eq!(table.capacity(), 4);
        assert_eq!(table.evictions(), 6);
    }
}
