//! Checks of the namespace harness itself, with tcpdump as the capturing program: the traffic
//! of every live test is recorded on the server-side veth and then read by the sensor with
//! `-r`, which must find exactly the events the live tests expect.

mod common;
mod netns;

use std::fs::File;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use netns::peers::{self, Server, Service};
use netns::sensor::{assert_event, fixture_trails, PROBE_INFO};
use netns::{require_root, Lab};

/// A tcpdump process writing every frame of one interface to a pcap file.
struct Tcpdump {
    child: Child,
    stderr_path: std::path::PathBuf,
}

impl Tcpdump {
    /// Starts tcpdump in `namespace` on `interface` and waits until it reports that it
    /// listens.
    fn start(namespace: &netns::Namespace, interface: &str, pcap: &Path, work: &Path) -> Tcpdump {
        let stderr_path = work.join("tcpdump.stderr");
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                namespace.name(),
                "tcpdump",
                "-n",
                "-U",
                "-i",
            ])
            .arg(interface)
            .arg("-w")
            .arg(pcap)
            .stdout(Stdio::null())
            .stderr(File::create(&stderr_path).unwrap())
            .spawn()
            .expect("tcpdump starts");
        let mut tcpdump = Tcpdump { child, stderr_path };

        let deadline = Instant::now() + Duration::from_secs(20);
        while !tcpdump.stderr().contains("listening on") {
            if let Some(status) = tcpdump.child.try_wait().unwrap() {
                panic!("tcpdump exited ({status}): {}", tcpdump.stderr());
            }
            assert!(
                Instant::now() < deadline,
                "tcpdump did not start: {}",
                tcpdump.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        tcpdump
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Waits until the pcap file contains `marker`, so every packet sent before it is written,
    /// then stops tcpdump with SIGTERM, which closes the file.
    fn stop_after(mut self, pcap: &Path, marker: &[u8]) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let written = std::fs::read(pcap).unwrap_or_default();
            if written.windows(marker.len()).any(|window| window == marker) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "tcpdump wrote no packet with the end marker: {}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }

        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "tcpdump failed: {}", self.stderr());
    }
}

impl Drop for Tcpdump {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn recorded_traffic_gives_expected_events() {
    if !require_root("recorded_traffic_gives_expected_events") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let lab = Lab::new(1);
    let link = lab.link().clone();
    let trails = fixture_trails(&work.path().join("trails"), &link);
    let pcap = work.path().join("live.pcap");
    let tcpdump = Tcpdump::start(&lab.server, &link.server_interface, &pcap, work.path());

    let udp_dns = Server::start(&lab.server, link.server(53), Service::DnsUdp);
    let tcp_dns = Server::start(&lab.server, link.server(53), Service::DnsTcp);
    let http = Server::start(&lab.server, link.server(80), Service::Http);
    let tls = Server::start(&lab.server, link.server(443), Service::TlsHello);
    let trail_v6 = SocketAddr::new(link.trail_v6.into(), 4000);
    let sink_v6 = Server::start(&lab.server, trail_v6, Service::UdpSink);
    let sink_port = Server::start(&lab.server, link.server(7777), Service::UdpSink);

    let client = |port: u16| SocketAddr::new(link.client_v4.into(), port);
    let flows = {
        let link = link.clone();
        lab.client.run(move || {
            let dns_udp = peers::dns_query_udp(link.server(53), "www.evil.example").unwrap();
            let dns_tcp = peers::dns_query_tcp(link.server(53), "cdn.evil.example").unwrap();
            let host = peers::http_get(link.server(80), "Evil.Example", "/").unwrap();
            let url = peers::http_get(link.server(80), "bad.example", "/gate.php?id=7").unwrap();
            let sni = peers::tls_hello(link.server(443), "login.evil.example").unwrap();
            let v6 = peers::udp_send(trail_v6, b"v6").unwrap();
            let port = peers::udp_send(link.server(7777), b"port").unwrap();
            [dns_udp, dns_tcp, host, url, sni, v6, port]
        })
    };
    sink_v6.wait_handled(1);
    sink_port.wait_handled(1);
    udp_dns.wait_handled(1);
    tcp_dns.wait_handled(1);
    http.wait_handled(2);
    tls.wait_handled(1);
    let marker = b"end of the recorded test traffic";
    let marker_target = link.server(9);
    lab.client
        .run(move || peers::udp_send(marker_target, marker))
        .unwrap();
    tcpdump.stop_after(&pcap, marker);

    let log_dir = work.path().join("log");
    let output = common::run_sensor(&[
        "-r",
        pcap.to_str().unwrap(),
        "--trails",
        trails.dir.to_str().unwrap(),
        "--log-dir",
        log_dir.to_str().unwrap(),
        "--sensor-name",
        "live",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");

    let events: Vec<_> = common::log_events(&log_dir)
        .into_iter()
        .filter(|event| event.info != PROBE_INFO)
        .collect();
    assert_eq!(events.len(), 7, "{events:#?}");
    let [dns_udp, dns_tcp, host, url, sni, v6, port] = flows;
    assert_event(
        &events[0],
        (client(dns_udp), link.server(53)),
        "UDP",
        "DNS",
        "(www).evil.example",
    );
    assert_event(
        &events[1],
        (client(dns_tcp), link.server(53)),
        "TCP",
        "DNS",
        "(cdn).evil.example",
    );
    assert_event(
        &events[2],
        (client(host), link.server(80)),
        "TCP",
        "DNS",
        "evil.example",
    );
    assert_event(
        &events[3],
        (client(url), link.server(80)),
        "TCP",
        "URL",
        "bad.example/gate.php(?id=7)",
    );
    assert_event(
        &events[4],
        (client(sni), link.server(443)),
        "TCP",
        "DNS",
        "(login).evil.example",
    );
    assert_event(
        &events[5],
        (SocketAddr::new(link.client_v6.into(), v6), trail_v6),
        "UDP",
        "IP",
        &link.trail_v6.to_string(),
    );
    assert_event(
        &events[6],
        (client(port), link.server(7777)),
        "UDP",
        "IPORT",
        &format!("{}:7777", link.server_v4),
    );
}

#[test]
fn lab_namespaces_removed_on_drop() {
    if !require_root("lab_namespaces_removed_on_drop") {
        return;
    }
    let lab = Lab::new(2);
    let names = [lab.client.name().to_string(), lab.server.name().to_string()];
    let listed = || {
        let output = Command::new("ip").args(["netns", "list"]).output().unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    for name in &names {
        assert!(
            listed().contains(name.as_str()),
            "{name} missing after creation"
        );
    }

    // A panic while the lab exists must still remove it.
    let result = std::panic::catch_unwind(move || {
        let _lab = lab;
        panic!("test failure while the lab exists");
    });
    assert!(result.is_err());
    for name in &names {
        assert!(!listed().contains(name.as_str()), "{name} left after drop");
    }
}
