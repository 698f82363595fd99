//! The Maltrail UDP output against a UDP socket on 127.0.0.1.

mod common;

use std::net::UdpSocket;

use common::{only_stats, sample_event, start_outputs, wait_until, PATIENCE};

fn receive(socket: &UdpSocket) -> Vec<u8> {
    let mut buffer = vec![0_u8; 65536];
    let length = socket.recv(&mut buffer).expect("a datagram arrives");
    buffer.truncate(length);
    buffer
}

#[test]
fn datagram_is_seconds_and_line() {
    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
    receiver.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut outputs = start_outputs(&format!(
        "log_server = \"{}\"\n",
        receiver.local_addr().unwrap()
    ));
    let event = sample_event();

    outputs.send(&event);
    let datagram = receive(&receiver);

    let expected = format!("1796366814 {}", event.to_log_line());
    assert_eq!(String::from_utf8(datagram.clone()).unwrap(), expected);
    assert!(datagram.ends_with(b"\n"), "the line keeps its newline");

    // A Maltrail server splits at the first space and appends the rest to the daily log.
    let text = String::from_utf8(datagram).unwrap();
    let (seconds, line) = text.split_once(' ').unwrap();
    assert_eq!(seconds.parse::<i64>().unwrap(), event.time.secs);
    assert_eq!(line, event.to_log_line());

    outputs.shutdown(PATIENCE);
}

#[test]
fn shutdown_drains_queued_events() {
    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
    receiver.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut outputs = start_outputs(&format!(
        "log_server = \"{}\"\n",
        receiver.local_addr().unwrap()
    ));
    let mut event = sample_event();

    for index in 0..100 {
        event.trail = format!("trail{index}.example");
        outputs.send(&event);
    }
    outputs.shutdown(PATIENCE);
    let stats = only_stats(&outputs);

    assert_eq!(stats.name, "log_server");
    assert_eq!(stats.sent, 100);
    assert_eq!(stats.pending, 0);
    assert_eq!(stats.dropped, 0);
    for index in 0..100 {
        let datagram = String::from_utf8(receive(&receiver)).unwrap();
        assert!(
            datagram.contains(&format!(" trail{index}.example ")),
            "datagram {index} in order: {datagram}"
        );
    }
}

#[test]
fn send_after_shutdown_counts_dropped() {
    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut outputs = start_outputs(&format!(
        "log_server = \"{}\"\n",
        receiver.local_addr().unwrap()
    ));

    outputs.shutdown(PATIENCE);
    outputs.send(&sample_event());

    wait_until("the dropped count", || only_stats(&outputs).dropped == 1);
    assert_eq!(only_stats(&outputs).sent, 0);
}
