//! The viewer binary under a low open-file limit: running out of file descriptors while
//! clients connect must not stop it from accepting once descriptors are free again.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Open-file limit of the viewer process: room for its own files and a few clients.
const FILE_LIMIT: u32 = 48;

/// Sends `GET /ping` and returns the raw response, or the error.
fn ping(addr: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    Ok(reply)
}

#[test]
fn descriptor_exhaustion_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();

    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -n {FILE_LIMIT} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_trailwatch-viewer"))
        .args(["--listen", "127.0.0.1:0", "--log-dir"])
        .arg(&logs)
        .arg("--users")
        .arg(dir.path().join("users.toml"))
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (sender, lines) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = sender.send(line);
        }
    });
    let addr = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .expect("the viewer did not start");
        if let Some((_, url)) = line.split_once("listening on http://") {
            break url.trim().to_string();
        }
    };
    assert!(ping(&addr).unwrap().ends_with("pong"));

    // Twice as many silent clients as the viewer has descriptors: accepting them fails with
    // EMFILE once the descriptors run out.
    // A connect may fail once the viewer stopped listening, which the ping below reports.
    let silent_clients: Vec<TcpStream> = (0..2 * FILE_LIMIT)
        .filter_map(|_| TcpStream::connect(&addr).ok())
        .collect();
    thread::sleep(Duration::from_secs(2));
    drop(silent_clients);
    thread::sleep(Duration::from_secs(2));

    let reply = ping(&addr);
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let status = child.wait().unwrap();
    let log: Vec<String> = lines.try_iter().collect();

    let reply = reply.unwrap_or_else(|error| panic!("no answer after EMFILE: {error}; {log:#?}"));
    assert!(reply.ends_with("pong"), "response: {reply}");
    assert!(
        log.iter().any(|line| line.contains("Too many open files")),
        "the viewer never ran out of descriptors: {log:#?}"
    );
    assert!(
        !log.iter().any(|line| line.contains("panicked")),
        "log: {log:#?}"
    );
    assert!(status.success(), "the viewer exited with {status}");
}
