//! The live-capture daemon in network namespaces: several interfaces, a BPF filter from the
//! configuration, trail reload on SIGHUP, stop on SIGTERM and capture after dropping
//! privileges. Needs root; skipped otherwise.

mod common;
mod netns;

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use netns::peers::{self, Server, Service};
use netns::sensor::{assert_event, fixture_trails, Sensor, EVENT_DEADLINE};
use netns::{require_root, Lab};
use nix::sys::signal::Signal;
use nix::unistd::{chown, User};

/// Writes `text` as the sensor's configuration file in `work` and returns its path.
fn write_config(work: &Path, text: &str) -> String {
    let path = work.join("sensor.toml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn live_two_interfaces_at_once() {
    if !require_root("live_two_interfaces_at_once") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let lab = Lab::new(2);
    let links = lab.links.clone();
    let trails = fixture_trails(&work.path().join("trails"), &links[0]);
    let interfaces = [
        links[0].server_interface.as_str(),
        links[1].server_interface.as_str(),
    ];
    let mut sensor = Sensor::start(&lab.server, work.path(), &trails, &interfaces, &[]);
    for link in &links {
        sensor.wait_capturing(&lab.client, link);
    }

    let _servers: Vec<Server> = links
        .iter()
        .map(|link| Server::start(&lab.server, link.server(53), Service::DnsUdp))
        .collect();
    let mut ports = Vec::new();
    for (link, name) in links.iter().zip(["a.evil.example", "b.evil.example"]) {
        let server = link.server(53);
        let port = lab
            .client
            .run(move || peers::dns_query_udp(server, name))
            .unwrap();
        ports.push(port);
    }
    for link in &links {
        sensor.wait_capturing(&lab.client, link);
    }

    let mut events = sensor.events();
    events.sort_by(|a, b| a.trail.cmp(&b.trail));
    assert_eq!(
        events.len(),
        2,
        "expected one event per interface: {events:#?}"
    );
    for ((event, link), (port, trail)) in events
        .iter()
        .zip(&links)
        .zip(ports.iter().zip(["(a).evil.example", "(b).evil.example"]))
    {
        let client = SocketAddr::new(link.client_v4.into(), *port);
        assert_event(event, (client, link.server(53)), "UDP", "DNS", trail);
    }
}

#[test]
fn live_bpf_filter_excludes_port() {
    if !require_root("live_bpf_filter_excludes_port") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let lab = Lab::new(1);
    let link = lab.link().clone();
    let trails = fixture_trails(&work.path().join("trails"), &link);
    let config = write_config(work.path(), "[capture]\nfilter = \"not tcp port 8080\"\n");
    let mut sensor = Sensor::start(
        &lab.server,
        work.path(),
        &trails,
        &[&link.server_interface],
        &["-c", &config],
    );
    sensor.wait_capturing(&lab.client, &link);

    let excluded = link.server(8080);
    let included = link.server(80);
    let _excluded_http = Server::start(&lab.server, excluded, Service::Http);
    let _included_http = Server::start(&lab.server, included, Service::Http);
    let port = lab.client.run(move || {
        // Different names, so that the second request is no repeat of the first.
        peers::http_get(excluded, "excluded.evil.example", "/").unwrap();
        peers::http_get(included, "included.evil.example", "/").unwrap()
    });
    sensor.wait_capturing(&lab.client, &link);

    let events = sensor.events();
    assert_eq!(
        events.len(),
        1,
        "only the port 80 request passes: {events:#?}"
    );
    let client = SocketAddr::new(link.client_v4.into(), port);
    assert_event(
        &events[0],
        (client, included),
        "TCP",
        "DNS",
        "(included).evil.example",
    );
}

#[test]
fn live_sighup_loads_new_trail() {
    if !require_root("live_sighup_loads_new_trail") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let lab = Lab::new(1);
    let link = lab.link().clone();
    let trails = fixture_trails(&work.path().join("trails"), &link);
    let mut sensor = Sensor::start(
        &lab.server,
        work.path(),
        &trails,
        &[&link.server_interface],
        &[],
    );
    sensor.wait_capturing(&lab.client, &link);
    let pid = sensor.pid();

    let server = link.server(53);
    let _dns = Server::start(&lab.server, server, Service::DnsUdp);
    lab.client
        .run(move || peers::dns_query_udp(server, "q0.fresh.example"))
        .unwrap();
    sensor.wait_capturing(&lab.client, &link);
    let before = sensor.events();
    assert!(
        before.is_empty(),
        "fresh.example is not a trail yet: {before:#?}"
    );

    trails.add(
        "malware/fresh.txt",
        "# Reference: live-capture test fixture\nfresh.example\n",
    );
    sensor.signal(Signal::SIGHUP);

    // Queries go on until the reload has taken effect, each with a new name so that none is
    // held back as a repeat.
    let deadline = Instant::now() + EVENT_DEADLINE;
    let mut query = 0;
    let events = loop {
        query += 1;
        let name = format!("q{query}.fresh.example");
        lab.client
            .run(move || peers::dns_query_udp(server, &name))
            .unwrap();
        let events = sensor.events();
        if !events.is_empty() {
            break events;
        }
        assert!(
            Instant::now() < deadline,
            "no hit on fresh.example within {EVENT_DEADLINE:?} of SIGHUP; stderr:\n{}",
            sensor.stderr()
        );
        std::thread::sleep(Duration::from_millis(200));
    };

    assert_eq!(sensor.pid(), pid, "the sensor was not restarted");
    let event = &events[0];
    assert_eq!(event.trail_type, "DNS");
    assert!(
        event.trail.ends_with(").fresh.example"),
        "trail of {event:?}"
    );
    assert_eq!(event.info, "fresh (malware)");
    assert_eq!(event.dst_ip, link.server_v4.to_string());
}

#[test]
fn live_sigterm_stops_idle_sensor() {
    if !require_root("live_sigterm_stops_idle_sensor") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let lab = Lab::new(1);
    let link = lab.link().clone();
    let trails = fixture_trails(&work.path().join("trails"), &link);
    let mut sensor = Sensor::start(
        &lab.server,
        work.path(),
        &trails,
        &[&link.server_interface],
        &[],
    );
    // One probe shows the capture runs; after it the link stays quiet.
    sensor.wait_capturing(&lab.client, &link);

    let stopped = sensor.stop();

    assert_eq!(
        stopped.status.code(),
        Some(0),
        "stderr:\n{}",
        stopped.stderr
    );
    // The last lines of standard error are the final statistics: one per interface, then a
    // summary.
    let lines: Vec<&str> = stopped.stderr.lines().collect();
    let interface_line = format!("stats {}: ", link.server_interface);
    let final_lines = lines
        .iter()
        .rposition(|line| line.contains(&interface_line))
        .map(|at| &lines[at..]);
    let final_lines = final_lines.unwrap_or_else(|| {
        panic!(
            "no final {interface_line:?} line on standard error:\n{}",
            stopped.stderr
        )
    });
    assert!(
        final_lines[0].contains(" dropped by the kernel"),
        "{}",
        final_lines[0]
    );
    assert!(
        final_lines.iter().any(|line| line.contains("stats: ")),
        "no final summary line after {:?}:\n{}",
        final_lines[0],
        stopped.stderr
    );
    let stats = stopped.stats.expect("--stats-json is written at exit");
    let packets = stats["packets_read"].as_u64().unwrap_or(0);
    assert!(packets >= 1, "the probe was counted: {stats}");
}

#[test]
fn live_capture_after_dropping_privileges() {
    if !require_root("live_capture_after_dropping_privileges") {
        return;
    }
    let Some(nobody) = User::from_name("nobody").unwrap() else {
        eprintln!("skipped live_capture_after_dropping_privileges: no user nobody");
        return;
    };
    let work = tempfile::tempdir().unwrap();
    // The unprivileged sensor writes its log and statistics here and rereads the trails.
    std::fs::set_permissions(work.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    chown(work.path(), Some(nobody.uid), Some(nobody.gid)).unwrap();
    let lab = Lab::new(1);
    let link = lab.link().clone();
    let trails = fixture_trails(&work.path().join("trails"), &link);
    let config = write_config(work.path(), "[sensor]\nuser = \"nobody\"\n");
    let mut sensor = Sensor::start(
        &lab.server,
        work.path(),
        &trails,
        &[&link.server_interface],
        &["-c", &config],
    );
    sensor.wait_capturing(&lab.client, &link);

    let status = std::fs::read_to_string(format!("/proc/{}/status", sensor.pid())).unwrap();
    let uids = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .expect("/proc/PID/status has a Uid line");
    let expected = nobody.uid.to_string();
    for uid in uids.split_whitespace() {
        assert_eq!(uid, expected, "real, effective, saved and file uid: {uids}");
    }

    let server = link.server(53);
    let _dns = Server::start(&lab.server, server, Service::DnsUdp);
    let port = lab
        .client
        .run(move || peers::dns_query_udp(server, "after.evil.example"))
        .unwrap();
    let events = sensor.wait_event_count(1);
    let client = SocketAddr::new(link.client_v4.into(), port);
    assert_event(
        &events[0],
        (client, server),
        "UDP",
        "DNS",
        "(after).evil.example",
    );
}

#[test]
fn stop_reads_every_received_packet() {
    if !require_root("stop_reads_every_received_packet") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let lab = Lab::new(1);
    let link = lab.link().clone();
    let trails = fixture_trails(&work.path().join("trails"), &link);
    let mut sensor = Sensor::start(
        &lab.server,
        work.path(),
        &trails,
        &[&link.server_interface],
        &[],
    );
    sensor.wait_capturing(&lab.client, &link);

    // A burst that fills part of a kernel ring block, then SIGTERM before the block's timeout
    // hands it over: the sensor must still read these frames before it exits.
    let target = SocketAddr::from((link.server_v4, 9));
    lab.client.run(move || {
        for _ in 0..200 {
            peers::udp_send(target, b"burst").unwrap();
        }
    });
    let stopped = sensor.stop();

    let stats = stopped.stats.expect("--stats-json is written at exit");
    let interface = &stats["interfaces"][0];
    let received = interface["received"].as_u64().unwrap();
    let dropped = interface["dropped_kernel"].as_u64().unwrap();
    assert!(received >= 200, "the burst reached the handle: {stats}");
    assert_eq!(
        stats["packets_read"].as_u64(),
        Some(received - dropped),
        "frames counted received but never read: {stats}"
    );
}
