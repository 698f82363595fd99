//! Heuristics: suspicious behaviour the sensor notices without a trail.
//!
//! Each detector keeps bounded state and returns [`Finding`]s, which become events with
//! reference [`REFERENCE`] and, where Maltrail has the same heuristic, Maltrail's info text.
//! [`Heuristics`] owns every detector; the inspector calls it for each packet, ARP frame, DNS
//! message and HTTP request, and [`Heuristics::tick`] drops stale entries. Time is always
//! packet time, so a replayed capture gives the findings it gave live.
//!
//! Flow detectors: [`scan`] (port, UDP and mass scans), [`spike`] (rates far above a host's
//! baseline), [`spoofing`] (bogon sources, MAC changes, contradicting ARP) and [`beacon`]
//! (regular connections). [`dns`] and [`http`] hold the application-layer detectors.

pub mod beacon;
pub mod config;
pub mod dns;
pub mod http;
pub mod lru;
pub mod scan;
pub mod spike;
pub mod spoofing;

use std::borrow::Cow;
use std::net::IpAddr;

use trailwatch_event::{Timestamp, TrailType};
use trailwatch_trailset::Whitelist;
use trailwatch_wire::arp::{ArpPacket, MacAddr};
use trailwatch_wire::TcpFlags;

use self::beacon::BeaconDetector;
pub use self::config::HeuristicsConfig;
use self::dns::DnsHeuristics;
use self::http::HttpHeuristics;
use self::scan::{ScanDetector, ScanSwitches};
use self::spike::SpikeDetector;
use self::spoofing::{SpoofingDetector, SpoofingSwitches};

/// Reference of every heuristic event, as Maltrail writes it.
pub const REFERENCE: &str = "(heuristic)";

/// Seconds of packet time between two sweeps of stale table entries.
const EXPIRY_EVERY_SECS: i64 = 10;

const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;

/// One suspicious observation, before it becomes an event about the packet that showed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Type field of the event, for example [`TrailType::Dns`] for a DGA-like name.
    pub trail_type: TrailType,
    /// Trail field: what was seen, for example the domain or the scanned address.
    pub trail: String,
    /// Info field, for example `potential port scanning`.
    pub info: Cow<'static, str>,
}

/// Occupancy of one bounded table, for the statistics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableStats {
    /// Name of the table, for example `dns.nxdomain_by_client`.
    pub name: &'static str,
    /// Entries in use.
    pub len: usize,
    /// Maximum number of entries.
    pub capacity: usize,
    /// Entries removed to make room for new ones.
    pub evictions: u64,
}

/// The fields of one decoded IP packet that the flow detectors read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowPacket {
    pub time: Timestamp,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// 0 when the protocol has no ports.
    pub src_port: u16,
    pub dst_port: u16,
    /// IP protocol number of the transport header.
    pub protocol: u8,
    /// Flags of a TCP header that was read whole.
    pub tcp_flags: Option<TcpFlags>,
    /// Source address of the Ethernet header, when the capture has one and the packet is not
    /// inside a tunnel.
    pub src_mac: Option<MacAddr>,
}

/// Every detector, each `None` when the configuration switches it off.
#[derive(Debug)]
pub struct Heuristics {
    config: HeuristicsConfig,
    scans: Option<ScanDetector>,
    spikes: Option<SpikeDetector>,
    spoofing: Option<SpoofingDetector>,
    beacons: Option<BeaconDetector>,
    dns: Option<DnsHeuristics>,
    http: Option<HttpHeuristics>,
    last_expiry: i64,
}

impl Heuristics {
    /// Creates the detectors that `config` switches on. `config` must have passed
    /// [`HeuristicsConfig::validate`].
    pub fn new(config: &HeuristicsConfig) -> Heuristics {
        let on = |name| config.is_enabled(name);
        let scan_switches = ScanSwitches {
            tcp: on("port_scan"),
            udp: on("udp_scan"),
            mass: on("mass_scan"),
        };
        let spoofing_switches = SpoofingSwitches {
            bogon: on("bogon_source"),
            mac_change: on("mac_change"),
            arp: on("arp_spoofing"),
        };
        let any_scan = scan_switches.tcp || scan_switches.udp || scan_switches.mass;
        let any_spoofing =
            spoofing_switches.bogon || spoofing_switches.mac_change || spoofing_switches.arp;
        Heuristics {
            config: config.clone(),
            scans: any_scan.then(|| ScanDetector::new(&config.scan, scan_switches)),
            spikes: on("traffic_spike").then(|| SpikeDetector::new(&config.spike)),
            spoofing: any_spoofing
                .then(|| SpoofingDetector::new(&config.spoofing, spoofing_switches)),
            beacons: on("beaconing").then(|| BeaconDetector::new(&config.beacon)),
            dns: config
                .enabled
                .then(|| DnsHeuristics::new(&config.effective_dns())),
            http: config.enabled.then(|| HttpHeuristics::new(&config.http)),
            last_expiry: i64::MIN,
        }
    }

    pub fn config(&self) -> &HeuristicsConfig {
        &self.config
    }

    /// Applies a new configuration. When it differs from the running one, every detector
    /// starts again with empty tables, because thresholds and table sizes may have changed.
    pub fn reconfigure(&mut self, config: &HeuristicsConfig) {
        if *config != self.config {
            *self = Heuristics::new(config);
        }
    }

    /// Tells whether any flow detector runs, so the caller can skip building a
    /// [`FlowPacket`].
    pub fn wants_packets(&self) -> bool {
        self.scans.is_some()
            || self.spikes.is_some()
            || self.spoofing.is_some()
            || self.beacons.is_some()
    }

    /// Runs the flow detectors on one packet and appends their findings to `out`. A source
    /// on `whitelist` raises no finding; for beaconing a whitelisted destination raises none
    /// either.
    pub fn on_packet(
        &mut self,
        packet: &FlowPacket,
        whitelist: &Whitelist,
        out: &mut Vec<Finding>,
    ) {
        let now = packet.time.secs;
        self.expire_if_due(now);

        let start = out.len();
        let tcp_flags = packet.tcp_flags.filter(|_| packet.protocol == IPPROTO_TCP);
        let connection = tcp_flags
            .is_some_and(|flags| flags.contains(TcpFlags::SYN) && !flags.contains(TcpFlags::ACK));
        if let Some(scans) = &mut self.scans {
            if let Some(flags) = tcp_flags {
                scans.on_tcp(now, packet.src, packet.dst, packet.dst_port, flags, out);
            } else if packet.protocol == IPPROTO_UDP {
                let (src_port, dst_port) = (packet.src_port, packet.dst_port);
                scans.on_udp(now, packet.src, packet.dst, src_port, dst_port, out);
            }
        }
        if let Some(spikes) = &mut self.spikes {
            spikes.on_packet(now, packet.src, connection, out);
        }
        if let Some(spoofing) = &mut self.spoofing {
            spoofing.on_packet(now, packet.src, packet.dst, packet.src_mac, out);
        }
        if out.len() > start && whitelist.contains_ip(packet.src) {
            out.truncate(start);
        }

        let Some(beacons) = &mut self.beacons else {
            return;
        };
        let udp = packet.protocol == IPPROTO_UDP;
        if !udp && !connection {
            return;
        }
        let start = out.len();
        let now_ms = now
            .saturating_mul(1000)
            .saturating_add(i64::from(packet.time.nanos / 1_000_000));
        let (src, dst) = (packet.src, packet.dst);
        let (src_port, dst_port) = (packet.src_port, packet.dst_port);
        beacons.on_packet(now_ms, src, dst, src_port, dst_port, udp, connection, out);
        if out.len() > start && (whitelist.contains_ip(src) || whitelist.contains_ip(dst)) {
            out.truncate(start);
        }
    }

    /// Runs the ARP spoofing detector on one ARP packet seen at `now_secs`. A whitelisted
    /// sender address raises no finding.
    pub fn on_arp(
        &mut self,
        now_secs: i64,
        packet: &ArpPacket,
        whitelist: &Whitelist,
        out: &mut Vec<Finding>,
    ) {
        let Some(spoofing) = &mut self.spoofing else {
            return;
        };
        let start = out.len();
        spoofing.on_arp(now_secs, packet, out);
        if out.len() > start && whitelist.contains_ip(IpAddr::V4(packet.sender_ip)) {
            out.truncate(start);
        }
    }

    /// Returns the DNS detectors, or `None` when heuristics are off.
    pub fn dns(&mut self) -> Option<&mut DnsHeuristics> {
        self.dns.as_mut()
    }

    /// Returns the HTTP detectors, or `None` when heuristics are off.
    pub fn http(&mut self) -> Option<&mut HttpHeuristics> {
        self.http.as_mut()
    }

    /// Drops stale entries of the flow tables, at most once per [`EXPIRY_EVERY_SECS`] of
    /// `now_secs`. The inspector calls it with packet times and, on a quiet live link, with
    /// the wall clock.
    pub fn tick(&mut self, now_secs: i64) {
        self.expire_if_due(now_secs);
    }

    /// Returns the occupancy of every table of every running detector.
    pub fn tables(&self) -> Vec<TableStats> {
        let mut tables = Vec::new();
        if let Some(scans) = &self.scans {
            tables.extend(scans.tables());
        }
        if let Some(spikes) = &self.spikes {
            tables.extend(spikes.tables());
        }
        if let Some(spoofing) = &self.spoofing {
            tables.extend(spoofing.tables());
        }
        if let Some(beacons) = &self.beacons {
            tables.extend(beacons.tables());
        }
        if let Some(dns) = &self.dns {
            tables.extend(dns.tables());
        }
        if let Some(http) = &self.http {
            tables.extend(http.tables());
        }
        tables
    }

    fn expire_if_due(&mut self, now: i64) {
        if now.saturating_sub(self.last_expiry) < EXPIRY_EVERY_SECS {
            return;
        }
        self.last_expiry = now;
        if let Some(scans) = &mut self.scans {
            scans.expire(now);
        }
        if let Some(spikes) = &mut self.spikes {
            spikes.expire(now);
        }
        if let Some(spoofing) = &mut self.spoofing {
            spoofing.expire(now);
        }
        if let Some(beacons) = &mut self.beacons {
            beacons.expire(now);
        }
    }
}
