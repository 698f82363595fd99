//! Maltrail-compatible UDP output: one datagram per event, as a Maltrail sensor sends to the
//! server named by its `LOG_SERVER` option.
//!
//! The datagram is `<epoch seconds> <log line>`, where the log line is the one of the daily log
//! ([`Event::to_log_line`]), final newline included. This matches Maltrail's `core/log.py`
//! (2025): the sensor sends `"%s %s" % (sec, event)` with `event` ending in `\n`, and the
//! server's UDP handler splits the datagram at the first space, picks the daily file by the
//! seconds, and appends the rest as it is.
//!
//! NOTE: a Maltrail server reads at most 8192 bytes of a datagram (the
//! `socketserver.UDPServer.max_packet_size` of Python 3.11), so a longer line arrives cut.

use std::time::Duration;

use trailwatch_event::Event;

use crate::queue::Queue;
use crate::transport::{self, Transport};
use crate::{Output, OutputError, OutputStats};

/// Sends each event to a Maltrail server.
pub struct MaltrailUdp {
    queue: Queue,
}

impl MaltrailUdp {
    /// Resolves `server`, the `log_server` key, and starts the worker.
    pub fn start(server: &str) -> Result<MaltrailUdp, OutputError> {
        let address = transport::resolve("log_server", server)?;
        let sink = transport::open_sink("log_server", "log_server", address, Transport::Udp)?;
        let queue = Queue::start("log_server", sink)?;
        log::info!("log_server: sending Maltrail datagrams to {address}");

        Ok(MaltrailUdp { queue })
    }
}

/// Returns the datagram of `event`.
///
/// The seconds are Unix time, at least 0, because Maltrail's server recognizes this form by
/// its leading digit and would read a negative time as a malformed bare log line.
pub(crate) fn datagram(event: &Event) -> Vec<u8> {
    let seconds = event.time.normalized().secs.max(0);
    format!("{seconds} {}", event.to_log_line()).into_bytes()
}

impl Output for MaltrailUdp {
    fn send(&mut self, event: &Event) {
        self.queue.push(datagram(event));
    }

    fn shutdown(&mut self, deadline: Duration) {
        self.queue.shutdown(deadline);
    }

    fn stats(&self) -> OutputStats {
        self.queue.stats()
    }
}
