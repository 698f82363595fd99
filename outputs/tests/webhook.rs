//! The webhook output against a tiny_http server on 127.0.0.1.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use common::{event_with_trail, only_stats, sample_event, start_outputs, wait_until, PATIENCE};
use serde_json::Value;
use trailwatch_event::Timestamp;

/// One request as the server received it.
struct Received {
    method: String,
    content_type: Option<String>,
    body: String,
}

/// A tiny_http server that records every request and responds with `status`.
struct HookServer {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
}

impl HookServer {
    fn start(status: u16) -> HookServer {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));

        let thread_server = Arc::clone(&server);
        let thread_received = Arc::clone(&received);
        let thread = thread::spawn(move || {
            for mut request in thread_server.incoming_requests() {
                let mut body = String::new();
                request.as_reader().read_to_string(&mut body).unwrap();
                let content_type = request
                    .headers()
                    .iter()
                    .find(|header| header.field.equiv("Content-Type"))
                    .map(|header| header.value.to_string());
                thread_received.lock().unwrap().push(Received {
                    method: request.method().to_string(),
                    content_type,
                    body,
                });
                let _ = request.respond(tiny_http::Response::empty(status));
            }
        });

        HookServer {
            url: format!("http://127.0.0.1:{port}/hook/secret-token"),
            received,
            server,
            thread: Some(thread),
        }
    }

    fn bodies(&self) -> Vec<Value> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(|request| serde_json::from_str(&request.body).unwrap())
            .collect()
    }
}

impl Drop for HookServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Returns why the test cannot run: minreq would send a loopback request to a proxy named in
/// the environment.
fn proxy_in_environment() -> Option<String> {
    ["http_proxy", "all_proxy", "ALL_PROXY"]
        .into_iter()
        .find(|name| std::env::var_os(name).is_some())
        .map(|name| format!("skipped: {name} is set, and minreq would send through that proxy"))
}

#[test]
fn repeats_post_once_per_source() {
    if let Some(reason) = proxy_in_environment() {
        println!("{reason}");
        return;
    }
    let server = HookServer::start(200);
    let mut outputs = start_outputs(&format!("[webhook]\nurl = \"{}\"\n", server.url));
    let mut event = sample_event();
    let other_source = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 99));

    outputs.send(&event);
    event.time = Timestamp::new(event.time.secs + 10, event.time.nanos);
    outputs.send(&event);
    event.time = Timestamp::new(event.time.secs + 250, event.time.nanos);
    outputs.send(&event);
    event.src_ip = other_source;
    outputs.send(&event);
    outputs.shutdown(PATIENCE);

    let stats = only_stats(&outputs);
    assert_eq!(stats.name, "webhook");
    assert_eq!(stats.sent, 2);
    assert_eq!(stats.skipped, 2);
    assert_eq!(stats.dropped, 0);
    let bodies = server.bodies();
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0]["src_ip"], "192.168.1.20");
    assert_eq!(bodies[1]["src_ip"], "192.168.1.99");
    assert_eq!(bodies[0]["severity"], "high");
    assert_eq!(bodies[0]["sensor"], "edge 1");
    assert_eq!(bodies[0]["trail"], "evil.example.com");
    let received = server.received.lock().unwrap();
    assert_eq!(received[0].method, "POST");
    assert_eq!(
        received[0].content_type.as_deref(),
        Some("application/json")
    );
    assert!(!received[0].body.ends_with('\n'));
}

#[test]
fn repeat_after_interval_posts_again() {
    if let Some(reason) = proxy_in_environment() {
        println!("{reason}");
        return;
    }
    let server = HookServer::start(200);
    let mut outputs = start_outputs(&format!(
        "[webhook]\nurl = \"{}\"\ninterval_seconds = 60\n",
        server.url
    ));
    let mut event = sample_event();

    outputs.send(&event);
    event.time = Timestamp::new(event.time.secs + 60, event.time.nanos);
    outputs.send(&event);
    outputs.shutdown(PATIENCE);

    assert_eq!(only_stats(&outputs).sent, 2);
    assert_eq!(server.bodies().len(), 2);
}

#[test]
fn low_severity_posts_nothing() {
    if let Some(reason) = proxy_in_environment() {
        println!("{reason}");
        return;
    }
    let server = HookServer::start(200);
    let mut outputs = start_outputs(&format!("[webhook]\nurl = \"{}\"\n", server.url));
    let mut low = sample_event();
    low.info = "mass scanner".to_owned();
    let mut medium = sample_event();
    medium.info = "gophish (malicious)".to_owned();

    outputs.send(&low);
    outputs.send(&medium);
    outputs.shutdown(PATIENCE);

    let stats = only_stats(&outputs);
    assert_eq!(stats.sent, 0);
    assert_eq!(
        stats.skipped, 0,
        "below min_severity is not counted as skipped"
    );
    assert!(server.bodies().is_empty());
}

#[test]
fn min_severity_low_posts_low() {
    if let Some(reason) = proxy_in_environment() {
        println!("{reason}");
        return;
    }
    let server = HookServer::start(200);
    let mut outputs = start_outputs(&format!(
        "[webhook]\nurl = \"{}\"\nmin_severity = \"low\"\n",
        server.url
    ));
    let mut low = sample_event();
    low.info = "mass scanner".to_owned();

    outputs.send(&low);
    outputs.shutdown(PATIENCE);

    let bodies = server.bodies();
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0]["severity"], "low");
}

#[test]
fn failed_post_counts_dropped() {
    if let Some(reason) = proxy_in_environment() {
        println!("{reason}");
        return;
    }
    let server = HookServer::start(500);
    let mut outputs = start_outputs(&format!(
        "[webhook]\nurl = \"{}\"\ntimeout_seconds = 5\n",
        server.url
    ));

    outputs.send(&sample_event());
    wait_until("the failed POST", || only_stats(&outputs).dropped == 1);
    outputs.shutdown(Duration::from_secs(5));

    let stats = only_stats(&outputs);
    assert_eq!(stats.sent, 0);
    assert_eq!(stats.pending, 0);
    assert_eq!(server.bodies().len(), 1);
}

#[test]
fn subdomain_flood_posts_once() {
    if let Some(reason) = proxy_in_environment() {
        println!("{reason}");
        return;
    }
    let server = HookServer::start(200);
    let mut outputs = start_outputs(&format!("[webhook]\nurl = \"{}\"\n", server.url));
    let start = sample_event().time;

    // 20,000 queries for distinct names under one listed domain within 200 s of packet time,
    // then one more after the 300 s interval.
    for index in 0..20_000_i64 {
        let mut event = event_with_trail(&format!("term{index}.evil.example.com"));
        event.time = Timestamp::new(start.secs + index / 100, start.nanos);
        outputs.send(&event);
    }
    let mut later = event_with_trail("later.evil.example.com");
    later.time = Timestamp::new(start.secs + 300, start.nanos);
    outputs.send(&later);
    outputs.shutdown(PATIENCE);

    let stats = only_stats(&outputs);
    assert_eq!(stats.sent, 2);
    assert_eq!(stats.skipped, 19_999);
    assert_eq!(stats.dropped, 0);
    let bodies = server.bodies();
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0]["trail"], "term0.evil.example.com");
    assert_eq!(bodies[1]["trail"], "later.evil.example.com");
}

#[test]
fn global_cap_limits_many_sources() {
    if let Some(reason) = proxy_in_environment() {
        println!("{reason}");
        return;
    }
    let server = HookServer::start(200);
    let mut outputs = start_outputs(&format!(
        "[webhook]\nurl = \"{}\"\nmax_per_minute = 5\n",
        server.url
    ));
    let start = sample_event().time;

    // 200 sources within one minute of packet time, then one more source a minute later.
    for index in 0..200_u32 {
        let mut event = sample_event();
        event.src_ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + index));
        outputs.send(&event);
    }
    let mut later = sample_event();
    later.src_ip = IpAddr::V4(Ipv4Addr::new(10, 1, 0, 0));
    later.time = Timestamp::new(start.secs + 60, start.nanos);
    outputs.send(&later);
    outputs.shutdown(PATIENCE);

    let stats = only_stats(&outputs);
    assert_eq!(stats.sent, 6);
    assert_eq!(stats.skipped, 195);
    assert_eq!(server.bodies().len(), 6);
    assert_eq!(server.bodies()[5]["src_ip"], "10.1.0.0");
}

#[test]
fn default_cap_is_thirty() {
    if let Some(reason) = proxy_in_environment() {
        println!("{reason}");
        return;
    }
    let server = HookServer::start(200);
    let mut outputs = start_outputs(&format!("[webhook]\nurl = \"{}\"\n", server.url));

    for index in 0..100_u32 {
        let mut event = sample_event();
        event.src_ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + index));
        outputs.send(&event);
    }
    outputs.shutdown(PATIENCE);

    assert_eq!(only_stats(&outputs).sent, 30);
    assert_eq!(only_stats(&outputs).skipped, 70);
}
