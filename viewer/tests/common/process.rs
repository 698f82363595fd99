//! The viewer binary as a child process, for tests that need settings only a process has: a
//! TLS listener from a config file, or a lower open-file limit.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// A viewer process and the lines it logged so far.
pub struct ViewerProcess {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Address from its "listening on" line, such as `https://127.0.0.1:41234`.
    pub url: String,
    log: Vec<String>,
}

impl ViewerProcess {
    /// Starts the viewer binary with `-c config`.
    pub fn start(config: &std::path::Path) -> ViewerProcess {
        let mut command = Command::new(env!("CARGO_BIN_EXE_trailwatch-viewer"));
        command.arg("-c").arg(config);
        ViewerProcess::spawn(command)
    }

    /// Runs `command`, which must start the viewer, with `RUST_LOG=info` and standard error
    /// piped, and waits up to 60 s for its "listening on" line.
    pub fn spawn(mut command: Command) -> ViewerProcess {
        let mut child = command
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });

        let mut log = Vec::new();
        let url = loop {
            let line = lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("viewer did not start; log: {log:#?}"));
            log.push(line.clone());
            if let Some((_, url)) = line.split_once("listening on ") {
                break url.trim().to_string();
            }
        };
        ViewerProcess {
            child,
            lines,
            url,
            log,
        }
    }

    /// Returns the `host:port` part of [`ViewerProcess::url`].
    pub fn addr(&self) -> &str {
        self.url
            .split_once("://")
            .map_or(&self.url, |(_, addr)| addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the process with SIGTERM, checks that it exited successfully, and returns
    /// everything it logged.
    pub fn stop(mut self) -> String {
        kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM).unwrap();
        let status = self.child.wait().unwrap();
        self.log.extend(self.lines.try_iter());
        let log = self.log.join("\n");
        assert!(status.success(), "viewer exited with {status}; log:\n{log}");
        log
    }
}
