//! A real viewer on loopback, users and logs in a temp dir, and a plain HTTP/1.1 client.

#![allow(dead_code)]

pub mod process;

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{Local, NaiveDate, TimeZone};
use trailwatch_event::{Event, LogWriter, Proto, Timestamp, TrailType};
use trailwatch_viewer::net::IpNet;
use trailwatch_viewer::users::{hash_password, User, UserStore};
use trailwatch_viewer::{Config, ViewerServer};

pub const PASSWORD: &str = "s3cret pass";

/// A running viewer and its temp folder, stopped on drop.
pub struct TestViewer {
    pub dir: tempfile::TempDir,
    pub addr: SocketAddr,
    pub addrs: Vec<SocketAddr>,
    server: Option<ViewerServer>,
}

impl TestViewer {
    /// Starts a viewer on 127.0.0.1:0 with users `admin` (all networks), `reader`
    /// (read-only) and `lan` (only 10.0.0.0/8).
    pub fn start() -> TestViewer {
        TestViewer::start_with(|_| {})
    }

    /// Starts a viewer after `adjust` changed the default test configuration.
    pub fn start_with(adjust: impl FnOnce(&mut Config)) -> TestViewer {
        let dir = tempfile::tempdir().unwrap();
        let users_file = dir.path().join("users.toml");
        let mut store = UserStore::default();
        let hash = hash_password(PASSWORD).unwrap();
        for (name, read_only, networks) in [
            ("admin", false, vec![]),
            ("reader", true, vec![]),
            ("lan", false, vec!["10.0.0.0/8".parse::<IpNet>().unwrap()]),
        ] {
            store.upsert(User {
                name: name.to_string(),
                password_hash: hash.clone(),
                read_only,
                networks,
            });
        }
        store.save(&users_file).unwrap();
        TestViewer::start_in(dir, adjust)
    }

    /// Starts a viewer on the files already in `dir` (`users.toml`, `logs/`).
    pub fn start_in(dir: tempfile::TempDir, adjust: impl FnOnce(&mut Config)) -> TestViewer {
        let log_dir = dir.path().join("logs");
        std::fs::create_dir_all(&log_dir).unwrap();
        let mut config = Config::with_defaults(
            "127.0.0.1:0".parse().unwrap(),
            log_dir,
            dir.path().join("users.toml"),
        );
        adjust(&mut config);

        let server = ViewerServer::start(config).unwrap();
        let addrs = server.addrs().to_vec();
        TestViewer {
            dir,
            addr: addrs[0],
            addrs,
            server: Some(server),
        }
    }

    pub fn log_dir(&self) -> PathBuf {
        self.dir.path().join("logs")
    }

    /// Appends events through the sensor's own log writer.
    pub fn write_events(&self, events: &[Event]) {
        let mut writer = LogWriter::open(&self.log_dir(), false).unwrap();
        for event in events {
            writer.write(event).unwrap();
        }
    }

    /// Logs in as `user` and returns the session cookie and CSRF token.
    pub fn login(&self, user: &str) -> Session {
        let reply = login(self.addr, user, PASSWORD);
        assert_eq!(reply.status, 303, "login of {user} failed: {}", reply.body);
        let cookie = reply.header("set-cookie").unwrap();
        let token = cookie
            .split(';')
            .next()
            .unwrap()
            .trim_start_matches("tw_session=")
            .to_string();
        let info = get(self.addr, "/api/session", Some(&token));
        let json: serde_json::Value = serde_json::from_str(&info.body).unwrap();
        Session {
            addr: self.addr,
            token,
            csrf: json["csrf"].as_str().unwrap().to_string(),
        }
    }
}

impl Drop for TestViewer {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop();
        }
    }
}

/// A logged-in client.
pub struct Session {
    pub addr: SocketAddr,
    pub token: String,
    pub csrf: String,
}

impl Session {
    pub fn get(&self, path: &str) -> Reply {
        get(self.addr, path, Some(&self.token))
    }

    pub fn json(&self, path: &str) -> serde_json::Value {
        let reply = self.get(path);
        assert_eq!(reply.status, 200, "GET {path}: {}", reply.body);
        serde_json::from_str(&reply.body).unwrap()
    }
}

/// A parsed HTTP response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Returns the message of a `{"error": ...}` body.
    pub fn error(&self) -> String {
        let json: serde_json::Value = serde_json::from_str(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {:?}", self.body));
        json["error"].as_str().unwrap_or_default().to_string()
    }
}

/// Sends one request with `Connection: close`; `path` goes on the wire unchanged.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();

    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    parse_reply(&raw)
}

fn parse_reply(raw: &[u8]) -> Reply {
    let split = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .expect("response has a header end");
    let head = std::str::from_utf8(&raw[..split]).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();

    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(name, value)| name == "transfer-encoding" && value.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Reply {
        status,
        headers,
        body: String::from_utf8(body).unwrap(),
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size_text = std::str::from_utf8(&data[..line_end]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// Sends `GET /ping` on a new connection and returns the raw response, or the error.
pub fn ping(addr: SocketAddr) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    stream.write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    Ok(reply)
}

pub fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> Reply {
    let cookie = token.map(|token| format!("tw_session={token}"));
    let headers: Vec<(&str, &str)> = cookie.iter().map(|c| ("Cookie", c.as_str())).collect();
    request(addr, "GET", path, &headers, "")
}

pub fn login(addr: SocketAddr, user: &str, password: &str) -> Reply {
    let body = format!("username={user}&password={}", password.replace(' ', "+"));
    request(
        addr,
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &body,
    )
}

/// Returns the local date `days` after today (negative for earlier).
pub fn day(days: i64) -> NaiveDate {
    Local::now().date_naive() + chrono::Duration::days(days)
}

/// Returns an event at `hour:minute` local time of `date`.
pub fn event(
    date: NaiveDate,
    hour: u32,
    minute: u32,
    src: &str,
    dst: &str,
    trail: &str,
    info: &str,
) -> Event {
    let local = Local
        .from_local_datetime(&date.and_hms_opt(hour, minute, 0).unwrap())
        .earliest()
        .unwrap();
    Event {
        time: Timestamp::new(local.timestamp(), 250_000_000),
        sensor: Arc::from("edge1"),
        src_ip: src.parse::<IpAddr>().unwrap(),
        src_port: Some(40000),
        dst_ip: dst.parse::<IpAddr>().unwrap(),
        dst_port: Some(443),
        proto: Proto::Tcp,
        trail_type: TrailType::Ip,
        trail: trail.to_string(),
        info: info.to_string(),
        reference: "feed.test".to_string(),
        repeats: 0,
    }
}
