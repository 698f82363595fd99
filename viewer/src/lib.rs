//! trailwatch-viewer: a web UI and JSON API over the sensor's daily logs.
//!
//! The viewer reads `LOG_DIR/YYYY-MM-DD.log` files in Maltrail's line format, whether
//! trailwatch or Maltrail wrote them. Each file gets an index of compact per-line entries
//! ([`logs::index`]) that serves counts, filters and sorted pages without loading the file.
//! [`ViewerServer`] serves the embedded UI, the JSON API and Maltrail's `/events`, `/counts`
//! and `/fail2ban` endpoints, with argon2id password logins and per-user network scopes.

pub mod api;
pub mod cli;
pub mod config;
pub mod http;
pub mod intake;
pub mod logs;
pub mod net;
pub mod ratelimit;
pub mod session;
pub mod setup_code;
pub mod user_cmd;
pub mod users;

pub use config::{Config, ConfigError, Overrides};
pub use http::server::{StartError, ViewerServer};
