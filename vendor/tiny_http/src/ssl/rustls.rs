use crate::connection::Connection;
use crate::ssl::plain_http;
use crate::util::refined_tcp_stream::Stream as RefinedStream;
use std::error::Error;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use zeroize::Zeroizing;

/// trailwatch: maximum time from accepting a TLS connection to the end of its handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// trailwatch: the socket under a TLS connection. Until the handshake is done, a read after
/// `deadline` fails with `TimedOut`, because rustls reads the whole handshake inside one call
/// of `read` and a client sending a byte before each socket timeout would never be cut off.
pub(crate) struct HandshakeSocket {
    inner: Connection,
    deadline: Option<Instant>,
    /// trailwatch: whether the client's first bytes were checked for a plain HTTP request.
    first_read: bool,
    /// trailwatch: set once a plain HTTP request got its response, after which the socket
    /// neither reads nor writes, so that no TLS alert follows that response.
    plain_http: bool,
}

fn plain_http_error() -> std::io::Error {
    let message = "plain HTTP request on the HTTPS port";
    std::io::Error::new(std::io::ErrorKind::InvalidData, message)
}

impl Read for HandshakeSocket {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.plain_http {
            return Err(plain_http_error());
        }
        if self.deadline.is_some_and(|deadline| Instant::now() > deadline) {
            let message = "TLS handshake timed out";
            return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, message));
        }
        let read = self.inner.read(buf)?;

        if !self.first_read && read > 0 {
            self.first_read = true;
            if plain_http::is_plain_http(buf[0]) {
                self.plain_http = true;
                return Err(plain_http::reject(&mut self.inner, &buf[..read], self.deadline));
            }
        }
        Ok(read)
    }
}

impl Write for HandshakeSocket {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.plain_http {
            return Err(plain_http_error());
        }
        self.inner.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

type TlsStream = rustls::StreamOwned<rustls::ServerConnection, HandshakeSocket>;

/// trailwatch: ends the handshake deadline of `stream` once its handshake is done.
fn clear_deadline_after_handshake(stream: &mut TlsStream) {
    if stream.sock.deadline.is_some() && !stream.conn.is_handshaking() {
        stream.sock.deadline = None;
    }
}

/// A wrapper around an owned Rustls connection and corresponding stream.
///
/// Uses an internal Mutex to permit disparate reader & writer threads to access the stream independently.
pub(crate) struct RustlsStream(Arc<Mutex<TlsStream>>);

impl RustlsStream {
    pub(crate) fn peer_addr(&mut self) -> std::io::Result<Option<SocketAddr>> {
        self.0
            .lock()
            .expect("Failed to lock SSL stream mutex")
            .sock
            .inner
            .peer_addr()
    }

    pub(crate) fn shutdown(&mut self, how: Shutdown) -> std::io::Result<()> {
        self.0
            .lock()
            .expect("Failed to lock SSL stream mutex")
            .sock
            .inner
            .shutdown(how)
    }
}

impl Clone for RustlsStream {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl Read for RustlsStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut stream = self.0.lock().expect("Failed to lock SSL stream mutex");
        let read = stream.read(buf);
        clear_deadline_after_handshake(&mut stream);
        read
    }
}

impl Write for RustlsStream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut stream = self.0.lock().expect("Failed to lock SSL stream mutex");
        let written = stream.write(buf);
        clear_deadline_after_handshake(&mut stream);
        written
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0
            .lock()
            .expect("Failed to lock SSL stream mutex")
            .flush()
    }
}

pub(crate) struct RustlsContext(Arc<rustls::ServerConfig>);

impl RustlsContext {
    /// trailwatch: ported from rustls 0.20 to 0.23, because the 0.20 line gets no fixes. Its
    /// advisory RUSTSEC-2024-0336 (`complete_io`, which `StreamOwned` calls, loops for ever on
    /// a `close_notify` during the handshake) has no fixed 0.20 release; 0.23 has it fixed from
    /// 0.23.5. The key may be PKCS#8, PKCS#1 (RSA) or SEC1 (EC), and files that do not parse
    /// give an error instead of a panic.
    pub(crate) fn from_pem(
        certificates: Vec<u8>,
        private_key: Zeroizing<Vec<u8>>,
    ) -> Result<Self, Box<dyn Error + Send + Sync>> {
        let certificate_chain = CertificateDer::pem_slice_iter(&certificates)
            .collect::<Result<Vec<_>, _>>()?;

        if certificate_chain.is_empty() {
            return Err("Couldn't extract certificate chain from config.".into());
        }

        let private_key = PrivateKeyDer::from_pem_slice(&private_key)?;

        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls_conf = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certificate_chain, private_key)?;

        Ok(Self(Arc::new(tls_conf)))
    }

    pub(crate) fn accept(
        &self,
        stream: Connection,
    ) -> Result<RustlsStream, Box<dyn Error + Send + Sync + 'static>> {
        let connection = rustls::ServerConnection::new(self.0.clone())?;
        let socket = HandshakeSocket {
            inner: stream,
            deadline: Some(Instant::now() + HANDSHAKE_TIMEOUT),
            first_read: false,
            plain_http: false,
        };
        Ok(RustlsStream(Arc::new(Mutex::new(
            rustls::StreamOwned::new(connection, socket),
        ))))
    }
}

impl From<RustlsStream> for RefinedStream {
    fn from(stream: RustlsStream) -> Self {
        Self::Https(stream)
    }
}
