//! Hand-built frames for the sensor's tests, and a pcap writer that goes through libpcap.

#![allow(dead_code)]

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use etherparse::PacketBuilder;

pub const CLIENT: [u8; 4] = [192, 0, 2, 10];
pub const SERVER: [u8; 4] = [198, 51, 100, 53];
pub const CLIENT6: [u8; 16] = [
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];
pub const SERVER6: [u8; 16] = [
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53,
];

const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];

/// Builds a DNS query for `name` (type A, recursion desired) with message id `id`.
pub fn dns_query(id: u16, name: &str) -> Vec<u8> {
    let mut message = Vec::new();
    message.extend_from_slice(&id.to_be_bytes());
    message.extend_from_slice(&[0x01, 0x00]); // flags: standard query, RD
    message.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]); // QDCOUNT 1, no other records
    for label in name.split('.') {
        message.push(label.len() as u8);
        message.extend_from_slice(label.as_bytes());
    }
    message.push(0);
    message.extend_from_slice(&[0, 1, 0, 1]); // QTYPE A, QCLASS IN
    message
}

/// Builds a TLS 1.2 ClientHello record carrying `server_name` in its SNI extension.
pub fn client_hello(server_name: &str) -> Vec<u8> {
    let name = server_name.as_bytes();
    let mut sni = Vec::new();
    sni.extend_from_slice(&((name.len() + 3) as u16).to_be_bytes()); // server_name_list length
    sni.push(0); // host_name
    sni.extend_from_slice(&(name.len() as u16).to_be_bytes());
    sni.extend_from_slice(name);

    let mut extensions = Vec::new();
    extensions.extend_from_slice(&[0, 0]); // extension type server_name
    extensions.extend_from_slice(&(sni.len() as u16).to_be_bytes());
    extensions.extend_from_slice(&sni);

    let mut hello = Vec::new();
    hello.extend_from_slice(&[3, 3]); // client_version TLS 1.2
    hello.extend_from_slice(&[0x42; 32]); // random
    hello.push(0); // session id length
    hello.extend_from_slice(&[0, 2, 0x13, 0x01]); // one cipher suite
    hello.extend_from_slice(&[1, 0]); // one compression method: null
    hello.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
    hello.extend_from_slice(&extensions);

    let mut handshake = vec![1]; // ClientHello
    handshake.extend_from_slice(&(hello.len() as u32).to_be_bytes()[1..]);
    handshake.extend_from_slice(&hello);

    let mut record = vec![22, 3, 1]; // handshake record, TLS 1.0 record version
    record.extend_from_slice(&(handshake.len() as u16).to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

/// Builds an IPv4 UDP packet (no link header).
pub fn ipv4_udp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let builder = PacketBuilder::ipv4(src, dst, 64).udp(sport, dport);
    let mut out = Vec::new();
    builder.write(&mut out, payload).unwrap();
    out
}

/// Builds an IPv4 TCP segment with PSH+ACK (no link header).
pub fn ipv4_tcp(
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    seq: u32,
    payload: &[u8],
) -> Vec<u8> {
    let builder = PacketBuilder::ipv4(src, dst, 64)
        .tcp(sport, dport, seq, 64240)
        .psh()
        .ack(1);
    let mut out = Vec::new();
    builder.write(&mut out, payload).unwrap();
    out
}

/// Builds an IPv4 TCP SYN (no link header).
pub fn ipv4_syn(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
    let builder = PacketBuilder::ipv4(src, dst, 64)
        .tcp(sport, dport, 1000, 64240)
        .syn();
    let mut out = Vec::new();
    builder.write(&mut out, &[]).unwrap();
    out
}

/// Builds an IPv6 UDP packet (no link header).
pub fn ipv6_udp(src: [u8; 16], dst: [u8; 16], sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let builder = PacketBuilder::ipv6(src, dst, 64).udp(sport, dport);
    let mut out = Vec::new();
    builder.write(&mut out, payload).unwrap();
    out
}

/// Builds an IPv6 TCP SYN (no link header).
pub fn ipv6_syn(src: [u8; 16], dst: [u8; 16], sport: u16, dport: u16) -> Vec<u8> {
    let builder = PacketBuilder::ipv6(src, dst, 64)
        .tcp(sport, dport, 1000, 64240)
        .syn();
    let mut out = Vec::new();
    builder.write(&mut out, &[]).unwrap();
    out
}

/// Prepends an Ethernet header, with `tags` 802.1Q/802.1ad tags (tag protocol, VLAN id) in
/// order, and the ether type `ether_type` of `inner`.
pub fn ethernet(tags: &[(u16, u16)], ether_type: u16, inner: &[u8]) -> Vec<u8> {
    let mut frame = Vec::new();
    frame.extend_from_slice(&MAC_B);
    frame.extend_from_slice(&MAC_A);
    for &(tpid, vlan) in tags {
        frame.extend_from_slice(&tpid.to_be_bytes());
        frame.extend_from_slice(&vlan.to_be_bytes());
    }
    frame.extend_from_slice(&ether_type.to_be_bytes());
    frame.extend_from_slice(inner);
    frame
}

/// Returns the ether type for an IP packet, read from its version nibble.
pub fn ip_ether_type(ip: &[u8]) -> u16 {
    if ip[0] >> 4 == 6 {
        0x86dd
    } else {
        0x0800
    }
}

/// Prepends one MPLS label stack entry per label, the last one marked bottom of stack.
pub fn mpls(labels: &[u32], ip: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (index, label) in labels.iter().enumerate() {
        let bottom = u32::from(index + 1 == labels.len());
        let entry = (label << 12) | (bottom << 8) | 64;
        out.extend_from_slice(&entry.to_be_bytes());
    }
    out.extend_from_slice(ip);
    out
}

/// Prepends a PPPoE session header and PPP protocol field to an IPv4 packet.
pub fn pppoe(ip: &[u8]) -> Vec<u8> {
    let mut out = vec![0x11, 0x00, 0x12, 0x34]; // version 1 type 1, code 0, session 0x1234
    out.extend_from_slice(&((ip.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&[0x00, 0x21]); // PPP protocol: IPv4
    out.extend_from_slice(ip);
    out
}

/// Builds a Linux cooked (SLL, link type 113) frame around an IP packet.
pub fn sll(ip: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0, 1, 0, 6]; // packet type: to us; ARPHRD_ETHER; address length 6
    out.extend_from_slice(&MAC_A);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&ip_ether_type(ip).to_be_bytes());
    out.extend_from_slice(ip);
    out
}

/// Builds a Linux cooked v2 (SLL2, link type 276) frame around an IP packet.
pub fn sll2(ip: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&ip_ether_type(ip).to_be_bytes());
    out.extend_from_slice(&[0, 0]); // reserved
    out.extend_from_slice(&2u32.to_be_bytes()); // interface index
    out.extend_from_slice(&[0, 1, 0, 6]); // ARPHRD_ETHER, packet type, address length
    out.extend_from_slice(&MAC_A);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(ip);
    out
}

/// Builds a BSD loopback frame: the address family as a 32-bit number in the given byte order.
pub fn null_loopback(family: u32, big_endian: bool, ip: &[u8]) -> Vec<u8> {
    let mut out = match big_endian {
        true => family.to_be_bytes().to_vec(),
        false => family.to_le_bytes().to_vec(),
    };
    out.extend_from_slice(ip);
    out
}

/// Prepends a GRE (version 0, no options) header to `inner` with protocol type `protocol`.
pub fn gre(protocol: u16, inner: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0];
    out.extend_from_slice(&protocol.to_be_bytes());
    out.extend_from_slice(inner);
    out
}

/// Wraps `payload` in an IPv4 header with protocol `protocol` (for GRE and IP-in-IP).
pub fn ipv4_around(src: [u8; 4], dst: [u8; 4], protocol: u8, payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut out = vec![0x45, 0];
    out.extend_from_slice(&total.to_be_bytes());
    out.extend_from_slice(&[0, 1, 0x40, 0, 64, protocol, 0, 0]);
    out.extend_from_slice(&src);
    out.extend_from_slice(&dst);
    out.extend_from_slice(payload);
    out
}

/// Prepends a VXLAN header (VNI 42) to an inner Ethernet frame.
pub fn vxlan(inner_frame: &[u8]) -> Vec<u8> {
    let mut out = vec![0x08, 0, 0, 0, 0, 0, 42, 0];
    out.extend_from_slice(inner_frame);
    out
}

pub fn v4(octets: [u8; 4]) -> String {
    Ipv4Addr::from(octets).to_string()
}

pub fn v6(octets: [u8; 16]) -> String {
    Ipv6Addr::from(octets).to_string()
}

/// Writes `frames` (seconds since the epoch, microseconds, bytes) to a pcap file of link type
/// `dlt` through libpcap.
pub fn write_pcap(path: &Path, dlt: i32, frames: &[(i64, i64, Vec<u8>)]) {
    let capture = pcap::Capture::dead(pcap::Linktype(dlt)).unwrap();
    let mut savefile = capture.savefile(path).unwrap();
    for (secs, micros, data) in frames {
        let header = pcap::PacketHeader {
            ts: libc::timeval {
                tv_sec: *secs as libc::time_t,
                tv_usec: *micros as libc::suseconds_t,
            },
            caplen: data.len() as u32,
            len: data.len() as u32,
        };
        savefile.write(&pcap::Packet::new(&header, data));
    }
    savefile.flush().unwrap();
}
