//! `--check`: exit status 0 with "ok" for a usable setup, 1 with the reason otherwise.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Output;

use common::{custom_trails, run_sensor};

fn is_root() -> bool {
    if common::under_qemu_user() {
        eprintln!("skipped: {}", common::QEMU_USER_SKIP);
        false
    } else if nix::unistd::geteuid().is_root() {
        true
    } else {
        eprintln!("skipped: opening interfaces needs root");
        false
    }
}

fn stdout_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn check_accepts_good_setup() {
    if !is_root() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let trails = custom_trails(work.path(), &["check.example".to_string()]);
    let log_dir = work.path().join("log");

    let output = run_sensor(&[
        "--check",
        "-i",
        "lo",
        "--filter",
        "udp port 53",
        "--trails",
        trails.to_str().unwrap(),
        "--log-dir",
        log_dir.to_str().unwrap(),
    ]);
    let stdout = stdout_of(&output);

    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert_eq!(stdout.trim(), "ok");
    assert!(!log_dir.exists(), "--check must not create the log folder");
}

#[test]
fn check_rejects_invalid_filter() {
    if !is_root() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let trails = custom_trails(work.path(), &[]);

    let output = run_sensor(&[
        "--check",
        "-i",
        "lo",
        "--filter",
        "udp prot 53",
        "--trails",
        trails.to_str().unwrap(),
        "--log-dir",
        work.path().join("log").to_str().unwrap(),
    ]);
    let stdout = stdout_of(&output);

    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("\"udp prot 53\""), "{stdout}");
    assert!(stdout.contains("invalid BPF filter"), "{stdout}");
    // libpcap's own message follows; its wording differs between versions.
    assert!(stdout.contains("syntax error"), "{stdout}");
    assert!(!stdout.contains("ok\n"), "{stdout}");
}

#[test]
fn check_reports_missing_interface() {
    if !is_root() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let trails = custom_trails(work.path(), &[]);

    let output = run_sensor(&[
        "--check",
        "-i",
        "lo",
        "-i",
        "twnosuch0",
        "--trails",
        trails.to_str().unwrap(),
        "--log-dir",
        work.path().join("log").to_str().unwrap(),
    ]);
    let stdout = stdout_of(&output);

    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("cannot open interface twnosuch0"),
        "{stdout}"
    );
    assert!(!stdout.contains("interface lo"), "{stdout}");
}

#[test]
fn check_reports_unwritable_log_dir() {
    if !is_root() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    std::fs::set_permissions(work.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let trails = custom_trails(work.path(), &[]);
    let log_dir = work.path().join("log");
    std::fs::create_dir(&log_dir).unwrap();
    std::fs::set_permissions(&log_dir, std::fs::Permissions::from_mode(0o755)).unwrap();

    let output = run_sensor(&[
        "--check",
        "-i",
        "lo",
        "--user",
        "nobody",
        "--trails",
        trails.to_str().unwrap(),
        "--log-dir",
        log_dir.to_str().unwrap(),
    ]);
    let stdout = stdout_of(&output);

    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains(log_dir.to_str().unwrap()), "{stdout}");
    assert!(stdout.contains("not writable by user nobody"), "{stdout}");
}

#[test]
fn check_reports_bad_config() {
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("sensor.toml");
    std::fs::write(&config, "[capture]\nintrefaces = [\"lo\"]\n").unwrap();

    let output = run_sensor(&["--check", "-c", config.to_str().unwrap()]);
    let stdout = stdout_of(&output);

    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("sensor.toml:2"), "{stdout}");
    assert!(stdout.contains("capture.intrefaces"), "{stdout}");
}

#[test]
fn check_without_source_fails() {
    let work = tempfile::tempdir().unwrap();
    let trails = custom_trails(work.path(), &[]);

    let output = run_sensor(&[
        "--check",
        "--trails",
        trails.to_str().unwrap(),
        "--log-dir",
        work.path().join("log").to_str().unwrap(),
    ]);
    let stdout = stdout_of(&output);

    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("nothing to read"), "{stdout}");
}
