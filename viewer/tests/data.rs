//! Data endpoints on logs written by the sensor's log writer and by hand in Maltrail's format.

mod common;

use std::fs::OpenOptions;
use std::io::Write;

use common::{day, event, get, TestViewer};

/// Three events today: two from 10.0.0.5 (one at 09:10, one at 14:20) and one from
/// 192.0.2.77 to 10.1.1.1, plus one event yesterday.
fn viewer_with_events() -> TestViewer {
    let viewer = TestViewer::start();
    let today = day(0);
    viewer.write_events(&[
        event(
            day(-1),
            23,
            0,
            "10.0.0.5",
            "203.0.113.1",
            "203.0.113.1",
            "old hit",
        ),
        event(
            today,
            9,
            10,
            "10.0.0.5",
            "203.0.113.1",
            "203.0.113.1",
            "emotet (malware)",
        ),
        event(
            today,
            11,
            0,
            "192.0.2.77",
            "10.1.1.1",
            "192.0.2.77",
            "known attacker",
        ),
        event(
            today,
            14,
            20,
            "10.0.0.5",
            "203.0.113.1",
            "203.0.113.1",
            "emotet (malware)",
        ),
        event(
            today,
            15,
            0,
            "198.51.100.4",
            "198.51.100.9",
            "198.51.100.9",
            "outside",
        ),
    ]);
    viewer
}

#[test]
fn events_page_sorted_newest_first() {
    let viewer = viewer_with_events();
    let session = viewer.login("admin");

    // A day this small is counted during the first request, which reads the page from the end
    // of the file. The filtered request (every IPv4 source) takes the index.
    let page = session.json("/api/events?limit=2");
    let events = page["events"].as_array().unwrap();
    let indexed = session.json("/api/events?limit=2&src=0.0.0.0/0");

    assert_eq!(page["total"], 4, "first page: {page}");
    assert_eq!(indexed["total"], 4);
    assert_eq!(indexed["events"], page["events"]);
    assert_eq!(events.len(), 2);
    assert!(events[0]["time"]
        .as_str()
        .unwrap()
        .contains(" 15:00:00.250000"));
    assert!(events[1]["time"]
        .as_str()
        .unwrap()
        .contains(" 14:20:00.250000"));
    assert_eq!(events[1]["src_ip"], "10.0.0.5");
    assert_eq!(events[1]["dst_port"], 443);
    assert_eq!(events[1]["severity"], "high");
    assert_eq!(events[1]["type"], "IP");
}

#[test]
fn events_filter_and_paging() {
    let viewer = viewer_with_events();
    let session = viewer.login("admin");
    let from = day(-1);
    let to = day(0);

    let by_src = session.json("/api/events?src=10.0.0.5");
    let range = session.json(&format!(
        "/api/events?from={from}&to={to}&sort=time&offset=1"
    ));
    let by_info = session.json("/api/events?info=EMOTET&severity=high");
    let by_text = session.json("/api/events?q=known+attacker");
    let none = session.json("/api/events?port=22");

    assert_eq!(by_src["total"], 2);
    assert_eq!(range["total"], 5);
    assert_eq!(range["offset"], 1);
    assert_eq!(range["events"].as_array().unwrap().len(), 4);
    assert!(range["events"][0]["time"]
        .as_str()
        .unwrap()
        .contains(" 09:10:00"));
    assert_eq!(by_info["total"], 2);
    assert_eq!(by_text["total"], 1);
    assert_eq!(by_text["events"][0]["src_ip"], "192.0.2.77");
    assert_eq!(none["total"], 0);
}

#[test]
fn events_sorted_by_source() {
    let viewer = viewer_with_events();
    let session = viewer.login("admin");

    let page = session.json("/api/events?sort=src");
    let sources: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["src_ip"].as_str().unwrap())
        .collect();

    assert_eq!(
        sources,
        ["10.0.0.5", "10.0.0.5", "192.0.2.77", "198.51.100.4"]
    );
}

#[test]
fn threats_grouped_by_source_and_trail() {
    let viewer = viewer_with_events();
    let session = viewer.login("admin");

    let body = session.json("/api/threats");
    let threats = body["threats"].as_array().unwrap();
    let top = &threats[0];
    let sparkline = top["sparkline"].as_array().unwrap();

    assert_eq!(threats.len(), 3);
    assert_eq!(top["src_ip"], "10.0.0.5");
    assert_eq!(top["count"], 2);
    assert_eq!(top["severity"], "high");
    assert!(top["first"].as_str().unwrap().contains(" 09:10:00"));
    assert!(top["last"].as_str().unwrap().contains(" 14:20:00"));
    assert_eq!(sparkline.len(), 24);
    assert_eq!(sparkline[9], 1);
    assert_eq!(sparkline[14], 1);
}

#[test]
fn timeline_hours_for_one_day() {
    let viewer = viewer_with_events();
    let session = viewer.login("admin");
    let from = day(-1);
    let to = day(0);

    let hours = session.json("/api/timeline");
    let days = session.json(&format!("/api/timeline?from={from}&to={to}"));

    assert_eq!(hours["unit"], "hour");
    assert_eq!(hours["buckets"].as_array().unwrap().len(), 24);
    assert_eq!(hours["buckets"][9]["count"], 1);
    assert_eq!(hours["buckets"][11]["count"], 1);
    assert_eq!(days["unit"], "day");
    assert_eq!(days["buckets"][0]["start"], from.to_string());
    assert_eq!(days["buckets"][0]["count"], 1);
    assert_eq!(days["buckets"][1]["count"], 4);
}

#[test]
fn pivot_on_source_lists_peers() {
    let viewer = viewer_with_events();
    let session = viewer.login("admin");
    let from = day(-1);

    let pivot = session.json(&format!("/api/pivot?kind=src&value=10.0.0.5&from={from}"));

    assert_eq!(pivot["kind"], "src");
    assert_eq!(pivot["total"], 3);
    assert_eq!(pivot["days"].as_array().unwrap().len(), 2);
    assert_eq!(pivot["peers"][0]["value"], "203.0.113.1");
    assert_eq!(pivot["peers"][0]["count"], 3);
    assert_eq!(pivot["events"].as_array().unwrap().len(), 3);
    assert_eq!(pivot["events"][0]["info"], "old hit");
    assert!(pivot["first"]
        .as_str()
        .unwrap()
        .starts_with(&from.to_string()));
}

#[test]
fn live_returns_appended_lines() {
    let viewer = viewer_with_events();
    let session = viewer.login("admin");

    let first = session.json("/api/live");
    let next = first["next"].as_u64().unwrap();
    let idle = session.json(&format!("/api/live?after={next}"));
    viewer.write_events(&[event(day(0), 16, 0, "10.9.9.9", "203.0.113.1", "t", "late")]);
    let after = session.json(&format!("/api/live?after={next}"));

    assert_eq!(first["events"].as_array().unwrap().len(), 4);
    assert_eq!(idle["events"].as_array().unwrap().len(), 0);
    assert_eq!(idle["next"], next);
    assert_eq!(after["events"].as_array().unwrap().len(), 1);
    assert_eq!(after["events"][0]["src_ip"], "10.9.9.9");
    assert!(after["next"].as_u64().unwrap() > next);
}

#[test]
fn live_empty_before_first_event() {
    let viewer = TestViewer::start();
    let session = viewer.login("admin");

    let reply = session.get("/api/live");

    assert_eq!(reply.status, 200, "{}", reply.body);
    let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(body["events"], serde_json::json!([]));
    assert_eq!(body["next"], 0);
}

#[test]
fn exports_stream_every_row() {
    let viewer = viewer_with_events();
    let session = viewer.login("admin");

    let csv = session.get("/api/export.csv?src=10.0.0.5");
    let json = session.get("/api/export.json");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&json.body).unwrap();

    assert_eq!(csv.status, 200);
    assert!(csv
        .header("content-disposition")
        .unwrap()
        .starts_with("attachment"));
    assert_eq!(csv.body.lines().count(), 3);
    assert!(csv.body.starts_with("time,sensor,src_ip"));
    assert!(json
        .header("content-disposition")
        .unwrap()
        .contains(".json"));
    assert_eq!(rows.len(), 4);
}

#[test]
fn network_scoped_user_sees_own_events() {
    let viewer = viewer_with_events();
    let lan = viewer.login("lan");
    let reader = viewer.login("reader");

    let scoped = lan.json("/api/events");
    let sources: Vec<&str> = scoped["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["src_ip"].as_str().unwrap())
        .collect();
    let threats = lan.json("/api/threats");
    let raw = lan.get("/events");
    let export = lan.get("/api/export.json");

    // 10.0.0.5 as source twice, and 10.1.1.1 as destination once; 198.51.100.x is outside.
    assert_eq!(scoped["total"], 3);
    assert!(!sources.contains(&"198.51.100.4"), "{sources:?}");
    assert_eq!(threats["threats"].as_array().unwrap().len(), 2);
    assert_eq!(raw.body.lines().count(), 3);
    assert!(!raw.body.contains("198.51.100.4"));
    assert!(!export.body.contains("198.51.100.4"));
    assert_eq!(reader.json("/api/events")["total"], 4);
}

#[test]
fn maltrail_format_log_served() {
    let viewer = TestViewer::start();
    let date = "2026-01-15";
    // Lines as a Maltrail sensor writes them: the quoted local time, sensor name, and the
    // reference "(static)" for trails from the static lists.
    let lines = concat!(
        "\"2026-01-15 08:01:02.123456\" maltrail-sensor 192.168.5.10 49152 185.220.101.4 443 TCP IP 185.220.101.4 \"tor exit node (suspicious)\" (static)\n",
        "\"2026-01-15 08:03:00.000001\" maltrail-sensor 192.168.5.11 53210 192.168.5.1 53 UDP DNS \"(sub.)evil-domain.test\" \"emotet (malware)\" abuse.ch\n",
        "\"2026-01-15 09:00:00.500000\" maltrail-sensor 192.168.5.12 - 198.51.100.66 - ICMP IP 198.51.100.66 \"known attacker\" (static)\n",
    );
    std::fs::write(viewer.log_dir().join(format!("{date}.log")), lines).unwrap();
    let session = viewer.login("admin");

    let raw = session.get(&format!("/events?date={date}"));
    let counts = session.json(&format!("/counts?from={date}&to=2026-01-16"));
    let events = session.json(&format!("/api/events?from={date}&type=dns"));

    assert_eq!(raw.status, 200);
    assert!(raw
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    assert_eq!(raw.body, lines);
    assert_eq!(counts, serde_json::json!({"2026-01-15": 3}));
    assert_eq!(events["total"], 1);
    assert_eq!(events["events"][0]["trail"], "(sub.)evil-domain.test");
    assert_eq!(events["events"][0]["severity"], "high");
    assert_eq!(events["events"][0]["reference"], "abuse.ch");
}

#[test]
fn raw_events_skip_unfinished_line() {
    let viewer = viewer_with_events();
    let path = viewer.log_dir().join(format!("{}.log", day(0)));
    let mut file = OpenOptions::new().append(true).open(path).unwrap();
    file.write_all(b"\"2026-01-15 08:01:02.123456\" half-writ")
        .unwrap();
    let session = viewer.login("admin");

    let raw = session.get("/events");

    assert_eq!(raw.body.lines().count(), 4);
    assert!(!raw.body.contains("half-writ"));
}

#[test]
fn fail2ban_lists_sources_for_allowed() {
    let viewer = viewer_with_events();

    let reply = get(viewer.addr, "/fail2ban", None);
    let sources: Vec<&str> = reply.body.lines().collect();

    assert_eq!(reply.status, 200);
    assert_eq!(sources, ["10.0.0.5", "192.0.2.77", "198.51.100.4"]);
}

#[test]
fn fail2ban_rejects_other_addresses() {
    let viewer = TestViewer::start_with(|config| {
        config.fail2ban_allow = vec!["10.0.0.0/8".parse().unwrap()];
    });

    let reply = get(viewer.addr, "/fail2ban", None);

    assert_eq!(reply.status, 403);
}

#[test]
fn listens_on_ipv6_loopback() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        println!("skipped: no IPv6 loopback on this machine");
        return;
    }
    let viewer = TestViewer::start_with(|config| {
        config.listen = vec!["[::1]:0".parse().unwrap()];
    });

    let reply = get(viewer.addr, "/ping", None);
    let fail2ban = get(viewer.addr, "/fail2ban", None);

    assert!(viewer.addr.is_ipv6());
    assert_eq!(reply.body, "pong");
    assert_eq!(fail2ban.status, 200);
}

#[test]
fn network_scope_on_every_endpoint() {
    let viewer = viewer_with_events();
    let lan = viewer.login("lan");
    let today = day(0);
    let outside = "198.51.100.4";

    // Today has 4 events, 3 of them involving 10.0.0.0/8; 198.51.100.4 -> .9 is outside.
    let timeline = lan.json("/api/timeline");
    let hourly: u64 = timeline["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|bucket| bucket["count"].as_u64().unwrap())
        .sum();
    let counts = lan.json(&format!("/counts?from={today}&to={today}"));
    let live = lan.get("/api/live");
    let source_pivot = lan.json(&format!("/api/pivot?kind=src&value={outside}"));
    let trail_pivot = lan.json("/api/pivot?kind=trail&value=198.51.100.9");
    let csv = lan.get("/api/export.csv");
    let raw = lan.get(&format!("/events?date={today}"));
    let threats = lan.get("/api/threats");

    assert_eq!(hourly, 3, "timeline: {timeline}");
    assert_eq!(counts[today.to_string()], 3, "counts: {counts}");
    assert_eq!(live.status, 200);
    assert!(!live.body.contains(outside), "live: {}", live.body);
    assert_eq!(source_pivot["total"], 0, "pivot: {source_pivot}");
    assert_eq!(trail_pivot["total"], 0, "pivot: {trail_pivot}");
    assert!(!trail_pivot.to_string().contains(outside));
    assert!(!csv.body.contains(outside), "csv: {}", csv.body);
    assert_eq!(csv.body.lines().count(), 4, "csv: {}", csv.body);
    assert!(!raw.body.contains(outside), "events: {}", raw.body);
    assert!(!threats.body.contains(outside), "threats: {}", threats.body);
}

#[test]
fn long_range_query_stops_at_limit() {
    let viewer = TestViewer::start_with(|config| {
        config.query_time_limit = std::time::Duration::ZERO;
    });
    viewer.write_events(&[
        event(
            day(-1),
            9,
            0,
            "10.0.0.5",
            "203.0.113.1",
            "203.0.113.1",
            "old",
        ),
        event(
            day(0),
            9,
            0,
            "10.0.0.5",
            "203.0.113.1",
            "203.0.113.1",
            "new",
        ),
    ]);
    let session = viewer.login("admin");
    let range = format!("from={}&to={}", day(-1), day(0));

    // With no time at all, a query reads its first day and stops before the second.
    let events = session.get(&format!("/api/events?{range}&src=10.0.0.5"));
    let threats = session.get(&format!("/api/threats?{range}"));
    let one_day = session.get("/api/threats");
    let export = session.get(&format!("/api/export.csv?{range}"));

    assert_eq!(events.status, 503, "{}", events.body);
    assert!(
        events.error().contains("reading 1 of 2 days"),
        "{}",
        events.body
    );
    assert!(
        events.error().contains("narrow the dates"),
        "{}",
        events.body
    );
    assert_eq!(threats.status, 503, "{}", threats.body);
    assert_eq!(one_day.status, 200, "{}", one_day.body);
    assert_eq!(export.status, 200);
    assert_eq!(
        export.body.lines().count(),
        3,
        "an export has no time limit"
    );
}

#[test]
fn bad_line_keeps_event_before_it() {
    let viewer = TestViewer::start();
    let session = viewer.login("admin");
    let cases = [
        ("2026-01-15", &b"this is not an event\n"[..]),
        ("2026-01-16", &b"\"2026-01-16 \xff\n"[..]),
    ];

    for (date, bad) in cases {
        let line = |time: &str, src: &str, info: &str| {
            format!("\"{date} {time}\" s1 {src} 49152 203.0.113.1 443 TCP IP 203.0.113.1 \"{info}\" feed\n")
        };
        let mut bytes = line("08:01:02.123456", "10.0.0.1", "first").into_bytes();
        bytes.extend_from_slice(bad);
        bytes.extend_from_slice(line("08:03:00.000001", "10.0.0.2", "second").as_bytes());
        std::fs::write(viewer.log_dir().join(format!("{date}.log")), bytes).unwrap();

        let page = session.json(&format!("/api/events?from={date}&to={date}&sort=time"));
        let csv = session.get(&format!("/api/export.csv?from={date}&to={date}"));

        assert_eq!(page["total"], 2, "{date}: {page}");
        assert_eq!(page["events"][0]["info"], "first", "{date}: {page}");
        assert_eq!(page["events"][1]["info"], "second", "{date}: {page}");
        assert_eq!(csv.body.lines().count(), 3, "{date}: {}", csv.body);
        assert!(csv.body.contains("first"), "{date}: {}", csv.body);
    }
}
