//! Events from remote sensors: the reliable intake on `POST /api/intake` and the
//! Maltrail-compatible UDP intake, both appending to the daily logs under the log folder.
//!
//! [`Intakes`] starts what `[intake]` turns on, logs the counters at info every
//! [`STATS_INTERVAL`] when they changed, and once more when it stops.

mod daily;
mod datagram;
pub mod http;
mod reliable;
mod report;
mod udp;
mod warnings;

use std::io;

use thiserror::Error;
use trailwatch_relay::{SecretError, StateError};

pub use daily::{line_date, DailyAppender};
pub use datagram::{parse_datagram, Datagram, DatagramError};
pub use reliable::ReliableIntake;
pub use report::{Intakes, STATS_INTERVAL};
pub use udp::{UdpIntake, UdpStats};

/// Reason an intake could not start.
#[derive(Debug, Error)]
pub enum IntakeStartError {
    #[error("[intake] secret_file: {0}")]
    Secret(#[from] SecretError),

    #[error("[intake] state: {0}")]
    State(#[from] StateError),

    #[error("{0}")]
    LogDir(io::Error),

    #[error("[intake] udp: {0}")]
    Udp(io::Error),

    #[error("failed to start the intake counter thread: {0}")]
    Thread(io::Error),
}
