//! The reliable intake behind `POST /api/intake`: signed batches from remote sensors, each
//! event stored once, durable before the acknowledgement.
//!
//! `trailwatch_relay::Intake` checks the signature and the batch and tracks the highest stored
//! sequence of each sender stream in its state file. The events it has not stored before are
//! appended here to the daily logs and fsynced, and only then does the intake save its state
//! and return the acknowledgement.

use std::io;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use trailwatch_relay::{Ack, Intake, IntakeError, IntakeStats, Secret};

use super::daily::DailyAppender;
use super::warnings::RateLimitedWarning;
use super::IntakeStartError;

/// The reliable intake. Requests take turns on one lock, so that the batches of one stream are
/// stored in order and the state file has one writer.
#[derive(Debug)]
pub struct ReliableIntake {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    intake: Intake,
    appender: DailyAppender,
    rejections: RateLimitedWarning,
}

impl ReliableIntake {
    /// Reads the secret, locks and loads the state file, and creates `log_dir` if needed.
    pub fn open(
        secret_file: &Path,
        state_file: &Path,
        log_dir: &Path,
    ) -> Result<ReliableIntake, IntakeStartError> {
        let secret = Secret::from_file(secret_file)?;
        let intake = Intake::open(secret, state_file)?;
        let appender = DailyAppender::open(log_dir, true).map_err(IntakeStartError::LogDir)?;
        log::info!(
            "reliable intake on POST /api/intake: state {}, {} known streams",
            state_file.display(),
            intake.stats().streams
        );

        Ok(ReliableIntake {
            inner: Mutex::new(Inner {
                intake,
                appender,
                rejections: RateLimitedWarning::default(),
            }),
        })
    }

    /// Handles one request body with its `X-Trailwatch-Signature` value, from `client`.
    ///
    /// Returns the acknowledgement once the new events are fsynced in their daily logs and the
    /// state file is saved. A rejected or failed request is counted and logs a warning, at most
    /// one a minute. A write that fails partway leaves lines that the retry stores again, as
    /// [`Intake::receive`] describes.
    pub fn receive(
        &self,
        body: &[u8],
        signature: Option<&str>,
        client: IpAddr,
    ) -> Result<Ack, IntakeError> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let Inner {
            intake,
            appender,
            rejections,
        } = &mut *inner;

        let result = intake.receive(body, signature, |lines: &[String]| -> io::Result<()> {
            appender.append_lines(lines)
        });
        match &result {
            Ok(ack) => log::debug!(
                "intake: sensor {} stream {} from {client}: {} events written, acknowledged {}",
                ack.sensor,
                ack.stream,
                ack.written,
                ack.acked
            ),
            Err(error) => {
                log::debug!("intake rejected a request from {client}: {error}");
                rejections.warn(|suppressed| {
                    format!(
                        "intake request from {client} failed with status {}: {error} \
                         ({suppressed} more failures since the last warning)",
                        error.status()
                    )
                });
            }
        }
        result
    }

    /// Returns the counters since the intake was opened.
    pub fn stats(&self) -> IntakeStats {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .intake
            .stats()
    }
}
