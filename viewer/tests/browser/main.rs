//! Runs the UI's end-to-end browser test (`e2e.mjs`) against the real viewer binary.
//!
//! The test replays `samples/demo.pcap` through the sensor into a temporary log folder,
//! creates a user with `trailwatch-viewer user add`, starts the viewer on 127.0.0.1 and runs
//! `node e2e.mjs`, which drives headless Chromium through playwright-core. Screenshots go to
//! `<target dir>/browser-test/`, and the path is printed.
//!
//! It skips with a message when chromium, node or the npm packages are missing, because they
//! are installed by `ci/setup`, not by cargo.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser as _;

const VIEWER: &str = env!("CARGO_BIN_EXE_trailwatch-viewer");
const TEST_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser");
const REPO_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

const USER: &str = "e2e-analyst";
const PASSWORD: &str = "correct horse battery staple";

/// Time the viewer gets to return `pong` on `/ping` after start, generous for a busy 2-core
/// machine.
const START_DEADLINE: Duration = Duration::from_secs(60);

/// Kills the viewer when the test ends, also when an assertion panics.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Returns the reason to skip, or `None` when chromium, node and playwright-core are present.
fn missing_tool(chromium: &Path) -> Option<String> {
    if !chromium.is_file() {
        return Some(format!(
            "no browser at {} (install Debian's chromium, or set TW_CHROMIUM)",
            chromium.display()
        ));
    }
    let node = Command::new("node").arg("--version").output();
    if !node.is_ok_and(|output| output.status.success()) {
        return Some("node is not on PATH (install Debian's nodejs)".to_string());
    }
    let playwright = Path::new(TEST_DIR).join("node_modules/playwright-core/package.json");
    if !playwright.is_file() {
        return Some(format!(
            "playwright-core is not installed; run `PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci` \
             in {TEST_DIR}"
        ));
    }
    None
}

/// Writes the demo capture's events into `log_dir` with the sensor and returns the date of the
/// log file it wrote.
fn replay_demo(log_dir: &Path) -> String {
    let pcap = format!("{REPO_DIR}/samples/demo.pcap");
    let trails = format!("{REPO_DIR}/trails/static");
    let args = trailwatch_sensor::cli::Args::parse_from([
        "trailwatch-sensor",
        "-r",
        &pcap,
        "--trails",
        &trails,
        "--log-dir",
        log_dir.to_str().unwrap(),
        "--sensor-name",
        "demo",
        "--quiet",
    ]);
    let outcome = trailwatch_sensor::run::run(&args).expect("the sensor replays demo.pcap");
    assert!(
        outcome.is_complete(),
        "the sensor did not read all of demo.pcap"
    );

    let mut dates: Vec<String> = std::fs::read_dir(log_dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|name| name.strip_suffix(".log").map(str::to_string))
        .collect();
    dates.sort();
    assert_eq!(
        dates.len(),
        1,
        "the 17-second demo must fill one daily log, got {dates:?}"
    );
    dates.remove(0)
}

fn add_user(users: &Path) {
    let mut child = Command::new(VIEWER)
        .args(["user", "add", USER, "--users"])
        .arg(users)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("trailwatch-viewer starts");
    writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "user add failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Returns a loopback port that was free a moment ago. Another process may take it before the
/// viewer binds it; the start then fails with the viewer's own message.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Returns true when `GET /ping` on the address returns `pong`.
fn answers_ping(address: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(address) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!("GET /ping HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    // The body may come chunked, so the check looks for the word, not the exact end.
    let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    response.starts_with("HTTP/1.1 200") && body.contains("pong")
}

fn start_viewer(address: &str, log_dir: &Path, users: &Path) -> Server {
    let child = Command::new(VIEWER)
        .args(["--listen", address, "--log-dir"])
        .arg(log_dir)
        .arg("--users")
        .arg(users)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("trailwatch-viewer starts");
    let mut server = Server(child);

    let started = Instant::now();
    while !answers_ping(address) {
        if let Some(status) = server.0.try_wait().unwrap() {
            let mut stderr = String::new();
            let _ = server.0.stderr.take().unwrap().read_to_string(&mut stderr);
            panic!("the viewer exited with {status} before answering /ping:\n{stderr}");
        }
        assert!(
            started.elapsed() < START_DEADLINE,
            "the viewer did not answer /ping on {address} within {START_DEADLINE:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // The viewer's log goes to our standard error line by line, so a failure shows it, and a
    // full pipe cannot block the server.
    let stderr = server.0.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("viewer: {line}");
        }
    });
    server
}

/// `<target dir>/browser-test`, found from the viewer binary at `<target dir>/<profile>/`.
fn output_dir() -> PathBuf {
    let profile_dir = Path::new(VIEWER).parent().unwrap();
    profile_dir.parent().unwrap().join("browser-test")
}

#[test]
fn browser_ui_end_to_end() {
    let chromium =
        PathBuf::from(std::env::var_os("TW_CHROMIUM").unwrap_or("/usr/bin/chromium".into()));
    if let Some(reason) = missing_tool(&chromium) {
        println!("skipped: {reason}");
        return;
    }

    let work = tempfile::tempdir().unwrap();
    let log_dir = work.path().join("logs");
    std::fs::create_dir(&log_dir).unwrap();
    let users = work.path().join("users.toml");
    let demo_date = replay_demo(&log_dir);
    add_user(&users);

    let address = format!("127.0.0.1:{}", free_port());
    let _server = start_viewer(&address, &log_dir, &users);

    let out_dir = output_dir();
    let status = Command::new("node")
        .arg("e2e.mjs")
        .current_dir(TEST_DIR)
        .env("TW_BASE_URL", format!("http://{address}"))
        .env("TW_LOG_DIR", &log_dir)
        .env("TW_USER", USER)
        .env("TW_PASSWORD", PASSWORD)
        .env("TW_OUT_DIR", &out_dir)
        .env("TW_DEMO_DATE", &demo_date)
        .env("TW_CHROMIUM", &chromium)
        .status()
        .expect("node runs");
    println!("screenshots in {}", out_dir.display());
    assert!(
        status.success(),
        "e2e.mjs failed ({status}); its output above names the step"
    );
}
