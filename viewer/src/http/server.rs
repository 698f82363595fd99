//! The listening sockets, their worker threads, and the state that handlers share.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use log::{info, warn};
use thiserror::Error;
use tiny_http::SslConfig;

use super::connection::{self, Watchdog};
use super::tls::{self, TlsError, TlsPem};
use super::worker::{self, Connections};
use crate::config::{Config, TlsFiles};
use crate::intake::{IntakeStartError, Intakes, ReliableIntake};
use crate::logs::cache::{IndexCache, MAX_CACHED_LINES};
use crate::ratelimit::LoginLimiter;
use crate::session::Sessions;
use crate::users::{UserDirectory, UsersError};

/// Worker threads per listening address. Requests are short apart from exports, so a few
/// threads keep one slow download from blocking the UI.
pub const WORKERS_PER_LISTENER: usize = 4;

/// State shared by every request handler.
#[derive(Debug)]
pub struct App {
    pub config: Config,
    pub cache: IndexCache,
    pub sessions: Sessions,
    pub limiter: LoginLimiter,
    pub users: UserDirectory,
    /// Whether the server speaks HTTPS, which adds `Secure` to the session cookie.
    pub tls: bool,
    /// A hash verified when the user name is unknown, so that the response time does not tell
    /// which names exist.
    pub decoy_hash: String,
    /// The reliable intake behind `POST /api/intake`, `None` when it is off.
    pub intake: Option<Arc<ReliableIntake>>,
    /// Shuts down connections that exceed `config.timeouts`.
    pub watchdog: Watchdog,
    /// The client connections the workers have seen and their deadlines.
    pub connections: Connections,
}

/// Reason the server could not start.
#[derive(Debug, Error)]
pub enum StartError {
    #[error(transparent)]
    Users(#[from] UsersError),

    #[error(transparent)]
    Tls(#[from] TlsError),

    #[error(
        "cannot use TLS certificate {cert} with key {key}: {message}; check that the key \
         belongs to the certificate"
    )]
    TlsSetup {
        cert: std::path::PathBuf,
        key: std::path::PathBuf,
        message: String,
    },

    #[error(transparent)]
    Intake(#[from] IntakeStartError),

    #[error("cannot listen on {addr}: {message}")]
    Listen { addr: SocketAddr, message: String },

    #[error("cannot start the connection watchdog thread: {0}")]
    Watchdog(std::io::Error),
}

/// A running viewer: its sockets and worker threads.
pub struct ViewerServer {
    servers: Vec<Arc<tiny_http::Server>>,
    addrs: Vec<SocketAddr>,
    workers: Vec<JoinHandle<()>>,
    app: Arc<App>,
    intakes: Intakes,
}

impl ViewerServer {
    /// Opens every listen address of `config` and starts serving.
    pub fn start(config: Config) -> Result<ViewerServer, StartError> {
        let users = UserDirectory::open(&config.users_file)?;
        let ssl = match &config.tls {
            Some(files) => Some(tls::load(files)?),
            None => None,
        };
        let decoy_hash = crate::users::hash_password("decoy password, never accepted")?;
        let intakes = Intakes::start(&config.intake, &config.log_dir)?;

        let app = Arc::new(App {
            cache: IndexCache::new(&config.log_dir, MAX_CACHED_LINES)
                .with_query_time_limit(config.query_time_limit)
                .with_inline_count_bytes(config.inline_count_bytes),
            sessions: Sessions::new(config.session_lifetime),
            limiter: LoginLimiter::default(),
            users,
            tls: ssl.is_some(),
            decoy_hash,
            intake: intakes.reliable(),
            watchdog: Watchdog::start().map_err(StartError::Watchdog)?,
            connections: Connections::default(),
            config,
        });

        let mut servers = Vec::new();
        let mut addrs = Vec::new();
        for &addr in &app.config.listen {
            let listener = connection::listen(addr, &app.config.timeouts).map_err(|error| {
                StartError::Listen {
                    addr,
                    message: error.to_string(),
                }
            })?;
            let server = match (&ssl, &app.config.tls) {
                (Some(pem), Some(files)) => serve_https(listener, pem, files)?,
                _ => tiny_http::Server::from_listener(listener, None).map_err(|error| {
                    StartError::Listen {
                        addr,
                        message: error.to_string(),
                    }
                })?,
            };
            let bound = server.server_addr().to_ip().unwrap_or(addr);
            info!(
                "listening on {}://{bound}",
                if ssl.is_some() { "https" } else { "http" }
            );
            addrs.push(bound);
            servers.push(Arc::new(server));
        }

        if ssl.is_none() {
            warn!("serving plain HTTP: passwords and session cookies cross the network unencrypted; set [server] tls_cert and tls_key");
        }
        if app.users.current().users.is_empty() {
            match &app.config.setup_code_file {
                Some(code_file) => warn!(
                    "no users configured, so nobody can log in; create the first one on /setup with the code in {}",
                    code_file.display()
                ),
                None => warn!(
                    "no users configured, so nobody can log in; create one with: trailwatch-viewer user add NAME --users {}",
                    app.users.path().display()
                ),
            }
        }

        let mut workers = Vec::new();
        for (server, addr) in servers.iter().zip(&addrs) {
            for _ in 0..WORKERS_PER_LISTENER {
                let server = Arc::clone(server);
                let app = Arc::clone(&app);
                let port = addr.port();
                workers.push(std::thread::spawn(move || {
                    worker::serve(&server, &app, port)
                }));
            }
        }

        Ok(ViewerServer {
            servers,
            addrs,
            workers,
            app,
            intakes,
        })
    }

    /// The bound addresses, with the real port where the configuration asked for port 0.
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    pub fn app(&self) -> &Arc<App> {
        &self.app
    }

    /// The remote sensor intakes that `[intake]` turned on.
    pub fn intakes(&self) -> &Intakes {
        &self.intakes
    }

    /// Blocks until every worker thread ends, which happens only after [`ViewerServer::stop`].
    pub fn wait(mut self) {
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
        self.intakes.stop();
    }

    /// Stops accepting requests, waits for the workers to finish their current request, then
    /// stops the intakes and logs their final counters. Requests with a body on the socket
    /// may still run on their own threads, for at most the body timeout.
    pub fn stop(self) {
        for server in &self.servers {
            for _ in 0..WORKERS_PER_LISTENER {
                server.unblock();
            }
        }
        let app = Arc::clone(&self.app);
        self.wait();
        app.watchdog.stop();
    }
}

/// Serves HTTPS on `listener`. Binding happens before, so that bind errors and TLS setup
/// errors, which tiny_http returns alike, get their own messages.
fn serve_https(
    listener: std::net::TcpListener,
    pem: &TlsPem,
    files: &TlsFiles,
) -> Result<tiny_http::Server, StartError> {
    let ssl = SslConfig {
        certificate: pem.certificate.clone(),
        private_key: pem.private_key.clone(),
    };
    tiny_http::Server::from_listener(listener, Some(ssl)).map_err(|error| StartError::TlsSetup {
        cert: files.cert.clone(),
        key: files.key.clone(),
        message: error.to_string(),
    })
}
