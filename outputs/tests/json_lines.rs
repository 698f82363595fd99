//! The JSON lines output against a TCP listener and a UDP socket on 127.0.0.1.

mod common;

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, UdpSocket};

use common::{event_with_trail, only_stats, sample_event, start_outputs, wait_until, PATIENCE};
use serde_json::Value;

#[test]
fn tcp_lines_carry_severity() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut outputs = start_outputs(&format!(
        "[json]\nserver = \"{}\"\n",
        listener.local_addr().unwrap()
    ));
    let event = sample_event();
    let mut low = event_with_trail("scanner.example");
    low.info = "mass scanner".to_owned();

    outputs.send(&event);
    outputs.send(&low);
    let (stream, _) = listener.accept().unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut reader = BufReader::new(stream);
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    let mut second = String::new();
    reader.read_line(&mut second).unwrap();

    let expected_first = format!(
        "{},\"severity\":\"high\"}}\n",
        event.to_json_line().trim_end().trim_end_matches('}')
    );
    assert_eq!(first, expected_first);
    let second: Value = serde_json::from_str(&second).unwrap();
    assert_eq!(second["severity"], "low");
    assert_eq!(second["sensor"], "edge 1");
    assert_eq!(second["trail"], "scanner.example");

    outputs.shutdown(PATIENCE);
}

#[test]
fn udp_datagram_is_one_line() {
    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
    receiver.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut outputs = start_outputs(&format!(
        "[json]\nserver = \"{}\"\ntransport = \"udp\"\n",
        receiver.local_addr().unwrap()
    ));
    let event = event_with_trail("line\nbreak.example");

    outputs.send(&event);
    let mut buffer = vec![0_u8; 65536];
    let length = receiver.recv(&mut buffer).unwrap();
    let text = std::str::from_utf8(&buffer[..length]).unwrap();

    assert_eq!(
        text.matches('\n').count(),
        1,
        "only the final newline: {text:?}"
    );
    assert!(text.ends_with("}\n"));
    let value: Value = serde_json::from_str(text).unwrap();
    assert_eq!(value["trail"], "line\nbreak.example");
    assert_eq!(value["severity"], "high");

    outputs.shutdown(PATIENCE);
}

#[test]
fn tcp_reconnects_after_close() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut outputs = start_outputs(&format!(
        "[json]\nserver = \"{}\"\ntransport = \"tcp\"\n",
        listener.local_addr().unwrap()
    ));
    let read_trail = |reader: &mut BufReader<std::net::TcpStream>| {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let value: Value = serde_json::from_str(&line).unwrap();
        value["trail"].as_str().unwrap().to_owned()
    };

    outputs.send(&event_with_trail("before.example"));
    let (stream, _) = listener.accept().unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut first = BufReader::new(stream);
    assert_eq!(read_trail(&mut first), "before.example");
    wait_until("the first event counted as sent", || {
        only_stats(&outputs).sent == 1
    });
    drop(first);

    outputs.send(&event_with_trail("after.example"));
    let (stream, _) = listener.accept().unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut second = BufReader::new(stream);

    assert_eq!(read_trail(&mut second), "after.example");

    outputs.shutdown(PATIENCE);
    assert_eq!(only_stats(&outputs).sent, 2);
}

#[test]
fn full_queue_drops_and_counts() {
    // A port that was just free, so connections are refused and the worker backs off.
    let address = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut outputs = start_outputs(&format!("[json]\nserver = \"{address}\"\n"));
    let event = sample_event();
    let total = 2100;

    for _ in 0..total {
        outputs.send(&event);
    }
    let stats = only_stats(&outputs);

    // The queue takes 2048 events and the worker at most one more.
    assert!(stats.dropped >= total - 2049, "dropped {}", stats.dropped);
    assert_eq!(stats.sent + stats.dropped + stats.pending, total);

    outputs.shutdown(std::time::Duration::from_millis(200));
    wait_until("every event dropped", || {
        only_stats(&outputs).dropped == total
    });
    let stats = only_stats(&outputs);
    assert_eq!(stats.sent, 0);
    assert_eq!(stats.pending, 0);
}
