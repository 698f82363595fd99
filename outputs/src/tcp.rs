//! A TCP sink that keeps one connection open and reconnects with exponential backoff.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::queue::{Control, Sink};

/// Maximum time one connection attempt waits.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Maximum time one write waits for the receiver to accept data. A receiver that stalls for
/// longer is treated as gone, and the message is written again on a new connection.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Wait after the first failed connection attempt. Each further failure doubles it.
const MIN_BACKOFF: Duration = Duration::from_millis(500);

/// Maximum wait between two connection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Writes messages to one TCP connection, opening a new one whenever it fails.
///
/// A message is retried until it is written or the queue's shutdown deadline passes. The
/// receiver may get a message twice, or a cut one, when a connection fails in the middle of a
/// write.
pub(crate) struct TcpSink {
    name: &'static str,
    address: SocketAddr,
    stream: Option<TcpStream>,
    /// Wait before the next connection attempt.
    backoff: Duration,
    /// Connection attempts that failed since the last connection.
    failures: u64,
}

impl TcpSink {
    /// Creates the sink. The first connection opens with the first message.
    pub(crate) fn new(name: &'static str, address: SocketAddr) -> TcpSink {
        TcpSink {
            name,
            address,
            stream: None,
            backoff: MIN_BACKOFF,
            failures: 0,
        }
    }

    /// Opens a connection. On failure, waits for the backoff and returns `false`.
    fn connect(&mut self, control: &Control) -> bool {
        let result =
            TcpStream::connect_timeout(&self.address, CONNECT_TIMEOUT).and_then(|stream| {
                stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
                Ok(stream)
            });

        match result {
            Ok(stream) => {
                if self.failures > 0 {
                    log::info!(
                        "{}: connected to {} after {} failed attempts",
                        self.name,
                        self.address,
                        self.failures
                    );
                } else {
                    log::info!("{}: connected to {}", self.name, self.address);
                }
                self.stream = Some(stream);
                self.backoff = MIN_BACKOFF;
                self.failures = 0;
                true
            }
            Err(error) => {
                if self.failures == 0 {
                    log::warn!(
                        "{}: connecting to {} failed: {error}; retrying with backoff of up to {} s",
                        self.name,
                        self.address,
                        MAX_BACKOFF.as_secs()
                    );
                } else {
                    log::debug!(
                        "{}: connecting to {} failed: {error}",
                        self.name,
                        self.address
                    );
                }
                self.failures += 1;
                control.pause(self.backoff);
                self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                false
            }
        }
    }
}

impl Sink for TcpSink {
    fn deliver(&mut self, message: &[u8], control: &Control) -> bool {
        loop {
            if control.expired() {
                return false;
            }

            if self.stream.as_ref().is_some_and(peer_closed) {
                log::warn!(
                    "{}: {} closed the connection; reconnecting",
                    self.name,
                    self.address
                );
                self.stream = None;
            }

            let Some(stream) = self.stream.as_mut() else {
                self.connect(control);
                continue;
            };

            match stream.write_all(message) {
                Ok(()) => return true,
                Err(error) => {
                    log::warn!(
                        "{}: writing to {} failed: {error}; reconnecting",
                        self.name,
                        self.address
                    );
                    self.stream = None;
                }
            }
        }
    }
}

/// Tests whether the receiver closed the connection, by a read that does not block.
///
/// The outputs' receivers never send, so end of file means a close. Without this check the
/// first write after a close succeeds into the kernel buffer and its message is lost, because
/// only the write after it fails. Stray bytes from the receiver are read and discarded.
fn peer_closed(stream: &TcpStream) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return true;
    }

    let mut byte = [0_u8; 1];
    let closed = match (&*stream).read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(error) => !matches!(
            error.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
        ),
    };

    stream.set_nonblocking(false).is_err() || closed
}
