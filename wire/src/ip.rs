//! IPv4 and IPv6 headers, the IPv6 extension header chain, and the TCP, UDP and ICMP headers
//! behind them.
//!
//! etherparse reads the fixed IPv4, IPv6, TCP and UDP headers. The extension header chain is
//! walked here. etherparse 0.21 has a lax walker too, but iterating the headers it returns
//! reads past the slice when the walk stopped at a cut-short header, and the fragment offset
//! is only reachable through that iterator.

use std::net::IpAddr;
use std::ops::{BitOr, BitOrAssign};

use etherparse::err::{ipv4, ipv6, tcp};
use etherparse::{Ipv4HeaderSlice, Ipv6HeaderSlice, TcpHeaderSlice, UdpHeaderSlice};

use crate::decode::SkipReason;
use crate::link::{read_be16, tail, Network};

/// IP protocol numbers (IANA "Assigned Internet Protocol Numbers").
pub(crate) mod protocol {
    pub const IPV6_HOP_BY_HOP: u8 = 0;
    pub const ICMP: u8 = 1;
    pub const IPV4_IN_IP: u8 = 4;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const IPV6_IN_IP: u8 = 41;
    pub const IPV6_ROUTING: u8 = 43;
    pub const IPV6_FRAGMENT: u8 = 44;
    pub const GRE: u8 = 47;
    pub const AUTHENTICATION: u8 = 51;
    pub const ICMPV6: u8 = 58;
    pub const IPV6_DESTINATION_OPTIONS: u8 = 60;
    pub const MOBILITY: u8 = 135;
    pub const HIP: u8 = 139;
    pub const SHIM6: u8 = 140;
}

/// Maximum number of IPv6 extension headers walked before the transport header.
///
/// RFC 8200 recommends each extension header at most once (destination options twice), so
/// a chain that follows it has at most about eight. Longer chains are rejected as invalid
/// IPv6.
const MAX_IPV6_EXTENSION_HEADERS: usize = 12;

const IPV4_MIN_HEADER_LEN: usize = 20;
const IPV6_HEADER_LEN: usize = 40;
const FRAGMENT_HEADER_LEN: usize = 8;
/// Length of the ICMP and ICMPv6 header: type, code, checksum and 4 type-specific bytes.
const ICMP_HEADER_LEN: usize = 8;
const UDP_HEADER_LEN: usize = 8;

/// TCP header flags, with bit values as in the 14th header byte (RFC 9293).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TcpFlags(u8);

impl TcpFlags {
    pub const FIN: TcpFlags = TcpFlags(0x01);
    pub const SYN: TcpFlags = TcpFlags(0x02);
    pub const RST: TcpFlags = TcpFlags(0x04);
    pub const PSH: TcpFlags = TcpFlags(0x08);
    pub const ACK: TcpFlags = TcpFlags(0x10);
    pub const URG: TcpFlags = TcpFlags(0x20);
    pub const ECE: TcpFlags = TcpFlags(0x40);
    pub const CWR: TcpFlags = TcpFlags(0x80);

    /// Wraps the flag byte of a TCP header.
    pub const fn from_bits(bits: u8) -> TcpFlags {
        TcpFlags(bits)
    }

    /// Returns the flag byte as it appears in the TCP header.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Returns whether every flag set in `other` is also set in `self`.
    pub const fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }

    fn from_header(header: &TcpHeaderSlice<'_>) -> TcpFlags {
        let flags = [
            (header.fin(), TcpFlags::FIN),
            (header.syn(), TcpFlags::SYN),
            (header.rst(), TcpFlags::RST),
            (header.psh(), TcpFlags::PSH),
            (header.ack(), TcpFlags::ACK),
            (header.urg(), TcpFlags::URG),
            (header.ece(), TcpFlags::ECE),
            (header.cwr(), TcpFlags::CWR),
        ];
        flags
            .into_iter()
            .filter(|(set, _)| *set)
            .fold(TcpFlags(0), |all, (_, flag)| all | flag)
    }
}

impl BitOr for TcpFlags {
    type Output = TcpFlags;

    fn bitor(self, other: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | other.0)
    }
}

impl BitOrAssign for TcpFlags {
    fn bitor_assign(&mut self, other: TcpFlags) {
        self.0 |= other.0;
    }
}

/// TCP header fields that stream tracking needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpFields {
    /// Sequence number of the first payload byte.
    pub seq: u32,
    /// Acknowledgment number, meaningful only when [`TcpFlags::ACK`] is set.
    pub ack: u32,
    pub flags: TcpFlags,
}

/// ICMP or ICMPv6 message type and code. [`Decoded::protocol`](crate::Decoded::protocol)
/// distinguishes the two.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IcmpFields {
    pub icmp_type: u8,
    pub code: u8,
}

/// An IP header chain read up to the transport header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IpPacket<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// Protocol number of the transport header, or of the extension header where the chain
    /// was cut.
    pub protocol: u8,
    /// The bytes after the header chain, limited by the IP length field.
    pub payload: &'a [u8],
    /// The capture or the IP length field ended the packet early.
    pub truncated: bool,
    /// The packet is a first fragment, so `payload` is only the start of the datagram.
    pub fragmented: bool,
    /// IPv4 options or an IPv6 extension header were cut short, so no transport header
    /// can be read.
    pub header_chain_cut: bool,
}

/// The transport header of an [`IpPacket`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TransportHeader<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub tcp: Option<TcpFields>,
    pub icmp: Option<IcmpFields>,
    pub payload: &'a [u8],
    pub truncated: bool,
    pub invalid: bool,
}

/// Reads the IP header chain of `network`.
///
/// Fails with [`SkipReason::TruncatedIp`] when the capture ends before the addresses,
/// [`SkipReason::InvalidIpv4`], [`SkipReason::InvalidIpv6`] or
/// [`SkipReason::InvalidIpVersion`] for a header that cannot be IP, and
/// [`SkipReason::NonFirstFragment`] for a fragment with a non-zero offset.
pub(crate) fn parse_ip(network: Network<'_>) -> Result<IpPacket<'_>, SkipReason> {
    match network {
        Network::Ipv4(bytes) => parse_ipv4(bytes),
        Network::Ipv6(bytes) => parse_ipv6(bytes),
        Network::AnyIp(bytes) => {
            let first = *bytes.first().ok_or(SkipReason::TruncatedIp)?;
            match first >> 4 {
                4 => parse_ipv4(bytes),
                6 => parse_ipv6(bytes),
                _ => Err(SkipReason::InvalidIpVersion),
            }
        }
    }
}

fn parse_ipv4(bytes: &[u8]) -> Result<IpPacket<'_>, SkipReason> {
    let header = match Ipv4HeaderSlice::from_slice(bytes) {
        Ok(header) => header,
        Err(ipv4::HeaderSliceError::Len(_)) => return parse_ipv4_options_cut(bytes),
        Err(ipv4::HeaderSliceError::Content(_)) => return Err(SkipReason::InvalidIpv4),
    };
    if header.fragments_offset().value() != 0 {
        return Err(SkipReason::NonFirstFragment);
    }

    // A total length below the header length is impossible on the wire, but captures taken
    // before segmentation offload filled the field in show 0. The captured bytes are used
    // then, without marking the packet truncated.
    let header_len = header.slice().len();
    let total_len = usize::from(header.total_len());
    let (end, truncated) = if total_len < header_len {
        (bytes.len(), false)
    } else if total_len > bytes.len() {
        (bytes.len(), true)
    } else {
        (total_len, false)
    };
    let payload = bytes.get(header_len..end).ok_or(SkipReason::TruncatedIp)?;

    let mut packet = IpPacket {
        src: IpAddr::V4(header.source_addr()),
        dst: IpAddr::V4(header.destination_addr()),
        protocol: header.protocol().0,
        payload,
        truncated,
        fragmented: header.more_fragments(),
        header_chain_cut: false,
    };
    if packet.protocol == protocol::AUTHENTICATION {
        match skip_extension_header(protocol::AUTHENTICATION, payload) {
            Some((next, rest)) => {
                packet.protocol = next;
                packet.payload = rest;
            }
            None => cut_chain(&mut packet),
        }
    }
    Ok(packet)
}

/// Reads the fixed 20 bytes of an IPv4 header whose options the capture cut short, so that
/// the addresses are still reported.
fn parse_ipv4_options_cut(bytes: &[u8]) -> Result<IpPacket<'_>, SkipReason> {
    let fixed = bytes
        .get(..IPV4_MIN_HEADER_LEN)
        .ok_or(SkipReason::TruncatedIp)?;
    let fragment_offset = read_be16(fixed, 6).ok_or(SkipReason::TruncatedIp)? & 0x1fff;
    if fragment_offset != 0 {
        return Err(SkipReason::NonFirstFragment);
    }
    let more_fragments = fixed[6] & 0x20 != 0;
    let src = [fixed[12], fixed[13], fixed[14], fixed[15]];
    let dst = [fixed[16], fixed[17], fixed[18], fixed[19]];
    Ok(IpPacket {
        src: IpAddr::from(src),
        dst: IpAddr::from(dst),
        protocol: fixed[9],
        payload: empty_end(bytes),
        truncated: true,
        fragmented: more_fragments,
        header_chain_cut: true,
    })
}

fn parse_ipv6(bytes: &[u8]) -> Result<IpPacket<'_>, SkipReason> {
    let header = match Ipv6HeaderSlice::from_slice(bytes) {
        Ok(header) => header,
        Err(ipv6::HeaderSliceError::Len(_)) => return Err(SkipReason::TruncatedIp),
        Err(ipv6::HeaderSliceError::Content(_)) => return Err(SkipReason::InvalidIpv6),
    };

    // A payload length of 0 means a jumbogram (RFC 2675) or a capture taken before
    // segmentation offload filled the field in. Either way the captured bytes are used.
    let payload_len = usize::from(header.payload_length());
    let captured = tail(bytes, IPV6_HEADER_LEN).ok_or(SkipReason::TruncatedIp)?;
    let (payload, truncated) = if payload_len == 0 {
        (captured, false)
    } else if payload_len > captured.len() {
        (captured, true)
    } else {
        (captured.get(..payload_len).unwrap_or(captured), false)
    };

    let mut packet = IpPacket {
        src: IpAddr::V6(header.source_addr()),
        dst: IpAddr::V6(header.destination_addr()),
        protocol: header.next_header().0,
        payload,
        truncated,
        fragmented: false,
        header_chain_cut: false,
    };
    walk_ipv6_extensions(&mut packet)?;
    Ok(packet)
}

/// Skips the IPv6 extension headers at the start of `packet.payload`, leaving `protocol` and
/// `payload` at the transport header, or at the first header that was cut short.
fn walk_ipv6_extensions(packet: &mut IpPacket<'_>) -> Result<(), SkipReason> {
    for index in 0..MAX_IPV6_EXTENSION_HEADERS {
        let current = packet.protocol;
        if !is_ipv6_extension(current) {
            return Ok(());
        }
        if current == protocol::IPV6_HOP_BY_HOP && index != 0 {
            // RFC 8200: hop-by-hop options may only follow the IPv6 header directly.
            return Err(SkipReason::InvalidIpv6);
        }

        if current == protocol::IPV6_FRAGMENT {
            let Some(fragment) = packet.payload.get(..FRAGMENT_HEADER_LEN) else {
                cut_chain(packet);
                return Ok(());
            };
            let offset_and_flags = u16::from_be_bytes([fragment[2], fragment[3]]);
            if offset_and_flags & 0xfff8 != 0 {
                return Err(SkipReason::NonFirstFragment);
            }
            packet.fragmented |= offset_and_flags & 0x0001 != 0;
        }

        match skip_extension_header(current, packet.payload) {
            Some((next, rest)) => {
                packet.protocol = next;
                packet.payload = rest;
            }
            None => {
                cut_chain(packet);
                return Ok(());
            }
        }
    }

    if is_ipv6_extension(packet.protocol) {
        return Err(SkipReason::InvalidIpv6);
    }
    Ok(())
}

fn is_ipv6_extension(number: u8) -> bool {
    use protocol::*;

    matches!(
        number,
        IPV6_HOP_BY_HOP
            | IPV6_ROUTING
            | IPV6_FRAGMENT
            | AUTHENTICATION
            | IPV6_DESTINATION_OPTIONS
            | MOBILITY
            | HIP
            | SHIM6
    )
}

/// Returns the next-header value and the bytes after one extension header of type `kind`,
/// or `None` when the header is cut short.
fn skip_extension_header(kind: u8, bytes: &[u8]) -> Option<(u8, &[u8])> {
    let next = *bytes.first()?;
    let length_field = usize::from(*bytes.get(1)?);
    let header_len = match kind {
        protocol::IPV6_FRAGMENT => FRAGMENT_HEADER_LEN,
        // RFC 4302: the length is in 4-byte units, minus 2.
        protocol::AUTHENTICATION => (length_field + 2) * 4,
        // RFC 8200: the length is in 8-byte units, not counting the first 8 bytes.
        _ => (length_field + 1) * 8,
    };
    Some((next, tail(bytes, header_len)?))
}

fn cut_chain(packet: &mut IpPacket<'_>) {
    packet.truncated = true;
    packet.header_chain_cut = true;
    packet.payload = empty_end(packet.payload);
}

/// Reads the transport header at the start of `packet.payload`.
///
/// A header that the capture or a length field cut short leaves the ports at 0 and sets
/// `truncated`. A header with an impossible length field (a TCP data offset below 5, a UDP
/// length from 1 to 7) leaves the ports at 0 and sets `invalid`. Protocols without a header
/// read here keep the whole IP payload as `payload`.
pub(crate) fn parse_transport<'a>(packet: &IpPacket<'a>) -> TransportHeader<'a> {
    let segment = packet.payload;
    let mut header = TransportHeader {
        src_port: 0,
        dst_port: 0,
        tcp: None,
        icmp: None,
        payload: empty_end(segment),
        truncated: false,
        invalid: false,
    };
    if packet.header_chain_cut {
        return header;
    }

    match packet.protocol {
        protocol::TCP => read_tcp(segment, &mut header),
        protocol::UDP => read_udp(segment, packet.fragmented, &mut header),
        protocol::ICMP | protocol::ICMPV6 => match segment.get(..ICMP_HEADER_LEN) {
            Some(icmp) => {
                header.icmp = Some(IcmpFields {
                    icmp_type: icmp[0],
                    code: icmp[1],
                });
                header.payload = tail(segment, ICMP_HEADER_LEN).unwrap_or(header.payload);
            }
            None => header.truncated = true,
        },
        _ => header.payload = segment,
    }
    header
}

fn read_tcp<'a>(segment: &'a [u8], header: &mut TransportHeader<'a>) {
    let tcp = match TcpHeaderSlice::from_slice(segment) {
        Ok(tcp) => tcp,
        Err(tcp::HeaderSliceError::Len(_)) => {
            header.truncated = true;
            return;
        }
        Err(tcp::HeaderSliceError::Content(_)) => {
            header.invalid = true;
            return;
        }
    };
    header.src_port = tcp.source_port();
    header.dst_port = tcp.destination_port();
    header.tcp = Some(TcpFields {
        seq: tcp.sequence_number(),
        ack: tcp.acknowledgment_number(),
        flags: TcpFlags::from_header(&tcp),
    });
    header.payload = tail(segment, tcp.slice().len()).unwrap_or(header.payload);
}

/// Reads a UDP header and limits the payload to its length field. A length of 0 is what
/// RFC 2675 jumbograms carry, and the IP payload length is used then. The length of a
/// `fragmented` datagram covers all fragments, so exceeding this one does not truncate it.
fn read_udp<'a>(segment: &'a [u8], fragmented: bool, header: &mut TransportHeader<'a>) {
    let Ok(udp) = UdpHeaderSlice::from_slice(segment) else {
        header.truncated = true;
        return;
    };
    let length = usize::from(udp.length());
    if (1..UDP_HEADER_LEN).contains(&length) {
        header.invalid = true;
        return;
    }

    let after_header = tail(segment, UDP_HEADER_LEN).unwrap_or(header.payload);
    header.src_port = udp.source_port();
    header.dst_port = udp.destination_port();
    header.payload = if length == 0 {
        after_header
    } else if length > segment.len() {
        header.truncated = !fragmented;
        after_header
    } else {
        after_header
            .get(..length - UDP_HEADER_LEN)
            .unwrap_or(after_header)
    };
}

/// Returns the empty slice at the end of `bytes`, so that even an empty payload points into
/// the captured frame.
pub(crate) fn empty_end(bytes: &[u8]) -> &[u8] {
    bytes.split_at(bytes.len()).1
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    const SRC4: [u8; 4] = [192, 0, 2, 1];
    const DST4: [u8; 4] = [198, 51, 100, 2];
    const SRC6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
    const DST6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);

    /// Builds an IPv4 header with the given protocol, total length, flags/fragment-offset
    /// field and options. The checksum is left 0, which decoding does not check.
    fn ipv4_header(protocol: u8, total_len: u16, flags_offset: u16, options: &[u8]) -> Vec<u8> {
        let ihl = 5 + u8::try_from(options.len() / 4).unwrap();
        let mut header = vec![0x40 | ihl, 0x00];
        header.extend_from_slice(&total_len.to_be_bytes());
        header.extend_from_slice(&[0x12, 0x34]);
        header.extend_from_slice(&flags_offset.to_be_bytes());
        header.extend_from_slice(&[64, protocol, 0, 0]);
        header.extend_from_slice(&SRC4);
        header.extend_from_slice(&DST4);
        header.extend_from_slice(options);
        header
    }

    /// Builds an IPv4 packet around `payload` with a correct total length.
    fn ipv4_packet(protocol: u8, payload: &[u8]) -> Vec<u8> {
        let total = u16::try_from(20 + payload.len()).unwrap();
        [ipv4_header(protocol, total, 0, &[]), payload.to_vec()].concat()
    }

    /// Builds an IPv6 header with the given next header and payload length.
    fn ipv6_header(next_header: u8, payload_len: u16) -> Vec<u8> {
        let mut header = vec![0x60, 0x00, 0x00, 0x00];
        header.extend_from_slice(&payload_len.to_be_bytes());
        header.extend_from_slice(&[next_header, 64]);
        header.extend_from_slice(&SRC6.octets());
        header.extend_from_slice(&DST6.octets());
        header
    }

    /// Builds an IPv6 packet around `payload` with a correct payload length.
    fn ipv6_packet(next_header: u8, payload: &[u8]) -> Vec<u8> {
        let length = u16::try_from(payload.len()).unwrap();
        [ipv6_header(next_header, length), payload.to_vec()].concat()
    }

    /// Builds a UDP header with ports 53000 -> 53 and the given length field.
    fn udp_header(length: u16) -> Vec<u8> {
        let mut header = vec![0xcf, 0x08, 0x00, 0x35];
        header.extend_from_slice(&length.to_be_bytes());
        header.extend_from_slice(&[0, 0]);
        header
    }

    /// Builds a 20-byte TCP header, ports 40000 -> 80, seq 1000, ack 2000, with the given
    /// flags.
    fn tcp_header(flags: u8) -> Vec<u8> {
        let mut header = vec![0x9c, 0x40, 0x00, 0x50];
        header.extend_from_slice(&1000u32.to_be_bytes());
        header.extend_from_slice(&2000u32.to_be_bytes());
        header.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        header
    }

    #[test]
    fn ipv4_udp_reads_addresses_and_ports() {
        let bytes = ipv4_packet(protocol::UDP, &[udp_header(12), b"abcd".to_vec()].concat());
        let packet = parse_ip(Network::Ipv4(&bytes)).unwrap();
        let transport = parse_transport(&packet);
        assert_eq!(packet.src, IpAddr::from(SRC4));
        assert_eq!(packet.dst, IpAddr::from(DST4));
        assert_eq!(packet.protocol, protocol::UDP);
        assert_eq!((transport.src_port, transport.dst_port), (53000, 53));
        assert_eq!(transport.payload, b"abcd");
        assert!(!packet.truncated);
    }

    #[test]
    fn ipv4_options_are_skipped() {
        // Options: router alert (4 bytes), then NOP padding to 8 bytes, so IHL is 7.
        let options = [0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00];
        let payload = [udp_header(9), vec![0x99]].concat();
        let total = u16::try_from(28 + payload.len()).unwrap();
        let bytes = [ipv4_header(protocol::UDP, total, 0, &options), payload].concat();
        let packet = parse_ip(Network::Ipv4(&bytes)).unwrap();
        assert_eq!(parse_transport(&packet).payload, [0x99]);
    }

    #[test]
    fn ipv4_trailing_padding_is_dropped() {
        // Ethernet pads short frames: 6 zero bytes after a 28-byte packet.
        let mut bytes = ipv4_packet(protocol::UDP, &udp_header(8));
        bytes.extend_from_slice(&[0; 6]);
        let packet = parse_ip(Network::Ipv4(&bytes)).unwrap();
        assert_eq!(packet.payload.len(), 8);
        assert!(!packet.truncated);
    }

    #[test]
    fn ipv4_total_length_beyond_capture() {
        // The total length field announces 85 bytes, but only 48 were captured.
        let payload = [udp_header(65), vec![0; 20]].concat();
        let bytes = [ipv4_header(protocol::UDP, 85, 0, &[]), payload].concat();
        let packet = parse_ip(Network::Ipv4(&bytes)).unwrap();
        let transport = parse_transport(&packet);
        assert!(packet.truncated);
        assert_eq!(transport.payload.len(), 20);
        assert_eq!(transport.dst_port, 53);
    }

    #[test]
    fn ipv4_zero_total_length_uses_capture() {
        let bytes = [
            ipv4_header(protocol::UDP, 0, 0, &[]),
            udp_header(10),
            vec![1, 2],
        ]
        .concat();
        let packet = parse_ip(Network::Ipv4(&bytes)).unwrap();
        assert!(!packet.truncated);
        assert_eq!(parse_transport(&packet).payload, [1, 2]);
    }

    #[test]
    fn ipv4_header_cut_before_addresses() {
        let bytes = ipv4_packet(protocol::UDP, &udp_header(8));
        assert_eq!(
            parse_ip(Network::Ipv4(&bytes[..6])),
            Err(SkipReason::TruncatedIp)
        );
    }

    #[test]
    fn ipv4_options_cut_keep_addresses() {
        // IHL 6 announces 4 option bytes, but the capture ends after the fixed header.
        let header = ipv4_header(protocol::TCP, 44, 0, &[0x01, 0x01, 0x01, 0x00]);
        let packet = parse_ip(Network::Ipv4(&header[..20])).unwrap();
        assert_eq!(packet.dst, IpAddr::from(DST4));
        assert!(packet.truncated);
        assert!(packet.header_chain_cut);
        assert_eq!(parse_transport(&packet).src_port, 0);
    }

    #[test]
    fn ipv4_bad_ihl_is_invalid() {
        let mut bytes = ipv4_packet(protocol::UDP, &udp_header(8));
        bytes[0] = 0x44;
        assert_eq!(
            parse_ip(Network::Ipv4(&bytes)),
            Err(SkipReason::InvalidIpv4)
        );
    }

    #[test]
    fn ipv4_announced_but_version_6() {
        let bytes = ipv6_packet(protocol::UDP, &udp_header(8));
        assert_eq!(
            parse_ip(Network::Ipv4(&bytes)),
            Err(SkipReason::InvalidIpv4)
        );
    }

    #[test]
    fn any_ip_follows_version_nibble() {
        let bytes = ipv6_packet(protocol::UDP, &udp_header(8));
        let packet = parse_ip(Network::AnyIp(&bytes)).unwrap();
        assert_eq!(packet.src, IpAddr::V6(SRC6));
    }

    #[test]
    fn any_ip_rejects_other_versions() {
        let mut bytes = ipv4_packet(protocol::UDP, &udp_header(8));
        bytes[0] = 0x55;
        assert_eq!(
            parse_ip(Network::AnyIp(&bytes)),
            Err(SkipReason::InvalidIpVersion)
        );
    }

    #[test]
    fn any_ip_empty_is_truncated() {
        assert_eq!(parse_ip(Network::AnyIp(&[])), Err(SkipReason::TruncatedIp));
    }

    #[test]
    fn ipv4_first_fragment_is_flagged() {
        // More-fragments bit set and offset 0. The UDP length covers the whole datagram.
        let payload = [udp_header(1008), vec![7; 16]].concat();
        let total = u16::try_from(20 + payload.len()).unwrap();
        let bytes = [ipv4_header(protocol::UDP, total, 0x2000, &[]), payload].concat();
        let packet = parse_ip(Network::Ipv4(&bytes)).unwrap();
        let transport = parse_transport(&packet);
        assert!(packet.fragmented);
        assert!(!transport.truncated);
        assert_eq!(transport.dst_port, 53);
        assert_eq!(transport.payload.len(), 16);
    }

    #[test]
    fn ipv4_later_fragment_is_skipped() {
        // Offset 185 (1480 bytes), more-fragments clear: the last fragment.
        let bytes = [ipv4_header(protocol::UDP, 28, 185, &[]), vec![0; 8]].concat();
        assert_eq!(
            parse_ip(Network::Ipv4(&bytes)),
            Err(SkipReason::NonFirstFragment)
        );
    }

    #[test]
    fn ipv4_authentication_header_is_skipped() {
        // AH: next header UDP, payload length 4 (24 bytes in all), SPI, sequence, 12-byte ICV.
        let mut auth = vec![protocol::UDP, 4, 0, 0];
        auth.extend_from_slice(&[0; 20]);
        let bytes = ipv4_packet(protocol::AUTHENTICATION, &[auth, udp_header(8)].concat());
        let packet = parse_ip(Network::Ipv4(&bytes)).unwrap();
        assert_eq!(packet.protocol, protocol::UDP);
        assert_eq!(parse_transport(&packet).dst_port, 53);
    }

    #[test]
    fn ipv6_udp_reads_addresses_and_ports() {
        let bytes = ipv6_packet(protocol::UDP, &[udp_header(10), vec![1, 2]].concat());
        let packet = parse_ip(Network::Ipv6(&bytes)).unwrap();
        let transport = parse_transport(&packet);
        assert_eq!(packet.dst, IpAddr::V6(DST6));
        assert_eq!(transport.dst_port, 53);
        assert_eq!(transport.payload, [1, 2]);
    }

    #[test]
    fn ipv6_header_cut_short() {
        let bytes = ipv6_packet(protocol::UDP, &udp_header(8));
        assert_eq!(
            parse_ip(Network::Ipv6(&bytes[..39])),
            Err(SkipReason::TruncatedIp)
        );
    }

    #[test]
    fn ipv6_announced_but_version_4() {
        let bytes = [ipv4_packet(protocol::UDP, &udp_header(8)), vec![0; 20]].concat();
        assert_eq!(
            parse_ip(Network::Ipv6(&bytes)),
            Err(SkipReason::InvalidIpv6)
        );
    }

    #[test]
    fn ipv6_payload_length_beyond_capture() {
        let bytes = [ipv6_header(protocol::UDP, 100), udp_header(100), vec![0; 4]].concat();
        let packet = parse_ip(Network::Ipv6(&bytes)).unwrap();
        assert!(packet.truncated);
        assert_eq!(parse_transport(&packet).payload.len(), 4);
    }

    #[test]
    fn ipv6_extension_chain_is_walked() {
        // Hop-by-hop (8 bytes: PadN), routing type 0 with one address (24 bytes),
        // destination options (8 bytes), then UDP.
        let hop_by_hop = [protocol::IPV6_ROUTING, 0, 0x01, 0x04, 0, 0, 0, 0];
        let mut routing = vec![protocol::IPV6_DESTINATION_OPTIONS, 2, 0, 1, 0, 0, 0, 0];
        routing.extend_from_slice(&DST6.octets());
        let destination = [protocol::UDP, 0, 0x01, 0x04, 0, 0, 0, 0];
        let chain = [
            &hop_by_hop[..],
            &routing,
            &destination,
            &udp_header(9),
            &[0xab],
        ]
        .concat();
        let bytes = ipv6_packet(protocol::IPV6_HOP_BY_HOP, &chain);
        let packet = parse_ip(Network::Ipv6(&bytes)).unwrap();
        assert_eq!(packet.protocol, protocol::UDP);
        assert_eq!(parse_transport(&packet).payload, [0xab]);
    }

    #[test]
    fn ipv6_late_hop_by_hop_is_invalid() {
        let destination = [protocol::IPV6_HOP_BY_HOP, 0, 0x01, 0x04, 0, 0, 0, 0];
        let hop_by_hop = [protocol::UDP, 0, 0x01, 0x04, 0, 0, 0, 0];
        let chain = [&destination[..], &hop_by_hop, &udp_header(8)].concat();
        let bytes = ipv6_packet(protocol::IPV6_DESTINATION_OPTIONS, &chain);
        assert_eq!(
            parse_ip(Network::Ipv6(&bytes)),
            Err(SkipReason::InvalidIpv6)
        );
    }

    #[test]
    fn ipv6_endless_chain_is_invalid() {
        // 13 destination options headers, each pointing to another.
        let mut chain = Vec::new();
        for _ in 0..13 {
            chain.extend_from_slice(&[protocol::IPV6_DESTINATION_OPTIONS, 0, 1, 4, 0, 0, 0, 0]);
        }
        let bytes = ipv6_packet(protocol::IPV6_DESTINATION_OPTIONS, &chain);
        assert_eq!(
            parse_ip(Network::Ipv6(&bytes)),
            Err(SkipReason::InvalidIpv6)
        );
    }

    #[test]
    fn ipv6_cut_extension_keeps_addresses() {
        // Payload length 20 announces a hop-by-hop header, but no byte of it was captured.
        let bytes = ipv6_header(protocol::IPV6_HOP_BY_HOP, 20);
        let packet = parse_ip(Network::Ipv6(&bytes)).unwrap();
        assert_eq!(packet.src, IpAddr::V6(SRC6));
        assert_eq!(packet.protocol, protocol::IPV6_HOP_BY_HOP);
        assert!(packet.truncated);
        assert!(packet.header_chain_cut);
    }

    #[test]
    fn ipv6_first_fragment_is_flagged() {
        // Fragment header: next header UDP, offset 0, more-fragments set, id 0x01020304.
        let fragment = [protocol::UDP, 0, 0x00, 0x01, 1, 2, 3, 4];
        let chain = [&fragment[..], &udp_header(1200), &[0; 4]].concat();
        let bytes = ipv6_packet(protocol::IPV6_FRAGMENT, &chain);
        let packet = parse_ip(Network::Ipv6(&bytes)).unwrap();
        assert!(packet.fragmented);
        assert_eq!(parse_transport(&packet).dst_port, 53);
    }

    #[test]
    fn ipv6_atomic_fragment_is_not_fragmented() {
        // Fragment header with offset 0 and more-fragments clear (RFC 6946).
        let fragment = [protocol::UDP, 0, 0x00, 0x00, 1, 2, 3, 4];
        let chain = [&fragment[..], &udp_header(8)].concat();
        let bytes = ipv6_packet(protocol::IPV6_FRAGMENT, &chain);
        let packet = parse_ip(Network::Ipv6(&bytes)).unwrap();
        assert!(!packet.fragmented);
        assert_eq!(packet.protocol, protocol::UDP);
    }

    #[test]
    fn ipv6_later_fragment_is_skipped() {
        // Offset 181 (1448 bytes), more-fragments clear. The data is not a UDP header.
        let fragment = [protocol::UDP, 0, 0x05, 0xa8, 1, 2, 3, 4];
        let chain = [&fragment[..], &[0xee; 16]].concat();
        let bytes = ipv6_packet(protocol::IPV6_FRAGMENT, &chain);
        assert_eq!(
            parse_ip(Network::Ipv6(&bytes)),
            Err(SkipReason::NonFirstFragment)
        );
    }

    #[test]
    fn tcp_fields_are_read() {
        let bytes = ipv4_packet(protocol::TCP, &[tcp_header(0x12), b"hi".to_vec()].concat());
        let packet = parse_ip(Network::Ipv4(&bytes)).unwrap();
        let transport = parse_transport(&packet);
        let tcp = transport.tcp.unwrap();
        assert_eq!((transport.src_port, transport.dst_port), (40000, 80));
        assert_eq!((tcp.seq, tcp.ack), (1000, 2000));
        assert_eq!(tcp.flags, TcpFlags::SYN | TcpFlags::ACK);
        assert_eq!(transport.payload, b"hi");
    }

    #[test]
    fn tcp_every_flag_is_read() {
        let bytes = ipv4_packet(protocol::TCP, &tcp_header(0xff));
        let packet = parse_ip(Network::Ipv4(&bytes)).unwrap();
        assert_eq!(parse_transport(&packet).tcp.unwrap().flags.bits(), 0xff);
    }

    #[test]
    fn tcp_header_cut_short() {
        // The capture kept 12 of the 20 TCP header bytes.
        let bytes = [
            ipv4_header(protocol::TCP, 40, 0, &[]),
            tcp_header(0x02)[..12].to_vec(),
        ];
        let bytes = bytes.concat();
        let packet = parse_ip(Network::Ipv4(&bytes)).unwrap();
        let transport = parse_transport(&packet);
        assert!(transport.truncated);
        assert_eq!(transport.tcp, None);
        assert_eq!(transport.dst_port, 0);
    }

    #[test]
    fn tcp_small_data_offset_is_invalid() {
        let mut segment = tcp_header(0x02);
        segment[12] = 0x40;
        let bytes = ipv4_packet(protocol::TCP, &segment);
        let packet = parse_ip(Network::Ipv4(&bytes)).unwrap();
        let transport = parse_transport(&packet);
        assert!(transport.invalid);
        assert_eq!(transport.src_port, 0);
    }

    #[test]
    fn udp_length_beyond_capture() {
        // UDP length 65507, but the capture holds only the 8-byte header.
        let bytes = [ipv4_header(protocol::UDP, 65535, 0, &[]), udp_header(65507)].concat();
        let packet = parse_ip(Network::Ipv4(&bytes)).unwrap();
        let transport = parse_transport(&packet);
        assert!(transport.truncated);
        assert_eq!(transport.dst_port, 53);
        assert!(transport.payload.is_empty());
    }

    #[test]
    fn udp_length_limits_payload() {
        // UDP length 10 inside an IP payload of 14 bytes.
        let bytes = ipv4_packet(
            protocol::UDP,
            &[udp_header(10), vec![1, 2, 3, 4, 5, 6]].concat(),
        );
        let packet = parse_ip(Network::Ipv4(&bytes)).unwrap();
        assert_eq!(parse_transport(&packet).payload, [1, 2]);
    }

    #[test]
    fn udp_length_below_header_is_invalid() {
        let bytes = ipv4_packet(protocol::UDP, &udp_header(4));
        let packet = parse_ip(Network::Ipv4(&bytes)).unwrap();
        let transport = parse_transport(&packet);
        assert!(transport.invalid);
        assert_eq!(transport.dst_port, 0);
    }

    #[test]
    fn udp_header_cut_short() {
        let bytes = [
            ipv4_header(protocol::UDP, 28, 0, &[]),
            udp_header(8)[..5].to_vec(),
        ]
        .concat();
        let packet = parse_ip(Network::Ipv4(&bytes)).unwrap();
        assert!(parse_transport(&packet).truncated);
    }

    #[test]
    fn icmp_type_and_code_are_read() {
        // Echo request: type 8, code 0, checksum, id 1, sequence 2, then 4 data bytes.
        let icmp = [8, 0, 0, 0, 0, 1, 0, 2, 0xde, 0xad, 0xbe, 0xef];
        let bytes = ipv4_packet(protocol::ICMP, &icmp);
        let packet = parse_ip(Network::Ipv4(&bytes)).unwrap();
        let transport = parse_transport(&packet);
        assert_eq!(
            transport.icmp,
            Some(IcmpFields {
                icmp_type: 8,
                code: 0
            })
        );
        assert_eq!(transport.payload, [0xde, 0xad, 0xbe, 0xef]);
    }

    #[test]
    fn icmpv6_type_and_code_are_read() {
        // Echo request: type 128, code 0.
        let bytes = ipv6_packet(protocol::ICMPV6, &[128, 0, 0, 0, 0, 1, 0, 1]);
        let packet = parse_ip(Network::Ipv6(&bytes)).unwrap();
        let transport = parse_transport(&packet);
        assert_eq!(
            transport.icmp,
            Some(IcmpFields {
                icmp_type: 128,
                code: 0
            })
        );
    }

    #[test]
    fn icmp_header_cut_short() {
        let bytes = [ipv4_header(protocol::ICMP, 28, 0, &[]), vec![8, 0, 0]].concat();
        let packet = parse_ip(Network::Ipv4(&bytes)).unwrap();
        assert!(parse_transport(&packet).truncated);
    }

    #[test]
    fn other_protocol_keeps_ip_payload() {
        // ESP (50): SPI and sequence number, not read here.
        let bytes = ipv4_packet(50, &[0, 0, 1, 0, 0, 0, 0, 1]);
        let packet = parse_ip(Network::Ipv4(&bytes)).unwrap();
        let transport = parse_transport(&packet);
        assert_eq!(transport.payload.len(), 8);
        assert_eq!(transport.src_port, 0);
    }

    #[test]
    fn tcp_flags_contains_subsets() {
        let flags = TcpFlags::SYN | TcpFlags::ACK;
        assert!(flags.contains(TcpFlags::SYN));
        assert!(!flags.contains(TcpFlags::SYN | TcpFlags::FIN));
    }

    #[test]
    fn empty_end_points_past_last_byte() {
        let bytes = [1, 2, 3];
        assert_eq!(empty_end(&bytes).as_ptr(), bytes.as_ptr().wrapping_add(3));
    }
}
