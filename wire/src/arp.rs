//! ARP (RFC 826) for IPv4 over Ethernet, and the Ethernet source address of a frame.
//!
//! [`decode`](crate::decode) skips ARP frames as not IP, so the sensor reads them through
//! [`parse_ethernet`] instead. Both functions are checked views: they read only inside the
//! frame, never panic and allocate nothing.

use std::fmt;
use std::net::Ipv4Addr;

const ETHERNET_HEADER_LEN: usize = 14;
const ETHER_TYPE_ARP: u16 = 0x0806;
const ETHER_TYPE_VLAN: u16 = 0x8100;
const ETHER_TYPE_QINQ: u16 = 0x88a8;
const ETHER_TYPE_QINQ_LEGACY: u16 = 0x9100;
const VLAN_TAG_LEN: usize = 4;
/// Maximum number of VLAN tags skipped before the ether type that names ARP; QinQ stacks two.
const MAX_VLAN_TAGS: usize = 4;

/// Length of an ARP packet for Ethernet and IPv4: 8 bytes of header, then two 6-byte hardware
/// and two 4-byte protocol addresses.
const ARP_IPV4_LEN: usize = 28;
const HARDWARE_ETHERNET: u16 = 1;
const PROTOCOL_IPV4: u16 = 0x0800;

/// A 48-bit IEEE 802 MAC address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

impl fmt::Display for MacAddr {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, f] = self.0;
        write!(formatter, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{f:02x}")
    }
}

/// ARP operation code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArpOperation {
    Request,
    Reply,
    /// Any other code (RARP, InARP...), kept as its number.
    Other(u16),
}

/// The fields of one ARP packet for IPv4 over Ethernet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArpPacket {
    pub operation: ArpOperation,
    pub sender_mac: MacAddr,
    pub sender_ip: Ipv4Addr,
    pub target_mac: MacAddr,
    pub target_ip: Ipv4Addr,
    /// Source address of the Ethernet header around the packet, which a forged reply may set
    /// differently from `sender_mac`.
    pub ethernet_source: MacAddr,
}

impl ArpPacket {
    /// Tells whether the packet announces its sender's own address: a request or reply whose
    /// target IP is the sender IP (RFC 5227 announcements, gratuitous ARP).
    pub fn is_gratuitous(&self) -> bool {
        self.sender_ip == self.target_ip
    }
}

/// Reads an Ethernet II frame that carries ARP for IPv4, after up to [`MAX_VLAN_TAGS`]
/// VLAN tags. Returns `None` for every other frame, for a cut-short ARP packet and for ARP of
/// other hardware or protocol types.
pub fn parse_ethernet(frame: &[u8]) -> Option<ArpPacket> {
    let ethernet_source = ethernet_source(frame)?;
    let mut ether_type = read_be16(frame, 12)?;
    let mut offset = ETHERNET_HEADER_LEN;
    for _ in 0..MAX_VLAN_TAGS {
        if !matches!(
            ether_type,
            ETHER_TYPE_VLAN | ETHER_TYPE_QINQ | ETHER_TYPE_QINQ_LEGACY
        ) {
            break;
        }
        ether_type = read_be16(frame, offset + 2)?;
        offset += VLAN_TAG_LEN;
    }
    if ether_type != ETHER_TYPE_ARP {
        return None;
    }
    parse_arp(frame.get(offset..)?, ethernet_source)
}

/// Returns the source MAC address of an Ethernet frame, or `None` when the frame is shorter
/// than an Ethernet header.
pub fn ethernet_source(frame: &[u8]) -> Option<MacAddr> {
    if frame.len() < ETHERNET_HEADER_LEN {
        return None;
    }
    mac_at(frame, 6)
}

fn parse_arp(packet: &[u8], ethernet_source: MacAddr) -> Option<ArpPacket> {
    if packet.len() < ARP_IPV4_LEN {
        return None;
    }
    let hardware = read_be16(packet, 0)?;
    let protocol = read_be16(packet, 2)?;
    if hardware != HARDWARE_ETHERNET || protocol != PROTOCOL_IPV4 {
        return None;
    }
    if packet[4] != 6 || packet[5] != 4 {
        return None;
    }
    let operation = match read_be16(packet, 6)? {
        1 => ArpOperation::Request,
        2 => ArpOperation::Reply,
        other => ArpOperation::Other(other),
    };
    Some(ArpPacket {
        operation,
        sender_mac: mac_at(packet, 8)?,
        sender_ip: ipv4_at(packet, 14)?,
        target_mac: mac_at(packet, 18)?,
        target_ip: ipv4_at(packet, 24)?,
        ethernet_source,
    })
}

fn read_be16(bytes: &[u8], offset: usize) -> Option<u16> {
    let field = bytes.get(offset..offset.checked_add(2)?)?;
    Some(u16::from_be_bytes([field[0], field[1]]))
}

fn mac_at(bytes: &[u8], offset: usize) -> Option<MacAddr> {
    let field = bytes.get(offset..offset.checked_add(6)?)?;
    let mut mac = [0u8; 6];
    mac.copy_from_slice(field);
    Some(MacAddr(mac))
}

fn ipv4_at(bytes: &[u8], offset: usize) -> Option<Ipv4Addr> {
    let field = bytes.get(offset..offset.checked_add(4)?)?;
    Some(Ipv4Addr::new(field[0], field[1], field[2], field[3]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BROADCAST: [u8; 6] = [0xff; 6];
    const ROUTER: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
    const HOST: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];

    /// Builds an ARP packet for Ethernet and IPv4 with the given operation code.
    fn arp(operation: u16, sender: ([u8; 6], [u8; 4]), target: ([u8; 6], [u8; 4])) -> Vec<u8> {
        let mut packet = vec![0, 1, 0x08, 0x00, 6, 4];
        packet.extend_from_slice(&operation.to_be_bytes());
        packet.extend_from_slice(&sender.0);
        packet.extend_from_slice(&sender.1);
        packet.extend_from_slice(&target.0);
        packet.extend_from_slice(&target.1);
        packet
    }

    fn ethernet(destination: [u8; 6], source: [u8; 6], tags: &[u8], payload: &[u8]) -> Vec<u8> {
        [&destination[..], &source, tags, &[0x08, 0x06], payload].concat()
    }

    #[test]
    fn reply_fields_are_read() {
        let payload = arp(2, (ROUTER, [192, 0, 2, 1]), (HOST, [192, 0, 2, 2]));
        let frame = ethernet(HOST, ROUTER, &[], &payload);
        let packet = parse_ethernet(&frame).unwrap();
        assert_eq!(packet.operation, ArpOperation::Reply);
        assert_eq!(packet.sender_mac, MacAddr(ROUTER));
        assert_eq!(packet.sender_ip, Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(packet.target_mac, MacAddr(HOST));
        assert_eq!(packet.target_ip, Ipv4Addr::new(192, 0, 2, 2));
        assert_eq!(packet.ethernet_source, MacAddr(ROUTER));
        assert!(!packet.is_gratuitous());
    }

    #[test]
    fn request_behind_vlan_tag() {
        // One 802.1Q tag, VLAN 10, whose ether type field is written by `ethernet`.
        let payload = arp(1, (HOST, [192, 0, 2, 2]), ([0; 6], [192, 0, 2, 1]));
        let mut frame = [&BROADCAST[..], &HOST, &[0x81, 0x00, 0x00, 0x0a]].concat();
        frame.extend_from_slice(&[0x08, 0x06]);
        frame.extend_from_slice(&payload);
        let packet = parse_ethernet(&frame).unwrap();
        assert_eq!(packet.operation, ArpOperation::Request);
        assert_eq!(packet.sender_ip, Ipv4Addr::new(192, 0, 2, 2));
    }

    #[test]
    fn gratuitous_announcement_is_flagged() {
        let payload = arp(1, (HOST, [192, 0, 2, 2]), ([0; 6], [192, 0, 2, 2]));
        let frame = ethernet(BROADCAST, HOST, &[], &payload);
        assert!(parse_ethernet(&frame).unwrap().is_gratuitous());
    }

    #[test]
    fn truncated_or_foreign_arp_is_none() {
        let payload = arp(2, (ROUTER, [192, 0, 2, 1]), (HOST, [192, 0, 2, 2]));
        let frame = ethernet(HOST, ROUTER, &[], &payload);
        for cut in 0..frame.len() {
            assert_eq!(parse_ethernet(&frame[..cut]), None, "cut at {cut}");
        }

        let mut other_protocol = payload.clone();
        other_protocol[2..4].copy_from_slice(&0x86ddu16.to_be_bytes());
        assert_eq!(
            parse_ethernet(&ethernet(HOST, ROUTER, &[], &other_protocol)),
            None
        );
    }

    #[test]
    fn ipv4_frame_is_not_arp() {
        let mut frame = ethernet(HOST, ROUTER, &[], &[0x45; 40]);
        frame[12..14].copy_from_slice(&[0x08, 0x00]);
        assert_eq!(parse_ethernet(&frame), None);
        assert_eq!(ethernet_source(&frame), Some(MacAddr(ROUTER)));
    }

    #[test]
    fn mac_displays_with_colons() {
        let mac = MacAddr([0x02, 0xab, 0, 0x10, 0xff, 0x01]);
        assert_eq!(mac.to_string(), "02:ab:00:10:ff:01");
    }
}
