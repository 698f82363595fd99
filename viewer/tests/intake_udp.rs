//! The Maltrail-compatible UDP intake end to end: datagrams over 127.0.0.1 into a real viewer.

use std::fs;
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use trailwatch_event::{parse_log_line, Event, Proto, Timestamp, TrailType};
use trailwatch_outputs::maltrail_udp::MaltrailUdp;
use trailwatch_outputs::Output;
use trailwatch_viewer::intake::UdpStats;
use trailwatch_viewer::net::IpNet;
use trailwatch_viewer::{Config, ViewerServer};

/// Generous limit for conditions that normally hold within seconds.
const DEADLINE: Duration = Duration::from_secs(120);

const LINE: &str = "\"2026-03-01 10:00:00.000000\" maltrail-pi 10.0.0.5 51234 10.0.0.1 53 UDP DNS \
                    evil.test malware (static)\n";

/// Starts a viewer with only the UDP intake on 127.0.0.1, accepting `allow`.
fn start_viewer(dir: &Path, allow: Option<Vec<IpNet>>) -> (ViewerServer, SocketAddr) {
    let mut config = Config::with_defaults(
        "127.0.0.1:0".parse().unwrap(),
        dir.join("logs"),
        dir.join("users.toml"),
    );
    config.intake.udp = Some("127.0.0.1:0".parse().unwrap());
    config.intake.udp_allow = allow;
    let server = ViewerServer::start(config).unwrap();
    let addr = server.intakes().udp_addr().unwrap();
    (server, addr)
}

fn stats(server: &ViewerServer) -> UdpStats {
    server.intakes().udp_stats().unwrap()
}

/// Returns whether `count` datagrams arrived and each was written or dropped.
fn handled(server: &ViewerServer, count: u64) -> bool {
    let counted = stats(server);
    let outcomes = counted.written + counted.malformed + counted.disallowed + counted.write_failed;
    counted.received == count && outcomes == count
}

fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

fn send(to: SocketAddr, datagrams: &[Vec<u8>]) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    for datagram in datagrams {
        socket.send_to(datagram, to).unwrap();
    }
}

fn read_or_empty(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn datagrams_land_in_daily_logs() {
    let dir = tempfile::tempdir().unwrap();
    let (server, addr) = start_viewer(dir.path(), Some(vec!["127.0.0.0/8".parse().unwrap()]));
    let next_day = LINE.replace("2026-03-01 10:00:00", "2026-03-02 00:00:05");

    send(
        addr,
        &[
            format!("1772359200 {LINE}").into_bytes(),
            format!("1772406005 {next_day}").into_bytes(),
            format!("1772359201 {}", LINE.trim_end()).into_bytes(),
        ],
    );
    wait_until("three datagrams", || handled(&server, 3));

    let first = read_or_empty(&dir.path().join("logs/2026-03-01.log"));
    let second = read_or_empty(&dir.path().join("logs/2026-03-02.log"));
    assert_eq!(first, format!("{LINE}{LINE}"));
    assert_eq!(second, next_day);
    assert_eq!(stats(&server).written, 3);
    server.stop();
}

#[test]
fn maltrail_output_reaches_viewer() {
    let dir = tempfile::tempdir().unwrap();
    let (server, addr) = start_viewer(dir.path(), None);
    let event = Event {
        time: Timestamp::new(1_772_359_200, 500_000_000),
        sensor: Arc::from("edge1"),
        src_ip: "10.0.0.5".parse().unwrap(),
        src_port: Some(40000),
        dst_ip: "10.0.0.1".parse().unwrap(),
        dst_port: Some(443),
        proto: Proto::Tcp,
        trail_type: TrailType::Ip,
        trail: "10.0.0.1".to_string(),
        info: "known attacker".to_string(),
        reference: "feed.test".to_string(),
        repeats: 0,
    };

    let mut output = MaltrailUdp::start(&addr.to_string()).unwrap();
    output.send(&event);
    output.shutdown(DEADLINE);
    wait_until("the datagram", || stats(&server).written == 1);

    let line = event.to_log_line();
    let date = parse_log_line(&line).unwrap().local_time().unwrap().date();
    let path = dir
        .path()
        .join(format!("logs/{}.log", date.format("%Y-%m-%d")));
    assert_eq!(read_or_empty(&path), line);
    server.stop();
}

#[test]
fn malformed_datagrams_counted_and_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let (server, addr) = start_viewer(dir.path(), None);
    let bad_time = LINE.replace("2026-03-01 10:00:00.000000", "later");
    let two_lines = format!("1772359200 {}\n{LINE}", LINE.trim_end());

    send(
        addr,
        &[
            LINE.as_bytes().to_vec(),
            format!("soon {LINE}").into_bytes(),
            format!("1772359200 {bad_time}").into_bytes(),
            two_lines.into_bytes(),
            b"1772359200 ten fields only a b c d e f g\n".to_vec(),
            vec![0xff; 40],
        ],
    );
    wait_until("six datagrams", || handled(&server, 6));

    let counted = stats(&server);
    assert_eq!(counted.malformed, 6);
    assert_eq!(counted.written, 0);
    assert_eq!(fs::read_dir(dir.path().join("logs")).unwrap().count(), 0);
    server.stop();
}

#[test]
fn disallowed_sender_counted_and_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let (server, addr) = start_viewer(dir.path(), Some(vec!["10.0.0.0/8".parse().unwrap()]));

    send(addr, &[format!("1772359200 {LINE}").into_bytes()]);
    wait_until("the datagram", || handled(&server, 1));

    let counted = stats(&server);
    assert_eq!(counted.disallowed, 1);
    assert_eq!(counted.written, 0);
    assert!(!dir.path().join("logs/2026-03-01.log").exists());
    server.stop();
}
