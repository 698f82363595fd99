//! End-to-end detections on hand-built captures: every link type and extraction rule, checked
//! against complete expected log lines.

mod common;

use std::path::{Path, PathBuf};

use common::frames::*;
use common::{log_lines, run_sensor};

/// 2026-01-15 12:00:00 UTC.
const T0: i64 = 1_768_478_400;

const DLT_EN10MB: i32 = 1;
const DLT_NULL: i32 = 0;
const DLT_RAW: i32 = 12;
const DLT_LOOP: i32 = 108;
const DLT_LINUX_SLL: i32 = 113;
const DLT_LINUX_SLL2: i32 = 276;

const TRAILS: &str = "\
# Reference: test fixture
evil.example
198.51.100.66
198.51.100.77:8443
203.0.113.0/24
[2001:db8::66]:443
bad.example/gate.php
/stage2.bin
";

struct Case {
    _work: tempfile::TempDir,
    dir: PathBuf,
}

impl Case {
    fn new() -> Case {
        let work = tempfile::tempdir().unwrap();
        let dir = work.path().to_path_buf();
        std::fs::create_dir_all(dir.join("trails/malware")).unwrap();
        std::fs::write(dir.join("trails/malware/evil.txt"), TRAILS).unwrap();
        Case { _work: work, dir }
    }

    fn capture(&self, dlt: i32, frames: &[(i64, i64, Vec<u8>)]) -> PathBuf {
        let path = self.dir.join(format!("capture-{}.pcap", frames.len()));
        write_pcap(&path, dlt, frames);
        path
    }

    /// Runs the sensor on `capture` with the fixture trails and returns the log lines.
    fn run(&self, capture: &Path, extra: &[&str]) -> Vec<String> {
        let log_dir = self.dir.join("log");
        let _ = std::fs::remove_dir_all(&log_dir);
        let trails = self.dir.join("trails");
        let mut args = vec![
            "-r",
            capture.to_str().unwrap(),
            "--trails",
            trails.to_str().unwrap(),
            "--log-dir",
            log_dir.to_str().unwrap(),
            "--sensor-name",
            "test",
        ];
        args.extend_from_slice(extra);
        let output = run_sensor(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        log_lines(&log_dir)
    }
}

fn dns_event_line(src: &str, dst: &str) -> String {
    format!(
        "\"2026-01-15 12:00:00.000001\" test {src} 40000 {dst} 53 UDP DNS (www).evil.example \
         \"evil (malware)\" (static)"
    )
}

fn query_ipv4() -> Vec<u8> {
    ipv4_udp(CLIENT, SERVER, 40000, 53, &dns_query(7, "WWW.Evil.Example"))
}

fn expect_dns_event(case: &Case, dlt: i32, frame: Vec<u8>, src: &str, dst: &str) {
    let capture = case.capture(dlt, &[(T0, 1, frame)]);
    let lines = case.run(&capture, &[]);
    assert_eq!(lines, vec![dns_event_line(src, dst)]);
}

#[test]
fn dns_query_over_ethernet() {
    let case = Case::new();
    let frame = ethernet(&[], 0x0800, &query_ipv4());
    expect_dns_event(&case, DLT_EN10MB, frame, &v4(CLIENT), &v4(SERVER));
}

#[test]
fn dns_query_over_ipv6() {
    let case = Case::new();
    let ip = ipv6_udp(
        CLIENT6,
        SERVER6,
        40000,
        53,
        &dns_query(7, "www.evil.example"),
    );
    let frame = ethernet(&[], 0x86dd, &ip);
    expect_dns_event(&case, DLT_EN10MB, frame, &v6(CLIENT6), &v6(SERVER6));
}

#[test]
fn dns_query_in_vlan_tags() {
    for tags in [
        vec![(0x8100, 10)],
        vec![(0x88a8, 100), (0x8100, 10)],
        vec![(0x9100, 5); 3],
    ] {
        let case = Case::new();
        let frame = ethernet(&tags, 0x0800, &query_ipv4());
        expect_dns_event(&case, DLT_EN10MB, frame, &v4(CLIENT), &v4(SERVER));
    }
}

#[test]
fn dns_query_under_mpls_labels() {
    let case = Case::new();
    let frame = ethernet(&[], 0x8847, &mpls(&[1000, 2000], &query_ipv4()));
    expect_dns_event(&case, DLT_EN10MB, frame, &v4(CLIENT), &v4(SERVER));
}

#[test]
fn dns_query_in_pppoe_session() {
    let case = Case::new();
    let frame = ethernet(&[], 0x8864, &pppoe(&query_ipv4()));
    expect_dns_event(&case, DLT_EN10MB, frame, &v4(CLIENT), &v4(SERVER));
}

#[test]
fn dns_query_in_linux_cooked() {
    let case = Case::new();
    expect_dns_event(
        &case,
        DLT_LINUX_SLL,
        sll(&query_ipv4()),
        &v4(CLIENT),
        &v4(SERVER),
    );
    let case = Case::new();
    expect_dns_event(
        &case,
        DLT_LINUX_SLL2,
        sll2(&query_ipv4()),
        &v4(CLIENT),
        &v4(SERVER),
    );
}

#[test]
fn dns_query_over_raw_ip() {
    let case = Case::new();
    expect_dns_event(&case, DLT_RAW, query_ipv4(), &v4(CLIENT), &v4(SERVER));
}

#[test]
fn dns_query_over_bsd_loopback() {
    for big_endian in [false, true] {
        let case = Case::new();
        let frame = null_loopback(2, big_endian, &query_ipv4());
        expect_dns_event(&case, DLT_NULL, frame, &v4(CLIENT), &v4(SERVER));
    }
    let case = Case::new();
    let frame = null_loopback(2, true, &query_ipv4());
    expect_dns_event(&case, DLT_LOOP, frame, &v4(CLIENT), &v4(SERVER));
}

#[test]
fn dns_query_inside_gre() {
    let case = Case::new();
    let outer = ipv4_around(
        [10, 9, 0, 1],
        [10, 9, 0, 2],
        47,
        &gre(0x0800, &query_ipv4()),
    );
    let frame = ethernet(&[], 0x0800, &outer);
    expect_dns_event(&case, DLT_EN10MB, frame, &v4(CLIENT), &v4(SERVER));
}

#[test]
fn dns_query_inside_vxlan() {
    let case = Case::new();
    let inner = ethernet(&[], 0x0800, &query_ipv4());
    let outer = ipv4_udp([10, 9, 0, 1], [10, 9, 0, 2], 50000, 4789, &vxlan(&inner));
    let frame = ethernet(&[], 0x0800, &outer);
    expect_dns_event(&case, DLT_EN10MB, frame, &v4(CLIENT), &v4(SERVER));
}

#[test]
fn dns_over_tcp_two_messages_one_segment() {
    let case = Case::new();
    let mut stream = Vec::new();
    for (id, name) in [(1u16, "benign.example"), (2, "cdn.evil.example")] {
        let message = dns_query(id, name);
        stream.extend_from_slice(&(message.len() as u16).to_be_bytes());
        stream.extend_from_slice(&message);
    }
    let frame = ethernet(
        &[],
        0x0800,
        &ipv4_tcp(CLIENT, SERVER, 40001, 53, 100, &stream),
    );
    let capture = case.capture(DLT_EN10MB, &[(T0, 1, frame)]);

    let lines = case.run(&capture, &[]);
    let expected = format!(
        "\"2026-01-15 12:00:00.000001\" test {} 40001 {} 53 TCP DNS (cdn).evil.example \
         \"evil (malware)\" (static)",
        v4(CLIENT),
        v4(SERVER)
    );
    assert_eq!(lines, vec![expected]);
}

#[test]
fn http_request_split_across_segments() {
    let case = Case::new();
    let request =
        b"GET /gate.php?id=7 HTTP/1.1\r\nHost: www.bad.example\r\nUser-Agent: t/1\r\n\r\n";
    let (first, second) = request.split_at(30);
    let frames = vec![
        (
            T0,
            1,
            ethernet(
                &[],
                0x0800,
                &ipv4_tcp(CLIENT, SERVER, 40002, 8080, 500, first),
            ),
        ),
        (
            T0,
            2,
            ethernet(
                &[],
                0x0800,
                &ipv4_tcp(CLIENT, SERVER, 40002, 8080, 530, second),
            ),
        ),
    ];
    let capture = case.capture(DLT_EN10MB, &frames);

    let lines = case.run(&capture, &[]);
    let expected = format!(
        "\"2026-01-15 12:00:00.000002\" test {} 40002 {} 8080 TCP URL \
         (www.)bad.example/gate.php(?id=7) \"evil (malware)\" (static)",
        v4(CLIENT),
        v4(SERVER)
    );
    assert_eq!(lines, vec![expected]);
}

#[test]
fn http_bare_path_trail() {
    let case = Case::new();
    let request = b"GET /stage2.bin HTTP/1.0\r\nHost: files.example.net\r\n\r\n";
    let frame = ethernet(
        &[],
        0x0800,
        &ipv4_tcp(CLIENT, SERVER, 40003, 80, 1, request),
    );
    let capture = case.capture(DLT_EN10MB, &[(T0, 1, frame)]);

    let lines = case.run(&capture, &[]);
    let expected = format!(
        "\"2026-01-15 12:00:00.000001\" test {} 40003 {} 80 TCP URL \
         (files.example.net)/stage2.bin \"evil (malware)\" (static)",
        v4(CLIENT),
        v4(SERVER)
    );
    assert_eq!(lines, vec![expected]);
}

#[test]
fn http_host_header_domain() {
    let case = Case::new();
    let request = b"POST /x HTTP/1.1\r\nhost: Evil.Example:8000\r\ncontent-length: 0\r\n\r\n";
    let frame = ethernet(
        &[],
        0x0800,
        &ipv4_tcp(CLIENT, SERVER, 40004, 8001, 1, request),
    );
    let capture = case.capture(DLT_EN10MB, &[(T0, 1, frame)]);

    let lines = case.run(&capture, &[]);
    let expected = format!(
        "\"2026-01-15 12:00:00.000001\" test {} 40004 {} 8001 TCP DNS evil.example \
         \"evil (malware)\" (static)",
        v4(CLIENT),
        v4(SERVER)
    );
    assert_eq!(lines, vec![expected]);
}

#[test]
fn tls_server_name_split_across_segments() {
    let case = Case::new();
    let hello = client_hello("login.evil.example");
    let (first, second) = hello.split_at(20);
    let frames = vec![
        (
            T0,
            1,
            ethernet(
                &[],
                0x0800,
                &ipv4_tcp(CLIENT, SERVER, 40005, 8443, 9, first),
            ),
        ),
        (
            T0,
            3,
            ethernet(
                &[],
                0x0800,
                &ipv4_tcp(CLIENT, SERVER, 40005, 8443, 29, second),
            ),
        ),
    ];
    let capture = case.capture(DLT_EN10MB, &frames);

    let lines = case.run(&capture, &[]);
    let expected = format!(
        "\"2026-01-15 12:00:00.000003\" test {} 40005 {} 8443 TCP DNS (login).evil.example \
         \"evil (malware)\" (static)",
        v4(CLIENT),
        v4(SERVER)
    );
    assert_eq!(lines, vec![expected]);
}

#[test]
fn address_trails_ip_port_and_cidr() {
    let case = Case::new();
    let frames = vec![
        (
            T0,
            1,
            ethernet(
                &[],
                0x0800,
                &ipv4_syn(CLIENT, [198, 51, 100, 66], 40010, 22),
            ),
        ),
        (
            T0,
            2,
            ethernet(
                &[],
                0x0800,
                &ipv4_syn(CLIENT, [198, 51, 100, 77], 40011, 8443),
            ),
        ),
        (
            T0,
            3,
            ethernet(&[], 0x0800, &ipv4_syn(CLIENT, [203, 0, 113, 9], 40012, 80)),
        ),
        (
            T0,
            4,
            ethernet(&[], 0x86dd, &ipv6_syn(CLIENT6, SERVER6, 40013, 443)),
        ),
    ];
    let capture = case.capture(DLT_EN10MB, &frames);

    let lines = case.run(&capture, &[]);
    let client = v4(CLIENT);
    let expected = vec![
        format!(
            "\"2026-01-15 12:00:00.000001\" test {client} 40010 198.51.100.66 22 TCP IP \
             198.51.100.66 \"evil (malware)\" (static)"
        ),
        format!(
            "\"2026-01-15 12:00:00.000002\" test {client} 40011 198.51.100.77 8443 TCP IPORT \
             198.51.100.77:8443 \"evil (malware)\" (static)"
        ),
        format!(
            "\"2026-01-15 12:00:00.000003\" test {client} 40012 203.0.113.9 80 TCP IP \
             203.0.113.9 \"evil (malware)\" (static)"
        ),
    ];
    // The IPv6 SYN goes to 2001:db8::53, not to the listed [2001:db8::66]:443.
    assert_eq!(lines, expected);
}

#[test]
fn ipv6_ip_port_trail() {
    let case = Case::new();
    let server: [u8; 16] = [
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x66,
    ];
    let frame = ethernet(&[], 0x86dd, &ipv6_syn(CLIENT6, server, 40014, 443));
    let capture = case.capture(DLT_EN10MB, &[(T0, 1, frame)]);

    let lines = case.run(&capture, &[]);
    let expected = format!(
        "\"2026-01-15 12:00:00.000001\" test {} 40014 2001:db8::66 443 TCP IPORT \
         [2001:db8::66]:443 \"evil (malware)\" (static)",
        v6(CLIENT6)
    );
    assert_eq!(lines, vec![expected]);
}

#[test]
fn repeats_become_one_summary() {
    let case = Case::new();
    let frames: Vec<_> = (0..5)
        .map(|i| (T0 + i, 1, ethernet(&[], 0x0800, &query_ipv4())))
        .collect();
    let capture = case.capture(DLT_EN10MB, &frames);

    let lines = case.run(&capture, &[]);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0], dns_event_line(&v4(CLIENT), &v4(SERVER)));
    let summary = format!(
        "\"2026-01-15 12:00:04.000001\" test {} 40000 {} 53 UDP DNS (www).evil.example \
         \"evil (malware) (4 repeats suppressed)\" (static)",
        v4(CLIENT),
        v4(SERVER)
    );
    assert_eq!(lines[1], summary);
}

#[test]
fn whitelisted_domain_is_silent() {
    let case = Case::new();
    std::fs::write(
        case.dir.join("whitelist.txt"),
        "# CDN listed by mistake\nevil.example\n",
    )
    .unwrap();
    let capture = case.capture(DLT_EN10MB, &[(T0, 1, ethernet(&[], 0x0800, &query_ipv4()))]);
    let whitelist = case.dir.join("whitelist.txt");

    let lines = case.run(&capture, &["--whitelist", whitelist.to_str().unwrap()]);
    assert_eq!(lines, Vec::<String>::new());
}

#[test]
fn whitelisted_host_still_reported_talking_to_trail() {
    let case = Case::new();
    std::fs::write(case.dir.join("whitelist.txt"), format!("{}\n", v4(CLIENT))).unwrap();
    let frame = ethernet(
        &[],
        0x0800,
        &ipv4_syn(CLIENT, [198, 51, 100, 66], 40010, 22),
    );
    let capture = case.capture(DLT_EN10MB, &[(T0, 1, frame)]);
    let whitelist = case.dir.join("whitelist.txt");

    let lines = case.run(&capture, &["--whitelist", whitelist.to_str().unwrap()]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains(" TCP IP 198.51.100.66 "), "{}", lines[0]);
}

#[test]
fn ignore_rule_drops_event() {
    let case = Case::new();
    std::fs::write(
        case.dir.join("ignore.txt"),
        format!("{};*;*;53\n", v4(CLIENT)),
    )
    .unwrap();
    let capture = case.capture(DLT_EN10MB, &[(T0, 1, ethernet(&[], 0x0800, &query_ipv4()))]);
    let ignore = case.dir.join("ignore.txt");

    let lines = case.run(&capture, &["--ignore", ignore.to_str().unwrap()]);
    assert_eq!(lines, Vec::<String>::new());
}

#[test]
fn log_file_named_by_packet_date() {
    let case = Case::new();
    let frames = vec![
        (T0 + 43_199, 999_999, ethernet(&[], 0x0800, &query_ipv4())),
        (
            T0 + 43_200,
            0,
            ethernet(
                &[],
                0x0800,
                &ipv4_udp(CLIENT, SERVER, 40000, 53, &dns_query(8, "evil.example")),
            ),
        ),
    ];
    let capture = case.capture(DLT_EN10MB, &frames);
    case.run(&capture, &[]);

    let log_dir = case.dir.join("log");
    let day_one = std::fs::read_to_string(log_dir.join("2026-01-15.log")).unwrap();
    let day_two = std::fs::read_to_string(log_dir.join("2026-01-16.log")).unwrap();
    assert!(
        day_one.starts_with("\"2026-01-15 23:59:59.999999\""),
        "{day_one}"
    );
    assert!(
        day_two.starts_with("\"2026-01-16 00:00:00.000000\""),
        "{day_two}"
    );
}

#[test]
fn json_written_beside_text_log() {
    let case = Case::new();
    let capture = case.capture(DLT_EN10MB, &[(T0, 1, ethernet(&[], 0x0800, &query_ipv4()))]);
    case.run(&capture, &["--json"]);

    let json = std::fs::read_to_string(case.dir.join("log/2026-01-15.json")).unwrap();
    let value: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(value["trail"], "(www).evil.example");
    assert_eq!(value["type"], "DNS");
    assert_eq!(value["src_port"], 40000);
    assert_eq!(value["info"], "evil (malware)");
}

#[test]
fn full_disk_counted_and_survived() {
    let case = Case::new();
    let frames = vec![
        (T0, 1, ethernet(&[], 0x0800, &query_ipv4())),
        (
            T0,
            2,
            ethernet(
                &[],
                0x0800,
                &ipv4_syn(CLIENT, [198, 51, 100, 66], 40010, 22),
            ),
        ),
    ];
    let capture = case.capture(DLT_EN10MB, &frames);
    let log_dir = case.dir.join("full");
    std::fs::create_dir_all(&log_dir).unwrap();
    // /dev/full fails every write with ENOSPC, like a full disk.
    std::os::unix::fs::symlink("/dev/full", log_dir.join("2026-01-15.log")).unwrap();
    let stats = case.dir.join("stats.json");
    let trails = case.dir.join("trails");

    let output = run_sensor(&[
        "-r",
        capture.to_str().unwrap(),
        "--trails",
        trails.to_str().unwrap(),
        "--log-dir",
        log_dir.to_str().unwrap(),
        "--stats-json",
        stats.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);

    // Exit status 1: the run finished, but events were lost.
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot write event"), "{stderr}");
    let stats: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(stats).unwrap()).unwrap();
    assert_eq!(stats["write_errors"], 2, "{stats}");
    assert_eq!(stats["events_written"], 0, "{stats}");
    assert_eq!(stats["packets_read"], 2, "{stats}");
}

#[test]
fn request_split_after_first_byte() {
    let case = Case::new();
    let request = b"GET /gate.php HTTP/1.1\r\nHost: bad.example\r\n\r\n";
    let (first, second) = request.split_at(1);
    let frames = vec![
        (
            T0,
            1,
            ethernet(
                &[],
                0x0800,
                &ipv4_tcp(CLIENT, SERVER, 40020, 80, 700, first),
            ),
        ),
        (
            T0,
            2,
            ethernet(
                &[],
                0x0800,
                &ipv4_tcp(CLIENT, SERVER, 40020, 80, 701, second),
            ),
        ),
    ];
    let capture = case.capture(DLT_EN10MB, &frames);

    let lines = case.run(&capture, &[]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains(" TCP URL bad.example/gate.php "),
        "{}",
        lines[0]
    );
}

#[test]
fn client_hello_split_after_first_byte() {
    let case = Case::new();
    let hello = client_hello("evil.example");
    let (first, second) = hello.split_at(1);
    let frames = vec![
        (
            T0,
            1,
            ethernet(
                &[],
                0x0800,
                &ipv4_tcp(CLIENT, SERVER, 40021, 443, 50, first),
            ),
        ),
        (
            T0,
            2,
            ethernet(
                &[],
                0x0800,
                &ipv4_tcp(CLIENT, SERVER, 40021, 443, 51, second),
            ),
        ),
    ];
    let capture = case.capture(DLT_EN10MB, &frames);

    let lines = case.run(&capture, &[]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains(" TCP DNS evil.example "), "{}", lines[0]);
}

#[test]
fn proxy_target_wins_over_host_header() {
    let case = Case::new();
    let request = b"GET http://bad.example/gate.php HTTP/1.1\r\nHost: other.example\r\n\r\n";
    let frame = ethernet(
        &[],
        0x0800,
        &ipv4_tcp(CLIENT, SERVER, 40022, 3128, 1, request),
    );
    let capture = case.capture(DLT_EN10MB, &[(T0, 1, frame)]);

    let lines = case.run(&capture, &[]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains(" TCP URL bad.example/gate.php "),
        "{}",
        lines[0]
    );
}

#[test]
fn connect_target_host_matched() {
    let case = Case::new();
    let request = b"CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n";
    let frame = ethernet(
        &[],
        0x0800,
        &ipv4_tcp(CLIENT, SERVER, 40023, 3128, 1, request),
    );
    let capture = case.capture(DLT_EN10MB, &[(T0, 1, frame)]);

    let lines = case.run(&capture, &[]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains(" TCP DNS evil.example "), "{}", lines[0]);
}

#[test]
fn long_url_trail_is_cut() {
    let case = Case::new();
    let query = "a".repeat(4000);
    let request = format!("GET /stage2.bin?{query} HTTP/1.1\r\nHost: x.example\r\n\r\n");
    let segment = ipv4_tcp(CLIENT, SERVER, 40024, 80, 1, request.as_bytes());
    let capture = case.capture(DLT_EN10MB, &[(T0, 1, ethernet(&[], 0x0800, &segment))]);

    let lines = case.run(&capture, &[]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let event = trailwatch_event::parse_log_line(&lines[0]).unwrap();
    let trail = event.trail.as_str();
    assert!(trail.starts_with("(x.example)/stage2.bin(?aaaa"), "{trail}");
    assert!(trail.ends_with("..."), "{trail}");
    assert_eq!(trail.len(), 512);
}

#[test]
fn escape_sequence_in_path_is_escaped() {
    let case = Case::new();
    let request = b"GET /stage2.bin?\x1b[2J HTTP/1.1\r\nHost: x.example\r\n\r\n";
    let segment = ipv4_tcp(CLIENT, SERVER, 40025, 80, 1, request);
    let capture = case.capture(DLT_EN10MB, &[(T0, 1, ethernet(&[], 0x0800, &segment))]);

    let lines = case.run(&capture, &[]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(!lines[0].contains('\u{1b}'), "{:?}", lines[0]);
    assert!(
        lines[0].contains("(x.example)/stage2.bin(?\\x1b[2J)"),
        "{}",
        lines[0]
    );
}

#[test]
fn invalid_utf8_in_path_is_escaped() {
    let case = Case::new();
    let request = b"GET /gate.php?a\xe9b\xffc HTTP/1.1\r\nHost: bad.example\r\n\r\n";
    let segment = ipv4_tcp(CLIENT, SERVER, 40026, 80, 1, request);
    let capture = case.capture(DLT_EN10MB, &[(T0, 1, ethernet(&[], 0x0800, &segment))]);

    let lines = case.run(&capture, &[]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains(" TCP URL bad.example/gate.php(?a\\xe9b\\xffc) "),
        "{}",
        lines[0]
    );
}

#[test]
fn long_invalid_utf8_path_is_cut() {
    let case = Case::new();
    let mut request = b"GET /stage2.bin?".to_vec();
    request.extend(std::iter::repeat_n(0xe9, 3000));
    request.extend_from_slice(b" HTTP/1.1\r\nHost: x.example\r\n\r\n");
    let segment = ipv4_tcp(CLIENT, SERVER, 40027, 80, 1, &request);
    let capture = case.capture(DLT_EN10MB, &[(T0, 1, ethernet(&[], 0x0800, &segment))]);

    let lines = case.run(&capture, &[]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let event = trailwatch_event::parse_log_line(&lines[0]).unwrap();
    let trail = event.trail.as_str();
    assert!(
        trail.starts_with("(x.example)/stage2.bin(?\\xe9\\xe9"),
        "{trail}"
    );
    assert!(trail.len() <= 512, "{} bytes", trail.len());
    let escapes = trail
        .strip_prefix("(x.example)/stage2.bin(?")
        .and_then(|rest| rest.strip_suffix("..."))
        .unwrap_or_else(|| panic!("unexpected trail {trail}"));
    assert_eq!(escapes.len() % 4, 0, "an escape was split: {trail}");
    assert!(
        escapes
            .as_bytes()
            .chunks(4)
            .all(|escape| escape == b"\\xe9"),
        "{trail}"
    );
}

/// Runs the sensor on `frames` and returns its `--stats-json` counters.
fn stats_of(case: &Case, frames: &[(i64, i64, Vec<u8>)]) -> serde_json::Value {
    let capture = case.capture(DLT_EN10MB, frames);
    let stats = case.dir.join("stats.json");
    case.run(&capture, &["--stats-json", stats.to_str().unwrap()]);
    serde_json::from_str(&std::fs::read_to_string(stats).unwrap()).unwrap()
}

/// Splits `request` into segments of at most 1,400 bytes from sequence number 1000.
fn segments(request: &[u8]) -> Vec<(i64, i64, Vec<u8>)> {
    let mut frames = Vec::new();
    for (index, chunk) in request.chunks(1400).enumerate() {
        let seq = 1000 + (index * 1400) as u32;
        let tcp = ipv4_tcp(CLIENT, SERVER, 40030, 80, seq, chunk);
        frames.push((T0, index as i64, ethernet(&[], 0x0800, &tcp)));
    }
    frames
}

#[test]
fn oversized_request_line_counted() {
    let case = Case::new();
    let mut request = b"GET /".to_vec();
    request.resize(9000, b'a');
    request.extend_from_slice(b" HTTP/1.1\r\nHost: evil.example\r\n\r\n");

    let stats = stats_of(&case, &segments(&request));

    assert_eq!(stats["messages_over_limit"], 1, "{stats}");
    assert_eq!(stats["http_requests"], 0, "{stats}");
}

#[test]
fn oversized_request_head_counted() {
    let case = Case::new();
    let mut request = b"GET / HTTP/1.1\r\n".to_vec();
    for index in 0..300 {
        request
            .extend_from_slice(format!("X-Filler-{index:03}: {}\r\n", "f".repeat(40)).as_bytes());
    }
    request.extend_from_slice(b"Host: evil.example\r\n\r\n");
    assert!(request.len() > 16_000);

    let stats = stats_of(&case, &segments(&request));

    assert_eq!(stats["messages_over_limit"], 1, "{stats}");
    assert_eq!(stats["http_requests"], 1, "{stats}");
}
