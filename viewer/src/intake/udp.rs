//! The Maltrail-compatible UDP intake: one thread that receives `<epoch seconds> <log line>`
//! datagrams and appends the valid ones to the daily logs.
//!
//! The protocol has no authentication, so anyone who can reach the port can add events. Run
//! it only on a trusted network, and limit the senders with `[intake] udp_allow`.

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::daily::DailyAppender;
use super::datagram::parse_datagram;
use super::warnings::RateLimitedWarning;
use crate::net::IpNet;

/// Largest UDP payload over IPv4 or IPv6 without jumbograms. A longer line cannot arrive.
const MAX_DATAGRAM_BYTES: usize = 65_535;

/// Time between two checks of the stop flag while no datagram arrives.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Counters of the UDP intake since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UdpStats {
    /// Datagrams read from the socket, dropped ones included.
    pub received: u64,
    /// Lines appended to a daily log.
    pub written: u64,
    /// Datagrams dropped because they are not a valid `<epoch seconds> <log line>`.
    pub malformed: u64,
    /// Datagrams dropped because the sender is outside `udp_allow`.
    pub disallowed: u64,
    /// Valid lines lost because the daily log could not be written.
    pub write_failed: u64,
}

#[derive(Debug, Default)]
struct Counters {
    received: AtomicU64,
    written: AtomicU64,
    malformed: AtomicU64,
    disallowed: AtomicU64,
    write_failed: AtomicU64,
}

/// A running UDP intake. Dropping it stops the thread.
#[derive(Debug)]
pub struct UdpIntake {
    addr: SocketAddr,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl UdpIntake {
    /// Binds `addr` and starts the receiving thread, which appends to the daily logs in
    /// `log_dir`. With `allow` set, datagrams from other senders are counted and dropped.
    ///
    /// Lines are not fsynced, because a UDP sender gets no acknowledgement to rely on. They
    /// reach the disk when the kernel writes its page cache back.
    pub fn start(
        addr: SocketAddr,
        allow: Option<Vec<IpNet>>,
        log_dir: &Path,
    ) -> io::Result<UdpIntake> {
        let appender = DailyAppender::open(log_dir, false)?;
        let socket = UdpSocket::bind(addr).map_err(|error| {
            io::Error::new(
                error.kind(),
                format!("failed to bind the UDP intake to {addr} ([intake] udp): {error}"),
            )
        })?;
        socket.set_read_timeout(Some(POLL_INTERVAL))?;
        let bound = socket.local_addr()?;

        let counters = Arc::new(Counters::default());
        let stop = Arc::new(AtomicBool::new(false));
        let receiver = Receiver {
            socket,
            allow,
            appender,
            counters: Arc::clone(&counters),
            write_warning: RateLimitedWarning::default(),
        };
        let thread = thread::Builder::new()
            .name("intake-udp".to_string())
            .spawn({
                let stop = Arc::clone(&stop);
                move || receiver.run(&stop)
            })?;

        Ok(UdpIntake {
            addr: bound,
            counters,
            stop,
            thread: Some(thread),
        })
    }

    /// Returns the bound address, with the real port when `addr` asked for port 0.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Returns the counters since the start.
    pub fn stats(&self) -> UdpStats {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        UdpStats {
            received: load(&self.counters.received),
            written: load(&self.counters.written),
            malformed: load(&self.counters.malformed),
            disallowed: load(&self.counters.disallowed),
            write_failed: load(&self.counters.write_failed),
        }
    }

    /// Stops the thread after the datagram in progress and closes the socket.
    pub fn stop(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        self.stop.store(true, Ordering::Relaxed);
        if thread.join().is_err() {
            log::error!("UDP intake thread on {} panicked", self.addr);
        }
    }
}

impl Drop for UdpIntake {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Receiver {
    socket: UdpSocket,
    allow: Option<Vec<IpNet>>,
    appender: DailyAppender,
    counters: Arc<Counters>,
    write_warning: RateLimitedWarning,
}

impl Receiver {
    fn run(mut self, stop: &AtomicBool) {
        let mut buffer = vec![0; MAX_DATAGRAM_BYTES];
        while !stop.load(Ordering::Relaxed) {
            match self.socket.recv_from(&mut buffer) {
                Ok((len, sender)) => self.handle(&buffer[..len], sender.ip()),
                Err(error)
                    if matches!(
                        error.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(error) => {
                    log::warn!("UDP intake failed to receive a datagram: {error}");
                    thread::sleep(POLL_INTERVAL);
                }
            }
        }
    }

    fn handle(&mut self, bytes: &[u8], sender: IpAddr) {
        self.counters.received.fetch_add(1, Ordering::Relaxed);
        if let Some(allow) = &self.allow {
            if !allow.iter().any(|net| net.contains(sender)) {
                self.counters.disallowed.fetch_add(1, Ordering::Relaxed);
                log::debug!("UDP intake dropped a datagram from {sender}, outside udp_allow");
                return;
            }
        }

        let datagram = match parse_datagram(bytes) {
            Ok(datagram) => datagram,
            Err(error) => {
                self.counters.malformed.fetch_add(1, Ordering::Relaxed);
                log::debug!("UDP intake dropped a datagram from {sender}: {error}");
                return;
            }
        };

        match self.appender.append_line(datagram.date, &datagram.line) {
            Ok(()) => {
                self.counters.written.fetch_add(1, Ordering::Relaxed);
            }
            Err(error) => {
                self.counters.write_failed.fetch_add(1, Ordering::Relaxed);
                self.write_warning
                    .warn(|suppressed| format!("UDP intake lost an event: {error} ({suppressed} more failures since the last warning)"));
            }
        }
    }
}
