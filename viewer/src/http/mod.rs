//! The HTTP server: listeners, routing, parameters and responses.

pub mod connection;
pub mod params;
pub mod response;
pub mod router;
pub mod routes;
pub mod server;
pub mod static_files;
pub mod tls;
pub mod worker;
