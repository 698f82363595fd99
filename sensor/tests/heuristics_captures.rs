//! Heuristics on the real traffic of the shared captures: the events they raise are the ones
//! listed here, each with the reason it is expected.

mod common;

use common::{custom_trails, log_events, run_sensor, shared_captures};

/// (capture file, info, trail) of every heuristic event the shared captures raise.
const EXPECTED: [(&str, &str, &str); 3] = [
    // The capture exists to show a request with an empty User-Agent header.
    (
        "arkime-http-empty-useragent.pcap",
        "empty user agent (suspicious)",
        "(empty)",
    ),
    // A SYN scan of 64.13.134.52 (scanme.nmap.org) by 172.16.0.8.
    (
        "chrissanders-synscan.pcapng",
        "potential port scanning",
        "172.16.0.8",
    ),
    // The capture was anonymised into 0.0.0.0/8, which no real host sends from.
    (
        "zeek-tls_chrome-1250-tls-x25519-kyber.pcap",
        "bogon source address (suspicious)",
        "0.0.51.217",
    ),
];

#[test]
fn captures_raise_only_expected() {
    let Some(dir) = shared_captures() else { return };
    let work = tempfile::tempdir().unwrap();
    let trails = custom_trails(work.path(), &[]);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension()
                .is_some_and(|ext| ext == "pcap" || ext == "pcapng")
        })
        .collect();
    files.sort();
    assert!(files.len() > 20, "only {} captures found", files.len());

    let mut seen = Vec::new();
    for capture in &files {
        let name = capture.file_name().unwrap().to_str().unwrap().to_string();
        let log_dir = work.path().join(&name);
        run_sensor(&[
            "-r",
            capture.to_str().unwrap(),
            "--trails",
            trails.to_str().unwrap(),
            "--log-dir",
            log_dir.to_str().unwrap(),
        ]);
        for event in log_events(&log_dir) {
            assert_eq!(event.reference, "(heuristic)", "{name}: {event:?}");
            seen.push((name.clone(), event.info, event.trail));
        }
    }

    let expected: Vec<_> = EXPECTED
        .iter()
        .map(|(file, info, trail)| (file.to_string(), info.to_string(), trail.to_string()))
        .collect();
    assert_eq!(seen, expected);
}
