//! The per-packet entry point: [`decode`] walks a captured frame to its innermost IP packet.

use std::net::{IpAddr, Ipv4Addr};

use crate::ip::{self, IcmpFields, TcpFields};
use crate::link::{self, Layer, Network};
use crate::linktype::LinkType;
use crate::{cooked, tunnel};

/// Maximum number of tunnels that [`decode`] looks through. A packet inside a fifth tunnel
/// is skipped with [`SkipReason::TunnelTooDeep`].
///
/// Nested tunnels are uncommon: Geneve carrying VXLAN, two deep, is the deepest case in the
/// project's test captures. The bound sizes the array of outer address pairs in [`Decoded`].
pub const MAX_TUNNEL_DEPTH: usize = 4;

/// Reason that [`decode`] skipped a frame. Every variant is a separate condition worth
/// counting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum SkipReason {
    /// The frame ends inside a link-layer header, VLAN tag, MPLS label, PPPoE or PPP header,
    /// or before the packet attribute of an NFLOG message.
    #[error("frame ends inside a link-layer header")]
    TruncatedLink,
    /// A link-layer header field is impossible: a PPPoE session header whose version, type or
    /// code is wrong, or an NFLOG attribute shorter than its own header.
    #[error("invalid link-layer header")]
    InvalidLink,
    /// The link type, or this version of its header, has no decoder. The sensor counts this
    /// when [`LinkType::from_dlt`] returns `None`. [`decode`] returns it for an NFLOG header
    /// whose version is not 0.
    #[error("unsupported link-layer header type")]
    UnsupportedLink,
    /// The frame carries something other than IP: ARP, LLDP, spanning tree, PPPoE discovery,
    /// PPP control protocols, another address family...
    #[error("frame does not carry IP")]
    NotIp,
    /// More than [`MAX_LINK_HEADERS`](crate::MAX_LINK_HEADERS) link-layer headers stack
    /// before the IP packet.
    #[error("too many stacked link-layer headers")]
    TooManyLinkHeaders,
    /// A link type that does not announce the IP version (raw IP, ERSPAN type III) carries a
    /// packet whose version nibble is neither 4 nor 6.
    #[error("IP version is neither 4 nor 6")]
    InvalidIpVersion,
    /// The frame ends before the IP source and destination addresses.
    #[error("frame ends inside the IP header")]
    TruncatedIp,
    /// An IPv4 header with a version other than 4 or a header length below 20 bytes.
    #[error("invalid IPv4 header")]
    InvalidIpv4,
    /// An IPv6 header with a version other than 6, a hop-by-hop header that does not follow
    /// it directly, or more extension headers than a valid chain can have.
    #[error("invalid IPv6 header")]
    InvalidIpv6,
    /// An IPv4 or IPv6 fragment with a non-zero offset. Fragments are not reassembled, so it
    /// has no transport header.
    #[error("IP fragment other than the first")]
    NonFirstFragment,
    /// The innermost packet sits inside more than [`MAX_TUNNEL_DEPTH`] tunnels.
    #[error("tunnels nested too deeply")]
    TunnelTooDeep,
}

impl SkipReason {
    /// Every skip reason, in the order of [`SkipReason::index`].
    pub const ALL: [SkipReason; 11] = [
        SkipReason::TruncatedLink,
        SkipReason::InvalidLink,
        SkipReason::UnsupportedLink,
        SkipReason::NotIp,
        SkipReason::TooManyLinkHeaders,
        SkipReason::InvalidIpVersion,
        SkipReason::TruncatedIp,
        SkipReason::InvalidIpv4,
        SkipReason::InvalidIpv6,
        SkipReason::NonFirstFragment,
        SkipReason::TunnelTooDeep,
    ];

    /// Returns the position of this reason in [`SkipReason::ALL`], for counter arrays.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Returns a short snake_case label for statistics output, such as `not_ip`.
    pub const fn name(self) -> &'static str {
        match self {
            SkipReason::TruncatedLink => "truncated_link",
            SkipReason::InvalidLink => "invalid_link",
            SkipReason::UnsupportedLink => "unsupported_link",
            SkipReason::NotIp => "not_ip",
            SkipReason::TooManyLinkHeaders => "too_many_link_headers",
            SkipReason::InvalidIpVersion => "invalid_ip_version",
            SkipReason::TruncatedIp => "truncated_ip",
            SkipReason::InvalidIpv4 => "invalid_ipv4",
            SkipReason::InvalidIpv6 => "invalid_ipv6",
            SkipReason::NonFirstFragment => "non_first_fragment",
            SkipReason::TunnelTooDeep => "tunnel_too_deep",
        }
    }
}

/// The innermost IP packet of a frame and its transport header, borrowed from the frame.
///
/// Ports are 0 when the protocol has none, or when its header was cut short (`truncated` is
/// set then) or invalid (`transport_invalid` is set then). The addresses are reported in
/// every case, because trails match on them alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// Source address of the innermost IP header.
    pub src: IpAddr,
    /// Destination address of the innermost IP header.
    pub dst: IpAddr,
    /// IP protocol number of the transport header. When an IPv6 extension header was cut
    /// short, it is the number of that extension header instead.
    pub protocol: u8,
    pub src_port: u16,
    pub dst_port: u16,
    /// TCP header fields, when the protocol is TCP and its header was read whole.
    pub tcp: Option<TcpFields>,
    /// ICMP or ICMPv6 type and code, when the protocol is one of them and its 8-byte header
    /// was read whole.
    pub icmp: Option<IcmpFields>,
    /// The transport payload: the bytes after the TCP, UDP or ICMP header, or the whole IP
    /// payload for other protocols. It is limited to the captured bytes and to the IP and UDP
    /// length fields, and is empty when the transport header was not read.
    pub payload: &'a [u8],
    /// Some layer was cut short, by the capture's snapshot length or by an outer length
    /// field, so bytes that its own length field announces are missing.
    pub truncated: bool,
    /// The packet, or a packet of a tunnel around it, is the first fragment of a larger
    /// datagram, so `payload` holds only the start of it.
    pub fragmented: bool,
    /// The transport header has an impossible length field: a TCP data offset below 5 or a
    /// UDP length from 1 to 7.
    pub transport_invalid: bool,
    tunnel_pairs: [(IpAddr, IpAddr); MAX_TUNNEL_DEPTH],
    tunnel_count: usize,
}

impl<'a> Decoded<'a> {
    /// Returns the source and destination addresses of the outer IP header of each tunnel
    /// that the packet arrived through, outermost first. Empty for a packet without tunnels.
    pub fn tunnels(&self) -> &[(IpAddr, IpAddr)] {
        self.tunnel_pairs.get(..self.tunnel_count).unwrap_or(&[])
    }

    fn from_network(network: Network<'a>) -> Result<Decoded<'a>, SkipReason> {
        let packet = ip::parse_ip(network)?;
        let transport = ip::parse_transport(&packet);
        let unspecified = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        Ok(Decoded {
            src: packet.src,
            dst: packet.dst,
            protocol: packet.protocol,
            src_port: transport.src_port,
            dst_port: transport.dst_port,
            tcp: transport.tcp,
            icmp: transport.icmp,
            payload: transport.payload,
            truncated: packet.truncated || transport.truncated,
            fragmented: packet.fragmented,
            transport_invalid: transport.invalid,
            tunnel_pairs: [(unspecified, unspecified); MAX_TUNNEL_DEPTH],
            tunnel_count: 0,
        })
    }

    /// Makes `inner` the decoded packet, recording `self` as the tunnel around it.
    fn enter_tunnel(&self, mut inner: Decoded<'a>) -> Result<Decoded<'a>, SkipReason> {
        let slot = self.tunnel_count;
        if slot >= MAX_TUNNEL_DEPTH {
            return Err(SkipReason::TunnelTooDeep);
        }
        inner.tunnel_pairs = self.tunnel_pairs;
        inner.tunnel_pairs[slot] = (self.src, self.dst);
        inner.tunnel_count = slot + 1;
        inner.truncated |= self.truncated;
        inner.fragmented |= self.fragmented;
        Ok(inner)
    }
}

/// Decodes one captured frame of link type `link` down to its innermost IP packet.
///
/// The walk goes through the link header, VLAN tags, MPLS labels, PPPoE and PPP, the IP
/// header chain (IPv4 options, IPv6 extension headers) and the transport header. It then
/// enters every tunnel it recognises: IP-in-IP, GRE (including PPTP, ERSPAN, WCCP), VXLAN on
/// UDP port 4789, Geneve on UDP port 6081 and Teredo on UDP port 3544. The result describes
/// the innermost packet, and [`Decoded::tunnels`] lists the outer address pairs.
///
/// When a tunnel's inner frame fails to decode for any reason other than
/// [`SkipReason::TunnelTooDeep`], the tunnel packet itself is returned, as if it were not a
/// tunnel. A UDP packet to port 4789 with garbage inside is still a UDP packet between two
/// addresses, and the garbage does not make the outer packet invalid, so it is not a skip.
///
/// A transport header that is cut short or invalid does not make the frame a skip: the
/// packet is returned with ports 0 and `truncated` or `transport_invalid` set.
///
/// This never panics, allocates nothing and reads only inside `frame`, so `payload` always
/// lies within `frame`.
pub fn decode(link: LinkType, frame: &[u8]) -> Result<Decoded<'_>, SkipReason> {
    let network = link::find_network(link_layer(link, frame)?)?;
    let mut packet = Decoded::from_network(network)?;

    // Each pass either records one more tunnel or returns, and enter_tunnel fails past
    // MAX_TUNNEL_DEPTH, so the loop ends.
    loop {
        let Some(inner_layer) = tunnel::inner_layer(&packet) else {
            return Ok(packet);
        };
        let inner = link::find_network(inner_layer).and_then(Decoded::from_network);
        match inner {
            Ok(inner) => packet = packet.enter_tunnel(inner)?,
            Err(_) => return Ok(packet),
        }
    }
}

/// Reads the header that link type `link` puts before every frame.
fn link_layer(link: LinkType, frame: &[u8]) -> Result<Layer<'_>, SkipReason> {
    match link {
        LinkType::Ethernet => Ok(Layer::Ethernet(frame)),
        LinkType::Null => cooked::null_payload(frame),
        LinkType::Loop => cooked::loop_payload(frame),
        // A raw-IP capture may contain packets of the other version than its link type
        // announces (tcpdump's LINKTYPE_IPV4 test file carries IPv6), so the version nibble
        // decides.
        LinkType::Raw | LinkType::Ipv4 | LinkType::Ipv6 => {
            Ok(Layer::Network(Network::AnyIp(frame)))
        }
        LinkType::LinuxSll => cooked::sll_payload(frame),
        LinkType::LinuxSll2 => cooked::sll2_payload(frame),
        LinkType::Nflog => cooked::nflog_payload(frame),
        LinkType::Ppp => Ok(Layer::Ppp(frame)),
        LinkType::PppEther => link::pppoe_payload(frame),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TcpFlags;
    use std::net::Ipv6Addr;

    const CLIENT: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
    const SERVER: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 20);
    const OUTER_A: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 1);
    const OUTER_B: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 2);
    const CLIENT6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10);
    const SERVER6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x20);
    const MACS: [u8; 12] = [0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02];

    /// Builds an IPv4 packet with a correct total length and a zero checksum, which decoding
    /// does not check.
    fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, payload: &[u8]) -> Vec<u8> {
        let total = u16::try_from(20 + payload.len()).unwrap();
        let mut packet = vec![0x45, 0x00];
        packet.extend_from_slice(&total.to_be_bytes());
        packet.extend_from_slice(&[0x00, 0x01, 0x00, 0x00, 64, protocol, 0, 0]);
        packet.extend_from_slice(&src.octets());
        packet.extend_from_slice(&dst.octets());
        packet.extend_from_slice(payload);
        packet
    }

    fn ipv6(src: Ipv6Addr, dst: Ipv6Addr, next_header: u8, payload: &[u8]) -> Vec<u8> {
        let length = u16::try_from(payload.len()).unwrap();
        let mut packet = vec![0x60, 0, 0, 0];
        packet.extend_from_slice(&length.to_be_bytes());
        packet.extend_from_slice(&[next_header, 64]);
        packet.extend_from_slice(&src.octets());
        packet.extend_from_slice(&dst.octets());
        packet.extend_from_slice(payload);
        packet
    }

    /// Builds a UDP datagram with a correct length and a zero checksum.
    fn udp(src_port: u16, dst_port: u16, payload: &[u8]) -> Vec<u8> {
        let length = u16::try_from(8 + payload.len()).unwrap();
        let mut datagram = src_port.to_be_bytes().to_vec();
        datagram.extend_from_slice(&dst_port.to_be_bytes());
        datagram.extend_from_slice(&length.to_be_bytes());
        datagram.extend_from_slice(&[0, 0]);
        datagram.extend_from_slice(payload);
        datagram
    }

    /// Builds a TCP segment with a 20-byte header, sequence number 7000 and the given flags.
    fn tcp(src_port: u16, dst_port: u16, flags: u8, payload: &[u8]) -> Vec<u8> {
        let mut segment = src_port.to_be_bytes().to_vec();
        segment.extend_from_slice(&dst_port.to_be_bytes());
        segment.extend_from_slice(&7000u32.to_be_bytes());
        segment.extend_from_slice(&0u32.to_be_bytes());
        segment.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        segment.extend_from_slice(payload);
        segment
    }

    fn ethernet(ether_type: u16, payload: &[u8]) -> Vec<u8> {
        [&MACS[..], &ether_type.to_be_bytes(), payload].concat()
    }

    /// Builds a DNS-like UDP query from CLIENT to SERVER, the innermost packet of most tests.
    fn inner_udp() -> Vec<u8> {
        ipv4(CLIENT, SERVER, 17, &udp(40000, 53, b"query"))
    }

    /// Builds an Ethernet frame with a UDP packet between the outer addresses to `port`.
    fn outer_udp(port: u16, payload: &[u8]) -> Vec<u8> {
        ethernet(
            0x0800,
            &ipv4(OUTER_A, OUTER_B, 17, &udp(50000, port, payload)),
        )
    }

    fn vxlan(frame: &[u8]) -> Vec<u8> {
        [&[0x08, 0, 0, 0, 0, 0x10, 0x92, 0][..], frame].concat()
    }

    fn assert_inner_udp(packet: &Decoded<'_>) {
        assert_eq!(packet.src, IpAddr::V4(CLIENT));
        assert_eq!(packet.dst, IpAddr::V4(SERVER));
        assert_eq!((packet.src_port, packet.dst_port), (40000, 53));
        assert_eq!(packet.payload, b"query");
    }

    #[test]
    fn ethernet_tcp_is_decoded() {
        let frame = ethernet(
            0x0800,
            &ipv4(CLIENT, SERVER, 6, &tcp(40000, 80, 0x18, b"GET /")),
        );
        let packet = decode(LinkType::Ethernet, &frame).unwrap();
        let tcp = packet.tcp.unwrap();
        assert_eq!(packet.protocol, 6);
        assert_eq!(packet.dst_port, 80);
        assert_eq!(tcp.seq, 7000);
        assert_eq!(tcp.flags, TcpFlags::PSH | TcpFlags::ACK);
        assert_eq!(packet.payload, b"GET /");
        assert!(packet.tunnels().is_empty());
    }

    #[test]
    fn ethernet_icmp_has_type_and_code() {
        // Echo request: type 8, code 0, checksum, identifier, sequence number.
        let frame = ethernet(0x0800, &ipv4(CLIENT, SERVER, 1, &[8, 0, 0, 0, 0, 1, 0, 1]));
        let packet = decode(LinkType::Ethernet, &frame).unwrap();
        assert_eq!(
            packet.icmp,
            Some(IcmpFields {
                icmp_type: 8,
                code: 0
            })
        );
        assert_eq!((packet.src_port, packet.dst_port), (0, 0));
    }

    #[test]
    fn null_link_is_decoded() {
        // AF_INET written by a big-endian host.
        let frame = [&[0, 0, 0, 2][..], &inner_udp()].concat();
        assert_inner_udp(&decode(LinkType::Null, &frame).unwrap());
    }

    #[test]
    fn loop_link_is_decoded() {
        let frame = [&[0, 0, 0, 2][..], &inner_udp()].concat();
        assert_inner_udp(&decode(LinkType::Loop, &frame).unwrap());
    }

    #[test]
    fn raw_link_decodes_both_versions() {
        let frame4 = inner_udp();
        let frame6 = ipv6(CLIENT6, SERVER6, 17, &udp(40000, 53, b"query"));
        let v4 = decode(LinkType::Raw, &frame4).unwrap();
        let v6 = decode(LinkType::Raw, &frame6).unwrap();
        assert_eq!(v4.dst, IpAddr::V4(SERVER));
        assert_eq!(v6.dst, IpAddr::V6(SERVER6));
    }

    #[test]
    fn ipv4_link_carrying_ipv6() {
        let frame = ipv6(CLIENT6, SERVER6, 17, &udp(40000, 53, b"query"));
        let packet = decode(LinkType::Ipv4, &frame).unwrap();
        assert_eq!(packet.src, IpAddr::V6(CLIENT6));
        assert_eq!(packet.dst_port, 53);
    }

    #[test]
    fn ipv6_link_is_decoded() {
        let frame = ipv6(CLIENT6, SERVER6, 17, &udp(40000, 53, b"query"));
        assert_eq!(
            decode(LinkType::Ipv6, &frame).unwrap().src,
            IpAddr::V6(CLIENT6)
        );
    }

    #[test]
    fn raw_link_bad_version() {
        let mut frame = inner_udp();
        frame[0] = 0x75;
        assert_eq!(
            decode(LinkType::Raw, &frame),
            Err(SkipReason::InvalidIpVersion)
        );
    }

    #[test]
    fn linux_sll_is_decoded() {
        // Packet type 4 (outgoing), ARPHRD_ETHER, address length 6, address, protocol IPv4.
        let header = [0, 4, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00];
        let frame = [&header[..], &inner_udp()].concat();
        assert_inner_udp(&decode(LinkType::LinuxSll, &frame).unwrap());
    }

    #[test]
    fn linux_sll2_is_decoded() {
        // Protocol IPv4, reserved, interface 1, ARPHRD_LOOPBACK, packet type 0, address.
        let header = [8, 0, 0, 0, 0, 0, 0, 1, 3, 4, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0];
        let frame = [&header[..], &inner_udp()].concat();
        assert_inner_udp(&decode(LinkType::LinuxSll2, &frame).unwrap());
    }

    #[test]
    fn nflog_is_decoded() {
        // Header: AF_INET, version 0, resource id 42. Then one NFULA_PAYLOAD attribute whose
        // length and type are in native byte order.
        let packet = inner_udp();
        let length = u16::try_from(4 + packet.len()).unwrap();
        let mut frame = vec![2, 0, 0, 42];
        frame.extend_from_slice(&length.to_ne_bytes());
        frame.extend_from_slice(&9u16.to_ne_bytes());
        frame.extend_from_slice(&packet);
        assert_inner_udp(&decode(LinkType::Nflog, &frame).unwrap());
    }

    #[test]
    fn ppp_link_is_decoded() {
        let frame = [&[0xff, 0x03, 0x00, 0x21][..], &inner_udp()].concat();
        assert_inner_udp(&decode(LinkType::Ppp, &frame).unwrap());
    }

    #[test]
    fn ppp_ether_link_is_decoded() {
        let frame = [
            &[0x11, 0x00, 0x00, 0x01, 0x00, 0x30, 0x00, 0x21][..],
            &inner_udp(),
        ]
        .concat();
        assert_inner_udp(&decode(LinkType::PppEther, &frame).unwrap());
    }

    #[test]
    fn empty_frame_for_every_link() {
        for link in LinkType::ALL {
            let result = decode(link, &[]);
            assert!(result.is_err(), "{link:?} decoded an empty frame");
        }
    }

    #[test]
    fn non_first_fragment_is_skipped() {
        let mut packet = inner_udp();
        packet[6..8].copy_from_slice(&0x0010u16.to_be_bytes());
        let frame = ethernet(0x0800, &packet);
        assert_eq!(
            decode(LinkType::Ethernet, &frame),
            Err(SkipReason::NonFirstFragment)
        );
    }

    #[test]
    fn cut_transport_keeps_addresses() {
        // The capture ends 3 bytes into the UDP header.
        let frame = ethernet(0x0800, &inner_udp());
        let packet = decode(LinkType::Ethernet, &frame[..14 + 23]).unwrap();
        assert_eq!(packet.dst, IpAddr::V4(SERVER));
        assert_eq!(packet.dst_port, 0);
        assert!(packet.truncated);
        assert!(packet.payload.is_empty());
    }

    #[test]
    fn ipip_records_outer_pair() {
        let frame = ethernet(0x0800, &ipv4(OUTER_A, OUTER_B, 4, &inner_udp()));
        let packet = decode(LinkType::Ethernet, &frame).unwrap();
        assert_inner_udp(&packet);
        assert_eq!(
            packet.tunnels(),
            [(IpAddr::V4(OUTER_A), IpAddr::V4(OUTER_B))]
        );
    }

    #[test]
    fn six_in_four_is_decoded() {
        let inner = ipv6(CLIENT6, SERVER6, 17, &udp(30000, 13000, b"ping"));
        let frame = ethernet(0x0800, &ipv4(OUTER_A, OUTER_B, 41, &inner));
        let packet = decode(LinkType::Ethernet, &frame).unwrap();
        assert_eq!(packet.src, IpAddr::V6(CLIENT6));
        assert_eq!(packet.dst_port, 13000);
        assert_eq!(packet.tunnels().len(), 1);
    }

    #[test]
    fn ipv6_in_ipv6_is_decoded() {
        let inner = ipv6(CLIENT6, SERVER6, 17, &udp(30000, 53, b"q"));
        let outer_src = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1);
        let outer_dst = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 2);
        let frame = ethernet(0x86dd, &ipv6(outer_src, outer_dst, 41, &inner));
        let packet = decode(LinkType::Ethernet, &frame).unwrap();
        assert_eq!(packet.dst, IpAddr::V6(SERVER6));
        assert_eq!(
            packet.tunnels(),
            [(IpAddr::V6(outer_src), IpAddr::V6(outer_dst))]
        );
    }

    #[test]
    fn gre_ipv4_is_decoded() {
        let gre = [&[0x00, 0x00, 0x08, 0x00][..], &inner_udp()].concat();
        let frame = ethernet(0x0800, &ipv4(OUTER_A, OUTER_B, 47, &gre));
        let packet = decode(LinkType::Ethernet, &frame).unwrap();
        assert_inner_udp(&packet);
        assert_eq!(packet.tunnels().len(), 1);
    }

    #[test]
    fn gre_bridged_ethernet_is_decoded() {
        // Key present (0x2000) and protocol 0x6558, then a whole Ethernet frame.
        let inner = ethernet(0x0800, &inner_udp());
        let gre = [&[0x20, 0x00, 0x65, 0x58, 0, 0, 0, 1][..], &inner].concat();
        let frame = ethernet(0x0800, &ipv4(OUTER_A, OUTER_B, 47, &gre));
        assert_inner_udp(&decode(LinkType::Ethernet, &frame).unwrap());
    }

    #[test]
    fn erspan_ii_is_decoded() {
        let inner = ethernet(0x0800, &inner_udp());
        let gre = [
            &[0x10, 0x00, 0x88, 0xbe, 0x00, 0x00, 0x07, 0x04][..],
            &[0x10, 0x17, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00],
            &inner,
        ]
        .concat();
        let frame = ethernet(0x0800, &ipv4(OUTER_A, OUTER_B, 47, &gre));
        assert_inner_udp(&decode(LinkType::Ethernet, &frame).unwrap());
    }

    #[test]
    fn pptp_ip_is_decoded() {
        // Enhanced GRE with key (payload length, call id) and sequence, then PPP carrying
        // IPv4 with protocol field compression (0x21).
        let ppp = [&[0xff, 0x03, 0x21][..], &inner_udp()].concat();
        let length = u16::try_from(ppp.len()).unwrap();
        let mut gre = vec![0x30, 0x01, 0x88, 0x0b];
        gre.extend_from_slice(&length.to_be_bytes());
        gre.extend_from_slice(&[0x00, 0x07, 0x00, 0x00, 0x00, 0x02]);
        gre.extend_from_slice(&ppp);
        let frame = ethernet(0x0800, &ipv4(OUTER_A, OUTER_B, 47, &gre));
        assert_inner_udp(&decode(LinkType::Ethernet, &frame).unwrap());
    }

    #[test]
    fn pptp_lcp_reports_gre_packet() {
        // PPP link control (0xc021) inside enhanced GRE is not IP: the GRE packet is reported.
        let gre = [
            0x30, 0x01, 0x88, 0x0b, 0x00, 0x04, 0x00, 0x00, 0, 0, 0, 0, 0xff, 0x03, 0xc0, 0x21,
        ];
        let frame = ethernet(0x0800, &ipv4(OUTER_A, OUTER_B, 47, &gre));
        let packet = decode(LinkType::Ethernet, &frame).unwrap();
        assert_eq!(packet.protocol, 47);
        assert_eq!(packet.src, IpAddr::V4(OUTER_A));
        assert!(packet.tunnels().is_empty());
    }

    #[test]
    fn vxlan_is_decoded() {
        let frame = outer_udp(4789, &vxlan(&ethernet(0x0800, &inner_udp())));
        let packet = decode(LinkType::Ethernet, &frame).unwrap();
        assert_inner_udp(&packet);
        assert_eq!(
            packet.tunnels(),
            [(IpAddr::V4(OUTER_A), IpAddr::V4(OUTER_B))]
        );
    }

    #[test]
    fn vxlan_garbage_reports_outer_udp() {
        // A valid VXLAN header followed by an ARP frame: the UDP packet is reported.
        let frame = outer_udp(4789, &vxlan(&ethernet(0x0806, &[0, 1, 8, 0, 6, 4])));
        let packet = decode(LinkType::Ethernet, &frame).unwrap();
        assert_eq!(packet.src, IpAddr::V4(OUTER_A));
        assert_eq!(packet.dst_port, 4789);
        assert!(packet.tunnels().is_empty());
    }

    #[test]
    fn geneve_is_decoded() {
        let geneve = [
            &[0x00, 0x00, 0x65, 0x58, 0, 0, 0x0a, 0][..],
            &ethernet(0x0800, &inner_udp()),
        ];
        let frame = outer_udp(6081, &geneve.concat());
        assert_inner_udp(&decode(LinkType::Ethernet, &frame).unwrap());
    }

    #[test]
    fn geneve_carrying_vxlan() {
        // Geneve with protocol IPv4 carries a UDP packet between two middle addresses, which
        // is VXLAN around the innermost packet.
        let middle_a = Ipv4Addr::new(10, 0, 0, 1);
        let middle_b = Ipv4Addr::new(10, 0, 0, 2);
        let vxlan_frame = vxlan(&ethernet(0x0800, &inner_udp()));
        let middle = ipv4(middle_a, middle_b, 17, &udp(26383, 4789, &vxlan_frame));
        let geneve = [&[0x00, 0x00, 0x08, 0x00, 0, 0, 0x0a, 0][..], &middle].concat();
        let frame = outer_udp(6081, &geneve);
        let packet = decode(LinkType::Ethernet, &frame).unwrap();
        let expected = [
            (IpAddr::V4(OUTER_A), IpAddr::V4(OUTER_B)),
            (IpAddr::V4(middle_a), IpAddr::V4(middle_b)),
        ];
        assert_inner_udp(&packet);
        assert_eq!(packet.tunnels(), expected);
    }

    #[test]
    fn teredo_is_decoded() {
        let inner = ipv6(CLIENT6, SERVER6, 58, &[128, 0, 0, 0, 0, 1, 0, 1]);
        let frame = outer_udp(3544, &inner);
        let packet = decode(LinkType::Ethernet, &frame).unwrap();
        assert_eq!(packet.dst, IpAddr::V6(SERVER6));
        assert_eq!(
            packet.icmp,
            Some(IcmpFields {
                icmp_type: 128,
                code: 0
            })
        );
    }

    #[test]
    fn teredo_port_without_ipv6() {
        let frame = outer_udp(3544, b"not an IPv6 packet at all, just some bytes to fill");
        let packet = decode(LinkType::Ethernet, &frame).unwrap();
        assert_eq!(packet.dst, IpAddr::V4(OUTER_B));
        assert_eq!(packet.dst_port, 3544);
    }

    /// Wraps `packet` in `depth` IP-in-IP headers.
    fn nested_ipip(depth: usize, packet: Vec<u8>) -> Vec<u8> {
        (0..depth).fold(packet, |inner, _| ipv4(OUTER_A, OUTER_B, 4, &inner))
    }

    #[test]
    fn four_tunnels_are_allowed() {
        let frame = ethernet(0x0800, &nested_ipip(MAX_TUNNEL_DEPTH, inner_udp()));
        let packet = decode(LinkType::Ethernet, &frame).unwrap();
        assert_inner_udp(&packet);
        assert_eq!(packet.tunnels().len(), MAX_TUNNEL_DEPTH);
    }

    #[test]
    fn fifth_tunnel_is_too_deep() {
        let frame = ethernet(0x0800, &nested_ipip(MAX_TUNNEL_DEPTH + 1, inner_udp()));
        assert_eq!(
            decode(LinkType::Ethernet, &frame),
            Err(SkipReason::TunnelTooDeep)
        );
    }

    #[test]
    fn inner_truncation_is_reported() {
        // VXLAN whose inner IPv4 packet lost its last 3 payload bytes to the snapshot length.
        let frame = outer_udp(4789, &vxlan(&ethernet(0x0800, &inner_udp())));
        let packet = decode(LinkType::Ethernet, &frame[..frame.len() - 3]).unwrap();
        assert_eq!(packet.src, IpAddr::V4(CLIENT));
        assert!(packet.truncated);
        assert_eq!(packet.payload, b"qu");
    }

    #[test]
    fn outer_first_fragment_marks_inner() {
        let mut outer = ipv4(OUTER_A, OUTER_B, 4, &inner_udp());
        outer[6] = 0x20;
        let frame = ethernet(0x0800, &outer);
        let packet = decode(LinkType::Ethernet, &frame).unwrap();
        assert_eq!(packet.src, IpAddr::V4(CLIENT));
        assert!(packet.fragmented);
    }

    #[test]
    fn skip_reason_index_matches_all() {
        for (position, reason) in SkipReason::ALL.iter().enumerate() {
            assert_eq!(reason.index(), position, "{reason:?}");
        }
    }

    #[test]
    fn skip_reason_names_are_snake_case() {
        for reason in SkipReason::ALL {
            let name = reason.name();
            let valid = name
                .bytes()
                .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_');
            assert!(valid, "{name}");
        }
    }

    #[test]
    fn skip_reason_names_are_unique() {
        for (i, a) in SkipReason::ALL.iter().enumerate() {
            for b in &SkipReason::ALL[i + 1..] {
                assert_ne!(a.name(), b.name());
            }
        }
    }
}
