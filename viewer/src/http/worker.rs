//! The worker loop: takes requests from tiny_http, bounds their connections, and routes them.
//!
//! Every request's socket gets the read and write timeouts of `config.timeouts` (see
//! [`super::connection`]). A request whose body is still on the socket runs on a thread of its
//! own with a deadline for the body, so that clients sending a byte every few seconds never
//! hold a worker. After each response the connection gets an idle deadline: its next request
//! head must arrive within the read timeout, or the watchdog closes it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use log::{debug, warn};

use super::connection::{self, Deadline};
use super::response;
use super::router;
use super::server::App;

/// Requests whose body is still on the socket that may be served at once, each on a thread
/// of its own. Beyond this the viewer responds with 503 without reading the body.
pub const MAX_BODY_REQUESTS: usize = 32;

/// Connections between two requests, and the count of requests reading a body.
#[derive(Debug, Default)]
pub struct Connections {
    /// Keyed by local port and peer address. An entry is removed when the connection's next
    /// request arrives, and pruned once its deadline has passed.
    idle: Mutex<HashMap<(u16, SocketAddr), IdleConnection>>,
    body_requests: AtomicUsize,
}

#[derive(Debug)]
struct IdleConnection {
    socket: Arc<OwnedFd>,
    expires: Instant,
    _deadline: Deadline,
}

impl Connections {
    /// Removes the idle entry of a connection whose next request arrived, which disarms its
    /// deadline, and returns its socket.
    fn resume(&self, key: (u16, SocketAddr)) -> Option<Arc<OwnedFd>> {
        let entry = self.lock().remove(&key)?;
        Some(entry.socket)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(u16, SocketAddr), IdleConnection>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Takes requests from `server`, which listens on `port`, until it stops.
pub fn serve(server: &tiny_http::Server, app: &Arc<App>, port: u16) {
    while let Ok(request) = server.recv() {
        let key = request.remote_addr().map(|peer| (port, *peer));
        let socket = key.and_then(|key| socket_of(app, key));
        if !connection::body_on_socket(&request) {
            let sent = handle(app, request);
            finish(app, key, socket, sent);
            continue;
        }

        let slots = &app.connections.body_requests;
        if slots.fetch_add(1, Ordering::AcqRel) >= MAX_BODY_REQUESTS {
            slots.fetch_sub(1, Ordering::AcqRel);
            reject_busy(request, socket.as_deref());
            continue;
        }
        let deadline = socket.as_ref().map(|socket| {
            app.watchdog
                .arm(Arc::clone(socket), app.config.timeouts.body)
        });
        let thread_app = Arc::clone(app);
        let spawned = std::thread::Builder::new()
            .name("viewer-body".to_string())
            .spawn(move || {
                let sent = handle(&thread_app, request);
                // Dropping the request above read the rest of the body, so the deadline
                // stays armed until then.
                drop(deadline);
                finish(&thread_app, key, socket, sent);
                thread_app
                    .connections
                    .body_requests
                    .fetch_sub(1, Ordering::AcqRel);
            });
        if let Err(error) = spawned {
            slots.fetch_sub(1, Ordering::AcqRel);
            warn!("cannot start a thread for a request body: {error}");
        }
    }
}

/// Returns the socket of the connection `key`, known from its previous request or looked up.
/// `None` (logged at debug) leaves the connection without deadlines, though its reads and
/// writes keep the timeouts inherited from the listening socket.
fn socket_of(app: &App, key: (u16, SocketAddr)) -> Option<Arc<OwnedFd>> {
    if let Some(socket) = app.connections.resume(key) {
        return Some(socket);
    }
    let (port, peer) = key;
    let socket = match connection::find_socket(port, peer) {
        Ok(Some(socket)) => socket,
        Ok(None) => {
            debug!("socket of the connection from {peer} not found; it has no deadlines");
            return None;
        }
        Err(error) => {
            debug!("cannot look up the socket of {peer}: {error}; it has no deadlines");
            return None;
        }
    };
    Some(Arc::new(socket))
}

/// Arms the idle deadline of a connection after its response was sent, or resets the
/// connection when sending failed, because the client stopped reading or went away.
fn finish(app: &App, key: Option<(u16, SocketAddr)>, socket: Option<Arc<OwnedFd>>, sent: bool) {
    let (Some(key), Some(socket)) = (key, socket) else {
        return;
    };
    if !sent {
        if let Err(error) = connection::reset(&socket) {
            debug!("cannot reset the connection from {}: {error}", key.1);
        }
        return;
    }
    let after = app.config.timeouts.read;
    let entry = IdleConnection {
        _deadline: app.watchdog.arm(Arc::clone(&socket), after),
        expires: Instant::now() + after,
        socket,
    };
    let mut idle = app.connections.lock();
    let now = Instant::now();
    idle.retain(|_, entry| entry.expires > now);
    idle.insert(key, entry);
}

/// Routes `request` and sends the response. Returns false when sending failed.
fn handle(app: &Arc<App>, mut request: tiny_http::Request) -> bool {
    let peer = request.remote_addr().copied();
    let reply = router::route(app, &mut request);
    match request.respond(reply) {
        Ok(()) => true,
        Err(error) => {
            debug!("cannot send a response to {peer:?}: {error}");
            false
        }
    }
}

/// Responds with 503 without reading the body. The read side is shut down first, so that dropping
/// the request finds the end of the body at once instead of waiting for the client.
fn reject_busy(request: tiny_http::Request, socket: Option<&OwnedFd>) {
    debug!(
        "{MAX_BODY_REQUESTS} request bodies in progress, rejecting one from {:?}",
        request.remote_addr()
    );
    if let Some(socket) = socket {
        if let Err(error) = connection::shut_down_read(socket) {
            debug!("cannot shut down a rejected connection: {error}");
        }
    }
    let reply = response::error(
        503,
        "too many uploads in progress; try again in a few seconds",
    )
    .with_header(response::header("Connection", "close"));
    if let Err(error) = request.respond(response::finish(reply, false)) {
        debug!("cannot send a response: {error}");
    }
}
