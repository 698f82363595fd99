//! Replays the real captures in the shared capture folder through the sensor binary.
//!
//! Each capture comes with `FILE.expect.txt`, the names tshark extracted from it. Every DNS
//! query name, HTTP Host and TLS server name listed there, written into a trail file, must
//! produce an event whose trail is that name. With an empty trail set, no capture may produce
//! any event.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{custom_trails, log_events, run_sensor, shared_captures};

/// Names the sensor is expected to match, from one expect file.
fn expected_names(expect: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in expect.lines() {
        let Some((key, value)) = line.split_once(' ') else {
            continue;
        };
        if !matches!(key, "dns_query" | "http_host" | "tls_sni") {
            continue;
        }
        // The root name "." would be a trail that matches every name; it is not a usable
        // indicator, so it is left out.
        if value == "." {
            continue;
        }
        // A Host header may carry a port (`192.168.2.21:8000`); trails match the host alone.
        let host = match value.rsplit_once(':') {
            Some((host, port)) if port.parse::<u16>().is_ok() && !host.contains(':') => host,
            _ => value,
        };
        names.insert(host.to_ascii_lowercase());
    }
    names
}

fn captures(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            name.ends_with(".pcap") || name.ends_with(".pcapng")
        })
        .collect();
    files.sort();
    files
}

#[test]
fn expected_names_become_events() {
    let Some(dir) = shared_captures() else { return };
    let mut checked = 0;
    let mut failures = Vec::new();

    for capture in captures(&dir) {
        let expect_path = format!("{}.expect.txt", capture.display());
        let expect = std::fs::read_to_string(&expect_path).unwrap();
        let names = expected_names(&expect);
        if names.is_empty() {
            continue;
        }

        let work = tempfile::tempdir().unwrap();
        let trails = custom_trails(work.path(), &names.iter().cloned().collect::<Vec<_>>());
        let log_dir = work.path().join("log");
        let output = run_sensor(&[
            "-r",
            capture.to_str().unwrap(),
            "--trails",
            trails.to_str().unwrap(),
            "--log-dir",
            log_dir.to_str().unwrap(),
            "--sensor-name",
            "replay",
        ]);
        assert!(
            output.status.code().is_some(),
            "{}: the sensor was killed by a signal",
            capture.display()
        );

        let trails_seen: BTreeSet<String> = log_events(&log_dir)
            .into_iter()
            .map(|event| event.trail)
            .collect();
        for name in &names {
            checked += 1;
            if !trails_seen.contains(name) {
                failures.push(format!(
                    "{}: no event with trail {name:?} (events: {trails_seen:?})",
                    capture.file_name().unwrap().to_string_lossy()
                ));
            }
        }
    }

    assert!(
        checked >= 60,
        "only {checked} expected names were found in the expect files"
    );
    assert!(
        failures.is_empty(),
        "{} names not detected:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn empty_trails_give_no_events() {
    let Some(dir) = shared_captures() else { return };
    let work = tempfile::tempdir().unwrap();
    let trails = custom_trails(work.path(), &[]);

    // Heuristics raise events without trails (the SYN scan capture is a real port scan), so
    // they are off here; tests/heuristics_captures.rs covers them.
    for capture in captures(&dir) {
        let log_dir = work.path().join(capture.file_name().unwrap());
        let output = run_sensor(&[
            "--no-heuristics",
            "-r",
            capture.to_str().unwrap(),
            "--trails",
            trails.to_str().unwrap(),
            "--log-dir",
            log_dir.to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.code().is_some(),
            "{}: killed by a signal",
            capture.display()
        );
        assert!(
            !stderr.contains("panicked"),
            "{}: panic: {stderr}",
            capture.display()
        );
        assert!(
            log_events(&log_dir).is_empty(),
            "{}: events from an empty trail set",
            capture.display()
        );
    }
}
