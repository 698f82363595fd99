//! Replays the shared capture files through `decode` and checks the addresses against the
//! `ip ADDR` lines of each `FILE.expect.txt`, which list every address tshark saw.
//!
//! The captures live outside the repository. When the folder is missing, each test prints a
//! message and passes without checking anything.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::PathBuf;

use trailwatch_wire::{decode, LinkType, SkipReason, TcpFlags};

const CAPTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/captures");

/// The owned parts of one decoded packet.
#[derive(Debug)]
struct Packet {
    src: IpAddr,
    dst: IpAddr,
    protocol: u8,
    src_port: u16,
    dst_port: u16,
    tcp_flags: Option<TcpFlags>,
    icmp_type: Option<u8>,
    payload_len: usize,
    truncated: bool,
    fragmented: bool,
    tunnels: Vec<(IpAddr, IpAddr)>,
}

/// What decoding every record of one capture file produced.
#[derive(Debug)]
struct Replay {
    link: LinkType,
    records: usize,
    decoded: Vec<Packet>,
    /// Skipped records, indexed by [`SkipReason::index`].
    skipped: [usize; SkipReason::ALL.len()],
    /// The error that ended reading early, other than the end of the file.
    read_error: Option<pcap::Error>,
}

impl Replay {
    /// Collects every innermost and tunnel-outer address of the decoded packets.
    fn addresses(&self) -> BTreeSet<IpAddr> {
        let mut addresses = BTreeSet::new();
        for packet in &self.decoded {
            addresses.insert(packet.src);
            addresses.insert(packet.dst);
            for &(outer_src, outer_dst) in &packet.tunnels {
                addresses.insert(outer_src);
                addresses.insert(outer_dst);
            }
        }
        addresses
    }

    fn skipped(&self, reason: SkipReason) -> usize {
        self.skipped[reason.index()]
    }

    fn skipped_total(&self) -> usize {
        self.skipped.iter().sum()
    }

    fn tunnelled(&self) -> impl Iterator<Item = &Packet> {
        self.decoded
            .iter()
            .filter(|packet| !packet.tunnels.is_empty())
    }
}

fn captures_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(CAPTURES);
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipped: capture folder {} not found", dir.display());
        None
    }
}

/// Decodes every record of capture `name`, or returns `None` when the captures are missing.
fn replay(name: &str) -> Option<Replay> {
    let path = captures_dir()?.join(name);
    let mut capture = pcap::Capture::from_file(&path)
        .unwrap_or_else(|error| panic!("cannot open {}: {error}", path.display()));
    let dlt = capture.get_datalink().0;
    let link =
        LinkType::from_dlt(dlt).unwrap_or_else(|| panic!("{name}: no decoder for DLT {dlt}"));

    let mut replay = Replay {
        link,
        records: 0,
        decoded: Vec::new(),
        skipped: [0; SkipReason::ALL.len()],
        read_error: None,
    };
    loop {
        let record = match capture.next_packet() {
            Ok(record) => record,
            Err(pcap::Error::NoMorePackets) => break,
            Err(error) => {
                replay.read_error = Some(error);
                break;
            }
        };
        replay.records += 1;
        match decode(link, record.data) {
            Ok(packet) => replay.decoded.push(Packet {
                src: packet.src,
                dst: packet.dst,
                protocol: packet.protocol,
                src_port: packet.src_port,
                dst_port: packet.dst_port,
                tcp_flags: packet.tcp.map(|tcp| tcp.flags),
                icmp_type: packet.icmp.map(|icmp| icmp.icmp_type),
                payload_len: packet.payload.len(),
                truncated: packet.truncated,
                fragmented: packet.fragmented,
                tunnels: packet.tunnels().to_vec(),
            }),
            Err(reason) => replay.skipped[reason.index()] += 1,
        }
    }
    Some(replay)
}

/// Reads the `ip ADDR` lines of `name`'s expect file.
fn expected_addresses(name: &str) -> BTreeSet<IpAddr> {
    let path = PathBuf::from(CAPTURES).join(format!("{name}.expect.txt"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    text.lines()
        .filter_map(|line| line.strip_prefix("ip "))
        .map(|address| address.trim().parse().expect("expect file address"))
        .collect()
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("test address")
}

/// Asserts that every decoded address is listed in the expect file.
fn assert_only_expected_addresses(name: &str, replay: &Replay) {
    let expected = expected_addresses(name);
    let unexpected: Vec<_> = replay.addresses().difference(&expected).copied().collect();
    assert!(
        unexpected.is_empty(),
        "{name}: decoded addresses not in the expect file: {unexpected:?}"
    );
}

/// Asserts that every address the expect file lists was decoded.
fn assert_all_expected_addresses(name: &str, replay: &Replay) {
    let expected = expected_addresses(name);
    let missing: Vec<_> = expected.difference(&replay.addresses()).copied().collect();
    assert!(
        missing.is_empty(),
        "{name}: expected addresses not decoded: {missing:?}"
    );
}

/// Replays `name` and checks the addresses in both directions.
fn replay_with_addresses(name: &str) -> Option<Replay> {
    let replay = replay(name)?;
    assert!(
        replay.read_error.is_none(),
        "{name}: {:?}",
        replay.read_error
    );
    assert_only_expected_addresses(name, &replay);
    assert_all_expected_addresses(name, &replay);
    Some(replay)
}

#[test]
fn every_capture_matches_expect_file() {
    let Some(dir) = captures_dir() else { return };
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("capture folder listing")
        .map(|entry| {
            entry
                .expect("capture folder entry")
                .file_name()
                .to_string_lossy()
                .into()
        })
        .filter(|name: &String| name.ends_with(".pcap") || name.ends_with(".pcapng"))
        .collect();
    names.sort();
    assert!(names.len() >= 40, "only {} captures found", names.len());

    for name in names {
        let path = dir.join(&name);
        let capture = pcap::Capture::from_file(&path).expect("capture opens");
        if LinkType::from_dlt(capture.get_datalink().0).is_none() {
            continue;
        }
        let replay = replay(&name).expect("captures folder exists");
        assert_only_expected_addresses(&name, &replay);
    }
}

#[test]
fn qinq_http_decodes_fully() {
    let Some(replay) = replay_with_addresses("zeek-http-qinq-0.pcap") else {
        return;
    };
    assert_eq!(replay.decoded.len(), 14);
    assert!(replay.decoded.iter().any(|packet| packet.dst_port == 80));
}

#[test]
fn three_vlan_tags_decode() {
    let Some(replay) = replay_with_addresses("zeek-vlan-qinqinq.pcap") else {
        return;
    };
    assert_eq!(replay.skipped_total(), 0);
    assert!(replay
        .decoded
        .iter()
        .any(|packet| packet.dst_port == 80 && packet.payload_len > 0));
}

#[test]
fn vlan_with_pcp_dei_decodes() {
    let Some(replay) = replay_with_addresses("zeek-vlan-pcp-dei.pcapng") else {
        return;
    };
    assert_eq!(replay.skipped_total(), 0);
}

#[test]
fn mpls_in_vlan_decodes() {
    let Some(replay) = replay_with_addresses("zeek-mpls-in-vlan.pcap") else {
        return;
    };
    assert_eq!(replay.decoded.len(), 3);
    assert!(replay.decoded.iter().all(|packet| packet.protocol == 6));
}

#[test]
fn mixed_vlan_mpls_decodes() {
    let Some(replay) = replay_with_addresses("zeek-mixed-vlan-mpls.pcap") else {
        return;
    };
    assert_eq!(replay.skipped_total(), 0);
    assert!(replay.addresses().contains(&ip("10.34.0.1")));
}

#[test]
fn pppoe_session_decodes_ipv6() {
    let Some(replay) = replay_with_addresses("zeek-pppoe.pcap") else {
        return;
    };
    let skipped = replay.skipped_total();
    let echo_requests = replay
        .decoded
        .iter()
        .filter(|packet| packet.icmp_type == Some(128));
    assert_eq!(
        replay.skipped(SkipReason::NotIp),
        skipped,
        "{:?}",
        replay.skipped
    );
    assert!(echo_requests.count() > 0);
    assert!(replay.addresses().contains(&ip("fc00::1")));
}

#[test]
fn pppoe_over_qinq_decodes() {
    let Some(replay) = replay_with_addresses("zeek-pppoe-over-qinq.pcap") else {
        return;
    };
    assert_eq!(replay.decoded.len(), 86);
    assert!(replay.decoded.iter().any(|packet| packet.dst_port == 443));
}

#[test]
fn linux_sll_handshake_flags() {
    let Some(replay) = replay_with_addresses("tcpdump-tcp-handshake-nano.pcap") else {
        return;
    };
    assert_eq!(replay.link, LinkType::LinuxSll);
    let flags: Vec<_> = replay
        .decoded
        .iter()
        .map(|packet| packet.tcp_flags)
        .collect();
    let expected = [
        Some(TcpFlags::SYN),
        Some(TcpFlags::SYN | TcpFlags::ACK),
        Some(TcpFlags::ACK),
    ];
    assert_eq!(flags, expected);
}

#[test]
fn linux_sll2_decodes_both_versions() {
    let Some(replay) = replay_with_addresses("zeek-linux_dlt_sll2.pcap") else {
        return;
    };
    assert_eq!(replay.link, LinkType::LinuxSll2);
    assert_eq!(replay.decoded.len(), 4);
    // ARP and reverse ARP.
    assert_eq!(replay.skipped(SkipReason::NotIp), 2);
}

#[test]
fn nflog_http_decodes() {
    let Some(replay) = replay_with_addresses("zeek-nflog-http.pcap") else {
        return;
    };
    assert_eq!(replay.link, LinkType::Nflog);
    assert_eq!(replay.decoded.len(), 13);
    assert!(replay
        .decoded
        .iter()
        .any(|packet| packet.dst_port == 80 && packet.payload_len > 0));
}

#[test]
fn raw_link_types_decode_dns() {
    let files = [
        ("tcpdump-LINKTYPE_RAW_ipv4.pcap", LinkType::Raw),
        ("tcpdump-LINKTYPE_RAW_ipv6.pcap", LinkType::Raw),
        ("tcpdump-LINKTYPE_IPV4.pcap", LinkType::Ipv4),
        ("tcpdump-LINKTYPE_IPV6.pcap", LinkType::Ipv6),
    ];
    for (name, link) in files {
        let Some(replay) = replay_with_addresses(name) else {
            return;
        };
        assert_eq!(replay.link, link, "{name}");
        assert_eq!(replay.decoded.len(), 1, "{name}");
        assert_eq!(replay.decoded[0].dst_port, 53, "{name}");
    }
}

#[test]
fn ipv4_link_with_ipv6_packet() {
    let name = "tcpdump-LINKTYPE_IPV4_invalid.pcap";
    let Some(replay) = replay_with_addresses(name) else {
        return;
    };
    assert_eq!(replay.link, LinkType::Ipv4);
    assert_eq!(replay.decoded[0].dst, ip("2620:fe::9"));
    assert_eq!(replay.decoded[0].dst_port, 53);
}

#[test]
fn bsd_null_loopback_decodes() {
    for name in [
        "tcpdump-dns-badcookie.pcap",
        "arkime-http-empty-useragent.pcap",
    ] {
        let Some(replay) = replay_with_addresses(name) else {
            return;
        };
        assert_eq!(replay.link, LinkType::Null, "{name}");
        assert_eq!(replay.skipped_total(), 0, "{name}");
    }
}

#[test]
fn unsupported_link_type_rejected() {
    let Some(dir) = captures_dir() else { return };
    let capture = pcap::Capture::from_file(dir.join("tcpdump-unsupported-link-type-160.pcap"))
        .expect("capture opens");
    assert_eq!(LinkType::from_dlt(capture.get_datalink().0), None);
}

#[test]
fn various_gre_reaches_icmp() {
    let Some(replay) = replay_with_addresses("tcpdump-various_gre.pcap") else {
        return;
    };
    let tunnel = (ip("10.172.64.6"), ip("10.172.64.7"));
    let echo = replay
        .tunnelled()
        .find(|packet| packet.icmp_type == Some(8))
        .expect("an ICMP echo request inside GRE");
    assert_eq!((echo.src, echo.dst), (ip("172.17.1.54"), ip("172.17.1.55")));
    assert_eq!(echo.tunnels, [tunnel]);
    // Spanning tree, CDP, DTP and Ethernet loopback frames.
    assert_eq!(replay.skipped(SkipReason::NotIp), replay.skipped_total());
}

#[test]
fn pptp_control_traffic_stays_gre() {
    let Some(replay) = replay_with_addresses("tcpdump-pptp.pcap") else {
        return;
    };
    let gre: Vec<_> = replay
        .decoded
        .iter()
        .filter(|packet| packet.protocol == 47)
        .collect();
    assert!(!gre.is_empty());
    // The GRE packets carry PPP link control, which is not IP, so no tunnel is entered.
    assert!(gre.iter().all(|packet| packet.tunnels.is_empty()));
    assert!(replay.decoded.iter().any(|packet| packet.dst_port == 1723));
}

#[test]
fn erspan_ii_mirrors_icmp() {
    let Some(replay) = replay_with_addresses("zeek-erspanII.pcap") else {
        return;
    };
    assert_eq!(replay.tunnelled().count(), 4);
    let first = &replay.decoded[0];
    assert_eq!((first.src, first.dst), (ip("23.0.0.2"), ip("23.0.0.3")));
    assert_eq!(first.icmp_type, Some(8));
    assert_eq!(first.tunnels, [(ip("2.2.2.2"), ip("1.1.1.1"))]);
}

#[test]
fn geneve_reaches_inner_packets() {
    let Some(replay) = replay_with_addresses("tcpdump-geneve.pcap") else {
        return;
    };
    assert_eq!(replay.tunnelled().count(), replay.records);
    let ssh = replay
        .decoded
        .iter()
        .filter(|packet| packet.dst_port == 22 || packet.src_port == 22);
    assert!(ssh.count() > 0);
}

#[test]
fn vxlan_http_decodes() {
    let name = "zeek-tunnels_vxlan-encapsulated-http.pcap";
    let Some(replay) = replay_with_addresses(name) else {
        return;
    };
    assert_eq!(replay.tunnelled().count(), 12);
    assert!(replay
        .decoded
        .iter()
        .any(|packet| packet.dst_port == 80 && packet.payload_len > 0));
}

#[test]
fn geneve_vxlan_truncated_dns() {
    let name = "zeek-tunnels_geneve-vxlan-dns-truncated.pcap";
    let Some(replay) = replay_with_addresses(name) else {
        return;
    };
    for packet in &replay.decoded {
        assert_eq!(packet.tunnels.len(), 2, "{packet:?}");
        assert!(packet.truncated, "{packet:?}");
        assert!(packet.src_port == 53 || packet.dst_port == 53, "{packet:?}");
    }
    assert_eq!(replay.decoded.len(), 2);
}

#[test]
fn teredo_reaches_ipv6() {
    let Some(replay) = replay_with_addresses("zeek-tunnels_Teredo.pcap") else {
        return;
    };
    let inner_ipv6 = replay
        .tunnelled()
        .filter(|packet| packet.dst.is_ipv6())
        .count();
    assert!(inner_ipv6 > 0);
    assert!(replay.addresses().contains(&ip("2001:4860:0:2001::68")));
}

#[test]
fn six_in_four_decodes() {
    let Some(replay) = replay_with_addresses("zeek-tunnels_6in4.pcap") else {
        return;
    };
    let packet = &replay.decoded[0];
    assert_eq!(
        (packet.src, packet.dst),
        (ip("dead::beef"), ip("cafe::babe"))
    );
    assert_eq!(packet.tunnels, [(ip("1.2.3.4"), ip("5.6.7.8"))]);
}

#[test]
fn ipv6_routing_header_reaches_icmpv6() {
    let Some(replay) = replay_with_addresses("tcpdump-ipv6-routing-header.pcap") else {
        return;
    };
    let echo_requests = replay
        .decoded
        .iter()
        .filter(|packet| packet.icmp_type == Some(128));
    assert_eq!(echo_requests.count(), 2);
}

#[test]
fn ipv6_segment_routing_decodes() {
    let Some(replay) = replay_with_addresses("tcpdump-ipv6-srh-ext-header.pcap") else {
        return;
    };
    let packet = &replay.decoded[0];
    assert_eq!(packet.dst, ip("b2::2"));
    assert_eq!(packet.icmp_type, Some(128));
    assert_eq!(packet.tunnels, [(ip("a:b:c:12::1"), ip("a:b:c:2::f1:0"))]);
}

#[test]
fn ipv6_hop_by_hop_routing_decodes() {
    let Some(replay) = replay_with_addresses("zeek-ipv6-hbh-routing0.pcap") else {
        return;
    };
    assert_eq!(replay.decoded.len(), 1);
    assert!(!replay.decoded[0].truncated);
}

#[test]
fn ipv6_atomic_fragments_decode() {
    let Some(replay) = replay_with_addresses("zeek-ipv6-http-atomic-frag.pcap") else {
        return;
    };
    assert_eq!(replay.skipped_total(), 0);
    assert!(replay.decoded.iter().all(|packet| !packet.fragmented));
}

#[test]
fn ipv6_fragmented_dns_first_only() {
    let Some(replay) = replay_with_addresses("zeek-ipv6-fragmented-dns.pcap") else {
        return;
    };
    let first_fragments: Vec<_> = replay
        .decoded
        .iter()
        .filter(|packet| packet.fragmented)
        .collect();
    // Two responses were fragmented, but the capture contains the first fragment of only
    // one of them.
    assert_eq!(replay.skipped(SkipReason::NonFirstFragment), 3);
    assert_eq!(first_fragments.len(), 1);
    assert_eq!(first_fragments[0].src_port, 53);
    assert!(!first_fragments[0].truncated);
}

#[test]
fn ipv4_fragments_first_only() {
    let Some(replay) = replay_with_addresses("zeek-ipv4_fragmented-4.pcap") else {
        return;
    };
    let first = replay
        .decoded
        .iter()
        .find(|packet| packet.fragmented)
        .expect("a first fragment");
    assert_eq!(replay.skipped(SkipReason::NonFirstFragment), 3);
    assert_eq!(first.dst_port, 80);
}

#[test]
fn snaplen_cut_ethernet_header() {
    let Some(replay) = replay("zeek-trunc_trunc-hdr.pcap") else {
        return;
    };
    assert_eq!(replay.skipped(SkipReason::TruncatedLink), 1);
}

#[test]
fn snaplen_cut_ipv4_header() {
    let Some(replay) = replay("zeek-trunc_ip4-trunc.pcap") else {
        return;
    };
    assert_eq!(replay.skipped(SkipReason::TruncatedIp), 1);
}

#[test]
fn snaplen_cut_ipv6_extension() {
    let Some(replay) = replay_with_addresses("zeek-trunc_ip6-ext-trunc.pcap") else {
        return;
    };
    let packet = &replay.decoded[0];
    assert!(packet.truncated);
    assert_eq!(packet.protocol, 0, "stops at the hop-by-hop header");
    assert_eq!((packet.src_port, packet.dst_port), (0, 0));
}

#[test]
fn ipv4_total_length_clamped() {
    let name = "tcpdump-ipv4_invalid_total_length.pcap";
    let Some(replay) = replay_with_addresses(name) else {
        return;
    };
    let packet = &replay.decoded[0];
    assert!(packet.truncated);
    assert_eq!(packet.dst_port, 53);
    assert!(packet.payload_len > 12, "the DNS header is still there");
}

#[test]
fn udp_length_beyond_capture() {
    let Some(replay) = replay_with_addresses("zeek-udp-contents-truncated-oob.pcap") else {
        return;
    };
    let packet = &replay.decoded[0];
    assert!(packet.truncated);
    assert_eq!((packet.src_port, packet.dst_port), (40000, 55555));
    assert_eq!(packet.payload_len, 0);
}

#[test]
fn cut_file_keeps_earlier_records() {
    let Some(replay) = replay("derived-truncated-midrecord.pcap") else {
        return;
    };
    assert_eq!(replay.decoded.len(), 5);
    assert!(replay.read_error.is_some());
}

/// libpcap 1.10.3 rejects this pcapng when it reaches the second interface description
/// block, whose snapshot length differs from the first one, and it reports one link type per
/// file, not per packet. Once a libpcap reads such files, the packets (Ethernet, interface
/// 48) must decode with the expected addresses.
#[test]
fn multi_link_pcapng_reads_or_fails() {
    let name = "zeek-ldap_modify-request.pcapng";
    let Some(replay) = replay(name) else { return };
    if let Some(error) = &replay.read_error {
        println!(
            "{name}: libpcap stopped after {} records: {error}",
            replay.records
        );
        assert_eq!(replay.skipped_total(), 0);
        return;
    }
    assert_only_expected_addresses(name, &replay);
    assert_all_expected_addresses(name, &replay);
}

#[test]
fn multi_interface_pcapng_decodes() {
    let Some(replay) = replay_with_addresses("zeek-pcapng-multi-interface.pcapng") else {
        return;
    };
    assert_eq!(replay.decoded.len(), 6);
}
