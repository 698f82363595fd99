//! The sensor's copies of events for other systems: every event written to the local log also
//! reaches the configured outputs, and the outputs are drained before the sensor exits. The
//! receivers are sockets this test opens on 127.0.0.1.

mod common;

use std::io::Read as _;
use std::net::{TcpListener, UdpSocket};
use std::path::Path;
use std::time::Duration;

use common::frames::*;
use common::{log_lines, run_sensor};

/// 2026-01-15 12:00:00 UTC.
const T0: i64 = 1_768_478_400;

const TRAILS: &str = "# Reference: test fixture\nevil.example\nworse.example\n";

/// Writes a capture with one DNS query for each of `names`, one second apart.
fn write_capture(path: &Path, names: &[&str]) {
    let frames: Vec<(i64, i64, Vec<u8>)> = names
        .iter()
        .enumerate()
        .map(|(at, name)| {
            let query = dns_query(at as u16, name);
            let frame = ethernet(&[], 0x0800, &ipv4_udp(CLIENT, SERVER, 40000, 53, &query));
            (T0 + at as i64, 0, frame)
        })
        .collect();
    write_pcap(path, 1, &frames);
}

/// Runs the sensor over `names` with `outputs` as the `[outputs]` table and returns the lines
/// of the local log.
fn run_with_outputs(work: &Path, names: &[&str], outputs: &str) -> Vec<String> {
    std::fs::create_dir_all(work.join("trails/malware")).unwrap();
    std::fs::write(work.join("trails/malware/evil.txt"), TRAILS).unwrap();
    let capture = work.join("queries.pcap");
    write_capture(&capture, names);
    let config = work.join("sensor.toml");
    std::fs::write(&config, format!("[outputs]\n{outputs}")).unwrap();

    let log_dir = work.join("log");
    let output = run_sensor(&[
        "-c",
        config.to_str().unwrap(),
        "-r",
        capture.to_str().unwrap(),
        "--trails",
        work.join("trails").to_str().unwrap(),
        "--log-dir",
        log_dir.to_str().unwrap(),
        "--sensor-name",
        "copies",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    log_lines(&log_dir)
}

fn receive_datagrams(socket: &UdpSocket, count: usize) -> Vec<String> {
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut datagrams = Vec::new();
    let mut buffer = [0u8; 65_536];
    while datagrams.len() < count {
        let (size, _) = socket.recv_from(&mut buffer).expect("a datagram arrives");
        datagrams.push(String::from_utf8(buffer[..size].to_vec()).unwrap());
    }
    datagrams
}

#[test]
fn maltrail_datagram_per_logged_event() {
    let work = tempfile::tempdir().unwrap();
    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
    let address = receiver.local_addr().unwrap();

    let lines = run_with_outputs(
        work.path(),
        &["www.evil.example", "benign.example", "worse.example"],
        &format!("log_server = \"{address}\"\n"),
    );

    assert_eq!(lines.len(), 2, "{lines:?}");
    let datagrams = receive_datagrams(&receiver, 2);
    let expected: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(at, line)| format!("{} {line}\n", T0 + at as i64 * 2))
        .collect();
    assert_eq!(datagrams, expected);
}

#[test]
fn json_and_syslog_copies_arrive() {
    let work = tempfile::tempdir().unwrap();
    let json_receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
    let syslog_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let outputs = format!(
        "[outputs.json]\nserver = \"{}\"\ntransport = \"udp\"\n\n\
         [outputs.syslog]\nserver = \"{}\"\ntransport = \"tcp\"\n",
        json_receiver.local_addr().unwrap(),
        syslog_listener.local_addr().unwrap()
    );

    let lines = run_with_outputs(work.path(), &["cdn.worse.example"], &outputs);

    assert_eq!(lines.len(), 1, "{lines:?}");
    let json = receive_datagrams(&json_receiver, 1).remove(0);
    let object: serde_json::Value = serde_json::from_str(json.trim_end()).unwrap();
    assert_eq!(object["trail"], "(cdn).worse.example");
    assert_eq!(object["sensor"], "copies");

    // The sensor has exited, so the syslog connection contains everything it sent.
    let (mut stream, _) = syslog_listener.accept().unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut received = String::new();
    stream.read_to_string(&mut received).unwrap();
    let (length, message) = received.split_once(' ').expect("octet-counted frame");
    assert_eq!(length.parse::<usize>().unwrap(), message.len());
    assert!(
        message.contains("CEF:0|trailwatch|trailwatch-sensor|"),
        "{message}"
    );
    assert!(message.contains("cs1=(cdn).worse.example"), "{message}");
}
