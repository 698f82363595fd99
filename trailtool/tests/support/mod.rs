//! Test helpers: an HTTP/1.1 server on 127.0.0.1 whose routes can fail on purpose, and
//! files for configurations and trail trees.
//!
//! Each test binary uses part of this module.
#![allow(dead_code)]

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use flate2::write::GzEncoder;
use flate2::Compression;

/// How a route sends its body.
#[derive(Clone, Debug)]
pub enum Delivery {
    /// All at once.
    Whole,
    /// Headers, then nothing for this long, then the body.
    Stall(Duration),
    /// The full `Content-Length`, but only this many body bytes before closing.
    CutAfter(usize),
    /// No `Content-Length`, and only this many body bytes before closing, so the client
    /// cannot tell that the body was cut.
    CutWithoutLength(usize),
    /// Pieces of `chunk` bytes with `delay` between them.
    Slow { chunk: usize, delay: Duration },
}

/// One response the server returns for a path.
#[derive(Clone, Debug)]
pub struct Route {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub delivery: Delivery,
    /// The ETag sent with the body. A request whose `If-None-Match` equals it gets 304.
    pub etag: Option<String>,
}

impl Route {
    pub fn ok(body: impl Into<Vec<u8>>) -> Route {
        Route {
            status: 200,
            headers: Vec::new(),
            body: body.into(),
            delivery: Delivery::Whole,
            etag: None,
        }
    }

    pub fn status(status: u16, body: &str) -> Route {
        Route {
            status,
            ..Route::ok(body)
        }
    }

    /// Returns a gzip-compressed body, labelled with `Content-Encoding: gzip` when `labelled`.
    pub fn gzip(body: &str, labelled: bool) -> Route {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(body.as_bytes()).unwrap();
        let mut route = Route::ok(encoder.finish().unwrap());
        if labelled {
            route
                .headers
                .push(("Content-Encoding".into(), "gzip".into()));
        }
        route
    }

    pub fn with_etag(mut self, etag: &str) -> Route {
        self.etag = Some(etag.to_owned());
        self
    }

    pub fn with_delivery(mut self, delivery: Delivery) -> Route {
        self.delivery = delivery;
        self
    }
}

/// A request as the server received it.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    /// The request target: a path, or `host:port` for CONNECT.
    pub path: String,
    /// Header names lower-cased.
    pub headers: HashMap<String, String>,
}

/// The server. Dropping it stops the accept loop.
pub struct Server {
    address: SocketAddr,
    routes: Arc<Mutex<HashMap<String, Route>>>,
    received: Arc<Mutex<Vec<Received>>>,
    stopped: Arc<AtomicBool>,
}

impl Server {
    pub fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let server = Server {
            address,
            routes: Arc::default(),
            received: Arc::default(),
            stopped: Arc::default(),
        };

        let routes = Arc::clone(&server.routes);
        let received = Arc::clone(&server.received);
        let stopped = Arc::clone(&server.stopped);
        thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let routes = Arc::clone(&routes);
                let received = Arc::clone(&received);
                thread::spawn(move || serve(stream, &routes, &received));
            }
        });
        server
    }

    /// Returns `http://127.0.0.1:PORT/path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{}", self.address, path.trim_start_matches('/'))
    }

    pub fn route(&self, path: &str, route: Route) {
        let path = format!("/{}", path.trim_start_matches('/'));
        self.routes.lock().unwrap().insert(path, route);
    }

    /// Returns the requests received for `path`, oldest first.
    pub fn received(&self, path: &str) -> Vec<Received> {
        let path = format!("/{}", path.trim_start_matches('/'));
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|request| request.path == path)
            .cloned()
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stopped.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it reads the flag.
        let _ = TcpStream::connect(self.address);
    }
}

fn serve(
    stream: TcpStream,
    routes: &Mutex<HashMap<String, Route>>,
    received: &Mutex<Vec<Received>>,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Some(mut request) = read_request(&stream) else {
        return;
    };
    received.lock().unwrap().push(request.clone());

    // As an HTTP proxy, the server opens the tunnel and then serves the tunnelled request
    // itself, whatever host it names.
    if request.method == "CONNECT" {
        let mut writer = &stream;
        if writer
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .is_err()
        {
            return;
        }
        let Some(tunnelled) = read_request(&stream) else {
            return;
        };
        received.lock().unwrap().push(tunnelled.clone());
        request = tunnelled;
    }

    let route = routes.lock().unwrap().get(&request.path).cloned();
    let route = route.unwrap_or_else(|| Route::status(404, "not found\n"));
    let not_modified =
        route.etag.is_some() && request.headers.get("if-none-match") == route.etag.as_ref();
    let _ = respond(stream, &route, not_modified);
}

fn read_request(stream: &TcpStream) -> Option<Received> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut words = line.split_whitespace();
    let method = words.next()?.to_owned();
    let path = words.next()?.to_owned();

    let mut headers = HashMap::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    Some(Received {
        method,
        path,
        headers,
    })
}

fn respond(mut stream: TcpStream, route: &Route, not_modified: bool) -> std::io::Result<()> {
    let status = if not_modified { 304 } else { route.status };
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nConnection: close\r\n",
        reason(status)
    );
    if let Some(etag) = &route.etag {
        head.push_str(&format!("ETag: {etag}\r\n"));
    }
    if not_modified {
        head.push_str("\r\n");
        return stream.write_all(head.as_bytes());
    }

    for (name, value) in &route.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if matches!(route.delivery, Delivery::CutWithoutLength(_)) {
        head.push_str("\r\n");
    } else {
        head.push_str(&format!("Content-Length: {}\r\n\r\n", route.body.len()));
    }
    stream.write_all(head.as_bytes())?;
    stream.flush()?;

    match &route.delivery {
        Delivery::Whole => stream.write_all(&route.body),
        Delivery::Stall(pause) => {
            thread::sleep(*pause);
            stream.write_all(&route.body)
        }
        Delivery::CutAfter(sent) | Delivery::CutWithoutLength(sent) => {
            let sent = (*sent).min(route.body.len());
            stream.write_all(&route.body[..sent])
        }
        Delivery::Slow { chunk, delay } => {
            for piece in route.body.chunks((*chunk).max(1)) {
                stream.write_all(piece)?;
                stream.flush()?;
                thread::sleep(*delay);
            }
            Ok(())
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        304 => "Not Modified",
        404 => "Not Found",
        500 => "Internal Server Error",
        _ => "Status",
    }
}

/// Writes `contents` to `dir/relative`, creating folders.
pub fn write_file(dir: &Path, relative: &str, contents: &str) -> PathBuf {
    let path = dir.join(relative);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, contents).unwrap();
    path
}

/// Returns `count` distinct IPv4 addresses of 198.18.0.0/15 starting at offset `first`, one
/// per line. That block is reserved for benchmarks (RFC 2544), so no address is a real host.
pub fn generated_ips(first: u32, count: u32) -> String {
    let base = u32::from(std::net::Ipv4Addr::new(198, 18, 0, 0));
    (first..first + count)
        .map(|offset| format!("{}\n", std::net::Ipv4Addr::from(base + offset)))
        .collect()
}

/// Returns the path of the command-line binary.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_trailwatch-trails")
}
