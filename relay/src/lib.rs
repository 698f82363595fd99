//! Reliable, authenticated delivery of events from a sensor to a viewer.
//!
//! The sensor side is a [`Sender`]: it appends each event's Maltrail log line to a [`Spool`]
//! on disk and returns, while a worker thread POSTs batches ([`Batch`]) signed with
//! HMAC-SHA256 ([`Secret`]) to the viewer and deletes what the viewer acknowledged. The viewer
//! side is an [`Intake`]: it verifies each batch, hands the events it has not stored before
//! to the caller's writer, commits the new high sequence and returns it. [`serve`] runs an
//! [`Intake`] behind a small HTTP server.
//!
//! `PROTOCOL.md` in this crate describes the exchange on the wire.

mod atomic_file;
mod batch;
mod client;
mod intake;
mod secret;
mod sender;
mod server;
pub mod spool;
mod stream_table;
mod worker;

pub use batch::{
    validate_line, validate_sensor_id, Batch, BatchError, LineError, SensorIdError, StreamId,
    MAX_BODY_BYTES, MAX_EVENTS_PER_BATCH, MAX_LINE_BYTES, MAX_SENSOR_ID_BYTES, PROTOCOL_VERSION,
};
pub use client::PostError;
pub use intake::{Ack, Intake, IntakeError, IntakeStats};
pub use secret::{Secret, SecretError, SignatureError, MIN_SECRET_BYTES, SIGNATURE_HEADER};
pub use sender::{
    is_http_url, Sender, SenderConfig, SenderError, SenderStats, DEFAULT_BATCH_BYTES,
    DEFAULT_BATCH_EVENTS, MAX_BATCH_BYTES,
};
pub use server::{serve, IntakeServer, DEFAULT_INTAKE_PATH, INTAKE_WORKERS};
pub use spool::{Spool, SpoolError, SpoolOptions, SpoolStats};
pub use stream_table::{StateError, DEFAULT_MAX_STREAMS};
