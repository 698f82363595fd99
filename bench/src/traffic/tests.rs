//! Tests of the traffic mix: frames written through libpcap are read back and decoded with
//! etherparse, an independent parser.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use etherparse::{NetSlice, SlicedPacket, TransportSlice};

use super::*;
use crate::network::Network;
use crate::trails::{Listed, TrailSample, UrlTrail};

const LISTED_DOMAIN: &str = "evil-c2.example.net";
const LISTED_IP_PORT: (Ipv4Addr, u16) = (Ipv4Addr::new(203, 0, 113, 9), 4444);
const LISTED_IP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 77);

fn sample() -> TrailSample {
    TrailSample {
        domains: vec![LISTED_DOMAIN.to_string()],
        ip_ports: vec![LISTED_IP_PORT],
        urls: vec![UrlTrail {
            host: "bad.example.org".to_string(),
            port: Some(8080),
            path: "/gate.php".to_string(),
        }],
        ips: vec![LISTED_IP],
    }
}

/// Generates `count` frames with `hit_ratio` and returns them as read back from the file.
fn generate_frames(count: u64, hit_ratio: f64) -> (Vec<Vec<u8>>, PlantedHits) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mix.pcap");
    let sample = sample();
    let mut rng = Rng::new(99);
    let network = Network::build(&mut rng.fork(1), &Listed::default());
    let mut mix = Mix::new(network, &sample, rng.fork(2), hit_ratio);

    let mut writer = CaptureWriter::create(&path).unwrap();
    mix.write_frames(&mut writer, count);
    writer.finish().unwrap();

    let mut reader = pcap::Capture::from_file(&path).unwrap();
    let mut frames = Vec::new();
    while let Ok(packet) = reader.next_packet() {
        frames.push(packet.data.to_vec());
    }
    (frames, mix.hits())
}

/// Decodes the question name of a DNS message.
fn dns_question(message: &[u8]) -> Option<String> {
    let mut at = 12;
    let mut labels = Vec::new();
    loop {
        let length = usize::from(*message.get(at)?);
        if length == 0 {
            return Some(labels.join("."));
        }
        labels.push(String::from_utf8(message.get(at + 1..at + 1 + length)?.to_vec()).ok()?);
        at += 1 + length;
    }
}

fn http_host(payload: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(payload).ok()?;
    text.lines().find_map(|line| line.strip_prefix("Host: "))
}

#[test]
fn every_frame_decodes() {
    let (frames, _) = generate_frames(5_000, 0.01);
    assert_eq!(frames.len(), 5_000);
    for (index, frame) in frames.iter().enumerate() {
        let packet = SlicedPacket::from_ethernet(frame);
        assert!(packet.is_ok(), "frame {index}: {:?}", packet.err());
    }
}

#[test]
fn kind_shares_are_near_targets() {
    let (frames, _) = generate_frames(20_000, 0.0);
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for frame in &frames {
        let packet = SlicedPacket::from_ethernet(frame).unwrap();
        if !packet.vlan_ids().is_empty() {
            *counts.entry("vlan").or_default() += 1;
        }
        let kind = match (&packet.net, &packet.transport) {
            (Some(NetSlice::Arp(_)), _) => "arp",
            (_, Some(TransportSlice::Icmpv4(_) | TransportSlice::Icmpv6(_))) => "icmp",
            (_, Some(TransportSlice::Udp(udp)))
                if udp.destination_port() == 53 || udp.source_port() == 53 =>
            {
                "dns"
            }
            (_, Some(TransportSlice::Udp(_))) => "udp",
            (_, Some(TransportSlice::Tcp(_))) => "tcp",
            _ => "other",
        };
        *counts.entry(kind).or_default() += 1;
        if let Some(NetSlice::Ipv6(_)) = packet.net {
            *counts.entry("ipv6").or_default() += 1;
        }
    }

    let share = |key: &str| *counts.get(key).unwrap_or(&0) as f64 / frames.len() as f64;
    assert!(
        (0.015..0.025).contains(&share("arp")),
        "arp {}",
        share("arp")
    );
    assert!(
        (0.02..0.04).contains(&share("icmp")),
        "icmp {}",
        share("icmp")
    );
    assert!((0.08..0.12).contains(&share("dns")), "dns {}", share("dns"));
    assert!((0.08..0.12).contains(&share("udp")), "udp {}", share("udp"));
    assert!((0.72..0.78).contains(&share("tcp")), "tcp {}", share("tcp"));
    assert!(
        (0.10..0.20).contains(&share("ipv6")),
        "ipv6 {}",
        share("ipv6")
    );
    assert!(
        (0.05..0.15).contains(&share("vlan")),
        "vlan {}",
        share("vlan")
    );
    assert_eq!(share("other"), 0.0);
}

#[test]
fn no_hits_without_hit_ratio() {
    let (_, hits) = generate_frames(5_000, 0.0);
    assert_eq!(hits.total(), 0);
}

#[test]
fn planted_dns_names_are_listed() {
    let (frames, hits) = generate_frames(3_000, 1.0);
    let mut queries = 0;
    for frame in &frames {
        let packet = SlicedPacket::from_ethernet(frame).unwrap();
        let Some(TransportSlice::Udp(udp)) = packet.transport else {
            continue;
        };
        if udp.destination_port() != 53 {
            continue;
        }
        queries += 1;
        assert_eq!(dns_question(udp.payload()).as_deref(), Some(LISTED_DOMAIN));
    }
    assert_eq!(queries, hits.dns_query);
}

#[test]
fn planted_tls_sni_is_listed() {
    let (frames, hits) = generate_frames(3_000, 1.0);
    let mut hellos = 0;
    for frame in &frames {
        let packet = SlicedPacket::from_ethernet(frame).unwrap();
        let Some(TransportSlice::Tcp(tcp)) = packet.transport else {
            continue;
        };
        if !tcp.payload().starts_with(&[22, 3, 1]) {
            continue;
        }
        hellos += 1;
        let name = crate::tls::find_server_name(tcp.payload());
        assert_eq!(name, Some(LISTED_DOMAIN.as_bytes()));
    }
    assert_eq!(hellos, hits.tls_sni);
}

#[test]
fn planted_http_hosts_are_listed() {
    let (frames, hits) = generate_frames(3_000, 1.0);
    let mut url_requests = 0;
    let mut host_requests = 0;
    for frame in &frames {
        let packet = SlicedPacket::from_ethernet(frame).unwrap();
        let Some(TransportSlice::Tcp(tcp)) = packet.transport else {
            continue;
        };
        let Some(host) = http_host(tcp.payload()) else {
            continue;
        };
        if host == "bad.example.org:8080" {
            url_requests += 1;
            assert!(
                tcp.payload().starts_with(b"GET /gate.php ")
                    || tcp.payload().starts_with(b"POST /gate.php ")
            );
            assert_eq!(tcp.destination_port(), 8080);
        } else {
            host_requests += 1;
            assert_eq!(host.split(':').next(), Some(LISTED_DOMAIN));
        }
    }
    assert_eq!(url_requests, hits.http_url);
    assert_eq!(host_requests, hits.http_host);
}

#[test]
fn planted_syns_reach_listed_addresses() {
    let (frames, hits) = generate_frames(3_000, 1.0);
    let mut to_ip_port = 0;
    let mut to_ip = 0;
    for frame in &frames {
        let packet = SlicedPacket::from_ethernet(frame).unwrap();
        let Some(TransportSlice::Tcp(tcp)) = &packet.transport else {
            continue;
        };
        if !tcp.syn() || tcp.ack() {
            continue;
        }
        let Some(NetSlice::Ipv4(ip)) = &packet.net else {
            panic!("planted SYN is not IPv4")
        };
        let destination = IpAddr::V4(ip.header().destination_addr());
        if destination == IpAddr::V4(LISTED_IP_PORT.0) {
            assert_eq!(tcp.destination_port(), LISTED_IP_PORT.1);
            to_ip_port += 1;
        } else {
            assert_eq!(destination, IpAddr::V4(LISTED_IP));
            to_ip += 1;
        }
    }
    assert_eq!(to_ip_port, hits.syn_ip_port);
    assert_eq!(to_ip, hits.syn_ip);
}

#[test]
fn timestamps_increase_strictly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mix.pcap");
    let sample = sample();
    let mut rng = Rng::new(5);
    let network = Network::build(&mut rng.fork(1), &Listed::default());
    let mut mix = Mix::new(network, &sample, rng.fork(2), 0.0);
    let mut writer = CaptureWriter::create(&path).unwrap();
    mix.write_frames(&mut writer, 500);
    writer.finish().unwrap();

    let mut reader = pcap::Capture::from_file(&path).unwrap();
    let mut previous = 0u64;
    while let Ok(packet) = reader.next_packet() {
        let micros = packet.header.ts.tv_sec as u64 * 1_000_000 + packet.header.ts.tv_usec as u64;
        assert!(micros > previous);
        previous = micros;
    }
}

#[test]
fn shares_add_up_to_thousand() {
    let total: u64 = SHARES.iter().map(|(_, share)| share).sum();
    assert_eq!(total, 1000);
}
