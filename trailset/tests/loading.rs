//! Loading rules: line syntax, info and reference derivation, precedence, duplicates and bad
//! lines, through the public API.

use std::fs;
use std::net::IpAddr;
use std::path::Path;

use trailwatch_trailset::{LoadReport, TrailDir, TrailError, TrailSet, MAX_REPORTED_BAD_LINES};

fn build(files: &[(&str, &str, bool)]) -> (TrailSet, LoadReport) {
    TrailSet::from_text(files, None).unwrap()
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn domain_info(set: &TrailSet, name: &str) -> Option<String> {
    set.lookup_domain(name)
        .map(|hit| set.info(hit.source).to_owned())
}

fn write_tree(root: &Path, files: &[(&str, &str)]) {
    for (relative, contents) in files {
        let path = root.join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }
}

#[test]
fn comments_and_blank_lines_load_nothing() {
    let text = "# Copyright\n# Reference: https://example.org/x\n\n   \n";
    let (set, report) = build(&[("malware/x.txt", text, false)]);

    assert_eq!(set.len(), 0);
    assert_eq!(report.bad_line_total, 0);
}

#[test]
fn trailing_comment_is_stripped() {
    let (set, _) = build(&[("malware/x.txt", "1.2.3.4 # scanner host\n", false)]);

    assert!(set.lookup_ip(ip("1.2.3.4")).is_some());
}

#[test]
fn crlf_lines_load_cleanly() {
    let text = "evil.com\r\n1.2.3.4:443  \r\n/gate.php\r\n";
    let (set, report) = build(&[("malware/x.txt", text, false)]);

    assert_eq!(set.len(), 3);
    assert_eq!(report.bad_line_total, 0);
    assert!(set.lookup_domain("evil.com").is_some());
    assert!(set.lookup_ip_port(ip("1.2.3.4"), 443).is_some());
    assert!(set.lookup_url("a.example", "/gate.php").is_some());
}

#[test]
fn info_comes_from_file_path() {
    let (set, _) = build(&[("malware/apt_lazarus.txt", "evil.com\n", false)]);

    assert_eq!(
        domain_info(&set, "evil.com").as_deref(),
        Some("apt lazarus (malware)")
    );
}

#[test]
fn root_file_info_is_stem() {
    let (set, _) = build(&[("mass_scanner.txt", "1.2.3.4\n", false)]);
    let hit = set.lookup_ip(ip("1.2.3.4")).unwrap();

    assert_eq!(set.info(hit.source), "mass scanner");
}

#[test]
fn static_file_reference_is_static() {
    let (set, _) = build(&[("malware/x.txt", "evil.com\n", false)]);
    let hit = set.lookup_domain("evil.com").unwrap();

    assert_eq!(set.reference(hit.source), "(static)");
}

#[test]
fn custom_file_reference_is_custom() {
    let (set, _) = build(&[("mine.txt", "evil.com\n", true)]);
    let hit = set.lookup_domain("evil.com").unwrap();

    assert_eq!(set.reference(hit.source), "(custom)");
}

#[test]
fn custom_entry_beats_earlier_static() {
    let files = [
        ("malware/a.txt", "evil.com\n", false),
        ("custom/mine.txt", "evil.com\n", true),
    ];
    let (set, _) = build(&files);
    let hit = set.lookup_domain("evil.com").unwrap();

    assert_eq!(set.info(hit.source), "mine (custom)");
    assert_eq!(set.reference(hit.source), "(custom)");
}

#[test]
fn custom_entry_survives_later_static() {
    let files = [
        ("custom/mine.txt", "1.2.3.4\n", true),
        ("malware/a.txt", "1.2.3.4\n", false),
    ];
    let (set, _) = build(&files);
    let hit = set.lookup_ip(ip("1.2.3.4")).unwrap();

    assert_eq!(set.reference(hit.source), "(custom)");
}

#[test]
fn first_static_entry_wins() {
    let files = [
        ("malware/a.txt", "/gate.php\n", false),
        ("malware/b.txt", "/gate.php\n", false),
    ];
    let (set, _) = build(&files);
    let hit = set.lookup_url("x.example", "/gate.php").unwrap();

    assert_eq!(set.info(hit.source), "a (malware)");
}

#[test]
fn duplicates_are_counted_once_each() {
    let files = [
        ("malware/a.txt", "evil.com\n1.2.3.4:80\nEVIL.com\n", false),
        ("malware/b.txt", "evil.com\n1.2.3.4:80\n", false),
    ];
    let (set, report) = build(&files);

    assert_eq!(set.len(), 2);
    assert_eq!(report.duplicates, 3);
}

#[test]
fn counts_cover_every_kind() {
    let text = "1.2.3.4\n2001:db8::1\n1.2.3.4:443\n[2001:db8::66]:443\n5.63.151.0/24\n\
                2001:db8::/32\nevil.com\n.cc\nevil.com/gate.php\n/gate.php\n\
                backdates[0-9]{1,2}\\.(com|net)\n";
    let (set, report) = build(&[("malware/x.txt", text, false)]);
    let counts = report.counts;

    assert_eq!(counts.ip, 2);
    assert_eq!(counts.ip_port, 2);
    assert_eq!(counts.cidr, 2);
    assert_eq!(counts.domain, 1);
    assert_eq!(counts.tld, 1);
    assert_eq!(counts.url, 1);
    assert_eq!(counts.path, 1);
    assert_eq!(counts.pattern, 1);
    assert_eq!(set.len(), 11);
}

#[test]
fn bad_line_names_file_and_line() {
    let text = "good.example\nsupport¬forum.org\n";
    let (_, report) = build(&[("malware/apt_darkhotel.txt", text, false)]);
    let bad = &report.bad_lines[0];

    assert_eq!(bad.file, Path::new("malware/apt_darkhotel.txt"));
    assert_eq!(bad.line, 2);
    assert_eq!(bad.text, "support¬forum.org");
    assert_eq!(
        bad.reason,
        "contains '¬', which is not valid in a host name"
    );
}

#[test]
fn file_loads_past_bad_line() {
    let text = "a b.example\nafter.example\n";
    let (set, report) = build(&[("malware/x.txt", text, false)]);

    assert_eq!(report.bad_line_total, 1);
    assert!(set.lookup_domain("after.example").is_some());
}

#[test]
fn invalid_utf8_line_is_bad() {
    let root = tempfile::tempdir().unwrap();
    let mut contents = b"before.example\n".to_vec();
    contents.extend_from_slice(b"bad\xff.example\n# comment \xfe\nafter.example\n");
    fs::create_dir_all(root.path().join("malware")).unwrap();
    fs::write(root.path().join("malware/x.txt"), contents).unwrap();

    let (set, report) = TrailSet::load(&[TrailDir::new(root.path())], None).unwrap();
    assert_eq!(report.bad_line_total, 1);
    assert_eq!(report.bad_lines[0].line, 2);
    assert_eq!(report.bad_lines[0].reason, "is not valid UTF-8");
    assert!(set.lookup_domain("before.example").is_some());
    assert!(set.lookup_domain("after.example").is_some());
}

#[test]
fn bad_lines_are_capped_but_counted() {
    let text = "bad line\n".repeat(MAX_REPORTED_BAD_LINES + 20);
    let (_, report) = build(&[("malware/x.txt", &text, false)]);

    assert_eq!(report.bad_lines.len(), MAX_REPORTED_BAD_LINES);
    assert_eq!(report.bad_line_total, MAX_REPORTED_BAD_LINES + 20);
}

#[test]
fn invalid_pattern_is_bad_line() {
    let (set, report) = build(&[("malware/x.txt", "(unclosed\\.com\nok.example\n", false)]);

    assert_eq!(report.bad_line_total, 1);
    assert!(report.bad_lines[0]
        .reason
        .starts_with("is not a valid regular expression"));
    assert_eq!(set.len(), 1);
}

#[test]
fn tree_load_derives_info_and_reference() {
    let root = tempfile::tempdir().unwrap();
    write_tree(
        root.path(),
        &[
            ("static/malware/asyncrat.txt", "asyncrat.example\n"),
            ("static/mass_scanner.txt", "192.0.2.1\n"),
            ("static/LICENSE", "not.a.trail\n"),
            ("custom/mine.txt", "mine.example\n"),
        ],
    );

    let (set, report) = TrailSet::load(&[TrailDir::new(root.path())], None).unwrap();
    let asyncrat = set.lookup_domain("asyncrat.example").unwrap();
    let scanner = set.lookup_ip(ip("192.0.2.1")).unwrap();
    let mine = set.lookup_domain("mine.example").unwrap();

    assert_eq!(report.files, 3);
    assert!(set.lookup_domain("not.a.trail").is_none());
    assert_eq!(set.info(asyncrat.source), "asyncrat (malware)");
    assert_eq!(set.reference(asyncrat.source), "(static)");
    assert_eq!(set.info(scanner.source), "mass scanner (static)");
    assert_eq!(set.info(mine.source), "mine (custom)");
    assert_eq!(set.reference(mine.source), "(custom)");
}

#[test]
fn root_named_custom_is_custom() {
    let parent = tempfile::tempdir().unwrap();
    let root = parent.path().join("custom");
    write_tree(&root, &[("mine.txt", "evil.example\n")]);

    let (set, _) = TrailSet::load(&[TrailDir::new(&root)], None).unwrap();
    let hit = set.lookup_domain("evil.example").unwrap();

    assert_eq!(set.reference(hit.source), "(custom)");
    assert_eq!(set.info(hit.source), "mine");
}

#[test]
fn custom_tree_wins_whatever_order() {
    let parent = tempfile::tempdir().unwrap();
    write_tree(
        parent.path(),
        &[
            ("static/malware/a.txt", "evil.example\n"),
            ("custom/mine.txt", "evil.example\n"),
        ],
    );
    let dirs = [
        TrailDir::new(parent.path().join("static")),
        TrailDir::new(parent.path().join("custom")),
    ];

    let (set, _) = TrailSet::load(&dirs, None).unwrap();
    let hit = set.lookup_domain("evil.example").unwrap();

    assert_eq!(set.reference(hit.source), "(custom)");
}

#[test]
fn sorted_order_picks_first_static() {
    let root = tempfile::tempdir().unwrap();
    write_tree(
        root.path(),
        &[
            ("malware/b.txt", "evil.example\n"),
            ("malware/a.txt", "evil.example\n"),
        ],
    );

    let (set, _) = TrailSet::load(&[TrailDir::new(root.path())], None).unwrap();
    let hit = set.lookup_domain("evil.example").unwrap();

    assert_eq!(set.info(hit.source), "a (malware)");
}

#[test]
fn missing_tree_is_io_error() {
    let result = TrailSet::load(&[TrailDir::new("/nonexistent/trails")], None);

    assert!(matches!(result, Err(TrailError::Io { .. })));
}

#[test]
fn empty_set_matches_nothing() {
    let set = TrailSet::empty();

    assert!(set.is_empty());
    assert!(set.lookup_ip(ip("1.2.3.4")).is_none());
    assert!(set.lookup_ip_port(ip("1.2.3.4"), 80).is_none());
    assert!(set.lookup_domain("evil.com").is_none());
    assert!(set.lookup_url("evil.com", "/gate.php").is_none());
}

#[test]
fn unknown_source_has_empty_texts() {
    let (set, _) = build(&[("malware/x.txt", "evil.com\n", false)]);
    let (other, _) = build(&[
        ("a/a.txt", "a.example\n", false),
        ("b/b.txt", "b.example\n", false),
    ]);
    let foreign = other.lookup_domain("b.example").unwrap().source;

    assert_eq!(set.info(foreign), "");
    assert_eq!(set.reference(foreign), "");
}

#[test]
fn memory_estimate_grows_with_trails() {
    let small = build(&[("malware/x.txt", "evil.com\n", false)]).0;
    let text: String = (0..10_000).map(|i| format!("host{i}.example\n")).collect();
    let large = build(&[("malware/x.txt", &text, false)]).0;

    assert!(large.memory_bytes() > small.memory_bytes() + 10_000 * 12);
}
