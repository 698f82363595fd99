//! Spoofing: source addresses that cannot appear on a wire, an address that moves to another
//! MAC, and ARP replies that contradict the binding learned before.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use trailwatch_event::TrailType;
use trailwatch_wire::arp::{ArpOperation, ArpPacket, MacAddr};

use super::config::SpoofingConfig;
use super::lru::LruMap;
use super::{Finding, TableStats};

pub const BOGON_INFO: &str = "bogon source address (suspicious)";
pub const MAC_CHANGE_INFO: &str = "address moved to another mac (suspicious)";
pub const ARP_SPOOFING_INFO: &str = "potential arp spoofing (suspicious)";

/// Switches of the spoofing detectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpoofingSwitches {
    pub bogon: bool,
    pub mac_change: bool,
    pub arp: bool,
}

/// The detector that raised a finding, to report each source once per detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Bogon,
    MacChange,
    Arp,
}

#[derive(Debug, Clone, Copy)]
struct Binding {
    mac: MacAddr,
    last_seen: i64,
}

/// Parses a CIDR block such as `192.0.2.0/24` or `2001:db8::/32`.
pub fn parse_block(text: &str) -> Option<(IpAddr, u8)> {
    let (address, prefix) = text.split_once('/')?;
    let address: IpAddr = address.trim().parse().ok()?;
    let prefix: u8 = prefix.trim().parse().ok()?;
    let max = if address.is_ipv4() { 32 } else { 128 };
    (prefix <= max).then_some((address, prefix))
}

fn block_contains(block: (IpAddr, u8), ip: IpAddr) -> bool {
    match (block.0, ip) {
        (IpAddr::V4(network), IpAddr::V4(ip)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(block.1)).unwrap_or(0);
            u32::from(network) & mask == u32::from(ip) & mask
        }
        (IpAddr::V6(network), IpAddr::V6(ip)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(block.1)).unwrap_or(0);
            u128::from(network) & mask == u128::from(ip) & mask
        }
        _ => false,
    }
}

/// Tells whether `src` can never be the source of a packet on a wire: "this network"
/// 0.0.0.0/8, loopback, multicast, 240.0.0.0/4 (which includes the broadcast address), IPv6
/// loopback, multicast and IPv4-mapped addresses.
///
/// The unspecified addresses 0.0.0.0 and :: are not bogons, because DHCP clients and IPv6
/// duplicate address detection send from them. Loopback to loopback is not either, because
/// that is a capture of the loopback interface. Private ranges (RFC 1918, RFC 4193) are normal
/// on a LAN and are never bogons here.
pub fn is_bogon_source(src: IpAddr, dst: IpAddr) -> bool {
    if src.is_loopback() && dst.is_loopback() {
        return false;
    }
    match src {
        IpAddr::V4(src) => is_bogon_v4(src),
        IpAddr::V6(src) => {
            // An IPv4-mapped address (::ffff:0:0/96) is a socket API convention and never
            // goes on the wire.
            src.to_ipv4_mapped().is_some() || src.is_loopback() || src.is_multicast()
        }
    }
}

fn is_bogon_v4(src: Ipv4Addr) -> bool {
    let first = src.octets()[0];
    (first == 0 && !src.is_unspecified()) || first == 127 || first >= 224
}

/// Tells whether a MAC address seen with `ip` belongs to that host: the address is on the
/// local link (private, link-local or unique local), so no router rewrote the frame.
fn is_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => ip.is_private() || ip.is_link_local(),
        IpAddr::V6(ip) => is_unique_local(ip) || ip.is_unicast_link_local(),
    }
}

fn is_unique_local(ip: Ipv6Addr) -> bool {
    ip.segments()[0] & 0xfe00 == 0xfc00
}

/// State of the spoofing detectors.
///
/// Tables, each of at most `max_bindings` entries with least-recently-used eviction:
/// - `spoofing.mac_by_address`: local source address of IP frames to its last MAC;
/// - `spoofing.mac_by_arp_address`: IPv4 address to the MAC that ARP last bound it to;
/// - `spoofing.reported`: (address, detector) to the time of its last finding, so a source
///   is reported once per `report_seconds`.
///
/// Entries are about 40 bytes. Bindings unseen for `binding_seconds` are dropped by
/// [`SpoofingDetector::expire`], and a different MAC for an address whose binding was evicted
/// or expired is learned without a finding.
#[derive(Debug)]
pub struct SpoofingDetector {
    config: SpoofingConfig,
    switches: SpoofingSwitches,
    extra_bogons: Vec<(IpAddr, u8)>,
    ip_macs: LruMap<IpAddr, Binding>,
    arp_macs: LruMap<Ipv4Addr, Binding>,
    reported: LruMap<(IpAddr, Kind), i64>,
}

impl SpoofingDetector {
    /// Creates the detectors. Blocks of `extra_bogons` that do not parse are skipped, because
    /// [`super::HeuristicsConfig::validate`] rejected them before.
    pub fn new(config: &SpoofingConfig, switches: SpoofingSwitches) -> SpoofingDetector {
        SpoofingDetector {
            config: config.clone(),
            switches,
            extra_bogons: config
                .extra_bogons
                .iter()
                .filter_map(|block| parse_block(block))
                .collect(),
            ip_macs: LruMap::new("spoofing.mac_by_address", config.max_bindings),
            arp_macs: LruMap::new("spoofing.mac_by_arp_address", config.max_bindings),
            reported: LruMap::new("spoofing.reported", config.max_bindings),
        }
    }

    /// Looks at the addresses of one IP packet and, for Ethernet captures, the source MAC of
    /// its frame.
    pub fn on_packet(
        &mut self,
        now: i64,
        src: IpAddr,
        dst: IpAddr,
        src_mac: Option<MacAddr>,
        out: &mut Vec<Finding>,
    ) {
        if self.switches.bogon && self.is_bogon(src, dst) {
            self.report(now, src, Kind::Bogon, BOGON_INFO, out);
        }

        let Some(mac) = src_mac.filter(|_| self.switches.mac_change && is_local(src)) else {
            return;
        };
        let hold = i64::from(self.config.binding_seconds);
        let binding = self.ip_macs.get_or_insert_with(src, || Binding {
            mac,
            last_seen: now,
        });
        let changed = binding.mac != mac && now.saturating_sub(binding.last_seen) < hold;
        *binding = Binding {
            mac,
            last_seen: now,
        };
        if changed {
            self.report(now, src, Kind::MacChange, MAC_CHANGE_INFO, out);
        }
    }

    /// Looks at one ARP packet. Requests and replies teach the binding of their sender. A
    /// reply or announcement that binds a known address to another MAC within
    /// `binding_seconds` is a finding. ARP probes from 0.0.0.0 bind nothing.
    pub fn on_arp(&mut self, now: i64, packet: &ArpPacket, out: &mut Vec<Finding>) {
        if !self.switches.arp || packet.sender_ip.is_unspecified() {
            return;
        }
        let asserts = packet.operation == ArpOperation::Reply || packet.is_gratuitous();
        let hold = i64::from(self.config.binding_seconds);
        let mac = packet.sender_mac;
        let binding = self
            .arp_macs
            .get_or_insert_with(packet.sender_ip, || Binding {
                mac,
                last_seen: now,
            });
        let fresh = now.saturating_sub(binding.last_seen) < hold;
        let contradicts = binding.mac != mac && fresh;
        if binding.mac == mac || !fresh || asserts {
            *binding = Binding {
                mac,
                last_seen: now,
            };
        }
        if contradicts && asserts {
            let ip = IpAddr::V4(packet.sender_ip);
            self.report(now, ip, Kind::Arp, ARP_SPOOFING_INFO, out);
        }
    }

    /// Drops bindings and report times older than their hold time.
    pub fn expire(&mut self, now: i64) {
        let hold = i64::from(self.config.binding_seconds);
        let report_hold = i64::from(self.config.report_seconds);
        let stale = |binding: &Binding| now.saturating_sub(binding.last_seen) >= hold;
        self.ip_macs.remove_oldest_while(stale);
        self.arp_macs.remove_oldest_while(stale);
        self.reported
            .remove_oldest_while(|&time| now.saturating_sub(time) >= report_hold);
    }

    pub fn tables(&self) -> [TableStats; 3] {
        [
            self.ip_macs.stats(),
            self.arp_macs.stats(),
            self.reported.stats(),
        ]
    }

    fn is_bogon(&self, src: IpAddr, dst: IpAddr) -> bool {
        is_bogon_source(src, dst)
            || self
                .extra_bogons
                .iter()
                .any(|&block| block_contains(block, src))
    }

    fn report(
        &mut self,
        now: i64,
        ip: IpAddr,
        kind: Kind,
        info: &'static str,
        out: &mut Vec<Finding>,
    ) {
        let hold = i64::from(self.config.report_seconds);
        let last = self.reported.get_or_insert_with((ip, kind), || i64::MIN);
        if *last != i64::MIN && now.saturating_sub(*last) < hold {
            return;
        }
        *last = now;
        out.push(Finding {
            trail_type: TrailType::Ip,
            trail: ip.to_string(),
            info: Cow::Borrowed(info),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTER: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x01]);
    const HOST: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x02]);
    const ATTACKER: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x66]);

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn detector() -> SpoofingDetector {
        let switches = SpoofingSwitches {
            bogon: true,
            mac_change: true,
            arp: true,
        };
        SpoofingDetector::new(&SpoofingConfig::default(), switches)
    }

    fn finding(trail: &str, info: &'static str) -> Vec<Finding> {
        vec![Finding {
            trail_type: TrailType::Ip,
            trail: trail.to_string(),
            info: Cow::Borrowed(info),
        }]
    }

    fn reply(sender_ip: [u8; 4], sender_mac: MacAddr) -> ArpPacket {
        ArpPacket {
            operation: ArpOperation::Reply,
            sender_mac,
            sender_ip: Ipv4Addr::from(sender_ip),
            target_mac: HOST,
            target_ip: Ipv4Addr::new(192, 168, 1, 20),
            ethernet_source: sender_mac,
        }
    }

    #[test]
    fn bogon_sources_detected() {
        let dst = ip("198.51.100.1");
        for src in [
            "0.1.2.3",
            "127.0.0.1",
            "224.0.0.5",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            assert!(is_bogon_source(ip(src), dst), "{src}");
        }
        let dst6 = ip("2001:db8::1");
        for src in ["::1", "ff02::1", "::ffff:192.0.2.1"] {
            assert!(is_bogon_source(ip(src), dst6), "{src}");
        }
    }

    #[test]
    fn normal_lan_sources_not_bogon() {
        let dst = ip("255.255.255.255");
        for src in [
            "0.0.0.0",
            "10.1.2.3",
            "192.168.1.1",
            "172.16.0.1",
            "169.254.1.1",
        ] {
            assert!(!is_bogon_source(ip(src), dst), "{src}");
        }
        assert!(!is_bogon_source(ip("::"), ip("ff02::1:ff00:1")));
        assert!(!is_bogon_source(ip("fd00::1"), ip("fd00::2")));
        assert!(!is_bogon_source(ip("127.0.0.1"), ip("127.0.0.1")));
        assert!(!is_bogon_source(ip("::1"), ip("::1")));
    }

    #[test]
    fn bogon_reported_once_per_hold() {
        let mut spoofing = detector();
        let mut out = Vec::new();
        for second in 0..100 {
            spoofing.on_packet(second, ip("127.0.0.1"), ip("10.0.0.1"), None, &mut out);
        }
        assert_eq!(out, finding("127.0.0.1", BOGON_INFO));
        spoofing.on_packet(3_700, ip("127.0.0.1"), ip("10.0.0.1"), None, &mut out);
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn extra_bogon_block_detected() {
        let config = SpoofingConfig {
            extra_bogons: vec!["100.64.0.0/10".to_string()],
            ..SpoofingConfig::default()
        };
        let switches = SpoofingSwitches {
            bogon: true,
            mac_change: false,
            arp: false,
        };
        let mut spoofing = SpoofingDetector::new(&config, switches);
        let mut out = Vec::new();
        spoofing.on_packet(1, ip("100.64.0.9"), ip("10.0.0.1"), None, &mut out);
        spoofing.on_packet(1, ip("100.128.0.9"), ip("10.0.0.1"), None, &mut out);
        assert_eq!(out, finding("100.64.0.9", BOGON_INFO));
    }

    #[test]
    fn local_address_changing_mac_reported() {
        let mut spoofing = detector();
        let mut out = Vec::new();
        spoofing.on_packet(10, ip("192.168.1.20"), ip("8.8.8.8"), Some(HOST), &mut out);
        spoofing.on_packet(20, ip("192.168.1.20"), ip("8.8.8.8"), Some(HOST), &mut out);
        assert!(out.is_empty());
        spoofing.on_packet(
            30,
            ip("192.168.1.20"),
            ip("8.8.8.8"),
            Some(ATTACKER),
            &mut out,
        );
        assert_eq!(out, finding("192.168.1.20", MAC_CHANGE_INFO));
    }

    #[test]
    fn remote_sources_share_router_mac() {
        let mut spoofing = detector();
        let mut out = Vec::new();
        // Public sources arrive with the router's MAC, or the other router's after failover.
        spoofing.on_packet(
            10,
            ip("198.51.100.7"),
            ip("192.168.1.20"),
            Some(ROUTER),
            &mut out,
        );
        spoofing.on_packet(
            11,
            ip("198.51.100.7"),
            ip("192.168.1.20"),
            Some(HOST),
            &mut out,
        );
        // A local address that moves after its binding expired is a reassignment.
        spoofing.on_packet(10, ip("192.168.1.30"), ip("8.8.8.8"), Some(HOST), &mut out);
        spoofing.on_packet(
            4_000,
            ip("192.168.1.30"),
            ip("8.8.8.8"),
            Some(ROUTER),
            &mut out,
        );
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn contradicting_arp_reply_reported() {
        let mut spoofing = detector();
        let mut out = Vec::new();
        spoofing.on_arp(10, &reply([192, 168, 1, 1], ROUTER), &mut out);
        spoofing.on_arp(70, &reply([192, 168, 1, 1], ROUTER), &mut out);
        assert!(out.is_empty());
        spoofing.on_arp(80, &reply([192, 168, 1, 1], ATTACKER), &mut out);
        assert_eq!(out, finding("192.168.1.1", ARP_SPOOFING_INFO));
        // The poisoner keeps repeating itself: one finding per hold time.
        for second in 81..200 {
            spoofing.on_arp(second, &reply([192, 168, 1, 1], ATTACKER), &mut out);
            spoofing.on_arp(second, &reply([192, 168, 1, 1], ROUTER), &mut out);
        }
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn arp_probe_and_request_not_spoofing() {
        let mut spoofing = detector();
        let mut out = Vec::new();
        spoofing.on_arp(10, &reply([192, 168, 1, 1], ROUTER), &mut out);
        // RFC 5227 probe: sender 0.0.0.0, which binds nothing.
        let mut probe = reply([0, 0, 0, 0], ATTACKER);
        probe.operation = ArpOperation::Request;
        spoofing.on_arp(11, &probe, &mut out);
        // A request with another sender MAC asserts nothing and keeps the binding.
        let mut request = reply([192, 168, 1, 1], ATTACKER);
        request.operation = ArpOperation::Request;
        spoofing.on_arp(12, &request, &mut out);
        spoofing.on_arp(13, &reply([192, 168, 1, 1], ROUTER), &mut out);
        assert!(out.is_empty(), "{out:?}");
    }
}
