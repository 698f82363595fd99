//! Property tests: `decode` must not panic on any input, and what it returns must point into
//! the frame it was given.
//!
//! Inputs are random bytes for every link type, and random mutations of seed frames: frames
//! built here for each link type and tunnel, plus real frames from the shared captures when
//! that folder exists. `PROPTEST_CASES` sets the number of cases per property.

use std::sync::OnceLock;

use proptest::prelude::*;
use trailwatch_wire::{decode, Decoded, LinkType, MAX_TUNNEL_DEPTH};

const CAPTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/captures");
/// Cases per property when `PROPTEST_CASES` is not set, which take about a second in a
/// debug build.
const DEFAULT_CASES: u32 = 4096;
/// Records taken from each capture file, to keep the seed set small.
const RECORDS_PER_CAPTURE: usize = 16;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// Checks what must hold for every decoded packet of `frame`.
fn check_decoded(frame: &[u8], packet: &Decoded<'_>) -> Result<(), TestCaseError> {
    let frame_range = frame.as_ptr_range();
    let payload_range = packet.payload.as_ptr_range();
    prop_assert!(
        payload_range.start >= frame_range.start,
        "payload starts before the frame"
    );
    prop_assert!(
        payload_range.end <= frame_range.end,
        "payload ends after the frame"
    );
    prop_assert!(packet.tunnels().len() <= MAX_TUNNEL_DEPTH);
    if packet.protocol == 6 && packet.tcp.is_none() {
        prop_assert_eq!((packet.src_port, packet.dst_port), (0, 0));
    }
    Ok(())
}

fn check_frame(link: LinkType, frame: &[u8]) -> Result<(), TestCaseError> {
    match decode(link, frame) {
        Ok(packet) => check_decoded(frame, &packet),
        Err(reason) => {
            prop_assert!(reason.index() < trailwatch_wire::SkipReason::ALL.len());
            Ok(())
        }
    }
}

fn ipv4(protocol: u8, payload: &[u8]) -> Vec<u8> {
    let total = u16::try_from(20 + payload.len()).unwrap_or(u16::MAX);
    let mut packet = vec![0x45, 0x00];
    packet.extend_from_slice(&total.to_be_bytes());
    packet.extend_from_slice(&[
        0, 1, 0, 0, 64, protocol, 0, 0, 192, 0, 2, 1, 198, 51, 100, 2,
    ]);
    packet.extend_from_slice(payload);
    packet
}

fn ipv6(next_header: u8, payload: &[u8]) -> Vec<u8> {
    let length = u16::try_from(payload.len()).unwrap_or(u16::MAX);
    let mut packet = vec![0x60, 0, 0, 0];
    packet.extend_from_slice(&length.to_be_bytes());
    packet.extend_from_slice(&[next_header, 64]);
    packet.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    packet.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    packet.extend_from_slice(payload);
    packet
}

fn udp(dst_port: u16, payload: &[u8]) -> Vec<u8> {
    let length = u16::try_from(8 + payload.len()).unwrap_or(u16::MAX);
    let mut datagram = vec![0xc3, 0x50];
    datagram.extend_from_slice(&dst_port.to_be_bytes());
    datagram.extend_from_slice(&length.to_be_bytes());
    datagram.extend_from_slice(&[0, 0]);
    datagram.extend_from_slice(payload);
    datagram
}

fn tcp(payload: &[u8]) -> Vec<u8> {
    let mut segment = vec![
        0x9c, 0x40, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff,
    ];
    segment.extend_from_slice(&[0, 0, 0, 0]);
    segment.extend_from_slice(payload);
    segment
}

fn ethernet(ether_type: u16, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
    frame.extend_from_slice(&ether_type.to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// Frames built for every link type and every tunnel, so that mutations reach deep layers
/// even without the shared captures.
fn built_seeds() -> Vec<(LinkType, Vec<u8>)> {
    let dns = ipv4(
        17,
        &udp(53, b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"),
    );
    let http = ipv4(6, &tcp(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"));
    let dns6 = ipv6(17, &udp(53, b"\x12\x34\x01\x00"));
    let extensions = [
        &[44u8, 0, 0, 0, 0, 0, 0, 0][..],
        &[17, 0, 0, 1, 0, 0, 0, 1],
        &udp(53, b"x"),
    ];
    let fragmented6 = ipv6(0, &extensions.concat());
    let vlan = [&[0x00, 0x64, 0x81, 0x00, 0x00, 0xc8, 0x08, 0x00][..], &dns].concat();
    let mpls = [&[0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40][..], &http].concat();
    let pppoe = [&[0x11, 0x00, 0x00, 0x01, 0x00, 0x40, 0x00, 0x21][..], &dns].concat();
    let gre = [
        &[0xb0, 0x00, 0x08, 0x00, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2][..],
        &dns,
    ]
    .concat();
    let erspan = [
        &[
            0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 1, 0x10, 0x17, 0, 0x64, 0, 0, 0, 0,
        ][..],
        &ethernet(0x0800, &http),
    ]
    .concat();
    let pptp = [
        &[
            0x30, 0x81, 0x88, 0x0b, 0x00, 0x40, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0,
        ][..],
        &[0x21],
        &dns,
    ]
    .concat();
    let vxlan = [&[0x08, 0, 0, 0, 0, 0, 1, 0][..], &ethernet(0x0800, &http)].concat();
    let geneve = [
        &[0x01, 0x00, 0x65, 0x58, 0, 0, 1, 0, 1, 2, 3, 4][..],
        &ethernet(0x86dd, &dns6),
    ]
    .concat();
    let nflog_length = u16::try_from(4 + dns.len()).unwrap_or(u16::MAX);
    let nflog = [
        &[2, 0, 0, 1][..],
        &nflog_length.to_ne_bytes(),
        &9u16.to_ne_bytes(),
        &dns,
    ]
    .concat();

    vec![
        (LinkType::Ethernet, ethernet(0x0800, &http)),
        (LinkType::Ethernet, ethernet(0x86dd, &fragmented6)),
        (LinkType::Ethernet, ethernet(0x8100, &vlan)),
        (LinkType::Ethernet, ethernet(0x8847, &mpls)),
        (LinkType::Ethernet, ethernet(0x8864, &pppoe)),
        (LinkType::Ethernet, ethernet(0x0800, &ipv4(4, &dns))),
        (LinkType::Ethernet, ethernet(0x0800, &ipv4(41, &dns6))),
        (LinkType::Ethernet, ethernet(0x0800, &ipv4(47, &gre))),
        (LinkType::Ethernet, ethernet(0x0800, &ipv4(47, &erspan))),
        (LinkType::Ethernet, ethernet(0x0800, &ipv4(47, &pptp))),
        (
            LinkType::Ethernet,
            ethernet(0x0800, &ipv4(17, &udp(4789, &vxlan))),
        ),
        (
            LinkType::Ethernet,
            ethernet(0x0800, &ipv4(17, &udp(6081, &geneve))),
        ),
        (
            LinkType::Ethernet,
            ethernet(0x0800, &ipv4(17, &udp(3544, &dns6))),
        ),
        (LinkType::Null, [&[2, 0, 0, 0][..], &dns].concat()),
        (LinkType::Loop, [&[0, 0, 0, 24][..], &dns6].concat()),
        (LinkType::Raw, dns6.clone()),
        (LinkType::Ipv4, dns.clone()),
        (LinkType::Ipv6, dns6.clone()),
        (
            LinkType::LinuxSll,
            [&[0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 8, 0][..], &http].concat(),
        ),
        (
            LinkType::LinuxSll2,
            [&[8, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6][..], &[0; 8], &dns].concat(),
        ),
        (LinkType::Nflog, nflog),
        (
            LinkType::Ppp,
            [&[0xff, 0x03, 0x00, 0x21][..], &dns].concat(),
        ),
        (LinkType::PppEther, pppoe),
    ]
}

/// Reads the first records of every shared capture with a supported link type.
fn capture_seeds() -> Vec<(LinkType, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(CAPTURES) else {
        println!("capture folder {CAPTURES} not found: fuzzing built frames only");
        return Vec::new();
    };
    let mut seeds = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let is_capture = path
            .extension()
            .is_some_and(|ext| ext == "pcap" || ext == "pcapng");
        let Some(mut capture) = is_capture
            .then(|| pcap::Capture::from_file(&path).ok())
            .flatten()
        else {
            continue;
        };
        let Some(link) = LinkType::from_dlt(capture.get_datalink().0) else {
            continue;
        };
        for _ in 0..RECORDS_PER_CAPTURE {
            let Ok(record) = capture.next_packet() else {
                break;
            };
            seeds.push((link, record.data.to_vec()));
        }
    }
    seeds
}

fn seeds() -> &'static [(LinkType, Vec<u8>)] {
    static SEEDS: OnceLock<Vec<(LinkType, Vec<u8>)>> = OnceLock::new();
    SEEDS.get_or_init(|| [built_seeds(), capture_seeds()].concat())
}

fn any_link() -> impl Strategy<Value = LinkType> {
    proptest::sample::select(LinkType::ALL.to_vec())
}

/// Byte changes to apply to a seed frame: (position, new byte), positions taken modulo the
/// frame length.
fn mutations() -> impl Strategy<Value = Vec<(usize, u8)>> {
    proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8)
}

#[test]
fn built_seeds_all_decode() {
    for (link, frame) in built_seeds() {
        let result = decode(link, &frame);
        assert!(result.is_ok(), "{link:?} seed {frame:02x?}: {result:?}");
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_bytes_never_panic(link in any_link(), frame in proptest::collection::vec(any::<u8>(), 0..512)) {
        check_frame(link, &frame)?;
    }

    #[test]
    fn mutated_seeds_never_panic(
        seed in any::<proptest::sample::Index>(),
        changes in mutations(),
        cut in any::<proptest::sample::Index>(),
        relink in proptest::option::weighted(0.1, any_link()),
    ) {
        let (seed_link, seed_frame) = seed.get(seeds());
        let mut frame = seed_frame.clone();
        for (position, byte) in changes {
            if !frame.is_empty() {
                let position = position % frame.len();
                frame[position] = byte;
            }
        }
        // Cut at most 64 trailing bytes, so that most mutations still reach inner layers.
        let cut_len = cut.index(frame.len().min(64) + 1);
        frame.truncate(frame.len() - cut_len);

        check_frame(relink.unwrap_or(*seed_link), &frame)?;
    }

    #[test]
    fn every_prefix_of_seed_is_safe(seed in any::<proptest::sample::Index>(), cut in any::<proptest::sample::Index>()) {
        let (link, frame) = seed.get(seeds());
        let prefix = &frame[..cut.index(frame.len() + 1)];
        check_frame(*link, prefix)?;
    }
}
