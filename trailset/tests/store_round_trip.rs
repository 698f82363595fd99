//! A set compiled from text, the same store reopened from its bytes, and the same store
//! mapped from a file return the same result for every lookup.

use std::net::IpAddr;

use trailwatch_trailset::{write_store_atomic, TrailSet, Whitelist};

const TRAILS: &str = "\
1.2.3.4
2001:db8::1
198.51.100.7:443
[2001:db8::66]:443
5.63.151.0/24
10.0.0.0/8
10.1.2.0/24
2001:db8:aaaa::/48
evil.com
.cc
backdates[0-9]{1,2}\\.(com|net)
evil.com/gate.php
bad.example/panel/
1.2.3.4/x
/gate.php
/mstealer/logs/
cdn.example
192.0.2.10:8443
";

const ADDRESSES: [&str; 12] = [
    "1.2.3.4",
    "1.2.3.5",
    "198.51.100.7",
    "5.63.151.200",
    "10.1.2.3",
    "10.200.0.1",
    "192.0.2.10",
    "2001:db8::1",
    "2001:db8::66",
    "2001:db8:aaaa::9",
    "::ffff:1.2.3.4",
    "::ffff:10.1.2.3",
];

const NAMES: [&str; 9] = [
    "evil.com",
    "www.evil.com",
    "notevil.com",
    "a.b.cc",
    "cc",
    "backdates12.net",
    "www.backdates12.net",
    "img.cdn.example",
    "wikipedia.org",
];

const REQUESTS: [(&str, &str); 7] = [
    ("evil.com", "/gate.php?id=1"),
    ("www.evil.com", "/gate.php"),
    ("bad.example", "/panel/login.php"),
    ("1.2.3.4", "/x?y=1"),
    ("innocent.example", "/gate.php"),
    ("x.example", "/mstealer/logs/a.txt"),
    ("other.example", "/gate.php.bak"),
];

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// Returns the result of every lookup over the fixed queries, with the info text of each hit.
fn answers(set: &TrailSet) -> Vec<String> {
    let mut answers = Vec::new();
    for text in ADDRESSES {
        for port in [None, Some(443), Some(8443)] {
            let hits = set.lookup_endpoint(ip(text), port);
            let ip_info = hits.ip.map(|hit| (set.info(hit.source), hit.prefix));
            let port_info = hits.ip_port.map(|source| set.info(source));
            answers.push(format!("{text} {port:?}: {ip_info:?} {port_info:?}"));
        }
    }
    for name in NAMES {
        let hit = set.lookup_domain(name);
        let info = hit.map(|hit| set.info(hit.source));
        answers.push(format!("{name}: {hit:?} {info:?}"));
    }
    for (host, path) in REQUESTS {
        let hit = set.lookup_url(host, path);
        answers.push(format!("{host}{path}: {hit:?}"));
    }
    answers
}

fn compiled() -> TrailSet {
    let files = [
        ("malware/x.txt", TRAILS, false),
        ("custom/mine.txt", "cdn.example\n", true),
    ];
    TrailSet::from_text(&files, None).unwrap().0
}

#[test]
fn reopened_bytes_answer_alike() {
    let set = compiled();
    let reopened = TrailSet::from_store_bytes(set.store_bytes().to_vec()).unwrap();

    assert_eq!(answers(&reopened), answers(&set));
}

#[test]
fn mapped_file_answers_alike() {
    let set = compiled();
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("trails.store");
    write_store_atomic(&path, set.store_bytes()).unwrap();

    let mapped = TrailSet::open(&path).unwrap();
    assert_eq!(answers(&mapped), answers(&set));
}

#[test]
fn mapped_file_keeps_counts_and_texts() {
    let set = compiled();
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("trails.store");
    write_store_atomic(&path, set.store_bytes()).unwrap();

    let mapped = TrailSet::open(&path).unwrap();
    let hit = mapped.lookup_domain("cdn.example").unwrap();
    assert_eq!(mapped.counts(), set.counts());
    assert_eq!(mapped.info(hit.source), "mine (custom)");
    assert_eq!(mapped.reference(hit.source), "(custom)");
}

#[test]
fn opened_store_has_no_whitelist() {
    let whitelist = Whitelist::parse("evil.com\n", "test").unwrap();
    let files = [("malware/x.txt", "evil.com\nother.example\n", false)];
    let (set, _) = TrailSet::from_text(&files, Some(&whitelist)).unwrap();

    let reopened = TrailSet::from_store_bytes(set.store_bytes().to_vec()).unwrap();
    assert!(reopened.whitelist().is_empty());
    assert!(!reopened.is_whitelisted_domain("evil.com"));
}

#[test]
fn whitelisted_domain_leaves_store() {
    let whitelist = Whitelist::parse("evil.com\n", "test").unwrap();
    let files = [(
        "malware/x.txt",
        "evil.com\nwww.evil.com\nother.example\n",
        false,
    )];
    let (set, report) = TrailSet::from_text(&files, Some(&whitelist)).unwrap();

    let reopened = TrailSet::from_store_bytes(set.store_bytes().to_vec()).unwrap();
    assert_eq!(report.whitelisted, 2);
    assert_eq!(reopened.lookup_domain("www.evil.com"), None);
    assert!(reopened.lookup_domain("other.example").is_some());
}

#[test]
fn attached_whitelist_silences_hits() {
    let set = TrailSet::from_store_bytes(compiled().store_bytes().to_vec()).unwrap();
    let whitelist = Whitelist::parse("1.2.3.4\n", "test").unwrap();

    let set = set.with_whitelist(whitelist);
    assert_eq!(set.lookup_ip(ip("1.2.3.4")), None);
}

#[test]
fn empty_set_round_trips() {
    let empty = TrailSet::empty();

    let reopened = TrailSet::from_store_bytes(empty.store_bytes().to_vec()).unwrap();
    assert!(reopened.is_empty());
    assert_eq!(reopened.lookup_domain("evil.com"), None);
}

#[test]
fn compiling_twice_gives_same_bytes() {
    let first = compiled();
    let second = compiled();

    assert_eq!(first.store_bytes(), second.store_bytes());
}
