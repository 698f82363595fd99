//! The worker loop: takes requests from tiny_http, bounds their connections, and routes them.
//!
//! Every connection has the read and write timeouts of `config.timeouts` from the listening
//! socket (see [`super::connection`]), which also close a kept-alive connection that stays
//! idle for the read timeout. A request whose body is still on the socket runs on a thread of
//! its own with a deadline for the body, so that clients sending a byte every few seconds
//! never hold a worker. A connection whose response could not be sent is reset.
//!
//! Sockets are looked up only for those two cases, and for responses too large for the
//! socket buffers, and never kept past a response, so a finished connection keeps no file
//! descriptor open here.

use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use log::{debug, warn};

use super::connection;
use super::response;
use super::router;
use super::server::App;

/// Requests whose body is still on the socket that may be served at once, each on a thread
/// of its own. Beyond this the viewer responds with 503 without reading the body.
pub const MAX_BODY_REQUESTS: usize = 32;

/// Response bodies above this size, or of unknown size, keep their socket until they are
/// sent, so that a client that stops reading can be reset. Smaller ones fit the socket
/// buffers of both ends.
const LARGE_RESPONSE_BYTES: usize = 64 * 1024;

/// The count of requests reading a body on threads of their own.
#[derive(Debug, Default)]
pub struct Connections {
    body_requests: AtomicUsize,
}

/// Takes requests from `server`, which listens on `port`, until it stops.
pub fn serve(server: &tiny_http::Server, app: &Arc<App>, port: u16) {
    while let Ok(request) = server.recv() {
        let key = request.remote_addr().map(|peer| (port, *peer));
        if !connection::body_on_socket(&request) {
            handle(app, request, key, None);
            continue;
        }

        let socket = key.and_then(find_socket);
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
                handle(&thread_app, request, key, socket);
                // Dropping the request above read the rest of the body, so the deadline
                // stays armed until then.
                drop(deadline);
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

/// Returns the socket of the connection `key`, a local port and peer address. `None` (logged
/// at debug) leaves a body without its deadline, though each read keeps the read timeout.
fn find_socket(key: (u16, SocketAddr)) -> Option<Arc<OwnedFd>> {
    let (port, peer) = key;
    match connection::find_socket(port, peer) {
        Ok(Some(socket)) => Some(Arc::new(socket)),
        Ok(None) => {
            debug!("socket of the connection from {peer} not found; it has no deadline");
            None
        }
        Err(error) => {
            debug!("cannot look up the socket of {peer}: {error}; it has no deadline");
            None
        }
    }
}

/// Routes `request` and sends the response, and resets the connection when sending failed,
/// because the client stopped reading or went away. `socket` is the connection's socket when
/// the caller already looked it up.
fn handle(
    app: &Arc<App>,
    mut request: tiny_http::Request,
    key: Option<(u16, SocketAddr)>,
    socket: Option<Arc<OwnedFd>>,
) {
    let peer = request.remote_addr().copied();
    let reply = router::route(app, &mut request);

    // tiny_http closes the socket as soon as a write fails. A response larger than the
    // socket buffers would then go on trickling to a client that stopped reading, so its
    // socket is held here first, to be reset if sending fails.
    let large = reply
        .data_length()
        .is_none_or(|length| length > LARGE_RESPONSE_BYTES);
    let socket = match socket {
        Some(socket) => Some(socket),
        None if large => key.and_then(find_socket),
        None => None,
    };

    let Err(error) = request.respond(reply) else {
        return;
    };
    debug!("cannot send a response to {peer:?}: {error}");
    if let Some(socket) = socket {
        if let Err(error) = connection::reset(&socket) {
            debug!("cannot reset the connection from {peer:?}: {error}");
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
