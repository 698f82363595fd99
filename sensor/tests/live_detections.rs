//! Live capture of real traffic between two network namespaces: each kind of trail hit
//! produces exactly its expected event. Needs root; skipped otherwise.

mod common;
mod netns;

use std::net::SocketAddr;

use netns::peers::{self, Server, Service};
use netns::sensor::{assert_event, fixture_trails, Sensor};
use netns::{require_root, Lab, Link};
use trailwatch_event::LogLine;

/// A lab with the sensor capturing on the server end of its one link.
struct Case {
    lab: Lab,
    link: Link,
    sensor: Sensor,
    _work: tempfile::TempDir,
}

impl Case {
    /// Starts the sensor with the fixture trails on the server end of the link and waits until
    /// it captures; `None` without root.
    fn start(test: &str) -> Option<Case> {
        Case::start_on(test, None)
    }

    /// Like [`Case::start`], capturing on `interface` instead when one is given (`any`).
    fn start_on(test: &str, interface: Option<&str>) -> Option<Case> {
        if !require_root(test) {
            return None;
        }
        let work = tempfile::tempdir().unwrap();
        let lab = Lab::new(1);
        let link = lab.link().clone();
        let trails = fixture_trails(&work.path().join("trails"), &link);
        let interface = interface.unwrap_or(&link.server_interface);
        let mut sensor = Sensor::start(&lab.server, work.path(), &trails, &[interface], &[]);
        sensor.wait_capturing(&lab.client, &link);
        Some(Case {
            lab,
            link,
            sensor,
            _work: work,
        })
    }

    fn client(&self, port: u16) -> SocketAddr {
        SocketAddr::new(self.link.client_v4.into(), port)
    }

    /// Waits until every packet sent so far was inspected and returns the one event logged
    /// besides probes; panics when there is none or more than one.
    fn only_event(&mut self) -> LogLine {
        self.sensor.wait_capturing(&self.lab.client, &self.link);
        let mut events = self.sensor.events();
        assert_eq!(events.len(), 1, "expected exactly one event: {events:#?}");
        events.remove(0)
    }
}

#[test]
fn live_dns_query_over_udp() {
    let Some(mut case) = Case::start("live_dns_query_over_udp") else {
        return;
    };
    let server = case.link.server(53);
    let _dns = Server::start(&case.lab.server, server, Service::DnsUdp);

    let port = case
        .lab
        .client
        .run(move || peers::dns_query_udp(server, "www.evil.example"))
        .unwrap();

    let event = case.only_event();
    assert_event(
        &event,
        (case.client(port), server),
        "UDP",
        "DNS",
        "(www).evil.example",
    );
}

#[test]
fn live_capture_on_any_interface() {
    let Some(mut case) = Case::start_on("live_capture_on_any_interface", Some("any")) else {
        return;
    };
    let server = case.link.server(53);
    let _dns = Server::start(&case.lab.server, server, Service::DnsUdp);

    let port = case
        .lab
        .client
        .run(move || peers::dns_query_udp(server, "any.evil.example"))
        .unwrap();

    // "any" delivers Linux cooked frames; the query is seen once, on its way in.
    let event = case.only_event();
    assert_event(
        &event,
        (case.client(port), server),
        "UDP",
        "DNS",
        "(any).evil.example",
    );
}

#[test]
fn live_dns_query_over_tcp() {
    let Some(mut case) = Case::start("live_dns_query_over_tcp") else {
        return;
    };
    let server = case.link.server(53);
    let _dns = Server::start(&case.lab.server, server, Service::DnsTcp);

    let port = case
        .lab
        .client
        .run(move || peers::dns_query_tcp(server, "cdn.evil.example"))
        .unwrap();

    let event = case.only_event();
    assert_event(
        &event,
        (case.client(port), server),
        "TCP",
        "DNS",
        "(cdn).evil.example",
    );
}

#[test]
fn live_http_trail_host() {
    let Some(mut case) = Case::start("live_http_trail_host") else {
        return;
    };
    let server = case.link.server(80);
    let _http = Server::start(&case.lab.server, server, Service::Http);

    let port = case
        .lab
        .client
        .run(move || peers::http_get(server, "Evil.Example", "/index.html"))
        .unwrap();

    // A Host header on a domain trail is reported as a DNS hit over TCP, as Maltrail does.
    let event = case.only_event();
    assert_event(
        &event,
        (case.client(port), server),
        "TCP",
        "DNS",
        "evil.example",
    );
}

#[test]
fn live_http_trail_url() {
    let Some(mut case) = Case::start("live_http_trail_url") else {
        return;
    };
    let server = case.link.server(8080);
    let _http = Server::start(&case.lab.server, server, Service::Http);

    let port = case
        .lab
        .client
        .run(move || peers::http_get(server, "www.bad.example", "/gate.php?id=7"))
        .unwrap();

    let event = case.only_event();
    assert_event(
        &event,
        (case.client(port), server),
        "TCP",
        "URL",
        "(www.)bad.example/gate.php(?id=7)",
    );
}

#[test]
fn live_tls_trail_server_name() {
    let Some(mut case) = Case::start("live_tls_trail_server_name") else {
        return;
    };
    let server = case.link.server(443);
    let tls = Server::start(&case.lab.server, server, Service::TlsHello);

    let port = case
        .lab
        .client
        .run(move || peers::tls_hello(server, "login.evil.example"))
        .unwrap();
    tls.wait_handled(1);

    let event = case.only_event();
    assert_event(
        &event,
        (case.client(port), server),
        "TCP",
        "DNS",
        "(login).evil.example",
    );
}

#[test]
fn live_ipv6_trail_address() {
    let Some(mut case) = Case::start("live_ipv6_trail_address") else {
        return;
    };
    let target = SocketAddr::new(case.link.trail_v6.into(), 4000);
    let sink = Server::start(&case.lab.server, target, Service::UdpSink);

    // UDP, so that no answer from the trail address adds a second event with it as source.
    let port = case
        .lab
        .client
        .run(move || peers::udp_send(target, b"to a listed IPv6 address"))
        .unwrap();
    sink.wait_handled(1);

    let event = case.only_event();
    let client = SocketAddr::new(case.link.client_v6.into(), port);
    assert_event(
        &event,
        (client, target),
        "UDP",
        "IP",
        &case.link.trail_v6.to_string(),
    );
}

#[test]
fn live_trail_address_and_port() {
    let Some(mut case) = Case::start("live_trail_address_and_port") else {
        return;
    };
    let listed = case.link.server(7777);
    let other = case.link.server(7778);
    let sink = Server::start(&case.lab.server, listed, Service::UdpSink);
    let other_sink = Server::start(&case.lab.server, other, Service::UdpSink);

    // The same address on a port that is not listed must not count.
    let ports = case.lab.client.run(move || {
        let other_port = peers::udp_send(other, b"unlisted port").unwrap();
        let port = peers::udp_send(listed, b"listed port").unwrap();
        (other_port, port)
    });
    other_sink.wait_handled(1);
    sink.wait_handled(1);

    let event = case.only_event();
    assert_event(
        &event,
        (case.client(ports.1), listed),
        "UDP",
        "IPORT",
        &listed.to_string(),
    );
}
