//! The binary's `user` subcommands and `--check`.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output, Stdio};

use trailwatch_viewer::users::{verify_password, UserStore};

fn run(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trailwatch-viewer"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command that fails before reading its input closes the pipe, so a write error is fine.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

#[test]
fn user_add_list_remove() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.toml");
    let users = users.to_str().unwrap();

    let added = run(
        &[
            "user",
            "add",
            "ops",
            "--users",
            users,
            "--read-only",
            "--network",
            "10.0.0.0/8",
        ],
        "pa55word\n",
    );
    let store = UserStore::load(dir.path().join("users.toml").as_ref()).unwrap();
    let mode = std::fs::metadata(users).unwrap().permissions().mode() & 0o777;
    let listed = run(&["user", "list", "--users", users], "");
    let removed = run(&["user", "remove", "ops", "--users", users], "");
    let again = run(&["user", "remove", "ops", "--users", users], "");

    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    assert!(verify_password(&store.users[0].password_hash, "pa55word"));
    assert!(store.users[0].read_only);
    assert_eq!(mode, 0o600);
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout),
        "ops\tread-only\t10.0.0.0/8\n"
    );
    assert!(removed.status.success());
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not found"));
}

#[test]
fn user_add_rejects_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.toml");
    let users = users.to_str().unwrap();

    let empty = run(&["user", "add", "ops", "--users", users], "\n");
    let bad_name = run(&["user", "add", "a/b", "--users", users], "pw\n");
    let bad_network = run(
        &["user", "add", "ops", "--users", users, "--network", "10/8"],
        "pw\n",
    );

    assert!(!empty.status.success());
    assert!(String::from_utf8_lossy(&empty.stderr).contains("password is empty"));
    assert!(!bad_name.status.success());
    assert!(!bad_network.status.success());
    assert!(!dir.path().join("users.toml").exists());
}

#[test]
fn check_reports_config_problems() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("viewer.toml");
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let users = dir.path().join("users.toml");
    std::fs::write(
        &config,
        format!(
            "[data]\nlog_dir = {:?}\nusers = {:?}\n",
            logs.to_str().unwrap(),
            users.to_str().unwrap()
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();

    let without_users = run(&["-c", config, "--check"], "");
    run(&["user", "add", "ops", "-c", config], "pw\n");
    let valid = run(&["-c", config, "--check"], "");
    std::fs::write(dir.path().join("bad.toml"), "[server]\nport = 1\n").unwrap();
    let bad_path = dir.path().join("bad.toml");
    let unknown_key = run(&["-c", bad_path.to_str().unwrap(), "--check"], "");

    assert!(!without_users.status.success());
    assert!(String::from_utf8_lossy(&without_users.stderr).contains("user add"));
    assert!(
        valid.status.success(),
        "{}",
        String::from_utf8_lossy(&valid.stderr)
    );
    assert!(!unknown_key.status.success());
    assert!(String::from_utf8_lossy(&unknown_key.stderr).contains("port"));
}

#[test]
fn user_hash_feeds_add_hash() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.toml");
    let users = users.to_str().unwrap();

    let hashed = run(&["user", "hash"], "long passphrase\n");
    let hash = String::from_utf8_lossy(&hashed.stdout).to_string();
    let added = run(&["user", "add", "admin", "--hash", "--users", users], &hash);
    let store = UserStore::load(dir.path().join("users.toml").as_ref()).unwrap();

    assert!(hashed.status.success());
    assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    assert_eq!(store.users[0].password_hash, hash.trim());
    assert!(verify_password(
        &store.users[0].password_hash,
        "long passphrase"
    ));
}

#[test]
fn user_add_hash_rejects_non_argon2id() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.toml");
    let users = users.to_str().unwrap();

    let plain = run(
        &["user", "add", "admin", "--hash", "--users", users],
        "pw\n",
    );
    let bcrypt = run(
        &["user", "add", "admin", "--hash", "--users", users],
        "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW\n",
    );

    assert!(!plain.status.success());
    assert!(String::from_utf8_lossy(&plain.stderr).contains("invalid password hash"));
    assert!(!bcrypt.status.success());
    assert!(!dir.path().join("users.toml").exists());
}

#[test]
fn check_accepts_pending_setup_code() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("viewer.toml");
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let code = dir.path().join("setup-code");
    std::fs::write(
        &config,
        format!(
            "[data]\nlog_dir = {:?}\nusers = {:?}\nsetup_code = {:?}\n",
            logs.to_str().unwrap(),
            dir.path().join("users.toml").to_str().unwrap(),
            code.to_str().unwrap()
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();

    let without_code = run(&["-c", config, "--check"], "");
    std::fs::write(&code, "0123456789abcdef\n").unwrap();
    let with_code = run(&["-c", config, "--check"], "");

    assert!(!without_code.status.success());
    assert!(String::from_utf8_lossy(&without_code.stderr).contains("no setup code"));
    assert!(
        with_code.status.success(),
        "{}",
        String::from_utf8_lossy(&with_code.stderr)
    );
    assert!(String::from_utf8_lossy(&with_code.stdout).contains("/setup"));
}

#[test]
fn check_rejects_log_dir_file() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.toml");
    let log_file = dir.path().join("2026-01-15.log");
    std::fs::write(&log_file, "").unwrap();
    let users = users.to_str().unwrap();
    run(&["user", "add", "ops", "--users", users], "pw\n");

    let check = run(
        &[
            "--check",
            "--log-dir",
            log_file.to_str().unwrap(),
            "--users",
            users,
        ],
        "",
    );
    let stderr = String::from_utf8_lossy(&check.stderr);

    assert_eq!(check.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is not a folder"), "{stderr}");
    assert!(!stderr.contains("does not exist"), "{stderr}");
}

#[test]
fn host_name_listen_shows_form() {
    let output = run(&["--listen", "localhost:8338", "--check"], "");
    let stderr = String::from_utf8_lossy(&output.stderr);

    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("IP:PORT"), "{stderr}");
    assert!(stderr.contains("0.0.0.0:8338"), "{stderr}");
    assert!(stderr.contains("[::]:8338"), "{stderr}");
}
