//! Timeouts and a body deadline for the TCP connection behind each tiny_http request.
//!
//! The listening socket gets the read and write timeouts ([`listen`]), and Linux copies them
//! to every socket it accepts, so each connection's reads and writes are bounded from its
//! first byte, TLS handshake and request head included. On the listening socket itself the
//! read timeout also ends a wait in `accept(2)` with `EAGAIN`, which the vendored tiny_http
//! takes as a cue to accept again.
//!
//! A timeout bounds one wait, not a whole request. The vendored tiny_http bounds the TLS
//! handshake (10 s from accept) and the request head (64 KiB, and 30 s from its first byte)
//! itself. For a body left on the socket, the worker looks the request's socket up in
//! `/proc/self/fd` by its local port and peer address ([`find_socket`]), because tiny_http
//! does not expose it. A [`Watchdog`] then shuts down the socket's read side when the body
//! deadline passes.
//!
//! NOTE: every open connection occupies a tiny_http thread, and tiny_http closes new connections
//! while 256 are open, from any address. So one host that keeps 256 connections busy locks
//! other clients out, though only for as long as it keeps that up.

use std::fs;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use nix::sys::socket::{self, sockopt, SockaddrStorage};
use nix::sys::time::TimeVal;

/// Time limits on one client connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionTimeouts {
    /// Maximum wait for the next bytes from the client, also between two requests on a
    /// kept-alive connection. A read that waits longer fails and the connection closes.
    pub read: Duration,
    /// Maximum wait for the client to take more bytes of a response. It is longer than the
    /// read timeout, because a browser saving a large export may pause while its disk
    /// catches up.
    pub write: Duration,
    /// Maximum time from the request head to the last byte of a body that tiny_http left on
    /// the socket. It bounds clients that send a byte just often enough to beat `read`.
    pub body: Duration,
}

impl Default for ConnectionTimeouts {
    fn default() -> Self {
        ConnectionTimeouts {
            read: Duration::from_secs(10),
            write: Duration::from_secs(30),
            body: Duration::from_secs(30),
        }
    }
}

/// Finds the socket of the connection from `peer` to local port `local_port` among this
/// process's file descriptors, and returns a duplicate of it.
///
/// Returns `Ok(None)` when no such socket is open, for example because the client has gone.
pub fn find_socket(local_port: u16, peer: SocketAddr) -> io::Result<Option<OwnedFd>> {
    for entry in fs::read_dir("/proc/self/fd")? {
        let entry = entry?;
        let Some(raw) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<RawFd>().ok())
        else {
            continue;
        };
        let is_socket = fs::read_link(entry.path()).is_ok_and(|target| {
            target
                .as_os_str()
                .as_encoded_bytes()
                .starts_with(b"socket:")
        });
        if !is_socket {
            continue;
        }
        // SAFETY: `raw` was open a moment ago. Another thread may close it, and the number
        // may then name another file, but `dup` of a closed descriptor only fails with
        // EBADF, and the duplicate's addresses are checked before it is used.
        let borrowed = unsafe { BorrowedFd::borrow_raw(raw) };
        let Ok(duplicate) = nix::unistd::dup(borrowed) else {
            continue;
        };
        if socket_matches(&duplicate, local_port, peer) {
            return Ok(Some(duplicate));
        }
    }
    Ok(None)
}

fn socket_matches(fd: &OwnedFd, local_port: u16, peer: SocketAddr) -> bool {
    let raw = fd.as_raw_fd();
    let local = socket::getsockname::<SockaddrStorage>(raw).ok();
    let remote = socket::getpeername::<SockaddrStorage>(raw).ok();
    local
        .and_then(|address| to_socket_addr(&address))
        .map(|a| a.port())
        == Some(local_port)
        && remote.and_then(|address| to_socket_addr(&address)) == Some(peer)
}

fn to_socket_addr(address: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = address.as_sockaddr_in() {
        return Some(SocketAddr::V4((*v4).into()));
    }
    address
        .as_sockaddr_in6()
        .map(|v6| SocketAddr::V6((*v6).into()))
}

/// Binds a TCP listener on `addr` with the read and write timeouts of `timeouts`, which the
/// connections it accepts inherit.
pub fn listen(addr: SocketAddr, timeouts: &ConnectionTimeouts) -> io::Result<TcpListener> {
    let listener = TcpListener::bind(addr)?;
    socket::setsockopt(
        &listener,
        sockopt::ReceiveTimeout,
        &time_value(timeouts.read),
    )?;
    socket::setsockopt(&listener, sockopt::SendTimeout, &time_value(timeouts.write))?;
    Ok(listener)
}

fn time_value(duration: Duration) -> TimeVal {
    TimeVal::new(duration.as_secs() as _, duration.subsec_micros() as _)
}

/// Returns whether tiny_http left the body of `request` on the socket, so that reading it, or
/// dropping the request (which reads the rest), waits for the client.
///
/// tiny_http 0.12 reads a body of at most 1024 bytes with the head, unless the request sends
/// `Expect: 100-continue`. Chunked bodies and larger ones stay on the socket.
pub fn body_on_socket(request: &tiny_http::Request) -> bool {
    let header = |name: &'static str| {
        request
            .headers()
            .iter()
            .find(|header| header.field.equiv(name))
            .map(|header| header.value.as_str())
    };
    if header("Transfer-Encoding").is_some() || header("Expect").is_some() {
        return true;
    }
    match header("Content-Length") {
        None => false,
        Some(length) => length
            .trim()
            .parse::<u64>()
            .map_or(true, |length| length > 1024),
    }
}

/// A thread that shuts down the receiving side of sockets when their deadline passes, which
/// ends any read blocked on them. Writes are bounded by the write timeout instead.
#[derive(Debug, Clone, Default)]
pub struct Watchdog {
    shared: Arc<WatchdogShared>,
}

#[derive(Debug, Default)]
struct WatchdogShared {
    state: Mutex<WatchdogState>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct WatchdogState {
    next_id: u64,
    armed: Vec<(u64, Instant, Arc<OwnedFd>)>,
    stopped: bool,
}

/// An armed deadline, disarmed on drop.
#[derive(Debug)]
pub struct Deadline {
    id: u64,
    shared: Arc<WatchdogShared>,
}

impl Watchdog {
    /// Starts the watchdog thread, which runs until [`Watchdog::stop`].
    pub fn start() -> io::Result<Watchdog> {
        let watchdog = Watchdog::default();
        let shared = Arc::clone(&watchdog.shared);
        std::thread::Builder::new()
            .name("viewer-watchdog".to_string())
            .spawn(move || watch(&shared))?;
        Ok(watchdog)
    }

    /// Shuts down the read side of `socket` `after` from now, unless the returned deadline is
    /// dropped first.
    pub fn arm(&self, socket: Arc<OwnedFd>, after: Duration) -> Deadline {
        let mut state = self.lock();
        state.next_id += 1;
        let id = state.next_id;
        state.armed.push((id, Instant::now() + after, socket));
        self.shared.changed.notify_all();
        Deadline {
            id,
            shared: Arc::clone(&self.shared),
        }
    }

    /// Ends the watchdog thread without shutting down the sockets still armed.
    pub fn stop(&self) {
        self.lock().stopped = true;
        self.shared.changed.notify_all();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, WatchdogState> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        let mut state = self
            .shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        state.armed.retain(|(id, _, _)| *id != self.id);
    }
}

fn watch(shared: &WatchdogShared) {
    let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
    while !state.stopped {
        let now = Instant::now();
        state.armed.retain(|(_, deadline, socket)| {
            if *deadline > now {
                return true;
            }
            log::debug!("connection deadline passed, shutting down its read side");
            if let Err(error) = shut_down_read(socket) {
                log::debug!("cannot shut down a slow connection: {error}");
            }
            false
        });
        let wait = state
            .armed
            .iter()
            .map(|(_, deadline, _)| deadline.saturating_duration_since(now))
            .min()
            .unwrap_or(Duration::from_secs(3600));
        state = shared
            .changed
            .wait_timeout(state, wait)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
}

/// Makes the kernel reset the connection of `socket` and drop its unsent data once the last
/// descriptor of it closes, and shuts its read side down so that tiny_http closes its own.
///
/// For a client that stopped reading: a plain close would keep up to the send buffer of
/// response data queued for a client that may never take it.
pub fn reset(socket: &OwnedFd) -> nix::Result<()> {
    let abort = nix::libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    socket::setsockopt(socket, sockopt::Linger, &abort)?;
    shut_down_read(socket)
}

/// Shuts down the receiving side of `socket`: blocked and later reads return end of file,
/// while a response can still be sent.
pub fn shut_down_read(socket: &OwnedFd) -> nix::Result<()> {
    socket::shutdown(socket.as_fd().as_raw_fd(), socket::Shutdown::Read)
}
