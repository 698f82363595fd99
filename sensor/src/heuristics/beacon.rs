//! Beaconing: one host connecting to one destination port again and again at a regular
//! interval, as implants polling their command server do.
//!
//! A connection is a TCP SYN without ACK, or a UDP datagram on a pair that was silent for
//! `udp_idle_seconds`. For each (source, destination, port, protocol) pair the detector keeps
//! the time of the last connection and a ring of the last [`RING_LEN`] intervals between
//! connections. Once at least `min_intervals` intervals are recorded, their coefficient of
//! variation (standard deviation over mean) at or below `max_jitter` raises one finding per
//! `report_seconds`.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};

use trailwatch_event::TrailType;

use super::config::BeaconConfig;
use super::lru::LruMap;
use super::{Finding, TableStats};

pub const BEACON_INFO: &str = "potential periodic beaconing (suspicious)";

/// Intervals kept per pair. Sixteen intervals of a 60-second beacon are a quarter hour of
/// history, enough for a stable jitter estimate, at 64 bytes per pair.
pub const RING_LEN: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct PairKey {
    src: IpAddr,
    dst: IpAddr,
    dst_port: u16,
    protocol: u8,
}

#[derive(Debug)]
struct Pair {
    /// Packet time of the last connection, in milliseconds.
    last_connection_ms: i64,
    /// Packet time of the last datagram of a UDP pair, in milliseconds.
    last_packet_ms: i64,
    /// Intervals between connections in milliseconds; `count` of them are valid, the newest
    /// at `next - 1`.
    intervals: [u32; RING_LEN],
    count: u8,
    next: u8,
    /// Packet second of the last finding, `i64::MIN` before the first.
    last_report: i64,
}

impl Pair {
    fn push(&mut self, interval_ms: u32) {
        self.intervals[usize::from(self.next)] = interval_ms;
        self.next = ((usize::from(self.next) + 1) % RING_LEN) as u8;
        self.count = (usize::from(self.count) + 1).min(RING_LEN) as u8;
    }

    /// Returns the coefficient of variation of the recorded intervals.
    fn jitter(&self) -> f64 {
        let values = &self.intervals[..usize::from(self.count)];
        let count = values.len() as f64;
        let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / count;
        let variance = values
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / count;
        variance.sqrt() / mean
    }
}

/// State of the beaconing detector.
///
/// Table `beacon.intervals_by_pair`: (source, destination, port, protocol) to the pair's
/// interval ring, at most `max_pairs` entries (an estimated 200 bytes each with the map's
/// overhead, so 6.5 MiB at the default) with least-recently-used eviction. Pairs silent for
/// longer than `max_interval_seconds` can no longer continue a pattern and are dropped by
/// [`BeaconDetector::expire`]. A host that opens connections to more distinct pairs than the
/// table has room for pushes out slow beacons, and each such loss is counted as an eviction.
#[derive(Debug)]
pub struct BeaconDetector {
    config: BeaconConfig,
    pairs: LruMap<PairKey, Pair>,
}

impl BeaconDetector {
    pub fn new(config: &BeaconConfig) -> BeaconDetector {
        BeaconDetector {
            config: config.clone(),
            pairs: LruMap::new("beacon.intervals_by_pair", config.max_pairs),
        }
    }

    /// Looks at one TCP segment or UDP datagram at `now_ms` (packet time in milliseconds).
    /// `connection` is true for a TCP SYN without ACK; for UDP the detector decides itself.
    /// The caller leaves out whitelisted sources and destinations.
    #[allow(clippy::too_many_arguments)]
    pub fn on_packet(
        &mut self,
        now_ms: i64,
        src: IpAddr,
        dst: IpAddr,
        src_port: u16,
        dst_port: u16,
        udp: bool,
        connection: bool,
        out: &mut Vec<Finding>,
    ) {
        if !udp && !connection {
            return;
        }
        let ignored = &self.config.ignore_ports;
        if ignored.contains(&dst_port) || ignored.contains(&src_port) || !is_unicast(dst) {
            return;
        }

        let key = PairKey {
            src,
            dst,
            dst_port,
            protocol: if udp { 17 } else { 6 },
        };
        let min_ms = i64::from(self.config.min_interval_seconds) * 1000;
        let max_ms = i64::from(self.config.max_interval_seconds) * 1000;
        let idle_ms = i64::from(self.config.udp_idle_seconds) * 1000;
        let pair = self.pairs.get_or_insert_with(key, || Pair {
            last_connection_ms: i64::MIN,
            last_packet_ms: i64::MIN,
            intervals: [0; RING_LEN],
            count: 0,
            next: 0,
            last_report: i64::MIN,
        });

        let starts_flow = if udp {
            let silent = now_ms.saturating_sub(pair.last_packet_ms) >= idle_ms;
            pair.last_packet_ms = now_ms;
            silent
        } else {
            true
        };
        if !starts_flow {
            return;
        }
        if pair.last_connection_ms == i64::MIN {
            pair.last_connection_ms = now_ms;
            return;
        }

        let interval = now_ms.saturating_sub(pair.last_connection_ms);
        if interval < min_ms {
            // A SYN retransmission or a quick reconnect: not a new beat.
            return;
        }
        pair.last_connection_ms = now_ms;
        if interval > max_ms {
            pair.count = 0;
            pair.next = 0;
            return;
        }
        pair.push(interval as u32);

        if u32::from(pair.count) < self.config.min_intervals
            || pair.jitter() > self.config.max_jitter
        {
            return;
        }
        let now = now_ms.div_euclid(1000);
        let report_every = i64::from(self.config.report_seconds);
        if pair.last_report != i64::MIN && now.saturating_sub(pair.last_report) < report_every {
            return;
        }
        pair.last_report = now;
        out.push(Finding {
            trail_type: TrailType::IpPort,
            trail: SocketAddr::new(dst, dst_port).to_string(),
            info: Cow::Borrowed(BEACON_INFO),
        });
    }

    /// Drops pairs silent for longer than `max_interval_seconds`.
    pub fn expire(&mut self, now_secs: i64) {
        let max_ms = i64::from(self.config.max_interval_seconds) * 1000;
        let now_ms = now_secs.saturating_mul(1000);
        self.pairs.remove_oldest_while(|pair| {
            let last = pair.last_connection_ms.max(pair.last_packet_ms);
            now_ms.saturating_sub(last) > max_ms
        });
    }

    pub fn tables(&self) -> [TableStats; 1] {
        [self.pairs.stats()]
    }
}

/// Tells whether `ip` names one host: not multicast, not broadcast, not unspecified.
/// Announcements to groups repeat on timers by design.
fn is_unicast(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => !(ip.is_multicast() || ip.is_broadcast() || ip.is_unspecified()),
        IpAddr::V6(ip) => !(ip.is_multicast() || ip.is_unspecified()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    /// Sends one SYN from 10.0.0.5 to 203.0.113.50:443 at each time (milliseconds).
    fn syns(beacons: &mut BeaconDetector, times: impl IntoIterator<Item = i64>) -> Vec<Finding> {
        let mut out = Vec::new();
        for time in times {
            let (src, dst) = (ip("10.0.0.5"), ip("203.0.113.50"));
            beacons.on_packet(time, src, dst, 50_000, 443, false, true, &mut out);
        }
        out
    }

    /// Returns a jitter of up to +-`spread` ms that looks random but is fixed.
    fn wobble(index: i64, spread: i64) -> i64 {
        (index * 7919 % (2 * spread + 1)) - spread
    }

    #[test]
    fn regular_beacon_reported_once() {
        let mut beacons = BeaconDetector::new(&BeaconConfig::default());
        // Every 60 s with +-2 s of jitter for 20 minutes.
        let out = syns(&mut beacons, (0..20).map(|i| i * 60_000 + wobble(i, 2_000)));
        let expected = vec![Finding {
            trail_type: TrailType::IpPort,
            trail: "203.0.113.50:443".to_string(),
            info: Cow::Borrowed(BEACON_INFO),
        }];
        assert_eq!(out, expected);
    }

    #[test]
    fn seven_intervals_not_enough() {
        let mut beacons = BeaconDetector::new(&BeaconConfig::default());
        let out = syns(&mut beacons, (0..8).map(|i| i * 60_000));
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn irregular_browsing_not_beacon() {
        let mut beacons = BeaconDetector::new(&BeaconConfig::default());
        // Visits 15 s to 5 min apart, as a person browsing one site makes them.
        let gaps = [15, 300, 42, 120, 20, 240, 33, 90, 180, 61, 25, 150];
        let mut time = 0;
        let times: Vec<i64> = gaps
            .iter()
            .map(|gap| {
                time += gap * 1000;
                time
            })
            .collect();
        let out = syns(&mut beacons, times);
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn jitter_just_above_limit_not_beacon() {
        let mut beacons = BeaconDetector::new(&BeaconConfig::default());
        // Intervals alternating 45 s and 75 s: coefficient of variation 0.25.
        let mut time = 0;
        let times: Vec<i64> = (0..20)
            .map(|i| {
                time += if i % 2 == 0 { 45_000 } else { 75_000 };
                time
            })
            .collect();
        assert!(syns(&mut beacons, times).is_empty());
    }

    #[test]
    fn retransmitted_syns_do_not_break_rhythm() {
        let mut beacons = BeaconDetector::new(&BeaconConfig::default());
        // Each beat is a SYN and its retransmission one second later.
        let times = (0..12).flat_map(|i| [i * 30_000, i * 30_000 + 1_000]);
        assert_eq!(syns(&mut beacons, times).len(), 1);
    }

    #[test]
    fn udp_beacon_counts_flows() {
        let mut beacons = BeaconDetector::new(&BeaconConfig::default());
        let mut out = Vec::new();
        let (src, dst) = (ip("10.0.0.5"), ip("203.0.113.60"));
        // Every 120 s a burst of five datagrams 100 ms apart.
        for beat in 0..10 {
            for datagram in 0..5 {
                let time = beat * 120_000 + datagram * 100;
                beacons.on_packet(time, src, dst, 40_000, 8_443, true, false, &mut out);
            }
        }
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].trail, "203.0.113.60:8443");
    }

    #[test]
    fn ntp_polling_ignored() {
        let mut beacons = BeaconDetector::new(&BeaconConfig::default());
        let mut out = Vec::new();
        let (src, dst) = (ip("10.0.0.5"), ip("203.0.113.123"));
        for beat in 0..20 {
            beacons.on_packet(beat * 64_000, src, dst, 123, 123, true, false, &mut out);
        }
        assert!(out.is_empty(), "{out:?}");
        assert_eq!(beacons.tables()[0].len, 0);
    }

    #[test]
    fn long_silence_restarts_history() {
        let mut beacons = BeaconDetector::new(&BeaconConfig::default());
        // Five beats, three hours of silence, five more: never eight regular intervals.
        let times = (0..5)
            .map(|i| i * 60_000)
            .chain((0..5).map(|i| 3 * 3_600_000 + i * 60_000));
        assert!(syns(&mut beacons, times).is_empty());
    }
}
