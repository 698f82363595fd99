//! Builders for Ethernet frames: optional 802.1Q/QinQ tags, ARP, IPv4/IPv6 with TCP, UDP or
//! ICMP echo.
//!
//! Every builder clears the output buffer and writes one complete frame with consistent length
//! fields and correct IPv4 header, TCP, UDP and ICMP checksums. The frame carries no FCS, as in
//! captures taken on Linux.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_ARP: u16 = 0x0806;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88A8;
const ETHERTYPE_IPV6: u16 = 0x86DD;

const PROTO_ICMP: u8 = 1;
const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
const PROTO_ICMPV6: u8 = 58;

/// TCP flag bits (RFC 9293 section 3.1).
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
}

/// A 48-bit Ethernet address.
pub type Mac = [u8; 6];

/// The broadcast Ethernet address.
pub const BROADCAST: Mac = [0xFF; 6];

/// VLAN tagging of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vlan {
    Untagged,
    /// One 802.1Q tag with this VLAN id (12 bits).
    Single(u16),
    /// An 802.1ad service tag (outer id) followed by an 802.1Q customer tag (inner id).
    QinQ {
        outer: u16,
        inner: u16,
    },
}

/// The Ethernet header fields of a frame.
#[derive(Clone, Copy, Debug)]
pub struct Link {
    pub source: Mac,
    pub destination: Mac,
    pub vlan: Vlan,
}

/// The IP endpoints of a packet. Both addresses must be of the same family.
#[derive(Clone, Copy, Debug)]
pub struct Hosts {
    pub source: IpAddr,
    pub destination: IpAddr,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
}

/// The TCP header fields a caller chooses; data offset, checksum and urgent pointer follow.
#[derive(Clone, Copy, Debug)]
pub struct TcpHeader {
    pub source_port: u16,
    pub destination_port: u16,
    pub sequence: u32,
    pub acknowledgment: u32,
    /// Bits from [`tcp_flags`].
    pub flags: u8,
    pub window: u16,
}

/// The transport layer of an IP packet.
#[derive(Clone, Copy, Debug)]
pub enum Transport {
    Tcp(TcpHeader),
    Udp {
        source_port: u16,
        destination_port: u16,
    },
    /// ICMP echo (RFC 792) over IPv4 or ICMPv6 echo (RFC 4443) over IPv6.
    Echo {
        reply: bool,
        identifier: u16,
        sequence: u16,
    },
}

/// TCP options sent on a SYN: MSS 1460, SACK permitted, window scale 7 (12 bytes).
const SYN_OPTIONS: [u8; 12] = [2, 4, 0x05, 0xB4, 1, 3, 3, 7, 4, 2, 1, 1];

/// Writes an IP frame with `payload` after the transport header into `out`.
///
/// Returns `None`, leaving `out` unspecified, when the two addresses are of different
/// families or the IP payload exceeds 65,535 bytes.
pub fn build_ip_frame(
    out: &mut Vec<u8>,
    link: &Link,
    hosts: &Hosts,
    transport: &Transport,
    payload: &[u8],
) -> Option<()> {
    out.clear();

    let ethertype = match hosts.source {
        IpAddr::V4(_) => ETHERTYPE_IPV4,
        IpAddr::V6(_) => ETHERTYPE_IPV6,
    };
    write_ethernet(out, link, ethertype);

    let ip_start = out.len();
    let protocol = protocol_of(transport, hosts);
    match (hosts.source, hosts.destination) {
        (IpAddr::V4(source), IpAddr::V4(destination)) => {
            write_ipv4_placeholder(out, source, destination, protocol, hosts.ttl)
        }
        (IpAddr::V6(source), IpAddr::V6(destination)) => {
            write_ipv6_placeholder(out, source, destination, protocol, hosts.ttl)
        }
        _ => return None,
    }

    let transport_start = out.len();
    let checksum_at = write_transport(out, transport);
    out.extend_from_slice(payload);

    let transport_len = u16::try_from(out.len() - transport_start).ok()?;
    finish_ip(out, ip_start, transport_start, transport_len)?;
    if let Transport::Udp { .. } = transport {
        put_u16(out, transport_start + 4, transport_len);
    }

    let pseudo = match (protocol, hosts.source, hosts.destination) {
        (PROTO_ICMP, _, _) => 0,
        (_, source, destination) => pseudo_header_sum(source, destination, protocol, transport_len),
    };
    let mut checksum = finish_checksum(pseudo + sum_words(&out[transport_start..]));
    if protocol == PROTO_UDP && checksum == 0 {
        // RFC 768: a computed zero is sent as all ones, because zero means "no checksum".
        checksum = 0xFFFF;
    }
    put_u16(out, transport_start + checksum_at, checksum);
    Some(())
}

/// ARP operation codes (RFC 826).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArpOperation {
    Request = 1,
    Reply = 2,
}

/// The fields of an Ethernet/IPv4 ARP message.
#[derive(Clone, Copy, Debug)]
pub struct Arp {
    pub operation: ArpOperation,
    pub sender_mac: Mac,
    pub sender_ip: Ipv4Addr,
    pub target_mac: Mac,
    pub target_ip: Ipv4Addr,
}

/// Writes an ARP frame into `out`, padded to the 60-byte Ethernet minimum.
pub fn build_arp_frame(out: &mut Vec<u8>, link: &Link, arp: &Arp) {
    out.clear();
    write_ethernet(out, link, ETHERTYPE_ARP);

    out.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4]);
    out.extend_from_slice(&(arp.operation as u16).to_be_bytes());
    out.extend_from_slice(&arp.sender_mac);
    out.extend_from_slice(&arp.sender_ip.octets());
    out.extend_from_slice(&arp.target_mac);
    out.extend_from_slice(&arp.target_ip.octets());

    if out.len() < 60 {
        out.resize(60, 0);
    }
}

fn write_ethernet(out: &mut Vec<u8>, link: &Link, ethertype: u16) {
    out.extend_from_slice(&link.destination);
    out.extend_from_slice(&link.source);

    match link.vlan {
        Vlan::Untagged => {}
        Vlan::Single(id) => {
            out.extend_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
            out.extend_from_slice(&(id & 0x0FFF).to_be_bytes());
        }
        Vlan::QinQ { outer, inner } => {
            out.extend_from_slice(&ETHERTYPE_QINQ.to_be_bytes());
            out.extend_from_slice(&(outer & 0x0FFF).to_be_bytes());
            out.extend_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
            out.extend_from_slice(&(inner & 0x0FFF).to_be_bytes());
        }
    }

    out.extend_from_slice(&ethertype.to_be_bytes());
}

fn protocol_of(transport: &Transport, hosts: &Hosts) -> u8 {
    match transport {
        Transport::Tcp(_) => PROTO_TCP,
        Transport::Udp { .. } => PROTO_UDP,
        Transport::Echo { .. } if hosts.source.is_ipv4() => PROTO_ICMP,
        Transport::Echo { .. } => PROTO_ICMPV6,
    }
}

/// Writes an IPv4 header whose total length and checksum [`finish_ip`] fills in.
fn write_ipv4_placeholder(
    out: &mut Vec<u8>,
    source: Ipv4Addr,
    destination: Ipv4Addr,
    protocol: u8,
    ttl: u8,
) {
    // Version 4, IHL 5, DSCP 0, total length 0, identification 0, flags DF, fragment offset 0.
    out.extend_from_slice(&[0x45, 0, 0, 0, 0, 0, 0x40, 0, ttl, protocol, 0, 0]);
    out.extend_from_slice(&source.octets());
    out.extend_from_slice(&destination.octets());
}

/// Writes an IPv6 header whose payload length [`finish_ip`] fills in.
fn write_ipv6_placeholder(
    out: &mut Vec<u8>,
    source: Ipv6Addr,
    destination: Ipv6Addr,
    protocol: u8,
    hop_limit: u8,
) {
    out.extend_from_slice(&[0x60, 0, 0, 0, 0, 0, protocol, hop_limit]);
    out.extend_from_slice(&source.octets());
    out.extend_from_slice(&destination.octets());
}

/// Writes the transport header with a zero checksum; returns the checksum's offset in it.
fn write_transport(out: &mut Vec<u8>, transport: &Transport) -> usize {
    match transport {
        Transport::Tcp(tcp) => {
            let options: &[u8] = if tcp.flags & tcp_flags::SYN != 0 {
                &SYN_OPTIONS
            } else {
                &[]
            };
            let data_offset = ((20 + options.len()) / 4) as u8;
            out.extend_from_slice(&tcp.source_port.to_be_bytes());
            out.extend_from_slice(&tcp.destination_port.to_be_bytes());
            out.extend_from_slice(&tcp.sequence.to_be_bytes());
            out.extend_from_slice(&tcp.acknowledgment.to_be_bytes());
            out.extend_from_slice(&[data_offset << 4, tcp.flags]);
            out.extend_from_slice(&tcp.window.to_be_bytes());
            out.extend_from_slice(&[0, 0, 0, 0]);
            out.extend_from_slice(options);
            16
        }
        Transport::Udp {
            source_port,
            destination_port,
        } => {
            out.extend_from_slice(&source_port.to_be_bytes());
            out.extend_from_slice(&destination_port.to_be_bytes());
            out.extend_from_slice(&[0, 0, 0, 0]);
            6
        }
        Transport::Echo {
            reply,
            identifier,
            sequence,
        } => {
            // ICMPv4 and ICMPv6 echo share one layout and differ only in type numbers. The
            // address family is not known here, so finish_ip sets the ICMPv6 types.
            let kind = if *reply { 0 } else { 8 };
            out.extend_from_slice(&[kind, 0, 0, 0]);
            out.extend_from_slice(&identifier.to_be_bytes());
            out.extend_from_slice(&sequence.to_be_bytes());
            2
        }
    }
}

/// Fills the IP length fields (and the IPv4 header checksum) once the payload is written, and
/// sets the ICMPv6 echo type numbers.
fn finish_ip(
    out: &mut [u8],
    ip_start: usize,
    transport_start: usize,
    transport_len: u16,
) -> Option<()> {
    let version = out.get(ip_start)? >> 4;
    if version == 4 {
        let total = transport_len.checked_add(20)?;
        put_u16(out, ip_start + 2, total);
        let checksum = finish_checksum(sum_words(&out[ip_start..transport_start]));
        put_u16(out, ip_start + 10, checksum);
        return Some(());
    }

    put_u16(out, ip_start + 4, transport_len);
    if out.get(ip_start + 6) == Some(&PROTO_ICMPV6) {
        let kind = out.get_mut(transport_start)?;
        // ICMPv6 echo request is 128 and echo reply 129.
        *kind = if *kind == 0 { 129 } else { 128 };
    }
    Some(())
}

fn pseudo_header_sum(source: IpAddr, destination: IpAddr, protocol: u8, length: u16) -> u32 {
    let mut sum = u32::from(protocol) + u32::from(length);
    match (source, destination) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            sum += sum_words(&s.octets()) + sum_words(&d.octets());
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            sum += sum_words(&s.octets()) + sum_words(&d.octets());
        }
        _ => {}
    }
    sum
}

/// Sums `bytes` as big-endian 16-bit words, padding an odd tail with zero (RFC 1071).
fn sum_words(bytes: &[u8]) -> u32 {
    let mut chunks = bytes.chunks_exact(2);
    let mut sum: u32 = 0;
    for pair in &mut chunks {
        sum += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
        // Fold early so that sums over jumbo-sized buffers cannot overflow.
        if sum > 0xFFFF_0000 {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    sum
}

fn finish_checksum(mut sum: u32) -> u16 {
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    !(sum as u16)
}

fn put_u16(out: &mut [u8], at: usize, value: u16) {
    if let Some(slot) = out.get_mut(at..at + 2) {
        slot.copy_from_slice(&value.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{LinkSlice, NetSlice, SlicedPacket, TransportSlice};

    const CLIENT_MAC: Mac = [0x02, 0, 0, 0, 0, 1];
    const ROUTER_MAC: Mac = [0x02, 0, 0, 0, 0, 0xFE];

    fn link(vlan: Vlan) -> Link {
        Link {
            source: CLIENT_MAC,
            destination: ROUTER_MAC,
            vlan,
        }
    }

    fn v4_hosts() -> Hosts {
        Hosts {
            source: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            destination: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)),
            ttl: 64,
        }
    }

    fn v6_hosts() -> Hosts {
        Hosts {
            source: "fd00::1".parse().unwrap(),
            destination: "2001:db8::7".parse().unwrap(),
            ttl: 64,
        }
    }

    fn syn() -> Transport {
        Transport::Tcp(TcpHeader {
            source_port: 40_000,
            destination_port: 443,
            sequence: 1000,
            acknowledgment: 0,
            flags: tcp_flags::SYN,
            window: 64_240,
        })
    }

    #[test]
    fn tcp_syn_decodes_with_options() {
        let mut out = Vec::new();
        build_ip_frame(&mut out, &link(Vlan::Untagged), &v4_hosts(), &syn(), &[]).unwrap();

        let packet = SlicedPacket::from_ethernet(&out).unwrap();
        let Some(TransportSlice::Tcp(tcp)) = packet.transport else {
            panic!("no TCP")
        };
        assert!(tcp.syn());
        assert_eq!(tcp.destination_port(), 443);
        assert_eq!(tcp.options(), &SYN_OPTIONS);
    }

    #[test]
    fn ipv4_header_checksum_verifies() {
        let mut out = Vec::new();
        build_ip_frame(&mut out, &link(Vlan::Untagged), &v4_hosts(), &syn(), &[]).unwrap();

        // A correct header sums to 0xFFFF including its own checksum field.
        assert_eq!(finish_checksum(sum_words(&out[14..34])), 0);
    }

    #[test]
    fn tcp_checksum_verifies_over_pseudo_header() {
        let mut out = Vec::new();
        let hosts = v4_hosts();
        build_ip_frame(&mut out, &link(Vlan::Untagged), &hosts, &syn(), b"abc").unwrap();

        let segment = &out[34..];
        let pseudo = pseudo_header_sum(
            hosts.source,
            hosts.destination,
            PROTO_TCP,
            segment.len() as u16,
        );
        assert_eq!(finish_checksum(pseudo + sum_words(segment)), 0);
    }

    #[test]
    fn udp_over_ipv6_lengths_match() {
        let mut out = Vec::new();
        let udp = Transport::Udp {
            source_port: 5353,
            destination_port: 53,
        };
        build_ip_frame(&mut out, &link(Vlan::Untagged), &v6_hosts(), &udp, &[7; 30]).unwrap();

        let packet = SlicedPacket::from_ethernet(&out).unwrap();
        let Some(NetSlice::Ipv6(ip)) = packet.net else {
            panic!("no IPv6")
        };
        assert_eq!(ip.header().payload_length(), 38);
        let Some(TransportSlice::Udp(udp)) = packet.transport else {
            panic!("no UDP")
        };
        assert_eq!(udp.length(), 38);
        assert_eq!(udp.payload(), &[7; 30]);
    }

    #[test]
    fn single_vlan_tag_decodes() {
        let mut out = Vec::new();
        build_ip_frame(&mut out, &link(Vlan::Single(42)), &v4_hosts(), &syn(), &[]).unwrap();

        let packet = SlicedPacket::from_ethernet(&out).unwrap();
        assert_eq!(packet.vlan_ids().first().map(|id| id.value()), Some(42));
        assert!(matches!(packet.net, Some(NetSlice::Ipv4(_))));
    }

    #[test]
    fn qinq_tags_decode_in_order() {
        let mut out = Vec::new();
        let vlan = Vlan::QinQ {
            outer: 100,
            inner: 7,
        };
        build_ip_frame(&mut out, &link(vlan), &v4_hosts(), &syn(), &[]).unwrap();

        let packet = SlicedPacket::from_ethernet(&out).unwrap();
        let ids: Vec<u16> = packet.vlan_ids().iter().map(|id| id.value()).collect();
        assert_eq!(ids, vec![100, 7]);
    }

    #[test]
    fn icmpv6_echo_uses_v6_types() {
        let mut out = Vec::new();
        let echo = Transport::Echo {
            reply: false,
            identifier: 1,
            sequence: 2,
        };
        build_ip_frame(&mut out, &link(Vlan::Untagged), &v6_hosts(), &echo, &[0; 8]).unwrap();

        let packet = SlicedPacket::from_ethernet(&out).unwrap();
        let Some(TransportSlice::Icmpv6(icmp)) = packet.transport else {
            panic!("no ICMPv6")
        };
        assert_eq!(icmp.type_u8(), 128);
    }

    #[test]
    fn mixed_families_are_rejected() {
        let mut out = Vec::new();
        let hosts = Hosts {
            destination: v6_hosts().destination,
            ..v4_hosts()
        };
        assert!(build_ip_frame(&mut out, &link(Vlan::Untagged), &hosts, &syn(), &[]).is_none());
    }

    #[test]
    fn arp_request_decodes() {
        let mut out = Vec::new();
        let arp = Arp {
            operation: ArpOperation::Request,
            sender_mac: CLIENT_MAC,
            sender_ip: Ipv4Addr::new(10, 0, 0, 1),
            target_mac: [0; 6],
            target_ip: Ipv4Addr::new(10, 0, 0, 254),
        };
        let broadcast = Link {
            destination: BROADCAST,
            ..link(Vlan::Untagged)
        };
        build_arp_frame(&mut out, &broadcast, &arp);

        assert_eq!(out.len(), 60);
        let packet = SlicedPacket::from_ethernet(&out).unwrap();
        let Some(NetSlice::Arp(arp)) = packet.net else {
            panic!("no ARP")
        };
        assert_eq!(arp.target_protocol_addr(), &[10, 0, 0, 254]);
        assert!(matches!(packet.link, Some(LinkSlice::Ethernet2(_))));
    }
}
