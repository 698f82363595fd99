//! Ethernet and the headers that can sit between it and IP: 802.1Q/802.1ad VLAN tags, MPLS
//! label stacks, PPPoE sessions, PPP and LLC/SNAP.
//!
//! [`find_network`] peels these headers one at a time until it reaches an IP packet. Link
//! pseudo-headers (see `cooked`) and tunnels (see `tunnel`) hand it their payload as a
//! [`Layer`], so one walker serves the outer frame and every decapsulated one.

use crate::decode::SkipReason;

/// Maximum number of link-layer headers (Ethernet, each VLAN tag, each MPLS label, PPPoE, PPP)
/// that one frame may stack before its IP packet.
///
/// QinQ networks stack two or three VLAN tags, and MPLS networks a handful of labels. The
/// bound leaves room for more while keeping the work per frame small when a crafted frame
/// repeats tags. It restarts for each tunnel.
pub const MAX_LINK_HEADERS: usize = 16;

/// Ether type values that the walker acts on.
pub(crate) mod ether_type {
    pub const IPV4: u16 = 0x0800;
    pub const IPV6: u16 = 0x86dd;
    /// IEEE 802.1Q customer VLAN tag.
    pub const VLAN: u16 = 0x8100;
    /// IEEE 802.1ad service VLAN tag (QinQ outer tag).
    pub const QINQ: u16 = 0x88a8;
    /// Pre-standard QinQ outer tag used by some switches.
    pub const QINQ_LEGACY: u16 = 0x9100;
    pub const MPLS_UNICAST: u16 = 0x8847;
    pub const MPLS_MULTICAST: u16 = 0x8848;
    pub const PPPOE_SESSION: u16 = 0x8864;
    /// Transparent Ethernet bridging: a whole Ethernet frame follows.
    pub const ETHERNET_BRIDGING: u16 = 0x6558;
    /// Largest value of the Ethernet type/length field that is an IEEE 802.3 length.
    pub const MAX_8023_LENGTH: u16 = 1500;
}

/// PPP protocol numbers that the walker acts on (RFC 1661 and the IANA PPP registry).
mod ppp_protocol {
    pub const IPV4: u16 = 0x0021;
    pub const IPV6: u16 = 0x0057;
    pub const MPLS_UNICAST: u16 = 0x0281;
    pub const MPLS_MULTICAST: u16 = 0x0283;
}

const ETHERNET_HEADER_LEN: usize = 14;
const VLAN_TAG_LEN: usize = 4;
const MPLS_LABEL_LEN: usize = 4;
const PPPOE_HEADER_LEN: usize = 6;
/// Length of an LLC header with a SNAP extension: DSAP, SSAP, control, OUI and ether type.
const LLC_SNAP_LEN: usize = 8;
/// Length of the pseudowire control word (RFC 4385) that precedes an Ethernet frame.
const PSEUDOWIRE_CONTROL_WORD_LEN: usize = 4;

/// An IP packet, with the version its link layer announced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Network<'a> {
    Ipv4(&'a [u8]),
    Ipv6(&'a [u8]),
    /// A packet whose link layer does not say the version, so the version nibble decides.
    AnyIp(&'a [u8]),
}

/// Bytes still to be unwrapped, tagged with the header they start with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layer<'a> {
    /// An Ethernet II or IEEE 802.3 frame.
    Ethernet(&'a [u8]),
    /// The bytes after an ether type field with the given value.
    EtherType(u16, &'a [u8]),
    /// A PPP frame, starting at the HDLC address byte or at the protocol field.
    Ppp(&'a [u8]),
    /// An IP packet, which ends the walk.
    Network(Network<'a>),
}

/// Peels link-layer headers off `layer` until an IP packet remains.
///
/// Fails with [`SkipReason::TruncatedLink`] when the bytes end inside a header, and with
/// [`SkipReason::NotIp`] when a header announces something other than IP (ARP, LLDP, PPPoE
/// discovery, PPP control protocols...). A PPPoE session header with a wrong version or code
/// gives [`SkipReason::InvalidLink`], and a stack deeper than [`MAX_LINK_HEADERS`] gives
/// [`SkipReason::TooManyLinkHeaders`].
pub(crate) fn find_network(mut layer: Layer<'_>) -> Result<Network<'_>, SkipReason> {
    let mut headers = 0;
    loop {
        let next = match layer {
            Layer::Network(network) => return Ok(network),
            Layer::Ethernet(frame) => ethernet_payload(frame)?,
            Layer::EtherType(value, payload) => by_ether_type(value, payload)?,
            Layer::Ppp(frame) => ppp_payload(frame)?,
        };

        // Every step that does not reach IP has consumed one header.
        if !matches!(next, Layer::Network(_)) {
            headers += 1;
            if headers > MAX_LINK_HEADERS {
                return Err(SkipReason::TooManyLinkHeaders);
            }
        }
        layer = next;
    }
}

/// Reads a big-endian `u16` at `offset`, or `None` when the bytes end first.
pub(crate) fn read_be16(bytes: &[u8], offset: usize) -> Option<u16> {
    let end = offset.checked_add(2)?;
    let field = bytes.get(offset..end)?;
    Some(u16::from_be_bytes([field[0], field[1]]))
}

/// Returns the bytes from `offset` on, or `None` when `offset` is past the end.
pub(crate) fn tail(bytes: &[u8], offset: usize) -> Option<&[u8]> {
    bytes.get(offset..)
}

fn ethernet_payload(frame: &[u8]) -> Result<Layer<'_>, SkipReason> {
    let value = read_be16(frame, 12).ok_or(SkipReason::TruncatedLink)?;
    let payload = tail(frame, ETHERNET_HEADER_LEN).ok_or(SkipReason::TruncatedLink)?;
    Ok(Layer::EtherType(value, payload))
}

fn by_ether_type(value: u16, payload: &[u8]) -> Result<Layer<'_>, SkipReason> {
    use ether_type::*;

    match value {
        IPV4 => Ok(Layer::Network(Network::Ipv4(payload))),
        IPV6 => Ok(Layer::Network(Network::Ipv6(payload))),
        VLAN | QINQ | QINQ_LEGACY => vlan_payload(payload),
        MPLS_UNICAST | MPLS_MULTICAST => mpls_payload(payload),
        PPPOE_SESSION => pppoe_payload(payload),
        ETHERNET_BRIDGING => Ok(Layer::Ethernet(payload)),
        length if length <= MAX_8023_LENGTH => llc_snap_payload(payload),
        _ => Err(SkipReason::NotIp),
    }
}

/// Reads one VLAN tag: the tag control information (priority, DEI, VLAN id), then the ether
/// type of what follows.
fn vlan_payload(tag: &[u8]) -> Result<Layer<'_>, SkipReason> {
    let inner = read_be16(tag, 2).ok_or(SkipReason::TruncatedLink)?;
    let payload = tail(tag, VLAN_TAG_LEN).ok_or(SkipReason::TruncatedLink)?;
    Ok(Layer::EtherType(inner, payload))
}

/// Reads one MPLS label stack entry (RFC 3032). Below the bottom of the stack, the first
/// nibble distinguishes IPv4 (4) and IPv6 (6) from a pseudowire control word (0, RFC 4385)
/// followed by an Ethernet frame.
///
/// NOTE: MPLS does not name its payload. An Ethernet pseudowire without a control word whose
/// destination MAC address starts with nibble 4 or 6 is misread as IP here, as in other
/// decoders that use the same rule.
fn mpls_payload(stack: &[u8]) -> Result<Layer<'_>, SkipReason> {
    let entry = stack
        .get(..MPLS_LABEL_LEN)
        .ok_or(SkipReason::TruncatedLink)?;
    let rest = tail(stack, MPLS_LABEL_LEN).ok_or(SkipReason::TruncatedLink)?;
    let bottom_of_stack = entry[2] & 0x01 != 0;
    if !bottom_of_stack {
        return Ok(Layer::EtherType(ether_type::MPLS_UNICAST, rest));
    }

    let first = *rest.first().ok_or(SkipReason::TruncatedLink)?;
    match first >> 4 {
        4 => Ok(Layer::Network(Network::Ipv4(rest))),
        6 => Ok(Layer::Network(Network::Ipv6(rest))),
        0 => {
            let frame = tail(rest, PSEUDOWIRE_CONTROL_WORD_LEN).ok_or(SkipReason::TruncatedLink)?;
            Ok(Layer::Ethernet(frame))
        }
        _ => Err(SkipReason::NotIp),
    }
}

/// Reads a PPPoE session header (RFC 2516): version and type (both 1), code (0 for session
/// data), session id and length, then the PPP protocol field.
pub(crate) fn pppoe_payload(header: &[u8]) -> Result<Layer<'_>, SkipReason> {
    let fixed = header
        .get(..PPPOE_HEADER_LEN)
        .ok_or(SkipReason::TruncatedLink)?;
    if fixed[0] != 0x11 || fixed[1] != 0x00 {
        return Err(SkipReason::InvalidLink);
    }
    let ppp = tail(header, PPPOE_HEADER_LEN).ok_or(SkipReason::TruncatedLink)?;
    Ok(Layer::Ppp(ppp))
}

/// Reads a PPP header (RFC 1661): the optional HDLC address and control bytes `ff 03`, then
/// a protocol field of two bytes, or one byte when protocol field compression made it odd.
fn ppp_payload(frame: &[u8]) -> Result<Layer<'_>, SkipReason> {
    let frame = frame.strip_prefix(&[0xff, 0x03]).unwrap_or(frame);
    let first = *frame.first().ok_or(SkipReason::TruncatedLink)?;
    let (protocol, header_len) = if first & 0x01 == 1 {
        (u16::from(first), 1)
    } else {
        (read_be16(frame, 0).ok_or(SkipReason::TruncatedLink)?, 2)
    };
    let payload = tail(frame, header_len).ok_or(SkipReason::TruncatedLink)?;

    match protocol {
        ppp_protocol::IPV4 => Ok(Layer::Network(Network::Ipv4(payload))),
        ppp_protocol::IPV6 => Ok(Layer::Network(Network::Ipv6(payload))),
        ppp_protocol::MPLS_UNICAST | ppp_protocol::MPLS_MULTICAST => {
            Ok(Layer::EtherType(ether_type::MPLS_UNICAST, payload))
        }
        _ => Err(SkipReason::NotIp),
    }
}

/// Reads an IEEE 802.2 LLC header. Only the SNAP form with the zero OUI (RFC 1042) carries an
/// ether type, so other LLC frames, such as spanning tree, are not IP.
fn llc_snap_payload(llc: &[u8]) -> Result<Layer<'_>, SkipReason> {
    let header = llc.get(..LLC_SNAP_LEN).ok_or(SkipReason::TruncatedLink)?;
    if header[..6] != [0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00] {
        return Err(SkipReason::NotIp);
    }
    let value = u16::from_be_bytes([header[6], header[7]]);
    let payload = tail(llc, LLC_SNAP_LEN).ok_or(SkipReason::TruncatedLink)?;
    Ok(Layer::EtherType(value, payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Destination and source MAC addresses of every test frame.
    const MACS: [u8; 12] = [0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02];
    /// Stand-in for an IPv4 packet: only its first byte (version 4, IHL 5) matters here.
    const IPV4_START: [u8; 4] = [0x45, 0x00, 0x00, 0x14];
    /// Stand-in for an IPv6 packet: version 6.
    const IPV6_START: [u8; 4] = [0x60, 0x00, 0x00, 0x00];

    fn frame(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    fn walk(frame: &[u8]) -> Result<Network<'_>, SkipReason> {
        find_network(Layer::Ethernet(frame))
    }

    #[test]
    fn ethernet_ipv4_reaches_network() {
        let bytes = frame(&[&MACS, &[0x08, 0x00], &IPV4_START]);
        assert_eq!(walk(&bytes), Ok(Network::Ipv4(&IPV4_START)));
    }

    #[test]
    fn ethernet_ipv6_reaches_network() {
        let bytes = frame(&[&MACS, &[0x86, 0xdd], &IPV6_START]);
        assert_eq!(walk(&bytes), Ok(Network::Ipv6(&IPV6_START)));
    }

    #[test]
    fn short_ethernet_header_is_truncated() {
        // Destination MAC and half the source MAC: the capture ended after 8 bytes.
        let bytes = &MACS[..8];
        assert_eq!(walk(bytes), Err(SkipReason::TruncatedLink));
    }

    #[test]
    fn arp_is_not_ip() {
        let bytes = frame(&[&MACS, &[0x08, 0x06], &[0x00, 0x01, 0x08, 0x00]]);
        assert_eq!(walk(&bytes), Err(SkipReason::NotIp));
    }

    #[test]
    fn pppoe_discovery_is_not_ip() {
        // Ether type 0x8863, then a PADI header: version/type 0x11, code 0x09.
        let bytes = frame(&[&MACS, &[0x88, 0x63], &[0x11, 0x09, 0x00, 0x00, 0x00, 0x00]]);
        assert_eq!(walk(&bytes), Err(SkipReason::NotIp));
    }

    #[test]
    fn single_vlan_tag_is_removed() {
        // 802.1Q tag: PCP 5 and DEI set, VLAN id 100, then IPv4.
        let bytes = frame(&[&MACS, &[0x81, 0x00, 0xb0, 0x64, 0x08, 0x00], &IPV4_START]);
        assert_eq!(walk(&bytes), Ok(Network::Ipv4(&IPV4_START)));
    }

    #[test]
    fn qinq_tags_are_removed() {
        // 802.1ad outer tag (VLAN 10), 802.1Q inner tag (VLAN 20), then IPv6.
        let bytes = frame(&[
            &MACS,
            &[0x88, 0xa8, 0x00, 0x0a],
            &[0x81, 0x00, 0x00, 0x14],
            &[0x86, 0xdd],
            &IPV6_START,
        ]);
        assert_eq!(walk(&bytes), Ok(Network::Ipv6(&IPV6_START)));
    }

    #[test]
    fn three_vlan_tags_are_removed() {
        // Legacy 0x9100 tag, 802.1ad tag, 802.1Q tag, then IPv4.
        let bytes = frame(&[
            &MACS,
            &[0x91, 0x00, 0x00, 0x01],
            &[0x88, 0xa8, 0x00, 0x02],
            &[0x81, 0x00, 0x00, 0x03],
            &[0x08, 0x00],
            &IPV4_START,
        ]);
        assert_eq!(walk(&bytes), Ok(Network::Ipv4(&IPV4_START)));
    }

    #[test]
    fn vlan_tag_cut_short_is_truncated() {
        // 802.1Q ether type, then only the 2-byte tag control information.
        let bytes = frame(&[&MACS, &[0x81, 0x00, 0x00, 0x64]]);
        assert_eq!(walk(&bytes), Err(SkipReason::TruncatedLink));
    }

    #[test]
    fn too_many_vlan_tags_are_rejected() {
        // 20 stacked 802.1Q tags, each announcing another tag, then IPv4.
        let mut bytes = frame(&[&MACS, &[0x81, 0x00]]);
        for _ in 0..20 {
            bytes.extend_from_slice(&[0x00, 0x01, 0x81, 0x00]);
        }
        bytes.extend_from_slice(&[0x00, 0x01, 0x08, 0x00]);
        bytes.extend_from_slice(&IPV4_START);
        assert_eq!(walk(&bytes), Err(SkipReason::TooManyLinkHeaders));
    }

    #[test]
    fn mpls_single_label_reaches_ipv4() {
        // Label 16, TC 0, bottom of stack, TTL 64, then IPv4.
        let bytes = frame(&[&MACS, &[0x88, 0x47], &[0x00, 0x01, 0x01, 0x40], &IPV4_START]);
        assert_eq!(walk(&bytes), Ok(Network::Ipv4(&IPV4_START)));
    }

    #[test]
    fn mpls_label_stack_reaches_ipv6() {
        // Three labels, of which only the last has the bottom-of-stack bit. Then IPv6.
        let bytes = frame(&[
            &MACS,
            &[0x88, 0x47],
            &[0x00, 0x0f, 0xe0, 0x40],
            &[0x00, 0x06, 0x30, 0x40],
            &[0x00, 0x01, 0x01, 0x40],
            &IPV6_START,
        ]);
        assert_eq!(walk(&bytes), Ok(Network::Ipv6(&IPV6_START)));
    }

    #[test]
    fn mpls_multicast_reaches_ipv4() {
        let bytes = frame(&[&MACS, &[0x88, 0x48], &[0x00, 0x01, 0x01, 0x40], &IPV4_START]);
        assert_eq!(walk(&bytes), Ok(Network::Ipv4(&IPV4_START)));
    }

    #[test]
    fn mpls_inside_vlan_reaches_ipv4() {
        let bytes = frame(&[
            &MACS,
            &[0x81, 0x00, 0x0c, 0x7f, 0x88, 0x47],
            &[0x03, 0xee, 0xa1, 0x2c],
            &IPV4_START,
        ]);
        assert_eq!(walk(&bytes), Ok(Network::Ipv4(&IPV4_START)));
    }

    #[test]
    fn mpls_pseudowire_reaches_inner_ethernet() {
        // Bottom label, control word 0, then a whole Ethernet frame carrying IPv4.
        let bytes = frame(&[
            &MACS,
            &[0x88, 0x47],
            &[0x00, 0x01, 0x01, 0x40],
            &[0x00, 0x00, 0x00, 0x00],
            &MACS,
            &[0x08, 0x00],
            &IPV4_START,
        ]);
        assert_eq!(walk(&bytes), Ok(Network::Ipv4(&IPV4_START)));
    }

    #[test]
    fn mpls_unknown_payload_is_not_ip() {
        // Bottom label, then a first nibble of 1 (a generic associated channel).
        let bytes = frame(&[
            &MACS,
            &[0x88, 0x47],
            &[0x00, 0x01, 0x01, 0x40],
            &[0x10, 0x00],
        ]);
        assert_eq!(walk(&bytes), Err(SkipReason::NotIp));
    }

    #[test]
    fn mpls_without_bottom_label_is_truncated() {
        // Two labels, neither with the bottom-of-stack bit, and nothing after them.
        let bytes = frame(&[
            &MACS,
            &[0x88, 0x47],
            &[0, 0, 0x10, 0x40],
            &[0, 0, 0x20, 0x40],
        ]);
        assert_eq!(walk(&bytes), Err(SkipReason::TruncatedLink));
    }

    #[test]
    fn mpls_endless_stack_is_rejected() {
        // 40 labels without the bottom-of-stack bit.
        let mut bytes = frame(&[&MACS, &[0x88, 0x47]]);
        for _ in 0..40 {
            bytes.extend_from_slice(&[0x00, 0x01, 0x00, 0x40]);
        }
        assert_eq!(walk(&bytes), Err(SkipReason::TooManyLinkHeaders));
    }

    #[test]
    fn pppoe_session_reaches_ipv4() {
        // PPPoE version/type 0x11, code 0, session 0x0f07, length 22, PPP protocol 0x0021.
        let bytes = frame(&[
            &MACS,
            &[0x88, 0x64],
            &[0x11, 0x00, 0x0f, 0x07, 0x00, 0x16],
            &[0x00, 0x21],
            &IPV4_START,
        ]);
        assert_eq!(walk(&bytes), Ok(Network::Ipv4(&IPV4_START)));
    }

    #[test]
    fn pppoe_session_reaches_ipv6() {
        // PPP protocol 0x0057 is IPv6.
        let bytes = frame(&[
            &MACS,
            &[0x88, 0x64],
            &[0x11, 0x00, 0x00, 0x11, 0x00, 0x2a],
            &[0x00, 0x57],
            &IPV6_START,
        ]);
        assert_eq!(walk(&bytes), Ok(Network::Ipv6(&IPV6_START)));
    }

    #[test]
    fn pppoe_over_qinq_reaches_ipv4() {
        let bytes = frame(&[
            &MACS,
            &[0x81, 0x00, 0x0e, 0x78],
            &[0x81, 0x00, 0x09, 0xaa],
            &[0x88, 0x64],
            &[0x11, 0x00, 0x0f, 0x07, 0x00, 0x16],
            &[0x00, 0x21],
            &IPV4_START,
        ]);
        assert_eq!(walk(&bytes), Ok(Network::Ipv4(&IPV4_START)));
    }

    #[test]
    fn pppoe_lcp_is_not_ip() {
        // PPP protocol 0xc021 is the link control protocol.
        let bytes = frame(&[
            &MACS,
            &[0x88, 0x64],
            &[0x11, 0x00, 0x00, 0x11, 0x00, 0x0c],
            &[0xc0, 0x21, 0x01, 0x01],
        ]);
        assert_eq!(walk(&bytes), Err(SkipReason::NotIp));
    }

    #[test]
    fn pppoe_wrong_version_is_invalid() {
        let bytes = frame(&[
            &MACS,
            &[0x88, 0x64],
            &[0x21, 0x00, 0x00, 0x11, 0x00, 0x16],
            &[0x00, 0x21],
            &IPV4_START,
        ]);
        assert_eq!(walk(&bytes), Err(SkipReason::InvalidLink));
    }

    #[test]
    fn pppoe_header_cut_short_is_truncated() {
        let bytes = frame(&[&MACS, &[0x88, 0x64], &[0x11, 0x00, 0x00]]);
        assert_eq!(walk(&bytes), Err(SkipReason::TruncatedLink));
    }

    #[test]
    fn ppp_with_address_and_control() {
        let bytes = frame(&[&[0xff, 0x03, 0x00, 0x21], &IPV4_START]);
        let result = find_network(Layer::Ppp(&bytes));
        assert_eq!(result, Ok(Network::Ipv4(&IPV4_START)));
    }

    #[test]
    fn ppp_compressed_protocol_field() {
        // Protocol field compression: the single odd byte 0x57 is IPv6.
        let bytes = frame(&[&[0x57], &IPV6_START]);
        let result = find_network(Layer::Ppp(&bytes));
        assert_eq!(result, Ok(Network::Ipv6(&IPV6_START)));
    }

    #[test]
    fn ppp_mpls_reaches_ipv4() {
        // PPP protocol 0x0281 (MPLS unicast), one bottom label, then IPv4.
        let bytes = frame(&[&[0x02, 0x81], &[0x00, 0x01, 0x01, 0x40], &IPV4_START]);
        let result = find_network(Layer::Ppp(&bytes));
        assert_eq!(result, Ok(Network::Ipv4(&IPV4_START)));
    }

    #[test]
    fn empty_ppp_frame_is_truncated() {
        let result = find_network(Layer::Ppp(&[0xff, 0x03]));
        assert_eq!(result, Err(SkipReason::TruncatedLink));
    }

    #[test]
    fn llc_snap_reaches_ipv4() {
        // IEEE 802.3 length 40, LLC AA AA 03, OUI 00 00 00, ether type 0x0800.
        let bytes = frame(&[
            &MACS,
            &[0x00, 0x28],
            &[0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00, 0x08, 0x00],
            &IPV4_START,
        ]);
        assert_eq!(walk(&bytes), Ok(Network::Ipv4(&IPV4_START)));
    }

    #[test]
    fn spanning_tree_llc_is_not_ip() {
        // IEEE 802.3 length 38, LLC DSAP/SSAP 0x42 (spanning tree).
        let bytes = frame(&[
            &MACS,
            &[0x00, 0x26],
            &[0x42, 0x42, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00],
        ]);
        assert_eq!(walk(&bytes), Err(SkipReason::NotIp));
    }

    #[test]
    fn read_be16_stops_at_end() {
        assert_eq!(read_be16(&[0x12, 0x34], 0), Some(0x1234));
        assert_eq!(read_be16(&[0x12, 0x34], 1), None);
        assert_eq!(read_be16(&[0x12], usize::MAX), None);
    }
}
