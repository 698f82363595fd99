//! Tests of the DNS detectors through the public entry points.

use std::net::{IpAddr, Ipv4Addr};

use super::*;

const T0: i64 = 1_700_000_000;
const QTYPE_A: u16 = 1;

fn client(n: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n))
}

fn expected(trail: &str, info: &str) -> Finding {
    Finding {
        trail_type: TrailType::Dns,
        trail: trail.to_owned(),
        info: Cow::Owned(info.to_owned()),
    }
}

/// Returns a configuration with only the detector `name` switched on.
fn only(name: &str) -> DnsConfig {
    let mut config = DnsConfig::default();
    for other in DETECTORS {
        config.set_enabled(other, other == name).unwrap();
    }
    config
}

fn query(dns: &mut DnsHeuristics, now: i64, from: IpAddr, name: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    dns.on_query(now, from, name, QTYPE_A, false, &mut out);
    out
}

fn nxdomain(dns: &mut DnsHeuristics, now: i64, to: IpAddr, name: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    dns.on_response(now, to, name, RCODE_NXDOMAIN, &[], false, &mut out);
    out
}

fn answered(dns: &mut DnsHeuristics, to: IpAddr, name: &str, answer: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let answers = [answer.parse().unwrap()];
    dns.on_response(T0, to, name, 0, &answers, false, &mut out);
    out
}

fn stats(dns: &DnsHeuristics, name: &str) -> TableStats {
    dns.tables().into_iter().find(|t| t.name == name).unwrap()
}

#[test]
fn long_first_label_reported_once() {
    let mut dns = DnsHeuristics::new(&only("long_domain"));
    let name = "abcdefghijklmnopqrstuvwxy.cdn.example.com";
    let out = query(&mut dns, T0, client(1), name);
    assert_eq!(
        out,
        [expected(
            "(abcdefghijklmnopqrstuvwxy.cdn).example.com",
            "long domain (suspicious)"
        )]
    );
    assert!(query(&mut dns, T0 + 10, client(1), name).is_empty());
    assert_eq!(query(&mut dns, T0 + 10, client(2), name).len(), 1);
    assert_eq!(query(&mut dns, T0 + 3600, client(1), name).len(), 1);
}

#[test]
fn long_label_near_misses_silent() {
    let mut dns = DnsHeuristics::new(&only("long_domain"));
    for name in [
        "abcdefghijklmnopqrstuvwx.example.com",          // 24 bytes
        "r4---sn-aigl6nek-hjbe-abcdefghij.example.com",  // contains '-'
        "abcdefghijklmnopqrstuvwxyz0123.cloudfront.net", // hashed CDN name
        "abcdefghijklmnopqrstuvwxyz0123.local",          // mDNS
    ] {
        assert!(query(&mut dns, T0, client(1), name).is_empty(), "{name}");
    }
    let mut out = Vec::new();
    let name = "abcdefghijklmnopqrstuvwxyz.example.com";
    dns.on_query(T0, client(1), name, QTYPE_A, true, &mut out);
    assert!(out.is_empty());
}

#[test]
fn random_label_reported_by_entropy() {
    let mut dns = DnsHeuristics::new(&only("random_label"));
    let out = query(&mut dns, T0, client(1), "www.q8x1z7k2v9m4w.net");
    assert_eq!(
        out,
        [expected(
            "(www).q8x1z7k2v9m4w.net",
            "entropy threshold domain (suspicious)"
        )]
    );
    // Another name under the same base domain is the same target.
    assert!(query(&mut dns, T0, client(1), "q8x1z7k2v9m4w.net").is_empty());
}

#[test]
fn random_label_on_by_default() {
    let mut dns = DnsHeuristics::new(&DnsConfig::default());
    let out = query(&mut dns, T0, client(1), "q8x1z7k2v9m4w.net");
    assert_eq!(
        out,
        [expected(
            "(q8x1z7k2v9m4w).net",
            "entropy threshold domain (suspicious)"
        )]
    );
}

#[test]
fn random_label_reported_by_consonants() {
    let mut dns = DnsHeuristics::new(&only("random_label"));
    let out = query(&mut dns, T0, client(1), "bcdfghjkbcdfg.com");
    assert_eq!(
        out,
        [expected(
            "(bcdfghjkbcdfg).com",
            "consonant threshold domain (suspicious)"
        )]
    );
}

#[test]
fn ordinary_labels_not_random() {
    let mut dns = DnsHeuristics::new(&only("random_label"));
    for name in [
        "stackoverflow.com",
        "www.wikipedia.org",
        "searchguide.level3.com",
        "d3kx9q2m7z1v8b5.cloudfront.net",
        "txtpadding_3230.n1.netalyzr.icsi.berkeley.edu",
        "q8x1z7k2v9m4.net",     // 12 distinct bytes: 3.58 bits, under 3.7
        "office365upgrade.com", // 3.7 bits, but 46% of its letters are vowels
        "www.microsoftonlineservices.com",
        "login.authenticationgateway.net",
    ] {
        assert!(query(&mut dns, T0, client(1), name).is_empty(), "{name}");
    }
}

#[test]
fn nxdomain_flood_from_client_reported() {
    let mut dns = DnsHeuristics::new(&only("nxdomain_client"));
    for index in 0..40 {
        let name = format!("host{index}.example.com");
        assert!(nxdomain(&mut dns, T0 + index, client(1), &name).is_empty());
        // A repeated name is not a new one.
        assert!(nxdomain(&mut dns, T0 + index, client(1), &name).is_empty());
    }
    let out = nxdomain(&mut dns, T0 + 50, client(1), "host40.example.com");
    assert_eq!(
        out,
        [expected(
            "host40.example.com",
            "excessive no such domain (suspicious)"
        )]
    );
    assert!(nxdomain(&mut dns, T0 + 51, client(1), "host41.example.com").is_empty());
}

#[test]
fn nxdomain_near_misses_silent() {
    let mut dns = DnsHeuristics::new(&only("nxdomain_client"));
    let mut out = Vec::new();
    for index in 0..40 {
        out.extend(nxdomain(
            &mut dns,
            T0,
            client(1),
            &format!("a{index}.example.com"),
        ));
        out.extend(nxdomain(
            &mut dns,
            T0,
            client(2),
            &format!("b{index}.example.com"),
        ));
    }
    for index in 0..100 {
        let name = format!("{index}.1.168.192.in-addr.arpa");
        out.extend(nxdomain(&mut dns, T0, client(1), &name));
        let name = format!("4.3.2.{index}.zen.example.org");
        out.extend(nxdomain(&mut dns, T0, client(1), &name));
        let name = format!("c{index}.example.com");
        dns.on_response(T0, client(3), &name, RCODE_NXDOMAIN, &[], true, &mut out);
    }
    assert_eq!(out, []);
    // The window of client 1 ends, so its next names start a new count.
    assert!(nxdomain(&mut dns, T0 + 600, client(1), "a40.example.com").is_empty());
}

#[test]
fn generated_nxdomain_names_reported() {
    let mut dns = DnsHeuristics::new(&only("nxdomain_dga"));
    assert_eq!(
        nxdomain(&mut dns, T0, client(1), "q8x1z7k2v9m4w.com"),
        [expected(
            "(q8x1z7k2v9m4w).com",
            "entropy threshold no such domain (suspicious)"
        )]
    );
    assert_eq!(
        nxdomain(&mut dns, T0, client(1), "bcdfghjklmnb.co.uk"),
        [expected(
            "(bcdfghjklmnb).co.uk",
            "consonant threshold no such domain (suspicious)"
        )]
    );
    assert!(nxdomain(&mut dns, T0 + 1, client(1), "q8x1z7k2v9m4w.com").is_empty());
}

#[test]
fn ordinary_nxdomain_names_not_generated() {
    let mut dns = DnsHeuristics::new(&only("nxdomain_dga"));
    for name in [
        "12498283719301382971974.net", // digits only: 3.2 bits
        "wikipedia.com",
        "www.q8x1z7k2v9m4w.com", // subdomains are not judged
        "q8x1-z7k2v9m4w.com",
        "bcdfghjklmn.com", // 11 consonants with 10 distinct bytes: 3.28 bits
    ] {
        let out = nxdomain(&mut dns, T0, client(1), name);
        if name == "bcdfghjklmn.com" {
            assert_eq!(out.len(), 1, "{name}");
            assert_eq!(
                out[0].info,
                "consonant threshold no such domain (suspicious)"
            );
        } else {
            assert!(out.is_empty(), "{name}");
        }
    }
    let mut out = Vec::new();
    dns.on_response(
        T0,
        client(1),
        "q8x1z7k2v9m4w.com",
        RCODE_NXDOMAIN,
        &[],
        true,
        &mut out,
    );
    assert!(out.is_empty());
}

#[test]
fn subdomain_flood_reported_once() {
    let mut dns = DnsHeuristics::new(&only("exhaustion"));
    let mut out = Vec::new();
    for index in 0..1200u32 {
        let name = format!("r{index}.victim.example.com");
        out.extend(query(
            &mut dns,
            T0 + i64::from(index) / 100,
            client(index % 7),
            &name,
        ));
    }
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].info, "potential dns exhaustion (suspicious)");
    assert!(out[0].trail.starts_with("(r"), "{}", out[0].trail);
    assert!(
        out[0].trail.ends_with(".victim).example.com"),
        "{}",
        out[0].trail
    );
}

#[test]
fn subdomain_near_misses_silent() {
    let mut dns = DnsHeuristics::new(&only("exhaustion"));
    let mut out = Vec::new();
    for index in 0..900u32 {
        out.extend(query(
            &mut dns,
            T0,
            client(1),
            &format!("h{index}.example.com"),
        ));
    }
    for index in 0..3000u32 {
        let names = [
            format!("d{index:012x}.cloudfront.net"),
            format!("e{index}.a.akamaiedge.net"),
            format!("{}.{}.2.1.dnsbl.example.org", index % 256, index / 256),
            format!("{index}.0.10.in-addr.arpa"),
        ];
        for name in names {
            out.extend(query(&mut dns, T0, client(1), &name));
        }
    }
    // 900 more in the next window of example.com do not add to the first 900.
    for index in 900..1800u32 {
        out.extend(query(
            &mut dns,
            T0 + 60,
            client(1),
            &format!("h{index}.example.com"),
        ));
    }
    assert_eq!(out, []);
}

fn tunnel_name(index: u32) -> String {
    format!("{:040x}{index:08}.t.example.net", u128::from(index) * 7919)
}

#[test]
fn tunnel_traffic_reported_once() {
    let mut dns = DnsHeuristics::new(&only("tunneling"));
    for index in 0..100 {
        assert!(query(
            &mut dns,
            T0 + i64::from(index),
            client(1),
            &tunnel_name(index)
        )
        .is_empty());
    }
    let name = tunnel_name(100);
    let out = query(&mut dns, T0 + 100, client(1), &name);
    let sub = name.strip_suffix(".example.net").unwrap();
    assert_eq!(
        out,
        [expected(
            &format!("({sub}).example.net"),
            "potential dns tunneling (suspicious)"
        )]
    );
    assert!(query(&mut dns, T0 + 101, client(1), &tunnel_name(101)).is_empty());
}

#[test]
fn txt_queries_count_as_tunnel() {
    let mut dns = DnsHeuristics::new(&only("tunneling"));
    let mut out = Vec::new();
    for index in 0..101 {
        let name = format!("q{index}.t.example.net");
        dns.on_query(T0, client(1), &name, QTYPE_TXT, false, &mut out);
    }
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].trail, "(q100.t).example.net");
}

#[test]
fn tunnel_near_misses_silent() {
    let mut dns = DnsHeuristics::new(&only("tunneling"));
    let mut out = Vec::new();
    for index in 0..100 {
        out.extend(query(&mut dns, T0, client(1), &tunnel_name(index)));
        out.extend(query(
            &mut dns,
            T0,
            client(2),
            &format!("www{index}.example.net"),
        ));
        // TXT for the domain itself, as SPF checks send, and for DKIM keys.
        dns.on_query(T0, client(2), "example.net", QTYPE_TXT, false, &mut out);
        let dkim = format!("s{index}._domainkey.example.net");
        dns.on_query(T0, client(2), &dkim, QTYPE_TXT, false, &mut out);
    }
    // The same traffic from another client and in the next window counts apart.
    for index in 0..100 {
        out.extend(query(&mut dns, T0, client(3), &tunnel_name(index)));
        out.extend(query(&mut dns, T0 + 300, client(1), &tunnel_name(index)));
    }
    assert_eq!(out, []);
}

#[test]
fn sinkholed_answer_reported() {
    let mut dns = DnsHeuristics::new(&only("sinkhole"));
    let out = answered(&mut dns, client(1), "www.kitro.pl", "199.2.137.20");
    assert_eq!(
        out,
        [expected(
            "(www).kitro.pl",
            "sinkholed by microsoft (malware)"
        )]
    );
    assert!(answered(&mut dns, client(1), "www.kitro.pl", "199.2.137.20").is_empty());
    assert!(answered(&mut dns, client(1), "www.example.com", "93.184.216.34").is_empty());

    let mut out = Vec::new();
    let answers = ["199.2.137.20".parse().unwrap()];
    dns.on_response(T0, client(2), "www.kitro.pl", 0, &answers, true, &mut out);
    dns.on_response(T0, client(2), "www.kitro.pl", 3, &answers, false, &mut out);
    assert_eq!(out, []);
}

#[test]
fn lookup_closure_finds_parking() {
    let mut dns = DnsHeuristics::new(&only("sinkhole"));
    let parked: IpAddr = "192.0.2.80".parse().unwrap();
    let mut lookup = |address: IpAddr| {
        (address == parked).then(|| listed_answer_from_info("parking site (suspicious)"))?
    };
    let mut out = Vec::new();
    let answers = ["192.0.2.1".parse().unwrap(), parked];
    dns.on_response_with(
        T0,
        client(1),
        "shop.example",
        0,
        &answers,
        false,
        &mut lookup,
        &mut out,
    );
    assert_eq!(
        out,
        [expected("(shop).example", "parked site (suspicious)")]
    );
}

#[test]
fn disabled_detectors_stay_silent() {
    let mut config = DnsConfig::default();
    for name in DETECTORS {
        config.set_enabled(name, false).unwrap();
    }
    let mut dns = DnsHeuristics::new(&config);
    let mut out = Vec::new();
    for index in 0..200 {
        out.extend(query(&mut dns, T0, client(1), &tunnel_name(index)));
        out.extend(nxdomain(
            &mut dns,
            T0,
            client(1),
            &format!("q8x1z7k2v9m{index}.com"),
        ));
    }
    out.extend(answered(
        &mut dns,
        client(1),
        "www.kitro.pl",
        "199.2.137.20",
    ));
    assert_eq!(out, []);
}

#[test]
fn tables_bounded_and_evictions_counted() {
    let mut dns = DnsHeuristics::new(&DnsConfig::default());
    let clients = NXDOMAIN_CLIENTS_CAPACITY as u32 + 5;
    for index in 0..clients {
        nxdomain(&mut dns, T0, client(index), "missing.example.com");
    }
    let nxdomain_table = stats(&dns, "dns.nxdomain_by_client");
    assert_eq!(nxdomain_table.len, NXDOMAIN_CLIENTS_CAPACITY);
    assert_eq!(nxdomain_table.capacity, NXDOMAIN_CLIENTS_CAPACITY);
    assert_eq!(nxdomain_table.evictions, 5);

    let domains = EXHAUSTION_DOMAINS_CAPACITY as u32 + 3;
    for index in 0..domains {
        query(&mut dns, T0, client(1), &format!("www.site{index}.com"));
    }
    let subdomain_table = stats(&dns, "dns.subdomains_by_domain");
    assert_eq!(subdomain_table.len, EXHAUSTION_DOMAINS_CAPACITY);
    assert_eq!(subdomain_table.evictions, 3);

    let pairs = TUNNELING_PAIRS_CAPACITY as u32 + 2;
    for index in 0..pairs {
        let mut out = Vec::new();
        let name = format!("q.site{index}.com");
        dns.on_query(T0, client(1), &name, QTYPE_TXT, false, &mut out);
    }
    let tunnel_table = stats(&dns, "dns.tunneling_by_client_domain");
    assert_eq!(tunnel_table.len, TUNNELING_PAIRS_CAPACITY);
    assert_eq!(tunnel_table.evictions, 2);

    let names = REPORTED_CAPACITY as u32 + 4;
    let mut reported = 0;
    for index in 0..names {
        let name = format!("abcdefghijklmnopqrstuvwxyz{index}.example.com");
        let out = query(&mut dns, T0, client(1), &name);
        reported += out.iter().filter(|f| f.info == INFO_LONG_DOMAIN).count();
    }
    assert_eq!(reported, names as usize);
    let reported_table = stats(&dns, "dns.reported");
    assert_eq!(reported_table.len, REPORTED_CAPACITY);
    assert_eq!(reported_table.evictions, 4);
}

/// Feeds every DNS name of the real captures through the detectors, as queries and, for
/// names the capture saw fail, as NXDOMAIN responses.
#[test]
fn shared_captures_raise_few_findings() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/captures");
    let Ok(entries) = std::fs::read_dir(dir) else {
        println!("skipped: {dir} is missing");
        return;
    };
    let mut dns = DnsHeuristics::new(&DnsConfig::default());
    let mut out = Vec::new();
    let mut files: Vec<_> = entries.flatten().map(|entry| entry.path()).collect();
    files.sort();
    for path in files {
        if !path.to_string_lossy().ends_with(".expect.txt") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for line in text.lines() {
            let Some((key, name)) = line.split_once(' ') else {
                continue;
            };
            let name = name.to_ascii_lowercase();
            match key {
                "dns_query" => dns.on_query(T0, client(1), &name, QTYPE_A, false, &mut out),
                "dns_nxdomain" => {
                    dns.on_response(T0, client(1), &name, RCODE_NXDOMAIN, &[], false, &mut out)
                }
                _ => {}
            }
        }
    }
    // The closest call is the hijacked name 3439ur09dhiolh32ljha.net, whose label has 3.65
    // bits per byte, under the 3.7 of `random_label`.
    assert_eq!(out, []);
}
