//! The live sensor on the loopback interface: detections, stop and reload signals, summaries on
//! a quiet link, and the switch to an unprivileged user. Every test needs root to open `lo`,
//! sends only to 127.0.0.1, and uses a trail name no other test sends.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::frames::dns_query;
use common::{custom_trails, log_lines};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// UDP port the test queries go to: one of the sensor's DNS ports that no resolver on a test
/// machine listens on.
const DNS_PORT: u16 = 8053;

/// Generous limit for conditions on a loaded 2-core machine.
const DEADLINE: Duration = Duration::from_secs(60);

fn is_root() -> bool {
    if common::under_qemu_user() {
        eprintln!("skipped: {}", common::QEMU_USER_SKIP);
        false
    } else if nix::unistd::geteuid().is_root() {
        true
    } else {
        eprintln!("skipped: capturing on lo needs root");
        false
    }
}

/// Returns a domain that no other test or process queries.
fn unique_domain(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{test}-{}-{nanos}.trailwatch-test.example",
        std::process::id()
    )
}

/// Sends one DNS query for `name` to 127.0.0.1.
fn send_query(name: &str) {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .send_to(&dns_query(7, name), ("127.0.0.1", DNS_PORT))
        .unwrap();
}

/// Polls `condition` until it is true or [`DEADLINE`] passes.
fn wait_until(mut condition: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < DEADLINE {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    condition()
}

/// A running sensor whose standard error goes to a file; killed when dropped.
struct Sensor {
    child: Child,
    stderr: PathBuf,
}

impl Sensor {
    fn start(work: &Path, args: &[&str]) -> Sensor {
        let stderr = work.join("stderr.txt");
        let child = Command::new(env!("CARGO_BIN_EXE_trailwatch-sensor"))
            .args(args)
            .env("TZ", "UTC")
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("the sensor binary starts");
        Sensor { child, stderr }
    }

    fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Waits until standard error contains `text` and returns whether it did.
    fn wait_for_stderr(&self, text: &str) -> bool {
        wait_until(|| self.stderr().contains(text))
    }

    fn signal(&self, signal: Signal) {
        kill(self.pid(), signal).unwrap();
    }

    fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Waits for the process to end and returns its status, or `None` at the deadline.
    fn wait_exit(&mut self) -> Option<ExitStatus> {
        let mut status = None;
        wait_until(|| {
            status = self.child.try_wait().unwrap();
            status.is_some()
        });
        status
    }
}

impl Drop for Sensor {
    fn drop(&mut self) {
        if self.is_running() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Queries `name` once per wait step until the log in `log_dir` has a line containing
/// `expected`; returns whether it appeared.
fn query_until_logged(name: &str, log_dir: &Path, expected: &str) -> bool {
    wait_until(|| {
        send_query(name);
        log_lines(log_dir)
            .iter()
            .any(|line| line.contains(expected))
    })
}

fn live_args<'a>(trails: &'a Path, log_dir: &'a Path) -> Vec<&'a str> {
    vec![
        "-i",
        "lo",
        "--filter",
        "udp port 8053",
        "--trails",
        trails.to_str().unwrap(),
        "--log-dir",
        log_dir.to_str().unwrap(),
    ]
}

#[test]
fn lo_capture_detects_dns_query() {
    if !is_root() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let domain = unique_domain("detect");
    let trails = custom_trails(work.path(), std::slice::from_ref(&domain));
    let log_dir = work.path().join("log");
    let mut sensor = Sensor::start(work.path(), &live_args(&trails, &log_dir));
    assert!(
        sensor.wait_for_stderr("capturing on lo"),
        "{}",
        sensor.stderr()
    );

    let name = format!("www.{domain}");
    let logged = query_until_logged(&name, &log_dir, &domain);

    assert!(logged, "no event for {name}; stderr:\n{}", sensor.stderr());
    let line = log_lines(&log_dir)
        .into_iter()
        .find(|line| line.contains(&domain))
        .unwrap();
    assert!(line.contains(" 127.0.0.1 8053 UDP DNS "), "{line}");
    assert!(line.contains(&format!("(www).{domain}")), "{line}");
    sensor.signal(Signal::SIGTERM);
    assert_eq!(sensor.wait_exit().and_then(|s| s.code()), Some(0));
}

#[test]
fn sigterm_stops_quiet_capture() {
    if !is_root() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let trails = custom_trails(work.path(), &[unique_domain("quiet")]);
    let log_dir = work.path().join("log");
    let mut args = live_args(&trails, &log_dir);
    // No test sends to this address, so the handle stays quiet whatever else runs on lo.
    // (libpcap rejects a filter that can never match, such as "udp and not udp".)
    args[3] = "host 127.0.0.77 and udp port 44193";
    let mut sensor = Sensor::start(work.path(), &args);
    assert!(
        sensor.wait_for_stderr("capturing on lo"),
        "{}",
        sensor.stderr()
    );

    sensor.signal(Signal::SIGTERM);
    let status = sensor.wait_exit();

    let stderr = sensor.stderr();
    assert!(status.is_some(), "still running after SIGTERM:\n{stderr}");
    assert_eq!(status.unwrap().code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("stopped; final statistics follow"),
        "{stderr}"
    );
    assert!(stderr.contains("stats lo: 0 received"), "{stderr}");
    assert!(stderr.contains("stats: 0 packets read"), "{stderr}");
}

#[test]
fn summary_flushes_on_quiet_link() {
    if !is_root() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let domain = unique_domain("summary");
    let trails = custom_trails(work.path(), std::slice::from_ref(&domain));
    let log_dir = work.path().join("log");
    let mut args = live_args(&trails, &log_dir);
    args.extend(["--throttle", "1"]);
    let mut sensor = Sensor::start(work.path(), &args);
    assert!(
        sensor.wait_for_stderr("capturing on lo"),
        "{}",
        sensor.stderr()
    );

    // The first query is written at once; the two repeats within the second are counted.
    let name = format!("www.{domain}");
    assert!(
        query_until_logged(&name, &log_dir, &domain),
        "{}",
        sensor.stderr()
    );
    send_query(&name);
    send_query(&name);

    // No packet follows on the filtered handle, so only the wall clock can close the window.
    let summary = wait_until(|| {
        log_lines(&log_dir)
            .iter()
            .any(|line| line.contains(&domain) && line.contains("repeats suppressed"))
    });
    assert!(
        summary,
        "no summary while running: {:?}",
        log_lines(&log_dir)
    );
    assert!(sensor.is_running());
}

#[test]
fn sighup_broken_config_keeps_running() {
    if !is_root() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let domain = unique_domain("reload");
    let trails = custom_trails(work.path(), std::slice::from_ref(&domain));
    let log_dir = work.path().join("log");
    let config = work.path().join("sensor.toml");
    let good = |name: &str| {
        format!(
            "[sensor]\nname = \"{name}\"\nlog_dir = \"{}\"\n\n[capture]\ninterfaces = [\"lo\"]\n\
             filter = \"udp port 8053\"\n\n[trails]\npaths = [\"{}\"]\n",
            log_dir.display(),
            trails.display()
        )
    };
    std::fs::write(&config, good("before")).unwrap();
    let mut sensor = Sensor::start(work.path(), &["-c", config.to_str().unwrap()]);
    assert!(
        sensor.wait_for_stderr("capturing on lo"),
        "{}",
        sensor.stderr()
    );

    std::fs::write(&config, "[capture]\nsnaplen = \"big\"\n").unwrap();
    sensor.signal(Signal::SIGHUP);

    assert!(
        sensor.wait_for_stderr("reload failed"),
        "{}",
        sensor.stderr()
    );
    let stderr = sensor.stderr();
    assert!(stderr.contains("capture.snaplen"), "{stderr}");
    assert!(
        stderr.contains("previous configuration stays in use"),
        "{stderr}"
    );
    assert!(sensor.is_running(), "{stderr}");
    let name = format!("www.{domain}");
    assert!(
        query_until_logged(&name, &log_dir, " before "),
        "no event after a failed reload:\n{}",
        sensor.stderr()
    );

    // A good configuration afterwards is applied to the running capture. Another host name
    // gives another trail field, so the throttle does not count the query as a repeat.
    std::fs::write(&config, good("after")).unwrap();
    sensor.signal(Signal::SIGHUP);
    assert!(
        sensor.wait_for_stderr("reload complete"),
        "{}",
        sensor.stderr()
    );
    let name = format!("api.{domain}");
    assert!(
        query_until_logged(&name, &log_dir, " after "),
        "the new sensor name is not used:\n{}",
        sensor.stderr()
    );
    sensor.signal(Signal::SIGTERM);
    assert_eq!(sensor.wait_exit().and_then(|s| s.code()), Some(0));
}

/// Returns the first three ids (real, effective, saved) of the `Uid:` or `Gid:` line.
fn proc_ids(status: &str, field: &str) -> Vec<u32> {
    let line = status
        .lines()
        .find(|line| line.starts_with(field))
        .unwrap_or_else(|| panic!("no {field} line in {status}"));
    line[field.len()..]
        .split_whitespace()
        .take(3)
        .map(|id| id.parse().unwrap())
        .collect()
}

#[test]
fn privilege_drop_to_nobody() {
    if !is_root() {
        return;
    }
    let Some(nobody) = nix::unistd::User::from_name("nobody").unwrap() else {
        eprintln!("skipped: no user nobody on this machine");
        return;
    };
    let work = tempfile::tempdir().unwrap();
    // The user must reach the trails and write the log folder once root is gone.
    std::fs::set_permissions(work.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let domain = unique_domain("nobody");
    let trails = custom_trails(work.path(), std::slice::from_ref(&domain));
    let log_dir = work.path().join("log");
    std::fs::create_dir(&log_dir).unwrap();
    std::fs::set_permissions(&log_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let mut args = live_args(&trails, &log_dir);
    args.extend(["--user", "nobody"]);
    let mut sensor = Sensor::start(work.path(), &args);
    assert!(
        sensor.wait_for_stderr("capturing on lo"),
        "{}",
        sensor.stderr()
    );

    let status = std::fs::read_to_string(format!("/proc/{}/status", sensor.pid())).unwrap();

    let uid = nobody.uid.as_raw();
    let gid = nobody.gid.as_raw();
    assert_eq!(proc_ids(&status, "Uid:"), vec![uid, uid, uid], "{status}");
    assert_eq!(proc_ids(&status, "Gid:"), vec![gid, gid, gid], "{status}");
    assert!(status.contains("NoNewPrivs:\t1"), "{status}");
    assert!(
        sensor.stderr().contains("switched to user nobody"),
        "{}",
        sensor.stderr()
    );
    // The open handle still captures after the switch.
    let name = format!("www.{domain}");
    assert!(
        query_until_logged(&name, &log_dir, &domain),
        "{}",
        sensor.stderr()
    );
    sensor.signal(Signal::SIGTERM);
    assert_eq!(sensor.wait_exit().and_then(|s| s.code()), Some(0));
}
