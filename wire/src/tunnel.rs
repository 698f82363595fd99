//! Tunnel encapsulations that [`decode`](crate::decode) looks through: IP-in-IP, GRE (with
//! PPTP, ERSPAN, WCCP and Cisco MetaData payloads), VXLAN, Geneve and Teredo.
//!
//! [`inner_layer`] only locates the encapsulated frame. Whether that frame decodes, and what
//! happens when it does not, is up to the caller.

use crate::decode::Decoded;
use crate::ip::protocol;
use crate::link::{read_be16, tail, Layer, Network};

/// IANA-assigned UDP destination port of VXLAN (RFC 7348).
const VXLAN_PORT: u16 = 4789;
/// IANA-assigned UDP destination port of Geneve (RFC 8926).
const GENEVE_PORT: u16 = 6081;
/// IANA-assigned UDP port of Teredo (RFC 4380), used by clients and servers alike.
const TEREDO_PORT: u16 = 3544;

/// GRE header flag bits (RFC 1701, RFC 2890, and RFC 2637 for the acknowledgment bit).
mod gre_flag {
    pub const CHECKSUM: u16 = 0x8000;
    pub const ROUTING: u16 = 0x4000;
    pub const KEY: u16 = 0x2000;
    pub const SEQUENCE: u16 = 0x1000;
    pub const ACKNOWLEDGMENT: u16 = 0x0080;
    pub const VERSION_MASK: u16 = 0x0007;
}

/// GRE protocol types that need more than an ether type lookup.
mod gre_protocol {
    /// PPP, as PPTP carries it (RFC 2637).
    pub const PPP: u16 = 0x880b;
    /// ERSPAN type II, or type I when the sequence bit is clear.
    pub const ERSPAN_II: u16 = 0x88be;
    pub const ERSPAN_III: u16 = 0x22eb;
    /// WCCP redirection (draft-wilson-wrec-wccp-v2).
    pub const WCCP: u16 = 0x883e;
    /// Cisco MetaData, which carries a TrustSec security group tag.
    pub const CISCO_METADATA: u16 = 0x8909;
}

/// Maximum number of RFC 1701 source route entries skipped in one GRE header. The routing
/// field was deprecated by RFC 2784 and is not seen in practice, so the bound only limits
/// work.
const MAX_GRE_SOURCE_ROUTES: usize = 16;

const GRE_BASE_LEN: usize = 4;
const GRE_OPTIONAL_FIELD_LEN: usize = 4;
const ERSPAN_II_HEADER_LEN: usize = 8;
const ERSPAN_III_HEADER_LEN: usize = 12;
const ERSPAN_III_PLATFORM_LEN: usize = 8;
const WCCP_REDIRECT_HEADER_LEN: usize = 4;
const CISCO_METADATA_LEN: usize = 8;
const VXLAN_HEADER_LEN: usize = 8;
/// The VXLAN I flag: the VNI field is valid. RFC 7348 requires it.
const VXLAN_FLAG_VNI: u8 = 0x08;
const GENEVE_BASE_LEN: usize = 8;
const IPV6_HEADER_LEN: usize = 40;

/// Returns the frame that `packet` encapsulates, or `None` when it is not a tunnel packet or
/// its tunnel header is invalid or cut short.
pub(crate) fn inner_layer<'a>(packet: &Decoded<'a>) -> Option<Layer<'a>> {
    let payload = packet.payload;
    match packet.protocol {
        protocol::IPV4_IN_IP => Some(Layer::Network(Network::Ipv4(payload))),
        protocol::IPV6_IN_IP => Some(Layer::Network(Network::Ipv6(payload))),
        protocol::GRE => gre_inner(payload),
        protocol::UDP if packet.dst_port == VXLAN_PORT => vxlan_inner(payload),
        protocol::UDP if packet.dst_port == GENEVE_PORT => geneve_inner(payload),
        protocol::UDP if packet.src_port == TEREDO_PORT || packet.dst_port == TEREDO_PORT => {
            teredo_inner(payload, packet.truncated)
        }
        _ => None,
    }
}

fn gre_inner(gre: &[u8]) -> Option<Layer<'_>> {
    let flags = read_be16(gre, 0)?;
    let protocol_type = read_be16(gre, 2)?;
    match flags & gre_flag::VERSION_MASK {
        0 => gre_v0_inner(gre, flags, protocol_type),
        1 => enhanced_gre_inner(gre, flags, protocol_type),
        _ => None,
    }
}

/// Reads a GRE version 0 header (RFC 1701, RFC 2784, RFC 2890): checksum and offset when the
/// C or R bit is set, key, sequence number, then the source route entries when R is set.
fn gre_v0_inner(gre: &[u8], flags: u16, protocol_type: u16) -> Option<Layer<'_>> {
    let mut offset = GRE_BASE_LEN;
    if flags & (gre_flag::CHECKSUM | gre_flag::ROUTING) != 0 {
        offset += GRE_OPTIONAL_FIELD_LEN;
    }
    if flags & gre_flag::KEY != 0 {
        offset += GRE_OPTIONAL_FIELD_LEN;
    }
    if flags & gre_flag::SEQUENCE != 0 {
        offset += GRE_OPTIONAL_FIELD_LEN;
    }
    if flags & gre_flag::ROUTING != 0 {
        offset = skip_source_routes(gre, offset)?;
    }
    let payload = tail(gre, offset)?;

    match protocol_type {
        gre_protocol::ERSPAN_II if flags & gre_flag::SEQUENCE != 0 => erspan_ii_inner(payload),
        // ERSPAN type I has neither a sequence number nor an ERSPAN header.
        gre_protocol::ERSPAN_II => Some(Layer::Ethernet(payload)),
        gre_protocol::ERSPAN_III => erspan_iii_inner(payload),
        gre_protocol::PPP => Some(Layer::Ppp(payload)),
        gre_protocol::WCCP => wccp_inner(payload),
        gre_protocol::CISCO_METADATA => cisco_metadata_inner(payload),
        ether_type => Some(Layer::EtherType(ether_type, payload)),
    }
}

/// Skips RFC 1701 source route entries: address family, SRE offset, SRE length and routing
/// information, until the entry with family 0 and length 0.
fn skip_source_routes(gre: &[u8], mut offset: usize) -> Option<usize> {
    for _ in 0..MAX_GRE_SOURCE_ROUTES {
        let family = read_be16(gre, offset)?;
        let length = usize::from(*gre.get(offset + 3)?);
        offset += 4 + length;
        if family == 0 && length == 0 {
            return Some(offset);
        }
    }
    None
}

/// Reads the enhanced GRE header of PPTP (RFC 2637): version 1, protocol PPP, a key made of
/// payload length and call id, then optional sequence and acknowledgment numbers.
fn enhanced_gre_inner(gre: &[u8], flags: u16, protocol_type: u16) -> Option<Layer<'_>> {
    if protocol_type != gre_protocol::PPP || flags & gre_flag::KEY == 0 {
        return None;
    }
    let payload_len = usize::from(read_be16(gre, GRE_BASE_LEN)?);
    let mut offset = GRE_BASE_LEN + GRE_OPTIONAL_FIELD_LEN;
    if flags & gre_flag::SEQUENCE != 0 {
        offset += GRE_OPTIONAL_FIELD_LEN;
    }
    if flags & gre_flag::ACKNOWLEDGMENT != 0 {
        offset += GRE_OPTIONAL_FIELD_LEN;
    }
    let payload = tail(gre, offset)?;
    Some(Layer::Ppp(payload.get(..payload_len).unwrap_or(payload)))
}

/// Reads an ERSPAN type II header (version 1, 8 bytes), then the mirrored Ethernet frame.
fn erspan_ii_inner(erspan: &[u8]) -> Option<Layer<'_>> {
    if *erspan.first()? >> 4 != 1 {
        return None;
    }
    tail(erspan, ERSPAN_II_HEADER_LEN).map(Layer::Ethernet)
}

/// Reads an ERSPAN type III header (version 2, 12 bytes, plus an 8-byte platform-specific
/// sub-header when the O bit is set). The frame type field states whether an Ethernet
/// frame (0) or an IP packet (2) follows.
fn erspan_iii_inner(erspan: &[u8]) -> Option<Layer<'_>> {
    let header = erspan.get(..ERSPAN_III_HEADER_LEN)?;
    if header[0] >> 4 != 2 {
        return None;
    }
    let frame_type = (header[10] >> 2) & 0x1f;
    let has_platform_header = header[11] & 0x01 != 0;

    let mut offset = ERSPAN_III_HEADER_LEN;
    if has_platform_header {
        offset += ERSPAN_III_PLATFORM_LEN;
    }
    let mirrored = tail(erspan, offset)?;
    match frame_type {
        0 => Some(Layer::Ethernet(mirrored)),
        2 => Some(Layer::Network(Network::AnyIp(mirrored))),
        _ => None,
    }
}

/// Reads a WCCP payload: WCCP version 2 puts a 4-byte redirect header before the IPv4 packet,
/// version 1 does not. A first byte that reads as IPv4 version and header length
/// distinguishes the two, because the redirect header starts with flag bits and reserved
/// zero bits.
fn wccp_inner(wccp: &[u8]) -> Option<Layer<'_>> {
    let first = *wccp.first()?;
    if first >> 4 == 4 && first & 0x0f >= 5 {
        return Some(Layer::Network(Network::Ipv4(wccp)));
    }
    tail(wccp, WCCP_REDIRECT_HEADER_LEN).map(|packet| Layer::Network(Network::Ipv4(packet)))
}

/// Reads the Cisco MetaData header as GRE carries it: the ether type of the payload, then
/// version, length, option type and the security group tag.
fn cisco_metadata_inner(metadata: &[u8]) -> Option<Layer<'_>> {
    let ether_type = read_be16(metadata, 0)?;
    tail(metadata, CISCO_METADATA_LEN).map(|payload| Layer::EtherType(ether_type, payload))
}

/// Reads a VXLAN header (RFC 7348): flags with the I bit, reserved bits, the 24-bit VNI and
/// a reserved byte, then an Ethernet frame.
fn vxlan_inner(vxlan: &[u8]) -> Option<Layer<'_>> {
    if *vxlan.first()? & VXLAN_FLAG_VNI == 0 {
        return None;
    }
    tail(vxlan, VXLAN_HEADER_LEN).map(Layer::Ethernet)
}

/// Reads a Geneve header (RFC 8926): version 0, option length in 4-byte words, flags, the
/// protocol type as an ether type, VNI, then the options.
fn geneve_inner(geneve: &[u8]) -> Option<Layer<'_>> {
    let first = *geneve.first()?;
    if first >> 6 != 0 {
        return None;
    }
    let options_len = usize::from(first & 0x3f) * 4;
    let protocol_type = read_be16(geneve, 2)?;
    let payload = tail(geneve, GENEVE_BASE_LEN + options_len)?;
    Some(Layer::EtherType(protocol_type, payload))
}

/// Reads a Teredo payload (RFC 4380): an optional authentication indicator, an optional
/// origin indication, then an IPv6 packet.
///
/// Teredo servers also send other messages on the Teredo port. The payload counts as IPv6
/// only when it has version 6, a whole IPv6 header, and a payload length that matches the
/// remaining bytes exactly, or covers them when the capture was `truncated`. Otherwise the
/// packet stays ordinary UDP.
fn teredo_inner(teredo: &[u8], truncated: bool) -> Option<Layer<'_>> {
    let mut packet = teredo;
    if packet.starts_with(&[0x00, 0x01]) {
        // Indicator type, client id length, authentication value length, client id,
        // authentication value, 8-byte nonce and a confirmation byte.
        let id_len = usize::from(*packet.get(2)?);
        let auth_len = usize::from(*packet.get(3)?);
        packet = tail(packet, 4 + id_len + auth_len + 9)?;
    }
    if packet.starts_with(&[0x00, 0x00]) {
        // Indicator type, obfuscated origin port and obfuscated origin IPv4 address.
        packet = tail(packet, 8)?;
    }

    let version = *packet.first()? >> 4;
    let payload_len = usize::from(read_be16(packet, 4)?);
    if version != 6 || packet.len() < IPV6_HEADER_LEN {
        return None;
    }
    let expected_len = IPV6_HEADER_LEN + payload_len;
    let length_matches = if truncated {
        expected_len >= packet.len()
    } else {
        expected_len == packet.len()
    };
    if !length_matches {
        return None;
    }
    Some(Layer::Network(Network::Ipv6(packet)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MACS: [u8; 12] = [0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02];
    /// Stand-in for an IPv4 packet: only its first bytes matter here.
    const IPV4_START: [u8; 4] = [0x45, 0x00, 0x00, 0x14];

    fn bytes(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    fn ethernet_ipv4() -> Vec<u8> {
        bytes(&[&MACS, &[0x08, 0x00], &IPV4_START])
    }

    /// Builds a 40-byte IPv6 header (next header 59, no payload) with the given payload
    /// length field.
    fn ipv6_header(payload_len: u16) -> Vec<u8> {
        let mut header = vec![0x60, 0, 0, 0];
        header.extend_from_slice(&payload_len.to_be_bytes());
        header.extend_from_slice(&[59, 64]);
        header.extend_from_slice(&[0x20; 32]);
        header
    }

    #[test]
    fn gre_plain_ipv4() {
        let gre = bytes(&[&[0x00, 0x00, 0x08, 0x00], &IPV4_START]);
        assert_eq!(gre_inner(&gre), Some(Layer::EtherType(0x0800, &IPV4_START)));
    }

    #[test]
    fn gre_checksum_key_sequence() {
        // C, K and S set: checksum + reserved, key 0x28, sequence 7, then IPv6 ether type.
        let gre = bytes(&[
            &[0xb0, 0x00, 0x86, 0xdd],
            &[0x12, 0x34, 0x00, 0x00],
            &[0x00, 0x00, 0x00, 0x28],
            &[0x00, 0x00, 0x00, 0x07],
            &IPV4_START,
        ]);
        assert_eq!(gre_inner(&gre), Some(Layer::EtherType(0x86dd, &IPV4_START)));
    }

    #[test]
    fn gre_source_routes_are_skipped() {
        // R set: checksum/offset word, one IPv4 SRE with 4 bytes of routing data, then the
        // terminating SRE (family 0, length 0).
        let gre = bytes(&[
            &[0x40, 0x00, 0x08, 0x00],
            &[0x00, 0x00, 0x00, 0x00],
            &[0x08, 0x00, 0x00, 0x04, 10, 0, 0, 1],
            &[0x00, 0x00, 0x00, 0x00],
            &IPV4_START,
        ]);
        assert_eq!(gre_inner(&gre), Some(Layer::EtherType(0x0800, &IPV4_START)));
    }

    #[test]
    fn gre_unterminated_source_routes() {
        let gre = bytes(&[
            &[0x40, 0x00, 0x08, 0x00],
            &[0; 4],
            &[0x08, 0x00, 0x00, 0x04],
        ]);
        assert_eq!(gre_inner(&gre), None);
    }

    #[test]
    fn gre_transparent_ethernet_bridging() {
        let frame = ethernet_ipv4();
        let gre = bytes(&[&[0x00, 0x00, 0x65, 0x58], &frame]);
        assert_eq!(gre_inner(&gre), Some(Layer::EtherType(0x6558, &frame)));
    }

    #[test]
    fn gre_unknown_version_is_ignored() {
        let gre = bytes(&[&[0x00, 0x02, 0x08, 0x00], &IPV4_START]);
        assert_eq!(gre_inner(&gre), None);
    }

    #[test]
    fn gre_header_cut_short() {
        // K and S set, but the capture ends inside the key.
        assert_eq!(gre_inner(&[0x30, 0x00, 0x08, 0x00, 0x00, 0x00]), None);
    }

    #[test]
    fn pptp_enhanced_gre_gives_ppp() {
        // Version 1 with K, S and A set, protocol PPP. The key is payload length 6 and call
        // id 0. Sequence and acknowledgment numbers follow, then PPP (ff 03, protocol 0x0021)
        // with 2 IPv4 bytes, then 2 bytes past the payload length.
        let gre = bytes(&[
            &[0x30, 0x81, 0x88, 0x0b],
            &[0x00, 0x06, 0x00, 0x00],
            &[0x00, 0x00, 0x00, 0x01],
            &[0x00, 0x00, 0x00, 0x00],
            &[0xff, 0x03, 0x00, 0x21, 0x45, 0x00],
            &[0xee, 0xee],
        ]);
        let ppp = [0xff, 0x03, 0x00, 0x21, 0x45, 0x00];
        assert_eq!(gre_inner(&gre), Some(Layer::Ppp(&ppp)));
    }

    #[test]
    fn pptp_without_key_is_ignored() {
        let gre = bytes(&[&[0x10, 0x01, 0x88, 0x0b], &[0, 0, 0, 1], &[0xff, 0x03]]);
        assert_eq!(gre_inner(&gre), None);
    }

    #[test]
    fn gre_ppp_version_0() {
        let gre = bytes(&[&[0x00, 0x00, 0x88, 0x0b], &[0x00, 0x21], &IPV4_START]);
        let ppp = bytes(&[&[0x00, 0x21], &IPV4_START]);
        assert_eq!(gre_inner(&gre), Some(Layer::Ppp(&ppp)));
    }

    #[test]
    fn erspan_type_ii_gives_ethernet() {
        // GRE with S set and sequence 1796, then ERSPAN II version 1, VLAN 23, session 100.
        let frame = ethernet_ipv4();
        let gre = bytes(&[
            &[0x10, 0x00, 0x88, 0xbe],
            &[0x00, 0x00, 0x07, 0x04],
            &[0x10, 0x17, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00],
            &frame,
        ]);
        assert_eq!(gre_inner(&gre), Some(Layer::Ethernet(&frame)));
    }

    #[test]
    fn erspan_type_ii_wrong_version() {
        let gre = bytes(&[
            &[0x10, 0x00, 0x88, 0xbe],
            &[0; 4],
            &[0x20, 0, 0, 0, 0, 0, 0, 0],
        ]);
        assert_eq!(gre_inner(&gre), None);
    }

    #[test]
    fn erspan_type_i_gives_ethernet() {
        // No sequence bit: the mirrored frame follows the 4-byte GRE header.
        let frame = ethernet_ipv4();
        let gre = bytes(&[&[0x00, 0x00, 0x88, 0xbe], &frame]);
        assert_eq!(gre_inner(&gre), Some(Layer::Ethernet(&frame)));
    }

    #[test]
    fn erspan_type_iii_gives_ethernet() {
        // ERSPAN III: version 2, timestamp, SGT, frame type 0, O bit clear.
        let frame = ethernet_ipv4();
        let gre = bytes(&[
            &[0x10, 0x00, 0x22, 0xeb],
            &[0x00, 0x00, 0x00, 0x01],
            &[0x20, 0x17, 0x00, 0x64, 0, 0, 0, 0, 0, 0, 0x00, 0x00],
            &frame,
        ]);
        assert_eq!(gre_inner(&gre), Some(Layer::Ethernet(&frame)));
    }

    #[test]
    fn erspan_type_iii_platform_header() {
        // O bit set: an 8-byte platform-specific sub-header precedes the frame.
        let frame = ethernet_ipv4();
        let gre = bytes(&[
            &[0x10, 0x00, 0x22, 0xeb],
            &[0x00, 0x00, 0x00, 0x01],
            &[0x20, 0x17, 0x00, 0x64, 0, 0, 0, 0, 0, 0, 0x00, 0x01],
            &[0x0c, 0, 0, 0, 0, 0, 0, 0],
            &frame,
        ]);
        assert_eq!(gre_inner(&gre), Some(Layer::Ethernet(&frame)));
    }

    #[test]
    fn erspan_type_iii_ip_frame() {
        // Frame type 2 (IP) in bits 17-21 of the third word: byte 10 = 0b0000_1000.
        let gre = bytes(&[
            &[0x00, 0x00, 0x22, 0xeb],
            &[0x20, 0x17, 0x00, 0x64, 0, 0, 0, 0, 0, 0, 0x08, 0x00],
            &IPV4_START,
        ]);
        assert_eq!(
            gre_inner(&gre),
            Some(Layer::Network(Network::AnyIp(&IPV4_START)))
        );
    }

    #[test]
    fn wccp_redirect_header_is_skipped() {
        // WCCP v2 redirect header: flags 0, service 0, alternate and primary bucket.
        let gre = bytes(&[
            &[0x00, 0x00, 0x88, 0x3e],
            &[0x00, 0x00, 0x12, 0x34],
            &IPV4_START,
        ]);
        assert_eq!(
            gre_inner(&gre),
            Some(Layer::Network(Network::Ipv4(&IPV4_START)))
        );
    }

    #[test]
    fn wccp_v1_carries_ipv4_directly() {
        let gre = bytes(&[&[0x00, 0x00, 0x88, 0x3e], &IPV4_START]);
        assert_eq!(
            gre_inner(&gre),
            Some(Layer::Network(Network::Ipv4(&IPV4_START)))
        );
    }

    #[test]
    fn cisco_metadata_gives_ether_type() {
        // GRE key 0x28, protocol 0x8909. Metadata: ether type IPv4, version 1, length 1,
        // option 0x0001, SGT 0.
        let gre = bytes(&[
            &[0x20, 0x00, 0x89, 0x09],
            &[0x00, 0x00, 0x00, 0x28],
            &[0x08, 0x00, 0x01, 0x01, 0x00, 0x01, 0x00, 0x00],
            &IPV4_START,
        ]);
        assert_eq!(gre_inner(&gre), Some(Layer::EtherType(0x0800, &IPV4_START)));
    }

    #[test]
    fn vxlan_gives_ethernet() {
        // Flags 0x08 (I), reserved, VNI 4242, reserved.
        let frame = ethernet_ipv4();
        let vxlan = bytes(&[&[0x08, 0, 0, 0, 0x00, 0x10, 0x92, 0x00], &frame]);
        assert_eq!(vxlan_inner(&vxlan), Some(Layer::Ethernet(&frame)));
    }

    #[test]
    fn vxlan_without_vni_flag() {
        let vxlan = bytes(&[&[0x00, 0, 0, 0, 0x00, 0x10, 0x92, 0x00], &ethernet_ipv4()]);
        assert_eq!(vxlan_inner(&vxlan), None);
    }

    #[test]
    fn vxlan_header_cut_short() {
        assert_eq!(vxlan_inner(&[0x08, 0, 0, 0]), None);
    }

    #[test]
    fn geneve_with_options() {
        // Version 0, option length 2 words, C flag, protocol 0x6558, VNI 10, and one 8-byte
        // option (class 0x0102, type 0x80, length 1 word, 4 data bytes).
        let frame = ethernet_ipv4();
        let geneve = bytes(&[
            &[0x02, 0x40, 0x65, 0x58, 0x00, 0x00, 0x0a, 0x00],
            &[0x01, 0x02, 0x80, 0x01, 0xde, 0xad, 0xbe, 0xef],
            &frame,
        ]);
        assert_eq!(
            geneve_inner(&geneve),
            Some(Layer::EtherType(0x6558, &frame))
        );
    }

    #[test]
    fn geneve_ipv4_protocol_type() {
        let geneve = bytes(&[
            &[0x00, 0x00, 0x08, 0x00, 0x00, 0x10, 0x92, 0x00],
            &IPV4_START,
        ]);
        assert_eq!(
            geneve_inner(&geneve),
            Some(Layer::EtherType(0x0800, &IPV4_START))
        );
    }

    #[test]
    fn geneve_other_version() {
        let geneve = bytes(&[&[0x40, 0x00, 0x08, 0x00, 0, 0, 0, 0], &IPV4_START]);
        assert_eq!(geneve_inner(&geneve), None);
    }

    #[test]
    fn geneve_options_beyond_capture() {
        // Option length 63 words, but only the base header was captured.
        assert_eq!(geneve_inner(&[0x3f, 0x00, 0x65, 0x58, 0, 0, 0, 0]), None);
    }

    #[test]
    fn teredo_bare_ipv6() {
        let packet = ipv6_header(0);
        assert_eq!(
            teredo_inner(&packet, false),
            Some(Layer::Network(Network::Ipv6(&packet)))
        );
    }

    #[test]
    fn teredo_origin_indication() {
        // Origin indication: type 0x0000, obfuscated port and address.
        let packet = ipv6_header(0);
        let teredo = bytes(&[&[0x00, 0x00, 0xf2, 0x27, 0x3f, 0x57, 0xfe, 0x5c], &packet]);
        assert_eq!(
            teredo_inner(&teredo, false),
            Some(Layer::Network(Network::Ipv6(&packet)))
        );
    }

    #[test]
    fn teredo_authentication_and_origin() {
        // Authentication: type 0x0001, client id length 2, auth length 1, id, auth, nonce,
        // confirmation. Then an origin indication and the IPv6 packet.
        let packet = ipv6_header(0);
        let teredo = bytes(&[
            &[0x00, 0x01, 0x02, 0x01, 0xaa, 0xbb, 0xcc],
            &[1, 2, 3, 4, 5, 6, 7, 8, 0x00],
            &[0x00, 0x00, 0xf2, 0x27, 0x3f, 0x57, 0xfe, 0x5c],
            &packet,
        ]);
        assert_eq!(
            teredo_inner(&teredo, false),
            Some(Layer::Network(Network::Ipv6(&packet)))
        );
    }

    #[test]
    fn teredo_non_ipv6_payload() {
        // A Teredo server's non-IPv6 message: version nibble 4.
        assert_eq!(teredo_inner(&[0x45; 48], false), None);
    }

    #[test]
    fn teredo_short_ipv6_length() {
        // Payload length 0, but 8 bytes follow the IPv6 header: not one IPv6 packet.
        let teredo = bytes(&[&ipv6_header(0), &[0; 8]]);
        assert_eq!(teredo_inner(&teredo, false), None);
    }

    #[test]
    fn teredo_long_ipv6_length() {
        // Payload length 8 with no bytes after the header, in a complete capture.
        assert_eq!(teredo_inner(&ipv6_header(8), false), None);
    }

    #[test]
    fn teredo_cut_by_capture() {
        // Payload length 8 with no bytes after the header, because the capture was cut.
        let packet = ipv6_header(8);
        let expected = Some(Layer::Network(Network::Ipv6(&packet[..])));
        assert_eq!(teredo_inner(&packet, true), expected);
    }

    #[test]
    fn teredo_header_cut_short() {
        assert_eq!(teredo_inner(&ipv6_header(0)[..39], true), None);
    }
}
