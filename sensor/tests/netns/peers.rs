//! Servers and clients that run inside a namespace: DNS over UDP and TCP, HTTP, a TLS listener
//! that reads the ClientHello, and a UDP sink.
//!
//! The DNS and HTTP clients wait for the server's response and the TLS client waits for the
//! server to close, so their packets are on the wire when the call returns. A datagram to the
//! UDP sink gets no response, so tests wait for [`Server::wait_handled`] instead.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::Namespace;
use crate::common::frames::{client_hello, dns_query};

/// How long a client waits for a response, and a server for the rest of a request.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// How often a server loop looks at its stop flag.
const STOP_POLL: Duration = Duration::from_millis(50);

/// What a server does with one message or connection.
#[derive(Debug, Clone, Copy)]
pub enum Service {
    /// Sends an empty NXDOMAIN response to each UDP DNS query.
    DnsUdp,
    /// Reads one length-prefixed DNS query per connection and sends a response.
    DnsTcp,
    /// Reads one HTTP request per connection and responds `204 No Content`.
    Http,
    /// Reads one TLS record (the ClientHello) per connection, then closes it.
    TlsHello,
    /// Receives UDP datagrams and sends nothing back.
    UdpSink,
}

/// A server thread inside a namespace. Dropping it stops the thread and closes its socket.
pub struct Server {
    pub addr: SocketAddr,
    handled: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds `addr` inside `namespace` and serves `service` until dropped. Returns once the
    /// socket is bound, so clients may connect at once.
    pub fn start(namespace: &Namespace, addr: SocketAddr, service: Service) -> Server {
        let handled = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (bound_tx, bound_rx) = std::sync::mpsc::channel();
        let thread = {
            let handled = Arc::clone(&handled);
            let stop = Arc::clone(&stop);
            namespace.spawn(move || {
                let socket = Socket::bind(addr, service);
                let result = socket.as_ref().map(|_| ()).map_err(|e| e.to_string());
                let _ = bound_tx.send(result);
                if let Ok(socket) = socket {
                    serve(socket, service, &handled, &stop);
                }
            })
        };
        match bound_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(error)) => panic!("cannot bind {service:?} server to {addr}: {error}"),
            Err(_) => panic!("the {service:?} server thread for {addr} ended before binding"),
        }
        Server {
            addr,
            handled,
            stop,
            thread: Some(thread),
        }
    }

    /// Number of messages or connections served completely so far.
    pub fn handled(&self) -> usize {
        self.handled.load(Ordering::SeqCst)
    }

    /// Waits until at least `count` messages or connections were served; panics after
    /// [`IO_TIMEOUT`].
    pub fn wait_handled(&self, count: usize) {
        let deadline = Instant::now() + IO_TIMEOUT;
        while self.handled() < count {
            assert!(
                Instant::now() < deadline,
                "the server on {} served {} of {count} messages within {IO_TIMEOUT:?}",
                self.addr,
                self.handled()
            );
            std::thread::sleep(STOP_POLL);
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

enum Socket {
    Udp(UdpSocket),
    Tcp(TcpListener),
}

impl Socket {
    fn bind(addr: SocketAddr, service: Service) -> io::Result<Socket> {
        match service {
            Service::DnsUdp | Service::UdpSink => {
                let socket = UdpSocket::bind(addr)?;
                socket.set_read_timeout(Some(STOP_POLL))?;
                Ok(Socket::Udp(socket))
            }
            Service::DnsTcp | Service::Http | Service::TlsHello => {
                let listener = TcpListener::bind(addr)?;
                listener.set_nonblocking(true)?;
                Ok(Socket::Tcp(listener))
            }
        }
    }
}

fn serve(socket: Socket, service: Service, handled: &AtomicUsize, stop: &AtomicBool) {
    let mut buffer = vec![0u8; 65_536];
    while !stop.load(Ordering::SeqCst) {
        let served = match &socket {
            Socket::Udp(socket) => match socket.recv_from(&mut buffer) {
                Ok((len, peer)) => serve_datagram(socket, service, &buffer[..len], peer),
                Err(error) if is_timeout(&error) => continue,
                Err(error) => Err(error),
            },
            Socket::Tcp(listener) => match listener.accept() {
                Ok((stream, _)) => serve_connection(stream, service),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    std::thread::sleep(STOP_POLL);
                    continue;
                }
                Err(error) => Err(error),
            },
        };
        match served {
            Ok(()) => {
                handled.fetch_add(1, Ordering::SeqCst);
            }
            Err(error) => eprintln!("{service:?} server: {error}"),
        }
    }
}

fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn serve_datagram(
    socket: &UdpSocket,
    service: Service,
    message: &[u8],
    peer: SocketAddr,
) -> io::Result<()> {
    match service {
        Service::DnsUdp => {
            socket.send_to(&dns_response(message)?, peer)?;
            Ok(())
        }
        _ => Ok(()),
    }
}

fn serve_connection(mut stream: TcpStream, service: Service) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    match service {
        Service::DnsTcp => {
            let query = read_length_prefixed(&mut stream)?;
            let response = dns_response(&query)?;
            stream.write_all(&(response.len() as u16).to_be_bytes())?;
            stream.write_all(&response)
        }
        Service::Http => {
            read_http_head(&mut stream)?;
            stream.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        }
        Service::TlsHello => {
            let mut header = [0u8; 5];
            stream.read_exact(&mut header)?;
            let mut body = vec![0u8; usize::from(u16::from_be_bytes([header[3], header[4]]))];
            stream.read_exact(&mut body)
        }
        Service::DnsUdp | Service::UdpSink => Ok(()),
    }
}

/// Builds an NXDOMAIN response to `query`: its header with QR set, and its question.
fn dns_response(query: &[u8]) -> io::Result<Vec<u8>> {
    if query.len() < 12 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "DNS query of {} bytes is shorter than its header",
                query.len()
            ),
        ));
    }
    let mut response = query.to_vec();
    response[2] |= 0x80; // QR: response
    response[3] = 0x83; // RA, RCODE 3 (NXDOMAIN)
    response[6..12].fill(0); // no answer, authority or additional records
    Ok(response)
}

fn read_length_prefixed(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut length = [0u8; 2];
    stream.read_exact(&mut length)?;
    let mut message = vec![0u8; usize::from(u16::from_be_bytes(length))];
    stream.read_exact(&mut message)?;
    Ok(message)
}

/// Reads until the blank line that ends an HTTP request head.
fn read_http_head(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed inside the HTTP request head",
            ));
        }
        head.push(byte[0]);
    }
    Ok(head)
}

/// Sends a DNS query for `name` over UDP, checks that a response comes back, and returns the
/// client port. Run inside a namespace.
pub fn dns_query_udp(server: SocketAddr, name: &str) -> io::Result<u16> {
    let socket = UdpSocket::bind(unspecified(server))?;
    socket.set_read_timeout(Some(IO_TIMEOUT))?;
    socket.send_to(&dns_query(0x4c54, name), server)?;
    let mut buffer = vec![0u8; 65_536];
    let (len, _) = socket.recv_from(&mut buffer)?;
    check_dns_response(&buffer[..len])?;
    Ok(socket.local_addr()?.port())
}

/// Sends a DNS query for `name` over UDP without waiting for a response. Run inside a
/// namespace.
pub fn dns_query_udp_no_wait(server: SocketAddr, name: &str) -> io::Result<()> {
    let socket = UdpSocket::bind(unspecified(server))?;
    socket.send_to(&dns_query(0x4c55, name), server)?;
    Ok(())
}

/// Sends a DNS query for `name` over TCP with the two-byte length prefix, checks the response
/// and returns the client port. Run inside a namespace.
pub fn dns_query_tcp(server: SocketAddr, name: &str) -> io::Result<u16> {
    let mut stream = connect(server)?;
    let query = dns_query(0x4c56, name);
    let mut message = (query.len() as u16).to_be_bytes().to_vec();
    message.extend_from_slice(&query);
    stream.write_all(&message)?;
    check_dns_response(&read_length_prefixed(&mut stream)?)?;
    Ok(stream.local_addr()?.port())
}

/// Sends `GET path` with `Host: host`, checks for the server's `204` and returns the client
/// port. Run inside a namespace.
pub fn http_get(server: SocketAddr, host: &str, path: &str) -> io::Result<u16> {
    let mut stream = connect(server)?;
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: trailwatch-test/1\r\n\r\n");
    stream.write_all(request.as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response.lines().next().unwrap_or_default();
    if status != "HTTP/1.1 204 No Content" {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("unexpected HTTP status line {status:?} from {server}"),
        ));
    }
    Ok(stream.local_addr()?.port())
}

/// Sends a TLS ClientHello with `server_name` in its SNI extension, waits until the server has
/// read it and closed the connection, and returns the client port. Run inside a namespace.
pub fn tls_hello(server: SocketAddr, server_name: &str) -> io::Result<u16> {
    let mut stream = connect(server)?;
    stream.write_all(&client_hello(server_name))?;
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest)?;
    Ok(stream.local_addr()?.port())
}

/// Sends one UDP datagram with `payload` to `target` and returns the client port. Run inside a
/// namespace.
pub fn udp_send(target: SocketAddr, payload: &[u8]) -> io::Result<u16> {
    let socket = UdpSocket::bind(unspecified(target))?;
    socket.send_to(payload, target)?;
    Ok(socket.local_addr()?.port())
}

fn check_dns_response(message: &[u8]) -> io::Result<()> {
    if message.len() >= 12 && message[2] & 0x80 != 0 {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{} bytes came back that are no DNS response", message.len()),
    ))
}

fn connect(server: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&server, IO_TIMEOUT)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    Ok(stream)
}

/// Returns the unspecified address of `target`'s family with port 0, for a client socket.
fn unspecified(target: SocketAddr) -> SocketAddr {
    match target {
        SocketAddr::V4(_) => SocketAddr::from(([0, 0, 0, 0], 0)),
        SocketAddr::V6(_) => SocketAddr::from(([0u16; 8], 0)),
    }
}
