//! Rate limits of the webhook: at most one POST per (source, trail type, info) per interval,
//! with a bounded key table, and at most a fixed number of POSTs per minute over all keys.
//!
//! The key leaves the trail out on purpose. The trail is the rendered value that matched,
//! such as the queried name, and the sender of the packet chooses it: queries for
//! `term1.evil.example`, `term2.evil.example`, ... would each get a key of their own. The
//! info (malware family or heuristic) and the trail type come from the trail list or the
//! detector.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use trailwatch_event::{Event, TrailType};

/// Maximum number of keys remembered. By estimate a key costs about 80 bytes plus its info,
/// so the table stays under about 1 MiB for infos of up to 150 bytes.
///
/// Inserting into a full table first removes every key whose interval has passed. When none
/// has, the key posted longest ago is evicted, so under more than this many distinct keys per
/// interval an evicted key can post again before its interval ends.
pub(crate) const MAX_KEYS: usize = 4096;

/// Length of the window of the global cap, in packet time.
const MINUTE_NANOS: i128 = 60_000_000_000;

/// Decision on one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Post it.
    Post,
    /// Its key was posted within the interval.
    Repeat,
    /// The global cap of POSTs in the current minute is reached.
    OverCap,
}

/// Identity of an event for the per-key limit.
type Key = (IpAddr, TrailType, String);

/// Last POST time of each key and the POSTs of the current minute, in packet time.
///
/// Packet time makes a replayed capture rate-limited like live traffic. A packet time before a
/// key's last POST (a clock stepped back) counts as a new interval, so a key is never held back
/// for longer than the interval by a clock change. The same holds for the minute of the cap.
pub(crate) struct RateLimiter {
    interval_nanos: i128,
    last_post: HashMap<Key, i128>,
    max_per_minute: u64,
    /// Start of the current minute of the cap, `None` before the first POST.
    minute_start: Option<i128>,
    posts_this_minute: u64,
}

impl RateLimiter {
    /// Creates an empty table for `interval` and a cap of `max_per_minute` POSTs.
    pub(crate) fn new(interval: Duration, max_per_minute: u64) -> RateLimiter {
        RateLimiter {
            interval_nanos: interval.as_nanos().try_into().unwrap_or(i128::MAX),
            last_post: HashMap::new(),
            max_per_minute,
            minute_start: None,
            posts_this_minute: 0,
        }
    }

    /// Returns whether `event` may be posted, and records the POST when it may. A repeat does
    /// not count against the cap, and an event over the cap leaves its key unrecorded, so
    /// that it can post once the minute ends.
    pub(crate) fn admit(&mut self, event: &Event) -> Admission {
        let now = event.time.as_nanos();
        let key = (event.src_ip, event.trail_type, event.info.clone());

        let interval = self.interval_nanos;
        let last = self.last_post.get(&key).copied();
        if last.is_some_and(|last| within_interval(last, now, interval)) {
            return Admission::Repeat;
        }

        let minute_over = self
            .minute_start
            .is_none_or(|start| !within_interval(start, now, MINUTE_NANOS));
        if minute_over {
            self.minute_start = Some(now);
            self.posts_this_minute = 0;
        }
        if self.posts_this_minute >= self.max_per_minute {
            return Admission::OverCap;
        }
        self.posts_this_minute += 1;

        if last.is_none() && self.last_post.len() >= MAX_KEYS {
            self.make_room(now);
        }
        self.last_post.insert(key, now);
        Admission::Post
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
    use std::sync::Arc;

    use trailwatch_event::{Proto, Timestamp};

    use super::*;

    const SOURCE: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 20));

    /// No cap in the tests of the per-key limit.
    const NO_CAP: u64 = u64::MAX;

    /// Returns a DNS event from [`SOURCE`] at `secs` with `info`.
    fn event(info: &str, secs: i64) -> Event {
        Event {
            time: Timestamp::new(secs, 0),
            sensor: Arc::from("edge1"),
            src_ip: SOURCE,
            src_port: Some(51234),
            dst_ip: IpAddr::V4(Ipv4Addr::new(8, 8, 8, 8)),
            dst_port: Some(53),
            proto: Proto::Udp,
            trail_type: TrailType::Dns,
            trail: "evil.example".to_owned(),
            info: info.to_owned(),
            reference: "(static)".to_owned(),
            repeats: 0,
        }
    }

    fn limiter(max_per_minute: u64) -> RateLimiter {
        RateLimiter::new(Duration::from_secs(300), max_per_minute)
    }

    #[test]
    fn repeat_within_interval_is_held() {
        let mut limiter = limiter(NO_CAP);

        assert_eq!(limiter.admit(&event("emotet", 1000)), Admission::Post);
        assert_eq!(limiter.admit(&event("emotet", 1299)), Admission::Repeat);
        assert_eq!(limiter.admit(&event("emotet", 1300)), Admission::Post);
    }

    #[test]
    fn distinct_trails_share_one_key() {
        let mut limiter = limiter(NO_CAP);
        let mut first = event("emotet", 1000);
        first.trail = "term0.evil.example".to_owned();

        assert_eq!(limiter.admit(&first), Admission::Post);
        for index in 1..100 {
            let mut next = event("emotet", 1000);
            next.trail = format!("term{index}.evil.example");

            assert_eq!(limiter.admit(&next), Admission::Repeat, "term{index}");
        }
    }

    #[test]
    fn other_source_type_or_info_is_admitted() {
        let mut limiter = limiter(NO_CAP);
        let mut other_source = event("emotet", 1001);
        other_source.src_ip = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 21));
        let mut other_type = event("emotet", 1002);
        other_type.trail_type = TrailType::Url;

        assert_eq!(limiter.admit(&event("emotet", 1000)), Admission::Post);
        assert_eq!(limiter.admit(&other_source), Admission::Post);
        assert_eq!(limiter.admit(&other_type), Admission::Post);
        assert_eq!(limiter.admit(&event("qakbot", 1003)), Admission::Post);
    }

    #[test]
    fn clock_stepped_back_admits() {
        let mut limiter = limiter(NO_CAP);

        assert_eq!(limiter.admit(&event("emotet", 1000)), Admission::Post);
        assert_eq!(limiter.admit(&event("emotet", 900)), Admission::Post);
        assert_eq!(limiter.admit(&event("emotet", 901)), Admission::Repeat);
    }

    #[test]
    fn cap_holds_until_minute_ends() {
        let mut limiter = limiter(3);

        for index in 0..3 {
            let info = format!("family{index}");
            assert_eq!(limiter.admit(&event(&info, 1000)), Admission::Post);
        }
        assert_eq!(limiter.admit(&event("family3", 1059)), Admission::OverCap);
        // A repeat stays a repeat, whatever the cap.
        assert_eq!(limiter.admit(&event("family0", 1059)), Admission::Repeat);
        // The key held by the cap was not recorded, so it posts in the next minute.
        assert_eq!(limiter.admit(&event("family3", 1060)), Admission::Post);
    }

    #[test]
    fn cap_restarts_after_clock_step() {
        let mut limiter = limiter(1);

        assert_eq!(limiter.admit(&event("family0", 1000)), Admission::Post);
        assert_eq!(limiter.admit(&event("family1", 1001)), Admission::OverCap);
        assert_eq!(limiter.admit(&event("family1", 500)), Admission::Post);
    }

    #[test]
    fn full_table_drops_expired_keys() {
        let mut limiter = limiter(NO_CAP);
        for index in 0..MAX_KEYS {
            let info = format!("family{index}");
            assert_eq!(limiter.admit(&event(&info, 1000)), Admission::Post);
        }

        assert_eq!(limiter.admit(&event("new", 2000)), Admission::Post);
        assert_eq!(limiter.len(), 1);
    }

    #[test]
    fn full_table_evicts_oldest_key() {
        let mut limiter = limiter(NO_CAP);
        for index in 0..MAX_KEYS {
            let secs = 1000 + i64::try_from(index % 2).unwrap();
            let info = format!("family{index}");
            assert_eq!(limiter.admit(&event(&info, secs)), Admission::Post);
        }

        assert_eq!(limiter.admit(&event("new", 1002)), Admission::Post);
        assert_eq!(limiter.len(), MAX_KEYS);
        assert_eq!(limiter.admit(&event("family1", 1003)), Admission::Repeat);
        assert_eq!(limiter.admit(&event("new", 1003)), Admission::Repeat);
    }
}
