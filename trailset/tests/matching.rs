//! Lookup rules for every indicator kind, the whitelist, and the log-line trail text.

use std::net::IpAddr;

use trailwatch_trailset::{
    format_domain_trail, format_url_trail, DomainHit, TrailSet, UrlHit, Whitelist,
};

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
evil.com:8080/x.php
bad.example/panel/
1.2.3.4/x
http://203.0.113.5/admin/verify.php
/gate.php
/mstealer/logs/
/(null).arm
cdn.example
cdn.example/payload.exe
192.0.2.10
192.0.2.10:8443
192.0.2.128/25
";

fn trails() -> TrailSet {
    TrailSet::from_text(&[("malware/x.txt", TRAILS, false)], None)
        .unwrap()
        .0
}

fn whitelisted_trails() -> TrailSet {
    let whitelist = Whitelist::parse(
        "cdn.example\nlocal.cc\n192.0.2.10\n192.0.2.128/25\n",
        "test",
    )
    .unwrap();
    TrailSet::from_text(&[("malware/x.txt", TRAILS, false)], Some(&whitelist))
        .unwrap()
        .0
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn domain_trail(set: &TrailSet, name: &str) -> Option<String> {
    set.lookup_domain(name)
        .map(|hit| format_domain_trail(name, &hit))
}

fn url_trail(set: &TrailSet, host: &str, path: &str) -> Option<String> {
    set.lookup_url(host, path)
        .map(|hit| format_url_trail(host, path, &hit))
}

#[test]
fn exact_ipv4_hit_has_no_prefix() {
    let hit = trails().lookup_ip(ip("1.2.3.4")).unwrap();

    assert_eq!(hit.prefix, None);
}

#[test]
fn unlisted_ipv4_misses() {
    assert_eq!(trails().lookup_ip(ip("1.2.3.5")), None);
}

#[test]
fn exact_ipv6_hits() {
    assert!(trails().lookup_ip(ip("2001:db8::1")).is_some());
}

#[test]
fn mapped_ipv6_finds_ipv4_trail() {
    assert!(trails().lookup_ip(ip("::ffff:1.2.3.4")).is_some());
}

#[test]
fn cidr_hit_reports_prefix() {
    let hit = trails().lookup_ip(ip("5.63.151.99")).unwrap();

    assert_eq!(hit.prefix, Some(24));
}

#[test]
fn most_specific_cidr_is_reported() {
    let set = trails();

    assert_eq!(set.lookup_ip(ip("10.1.2.3")).unwrap().prefix, Some(24));
    assert_eq!(set.lookup_ip(ip("10.9.9.9")).unwrap().prefix, Some(8));
}

#[test]
fn ipv6_cidr_hits() {
    assert_eq!(
        trails().lookup_ip(ip("2001:db8:aaaa:1::9")).unwrap().prefix,
        Some(48)
    );
}

#[test]
fn ip_port_needs_both_parts() {
    let set = trails();

    assert!(set.lookup_ip_port(ip("198.51.100.7"), 443).is_some());
    assert!(set.lookup_ip_port(ip("198.51.100.7"), 80).is_none());
    assert!(set.lookup_ip(ip("198.51.100.7")).is_none());
}

#[test]
fn ipv6_port_trail_hits() {
    assert!(trails().lookup_ip_port(ip("2001:db8::66"), 443).is_some());
}

#[test]
fn exact_domain_hits_at_start() {
    let hit = trails().lookup_domain("evil.com").unwrap();

    assert_eq!(
        hit,
        DomainHit {
            source: hit.source,
            matched_start: 0,
            pattern: false
        }
    );
}

#[test]
fn subdomain_matches_parent_trail() {
    assert_eq!(
        trails()
            .lookup_domain("a.b.evil.com")
            .map(|hit| hit.matched_start),
        Some(4)
    );
}

#[test]
fn lookalike_domain_does_not_match() {
    assert_eq!(trails().lookup_domain("notevil.com"), None);
}

#[test]
fn parent_of_trail_does_not_match() {
    assert_eq!(trails().lookup_domain("com"), None);
}

#[test]
fn tld_trail_matches_names_under_it() {
    assert_eq!(
        domain_trail(&trails(), "a.b.cc").as_deref(),
        Some("(a.b).cc")
    );
}

#[test]
fn tld_trail_skips_bare_tld() {
    assert_eq!(trails().lookup_domain("cc"), None);
}

#[test]
fn tld_trail_needs_whole_label() {
    assert_eq!(trails().lookup_domain("a.bcc"), None);
}

#[test]
fn pattern_matches_whole_name() {
    let hit = trails().lookup_domain("backdates12.net").unwrap();

    assert!(hit.pattern);
}

#[test]
fn pattern_does_not_match_subdomain() {
    assert_eq!(trails().lookup_domain("www.backdates12.net"), None);
}

#[test]
fn parent_trail_renders_with_parentheses() {
    assert_eq!(
        domain_trail(&trails(), "www.evil.com").as_deref(),
        Some("(www).evil.com")
    );
}

#[test]
fn url_with_query_matches_prefix() {
    let text = url_trail(&trails(), "evil.com", "/gate.php?id=1");

    assert_eq!(text.as_deref(), Some("evil.com/gate.php(?id=1)"));
}

#[test]
fn url_on_subdomain_host_matches() {
    let text = url_trail(&trails(), "www.evil.com", "/gate.php?id=1");

    assert_eq!(text.as_deref(), Some("(www.)evil.com/gate.php(?id=1)"));
}

#[test]
fn url_path_compare_ignores_case() {
    assert!(trails().lookup_url("evil.com", "/GATE.php").is_some());
}

#[test]
fn url_trail_port_matches_any_port() {
    let hit = trails().lookup_url("evil.com", "/x.php").unwrap();

    assert!(!hit.bare_path);
}

#[test]
fn url_trail_folder_matches_below_it() {
    let text = url_trail(&trails(), "bad.example", "/panel/login.php");

    assert_eq!(text.as_deref(), Some("bad.example/panel(/login.php)"));
}

#[test]
fn url_with_ip_host_matches() {
    let hit = trails().lookup_url("1.2.3.4", "/x?y=1").unwrap();

    assert_eq!(
        hit,
        UrlHit {
            source: hit.source,
            host_start: 0,
            path_end: 2,
            bare_path: false
        }
    );
}

#[test]
fn scheme_url_trail_matches() {
    assert!(trails()
        .lookup_url("203.0.113.5", "/admin/verify.php")
        .is_some());
}

#[test]
fn longer_path_segment_does_not_match() {
    assert_eq!(trails().lookup_url("other.example", "/gate.php.bak"), None);
}

#[test]
fn url_trail_host_needs_label_boundary() {
    let hit = trails().lookup_url("notevil.com", "/x.php");

    assert_eq!(hit, None);
}

#[test]
fn bare_path_matches_any_host() {
    let text = url_trail(&trails(), "innocent.example", "/gate.php?id=1");

    assert_eq!(text.as_deref(), Some("(innocent.example)/gate.php(?id=1)"));
}

#[test]
fn bare_path_folder_matches_below() {
    let hit = trails()
        .lookup_url("x.example", "/mstealer/logs/a.txt")
        .unwrap();

    assert!(hit.bare_path);
    assert_eq!(hit.path_end, "/mstealer/logs".len());
}

#[test]
fn bare_path_with_parentheses_is_literal() {
    assert!(trails().lookup_url("x.example", "/(null).arm").is_some());
}

#[test]
fn host_url_beats_bare_path() {
    let hit = trails().lookup_url("evil.com", "/gate.php").unwrap();

    assert!(!hit.bare_path);
}

#[test]
fn path_without_leading_slash_misses() {
    assert_eq!(trails().lookup_url("evil.com", "gate.php"), None);
}

#[test]
fn whitelisted_domain_is_silent() {
    assert_eq!(whitelisted_trails().lookup_domain("cdn.example"), None);
}

#[test]
fn whitelisted_subdomain_is_silent() {
    assert_eq!(whitelisted_trails().lookup_domain("img.cdn.example"), None);
}

#[test]
fn whitelist_spares_tld_trail_name() {
    let set = whitelisted_trails();

    assert_eq!(set.lookup_domain("local.cc"), None);
    assert!(set.lookup_domain("other.cc").is_some());
}

#[test]
fn whitelisted_name_skips_pattern() {
    let whitelist = Whitelist::parse("backdates12.net\n", "test").unwrap();
    let files = [("malware/x.txt", TRAILS, false)];
    let set = TrailSet::from_text(&files, Some(&whitelist)).unwrap().0;

    assert_eq!(set.lookup_domain("backdates12.net"), None);
    assert!(set.lookup_domain("backdates13.net").is_some());
}

#[test]
fn whitelisted_ip_is_silent() {
    assert_eq!(whitelisted_trails().lookup_ip(ip("192.0.2.10")), None);
}

#[test]
fn whitelisted_ip_port_is_silent() {
    assert_eq!(
        whitelisted_trails().lookup_ip_port(ip("192.0.2.10"), 8443),
        None
    );
}

#[test]
fn whitelisted_cidr_silences_cidr_trail() {
    assert_eq!(whitelisted_trails().lookup_ip(ip("192.0.2.200")), None);
}

#[test]
fn whitelist_leaves_other_trails() {
    let set = whitelisted_trails();

    assert!(set.lookup_ip(ip("1.2.3.4")).is_some());
    assert!(set.lookup_domain("evil.com").is_some());
}

#[test]
fn whitelist_does_not_apply_to_urls() {
    assert!(whitelisted_trails()
        .lookup_url("cdn.example", "/payload.exe")
        .is_some());
}

#[test]
fn whitelist_checks_are_exposed() {
    let set = whitelisted_trails();

    assert!(set.is_whitelisted_domain("a.cdn.example"));
    assert!(set.is_whitelisted_ip(ip("192.0.2.129")));
    assert!(!set.is_whitelisted_ip(ip("1.2.3.4")));
}

#[test]
fn custom_pattern_wins_for_name() {
    let files = [
        ("malware/a.txt", "evil[0-9]\\.com\n", false),
        ("custom/mine.txt", "evil.\\.com\n", true),
    ];
    let set = TrailSet::from_text(&files, None).unwrap().0;
    let hit = set.lookup_domain("evil1.com").unwrap();

    assert_eq!(set.reference(hit.source), "(custom)");
}

#[test]
fn internationalised_trail_matches_ace_name() {
    let set = TrailSet::from_text(&[("malware/x.txt", "münchen.de\n", false)], None)
        .unwrap()
        .0;

    assert!(set.lookup_domain("xn--mnchen-3ya.de").is_some());
}

#[test]
fn endpoint_lookup_agrees_with_separate_lookups() {
    let plain = trails();
    let whitelisted = whitelisted_trails();
    let addresses = [
        "1.2.3.4",
        "1.2.3.5",
        "198.51.100.7",
        "5.63.151.200",
        "10.1.2.3",
        "10.200.0.1",
        "192.0.2.10",
        "192.0.2.200",
        "203.0.113.5",
        "2001:db8::1",
        "2001:db8::66",
        "2001:db8:aaaa::9",
        "::ffff:1.2.3.4",
    ];
    for set in [&plain, &whitelisted] {
        for text in addresses {
            for port in [None, Some(443), Some(8443), Some(80)] {
                let address = ip(text);
                let hits = set.lookup_endpoint(address, port);
                assert_eq!(hits.ip, set.lookup_ip(address), "{text} {port:?}");
                let with_port = port.and_then(|port| set.lookup_ip_port(address, port));
                assert_eq!(hits.ip_port, with_port, "{text} {port:?}");
            }
        }
    }
}

#[test]
fn endpoint_lookup_finds_each_kind() {
    let set = trails();
    assert!(set.lookup_endpoint(ip("1.2.3.4"), Some(1)).ip.is_some());
    assert!(set
        .lookup_endpoint(ip("198.51.100.7"), Some(443))
        .ip_port
        .is_some());
    assert_eq!(
        set.lookup_endpoint(ip("10.9.9.9"), None).ip.unwrap().prefix,
        Some(8)
    );
    assert_eq!(
        set.lookup_endpoint(ip("198.51.100.8"), Some(443)),
        Default::default()
    );
}
