//! The receiver: verifies a batch, hands the events it has not stored before to the caller's
//! writer, then commits the new high sequence and returns the acknowledgement.

use std::io;
use std::path::Path;

use thiserror::Error;

use crate::batch::{Batch, BatchError, StreamId, MAX_BODY_BYTES};
use crate::secret::{Secret, SignatureError};
use crate::stream_table::{StateError, StreamTable, DEFAULT_MAX_STREAMS};

/// Reason a batch was not accepted. [`IntakeError::status`] gives the HTTP status for it.
#[derive(Debug, Error)]
pub enum IntakeError {
    #[error("body is {len} bytes long, the maximum is {MAX_BODY_BYTES}")]
    TooLarge { len: usize },

    #[error("rejected signature: {0}")]
    Signature(#[from] SignatureError),

    #[error("malformed batch: {0}")]
    Malformed(#[from] BatchError),

    #[error(
        "intake state holds its maximum of {max} streams, so new stream {stream} of sensor \
         {sensor} is not accepted; remove entries of retired sensors from {path}"
    )]
    TableFull {
        max: usize,
        sensor: String,
        stream: StreamId,
        path: String,
    },

    #[error("failed to write the events of sensor {sensor}: {source}")]
    Write { sensor: String, source: io::Error },

    #[error(transparent)]
    State(#[from] StateError),
}

impl IntakeError {
    /// Returns the HTTP status code of the response.
    ///
    /// The codes are 413 for a body over the limit, 401 for a missing or wrong signature, 400
    /// for a malformed batch and 503 for a full state table. Failures to write the events or
    /// the state give 500.
    pub fn status(&self) -> u16 {
        match self {
            IntakeError::TooLarge { .. } => 413,
            IntakeError::Signature(_) => 401,
            IntakeError::Malformed(_) => 400,
            IntakeError::TableFull { .. } => 503,
            IntakeError::Write { .. } | IntakeError::State(_) => 500,
        }
    }
}

/// Result of an accepted batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub sensor: String,
    pub stream: StreamId,
    /// Highest sequence stored for (sensor, stream), sent back to the sender.
    pub acked: u64,
    /// Events of this batch handed to the writer. The rest were stored before.
    pub written: usize,
}

/// Counters of an [`Intake`] since it was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IntakeStats {
    pub batches_accepted: u64,
    /// Events handed to the writer and committed.
    pub events_written: u64,
    /// Events skipped because they were stored before (retries and replays).
    pub events_duplicate: u64,
    /// Sequence numbers skipped over by a stream, such as events its sender's spool dropped.
    pub events_missing: u64,
    /// Requests rejected with 401: missing or wrong signature.
    pub rejected_signature: u64,
    /// Requests rejected with 400 or 413: malformed or too large.
    pub rejected_malformed: u64,
    /// Requests rejected with 503 because the state table is full.
    pub rejected_full: u64,
    /// Requests that failed with 500 because the writer or the state file failed.
    pub failed: u64,
    /// Number of (sensor, stream) entries in the state table.
    pub streams: usize,
}

/// Receiver state: the secret, and the highest stored sequence per (sensor, stream).
///
/// Calls must not overlap, which `&mut self` ensures. A lock file next to the state file keeps
/// a second `Intake` from opening the same state until this one is dropped.
#[derive(Debug)]
pub struct Intake {
    secret: Secret,
    table: StreamTable,
    stats: IntakeStats,
}

impl Intake {
    /// Opens the intake with its state at `state_path` (created on the first accepted batch)
    /// and at most [`DEFAULT_MAX_STREAMS`] streams.
    pub fn open(secret: Secret, state_path: &Path) -> Result<Intake, StateError> {
        Intake::open_with_max_streams(secret, state_path, DEFAULT_MAX_STREAMS)
    }

    /// Opens the intake like [`Intake::open`] with at most `max_streams` (sensor, stream)
    /// entries in its state.
    pub fn open_with_max_streams(
        secret: Secret,
        state_path: &Path,
        max_streams: usize,
    ) -> Result<Intake, StateError> {
        let table = StreamTable::open(state_path, max_streams)?;
        let stats = IntakeStats {
            streams: table.len(),
            ..IntakeStats::default()
        };
        Ok(Intake {
            secret,
            table,
            stats,
        })
    }

    /// Handles one request body with its signature header value.
    ///
    /// Checks the size, then the signature over the exact bytes, then the batch. The events
    /// not stored before go to `write` in sequence order, as one slice of log lines with their
    /// final newlines. `write` must return only once they are durable. After it succeeds, the
    /// new high sequence is saved to the state file, and only then is the [`Ack`] returned.
    /// If `write` fails, nothing is committed and the sender retries the batch.
    ///
    /// NOTE: exactly-once delivery assumes that `write` stores all lines or none. If it fails
    /// after storing some, or the process dies between `write` and the state save, the retry
    /// writes those lines a second time.
    pub fn receive<W>(
        &mut self,
        body: &[u8],
        signature: Option<&str>,
        write: W,
    ) -> Result<Ack, IntakeError>
    where
        W: FnOnce(&[String]) -> io::Result<()>,
    {
        let result = self.receive_counted(body, signature, write);
        if let Err(error) = &result {
            match error {
                IntakeError::TooLarge { .. } | IntakeError::Malformed(_) => {
                    self.stats.rejected_malformed += 1
                }
                IntakeError::Signature(_) => self.stats.rejected_signature += 1,
                IntakeError::TableFull { .. } => self.stats.rejected_full += 1,
                IntakeError::Write { .. } | IntakeError::State(_) => self.stats.failed += 1,
            }
        }
        result
    }

    fn receive_counted<W>(
        &mut self,
        body: &[u8],
        signature: Option<&str>,
        write: W,
    ) -> Result<Ack, IntakeError>
    where
        W: FnOnce(&[String]) -> io::Result<()>,
    {
        if body.len() > MAX_BODY_BYTES {
            return Err(IntakeError::TooLarge { len: body.len() });
        }
        self.secret.verify(body, signature)?;
        let batch = Batch::decode(body)?;

        let stored = self.table.get(&batch.sensor, batch.stream);
        if stored.is_none() && self.table.is_full() {
            return Err(IntakeError::TableFull {
                max: self.table.max_streams(),
                sensor: batch.sensor,
                stream: batch.stream,
                path: self.table.path().display().to_string(),
            });
        }
        let stored = stored.unwrap_or(0);

        // Events up to `stored` were written before. The batch is consecutive, so the new ones
        // are a suffix of it.
        let last = batch.last_sequence();
        let skipped = stored
            .saturating_sub(batch.first_sequence - 1)
            .min(batch.events.len() as u64);
        let new_events = &batch.events[skipped as usize..];
        let missing = (batch.first_sequence - 1).saturating_sub(stored);

        if !new_events.is_empty() {
            write(new_events).map_err(|source| IntakeError::Write {
                sensor: batch.sensor.clone(),
                source,
            })?;
            self.table.raise(&batch.sensor, batch.stream, last);
        }
        // Also retries a save that failed on an earlier batch, whose events are written.
        self.table.save()?;

        if missing > 0 {
            let noun = if missing == 1 { "event" } else { "events" };
            log::info!(
                "sensor {} stream {}: {missing} {noun} missing before sequence {} (dropped by \
                 the sender)",
                batch.sensor,
                batch.stream,
                batch.first_sequence
            );
        }
        self.stats.batches_accepted += 1;
        self.stats.events_written += new_events.len() as u64;
        self.stats.events_duplicate += skipped;
        self.stats.events_missing += missing;
        self.stats.streams = self.table.len();

        Ok(Ack {
            acked: stored.max(last),
            written: new_events.len(),
            sensor: batch.sensor,
            stream: batch.stream,
        })
    }

    /// Returns the highest stored sequence of (sensor, stream), `None` for an unknown stream.
    pub fn acked(&self, sensor: &str, stream: StreamId) -> Option<u64> {
        self.table.get(sensor, stream)
    }

    /// Returns the counters since the intake was opened.
    pub fn stats(&self) -> IntakeStats {
        self.stats
    }
}
