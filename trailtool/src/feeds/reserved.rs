//! Address ranges that feeds list but that must not become trails.
//!
//! Bogon and aggregated lists (FireHOL level1 has `0.0.0.0/8` and `10.0.0.0/8`) and sloppy
//! ones (`10.255.255.200` in BotScout) contain private, loopback, link-local, multicast and
//! reserved space. A trail there would flag every LAN packet, so parsers drop any address or
//! block that overlaps these ranges and count it as skipped.
//!
//! The documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32)
//! are kept on purpose: they never appear in real traffic, so their trails cannot fire by
//! mistake, and test fixtures use them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One non-routable IPv4 range: network, prefix length, and what it is.
struct V4Range(Ipv4Addr, u8, &'static str);

/// One non-routable IPv6 range: network, prefix length, and what it is.
struct V6Range(Ipv6Addr, u8, &'static str);

/// IPv4 special-purpose ranges (IANA registry, RFC 6890) that occur in local traffic.
const V4_RANGES: &[V4Range] = &[
    V4Range(Ipv4Addr::new(0, 0, 0, 0), 8, "0.0.0.0/8, \"this network\""),
    V4Range(
        Ipv4Addr::new(10, 0, 0, 0),
        8,
        "10.0.0.0/8, a private network",
    ),
    V4Range(
        Ipv4Addr::new(100, 64, 0, 0),
        10,
        "100.64.0.0/10, carrier-grade NAT",
    ),
    V4Range(Ipv4Addr::new(127, 0, 0, 0), 8, "127.0.0.0/8, loopback"),
    V4Range(
        Ipv4Addr::new(169, 254, 0, 0),
        16,
        "169.254.0.0/16, link-local",
    ),
    V4Range(
        Ipv4Addr::new(172, 16, 0, 0),
        12,
        "172.16.0.0/12, a private network",
    ),
    V4Range(
        Ipv4Addr::new(192, 0, 0, 0),
        24,
        "192.0.0.0/24, IETF protocol assignments",
    ),
    V4Range(
        Ipv4Addr::new(192, 168, 0, 0),
        16,
        "192.168.0.0/16, a private network",
    ),
    V4Range(
        Ipv4Addr::new(198, 18, 0, 0),
        15,
        "198.18.0.0/15, benchmarking",
    ),
    V4Range(Ipv4Addr::new(224, 0, 0, 0), 4, "224.0.0.0/4, multicast"),
    V4Range(
        Ipv4Addr::new(240, 0, 0, 0),
        4,
        "240.0.0.0/4, reserved and broadcast",
    ),
];

/// IPv6 special-purpose ranges that occur in local traffic. IPv4-mapped addresses are
/// converted to IPv4 before the check, so `::ffff:0:0/96` is not listed.
const V6_RANGES: &[V6Range] = &[
    V6Range(
        Ipv6Addr::UNSPECIFIED,
        128,
        "::/128, the unspecified address",
    ),
    V6Range(Ipv6Addr::LOCALHOST, 128, "::1/128, loopback"),
    V6Range(
        Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0),
        7,
        "fc00::/7, unique local",
    ),
    V6Range(
        Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0),
        10,
        "fe80::/10, link-local",
    ),
    V6Range(
        Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0),
        8,
        "ff00::/8, multicast",
    ),
];

/// Returns the description of the first non-routable range that the block `network/prefix`
/// overlaps (contains, or lies inside), or `None` when the block is routable.
///
/// A single address is the block with the full prefix length.
pub(crate) fn overlapped_range(network: IpAddr, prefix: u8) -> Option<&'static str> {
    match network {
        IpAddr::V4(v4) => V4_RANGES
            .iter()
            .find(|range| overlaps(bits_v4(v4), prefix, bits_v4(range.0), range.1, 32))
            .map(|range| range.2),
        IpAddr::V6(v6) => V6_RANGES
            .iter()
            .find(|range| overlaps(v6.to_bits(), prefix, range.0.to_bits(), range.1, 128))
            .map(|range| range.2),
    }
}

fn bits_v4(address: Ipv4Addr) -> u128 {
    u128::from(address.to_bits())
}

/// Two blocks overlap when they agree on the bits of the shorter prefix. `width` is the
/// address size in bits, so both values sit in the low `width` bits of a `u128`.
fn overlaps(left: u128, left_prefix: u8, right: u128, right_prefix: u8, width: u32) -> bool {
    let shared = u32::from(left_prefix.min(right_prefix)).min(width);
    if shared == 0 {
        return true;
    }

    let shift = width - shared;
    (left >> shift) == (right >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, prefix: u8) -> Option<&'static str> {
        overlapped_range(text.parse().unwrap(), prefix)
    }

    #[test]
    fn private_address_is_reserved() {
        assert!(check("10.255.255.200", 32).is_some());
    }

    #[test]
    fn public_address_is_routable() {
        assert_eq!(check("185.241.208.232", 32), None);
    }

    #[test]
    fn version_string_address_is_reserved() {
        assert!(check("0.8.2.2", 32).is_some());
    }

    #[test]
    fn documentation_address_is_kept() {
        assert_eq!(check("192.0.2.4", 32), None);
    }

    #[test]
    fn block_containing_private_range_is_reserved() {
        assert!(check("172.0.0.0", 8).is_some());
    }

    #[test]
    fn block_inside_private_range_is_reserved() {
        assert!(check("192.168.10.0", 24).is_some());
    }

    #[test]
    fn neighbour_of_private_range_is_routable() {
        assert_eq!(check("172.32.0.0", 11), None);
    }

    #[test]
    fn default_route_is_reserved() {
        assert!(check("0.0.0.0", 0).is_some());
    }

    #[test]
    fn broadcast_is_reserved() {
        assert!(check("255.255.255.255", 32).is_some());
    }

    #[test]
    fn ipv6_link_local_is_reserved() {
        assert!(check("fe80::1", 128).is_some());
    }

    #[test]
    fn ipv6_global_block_is_routable() {
        assert_eq!(check("2a06:e480::", 29), None);
    }
}
