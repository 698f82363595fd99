//! The sensor binary capturing inside a namespace, its trail folder, and waits for its log.

use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use trailwatch_event::LogLine;

use super::peers::dns_query_udp_no_wait;
use super::{Link, Namespace};
use crate::common::log_events;

/// How long to wait for an expected event once the sensor captures.
pub const EVENT_DEADLINE: Duration = Duration::from_secs(10);

/// How long the sensor may take from start to its first captured packet. Generous, because
/// loading trails slows down a lot on a machine busy with other tests.
pub const START_DEADLINE: Duration = Duration::from_secs(30);

/// How long the sensor may take to exit after SIGTERM.
pub const STOP_DEADLINE: Duration = Duration::from_secs(10);

/// Interval between two looks at the log or the process.
const POLL: Duration = Duration::from_millis(50);

/// Domain of the probe queries that show the capture is running. Its trail list is
/// `probe/ready.txt`, so probe events carry [`PROBE_INFO`].
pub const PROBE_DOMAIN: &str = "probe.trailwatch.test";
pub const PROBE_INFO: &str = "ready (probe)";

/// A trail tree in Maltrail's layout (`<category>/<name>.txt`) with the probe list in it.
pub struct Trails {
    pub dir: PathBuf,
}

impl Trails {
    /// Writes `lists` (relative path, text) and the probe list under `dir`.
    pub fn write(dir: &Path, lists: &[(&str, &str)]) -> Trails {
        let trails = Trails {
            dir: dir.to_path_buf(),
        };
        trails.add(
            "probe/ready.txt",
            &format!("# Reference: live-capture test harness\n{PROBE_DOMAIN}\n"),
        );
        for (relative, text) in lists {
            trails.add(relative, text);
        }
        trails
    }

    /// Writes one more list (or replaces one) at `relative`.
    pub fn add(&self, relative: &str, text: &str) {
        let path = self.dir.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
    }
}

/// A running `trailwatch-sensor`, killed on drop if still running.
pub struct Sensor {
    child: Option<Child>,
    pub log_dir: PathBuf,
    pub stats_path: PathBuf,
    stderr_path: PathBuf,
    probes_sent: u32,
}

/// How a sensor ended after [`Sensor::stop`].
pub struct Stopped {
    pub status: ExitStatus,
    pub stderr: String,
    /// The `--stats-json` object, when the file exists and parses.
    pub stats: Option<serde_json::Value>,
}

impl Sensor {
    /// Starts the sensor in `namespace` capturing on `interfaces`, with the log, statistics and
    /// standard error under `work`, and `extra` arguments after the usual ones.
    pub fn start(
        namespace: &Namespace,
        work: &Path,
        trails: &Trails,
        interfaces: &[&str],
        extra: &[&str],
    ) -> Sensor {
        let log_dir = work.join("log");
        let stats_path = work.join("stats.json");
        let stderr_path = work.join("sensor.stderr");
        let stderr = File::create(&stderr_path).unwrap();

        let mut command = Command::new("ip");
        command.args(["netns", "exec", namespace.name()]);
        command.arg(env!("CARGO_BIN_EXE_trailwatch-sensor"));
        for interface in interfaces {
            command.args(["-i", interface]);
        }
        command
            .arg("--trails")
            .arg(&trails.dir)
            .arg("--log-dir")
            .arg(&log_dir)
            .arg("--stats-json")
            .arg(&stats_path)
            .args(["--sensor-name", "live"])
            .args(extra)
            .env("TZ", "UTC")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        // `ip netns exec` enters the namespace and then execs the sensor, so the child's pid
        // is the sensor's.
        let child = command.spawn().expect("ip netns exec starts the sensor");
        Sensor {
            child: Some(child),
            log_dir,
            stats_path,
            stderr_path,
            probes_sent: 0,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the sensor runs").id()
    }

    /// Standard error so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Sends DNS probe queries from the client end of `link` until one of them appears in the
    /// log, which shows that the sensor captures on that link. Panics after
    /// [`START_DEADLINE`].
    ///
    /// A later call also shows that every packet sent on the link before it was inspected,
    /// because the sensor reads the packets of one interface in order.
    pub fn wait_capturing(&mut self, client: &Namespace, link: &Link) {
        let deadline = Instant::now() + START_DEADLINE;
        let server: SocketAddr = link.server(53);
        let source = link.client_v4.to_string();
        let mut sent: Vec<String> = Vec::new();
        loop {
            self.probes_sent += 1;
            let name = format!("p{}.{PROBE_DOMAIN}", self.probes_sent);
            sent.push(format!("(p{}).{PROBE_DOMAIN}", self.probes_sent));
            client
                .run(move || dns_query_udp_no_wait(server, &name))
                .expect("the probe query is sent");

            // One probe every 500 ms; the log is read every POLL in between.
            let look_until = (Instant::now() + Duration::from_millis(500)).min(deadline);
            while Instant::now() < look_until {
                self.assert_running("before logging a probe");
                let seen = self.all_events().iter().any(|event| {
                    event.info == PROBE_INFO
                        && event.src_ip == source
                        && sent.contains(&event.trail)
                });
                if seen {
                    return;
                }
                std::thread::sleep(POLL);
            }
            assert!(
                Instant::now() < deadline,
                "no probe from {source} on {} was logged within {START_DEADLINE:?}; stderr:\n{}",
                link.server_interface,
                self.stderr()
            );
        }
    }

    /// Reads every event in the log, probes included.
    pub fn all_events(&self) -> Vec<LogLine> {
        log_events(&self.log_dir)
    }

    /// Reads the events in the log other than probes.
    pub fn events(&self) -> Vec<LogLine> {
        self.all_events()
            .into_iter()
            .filter(|event| event.info != PROBE_INFO)
            .collect()
    }

    /// Waits until `done` is true for the non-probe events and returns them. Panics with
    /// `expected` after [`EVENT_DEADLINE`].
    pub fn wait_events(
        &mut self,
        expected: &str,
        done: impl Fn(&[LogLine]) -> bool,
    ) -> Vec<LogLine> {
        let deadline = Instant::now() + EVENT_DEADLINE;
        loop {
            let events = self.events();
            if done(&events) {
                return events;
            }
            self.assert_running(expected);
            assert!(
                Instant::now() < deadline,
                "{expected}: not logged within {EVENT_DEADLINE:?}; events: {events:#?}\nstderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(POLL);
        }
    }

    /// Waits until the log contains at least `count` non-probe events and returns them.
    pub fn wait_event_count(&mut self, count: usize) -> Vec<LogLine> {
        self.wait_events(&format!("{count} events"), |events| events.len() >= count)
    }

    /// Sends `signal` to the sensor.
    pub fn signal(&self, signal: Signal) {
        let pid = Pid::from_raw(self.pid() as i32);
        kill(pid, signal).unwrap_or_else(|e| panic!("cannot send {signal} to the sensor: {e}"));
    }

    /// Sends SIGTERM and waits up to [`STOP_DEADLINE`] for the sensor to exit.
    pub fn stop(mut self) -> Stopped {
        self.signal(Signal::SIGTERM);
        let mut child = self.child.take().unwrap();
        let deadline = Instant::now() + STOP_DEADLINE;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the sensor did not exit within {STOP_DEADLINE:?} of SIGTERM; stderr:\n{}",
                    self.stderr()
                );
            }
            std::thread::sleep(POLL);
        };
        let stats = std::fs::read_to_string(&self.stats_path)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok());
        Stopped {
            status,
            stderr: self.stderr(),
            stats,
        }
    }

    /// Panics with standard error when the sensor has exited.
    fn assert_running(&mut self, what: &str) {
        let child = self.child.as_mut().expect("the sensor runs");
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "{what}: the sensor exited ({status}); stderr:\n{}",
                self.stderr()
            );
        }
    }
}

impl Drop for Sensor {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Category and name of the fixture list, as events show them.
pub const FIXTURE_INFO: &str = "evil (malware)";

/// Writes the trail tree of the live tests for the addresses of `link`: the domain
/// `evil.example`, the URL `bad.example/gate.php`, the IPv6 address `link.trail_v6` and the
/// endpoint `link.server_v4:7777`.
pub fn fixture_trails(dir: &Path, link: &Link) -> Trails {
    let list = format!(
        "# Reference: live-capture test fixture\nevil.example\nbad.example/gate.php\n{}\n{}:7777\n",
        link.trail_v6, link.server_v4
    );
    Trails::write(dir, &[("malware/evil.txt", &list)])
}

/// Asserts each field of `event` against the expected flow and trail, with the fixture's
/// sensor name and info.
pub fn assert_event(
    event: &LogLine,
    (src, dst): (SocketAddr, SocketAddr),
    proto: &str,
    trail_type: &str,
    trail: &str,
) {
    assert_eq!(event.sensor, "live", "sensor of {event:?}");
    assert_eq!(event.src_ip, src.ip().to_string(), "source of {event:?}");
    assert_eq!(
        event.src_port,
        src.port().to_string(),
        "source port of {event:?}"
    );
    assert_eq!(
        event.dst_ip,
        dst.ip().to_string(),
        "destination of {event:?}"
    );
    assert_eq!(
        event.dst_port,
        dst.port().to_string(),
        "destination port of {event:?}"
    );
    assert_eq!(event.proto, proto, "protocol of {event:?}");
    assert_eq!(event.trail_type, trail_type, "type of {event:?}");
    assert_eq!(event.trail, trail, "trail of {event:?}");
    assert_eq!(event.info, FIXTURE_INFO, "info of {event:?}");
}
