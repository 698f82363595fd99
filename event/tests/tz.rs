//! The log line and the JSON line follow the `TZ` environment variable.
//!
//! Setting `TZ` inside a multi-threaded test binary is unsound, so each case runs this test
//! binary again as a child process with `TZ` set, and the child renders one event.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use trailwatch_event::{Event, Proto, Timestamp, TrailType};

/// Set in the child process, where `child_prints_rendered_event` does its work.
const CHILD_VAR: &str = "TRAILWATCH_EVENT_TZ_CHILD";

/// 2026-12-04T20:16:54.123456789Z.
const PACKET_TIME: Timestamp = Timestamp {
    secs: 1_796_415_414,
    nanos: 123_456_789,
};

fn sample_event() -> Event {
    Event {
        time: PACKET_TIME,
        sensor: Arc::from("edge1"),
        src_ip: IpAddr::V4(Ipv4Addr::new(192, 168, 1, 20)),
        src_port: Some(51234),
        dst_ip: IpAddr::V4(Ipv4Addr::new(8, 8, 8, 8)),
        dst_port: Some(53),
        proto: Proto::Udp,
        trail_type: TrailType::Dns,
        trail: "evil.example.com".to_string(),
        info: "malware".to_string(),
        reference: "abuse.ch".to_string(),
        repeats: 0,
    }
}

/// Output of the child for one time zone.
struct Rendered {
    line: String,
    json: String,
    date: String,
}

/// Runs as a normal test and does nothing, except in the child process started by
/// `render_with_tz`, where it prints the renderings of the sample event.
#[test]
fn child_prints_rendered_event() {
    if std::env::var_os(CHILD_VAR).is_none() {
        return;
    }

    // libtest prints the test name without a newline, so start the output on a fresh line.
    let event = sample_event();
    println!();
    print!("line: {}", event.to_log_line());
    print!("json: {}", event.to_json_line());
    println!("date: {}", event.log_date());
}

fn render_with_tz(tz: &str) -> Rendered {
    let exe = std::env::current_exe().expect("path of the running test binary");
    let output = Command::new(exe)
        .args([
            "--exact",
            "child_prints_rendered_event",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("TZ", tz)
        .env(CHILD_VAR, "1")
        .output()
        .expect("child test process starts");
    assert!(
        output.status.success(),
        "child failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let stdout = String::from_utf8(output.stdout).expect("child output is UTF-8");
    let value_of = |prefix: &str| {
        stdout
            .lines()
            .find_map(|line| line.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("child output has no {prefix:?} line: {stdout}"))
            .to_string()
    };

    Rendered {
        line: value_of("line: "),
        json: value_of("json: "),
        date: value_of("date: "),
    }
}

/// Returns whether the zone file exists, printing a skip message when it does not.
fn zone_installed(zone: &str) -> bool {
    let installed = Path::new("/usr/share/zoneinfo").join(zone).exists();
    if !installed {
        println!("skipped: /usr/share/zoneinfo/{zone} is not installed");
    }
    installed
}

#[test]
fn utc_zone_renders_utc_time() {
    let rendered = render_with_tz("UTC");
    let expected = "\"2026-12-04 20:16:54.123456\" edge1 192.168.1.20 51234 8.8.8.8 53 UDP DNS \
                    evil.example.com malware abuse.ch";

    assert_eq!(rendered.line, expected);
}

#[test]
fn kolkata_zone_shifts_line_and_date() {
    if !zone_installed("Asia/Kolkata") {
        return;
    }
    let rendered = render_with_tz("Asia/Kolkata");
    let expected = "\"2026-12-05 01:46:54.123456\" edge1 192.168.1.20 51234 8.8.8.8 53 UDP DNS \
                    evil.example.com malware abuse.ch";

    assert_eq!(rendered.line, expected);
    assert_eq!(rendered.date, "2026-12-05");
}

#[test]
fn kolkata_zone_shifts_json_time() {
    if !zone_installed("Asia/Kolkata") {
        return;
    }
    let rendered = render_with_tz("Asia/Kolkata");

    assert!(
        rendered
            .json
            .starts_with(r#"{"time":"2026-12-05T01:46:54.123456+05:30","#),
        "{}",
        rendered.json
    );
}

#[test]
fn new_york_zone_renders_standard_time() {
    if !zone_installed("America/New_York") {
        return;
    }
    let rendered = render_with_tz("America/New_York");

    assert!(
        rendered.line.starts_with("\"2026-12-04 15:16:54.123456\" "),
        "{}",
        rendered.line
    );
}

#[test]
fn posix_tz_string_needs_no_zone_file() {
    // A POSIX TZ rule works on a firmware image that ships no zoneinfo files.
    let rendered = render_with_tz("IST-5:30");

    assert!(
        rendered.line.starts_with("\"2026-12-05 01:46:54.123456\" "),
        "{}",
        rendered.line
    );
}
