//! `daemon`: the first run happens at start, and SIGTERM or SIGINT ends the process promptly
//! instead of after the period.

mod support;

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use support::{binary, write_file, Delivery, Route, Server};
use trailwatch_trails::compile::compile_trees;
use trailwatch_trails::sign;

/// Maximum wait for the daemon to write its first store or to exit.
const PATIENCE: Duration = Duration::from_secs(10);

/// Writes a feed-mode configuration for one feed at `url`, with a period of one hour.
fn feed_config(dir: &Path, url: &str) -> std::path::PathBuf {
    let catalogue = format!(
        "[[feed]]\nname = \"one\"\nurl = \"{url}\"\nformat = \"plain\"\n\
         info = \"one (malware)\"\nreference = \"one.example.org\"\nenabled = true\n"
    );
    write_file(dir, "feeds.toml", &catalogue);
    write_file(
        dir,
        "daemon.toml",
        "store = \"store/trails.store\"\ncache_dir = \"cache\"\nfeeds = \"feeds.toml\"\n\
         trails = []\n[download]\nconnect_timeout_s = 1\nread_timeout_s = 2\n\
         [schedule]\nperiod_s = 3600\njitter_s = 0\n",
    )
}

fn start(config: &Path) -> Child {
    Command::new(binary())
        .args(["daemon", "-c"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn wait_for_file(path: &Path) {
    let started = Instant::now();
    while !path.exists() {
        assert!(
            started.elapsed() < PATIENCE,
            "{} never appeared",
            path.display()
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// Sends `signal` and returns the exit status and how long the exit took.
fn stop(child: &mut Child, signal: Signal) -> (ExitStatus, Duration) {
    let started = Instant::now();
    kill(Pid::from_raw(child.id() as i32), signal).unwrap();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status, started.elapsed());
        }
        if started.elapsed() > PATIENCE {
            child.kill().unwrap();
            panic!("the daemon did not exit within {PATIENCE:?} of {signal}");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn first_update_runs_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start();
    server.route("one.txt", Route::ok("bad.example\n"));
    let mut child = start(&feed_config(dir.path(), &server.url("one.txt")));

    wait_for_file(&dir.path().join("store/trails.store"));

    stop(&mut child, Signal::SIGTERM);
    assert_eq!(server.received("one.txt").len(), 1);
}

#[test]
fn sigterm_stops_sleeping_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start();
    server.route("one.txt", Route::ok("bad.example\n"));
    let mut child = start(&feed_config(dir.path(), &server.url("one.txt")));
    wait_for_file(&dir.path().join("store/trails.store"));

    let (status, took) = stop(&mut child, Signal::SIGTERM);

    assert_eq!(status.code(), Some(0));
    assert!(took < Duration::from_secs(2), "{took:?}");
}

#[test]
fn sigint_stops_sleeping_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start();
    server.route("one.txt", Route::ok("bad.example\n"));
    let mut child = start(&feed_config(dir.path(), &server.url("one.txt")));
    wait_for_file(&dir.path().join("store/trails.store"));

    let (status, _) = stop(&mut child, Signal::SIGINT);

    assert_eq!(status.code(), Some(0));
}

#[test]
fn signal_during_run_finishes_run() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start();
    let slow = Route::ok("bad.example\n").with_delivery(Delivery::Stall(Duration::from_secs(1)));
    server.route("one.txt", slow);
    let mut child = start(&feed_config(dir.path(), &server.url("one.txt")));
    let started = Instant::now();
    while server.received("one.txt").is_empty() {
        assert!(started.elapsed() < PATIENCE, "the feed was never requested");
        thread::sleep(Duration::from_millis(10));
    }

    let (status, _) = stop(&mut child, Signal::SIGTERM);

    assert_eq!(status.code(), Some(0));
    assert!(dir.path().join("store/trails.store").exists());
}

#[test]
fn pull_mode_installs_store() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    sign::generate_key(&key).unwrap();
    write_file(dir.path(), "tree/malware/x.txt", "bad.example\n");
    let published = dir.path().join("published.store");
    compile_trees(&[dir.path().join("tree")], None, &published).unwrap();
    sign::sign_file(&sign::read_signing_key(&key).unwrap(), &published).unwrap();

    let server = Server::start();
    let store = std::fs::read(&published).unwrap();
    let signature = std::fs::read(sign::signature_path(&published)).unwrap();
    server.route("trails.store", Route::ok(store));
    server.route("trails.store.sig", Route::ok(signature));
    let config = format!(
        "store = \"device/trails.store\"\n[schedule]\nperiod_s = 3600\n\
         [ota]\nupdate_url = \"{}\"\npublic_key = \"key.pub\"\n",
        server.url("trails.store")
    );
    let config = write_file(dir.path(), "device.toml", &config);
    let mut child = start(&config);

    wait_for_file(&dir.path().join("device/trails.store"));

    let (status, _) = stop(&mut child, Signal::SIGTERM);
    assert_eq!(status.code(), Some(0));
}
