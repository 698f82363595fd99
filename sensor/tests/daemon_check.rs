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

/// Writes a configuration with a delivery output whose secret and spool are in `work`, and
/// returns its path.
fn delivery_config(work: &std::path::Path, extra: &str) -> std::path::PathBuf {
    let trails = custom_trails(work, &[]);
    let config = work.join("sensor.toml");
    let text = format!(
        "[sensor]\nlog_dir = {:?}\n{extra}\n[trails]\npaths = [{:?}]\n\n\
         [outputs.delivery]\nurl = \"http://127.0.0.1:9/api/intake\"\n\
         secret_file = \"secret\"\nspool_dir = \"spool\"\n",
        work.join("log"),
        trails,
    );
    std::fs::write(&config, text).unwrap();
    config
}

#[test]
fn check_reports_missing_secret_file() {
    let work = tempfile::tempdir().unwrap();
    let config = delivery_config(work.path(), "");

    let output = run_sensor(&["--check", "-r", "-", "-c", config.to_str().unwrap()]);
    let stdout = stdout_of(&output);

    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("outputs.delivery.secret_file"), "{stdout}");
    // Relative paths in the file are resolved against its folder.
    let secret = work.path().join("secret");
    assert!(stdout.contains(secret.to_str().unwrap()), "{stdout}");
    assert!(
        !work.path().join("spool").exists(),
        "--check created the spool"
    );
}

#[test]
fn check_reports_secret_unreadable_by_user() {
    if !is_root() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    std::fs::set_permissions(work.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = delivery_config(work.path(), "user = \"nobody\"\n");
    let secret = work.path().join("secret");
    std::fs::write(&secret, "0123456789abcdef0123456789abcdef\n").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::create_dir(work.path().join("log")).unwrap();
    std::fs::set_permissions(
        work.path().join("log"),
        std::fs::Permissions::from_mode(0o777),
    )
    .unwrap();

    let output = run_sensor(&["--check", "-r", "-", "-c", config.to_str().unwrap()]);
    let stdout = stdout_of(&output);

    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("outputs.delivery.secret_file")
            && stdout.contains("not readable by user nobody"),
        "{stdout}"
    );
    // The spool folder would be created in `work`, which only root can write.
    assert!(
        stdout.contains("where the delivery spool folder")
            && stdout.contains("not writable by user nobody"),
        "{stdout}"
    );
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
}

#[test]
fn check_accepts_readable_secret() {
    if !is_root() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    std::fs::set_permissions(work.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = delivery_config(work.path(), "user = \"nobody\"\n");
    let secret = work.path().join("secret");
    std::fs::write(&secret, "0123456789abcdef0123456789abcdef\n").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    for path in [work.path().join("log"), work.path().join("spool")] {
        std::fs::create_dir(&path).unwrap();
        nix::unistd::chown(&path, Some(nobody.uid), None).unwrap();
    }
    nix::unistd::chown(&secret, Some(nobody.uid), None).unwrap();

    let output = run_sensor(&["--check", "-r", "-", "-c", config.to_str().unwrap()]);
    let stdout = stdout_of(&output);

    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert_eq!(stdout.trim(), "ok");
}

#[test]
fn check_reports_every_problem() {
    if !is_root() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let trails = custom_trails(work.path(), &[]);
    let blocker = work.path().join("file");
    std::fs::write(&blocker, "").unwrap();

    let output = run_sensor(&[
        "--check",
        "-i",
        "twnosuch0",
        "--filter",
        "udp prot 53",
        "--trails",
        trails.to_str().unwrap(),
        "--log-dir",
        blocker.join("log").to_str().unwrap(),
    ]);
    let stdout = stdout_of(&output);

    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("cannot open interface twnosuch0"),
        "{stdout}"
    );
    assert!(
        stdout.contains("invalid BPF filter \"udp prot 53\""),
        "{stdout}"
    );
    assert!(stdout.contains("pcap-filter(7)"), "{stdout}");
    assert!(
        stdout.contains("cannot be created, because") && stdout.contains("is not a folder"),
        "{stdout}"
    );
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
}

#[test]
fn check_rejects_duplicate_interface() {
    let work = tempfile::tempdir().unwrap();
    let trails = custom_trails(work.path(), &[]);

    let output = run_sensor(&[
        "--check",
        "-i",
        "any",
        "-i",
        "any",
        "--trails",
        trails.to_str().unwrap(),
        "--log-dir",
        work.path().join("log").to_str().unwrap(),
    ]);
    let stdout = stdout_of(&output);

    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("interface any is named twice"), "{stdout}");
}

#[test]
fn check_warns_about_any_with_named() {
    if !is_root() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let trails = custom_trails(work.path(), &[]);

    let output = run_sensor(&[
        "--check",
        "-i",
        "any",
        "-i",
        "lo",
        "--trails",
        trails.to_str().unwrap(),
        "--log-dir",
        work.path().join("log").to_str().unwrap(),
    ]);
    let stdout = stdout_of(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);

    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stderr.contains("read twice"), "{stderr}");
}

#[test]
fn check_reports_whitelist_and_trails() {
    if !is_root() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let trails = work.path().join("no-such-trails");
    let whitelist = work.path().join("no-such-whitelist.txt");

    let output = run_sensor(&[
        "--check",
        "-i",
        "lo",
        "--trails",
        trails.to_str().unwrap(),
        "--whitelist",
        whitelist.to_str().unwrap(),
        "--log-dir",
        work.path().join("log").to_str().unwrap(),
    ]);
    let stdout = stdout_of(&output);

    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("no-such-whitelist.txt"), "{stdout}");
    assert!(stdout.contains("no-such-trails"), "{stdout}");
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
}
