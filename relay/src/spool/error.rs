//! Errors of spool operations.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

use crate::batch::MAX_LINE_BYTES;
use crate::spool::record::MAX_RECORD_BYTES;

/// Failure of a spool operation.
#[derive(Debug, Error)]
pub enum SpoolError {
    #[error("failed to create spool folder {}: {source}", dir.display())]
    CreateDir { dir: PathBuf, source: io::Error },

    #[error(
        "spool folder {} is in use by another sender; give each sender its own spool_dir",
        dir.display()
    )]
    Locked { dir: PathBuf },

    #[error(
        "spool folder {} is closed because its sender stopped; start a new sender to spool \
         events",
        dir.display()
    )]
    Closed { dir: PathBuf },

    #[error("spool file {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },

    #[error(
        "invalid spool state file {}: {reason}; delete the spool folder to start a new \
         stream (unsent events in it are lost)",
        path.display()
    )]
    InvalidState { path: PathBuf, reason: String },

    #[error("failed to fsync spool {}: {source}", dir.display())]
    Sync { dir: PathBuf, source: io::Error },

    #[error("failed to draw a random stream id: {0}")]
    Random(getrandom::Error),

    #[error(
        "invalid spool size: {max_bytes} bytes with {segment_bytes}-byte segments; segments \
         must hold {MAX_RECORD_BYTES} bytes and the spool at least two segments"
    )]
    InvalidOptions { max_bytes: u64, segment_bytes: u64 },

    #[error("event line is {len} bytes long, expected 1 to {MAX_LINE_BYTES}")]
    LineLength { len: usize },

    #[error(
        "acknowledgement of sequence {ack} is beyond the last spooled sequence {last}, so the \
         receiver's state does not belong to this spool; delete the spool folder to start a new \
         stream"
    )]
    AckBeyondEnd { ack: u64, last: u64 },
}
