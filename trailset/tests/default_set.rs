//! Loads the shipped default trail set and checks counts, known entries and bad lines.
//!
//! The expected entries are real lines from the files named in each check. The count ranges
//! leave room for trail updates, and a change outside them deserves a look.

use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use trailwatch_trailset::{LoadReport, TrailDir, TrailSet};

const TREE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../trails/static");

/// Loads the set once for all tests, because a load takes several seconds in a debug build.
fn default_set() -> &'static (TrailSet, LoadReport) {
    static LOADED: OnceLock<(TrailSet, LoadReport)> = OnceLock::new();
    LOADED.get_or_init(|| TrailSet::load(&[TrailDir::new(TREE)], None).unwrap())
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn info_of(set: &TrailSet, source: Option<trailwatch_trailset::SourceId>) -> Option<&str> {
    source.map(|source| set.info(source))
}

#[test]
fn file_count_matches_tree() {
    let (_, report) = default_set();

    assert!(report.files > 3000, "files: {}", report.files);
}

#[test]
fn kind_counts_are_in_range() {
    let (set, report) = default_set();
    let counts = report.counts;

    assert!((1_000_000..1_400_000).contains(&counts.domain), "{counts}");
    assert!((250_000..320_000).contains(&counts.ip_port), "{counts}");
    assert!((60_000..110_000).contains(&counts.ip), "{counts}");
    assert!(
        (90_000..150_000).contains(&(counts.url + counts.path)),
        "{counts}"
    );
    assert!((1_000..2_000).contains(&counts.cidr), "{counts}");
    assert!((100..200).contains(&counts.tld), "{counts}");
    assert!((20..40).contains(&counts.pattern), "{counts}");
    assert_eq!(set.len(), counts.total());
}

/// Every indicator line ends up as a new entry, a duplicate or a bad line, and none vanish.
#[test]
fn every_indicator_line_is_accounted() {
    let (_, report) = default_set();
    let lines = count_indicator_lines(Path::new(TREE));

    assert_eq!(
        report.counts.total() + report.duplicates + report.bad_line_total,
        lines
    );
}

#[test]
fn ip_port_resolves_with_info() {
    let (set, _) = default_set();
    let source = set.lookup_ip_port(ip("194.45.8.41"), 443);

    // malware/apt_lazarus.txt: "194.45.8.41:443"
    assert_eq!(info_of(set, source), Some("apt lazarus (malware)"));
    assert_eq!(source.map(|source| set.reference(source)), Some("(static)"));
}

#[test]
fn root_file_address_resolves() {
    let (set, _) = default_set();
    let hit = set.lookup_ip(ip("129.82.138.12")).unwrap();

    // mass_scanner.txt: "129.82.138.12 # pinger1a.netsec.colostate.edu"
    assert_eq!(set.info(hit.source), "mass scanner");
    assert_eq!(hit.prefix, None);
}

#[test]
fn cidr_block_resolves() {
    let (set, _) = default_set();
    let hit = set.lookup_ip(ip("5.63.151.77")).unwrap();

    // mass_scanner_cidr.txt: "5.63.151.0/24 # scanners.labs.rapid7.com"
    assert_eq!(set.info(hit.source), "mass scanner cidr");
    assert_eq!(hit.prefix, Some(24));
}

#[test]
fn domain_and_subdomain_resolve() {
    let (set, _) = default_set();

    // malware/asyncrat.txt: "asyncrat6743.ddns.net". Because suspicious/dynamic_domain.txt
    // lists ddns.net itself, the longer trail has to win.
    let exact = set.lookup_domain("asyncrat6743.ddns.net").unwrap();
    let below = set.lookup_domain("c2.asyncrat6743.ddns.net").unwrap();
    let sibling = set.lookup_domain("other.ddns.net").unwrap();

    assert_eq!(set.info(exact.source), "asyncrat (malware)");
    assert_eq!(set.info(below.source), "asyncrat (malware)");
    assert_eq!(below.matched_start, 3);
    assert_eq!(set.info(sibling.source), "dynamic domain (suspicious)");
}

#[test]
fn mixed_case_duplicate_keeps_first() {
    let (set, _) = default_set();
    let hit = set.lookup_domain("citingsecurity.com").unwrap();

    // malware/fraudload.txt: "CitingSecurity.com", again in suspicious/bad_history.txt.
    assert_eq!(set.info(hit.source), "fraudload (malware)");
}

#[test]
fn ace_domain_resolves() {
    let (set, _) = default_set();
    let hit = set.lookup_domain("xn--rxamia.com").unwrap();

    // malware/apt_lazarus.txt: "xn--rxamia.com"
    assert_eq!(set.info(hit.source), "apt lazarus (malware)");
}

#[test]
fn tld_trail_resolves() {
    let (set, _) = default_set();
    let hit = set.lookup_domain("zz-unlisted-name.cc").unwrap();

    // suspicious/domain.txt: ".cc"
    assert_eq!(set.info(hit.source), "domain (suspicious)");
}

#[test]
fn pattern_trail_resolves() {
    let (set, _) = default_set();
    let hit = set.lookup_domain("backdates12.com").unwrap();

    // malware/generic.txt: "backdates[0-9]{1,2}\.(com|net)"
    assert!(hit.pattern);
    assert_eq!(set.info(hit.source), "generic (malware)");
}

#[test]
fn scheme_url_resolves() {
    let (set, _) = default_set();
    let hit = set.lookup_url("47.91.56.21", "/verify.php?id=1").unwrap();

    // malware/apt_lazarus.txt: "http://47.91.56.21/verify.php"
    assert_eq!(set.info(hit.source), "apt lazarus (malware)");
    assert!(!hit.bare_path);
}

#[test]
fn bare_path_resolves() {
    let (set, _) = default_set();
    let hit = set
        .lookup_url("any.example", "/mstealer/logs/upload.php")
        .unwrap();

    // malware/mstealer.txt: "/mstealer/logs/"
    assert_eq!(set.info(hit.source), "mstealer (malware)");
    assert!(hit.bare_path);
}

#[test]
fn bracketed_ipv6_port_resolves() {
    let (set, _) = default_set();
    let source = set.lookup_ip_port(ip("2a12:bec4:1460:50::2"), 3478);

    // malicious/magentocore.txt: "[2a12:bec4:1460:50::2]:3478"
    assert_eq!(info_of(set, source), Some("magentocore (malicious)"));
}

#[test]
fn common_names_stay_unmatched() {
    let (set, _) = default_set();

    assert_eq!(set.lookup_domain("www.wikipedia.org"), None);
    assert_eq!(set.lookup_ip(ip("192.168.1.1")), None);
}

#[test]
fn bad_lines_are_few() {
    let (_, report) = default_set();

    assert!(
        report.bad_line_total < 100,
        "bad lines: {}",
        report.bad_line_total
    );
    assert_eq!(report.bad_lines.len(), report.bad_line_total);
}

#[test]
fn each_bad_line_is_unusable() {
    let (_, report) = default_set();

    for bad in &report.bad_lines {
        assert!(is_unusable(&bad.text), "usable line reported as bad: {bad}");
    }
}

#[test]
fn unusable_check_passes_good_lines() {
    let good = [
        "evil.com",
        "1.2.3.4:443",
        "http://evil.com:8080/a.php",
        "/gate.php",
        "5.6.7.8",
    ];

    for line in good {
        assert!(!is_unusable(line), "good line judged unusable: {line}");
    }
}

/// Judges a line without the crate's parser. A line cannot match traffic if it contains
/// whitespace or a character that no host name has. Neither can it when it names a port
/// outside 1-65535, a scheme other than HTTP, a DNS label over 63 bytes, or an address with
/// a missing or extra part.
fn is_unusable(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("http://")
        .or_else(|| lower.strip_prefix("https://"));
    let rest = rest.unwrap_or(&lower);
    let host_port = rest.split('/').next().unwrap_or(rest);

    let whitespace = text.contains(char::is_whitespace);
    let other_scheme = rest.contains("://");
    let invalid_host_character = !host_port.starts_with('[')
        && host_port
            .chars()
            .any(|c| !(c.is_ascii_alphanumeric() || ".-_:".contains(c)));
    let colons = host_port.matches(':').count();
    let extra_colon = !host_port.starts_with('[') && host_port.contains('.') && colons > 1;
    let bad_port = colons == 1
        && host_port
            .rsplit(':')
            .next()
            .and_then(|port| port.parse::<u64>().ok())
            .is_some_and(|port| port == 0 || port > 65_535);
    let host = host_port.split(':').next().unwrap_or(host_port);
    let long_label = host.split('.').any(|label| label.len() > 63);
    let last_label_numeric = host
        .rsplit('.')
        .next()
        .is_some_and(|label| !label.is_empty() && label.bytes().all(|b| b.is_ascii_digit()));
    let truncated_address = last_label_numeric && host.parse::<std::net::Ipv4Addr>().is_err();

    whitespace
        || other_scheme
        || invalid_host_character
        || extra_colon
        || bad_port
        || long_label
        || truncated_address
}

/// Counts lines that are neither blank nor comments in every `*.txt` file below `root`.
fn count_indicator_lines(root: &Path) -> usize {
    let mut total = 0;
    let mut folders: Vec<PathBuf> = vec![root.to_path_buf()];

    while let Some(folder) = folders.pop() {
        for entry in fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|ext| ext == "txt") {
                let bytes = fs::read(&path).unwrap();
                total += String::from_utf8_lossy(&bytes)
                    .split('\n')
                    .map(str::trim)
                    .filter(|line| !line.is_empty() && !line.starts_with('#'))
                    .count();
            }
        }
    }
    total
}
