//! Suppression of repeated events, with a summary event for each run of repeats.
//!
//! Events are keyed by (source IP, trail type, trail, destination IP). The first event of a key
//! opens a window of packet time. Events of the same key inside the window are suppressed and
//! counted. Once the window has passed, a summary carrying the count is due, and the key's next
//! event opens a new window. Every suppressed event is counted in exactly one summary: at window
//! expiry, when its key is evicted, or at [`Throttle::flush`].

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::event::{Event, TrailType};
use crate::time::Timestamp;

/// Throttle key: which repeats count as the same event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    src_ip: IpAddr,
    trail_type: TrailType,
    trail: String,
    dst_ip: IpAddr,
}

impl Key {
    fn of(event: &Event) -> Key {
        Key {
            src_ip: event.src_ip,
            trail_type: event.trail_type,
            trail: event.trail.clone(),
            dst_ip: event.dst_ip,
        }
    }
}

/// Position of a window in start order: its start in nanoseconds since the Unix epoch, then a
/// sequence number that keeps equal starts apart and in arrival order.
type StartOrder = (i128, u64);

/// The open window of one key.
#[derive(Debug)]
struct Window {
    start: StartOrder,
    suppressed: u64,
    /// The last suppressed event, which becomes the summary. `None` until a repeat arrives, and
    /// boxed so that keys without repeats (most keys in a scan) stay small.
    last: Option<Box<Event>>,
}

impl Window {
    /// Returns the summary of the window, if it suppressed any event.
    fn into_summary(self) -> Option<Event> {
        let mut summary = *self.last?;
        summary.repeats = self.suppressed;
        Some(summary)
    }
}

/// Decision of [`Throttle::check`] for one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Write the event.
    Emit,
    /// Do not write it: it is counted and reported in a later summary.
    Suppress,
}

/// Repeat suppression over a bounded set of keys, driven by packet time.
///
/// Packet time (not wall time) decides windows, so an offline replay gives the same output on
/// every run. Call [`Throttle::expire`] regularly with the current packet time (for example
/// before each [`Throttle::check`]) and write what it returns, and call [`Throttle::flush`] at
/// exit.
#[derive(Debug)]
pub struct Throttle {
    window_nanos: i128,
    max_keys: usize,
    windows: HashMap<Arc<Key>, Window>,
    by_start: BTreeMap<StartOrder, Arc<Key>>,
    /// Summaries of windows closed by `check` (a restarted or evicted key), held until the next
    /// `expire` or `flush`. It grows by at most one summary per `check`.
    due: Vec<Event>,
    next_sequence: u64,
    suppressed_total: u64,
    evictions: u64,
}

impl Throttle {
    /// Default window: repeats within 60 s of packet time of a key's first event are suppressed.
    pub const DEFAULT_WINDOW: Duration = Duration::from_secs(60);

    /// Builds a throttle with the given window that tracks at most `max_keys` keys (at least 1).
    ///
    /// A key costs its trail string plus roughly 250 bytes on a 64-bit target (an estimate from
    /// the type sizes and typical map load). A key with suppressed repeats also keeps a copy of
    /// its last event, about 160 bytes plus its strings.
    pub fn new(window: Duration, max_keys: usize) -> Throttle {
        Throttle {
            window_nanos: window.as_nanos().try_into().unwrap_or(i128::MAX),
            max_keys: max_keys.max(1),
            windows: HashMap::new(),
            by_start: BTreeMap::new(),
            due: Vec::new(),
            next_sequence: 0,
            suppressed_total: 0,
            evictions: 0,
        }
    }

    /// Decides whether `event` is written or suppressed, at its packet time.
    ///
    /// The first event of a key is emitted and opens a window, and later events of the key
    /// before the window ends are suppressed. A key whose window has passed opens a new one,
    /// and its summary (if it suppressed any) waits for the next [`Throttle::expire`]. A new key
    /// that finds the table full evicts the key with the oldest window first, in the same way.
    /// Summary events (`repeats > 0`) are always emitted and do not touch the table.
    pub fn check(&mut self, event: &Event) -> Verdict {
        if event.repeats > 0 {
            return Verdict::Emit;
        }

        let now = event.time.as_nanos();
        let key = Key::of(event);
        let window_nanos = self.window_nanos;

        if let Some(window) = self.windows.get_mut(&key) {
            // A time earlier than the window start (packets out of order) counts as inside it.
            if now - window.start.0 < window_nanos {
                window.suppressed += 1;
                match &mut window.last {
                    Some(last) => last.copy_from(event),
                    None => window.last = Some(Box::new(event.clone())),
                }
                self.suppressed_total += 1;
                return Verdict::Suppress;
            }

            let old_start = window.start;
            let new_start = (now, self.next_sequence);
            self.next_sequence += 1;
            let old = std::mem::replace(
                window,
                Window {
                    start: new_start,
                    suppressed: 0,
                    last: None,
                },
            );

            if let Some(shared_key) = self.by_start.remove(&old_start) {
                self.by_start.insert(new_start, shared_key);
            }
            self.due.extend(old.into_summary());
            return Verdict::Emit;
        }

        if self.windows.len() >= self.max_keys {
            self.evict_oldest();
        }
        let start = (now, self.next_sequence);
        self.next_sequence += 1;
        let key = Arc::new(key);
        self.by_start.insert(start, Arc::clone(&key));
        self.windows.insert(
            key,
            Window {
                start,
                suppressed: 0,
                last: None,
            },
        );
        Verdict::Emit
    }

    /// Closes every window that ended at or before packet time `now` and returns the summaries
    /// due, sorted by summary time: those of the closed windows plus those that
    /// [`Throttle::check`] set aside.
    pub fn expire(&mut self, now: Timestamp) -> Vec<Event> {
        let now = now.as_nanos();
        let mut summaries = std::mem::take(&mut self.due);

        while let Some(entry) = self.by_start.first_entry() {
            if entry.key().0.saturating_add(self.window_nanos) > now {
                break;
            }
            let key = entry.remove();
            if let Some(window) = self.windows.remove(&key) {
                summaries.extend(window.into_summary());
            }
        }

        sort_by_time(&mut summaries);
        summaries
    }

    /// Closes every window and returns all pending summaries, sorted by summary time. Call it
    /// at exit so that no suppressed event goes unreported.
    pub fn flush(&mut self) -> Vec<Event> {
        let mut summaries = std::mem::take(&mut self.due);
        self.by_start.clear();
        summaries.extend(
            self.windows
                .drain()
                .filter_map(|(_, window)| window.into_summary()),
        );

        sort_by_time(&mut summaries);
        summaries
    }

    /// Returns the number of events suppressed since creation.
    pub fn suppressed_total(&self) -> u64 {
        self.suppressed_total
    }

    /// Returns the number of keys evicted because the table was full.
    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    /// Returns the number of keys with an open window.
    pub fn len(&self) -> usize {
        self.windows.len()
    }

    /// Returns whether no key has an open window.
    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }

    fn evict_oldest(&mut self) {
        let Some((_, key)) = self.by_start.pop_first() else {
            return;
        };
        if let Some(window) = self.windows.remove(&key) {
            self.due.extend(window.into_summary());
        }
        self.evictions += 1;
    }
}

/// Sorts summaries by time. The sort is stable, so equal times keep their order.
fn sort_by_time(summaries: &mut [Event]) {
    summaries.sort_by_key(|summary| summary.time.as_nanos());
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::event::Proto;

    const WINDOW: Duration = Duration::from_secs(60);

    fn event_at(secs: i64, src_last_octet: u8, trail: &str) -> Event {
        Event {
            time: Timestamp { secs, nanos: 0 },
            sensor: Arc::from("edge1"),
            src_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, src_last_octet)),
            src_port: Some(40000),
            dst_ip: IpAddr::V4(Ipv4Addr::new(8, 8, 8, 8)),
            dst_port: Some(53),
            proto: Proto::Udp,
            trail_type: TrailType::Dns,
            trail: trail.to_string(),
            info: "malware".to_string(),
            reference: "feed".to_string(),
            repeats: 0,
        }
    }

    #[test]
    fn first_event_is_emitted() {
        let mut throttle = Throttle::new(WINDOW, 16);

        assert_eq!(
            throttle.check(&event_at(1000, 1, "a.example")),
            Verdict::Emit
        );
    }

    #[test]
    fn repeats_in_window_suppressed() {
        let mut throttle = Throttle::new(WINDOW, 16);
        throttle.check(&event_at(1000, 1, "a.example"));

        assert_eq!(
            throttle.check(&event_at(1030, 1, "a.example")),
            Verdict::Suppress
        );
        assert_eq!(
            throttle.check(&event_at(1059, 1, "a.example")),
            Verdict::Suppress
        );
        assert_eq!(throttle.suppressed_total(), 2);
    }

    #[test]
    fn summary_after_window_counts_exactly() {
        let mut throttle = Throttle::new(WINDOW, 16);
        throttle.check(&event_at(1000, 1, "a.example"));
        for secs in 1001..1006 {
            throttle.check(&event_at(secs, 1, "a.example"));
        }

        assert!(throttle
            .expire(Timestamp::new(1059, 999_999_999))
            .is_empty());
        let summaries = throttle.expire(Timestamp::new(1060, 0));

        assert_eq!(summaries.len(), 1);
        assert_eq!(summaries[0].repeats, 5);
        assert_eq!(summaries[0].time, Timestamp::new(1005, 0));
    }

    #[test]
    fn window_end_starts_new_window() {
        let mut throttle = Throttle::new(WINDOW, 16);
        throttle.check(&event_at(1000, 1, "a.example"));

        assert_eq!(
            throttle.check(&event_at(1060, 1, "a.example")),
            Verdict::Emit
        );
        assert_eq!(
            throttle.check(&event_at(1061, 1, "a.example")),
            Verdict::Suppress
        );
    }

    #[test]
    fn restart_keeps_old_summary() {
        let mut throttle = Throttle::new(WINDOW, 16);
        throttle.check(&event_at(1000, 1, "a.example"));
        throttle.check(&event_at(1010, 1, "a.example"));
        throttle.check(&event_at(1070, 1, "a.example"));

        let summaries = throttle.expire(Timestamp::new(1070, 0));

        assert_eq!(summaries.len(), 1);
        assert_eq!(summaries[0].repeats, 1);
        assert_eq!(summaries[0].time, Timestamp::new(1010, 0));
    }

    #[test]
    fn expired_key_without_repeats_is_silent() {
        let mut throttle = Throttle::new(WINDOW, 16);
        throttle.check(&event_at(1000, 1, "a.example"));

        assert!(throttle.expire(Timestamp::new(2000, 0)).is_empty());
        assert!(throttle.is_empty());
    }

    #[test]
    fn distinct_keys_are_independent() {
        let mut throttle = Throttle::new(WINDOW, 16);
        throttle.check(&event_at(1000, 1, "a.example"));

        assert_eq!(
            throttle.check(&event_at(1001, 2, "a.example")),
            Verdict::Emit
        );
        assert_eq!(
            throttle.check(&event_at(1002, 1, "b.example")),
            Verdict::Emit
        );
        assert_eq!(
            throttle.check(&event_at(1003, 1, "a.example")),
            Verdict::Suppress
        );
    }

    #[test]
    fn destination_is_part_of_key() {
        let mut throttle = Throttle::new(WINDOW, 16);
        let first = event_at(1000, 1, "a.example");
        let mut other_destination = event_at(1001, 1, "a.example");
        other_destination.dst_ip = IpAddr::V4(Ipv4Addr::new(1, 1, 1, 1));
        throttle.check(&first);

        assert_eq!(throttle.check(&other_destination), Verdict::Emit);
    }

    #[test]
    fn flush_emits_pending_summaries() {
        let mut throttle = Throttle::new(WINDOW, 16);
        for (secs, host) in [
            (1000, 1),
            (1001, 1),
            (1002, 2),
            (1003, 2),
            (1004, 2),
            (1005, 3),
        ] {
            throttle.check(&event_at(secs, host, "a.example"));
        }

        let repeats: Vec<u64> = throttle
            .flush()
            .iter()
            .map(|summary| summary.repeats)
            .collect();

        assert_eq!(repeats, [1, 2]);
        assert!(throttle.is_empty());
    }

    #[test]
    fn eviction_when_full_emits_summary() {
        let mut throttle = Throttle::new(WINDOW, 2);
        throttle.check(&event_at(1000, 1, "a.example"));
        throttle.check(&event_at(1001, 1, "a.example"));
        throttle.check(&event_at(1002, 2, "a.example"));
        throttle.check(&event_at(1003, 3, "a.example"));

        let summaries = throttle.expire(Timestamp::new(1003, 0));

        assert_eq!(throttle.evictions(), 1);
        assert_eq!(throttle.len(), 2);
        assert_eq!(summaries.len(), 1);
        assert_eq!(summaries[0].src_ip, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(summaries[0].repeats, 1);
    }

    #[test]
    fn evicted_key_emits_again() {
        let mut throttle = Throttle::new(WINDOW, 1);
        throttle.check(&event_at(1000, 1, "a.example"));
        throttle.check(&event_at(1001, 2, "a.example"));

        assert_eq!(
            throttle.check(&event_at(1002, 1, "a.example")),
            Verdict::Emit
        );
    }

    #[test]
    fn summaries_come_in_time_order() {
        let mut throttle = Throttle::new(WINDOW, 16);
        throttle.check(&event_at(1000, 1, "a.example"));
        throttle.check(&event_at(1001, 2, "a.example"));
        throttle.check(&event_at(1050, 1, "a.example"));
        throttle.check(&event_at(1020, 2, "a.example"));

        let times: Vec<i64> = throttle
            .expire(Timestamp::new(2000, 0))
            .iter()
            .map(|s| s.time.secs)
            .collect();

        assert_eq!(times, [1020, 1050]);
    }

    #[test]
    fn summary_events_pass_through() {
        let mut throttle = Throttle::new(WINDOW, 16);
        let mut summary = event_at(1000, 1, "a.example");
        summary.repeats = 4;

        assert_eq!(throttle.check(&summary), Verdict::Emit);
        assert!(throttle.is_empty());
    }

    #[test]
    fn no_suppressed_event_is_lost() {
        let mut throttle = Throttle::new(WINDOW, 8);
        let mut reported = 0;
        for step in 0..5_000_i64 {
            let host = (step * 7 % 13) as u8;
            let event = event_at(1000 + step / 10, host, "a.example");
            let summaries = throttle.expire(event.time);
            reported += summaries.iter().map(|summary| summary.repeats).sum::<u64>();
            throttle.check(&event);
        }
        reported += throttle
            .flush()
            .iter()
            .map(|summary| summary.repeats)
            .sum::<u64>();

        assert!(throttle.evictions() > 0);
        assert_eq!(reported, throttle.suppressed_total());
    }
}
