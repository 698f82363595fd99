//! Scans: one source probing many ports of one host over TCP or UDP, and one source probing
//! one port on many hosts (worm-like spread).
//!
//! Counting is per window of `window_seconds` of packet time, started by the first probe of
//! a key, and each key raises at most one finding per window.

use std::borrow::Cow;
use std::net::IpAddr;

use trailwatch_event::TrailType;
use trailwatch_wire::TcpFlags;

use super::config::ScanConfig;
use super::lru::LruMap;
use super::{Finding, TableStats};

pub const PORT_SCAN_INFO: &str = "potential port scanning";
pub const UDP_SCAN_INFO: &str = "potential udp scanning";
pub const MASS_SCAN_INFO: &str = "potential infection";

/// Switches of the scan detectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanSwitches {
    pub tcp: bool,
    pub udp: bool,
    pub mass: bool,
}

/// Distinct values seen for one key within one window. The set stops growing at the
/// threshold, so one entry costs at most `threshold` values however long the scan runs.
#[derive(Debug)]
struct Window<T> {
    start: i64,
    last_seen: i64,
    /// Sorted, for binary search; at most the threshold long.
    seen: Vec<T>,
    reported: bool,
}

impl<T: Ord + Copy> Window<T> {
    fn new(now: i64) -> Window<T> {
        Window {
            start: now,
            last_seen: now,
            seen: Vec::new(),
            reported: false,
        }
    }

    /// Adds `value` and returns true when this makes the window reach `threshold` distinct
    /// values for the first time.
    fn add(&mut self, now: i64, window: i64, value: T, threshold: usize) -> bool {
        if now.saturating_sub(self.start) >= window || now < self.start {
            self.start = now;
            self.seen.clear();
            self.reported = false;
        }
        self.last_seen = now;
        if self.reported {
            return false;
        }
        if let Err(position) = self.seen.binary_search(&value) {
            self.seen.insert(position, value);
        }
        if self.seen.len() >= threshold {
            self.reported = true;
            self.seen = Vec::new();
            return true;
        }
        false
    }
}

/// State of the scan detectors.
///
/// Tables, each of at most `max_entries` entries with least-recently-used eviction:
/// - `scan.tcp_ports_by_pair`: (source, destination) to the TCP ports probed;
/// - `scan.udp_ports_by_pair`: (source, destination) to the UDP ports reached;
/// - `scan.hosts_by_source_port`: (source, destination port) to the hosts probed.
///
/// An entry keeps at most its threshold of values (2 bytes a port, 17 an address), so with
/// the defaults the three tables are an estimated 20 MiB when full. An evicted scanner loses
/// its counts, so a flood of more distinct keys than the table holds can hide a scan; that
/// loss is counted in the evictions.
#[derive(Debug)]
pub struct ScanDetector {
    config: ScanConfig,
    switches: ScanSwitches,
    tcp: LruMap<(IpAddr, IpAddr), Window<u16>>,
    udp: LruMap<(IpAddr, IpAddr), Window<u16>>,
    mass: LruMap<(IpAddr, u16), Window<IpAddr>>,
}

impl ScanDetector {
    pub fn new(config: &ScanConfig, switches: ScanSwitches) -> ScanDetector {
        ScanDetector {
            config: config.clone(),
            switches,
            tcp: LruMap::new("scan.tcp_ports_by_pair", config.max_entries),
            udp: LruMap::new("scan.udp_ports_by_pair", config.max_entries),
            mass: LruMap::new("scan.hosts_by_source_port", config.max_entries),
        }
    }

    /// Looks at one TCP segment. Only probes count: segments without ACK and without RST,
    /// which covers SYN, NULL, FIN and XMAS scans but no reply and no established traffic.
    pub fn on_tcp(
        &mut self,
        now: i64,
        src: IpAddr,
        dst: IpAddr,
        dst_port: u16,
        flags: TcpFlags,
        out: &mut Vec<Finding>,
    ) {
        if flags.contains(TcpFlags::ACK) || flags.contains(TcpFlags::RST) {
            return;
        }
        let window = i64::from(self.config.window_seconds);

        if self.switches.tcp {
            let threshold = usize::from(self.config.tcp_ports);
            let entry = self.tcp.get_or_insert_with((src, dst), || Window::new(now));
            if entry.add(now, window, dst_port, threshold) {
                out.push(source_finding(src, PORT_SCAN_INFO));
            }
        }
        if self.switches.mass {
            self.on_mass_probe(now, src, dst, dst_port, out);
        }
    }

    /// Looks at one UDP datagram. A datagram whose destination port is not below its source
    /// port is taken for a reply (a resolver replying from port 53 to a client's ephemeral
    /// port) and does not count.
    pub fn on_udp(
        &mut self,
        now: i64,
        src: IpAddr,
        dst: IpAddr,
        src_port: u16,
        dst_port: u16,
        out: &mut Vec<Finding>,
    ) {
        if !self.switches.udp || dst_port >= src_port {
            return;
        }
        let window = i64::from(self.config.window_seconds);
        let threshold = usize::from(self.config.udp_ports);
        let entry = self.udp.get_or_insert_with((src, dst), || Window::new(now));
        if entry.add(now, window, dst_port, threshold) {
            out.push(source_finding(src, UDP_SCAN_INFO));
        }
    }

    fn on_mass_probe(
        &mut self,
        now: i64,
        src: IpAddr,
        dst: IpAddr,
        dst_port: u16,
        out: &mut Vec<Finding>,
    ) {
        let ports = &self.config.mass_scan_ports;
        if !ports.is_empty() && !ports.contains(&dst_port) {
            return;
        }
        let window = i64::from(self.config.window_seconds);
        let threshold = usize::from(self.config.mass_scan_hosts);
        let entry = self
            .mass
            .get_or_insert_with((src, dst_port), || Window::new(now));
        if entry.add(now, window, dst, threshold) {
            out.push(Finding {
                trail_type: TrailType::Port,
                trail: dst_port.to_string(),
                info: Cow::Borrowed(MASS_SCAN_INFO),
            });
        }
    }

    /// Drops entries whose window ended and that saw no probe since.
    pub fn expire(&mut self, now: i64) {
        let window = i64::from(self.config.window_seconds);
        let stale = |last_seen: i64| now.saturating_sub(last_seen) >= window;
        self.tcp.remove_oldest_while(|entry| stale(entry.last_seen));
        self.udp.remove_oldest_while(|entry| stale(entry.last_seen));
        self.mass
            .remove_oldest_while(|entry| stale(entry.last_seen));
    }

    pub fn tables(&self) -> [TableStats; 3] {
        [self.tcp.stats(), self.udp.stats(), self.mass.stats()]
    }
}

/// Builds a finding whose trail is the scanning source, as Maltrail reports scans.
fn source_finding(src: IpAddr, info: &'static str) -> Finding {
    Finding {
        trail_type: TrailType::Ip,
        trail: src.to_string(),
        info: Cow::Borrowed(info),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYN: TcpFlags = TcpFlags::SYN;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn detector() -> ScanDetector {
        let switches = ScanSwitches {
            tcp: true,
            udp: true,
            mass: true,
        };
        ScanDetector::new(&ScanConfig::default(), switches)
    }

    fn expected(trail_type: TrailType, trail: &str, info: &'static str) -> Vec<Finding> {
        vec![Finding {
            trail_type,
            trail: trail.to_string(),
            info: Cow::Borrowed(info),
        }]
    }

    #[test]
    fn syn_scan_reported_once() {
        let mut scans = detector();
        let mut out = Vec::new();
        for port in 1..=100 {
            scans.on_tcp(1000, ip("203.0.113.9"), ip("10.0.0.7"), port, SYN, &mut out);
        }
        assert_eq!(out, expected(TrailType::Ip, "203.0.113.9", PORT_SCAN_INFO));
    }

    #[test]
    fn nineteen_ports_not_a_scan() {
        let mut scans = detector();
        let mut out = Vec::new();
        for port in 1..20 {
            scans.on_tcp(1000, ip("203.0.113.9"), ip("10.0.0.7"), port, SYN, &mut out);
            // Repeats of one port add nothing.
            scans.on_tcp(1001, ip("203.0.113.9"), ip("10.0.0.7"), port, SYN, &mut out);
        }
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn fin_null_xmas_probes_count() {
        let mut scans = detector();
        let mut out = Vec::new();
        let xmas = TcpFlags::FIN | TcpFlags::PSH | TcpFlags::URG;
        let probes = [TcpFlags::FIN, TcpFlags::from_bits(0), xmas];
        for port in 0..21u16 {
            let flags = probes[usize::from(port) % 3];
            scans.on_tcp(
                5,
                ip("198.51.100.1"),
                ip("10.0.0.7"),
                1000 + port,
                flags,
                &mut out,
            );
        }
        assert_eq!(out, expected(TrailType::Ip, "198.51.100.1", PORT_SCAN_INFO));
    }

    #[test]
    fn replies_and_established_ignored() {
        let mut scans = detector();
        let mut out = Vec::new();
        for port in 0..200u16 {
            let syn_ack = TcpFlags::SYN | TcpFlags::ACK;
            scans.on_tcp(5, ip("10.0.0.7"), ip("10.0.0.8"), port, syn_ack, &mut out);
            scans.on_tcp(
                5,
                ip("10.0.0.7"),
                ip("10.0.0.8"),
                port,
                TcpFlags::RST,
                &mut out,
            );
        }
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn slow_scan_spans_windows() {
        let mut scans = detector();
        let mut out = Vec::new();
        // 15 ports per minute never reach 20 in one 60-second window.
        for port in 0..60u16 {
            let now = 1000 + i64::from(port) * 4;
            scans.on_tcp(now, ip("203.0.113.9"), ip("10.0.0.7"), port, SYN, &mut out);
        }
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn scan_reported_again_next_window() {
        let mut scans = detector();
        let mut out = Vec::new();
        for now in [1000, 1100] {
            for port in 0..20 {
                scans.on_tcp(now, ip("203.0.113.9"), ip("10.0.0.7"), port, SYN, &mut out);
            }
        }
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn udp_scan_reported() {
        let mut scans = detector();
        let mut out = Vec::new();
        for port in 1..=20 {
            scans.on_udp(7, ip("203.0.113.9"), ip("10.0.0.7"), 40_000, port, &mut out);
        }
        assert_eq!(out, expected(TrailType::Ip, "203.0.113.9", UDP_SCAN_INFO));
    }

    #[test]
    fn resolver_replies_not_udp_scan() {
        let mut scans = detector();
        let mut out = Vec::new();
        for port in 0..500u16 {
            scans.on_udp(
                7,
                ip("10.0.0.53"),
                ip("10.0.0.7"),
                53,
                30_000 + port,
                &mut out,
            );
        }
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn smb_sweep_is_infection() {
        let mut scans = detector();
        let mut out = Vec::new();
        for host in 0..40u8 {
            let dst = IpAddr::from([10, 0, 1, host]);
            scans.on_tcp(9, ip("10.0.0.5"), dst, 445, SYN, &mut out);
        }
        assert_eq!(out, expected(TrailType::Port, "445", MASS_SCAN_INFO));
    }

    #[test]
    fn https_to_many_hosts_not_infection() {
        let mut scans = detector();
        let mut out = Vec::new();
        // A browser opening a page with many third-party hosts: port 443 is not watched.
        for host in 0..100u8 {
            let dst = IpAddr::from([198, 51, 100, host]);
            scans.on_tcp(9, ip("10.0.0.5"), dst, 443, SYN, &mut out);
        }
        // 31 hosts on a watched port stay below the default of 32.
        for host in 0..31u8 {
            let dst = IpAddr::from([10, 0, 2, host]);
            scans.on_tcp(9, ip("10.0.0.5"), dst, 3389, SYN, &mut out);
        }
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn switched_off_detectors_stay_quiet() {
        let switches = ScanSwitches {
            tcp: false,
            udp: false,
            mass: false,
        };
        let mut scans = ScanDetector::new(&ScanConfig::default(), switches);
        let mut out = Vec::new();
        for port in 0..100u16 {
            scans.on_tcp(9, ip("10.0.0.5"), ip("10.0.0.6"), port, SYN, &mut out);
            scans.on_udp(9, ip("10.0.0.5"), ip("10.0.0.6"), 60_000, port, &mut out);
            let dst = IpAddr::from([10, 0, 1, port as u8]);
            scans.on_tcp(9, ip("10.0.0.5"), dst, 445, SYN, &mut out);
        }
        assert!(out.is_empty(), "{out:?}");
        assert!(scans.tables().iter().all(|table| table.len == 0));
    }
}
