//! How the sensor treats files that are empty, cut short, of an unsupported link type, or not
//! captures at all.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{custom_trails, frames, log_events, run_sensor, shared_captures};

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

#[test]
fn file_rejected_by_libpcap_fails() {
    let Some(dir) = shared_captures() else { return };
    let work = tempfile::tempdir().unwrap();
    let trails = custom_trails(work.path(), &[]);
    // libpcap 1.10 refuses pcapng interfaces whose snapshot lengths differ.
    let capture = dir.join("zeek-ldap_modify-request.pcapng");

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
    assert!(stderr.contains("libpcap stopped reading after"), "{stderr}");
}

#[test]
fn sigterm_flushes_summaries_and_stats() {
    let work = tempfile::tempdir().unwrap();
    let trails = custom_trails(work.path(), &["evil.example".to_string()]);
    let log_dir = work.path().join("log");
    let stats = work.path().join("stats.json");
    let capture = work.path().join("repeats.pcap");
    let query = frames::ipv4_udp(
        frames::CLIENT,
        frames::SERVER,
        40000,
        53,
        &frames::dns_query(1, "evil.example"),
    );
    let records: Vec<_> = (0..5)
        .map(|i| (1_768_478_400 + i, 0, frames::ethernet(&[], 0x0800, &query)))
        .collect();
    frames::write_pcap(&capture, 1, &records);

    let mut child = Command::new(env!("CARGO_BIN_EXE_trailwatch-sensor"))
        .args(["-r", "-", "--trails", trails.to_str().unwrap()])
        .args(["--log-dir", log_dir.to_str().unwrap()])
        .args(["--stats-json", stats.to_str().unwrap()])
        .env("TZ", "UTC")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Keep standard input open after the records, as a slow producer would.
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&std::fs::read(&capture).unwrap()).unwrap();
    stdin.flush().unwrap();
    wait_for_file(&log_dir.join("2026-01-15.log"));
    std::thread::sleep(std::time::Duration::from_millis(200));
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let output = child.wait_with_output().unwrap();
    drop(stdin);
    let stderr = stderr_of(&output);

    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("stopped by a signal"), "{stderr}");
    let events = log_events(&log_dir);
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[1].info_and_repeats(), ("expected", 4));
    let stats: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    assert_eq!(stats["packets_read"], 5, "{stats}");
}

fn wait_for_file(path: &std::path::Path) {
    for _ in 0..200 {
        if path.exists() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    panic!("{} did not appear", path.display());
}
