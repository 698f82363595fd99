//! How the sensor treats files that are empty, cut short, of an unsupported link type, or not
//! captures at all.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{custom_trails, log_events, run_sensor, shared_captures};

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn truncated_file_keeps_complete_records() {
    let Some(dir) = shared_captures() else { return };
    let work = tempfile::tempdir().unwrap();
    let trails = custom_trails(work.path(), &["bro.org".to_string()]);
    let log_dir = work.path().join("log");
    let capture = dir.join("derived-truncated-midrecord.pcap");

    let output = run_sensor(&[
        "-r",
        capture.to_str().unwrap(),
        "--trails",
        trails.to_str().unwrap(),
        "--log-dir",
        log_dir.to_str().unwrap(),
    ]);
    let stderr = stderr_of(&output);

    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("cut short"), "{stderr}");
    assert!(stderr.contains("5 complete records"), "{stderr}");
    let events = log_events(&log_dir);
    assert!(
        events.iter().any(|event| event.trail == "bro.org"),
        "{events:?}"
    );
}

#[test]
fn unsupported_link_type_names_file_and_value() {
    let Some(dir) = shared_captures() else { return };
    let work = tempfile::tempdir().unwrap();
    let trails = custom_trails(work.path(), &[]);
    let capture = dir.join("tcpdump-unsupported-link-type-160.pcap");

    let output = run_sensor(&[
        "-r",
        capture.to_str().unwrap(),
        "--trails",
        trails.to_str().unwrap(),
        "--log-dir",
        work.path().join("log").to_str().unwrap(),
    ]);
    let stderr = stderr_of(&output);

    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("tcpdump-unsupported-link-type-160.pcap"),
        "{stderr}"
    );
    assert!(stderr.contains("link type 160"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn non_capture_file_is_an_error() {
    let work = tempfile::tempdir().unwrap();
    let trails = custom_trails(work.path(), &[]);
    let bogus = work.path().join("notes.pcap");
    std::fs::write(&bogus, "this is a text file, not a capture\n").unwrap();

    let output = run_sensor(&[
        "-r",
        bogus.to_str().unwrap(),
        "--trails",
        trails.to_str().unwrap(),
        "--log-dir",
        work.path().join("log").to_str().unwrap(),
    ]);
    let stderr = stderr_of(&output);

    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("notes.pcap"), "{stderr}");
    assert!(
        stderr.contains("expected a pcap or pcapng capture file"),
        "{stderr}"
    );
}

#[test]
fn missing_file_is_an_error() {
    let work = tempfile::tempdir().unwrap();
    let trails = custom_trails(work.path(), &[]);
    let output = run_sensor(&[
        "-r",
        "/nonexistent/trace.pcap",
        "--trails",
        trails.to_str().unwrap(),
        "--log-dir",
        work.path().join("log").to_str().unwrap(),
    ]);
    let stderr = stderr_of(&output);

    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("/nonexistent/trace.pcap"), "{stderr}");
    assert!(stderr.contains("No such file"), "{stderr}");
}

#[test]
fn empty_captures_read_cleanly() {
    let Some(dir) = shared_captures() else { return };
    let work = tempfile::tempdir().unwrap();
    let trails = custom_trails(work.path(), &[]);

    for name in ["tcpdump-empty.pcap", "tcpdump-empty.pcapng"] {
        let output = run_sensor(&[
            "-r",
            dir.join(name).to_str().unwrap(),
            "--trails",
            trails.to_str().unwrap(),
            "--log-dir",
            work.path().join("log").to_str().unwrap(),
        ]);
        let stderr = stderr_of(&output);
        assert_eq!(output.status.code(), Some(0), "{name}: {stderr}");
        assert!(stderr.contains("0 read"), "{name}: {stderr}");
    }
}

#[test]
fn standard_input_is_read() {
    let Some(dir) = shared_captures() else { return };
    let work = tempfile::tempdir().unwrap();
    let trails = custom_trails(work.path(), &["www.tcpdump.org".to_string()]);
    let log_dir = work.path().join("log");
    let capture = std::fs::read(dir.join("tcpdump-dns_tcp.pcap")).unwrap();

    let mut child = Command::new(env!("CARGO_BIN_EXE_trailwatch-sensor"))
        .args(["-r", "-", "--trails", trails.to_str().unwrap()])
        .args(["--log-dir", log_dir.to_str().unwrap()])
        .env("TZ", "UTC")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&capture).unwrap();
    let output = child.wait_with_output().unwrap();

    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let events = log_events(&log_dir);
    assert!(
        events.iter().any(|event| event.trail == "www.tcpdump.org"),
        "{events:?}"
    );
}

#[test]
fn several_files_read_in_order() {
    let Some(dir) = shared_captures() else { return };
    let work = tempfile::tempdir().unwrap();
    let trails = custom_trails(
        work.path(),
        &["example.com".to_string(), "bro.org".to_string()],
    );
    let log_dir = work.path().join("log");

    let output = run_sensor(&[
        "-r",
        dir.join("tcpdump-LINKTYPE_RAW_ipv4.pcap").to_str().unwrap(),
        "-r",
        dir.join("zeek-http-vlan-0.pcap").to_str().unwrap(),
        "--trails",
        trails.to_str().unwrap(),
        "--log-dir",
        log_dir.to_str().unwrap(),
    ]);

    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let trails_seen: Vec<String> = log_events(&log_dir).into_iter().map(|e| e.trail).collect();
    assert!(
        trails_seen.contains(&"example.com".to_string()),
        "{trails_seen:?}"
    );
    assert!(
        trails_seen.contains(&"bro.org".to_string()),
        "{trails_seen:?}"
    );
}
