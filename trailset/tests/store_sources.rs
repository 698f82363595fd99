//! Source lists: every source of an indicator is kept, custom first, then in the order the
//! sources were added, and feeds carry their own info and reference.

use std::fs;
use std::net::IpAddr;

use trailwatch_trailset::{StoreBuilder, TrailDir, TrailSet};

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// Builds a set from a static tree, a feed, a custom tree and a second feed, added in that
/// order, which all list `evil.example`, `1.2.3.4` and `1.2.3.4:443`.
fn layered() -> TrailSet {
    let root = tempfile::tempdir().unwrap();
    let static_tree = root.path().join("static");
    let custom_tree = root.path().join("custom");
    fs::create_dir_all(static_tree.join("malware")).unwrap();
    fs::create_dir_all(&custom_tree).unwrap();
    let lines = "evil.example\n1.2.3.4\n1.2.3.4:443\n";
    fs::write(static_tree.join("malware/asyncrat.txt"), lines).unwrap();
    fs::write(custom_tree.join("mine.txt"), lines).unwrap();

    let feed_lines = ["evil.example", "1.2.3.4", "1.2.3.4:443"];
    let mut builder = StoreBuilder::new();
    builder.add_tree(&TrailDir::new(&static_tree)).unwrap();
    builder
        .add_indicators(
            "feodo",
            "feodotracker (malware)",
            "feodotracker.abuse.ch",
            feed_lines,
        )
        .unwrap();
    builder.add_tree(&TrailDir::new(&custom_tree)).unwrap();
    builder
        .add_indicators(
            "urlhaus",
            "urlhaus (malware)",
            "urlhaus.abuse.ch",
            feed_lines,
        )
        .unwrap();
    let (bytes, _) = builder.finish(None).unwrap();
    TrailSet::from_store_bytes(bytes).unwrap()
}

fn infos(
    set: &TrailSet,
    sources: impl Iterator<Item = trailwatch_trailset::SourceId>,
) -> Vec<&str> {
    sources.map(|source| set.info(source)).collect()
}

const EXPECTED: [&str; 4] = [
    "mine",
    "asyncrat (malware)",
    "feodotracker (malware)",
    "urlhaus (malware)",
];

#[test]
fn domain_lists_every_source_custom_first() {
    let set = layered();
    let hit = set.lookup_domain("www.evil.example").unwrap();

    assert_eq!(
        infos(&set, set.sources(("www.evil.example", hit))),
        EXPECTED
    );
}

#[test]
fn address_lists_every_source() {
    let set = layered();
    let hit = set.lookup_ip(ip("1.2.3.4")).unwrap();

    assert_eq!(infos(&set, set.sources((ip("1.2.3.4"), hit))), EXPECTED);
}

#[test]
fn endpoint_lists_every_source() {
    let set = layered();

    assert_eq!(infos(&set, set.sources((ip("1.2.3.4"), 443))), EXPECTED);
}

#[test]
fn hit_reports_custom_primary() {
    let set = layered();
    let hit = set.lookup_domain("evil.example").unwrap();

    assert_eq!(set.info(hit.source), "mine");
    assert_eq!(set.reference(hit.source), "(custom)");
    assert_eq!(set.sources(("evil.example", hit)).next(), Some(hit.source));
}

#[test]
fn feed_reference_is_kept() {
    let mut builder = StoreBuilder::new();
    builder
        .add_indicators(
            "feodo",
            "feodotracker (malware)",
            "feodotracker.abuse.ch",
            ["5.6.7.8"],
        )
        .unwrap();
    let set = TrailSet::from_store_bytes(builder.finish(None).unwrap().0).unwrap();
    let hit = set.lookup_ip(ip("5.6.7.8")).unwrap();

    assert_eq!(set.info(hit.source), "feodotracker (malware)");
    assert_eq!(set.reference(hit.source), "feodotracker.abuse.ch");
}

#[test]
fn source_counts_include_shared_indicators() {
    let set = layered();
    let counts: Vec<(&str, usize)> = set
        .source_counts()
        .into_iter()
        .map(|(source, count)| (set.info(source), count))
        .collect();

    assert_eq!(
        counts,
        [
            ("asyncrat (malware)", 3),
            ("feodotracker (malware)", 3),
            ("mine", 3),
            ("urlhaus (malware)", 3)
        ]
    );
}

#[test]
fn cidr_and_url_hits_list_sources() {
    let files = [
        (
            "malware/a.txt",
            "10.0.0.0/8\nevil.com/gate.php\n/panel\n",
            false,
        ),
        (
            "malware/b.txt",
            "10.0.0.0/8\nevil.com/gate.php\n/panel\n",
            false,
        ),
    ];
    let (set, _) = TrailSet::from_text(&files, None).unwrap();
    let block = set.lookup_ip(ip("10.9.9.9")).unwrap();
    let url = set.lookup_url("www.evil.com", "/gate.php?id=1").unwrap();
    let path = set.lookup_url("x.example", "/panel/login").unwrap();
    let both = ["a (malware)", "b (malware)"];

    assert_eq!(infos(&set, set.sources((ip("10.9.9.9"), block))), both);
    assert_eq!(
        infos(&set, set.sources(("www.evil.com", "/gate.php?id=1", url))),
        both
    );
    assert_eq!(
        infos(&set, set.sources(("x.example", "/panel/login", path))),
        both
    );
}

#[test]
fn tld_and_pattern_hits_list_sources() {
    let lines = ".cc\nbackdates[0-9]{1,2}\\.(com|net)\n";
    let files = [
        ("malware/a.txt", lines, false),
        ("malware/b.txt", lines, false),
    ];
    let (set, _) = TrailSet::from_text(&files, None).unwrap();
    let tld = set.lookup_domain("a.b.cc").unwrap();
    let pattern = set.lookup_domain("backdates12.net").unwrap();
    let both = ["a (malware)", "b (malware)"];

    assert_eq!(infos(&set, set.sources(("a.b.cc", tld))), both);
    assert_eq!(infos(&set, set.sources(("backdates12.net", pattern))), both);
}

#[test]
fn mapped_address_hit_lists_sources() {
    let files = [("malware/a.txt", "10.0.0.0/8\n", false)];
    let (set, _) = TrailSet::from_text(&files, None).unwrap();
    let mapped = ip("::ffff:10.1.2.3");
    let hit = set.lookup_ip(mapped).unwrap();

    assert_eq!(infos(&set, set.sources((mapped, hit))), ["a (malware)"]);
}

#[test]
fn foreign_hit_lists_nothing() {
    let (set, _) = TrailSet::from_text(&[("malware/a.txt", "evil.com\n", false)], None).unwrap();
    let (other, _) = TrailSet::from_text(&[("malware/b.txt", "bad.org\n", false)], None).unwrap();
    let hit = other.lookup_domain("bad.org").unwrap();

    assert_eq!(set.sources(("bad.org", hit)).count(), 0);
}

#[test]
fn feed_bad_line_names_origin() {
    let mut builder = StoreBuilder::new();
    builder
        .add_indicators(
            "feodo.csv",
            "feodo",
            "abuse.ch",
            ["1.2.3.4", "not valid!", "# note"],
        )
        .unwrap();
    let (_, report) = builder.finish(None).unwrap();
    let bad = &report.bad_lines[0];

    assert_eq!(report.feeds, 1);
    assert_eq!(bad.file, std::path::Path::new("feodo.csv"));
    assert_eq!(bad.line, 2);
}
