//! Reliable, authenticated delivery of every event to a trailwatch viewer.
//!
//! Each event's Maltrail log line goes into a spool on disk, and a worker thread POSTs signed
//! batches to the viewer's intake URL until the viewer acknowledges them. Events survive
//! outages of the link or the viewer and restarts of the sensor, and arrive once and in order.
//! The exceptions are events dropped because the spool reached `spool_max_mib` (counted and
//! logged), and the crash windows that `PROTOCOL.md` in the `trailwatch-relay` crate lists.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use trailwatch_event::Event;
use trailwatch_relay::spool::STATE_FILE;
use trailwatch_relay::{
    is_http_url, validate_sensor_id, Secret, Sender, SenderConfig, SenderError, SpoolError,
    SpoolOptions, DEFAULT_BATCH_EVENTS, MAX_EVENTS_PER_BATCH,
};

use crate::{Context, Output, OutputError, OutputStats};

/// Default of `spool_max_mib`.
const DEFAULT_SPOOL_MAX_MIB: u64 = 64;

/// Maximum of `spool_max_mib`: 64 GiB, far above any sensor's persistent partition.
const MAX_SPOOL_MIB: u64 = 64 * 1024;

const MIB: u64 = 1024 * 1024;

/// The `[outputs.delivery]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {
    /// Intake URL of the viewer, such as `http://viewer:8338/api/intake`. https works too.
    pub url: String,
    /// File containing the secret shared with the viewer: at least 16 bytes, trailing whitespace
    /// ignored.
    pub secret_file: PathBuf,
    /// Spool folder, on the persistent partition so that events survive a reboot.
    pub spool_dir: PathBuf,
    /// Maximum spool size in MiB. When it is full, the oldest events are dropped.
    #[serde(default = "default_spool_max_mib")]
    pub spool_max_mib: u64,
    /// Sensor id sent to the viewer (default: the sensor name).
    #[serde(default)]
    pub sensor_id: Option<String>,
    /// Maximum events per batch, 1 to 1000 (default 500).
    #[serde(default)]
    pub batch_max: Option<usize>,
}

fn default_spool_max_mib() -> u64 {
    DEFAULT_SPOOL_MAX_MIB
}

/// The delivery output: a spool and its worker thread.
pub struct DeliveryOutput {
    sender: Sender,
    /// Buffer for the log line, reused for every event.
    line: String,
}

impl DeliveryOutput {
    /// Checks the configuration, reads the secret, opens the spool and starts the worker.
    /// Events spooled by an earlier run are sent first.
    ///
    /// A spool whose state file is invalid is moved aside to `<spool_dir>.damaged-<unix
    /// time>` with an error in the log on how to recover its events, and a new spool with a
    /// new stream starts in its place, so that the sensor keeps running.
    pub fn start(
        config: &DeliveryConfig,
        context: &Context,
    ) -> Result<DeliveryOutput, OutputError> {
        let sender_config = sender_config(config, context)?;
        let sender = match Sender::start(sender_config.clone()) {
            Ok(sender) => sender,
            Err(SenderError::Spool(SpoolError::InvalidState { path, reason })) => {
                set_damaged_spool_aside(config, &path, &reason)?;
                Sender::start(sender_config).map_err(|error| start_error(config, error))?
            }
            Err(error) => return Err(start_error(config, error)),
        };

        Ok(DeliveryOutput {
            sender,
            line: String::new(),
        })
    }
}

/// Validates `config` and turns it into the relay's settings.
fn sender_config(config: &DeliveryConfig, context: &Context) -> Result<SenderConfig, OutputError> {
    if !is_http_url(&config.url) {
        return Err(error(
            "delivery.url",
            &config.url,
            "expected an http:// or https:// URL such as http://viewer:8338/api/intake",
        ));
    }

    let secret = Secret::from_file(&config.secret_file).map_err(|source| {
        error(
            "delivery.secret_file",
            &config.secret_file.display().to_string(),
            &source.to_string(),
        )
    })?;

    if !(1..=MAX_SPOOL_MIB).contains(&config.spool_max_mib) {
        return Err(error(
            "delivery.spool_max_mib",
            &config.spool_max_mib.to_string(),
            &format!("expected 1 to {MAX_SPOOL_MIB} (MiB)"),
        ));
    }

    let sensor_id = match &config.sensor_id {
        Some(id) => id.clone(),
        None => context.sensor_name.clone(),
    };
    if let Err(source) = validate_sensor_id(&sensor_id) {
        let reason = match config.sensor_id {
            Some(_) => source.to_string(),
            None => format!("{source}; the default is the sensor name, so set a valid sensor_id"),
        };
        return Err(error("delivery.sensor_id", &sensor_id, &reason));
    }

    let batch_max = config.batch_max.unwrap_or(DEFAULT_BATCH_EVENTS);
    if !(1..=MAX_EVENTS_PER_BATCH).contains(&batch_max) {
        return Err(error(
            "delivery.batch_max",
            &batch_max.to_string(),
            &format!("expected 1 to {MAX_EVENTS_PER_BATCH} events"),
        ));
    }

    Ok(SenderConfig {
        spool: SpoolOptions::with_max_bytes(config.spool_max_mib * MIB),
        batch_max_events: batch_max,
        ..SenderConfig::new(&config.url, secret, &sensor_id, config.spool_dir.clone())
    })
}

/// Renames the spool folder of `config` to `<spool_dir>.damaged-<unix time>` and logs at error
/// level how to deliver the events in it. `state_path` and `reason` describe the damage.
fn set_damaged_spool_aside(
    config: &DeliveryConfig,
    state_path: &Path,
    reason: &str,
) -> Result<(), OutputError> {
    let spool_dir: PathBuf = config.spool_dir.components().collect();
    let unix_time = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let mut aside = spool_dir.clone().into_os_string();
    aside.push(format!(".damaged-{unix_time}"));
    let aside = PathBuf::from(aside);

    if let Err(source) = fs::rename(&spool_dir, &aside) {
        return Err(error(
            "delivery.spool_dir",
            &spool_dir.display().to_string(),
            &format!(
                "invalid spool state file {} ({reason}), and moving the folder to {} failed: \
                 {source}; move or delete the spool folder by hand",
                state_path.display(),
                aside.display()
            ),
        ));
    }

    log::error!(
        "delivery: invalid spool state file {} ({reason}); moved the spool folder to {} and \
         started a new spool with a new stream, so its unsent events are not delivered. To \
         deliver them, stop the sensor, delete {STATE_FILE} in {} and move that folder back to \
         {}. They then go out under a new stream, and the viewer may store those it already \
         has a second time.",
        state_path.display(),
        aside.display(),
        aside.display(),
        spool_dir.display()
    );
    Ok(())
}

/// Maps a failure to start the sender to the key that caused it.
fn start_error(config: &DeliveryConfig, source: SenderError) -> OutputError {
    match source {
        SenderError::Spool(source) => error(
            "delivery.spool_dir",
            &config.spool_dir.display().to_string(),
            &source.to_string(),
        ),
        other => error("delivery", "", &other.to_string()),
    }
}

fn error(key: &str, value: &str, reason: &str) -> OutputError {
    OutputError {
        key: key.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

impl Output for DeliveryOutput {
    /// Appends the event's log line to the spool, from which the worker sends it.
    fn send(&mut self, event: &Event) {
        self.line.clear();
        event.write_log_line(&mut self.line);
        self.sender.append(&self.line);
    }

    fn shutdown(&mut self, deadline: Duration) {
        self.sender.shutdown(deadline);
    }

    /// Reports acknowledged events as sent, and events lost to a full or damaged spool, to
    /// failed spool writes or to invalid lines as dropped.
    fn stats(&self) -> OutputStats {
        let stats = self.sender.stats();
        OutputStats {
            name: "delivery",
            sent: stats.acknowledged,
            dropped: stats.dropped(),
            pending: stats.pending,
            // Delivery sends every event; it has no rate limit that skips any.
            skipped: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_apply() {
        let json = r#"{"url":"http://viewer:8338/api/intake","secret_file":"/data/s",
                       "spool_dir":"/data/spool"}"#;

        let config: DeliveryConfig = serde_json::from_str(json).unwrap();

        assert_eq!(config.spool_max_mib, 64);
        assert_eq!(config.sensor_id, None);
        assert_eq!(config.batch_max, None);
    }

    #[test]
    fn config_rejects_unknown_key() {
        let json = r#"{"url":"http://viewer/api/intake","secret_file":"/s","spool_dir":"/d",
                       "spool_max":"1"}"#;

        let error = serde_json::from_str::<DeliveryConfig>(json).unwrap_err();

        assert!(error.to_string().contains("spool_max"), "{error}");
    }
}
