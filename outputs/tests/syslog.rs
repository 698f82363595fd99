//! The syslog output against a UDP socket and a TCP listener on 127.0.0.1: RFC 5424 header
//! fields, the CEF record and its escaping (control bytes from packets included),
//! octet-counting framing and reconnection.

mod common;

use std::io::{BufReader, Read};
use std::net::{TcpListener, TcpStream, UdpSocket};

use chrono::{DateTime, Local, Offset, TimeZone};
use common::{event_with_trail, only_stats, sample_event, start_outputs, wait_until, PATIENCE};
use trailwatch_outputs::{Context, Outputs, OutputsConfig};

/// The RFC 5424 fields of one message.
#[derive(Debug)]
struct SyslogMessage {
    priority: u32,
    version: String,
    timestamp: String,
    hostname: String,
    app_name: String,
    procid: String,
    msgid: String,
    structured_data: String,
    message: String,
}

/// Splits an RFC 5424 message into its header fields and MSG.
fn parse_syslog(text: &str) -> SyslogMessage {
    let fields: Vec<&str> = text.splitn(8, ' ').collect();
    assert_eq!(fields.len(), 8, "eight space-separated parts in {text:?}");

    let (priority, version) = fields[0]
        .strip_prefix('<')
        .and_then(|rest| rest.split_once('>'))
        .expect("PRI in angle brackets");

    SyslogMessage {
        priority: priority.parse().expect("numeric PRI"),
        version: version.to_owned(),
        timestamp: fields[1].to_owned(),
        hostname: fields[2].to_owned(),
        app_name: fields[3].to_owned(),
        procid: fields[4].to_owned(),
        msgid: fields[5].to_owned(),
        structured_data: fields[6].to_owned(),
        message: fields[7].to_owned(),
    }
}

/// The fields of one CEF record, unescaped.
#[derive(Debug)]
struct CefRecord {
    header: Vec<String>,
    extension: Vec<(String, String)>,
}

impl CefRecord {
    fn get(&self, key: &str) -> Option<&str> {
        self.extension
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    }
}

/// Parses a CEF record: seven header fields split at unescaped `|`, then `key=value` pairs
/// whose values end where the next ` key=` starts.
fn parse_cef(text: &str) -> CefRecord {
    let mut header = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars();
    while header.len() < 7 {
        match chars.next().expect("seven header fields") {
            '\\' => field.push(chars.next().expect("escaped character")),
            '|' => header.push(std::mem::take(&mut field)),
            other => field.push(other),
        }
    }
    let extension_text: String = chars.collect();

    // Positions of the unescaped `=` that end a key.
    let bytes = extension_text.as_bytes();
    let mut key_ends = Vec::new();
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'\\' => index += 2,
            b'=' => {
                key_ends.push(index);
                index += 1;
            }
            _ => index += 1,
        }
    }

    let mut extension = Vec::new();
    for (position, &end) in key_ends.iter().enumerate() {
        let key_start = extension_text[..end]
            .rfind(' ')
            .map_or(0, |space| space + 1);
        let value_end = match key_ends.get(position + 1) {
            Some(&next) => extension_text[..next].rfind(' ').expect("space before key"),
            None => extension_text.len(),
        };
        let key = extension_text[key_start..end].to_owned();
        let value = unescape_extension(&extension_text[end + 1..value_end]);
        extension.push((key, value));
    }

    CefRecord { header, extension }
}

fn unescape_extension(raw: &str) -> String {
    let mut value = String::new();
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            value.push(c);
            continue;
        }
        match chars.next().expect("escaped character") {
            'n' => value.push('\n'),
            'r' => value.push('\r'),
            other => value.push(other),
        }
    }
    value
}

fn udp_receiver() -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(PATIENCE)).unwrap();
    socket
}

fn receive_text(socket: &UdpSocket) -> String {
    let mut buffer = vec![0_u8; 65536];
    let length = socket.recv(&mut buffer).expect("a datagram arrives");
    String::from_utf8(buffer[..length].to_vec()).expect("UTF-8 message")
}

/// Reads one octet-counted frame: decimal length, a space, then that many bytes.
fn read_frame(reader: &mut impl Read) -> String {
    let mut length = String::new();
    let mut byte = [0_u8; 1];
    loop {
        reader.read_exact(&mut byte).expect("frame length");
        if byte[0] == b' ' {
            break;
        }
        assert!(byte[0].is_ascii_digit(), "length digit, got {:?}", byte[0]);
        length.push(char::from(byte[0]));
    }

    let mut frame = vec![0_u8; length.parse().unwrap()];
    reader.read_exact(&mut frame).expect("whole frame");
    String::from_utf8(frame).expect("UTF-8 frame")
}

fn accept(listener: &TcpListener) -> BufReader<TcpStream> {
    let (stream, _) = listener.accept().expect("the output connects");
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    BufReader::new(stream)
}

#[test]
fn udp_header_fields_are_exact() {
    let receiver = udp_receiver();
    let mut outputs = start_outputs(&format!(
        "[syslog]\nserver = \"{}\"\ntransport = \"udp\"\nfacility = \"local3\"\n\
         app_name = \"tw\"\n",
        receiver.local_addr().unwrap()
    ));
    let event = sample_event();

    outputs.send(&event);
    let message = parse_syslog(&receive_text(&receiver));

    assert_eq!(message.priority, 19 * 8 + 2, "local3, critical for high");
    assert_eq!(message.version, "1");
    assert_eq!(message.hostname, "edge_1");
    assert_eq!(message.app_name, "tw");
    assert_eq!(message.procid, std::process::id().to_string());
    assert_eq!(message.msgid, "DNS");
    assert_eq!(message.structured_data, "-");

    let time = DateTime::parse_from_rfc3339(&message.timestamp).expect("RFC 3339 timestamp");
    assert_eq!(time.timestamp(), 1_796_366_814);
    assert_eq!(time.timestamp_subsec_micros(), 123_456);
    let local_offset = Local
        .timestamp_opt(1_796_366_814, 0)
        .unwrap()
        .offset()
        .fix();
    assert_eq!(*time.offset(), local_offset);
    assert_eq!(
        message.timestamp.len(),
        "2026-12-04T06:46:54.123456+00:00".len()
    );

    outputs.shutdown(PATIENCE);
}

#[test]
fn udp_cef_fields_are_exact() {
    let receiver = udp_receiver();
    let mut outputs = start_outputs(&format!(
        "[syslog]\nserver = \"{}\"\n",
        receiver.local_addr().unwrap()
    ));

    outputs.send(&sample_event());
    let message = parse_syslog(&receive_text(&receiver));
    let record = parse_cef(&message.message);

    assert_eq!(message.priority, 8 + 2, "default facility user");
    assert_eq!(message.app_name, "trailwatch-sensor");
    assert_eq!(
        record.header,
        [
            "CEF:0",
            "trailwatch",
            "trailwatch-sensor",
            env!("CARGO_PKG_VERSION"),
            "DNS",
            "emotet (malware)",
            "8"
        ]
    );
    let expected = [
        ("src", "192.168.1.20"),
        ("spt", "51234"),
        ("dst", "8.8.8.8"),
        ("dpt", "53"),
        ("proto", "UDP"),
        ("cs2Label", "reference"),
        ("cs2", "(static)"),
        ("cs1Label", "trail"),
        ("cs1", "evil.example.com"),
    ];
    let extension: Vec<(&str, &str)> = record
        .extension
        .iter()
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect();
    assert_eq!(extension, expected);

    outputs.shutdown(PATIENCE);
}

#[test]
fn special_characters_are_escaped() {
    let receiver = udp_receiver();
    let mut outputs = start_outputs(&format!(
        "[syslog]\nserver = \"{}\"\n",
        receiver.local_addr().unwrap()
    ));
    let mut event = event_with_trail("host/?a=b\\c\nd|e");
    event.info = "emo|tet\\x (malware)".to_owned();
    event.reference = "ref=1\r\n".to_owned();

    outputs.send(&event);
    let text = receive_text(&receiver);
    let record = parse_cef(&parse_syslog(&text).message);

    assert!(text.contains("|DNS|emo\\|tet\\\\x (malware)|8|"), "{text}");
    assert!(text.ends_with(" cs1=host/?a\\=b\\\\c\\nd|e"), "{text}");
    assert!(text.contains(" cs2=ref\\=1\\r\\n "), "{text}");
    assert!(!text.contains('\n'), "no raw line break in {text:?}");
    assert_eq!(record.header[5], "emo|tet\\x (malware)");
    assert_eq!(record.get("cs1"), Some("host/?a=b\\c\nd|e"));
    assert_eq!(record.get("cs2"), Some("ref=1\r\n"));

    outputs.shutdown(PATIENCE);
}

#[test]
fn packet_control_bytes_are_escaped() {
    let receiver = udp_receiver();
    let config: OutputsConfig = toml::from_str(&format!(
        "[syslog]\nserver = \"{}\"\n",
        receiver.local_addr().unwrap()
    ))
    .unwrap();
    let context = Context {
        sensor_name: "edge\u{1b}[2J\u{7}1".to_owned(),
    };
    let mut outputs = Outputs::start(&config, &context).unwrap();
    let mut event = event_with_trail("evil.example/?q=\u{1b}[2J\u{7}\u{0}\t\u{7f}");
    event.info = "emotet\u{1b}[31m (malware)".to_owned();

    outputs.send(&event);
    let text = receive_text(&receiver);
    let message = parse_syslog(&text);
    let record = parse_cef(&message.message);

    let raw: Vec<char> = text.chars().filter(|c| c.is_control()).collect();
    assert!(raw.is_empty(), "raw control characters {raw:?} in {text:?}");
    assert_eq!(message.hostname, "edge_[2J_1");
    assert_eq!(record.header[5], "emotet\\x1b[31m (malware)");
    assert_eq!(
        record.get("cs1"),
        Some("evil.example/?q=\\x1b[2J\\x07\\x00\\x09\\x7f")
    );

    outputs.shutdown(PATIENCE);
}

#[test]
fn medium_event_gets_warning() {
    let receiver = udp_receiver();
    let mut outputs = start_outputs(&format!(
        "[syslog]\nserver = \"{}\"\nfacility = \"authpriv\"\n",
        receiver.local_addr().unwrap()
    ));
    let mut event = sample_event();
    event.info = "gophish (malicious)".to_owned();
    event.repeats = 7;

    outputs.send(&event);
    let message = parse_syslog(&receive_text(&receiver));
    let record = parse_cef(&message.message);

    assert_eq!(message.priority, 10 * 8 + 4);
    assert_eq!(record.header[6], "5");
    assert_eq!(record.get("cnt"), Some("7"));

    outputs.shutdown(PATIENCE);
}

#[test]
fn long_udp_message_is_cut() {
    let receiver = udp_receiver();
    let mut outputs = start_outputs(&format!(
        "[syslog]\nserver = \"{}\"\n",
        receiver.local_addr().unwrap()
    ));

    outputs.send(&event_with_trail(&"a".repeat(5000)));
    let text = receive_text(&receiver);
    let record = parse_cef(&parse_syslog(&text).message);

    assert_eq!(text.len(), 2048);
    assert_eq!(record.get("cs2"), Some("(static)"));
    assert!(record.get("cs1").unwrap().starts_with("aaaa"));

    outputs.shutdown(PATIENCE);
}

#[test]
fn tcp_frames_count_octets() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut outputs = start_outputs(&format!(
        "[syslog]\nserver = \"{}\"\ntransport = \"tcp\"\n",
        listener.local_addr().unwrap()
    ));

    outputs.send(&event_with_trail("first.example"));
    outputs.send(&event_with_trail("zweite.beispiel/ü"));
    let mut connection = accept(&listener);
    let first = parse_cef(&parse_syslog(&read_frame(&mut connection)).message);
    let second = parse_cef(&parse_syslog(&read_frame(&mut connection)).message);

    assert_eq!(first.get("cs1"), Some("first.example"));
    assert_eq!(second.get("cs1"), Some("zweite.beispiel/ü"));

    outputs.shutdown(PATIENCE);
    assert_eq!(only_stats(&outputs).sent, 2);
}

#[test]
fn tcp_reconnects_after_close() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut outputs = start_outputs(&format!(
        "[syslog]\nserver = \"{}\"\ntransport = \"tcp\"\n",
        listener.local_addr().unwrap()
    ));

    outputs.send(&event_with_trail("before.example"));
    let mut first = accept(&listener);
    let before = parse_cef(&parse_syslog(&read_frame(&mut first)).message);
    assert_eq!(before.get("cs1"), Some("before.example"));
    wait_until("the first event counted as sent", || {
        only_stats(&outputs).sent == 1
    });
    drop(first);

    outputs.send(&event_with_trail("after1.example"));
    outputs.send(&event_with_trail("after2.example"));
    let mut second = accept(&listener);
    let after1 = parse_cef(&parse_syslog(&read_frame(&mut second)).message);
    let after2 = parse_cef(&parse_syslog(&read_frame(&mut second)).message);

    assert_eq!(after1.get("cs1"), Some("after1.example"));
    assert_eq!(after2.get("cs1"), Some("after2.example"));

    outputs.shutdown(PATIENCE);
    let stats = only_stats(&outputs);
    assert_eq!(stats.sent, 3);
    assert_eq!(stats.dropped, 0);
}
