//! Link-layer header types that [`decode`](crate::decode) can read.

/// The link-layer header type of a capture, as libpcap's `pcap_datalink()` reports it.
///
/// Every captured frame starts with the header this type names. Link types without a
/// variant here have no decoder, so [`LinkType::from_dlt`] returns `None` for them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// Ethernet II or IEEE 802.3 (`DLT_EN10MB`, 1).
    Ethernet,
    /// BSD loopback (`DLT_NULL`, 0): a 4-byte address family in the byte order of the host
    /// that wrote the capture.
    Null,
    /// OpenBSD loopback (`DLT_LOOP`, 108): a 4-byte address family in network byte order.
    Loop,
    /// Raw IP without a link header (`DLT_RAW`, 12 or 14 on OpenBSD, and `LINKTYPE_RAW`, 101).
    Raw,
    /// Raw IPv4 (`LINKTYPE_IPV4`, 228).
    Ipv4,
    /// Raw IPv6 (`LINKTYPE_IPV6`, 229).
    Ipv6,
    /// Linux cooked capture, version 1 (`DLT_LINUX_SLL`, 113).
    LinuxSll,
    /// Linux cooked capture, version 2 (`DLT_LINUX_SLL2`, 276).
    LinuxSll2,
    /// Linux netfilter log messages (`DLT_NFLOG`, 239).
    Nflog,
    /// PPP, with or without the HDLC address and control bytes (`DLT_PPP`, 9).
    Ppp,
    /// PPPoE session header without the Ethernet header (`DLT_PPP_ETHER`, 51).
    PppEther,
}

impl LinkType {
    /// Every link type, in declaration order.
    pub const ALL: [LinkType; 11] = [
        LinkType::Ethernet,
        LinkType::Null,
        LinkType::Loop,
        LinkType::Raw,
        LinkType::Ipv4,
        LinkType::Ipv6,
        LinkType::LinuxSll,
        LinkType::LinuxSll2,
        LinkType::Nflog,
        LinkType::Ppp,
        LinkType::PppEther,
    ];

    /// Maps a DLT value from `pcap_datalink()` to a link type, or `None` when there is no
    /// decoder for it.
    ///
    /// Raw IP has three numbers: 12 is `DLT_RAW` on most systems, 14 is `DLT_RAW` on OpenBSD,
    /// and 101 is the `LINKTYPE_RAW` value of the file header, which libpcap normally
    /// translates but which a caller may pass through unchanged.
    ///
    /// NOTE: on OpenBSD, 12 is `DLT_LOOP`. This maps 12 to raw IP as every other system does,
    /// and raw-IP decoding then reads the loopback header as an IP header and rejects it.
    pub fn from_dlt(dlt: i32) -> Option<LinkType> {
        let link = match dlt {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            9 => LinkType::Ppp,
            12 | 14 | 101 => LinkType::Raw,
            51 => LinkType::PppEther,
            108 => LinkType::Loop,
            113 => LinkType::LinuxSll,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            239 => LinkType::Nflog,
            276 => LinkType::LinuxSll2,
            _ => return None,
        };
        Some(link)
    }

    /// Returns the DLT value that libpcap on Linux reports for this link type.
    pub fn dlt(self) -> i32 {
        match self {
            LinkType::Null => 0,
            LinkType::Ethernet => 1,
            LinkType::Ppp => 9,
            LinkType::Raw => 12,
            LinkType::PppEther => 51,
            LinkType::Loop => 108,
            LinkType::LinuxSll => 113,
            LinkType::Ipv4 => 228,
            LinkType::Ipv6 => 229,
            LinkType::Nflog => 239,
            LinkType::LinuxSll2 => 276,
        }
    }

    /// Returns the name that `pcap_datalink_val_to_name()` gives this link type, such as
    /// `EN10MB` for Ethernet.
    pub fn name(self) -> &'static str {
        match self {
            LinkType::Ethernet => "EN10MB",
            LinkType::Null => "NULL",
            LinkType::Loop => "LOOP",
            LinkType::Raw => "RAW",
            LinkType::Ipv4 => "IPV4",
            LinkType::Ipv6 => "IPV6",
            LinkType::LinuxSll => "LINUX_SLL",
            LinkType::LinuxSll2 => "LINUX_SLL2",
            LinkType::Nflog => "NFLOG",
            LinkType::Ppp => "PPP",
            LinkType::PppEther => "PPP_ETHER",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_dlt_maps_supported_numbers() {
        let cases = [
            (0, LinkType::Null),
            (1, LinkType::Ethernet),
            (9, LinkType::Ppp),
            (12, LinkType::Raw),
            (14, LinkType::Raw),
            (51, LinkType::PppEther),
            (101, LinkType::Raw),
            (108, LinkType::Loop),
            (113, LinkType::LinuxSll),
            (228, LinkType::Ipv4),
            (229, LinkType::Ipv6),
            (239, LinkType::Nflog),
            (276, LinkType::LinuxSll2),
        ];
        for (dlt, expected) in cases {
            assert_eq!(LinkType::from_dlt(dlt), Some(expected), "DLT {dlt}");
        }
    }

    #[test]
    fn from_dlt_rejects_unknown_numbers() {
        for dlt in [-1, 2, 105, 127, 160, 274, 100_000] {
            assert_eq!(LinkType::from_dlt(dlt), None, "DLT {dlt}");
        }
    }

    #[test]
    fn dlt_round_trips_every_type() {
        for link in LinkType::ALL {
            assert_eq!(LinkType::from_dlt(link.dlt()), Some(link), "{link:?}");
        }
    }

    #[test]
    fn names_are_unique() {
        for (i, a) in LinkType::ALL.iter().enumerate() {
            for b in &LinkType::ALL[i + 1..] {
                assert_ne!(a.name(), b.name());
            }
        }
    }
}
