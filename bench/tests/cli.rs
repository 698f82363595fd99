//! Tests of the `trailwatch-bench` executable: determinism of `gen` and `demo`, the measuring
//! helper, and `run` end to end against a stand-in sensor.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BENCH: &str = env!("CARGO_BIN_EXE_trailwatch-bench");
const DEMO_SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../samples/demo.pcap");

fn bench(args: &[&str]) -> Output {
    let output = Command::new(BENCH).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn path_arg(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Writes a one-file trail tree, so that tests need not scan the 1.85 million default lines.
fn small_trails(dir: &Path) -> PathBuf {
    let trails = dir.join("trails");
    fs::create_dir_all(trails.join("malware")).unwrap();
    fs::write(
        trails.join("malware/test.txt"),
        "# test list\nbad-one.example.net\nbad-two.example.org\n203.0.113.9:4444\n\
         198.51.100.77\nbad-one.example.net/gate.php\n",
    )
    .unwrap();
    trails
}

#[test]
fn gen_same_seed_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.pcap");
    let second = dir.path().join("second.pcap");

    // The default trail tree, as a user's `gen` run would read it.
    bench(&[
        "gen",
        "--packets",
        "3000",
        "--seed",
        "7",
        "-o",
        path_arg(&first),
    ]);
    bench(&[
        "gen",
        "--packets",
        "3000",
        "--seed",
        "7",
        "-o",
        path_arg(&second),
    ]);

    let first = fs::read(first).unwrap();
    assert!(first.len() > 3000 * 60);
    assert!(
        first == fs::read(second).unwrap(),
        "same seed gave different files"
    );
}

#[test]
fn gen_different_seeds_differ() {
    let dir = tempfile::tempdir().unwrap();
    let trails = small_trails(dir.path());
    let first = dir.path().join("first.pcap");
    let second = dir.path().join("second.pcap");

    bench(&[
        "gen",
        "--packets",
        "500",
        "--seed",
        "1",
        "--trails",
        path_arg(&trails),
        "-o",
        path_arg(&first),
    ]);
    bench(&[
        "gen",
        "--packets",
        "500",
        "--seed",
        "2",
        "--trails",
        path_arg(&trails),
        "-o",
        path_arg(&second),
    ]);

    assert!(fs::read(first).unwrap() != fs::read(second).unwrap());
}

#[test]
fn gen_prints_planted_hits() {
    let dir = tempfile::tempdir().unwrap();
    let trails = small_trails(dir.path());
    let output = dir.path().join("hits.pcap");

    let result = bench(&[
        "gen",
        "--packets",
        "2000",
        "--hit-ratio",
        "1",
        "--trails",
        path_arg(&trails),
        "-o",
        path_arg(&output),
    ]);
    let summary = String::from_utf8(result.stderr).unwrap();
    let dns_line = summary
        .lines()
        .find(|line| line.trim_start().starts_with("dns_query"))
        .unwrap();
    let count: u64 = dns_line.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(count > 50, "{summary}");
}

#[test]
fn invalid_hit_ratio_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let trails = small_trails(dir.path());
    let output = Command::new(BENCH)
        .args([
            "gen",
            "--hit-ratio",
            "1.5",
            "--trails",
            path_arg(&trails),
            "-o",
        ])
        .arg(dir.path().join("x.pcap"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid hit ratio 1.5"));
}

#[test]
fn demo_matches_committed_sample() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("demo.pcap");
    bench(&["demo", "-o", path_arg(&output)]);

    let committed = fs::read(DEMO_SAMPLE).unwrap();
    assert!(
        fs::read(&output).unwrap() == committed,
        "samples/demo.pcap is stale: regenerate it with `trailwatch-bench demo`"
    );
}

#[test]
fn measure_child_reports_own_peak() {
    let dir = tempfile::tempdir().unwrap();
    let measure = |script: &str| -> serde_json::Value {
        let stdout = dir.path().join("out");
        let stderr = dir.path().join("err");
        let output = bench(&[
            "measure-child",
            "--stdout",
            path_arg(&stdout),
            "--stderr",
            path_arg(&stderr),
            "/bin/sh",
            "-c",
            script,
        ]);
        serde_json::from_slice(&output.stdout).unwrap()
    };

    // The shell keeps the 40 MB command substitution in memory.
    let big = measure("x=$(head -c 40000000 /dev/zero | tr '\\0' a); echo ${#x}");
    let small = measure("true");
    let big_kib = big["max_rss_kib"].as_u64().unwrap();
    let small_kib = small["max_rss_kib"].as_u64().unwrap();
    assert!(big_kib > 39_000, "big {big_kib} KiB");
    assert!(small_kib < 20_000, "small {small_kib} KiB");
}

/// Writes a stand-in for the sensor that checks its arguments and writes fixed stats.
fn stand_in_sensor(dir: &Path) -> PathBuf {
    let path = dir.join("fake-sensor");
    let script = r#"#!/bin/sh
set -eu
capture= stats= logs=
while [ $# -gt 0 ]; do
    case "$1" in
        -r) capture=$2; shift 2 ;;
        --stats-json) stats=$2; shift 2 ;;
        --log-dir) logs=$2; shift 2 ;;
        *) echo "unexpected argument $1" >&2; exit 2 ;;
    esac
done
test -s "$capture" && test -d "$logs"
printf '{"packets_read":200,"packets_decoded":190,"skipped":{"arp":4},"events_written":3,"events_suppressed":1,"trails_loaded":42,"trails_load_ms":12.5,"process_ms":0.5}' > "$stats"
"#;
    fs::write(&path, script).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn run_reads_stand_in_stats() {
    if Command::new("tcpdump").arg("--version").output().is_err() {
        println!("skipped: tcpdump is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let trails = small_trails(dir.path());
    let sensor = stand_in_sensor(dir.path());
    let json_out = dir.path().join("result.json");

    let output = bench(&[
        "run",
        "--packets",
        "200",
        "--repeats",
        "1",
        "--trails",
        path_arg(&trails),
        "--sensor",
        path_arg(&sensor),
        "--workdir",
        path_arg(&dir.path().join("work")),
        "--json-out",
        path_arg(&json_out),
    ]);

    let table = String::from_utf8(output.stdout).unwrap();
    assert!(table.contains("events written"), "{table}");
    let result: serde_json::Value = serde_json::from_slice(&fs::read(json_out).unwrap()).unwrap();
    assert_eq!(result["sensor"]["packets_read"], 200);
    assert_eq!(result["sensor"]["processing_packets_per_second"], 400_000.0);
    assert_eq!(result["sensor"]["skipped"]["arp"], 4);
    assert_eq!(result["packets"], 200);
}

#[test]
fn run_reports_failing_sensor() {
    if Command::new("tcpdump").arg("--version").output().is_err() {
        println!("skipped: tcpdump is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let trails = small_trails(dir.path());
    let sensor = dir.path().join("broken-sensor");
    fs::write(
        &sensor,
        "#!/bin/sh\necho 'trails folder missing' >&2\nexit 4\n",
    )
    .unwrap();
    fs::set_permissions(&sensor, fs::Permissions::from_mode(0o755)).unwrap();

    let output = Command::new(BENCH)
        .args([
            "run",
            "--packets",
            "100",
            "--repeats",
            "1",
            "--trails",
            path_arg(&trails),
        ])
        .args([
            "--sensor",
            path_arg(&sensor),
            "--workdir",
            path_arg(&dir.path().join("work")),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("(exit code 4)"), "{stderr}");
    assert!(stderr.contains("trails folder missing"), "{stderr}");
}
