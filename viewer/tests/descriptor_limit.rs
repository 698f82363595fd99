//! The viewer binary under a low open-file limit: running out of file descriptors while
//! clients connect must not stop it from accepting once descriptors are free again.

mod common;

use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::thread;
use std::time::Duration;

use common::ping;
use common::process::ViewerProcess;

/// Open-file limit of the viewer process: room for its own files and a few clients.
const FILE_LIMIT: u32 = 48;

#[test]
fn descriptor_exhaustion_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();

    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!("ulimit -n {FILE_LIMIT} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_trailwatch-viewer"))
        .args(["--listen", "127.0.0.1:0", "--log-dir"])
        .arg(&logs)
        .arg("--users")
        .arg(dir.path().join("users.toml"));
    let viewer = ViewerProcess::spawn(command);
    let addr: SocketAddr = viewer.addr().parse().unwrap();
    assert!(ping(addr).unwrap().ends_with("pong"));

    // Twice as many silent clients as the viewer has descriptors: accepting them fails with
    // EMFILE once the descriptors run out.
    // A connect may fail once the viewer stopped listening, which the ping below reports.
    let silent_clients: Vec<TcpStream> = (0..2 * FILE_LIMIT)
        .filter_map(|_| TcpStream::connect(addr).ok())
        .collect();
    thread::sleep(Duration::from_secs(2));
    drop(silent_clients);
    thread::sleep(Duration::from_secs(2));

    let reply = ping(addr);
    let log = viewer.stop();

    let reply =
        reply.unwrap_or_else(|error| panic!("no response after EMFILE: {error}; log:\n{log}"));
    assert!(reply.ends_with("pong"), "response: {reply}");
    assert!(
        log.contains("Too many open files"),
        "the viewer never ran out of descriptors: {log}"
    );
    assert!(!log.contains("panicked"), "log: {log}");
}
