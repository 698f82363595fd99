//! At most one webhook POST per (trail, source) per interval, with a bounded key table.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use trailwatch_event::Timestamp;

/// Maximum number of (trail, source) keys remembered. By estimate a key costs about 80 bytes
/// plus its trail, so the table stays under about 1 MiB for trails of up to 150 bytes.
///
/// Inserting into a full table first removes every key whose interval has passed. When none
/// has, the key posted longest ago is evicted, so under more than this many distinct keys per
/// interval an evicted key can post again before its interval ends.
pub(crate) const MAX_KEYS: usize = 4096;

/// Last POST time of each (trail, source), in packet time.
///
/// Packet time makes a replayed capture rate-limited like live traffic. A packet time before a
/// key's last POST (a clock stepped back) counts as a new interval, so a key is never held back
/// for longer than the interval by a clock change.
pub(crate) struct RateLimiter {
    interval_nanos: i128,
    last_post: HashMap<(IpAddr, String), i128>,
}

impl RateLimiter {
    /// Creates an empty table for `interval`.
    pub(crate) fn new(interval: Duration) -> RateLimiter {
        RateLimiter {
            interval_nanos: interval.as_nanos().try_into().unwrap_or(i128::MAX),
            last_post: HashMap::new(),
        }
    }

    /// Returns whether an event of (`trail`, `source`) at `time` may be posted, and records
    /// the POST when it may.
    pub(crate) fn admit(&mut self, trail: &str, source: IpAddr, time: Timestamp) -> bool {
        let now = time.as_nanos();
        let key = (source, trail.to_owned());

        let interval = self.interval_nanos;
        if let Some(last) = self.last_post.get_mut(&key) {
            if within_interval(*last, now, interval) {
                return false;
            }
            *last = now;
            return true;
        }

        if self.last_post.len() >= MAX_KEYS {
            self.make_room(now);
        }
        self.last_post.insert(key, now);
        true
    }

    /// Returns the number of keys in the table.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.last_post.len()
    }

    /// Removes expired keys, or the oldest key when none has expired.
    fn make_room(&mut self, now: i128) {
        let interval = self.interval_nanos;
        self.last_post
            .retain(|_, &mut last| within_interval(last, now, interval));

        if self.last_post.len() >= MAX_KEYS {
            let oldest = self
                .last_post
                .iter()
                .min_by_key(|(_, &last)| last)
                .map(|(key, _)| key.clone());
            if let Some(oldest) = oldest {
                self.last_post.remove(&oldest);
            }
        }
    }
}

/// Tests whether `now` lies in the interval that starts at `last`. A `now` before `last`
/// does not.
fn within_interval(last: i128, now: i128, interval: i128) -> bool {
    now >= last && now - last < interval
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    const SOURCE: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 20));

    fn at(secs: i64) -> Timestamp {
        Timestamp::new(secs, 0)
    }

    #[test]
    fn repeat_within_interval_is_held() {
        let mut limiter = RateLimiter::new(Duration::from_secs(300));

        assert!(limiter.admit("evil.example", SOURCE, at(1000)));
        assert!(!limiter.admit("evil.example", SOURCE, at(1299)));
        assert!(limiter.admit("evil.example", SOURCE, at(1300)));
    }

    #[test]
    fn other_source_is_admitted() {
        let mut limiter = RateLimiter::new(Duration::from_secs(300));
        let other = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 21));

        assert!(limiter.admit("evil.example", SOURCE, at(1000)));
        assert!(limiter.admit("evil.example", other, at(1001)));
        assert!(limiter.admit("other.example", SOURCE, at(1002)));
    }

    #[test]
    fn clock_stepped_back_admits() {
        let mut limiter = RateLimiter::new(Duration::from_secs(300));

        assert!(limiter.admit("evil.example", SOURCE, at(1000)));
        assert!(limiter.admit("evil.example", SOURCE, at(900)));
        assert!(!limiter.admit("evil.example", SOURCE, at(901)));
    }

    #[test]
    fn full_table_drops_expired_keys() {
        let mut limiter = RateLimiter::new(Duration::from_secs(300));
        for index in 0..MAX_KEYS {
            assert!(limiter.admit(&format!("trail{index}"), SOURCE, at(1000)));
        }

        assert!(limiter.admit("new", SOURCE, at(2000)));
        assert_eq!(limiter.len(), 1);
    }

    #[test]
    fn full_table_evicts_oldest_key() {
        let mut limiter = RateLimiter::new(Duration::from_secs(300));
        for index in 0..MAX_KEYS {
            let time = at(1000 + i64::try_from(index % 2).unwrap());
            assert!(limiter.admit(&format!("trail{index}"), SOURCE, time));
        }

        assert!(limiter.admit("new", SOURCE, at(1002)));
        assert_eq!(limiter.len(), MAX_KEYS);
        assert!(!limiter.admit("trail1", SOURCE, at(1003)));
        assert!(!limiter.admit("new", SOURCE, at(1003)));
    }
}
