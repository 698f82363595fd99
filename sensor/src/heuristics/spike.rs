//! Traffic spikes: a host sending far more packets, or opening far more connections, than its
//! own recent baseline.
//!
//! Each host's packets and TCP SYNs are counted per interval of `interval_seconds`. When an
//! interval ends, its counts update an exponentially weighted moving mean and variance
//! (weight `smoothing`), and intervals in which the host was silent count as zero. Once a host
//! has `warmup_intervals` intervals behind it, an interval whose count passes both the floor
//! (`min_packets` or `min_connections`) and `mean + deviations * standard deviation` raises one
//! finding for that interval.

use std::borrow::Cow;
use std::net::IpAddr;

use trailwatch_event::TrailType;

use super::config::SpikeConfig;
use super::lru::LruMap;
use super::{Finding, TableStats};

pub const PACKET_SPIKE_INFO: &str = "potential traffic spike (suspicious)";
pub const CONNECTION_SPIKE_INFO: &str = "potential connection spike (suspicious)";

/// Maximum number of silent intervals folded into the baseline one by one when a host comes
/// back. With the default smoothing of 0.1, 64 zero intervals shrink the mean to about 0.1% of
/// its value, so folding more would change nothing that matters.
const MAX_SILENT_INTERVALS: i64 = 64;

/// Moving mean and variance of one count per interval.
#[derive(Debug, Clone, Copy, Default)]
struct Baseline {
    mean: f64,
    variance: f64,
}

impl Baseline {
    fn update(&mut self, value: f64, smoothing: f64) {
        let difference = value - self.mean;
        self.mean += smoothing * difference;
        self.variance = (1.0 - smoothing) * (self.variance + smoothing * difference * difference);
    }

    /// Returns the count above which an interval is a spike.
    fn limit(&self, deviations: f64, floor: u32) -> u32 {
        let limit = self.mean + deviations * self.variance.sqrt();
        // `as` saturates for values past u32::MAX.
        (limit.ceil() as u32).max(floor)
    }
}

#[derive(Debug)]
struct HostRate {
    interval: i64,
    /// Intervals folded into the baselines so far.
    intervals_seen: u32,
    packets: u32,
    connections: u32,
    packet_limit: u32,
    connection_limit: u32,
    packet_baseline: Baseline,
    connection_baseline: Baseline,
    reported: bool,
    last_seen: i64,
}

/// State of the spike detector.
///
/// Table `spike.rate_by_host`: source address to its counts and baselines, at most
/// `max_hosts` entries (about 120 bytes each) with least-recently-used eviction. Hosts silent
/// for `warmup_intervals` intervals are dropped by [`SpikeDetector::expire`], because by then
/// their baseline has decayed towards zero anyway. An evicted host starts a new warm-up.
#[derive(Debug)]
pub struct SpikeDetector {
    config: SpikeConfig,
    hosts: LruMap<IpAddr, HostRate>,
}

impl SpikeDetector {
    pub fn new(config: &SpikeConfig) -> SpikeDetector {
        SpikeDetector {
            config: config.clone(),
            hosts: LruMap::new("spike.rate_by_host", config.max_hosts),
        }
    }

    /// Counts one packet from `src`; `connection` is true for a TCP SYN without ACK.
    pub fn on_packet(&mut self, now: i64, src: IpAddr, connection: bool, out: &mut Vec<Finding>) {
        let length = i64::from(self.config.interval_seconds);
        let interval = now.div_euclid(length);
        let config = &self.config;
        let host = self.hosts.get_or_insert_with(src, || HostRate {
            interval,
            intervals_seen: 0,
            packets: 0,
            connections: 0,
            packet_limit: u32::MAX,
            connection_limit: u32::MAX,
            packet_baseline: Baseline::default(),
            connection_baseline: Baseline::default(),
            reported: false,
            last_seen: now,
        });
        host.last_seen = now;
        if interval > host.interval {
            close_intervals(host, interval, config);
        }

        host.packets = host.packets.saturating_add(1);
        if connection {
            host.connections = host.connections.saturating_add(1);
        }
        if host.reported {
            return;
        }
        let info = if host.packets == host.packet_limit {
            PACKET_SPIKE_INFO
        } else if connection && host.connections == host.connection_limit {
            CONNECTION_SPIKE_INFO
        } else {
            return;
        };
        host.reported = true;
        out.push(Finding {
            trail_type: TrailType::Ip,
            trail: src.to_string(),
            info: Cow::Borrowed(info),
        });
    }

    /// Drops hosts silent for `warmup_intervals` intervals.
    pub fn expire(&mut self, now: i64) {
        let idle =
            i64::from(self.config.interval_seconds) * i64::from(self.config.warmup_intervals);
        self.hosts
            .remove_oldest_while(|host| now.saturating_sub(host.last_seen) >= idle);
    }

    pub fn tables(&self) -> [TableStats; 1] {
        [self.hosts.stats()]
    }
}

/// Folds the host's finished interval, and the silent ones after it, into its baselines and
/// starts interval `interval`.
fn close_intervals(host: &mut HostRate, interval: i64, config: &SpikeConfig) {
    let smoothing = config.smoothing;
    host.packet_baseline
        .update(f64::from(host.packets), smoothing);
    host.connection_baseline
        .update(f64::from(host.connections), smoothing);
    let silent = (interval - host.interval - 1).clamp(0, MAX_SILENT_INTERVALS);
    for _ in 0..silent {
        host.packet_baseline.update(0.0, smoothing);
        host.connection_baseline.update(0.0, smoothing);
    }
    host.intervals_seen = host.intervals_seen.saturating_add(1 + silent as u32);

    host.interval = interval;
    host.packets = 0;
    host.connections = 0;
    host.reported = false;
    if host.intervals_seen >= config.warmup_intervals {
        host.packet_limit = host
            .packet_baseline
            .limit(config.deviations, config.min_packets.max(1));
        host.connection_limit = host
            .connection_baseline
            .limit(config.deviations, config.min_connections.max(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> IpAddr {
        "10.0.0.5".parse().unwrap()
    }

    /// Sends `per_interval` packets (every `syn_every`-th one a SYN) in each of `intervals`
    /// 10-second intervals starting at `start`, and returns the findings.
    fn feed(
        spikes: &mut SpikeDetector,
        start: i64,
        intervals: i64,
        per_interval: u32,
        syn_every: u32,
    ) -> Vec<Finding> {
        let mut out = Vec::new();
        for interval in 0..intervals {
            for packet in 0..per_interval {
                let syn = syn_every > 0 && packet % syn_every == 0;
                spikes.on_packet(start + interval * 10, host(), syn, &mut out);
            }
        }
        out
    }

    #[test]
    fn burst_over_baseline_reported() {
        let mut spikes = SpikeDetector::new(&SpikeConfig::default());
        // Five minutes of 1,000 packets per interval, then one interval of 20,000.
        assert!(feed(&mut spikes, 0, 30, 1_000, 0).is_empty());
        let out = feed(&mut spikes, 300, 1, 20_000, 0);
        let expected = vec![Finding {
            trail_type: TrailType::Ip,
            trail: "10.0.0.5".to_string(),
            info: Cow::Borrowed(PACKET_SPIKE_INFO),
        }];
        assert_eq!(out, expected);
    }

    #[test]
    fn steady_heavy_host_not_spike() {
        let mut spikes = SpikeDetector::new(&SpikeConfig::default());
        // A backup server: 8,000 packets every interval, well above the floor, for an hour.
        let out = feed(&mut spikes, 0, 360, 8_000, 0);
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn burst_below_floor_not_spike() {
        let mut spikes = SpikeDetector::new(&SpikeConfig::default());
        // A quiet host jumping from 10 to 4,999 packets stays under the 5,000 floor.
        assert!(feed(&mut spikes, 0, 30, 10, 0).is_empty());
        assert!(feed(&mut spikes, 300, 1, 4_999, 0).is_empty());
    }

    #[test]
    fn burst_during_warmup_not_spike() {
        let mut spikes = SpikeDetector::new(&SpikeConfig::default());
        assert!(feed(&mut spikes, 0, 5, 100, 0).is_empty());
        assert!(feed(&mut spikes, 50, 1, 50_000, 0).is_empty());
    }

    #[test]
    fn connection_burst_reported() {
        let mut spikes = SpikeDetector::new(&SpikeConfig::default());
        // 2 SYNs per interval as the baseline, then 1,000 packets that are all SYNs.
        assert!(feed(&mut spikes, 0, 30, 20, 10).is_empty());
        let out = feed(&mut spikes, 300, 1, 1_000, 1);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].info, CONNECTION_SPIKE_INFO);
    }

    #[test]
    fn silence_decays_baseline() {
        let mut spikes = SpikeDetector::new(&SpikeConfig::default());
        assert!(feed(&mut spikes, 0, 30, 20_000, 0).is_empty());
        // After ten silent minutes the old rate is no longer the baseline.
        let out = feed(&mut spikes, 900, 1, 20_000, 0);
        assert_eq!(out.len(), 1);
    }
}
