//! A UDP sink: one datagram per message, sent from one unconnected socket.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};

use crate::queue::{Control, Sink};

/// Sends each message as one datagram to a fixed address.
pub(crate) struct UdpSink {
    name: &'static str,
    address: SocketAddr,
    socket: UdpSocket,
    /// Whether the last send failed, so that only changes between working and failing are
    /// logged above debug.
    failing: bool,
}

impl UdpSink {
    /// Binds a socket on an ephemeral port of the address family of `address`.
    pub(crate) fn open(name: &'static str, address: SocketAddr) -> io::Result<UdpSink> {
        let local: SocketAddr = match address {
            SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
            SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
        };

        Ok(UdpSink {
            name,
            address,
            socket: UdpSocket::bind(local)?,
            failing: false,
        })
    }
}

impl Sink for UdpSink {
    /// Sends `message` once. An unconnected socket gets no ICMP errors, so a receiver that is
    /// down goes unnoticed and only local errors (no route, a datagram too large) drop it.
    fn deliver(&mut self, message: &[u8], _control: &Control) -> bool {
        match self.socket.send_to(message, self.address) {
            Ok(_) => {
                if self.failing {
                    log::info!("{}: sending to {} works again", self.name, self.address);
                    self.failing = false;
                }
                true
            }
            Err(error) => {
                if self.failing {
                    log::debug!("{}: sending to {} failed: {error}", self.name, self.address);
                } else {
                    log::warn!(
                        "{}: sending a {}-byte datagram to {} failed: {error}",
                        self.name,
                        message.len(),
                        self.address
                    );
                    self.failing = true;
                }
                false
            }
        }
    }
}
