//! Pseudo-headers that capture software writes in place of a real link header: BSD loopback
//! (`DLT_NULL`, `DLT_LOOP`), Linux cooked captures (SLL and SLL2) and Linux netfilter log
//! messages (NFLOG).
//!
//! Each function turns one pseudo-header into the [`Layer`] that follows it. Field layouts
//! follow the tcpdump.org link-layer header type pages for each type.

use crate::decode::SkipReason;
use crate::link::{read_be16, tail, Layer, Network};

/// BSD `AF_INET`, the same on every system.
const AF_INET: u32 = 2;
/// BSD `AF_INET6` values: NetBSD, OpenBSD and BSD/OS use 24, FreeBSD 28, and Darwin 30.
const AF_INET6_VALUES: [u32; 3] = [24, 28, 30];
const NULL_HEADER_LEN: usize = 4;

const SLL_HEADER_LEN: usize = 16;
const SLL2_HEADER_LEN: usize = 20;
/// Linux `ARPHRD_NETLINK`: the cooked protocol field is then a netlink family, not an ether
/// type.
const ARPHRD_NETLINK: u16 = 824;
/// Smallest protocol value that is an ether type. Linux uses smaller values (`ETH_P_802_3`,
/// `ETH_P_802_2`, `ETH_P_CAN`...) for frames without one.
const MIN_ETHER_TYPE: u16 = 0x0600;

const NFLOG_HEADER_LEN: usize = 4;
const NFLOG_TLV_HEADER_LEN: usize = 4;
/// `NFULA_PAYLOAD`: the attribute whose value is the logged packet, from the IP header on.
const NFULA_PAYLOAD: u16 = 9;
/// Netlink attribute type bits that are flags (`NLA_F_NESTED`, `NLA_F_NET_BYTEORDER`).
const NLA_TYPE_FLAGS: u16 = 0xc000;
/// Linux `NFPROTO_IPV4` and `NFPROTO_IPV6`, the NFLOG address family values.
const NFPROTO_IPV4: u8 = 2;
const NFPROTO_IPV6: u8 = 10;

/// Reads a `DLT_NULL` header: the address family as a 4-byte integer in the byte order of the
/// host that wrote the capture, which may not be this one, so both orders are tried.
pub(crate) fn null_payload(frame: &[u8]) -> Result<Layer<'_>, SkipReason> {
    let family = frame
        .get(..NULL_HEADER_LEN)
        .ok_or(SkipReason::TruncatedLink)?;
    let family = [family[0], family[1], family[2], family[3]];
    let payload = tail(frame, NULL_HEADER_LEN).ok_or(SkipReason::TruncatedLink)?;

    let little = family_network(u32::from_le_bytes(family), payload);
    let big = family_network(u32::from_be_bytes(family), payload);
    little.or(big).map(Layer::Network).ok_or(SkipReason::NotIp)
}

/// Reads a `DLT_LOOP` header: the address family as a 4-byte big-endian integer.
pub(crate) fn loop_payload(frame: &[u8]) -> Result<Layer<'_>, SkipReason> {
    let family = frame
        .get(..NULL_HEADER_LEN)
        .ok_or(SkipReason::TruncatedLink)?;
    let family = u32::from_be_bytes([family[0], family[1], family[2], family[3]]);
    let payload = tail(frame, NULL_HEADER_LEN).ok_or(SkipReason::TruncatedLink)?;
    family_network(family, payload)
        .map(Layer::Network)
        .ok_or(SkipReason::NotIp)
}

fn family_network(family: u32, payload: &[u8]) -> Option<Network<'_>> {
    if family == AF_INET {
        Some(Network::Ipv4(payload))
    } else if AF_INET6_VALUES.contains(&family) {
        Some(Network::Ipv6(payload))
    } else {
        None
    }
}

/// Reads a Linux cooked v1 header: packet type, ARPHRD type, address length, 8 address
/// bytes, then the protocol (an ether type for the frames that matter here).
pub(crate) fn sll_payload(frame: &[u8]) -> Result<Layer<'_>, SkipReason> {
    let hardware_type = read_be16(frame, 2).ok_or(SkipReason::TruncatedLink)?;
    let protocol = read_be16(frame, 14).ok_or(SkipReason::TruncatedLink)?;
    let payload = tail(frame, SLL_HEADER_LEN).ok_or(SkipReason::TruncatedLink)?;
    cooked_layer(hardware_type, protocol, payload)
}

/// Reads a Linux cooked v2 header: protocol, reserved, interface index, ARPHRD type, packet
/// type, address length and 8 address bytes.
pub(crate) fn sll2_payload(frame: &[u8]) -> Result<Layer<'_>, SkipReason> {
    let protocol = read_be16(frame, 0).ok_or(SkipReason::TruncatedLink)?;
    let hardware_type = read_be16(frame, 8).ok_or(SkipReason::TruncatedLink)?;
    let payload = tail(frame, SLL2_HEADER_LEN).ok_or(SkipReason::TruncatedLink)?;
    cooked_layer(hardware_type, protocol, payload)
}

fn cooked_layer(
    hardware_type: u16,
    protocol: u16,
    payload: &[u8],
) -> Result<Layer<'_>, SkipReason> {
    if hardware_type == ARPHRD_NETLINK || protocol < MIN_ETHER_TYPE {
        return Err(SkipReason::NotIp);
    }
    Ok(Layer::EtherType(protocol, payload))
}

/// Reads an NFLOG message: a 4-byte header (address family, version 0, big-endian resource
/// id), then type-length-value attributes padded to 4 bytes, one of which contains the packet.
///
/// Attribute length and type are in the byte order of the host that logged the packet.
/// libpcap converts them to the reading host's order when it opens a capture file from a host
/// of the other byte order, so they are read in native order here.
///
/// Fails with [`SkipReason::UnsupportedLink`] for another header version,
/// [`SkipReason::InvalidLink`] for an attribute length below 4, and
/// [`SkipReason::TruncatedLink`] when the attributes end before the packet attribute.
pub(crate) fn nflog_payload(frame: &[u8]) -> Result<Layer<'_>, SkipReason> {
    let header = frame
        .get(..NFLOG_HEADER_LEN)
        .ok_or(SkipReason::TruncatedLink)?;
    let (family, version) = (header[0], header[1]);
    if version != 0 {
        return Err(SkipReason::UnsupportedLink);
    }

    // Every pass moves forward by at least one 4-byte attribute header, so the walk ends.
    let mut offset = NFLOG_HEADER_LEN;
    while let Some(tlv) = frame.get(offset..offset + NFLOG_TLV_HEADER_LEN) {
        let length = usize::from(u16::from_ne_bytes([tlv[0], tlv[1]]));
        let kind = u16::from_ne_bytes([tlv[2], tlv[3]]) & !NLA_TYPE_FLAGS;
        if length < NFLOG_TLV_HEADER_LEN {
            return Err(SkipReason::InvalidLink);
        }

        if kind == NFULA_PAYLOAD {
            let value_start = offset + NFLOG_TLV_HEADER_LEN;
            let value_end = (offset + length).min(frame.len());
            let packet = frame
                .get(value_start..value_end)
                .ok_or(SkipReason::TruncatedLink)?;
            return match family {
                NFPROTO_IPV4 => Ok(Layer::Network(Network::Ipv4(packet))),
                NFPROTO_IPV6 => Ok(Layer::Network(Network::Ipv6(packet))),
                _ => Err(SkipReason::NotIp),
            };
        }
        offset += length.next_multiple_of(4);
    }
    Err(SkipReason::TruncatedLink)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stand-in for an IPv4 packet: only its first byte (version 4, IHL 5) matters here.
    const IPV4_START: [u8; 4] = [0x45, 0x00, 0x00, 0x14];
    /// Stand-in for an IPv6 packet: version 6.
    const IPV6_START: [u8; 4] = [0x60, 0x00, 0x00, 0x00];

    fn frame(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    #[test]
    fn null_little_endian_inet() {
        // AF_INET written by a little-endian host.
        let bytes = frame(&[&[2, 0, 0, 0], &IPV4_START]);
        assert_eq!(
            null_payload(&bytes),
            Ok(Layer::Network(Network::Ipv4(&IPV4_START)))
        );
    }

    #[test]
    fn null_big_endian_inet() {
        // AF_INET written by a big-endian host.
        let bytes = frame(&[&[0, 0, 0, 2], &IPV4_START]);
        assert_eq!(
            null_payload(&bytes),
            Ok(Layer::Network(Network::Ipv4(&IPV4_START)))
        );
    }

    #[test]
    fn null_inet6_in_both_orders() {
        for family in AF_INET6_VALUES {
            let family = u8::try_from(family).unwrap();
            for header in [[family, 0, 0, 0], [0, 0, 0, family]] {
                let bytes = frame(&[&header, &IPV6_START]);
                let expected = Ok(Layer::Network(Network::Ipv6(&IPV6_START)));
                assert_eq!(null_payload(&bytes), expected, "header {header:?}");
            }
        }
    }

    #[test]
    fn null_unknown_family_is_not_ip() {
        // AF_APPLETALK (16) on the BSDs.
        let bytes = frame(&[&[16, 0, 0, 0], &IPV4_START]);
        assert_eq!(null_payload(&bytes), Err(SkipReason::NotIp));
    }

    #[test]
    fn null_header_cut_short() {
        assert_eq!(null_payload(&[2, 0]), Err(SkipReason::TruncatedLink));
    }

    #[test]
    fn loop_reads_network_order() {
        let bytes = frame(&[&[0, 0, 0, 24], &IPV6_START]);
        assert_eq!(
            loop_payload(&bytes),
            Ok(Layer::Network(Network::Ipv6(&IPV6_START)))
        );
    }

    #[test]
    fn loop_rejects_little_endian_family() {
        // DLT_LOOP is always big-endian, so these bytes are family 0x02000000.
        let bytes = frame(&[&[2, 0, 0, 0], &IPV4_START]);
        assert_eq!(loop_payload(&bytes), Err(SkipReason::NotIp));
    }

    /// Builds a Linux cooked v1 header: outgoing packet (4), ARPHRD_ETHER (1), 6 address
    /// bytes padded to 8, then the given protocol.
    fn sll_header(protocol: u16) -> Vec<u8> {
        let mut header = vec![0x00, 0x04, 0x00, 0x01, 0x00, 0x06];
        header.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x01, 0, 0]);
        header.extend_from_slice(&protocol.to_be_bytes());
        header
    }

    #[test]
    fn sll_ipv4_gives_ether_type() {
        let bytes = frame(&[&sll_header(0x0800), &IPV4_START]);
        assert_eq!(
            sll_payload(&bytes),
            Ok(Layer::EtherType(0x0800, &IPV4_START))
        );
    }

    #[test]
    fn sll_llc_protocol_is_not_ip() {
        // ETH_P_802_2 (4): an LLC frame without an ether type.
        let bytes = frame(&[&sll_header(0x0004), &[0x42, 0x42, 0x03]]);
        assert_eq!(sll_payload(&bytes), Err(SkipReason::NotIp));
    }

    #[test]
    fn sll_netlink_is_not_ip() {
        // ARPHRD_NETLINK (824) with netlink family 0x0800 would otherwise look like IPv4.
        let mut header = sll_header(0x0800);
        header[2..4].copy_from_slice(&824u16.to_be_bytes());
        let bytes = frame(&[&header, &IPV4_START]);
        assert_eq!(sll_payload(&bytes), Err(SkipReason::NotIp));
    }

    #[test]
    fn sll_header_cut_short() {
        let header = sll_header(0x0800);
        assert_eq!(sll_payload(&header[..15]), Err(SkipReason::TruncatedLink));
    }

    /// Builds a Linux cooked v2 header: the given protocol, reserved, interface index 1,
    /// ARPHRD_LOOPBACK (772), host packet (0), 6 address bytes padded to 8.
    fn sll2_header(protocol: u16) -> Vec<u8> {
        let mut header = protocol.to_be_bytes().to_vec();
        header.extend_from_slice(&[0x00, 0x00, 0x00, 0x00, 0x00, 0x01]);
        header.extend_from_slice(&[0x03, 0x04, 0x00, 0x06]);
        header.extend_from_slice(&[0; 8]);
        header
    }

    #[test]
    fn sll2_ipv6_gives_ether_type() {
        let bytes = frame(&[&sll2_header(0x86dd), &IPV6_START]);
        assert_eq!(
            sll2_payload(&bytes),
            Ok(Layer::EtherType(0x86dd, &IPV6_START))
        );
    }

    #[test]
    fn sll2_header_cut_short() {
        let header = sll2_header(0x0800);
        assert_eq!(sll2_payload(&header[..19]), Err(SkipReason::TruncatedLink));
    }

    /// Builds one NFLOG attribute in native byte order, padded to 4 bytes.
    fn nflog_tlv(kind: u16, value: &[u8]) -> Vec<u8> {
        let length = u16::try_from(4 + value.len()).unwrap();
        let mut tlv = length.to_ne_bytes().to_vec();
        tlv.extend_from_slice(&kind.to_ne_bytes());
        tlv.extend_from_slice(value);
        tlv.resize(tlv.len().next_multiple_of(4), 0);
        tlv
    }

    #[test]
    fn nflog_finds_payload_attribute() {
        // Header: family IPv4, version 0, resource id 42. Attributes: NFULA_PACKET_HDR (1),
        // NFULA_PREFIX (10) with a 3-byte value that needs padding, then NFULA_PAYLOAD.
        let bytes = frame(&[
            &[2, 0, 0, 42],
            &nflog_tlv(1, &[0x08, 0x00, 0x03, 0x00]),
            &nflog_tlv(10, b"ab\0"),
            &nflog_tlv(NFULA_PAYLOAD, &IPV4_START),
        ]);
        assert_eq!(
            nflog_payload(&bytes),
            Ok(Layer::Network(Network::Ipv4(&IPV4_START)))
        );
    }

    #[test]
    fn nflog_ipv6_family() {
        let bytes = frame(&[&[10, 0, 0, 1], &nflog_tlv(NFULA_PAYLOAD, &IPV6_START)]);
        assert_eq!(
            nflog_payload(&bytes),
            Ok(Layer::Network(Network::Ipv6(&IPV6_START)))
        );
    }

    #[test]
    fn nflog_payload_cut_by_capture() {
        // The attribute claims 4 value bytes, but the capture kept only 2 of them.
        let tlv = nflog_tlv(NFULA_PAYLOAD, &IPV4_START);
        let bytes = frame(&[&[2, 0, 0, 42], &tlv[..6]]);
        assert_eq!(
            nflog_payload(&bytes),
            Ok(Layer::Network(Network::Ipv4(&IPV4_START[..2])))
        );
    }

    #[test]
    fn nflog_without_payload_is_truncated() {
        let bytes = frame(&[&[2, 0, 0, 42], &nflog_tlv(1, &[0x08, 0x00, 0x03, 0x00])]);
        assert_eq!(nflog_payload(&bytes), Err(SkipReason::TruncatedLink));
    }

    #[test]
    fn nflog_zero_length_attribute_is_invalid() {
        let bytes = frame(&[&[2, 0, 0, 42], &[0, 0, 0, 0]]);
        assert_eq!(nflog_payload(&bytes), Err(SkipReason::InvalidLink));
    }

    #[test]
    fn nflog_other_version_is_unsupported() {
        let bytes = frame(&[&[2, 1, 0, 42], &nflog_tlv(NFULA_PAYLOAD, &IPV4_START)]);
        assert_eq!(nflog_payload(&bytes), Err(SkipReason::UnsupportedLink));
    }

    #[test]
    fn nflog_arp_family_is_not_ip() {
        // NFPROTO_ARP (3).
        let bytes = frame(&[&[3, 0, 0, 42], &nflog_tlv(NFULA_PAYLOAD, &[0, 1, 8, 0])]);
        assert_eq!(nflog_payload(&bytes), Err(SkipReason::NotIp));
    }
}
