//! Measures the viewer on days of one million events each: first page, filtered queries,
//! threats and timeline, over one day and over the whole range, and the server's peak RSS.
//!
//! Run with `cargo run --release -p trailwatch-viewer --example query_bench [EVENTS] [--days N]`.
//! It writes `N` days (default 1) of `EVENTS` events each with the sensor's log writer into a
//! temp dir, starts the server in this process on 127.0.0.1, and reads `VmHWM` from
//! `/proc/self/status` after each request. The single-day queries run on the first day; with
//! more than one day, the range queries then cover all of them.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Local, NaiveDate, TimeZone};
use trailwatch_event::{Event, LogWriter, Proto, Timestamp, TrailType};
use trailwatch_viewer::users::{hash_password, User, UserStore};
use trailwatch_viewer::{Config, ViewerServer};

const DEFAULT_EVENTS: u64 = 1_000_000;
const SOURCES: u64 = 5_000;
const TRAILS: u64 = 2_000;
const DATE: &str = "2026-01-15";

/// Parses `[EVENTS] [--days N]` into (events per day, days).
fn parse_args() -> (u64, u64) {
    let mut events = DEFAULT_EVENTS;
    let mut days = 1;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--days" {
            let value = args
                .next()
                .expect("--days is missing its value, a number of days");
            days = value
                .parse()
                .expect("invalid --days value, expected a whole number of days");
            assert!(days >= 1, "--days must be at least 1, got {days}");
        } else {
            events = arg
                .parse()
                .expect("invalid EVENTS, expected a whole number of events per day");
        }
    }
    (events, days)
}

fn main() {
    let (events, days) = parse_args();
    let dir = tempfile::tempdir().expect("temp dir");
    let log_dir = dir.path().join("logs");
    let first: NaiveDate = DATE.parse().unwrap();
    let last = first + chrono::Days::new(days - 1);

    let started = Instant::now();
    let mut size = 0;
    for date in first.iter_days().take(days as usize) {
        write_day(&log_dir, date, events);
        let name = format!("{}.log", date.format("%Y-%m-%d"));
        size += std::fs::metadata(log_dir.join(name)).unwrap().len();
    }
    println!(
        "wrote {days} days of {events} events ({:.1} MB) in {:.1} s; VmHWM before serving {} kB",
        size as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        vm_hwm_kb()
    );

    let users_file = dir.path().join("users.toml");
    let mut store = UserStore::default();
    store.upsert(User {
        name: "bench".to_string(),
        password_hash: hash_password("bench").unwrap(),
        read_only: false,
        networks: vec![],
    });
    store.save(&users_file).unwrap();
    let config = Config::with_defaults("127.0.0.1:0".parse().unwrap(), log_dir, users_file);
    let server = ViewerServer::start(config).expect("server starts");
    let addr = server.addrs()[0];
    let token = login(addr);

    let range = format!("from={DATE}&to={DATE}");
    let mut cases = vec![
        (
            "first page, day not indexed (reads the end of the file)",
            format!("/api/events?{range}"),
        ),
        (
            "total of the day (polls until the background index has it)",
            format!("/api/events?{range}&limit=0"),
        ),
        ("first page, index built", format!("/api/events?{range}")),
        (
            "page 50 sorted by port",
            format!("/api/events?{range}&sort=-port&offset=5000"),
        ),
        (
            "filter on index fields (src, port)",
            format!("/api/events?{range}&src=10.0.3.7&port=443"),
        ),
        (
            "filter on text (info substring)",
            format!("/api/events?{range}&info=family+17"),
        ),
        (
            "free text over the line (q)",
            format!("/api/events?{range}&q=trail-1999.test"),
        ),
        ("timeline (hours)", format!("/api/timeline?{range}")),
        ("threats", format!("/api/threats?{range}")),
    ];
    if days > 1 {
        let range = format!("from={first}&to={last}");
        cases.extend([
            (
                "range: first page, days not indexed (reads the ends of the files)",
                format!("/api/events?{range}"),
            ),
            (
                "range: total (polls until the background index counted every day)",
                format!("/api/events?{range}&limit=0"),
            ),
            (
                "range: first page, days counted",
                format!("/api/events?{range}"),
            ),
            (
                "range: page 51 sorted by port",
                format!("/api/events?{range}&sort=-port&offset=5000"),
            ),
            (
                "range: filter on index fields",
                format!("/api/events?{range}&src=10.0.3.7&port=443"),
            ),
            (
                "range: filter on text",
                format!("/api/events?{range}&info=family+17"),
            ),
            (
                "range: free text",
                format!("/api/events?{range}&q=trail-1999.test"),
            ),
            ("range: timeline (days)", format!("/api/timeline?{range}")),
            ("range: threats", format!("/api/threats?{range}")),
        ]);
    }
    println!("| query | time (ms) | total | VmHWM (MB) |");
    println!("|---|---:|---:|---:|");
    for (name, path) in cases {
        let started = Instant::now();
        let (mut status, mut body) = get(addr, &path, &token);
        // A total of null means the background index is still counting the days.
        while name.contains("(polls") && status == "200" && total_is_null(&body) {
            std::thread::sleep(Duration::from_millis(20));
            (status, body) = get(addr, &path, &token);
        }
        let elapsed = started.elapsed();
        let total = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|json| json.get("total").and_then(|t| t.as_u64()))
            .map_or("-".to_string(), |total| total.to_string());
        // A range query may run out of the server's time limit (503), which the table then shows.
        let total = if status == "200" {
            total
        } else {
            format!("HTTP {status}")
        };
        println!(
            "| {name} | {:.0} | {total} | {:.1} |",
            elapsed.as_secs_f64() * 1000.0,
            vm_hwm_kb() as f64 / 1024.0
        );
    }
    server.stop();
}

fn total_is_null(body: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(body)
        .is_ok_and(|json| json.get("total").is_some_and(|total| total.is_null()))
}

/// Writes `count` events spread evenly over `date`, from 5,000 sources hitting 2,000 trails.
fn write_day(log_dir: &std::path::Path, date: NaiveDate, count: u64) {
    let midnight = Local
        .from_local_datetime(&date.and_hms_opt(0, 0, 0).unwrap())
        .earliest()
        .unwrap()
        .timestamp();
    let sensor: Arc<str> = Arc::from("bench-sensor");
    let mut writer = LogWriter::open(log_dir, false).expect("log dir");

    for n in 0..count {
        let source = (n * 7919) % SOURCES;
        let trail = (n * 104_729) % TRAILS;
        let at_nanos = (n as u128 * 86_400_000_000_000u128 / count as u128) as u64;
        let event = Event {
            time: Timestamp::new(
                midnight + (at_nanos / 1_000_000_000) as i64,
                (at_nanos % 1_000_000_000) as u32,
            ),
            sensor: Arc::clone(&sensor),
            src_ip: IpAddr::V4(Ipv4Addr::from(
                0x0a00_0000 + source as u32 + (source as u32 / 250) * 6,
            )),
            src_port: Some(30_000 + (n % 30_000) as u16),
            dst_ip: IpAddr::V4(Ipv4Addr::from(0xcb00_7100 + (trail % 250) as u32)),
            dst_port: Some(if n % 3 == 0 { 53 } else { 443 }),
            proto: if n % 3 == 0 { Proto::Udp } else { Proto::Tcp },
            trail_type: if n % 3 == 0 {
                TrailType::Dns
            } else {
                TrailType::Ip
            },
            trail: format!("trail-{trail}.test"),
            info: format!("family {} (malware)", trail % 50),
            reference: "bench-feed".to_string(),
            repeats: 0,
        };
        writer.write(&event).expect("event written");
    }
}

fn vm_hwm_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn exchange(addr: SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

fn login(addr: SocketAddr) -> String {
    let body = "username=bench&password=bench";
    let response = exchange(
        addr,
        &format!(
            "POST /login HTTP/1.1\r\nHost: bench\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    );
    let start = response.find("tw_session=").expect("login sets a cookie") + "tw_session=".len();
    response[start..start + 64].to_string()
}

/// Sends `GET path` and returns the status code and the body.
fn get(addr: SocketAddr, path: &str, token: &str) -> (String, String) {
    let response = exchange(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\nCookie: tw_session={token}\r\n\r\n"),
    );
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head.split(' ').nth(1).unwrap_or("none").to_string();
    if status != "200" {
        eprintln!("GET {path}: {head}\n{body}");
    }
    (status, body.to_string())
}
