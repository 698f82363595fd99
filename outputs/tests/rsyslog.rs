//! The syslog output read by a real rsyslogd, which this test starts on 127.0.0.1 with its own
//! configuration and output file. Skipped when Debian's rsyslog package is not installed.

mod common;

use std::fs;
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::{event_with_trail, start_outputs, wait_until, PATIENCE};

const RSYSLOGD: &str = "/usr/sbin/rsyslogd";

/// An rsyslogd child process, killed on drop.
struct Rsyslogd(Child);

impl Drop for Rsyslogd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Returns a loopback port that was free a moment ago.
fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts rsyslogd with UDP and TCP inputs on 127.0.0.1 that write the parsed RFC 5424 fields
/// of each message, separated by `|`, to `output`.
fn start_rsyslogd(directory: &Path, udp_port: u16, tcp_port: u16, output: &Path) -> Rsyslogd {
    let config = format!(
        r#"global(workDirectory="{work}")
module(load="imudp")
module(load="imtcp")
template(name="fields" type="string"
         string="%pri%|%timereported:::date-rfc3339%|%hostname%|%app-name%|%procid%|%msgid%|%structured-data%|%msg%\n")
ruleset(name="trailwatch") {{
    action(type="omfile" file="{output}" template="fields")
}}
input(type="imudp" address="127.0.0.1" port="{udp_port}" ruleset="trailwatch")
input(type="imtcp" address="127.0.0.1" port="{tcp_port}" ruleset="trailwatch")
"#,
        work = directory.display(),
        output = output.display(),
    );
    let config_path = directory.join("rsyslog.conf");
    fs::write(&config_path, config).unwrap();

    let child = Command::new(RSYSLOGD)
        .arg("-n")
        .arg("-f")
        .arg(&config_path)
        .arg("-i")
        .arg(directory.join("rsyslogd.pid"))
        .stdin(Stdio::null())
        .spawn()
        .expect("rsyslogd starts");
    let daemon = Rsyslogd(child);

    wait_until("rsyslogd to listen on TCP", || {
        TcpStream::connect(("127.0.0.1", tcp_port)).is_ok()
    });
    daemon
}

fn output_lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn rsyslog_parses_both_transports() {
    if !Path::new(RSYSLOGD).exists() {
        println!("skipped: {RSYSLOGD} not found (install Debian's rsyslog package to run this)");
        return;
    }
    let directory = tempfile::tempdir().unwrap();
    let output = directory.path().join("messages.log");
    let (udp_port, tcp_port) = (free_udp_port(), free_tcp_port());
    let _daemon = start_rsyslogd(directory.path(), udp_port, tcp_port, &output);

    let mut udp = start_outputs(&format!(
        "[syslog]\nserver = \"127.0.0.1:{udp_port}\"\ntransport = \"udp\"\n"
    ));
    let mut tcp = start_outputs(&format!(
        "[syslog]\nserver = \"127.0.0.1:{tcp_port}\"\ntransport = \"tcp\"\nfacility = \"local5\"\n"
    ));
    udp.send(&event_with_trail("udp.example/?a=b|c"));
    tcp.send(&event_with_trail("tcp.example/x\\y\nz"));
    tcp.send(&event_with_trail("tcp2.example"));
    udp.shutdown(PATIENCE);
    tcp.shutdown(PATIENCE);
    wait_until("three messages in the rsyslog output", || {
        output_lines(&output).len() >= 3
    });

    let lines = output_lines(&output);
    let find = |trail: &str| {
        lines
            .iter()
            .find(|line| line.contains(trail))
            .unwrap_or_else(|| panic!("no line with {trail} in {lines:?}"))
            .splitn(8, '|')
            .map(str::to_owned)
            .collect::<Vec<String>>()
    };
    let udp_fields = find("cs1=udp.example");
    let tcp_fields = find("cs1=tcp.example");
    let pid = std::process::id().to_string();

    assert_eq!(udp_fields[0], "10", "user.crit");
    assert_eq!(tcp_fields[0], "170", "local5.crit");
    for fields in [&udp_fields, &tcp_fields] {
        assert_eq!(fields[2], "edge_1");
        assert_eq!(fields[3], "trailwatch-sensor");
        assert_eq!(fields[4], pid);
        assert_eq!(fields[5], "DNS");
        assert_eq!(fields[6], "-");
        assert!(
            fields[7].starts_with("CEF:0|trailwatch|trailwatch-sensor|"),
            "{fields:?}"
        );
    }
    assert!(udp_fields[1].starts_with("2026-12-04T"), "{udp_fields:?}");
    assert!(
        udp_fields[7].ends_with(" cs1=udp.example/?a\\=b|c"),
        "{udp_fields:?}"
    );
    assert!(
        tcp_fields[7].ends_with(" cs1=tcp.example/x\\\\y\\nz"),
        "{tcp_fields:?}"
    );
    assert!(lines.iter().any(|line| line.ends_with(" cs1=tcp2.example")));
}
