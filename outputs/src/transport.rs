//! The `transport` key and the `host:port` addresses of the stream outputs.

use std::net::{SocketAddr, ToSocketAddrs};

use serde::Deserialize;

use crate::queue::Sink;
use crate::tcp::TcpSink;
use crate::udp::UdpSink;
use crate::OutputError;

/// Network protocol between an output and its server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// One datagram per event. A lost datagram is not noticed.
    Udp,
    /// One connection, reconnected with backoff when it fails.
    Tcp,
}

impl Transport {
    /// Returns the name used in the configuration: `udp` or `tcp`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        }
    }
}

/// Resolves `value`, the `host:port` of configuration key `key`, to its first address.
///
/// A host name is looked up once, here, so a later change of its address needs a restart.
pub(crate) fn resolve(key: &str, value: &str) -> Result<SocketAddr, OutputError> {
    let error = |reason: String| OutputError {
        key: key.to_owned(),
        value: value.to_owned(),
        reason,
    };

    let mut addresses = value.to_socket_addrs().map_err(|cause| {
        error(format!(
            "invalid or unresolvable address ({cause}); write host:port, such as \
             192.0.2.10:514 or [2001:db8::10]:514"
        ))
    })?;
    let address = addresses
        .next()
        .ok_or_else(|| error("the host name resolves to no address".to_owned()))?;

    if address.port() == 0 {
        return Err(error(
            "port 0 cannot receive; use the server's port".to_owned(),
        ));
    }
    Ok(address)
}

/// Opens the sink of `transport` towards `address`, for the output `name`.
pub(crate) fn open_sink(
    name: &'static str,
    key: &str,
    address: SocketAddr,
    transport: Transport,
) -> Result<Box<dyn Sink>, OutputError> {
    match transport {
        Transport::Tcp => Ok(Box::new(TcpSink::new(name, address))),
        Transport::Udp => {
            let sink = UdpSink::open(name, address).map_err(|cause| OutputError {
                key: key.to_owned(),
                value: address.to_string(),
                reason: format!("failed to open a UDP socket: {cause}"),
            })?;
            Ok(Box::new(sink))
        }
    }
}
