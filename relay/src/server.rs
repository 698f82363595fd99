//! A minimal HTTP intake server on tiny_http, for the viewer and for tests.
//!
//! [`INTAKE_WORKERS`] threads take requests from one shared tiny_http `Server` and read their
//! bodies concurrently, so one slow client does not hold up the others. Batches are then
//! verified and written one at a time under the intake's lock, so batches of one stream never
//! race each other.
//!
//! NOTE: tiny_http 0.12 sets no read timeout on the connections it accepts and gives the
//! handler no access to their sockets, so the time one body may take is not bounded. A
//! client that announces a long body and sends it slowly holds one worker until it finishes
//! or closes the connection, and [`INTAKE_WORKERS`] such clients block the intake.

use std::io::{self, Read};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tiny_http::{Header, Method, Request, Response, Server};

use crate::batch::MAX_BODY_BYTES;
use crate::intake::{Intake, IntakeError, IntakeStats};
use crate::secret::SIGNATURE_HEADER;

/// Path the viewer serves the intake on unless configured otherwise.
pub const DEFAULT_INTAKE_PATH: &str = "/api/intake";

/// Number of threads that take intake requests. Each reads one request body at a time, so
/// this many slow clients at once delay every other request.
pub const INTAKE_WORKERS: usize = 4;

/// Time between two checks of the stop flag while no request arrives.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Minimum time between two warnings about rejected requests.
const WARN_INTERVAL: Duration = Duration::from_secs(60);

/// A running intake server. Dropping it stops the server.
pub struct IntakeServer {
    addr: SocketAddr,
    intake: Arc<Mutex<Intake>>,
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
}

/// Starts an intake server on `addr` with [`INTAKE_WORKERS`] threads that accept POSTs to
/// `path` and hand new events to `write` (see [`Intake::receive`] for its contract). Calls
/// of `write` never overlap.
///
/// Port 0 picks a free port; [`IntakeServer::local_addr`] returns it.
pub fn serve<A, W>(addr: A, path: &str, intake: Intake, write: W) -> io::Result<IntakeServer>
where
    A: ToSocketAddrs,
    W: FnMut(&[String]) -> io::Result<()> + Send + 'static,
{
    let server = Server::http(addr).map_err(io::Error::other)?;
    let local = server.server_addr().to_ip().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "intake server needs an IP address",
        )
    })?;

    let server = Arc::new(server);
    let intake = Arc::new(Mutex::new(intake));
    let stop = Arc::new(AtomicBool::new(false));
    let handler = Arc::new(Handler {
        path: path.to_string(),
        intake: Arc::clone(&intake),
        write: Mutex::new(write),
        warnings: Mutex::new(RejectionWarnings::default()),
    });

    let mut workers = Vec::with_capacity(INTAKE_WORKERS);
    for index in 0..INTAKE_WORKERS {
        let server = Arc::clone(&server);
        let handler = Arc::clone(&handler);
        let stop_flag = Arc::clone(&stop);
        let spawned = thread::Builder::new()
            .name(format!("intake-{index}"))
            .spawn(move || run(&server, &handler, &stop_flag));
        match spawned {
            Ok(worker) => workers.push(worker),
            Err(error) => {
                stop_workers(&stop, workers, local);
                return Err(error);
            }
        }
    }

    log::info!("intake server listens on http://{local}{path} with {INTAKE_WORKERS} workers");
    Ok(IntakeServer {
        addr: local,
        intake,
        stop,
        workers,
    })
}

impl IntakeServer {
    /// Returns the address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Returns the intake's counters.
    pub fn stats(&self) -> IntakeStats {
        self.intake
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .stats()
    }

    /// Stops taking requests, finishes the ones in progress and closes the listening socket.
    /// Waits as long as a worker reads a slow request body.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        if self.workers.is_empty() {
            return;
        }
        stop_workers(&self.stop, std::mem::take(&mut self.workers), self.addr);
        log::info!("intake server on {} stopped", self.addr);
    }
}

/// Sets the stop flag and waits for every worker. The last worker to exit drops the tiny_http
/// `Server`, which closes the listening socket.
fn stop_workers(stop: &AtomicBool, workers: Vec<JoinHandle<()>>, addr: SocketAddr) {
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        if worker.join().is_err() {
            log::error!("intake server worker on {addr} panicked");
        }
    }
}

impl Drop for IntakeServer {
    fn drop(&mut self) {
        self.shut_down();
    }
}

fn run<W>(server: &Server, handler: &Handler<W>, stop: &AtomicBool)
where
    W: FnMut(&[String]) -> io::Result<()>,
{
    while !stop.load(Ordering::Relaxed) {
        match server.recv_timeout(POLL_INTERVAL) {
            Ok(Some(request)) => handler.handle(request),
            Ok(None) => {}
            Err(error) => {
                log::warn!("intake server failed to take a request: {error}");
                thread::sleep(POLL_INTERVAL);
            }
        }
    }
}

/// Request handling shared by the workers.
struct Handler<W> {
    path: String,
    intake: Arc<Mutex<Intake>>,
    /// Locked only while `intake` is locked, so it never waits. The mutex gives the shared
    /// workers `&mut` access.
    write: Mutex<W>,
    warnings: Mutex<RejectionWarnings>,
}

impl<W> Handler<W>
where
    W: FnMut(&[String]) -> io::Result<()>,
{
    /// Reads the body without a lock, then verifies and writes the batch holding the intake
    /// lock, so the body reads of several workers overlap but batches are applied in turn.
    fn handle(&self, mut request: Request) {
        let request_path = request.url().split('?').next().unwrap_or("");
        if request_path != self.path {
            respond(request, 404, "not found\n");
            return;
        }
        if *request.method() != Method::Post {
            let response = Response::from_string("only POST is allowed\n")
                .with_status_code(405)
                .with_header(fixed_header("Allow", "POST"));
            if let Err(error) = request.respond(response) {
                log::debug!("failed to send an intake response: {error}");
            }
            return;
        }

        // One byte over the limit is enough to reject the body as too large.
        let mut body = Vec::new();
        let read = request
            .as_reader()
            .take(MAX_BODY_BYTES as u64 + 1)
            .read_to_end(&mut body);
        if let Err(error) = read {
            log::debug!("failed to read an intake request body: {error}");
            respond(request, 400, "failed to read the request body\n");
            return;
        }
        let signature = request
            .headers()
            .iter()
            .find(|header| header.field.equiv(SIGNATURE_HEADER))
            .map(|header| header.value.as_str().to_string());

        let result = {
            let mut intake = self.intake.lock().unwrap_or_else(PoisonError::into_inner);
            let mut write = self.write.lock().unwrap_or_else(PoisonError::into_inner);
            intake.receive(&body, signature.as_deref(), &mut *write)
        };
        match result {
            Ok(ack) => {
                log::debug!(
                    "intake: sensor {} stream {}: {} events written, acknowledged {}",
                    ack.sensor,
                    ack.stream,
                    ack.written,
                    ack.acked
                );
                respond_json(request, &format!("{{\"acked\":{}}}\n", ack.acked));
            }
            Err(error) => {
                let remote = request.remote_addr().copied();
                self.warnings
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .rejected(&error, remote);
                respond(request, error.status(), &format!("{error}\n"));
            }
        }
    }
}

/// Rate limit for warnings about rejected or failed requests: at most one per
/// [`WARN_INTERVAL`], with the number suppressed since the last one.
#[derive(Default)]
struct RejectionWarnings {
    last: Option<Instant>,
    suppressed: u64,
}

impl RejectionWarnings {
    fn rejected(&mut self, error: &IntakeError, remote: Option<SocketAddr>) {
        let due = self.last.is_none_or(|last| last.elapsed() >= WARN_INTERVAL);
        if !due {
            self.suppressed += 1;
            log::debug!("intake rejected a request from {remote:?}: {error}");
            return;
        }

        let from = remote.map_or_else(|| "an unknown address".to_string(), |addr| addr.to_string());
        log::warn!(
            "intake rejected a request from {from} with status {}: {error} ({} more rejections \
             since the last warning)",
            error.status(),
            self.suppressed
        );
        self.last = Some(Instant::now());
        self.suppressed = 0;
    }
}

fn respond(request: Request, status: u16, text: &str) {
    let response = Response::from_string(text)
        .with_status_code(status)
        .with_header(content_type("text/plain; charset=utf-8"));
    if let Err(error) = request.respond(response) {
        log::debug!("failed to send an intake response: {error}");
    }
}

fn respond_json(request: Request, text: &str) {
    let response = Response::from_string(text).with_header(content_type("application/json"));
    if let Err(error) = request.respond(response) {
        log::debug!("failed to send an intake response: {error}");
    }
}

fn content_type(value: &str) -> Header {
    fixed_header("Content-Type", value)
}

fn fixed_header(field: &str, value: &str) -> Header {
    // Callers pass fixed ASCII names and values, so the header always builds.
    Header::from_bytes(field, value).expect("a valid fixed header")
}
