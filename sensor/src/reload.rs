//! SIGHUP: read the configuration file, the trails, the whitelist and the ignore rules again,
//! apply a changed `[heuristics]` table, and restart the outputs, without closing the capture
//! handles.
//!
//! Everything that can fail is loaded and checked before anything changes, so a bad new
//! configuration leaves the running one untouched. Settings that need the handles reopened
//! (interfaces, snaplen, buffer, promiscuous and immediate mode, user) keep their start-up
//! value and are reported as taking effect at restart.

use log::{error, info, warn};
use trailwatch_event::LogWriter;
use trailwatch_outputs::Outputs;

use crate::daemon::Daemon;
use crate::privileges;
use crate::run::{self, RunError, OUTPUTS_SHUTDOWN_DEADLINE};
use crate::settings::Settings;
use crate::trails::{self, StoreWatcher};

impl Daemon {
    /// Applies a new configuration, or keeps the current one and logs why at error level.
    pub(crate) fn reload(&mut self) {
        let origin = match &self.settings.config_path {
            Some(path) => path.display().to_string(),
            None => "the command line".to_string(),
        };
        info!("SIGHUP: reloading the configuration from {origin} and the trails");
        match self.try_reload() {
            Ok(()) => info!("reload complete"),
            Err(ReloadError::Kept(reason)) => {
                error!("reload failed: {reason}; the previous configuration stays in use")
            }
            Err(ReloadError::OutputsStopped { new, previous }) => error!(
                "reload failed: {new}; restarting the previous outputs failed too: {previous}; \
                 capture and the local log go on with the previous configuration, but no output \
                 runs until a reload succeeds"
            ),
        }
    }

    fn try_reload(&mut self) -> Result<(), ReloadError> {
        let mut new = Settings::load(&self.args).map_err(RunError::from)?;
        keep_handle_settings(&self.settings, &mut new);

        let loaded = trails::load(&new.trails)?;
        let ignore = run::load_ignore(&new)?;
        let writer = if new.log_dir != self.settings.log_dir || new.json != self.settings.json {
            if new.log_dir.exists() && !privileges::can_write(&new.log_dir) {
                return Err(RunError::LogNotWritable {
                    dir: new.log_dir.clone(),
                    user: new
                        .user
                        .clone()
                        .unwrap_or_else(|| "(unchanged)".to_string()),
                }
                .into());
            }
            Some(LogWriter::open(&new.log_dir, new.json).map_err(RunError::from)?)
        } else {
            None
        };
        if new.capture.filter != self.settings.capture.filter {
            self.live
                .check_filter(&new.capture.filter)
                .map_err(RunError::from)?;
        }

        // Outputs are restarted last because starting them is the only step with effects
        // outside the process. The old ones stop first, so two instances never share a
        // destination or spool; when the new ones fail, the old configuration starts again.
        self.inspector
            .sink_mut()
            .shutdown_outputs(OUTPUTS_SHUTDOWN_DEADLINE);
        let outputs = match run::start_outputs(&new) {
            Ok(outputs) => outputs,
            Err(reason) => {
                return match run::start_outputs(&self.settings) {
                    Ok(previous) => {
                        self.inspector.sink_mut().replace_outputs(previous);
                        Err(ReloadError::Kept(reason))
                    }
                    Err(again) => {
                        // The stopped outputs would only drop every event, so none stay.
                        self.inspector
                            .sink_mut()
                            .replace_outputs(Outputs::default());
                        Err(ReloadError::OutputsStopped {
                            new: reason,
                            previous: Box::new(again),
                        })
                    }
                };
            }
        };

        self.inspector.sink_mut().replace_outputs(outputs);
        // The filter compiled on every handle above, so setting it is not expected to fail.
        if new.capture.filter != self.settings.capture.filter {
            self.live
                .set_filter(&new.capture.filter)
                .map_err(RunError::from)?;
            info!("BPF filter is now {:?}", new.capture.filter);
        }
        let sink = self.inspector.sink_mut();
        sink.set_ignore(ignore);
        sink.set_sensor_name(&new.sensor_name);
        if let Some(writer) = writer {
            sink.set_writer(writer);
            info!("writing events to {}", new.log_dir.display());
        }
        self.inspector.set_throttle_window(new.throttle);
        if new.heuristics != *self.inspector.heuristics().config() {
            info!("[heuristics] changed; every detector starts again with empty tables");
            self.inspector.set_heuristics(&new.heuristics);
        }

        self.watcher = loaded
            .store
            .clone()
            .map(|path| StoreWatcher::new(path, loaded.whitelist.clone()));
        self.inspector.replace_trails(loaded.set);
        if new.stats_interval != self.settings.stats_interval {
            self.next_stats = new
                .stats_interval
                .map(|every| std::time::Instant::now() + every);
        }
        self.settings = new;
        Ok(())
    }
}

/// Reason a reload did not apply.
enum ReloadError {
    /// The new configuration was rejected, and everything runs as before.
    Kept(RunError),
    /// The new outputs failed to start, and the previous ones failed to start again, so no
    /// output runs. Capture and the local log keep the previous configuration.
    OutputsStopped {
        new: RunError,
        previous: Box<RunError>,
    },
}

impl From<RunError> for ReloadError {
    fn from(error: RunError) -> ReloadError {
        ReloadError::Kept(error)
    }
}

/// Copies the settings that need the capture handles reopened from `running` into `new`,
/// warning about each that the new configuration changes.
fn keep_handle_settings(running: &Settings, new: &mut Settings) {
    let old = &running.capture;
    let changes = [
        (
            "interfaces",
            old.interfaces != new.capture.interfaces,
            format!("{:?}", new.capture.interfaces),
        ),
        (
            "snaplen",
            old.snaplen != new.capture.snaplen,
            new.capture.snaplen.to_string(),
        ),
        (
            "buffer_mib",
            old.buffer_mib != new.capture.buffer_mib,
            new.capture.buffer_mib.to_string(),
        ),
        (
            "promiscuous",
            old.promiscuous != new.capture.promiscuous,
            new.capture.promiscuous.to_string(),
        ),
        (
            "immediate",
            old.immediate != new.capture.immediate,
            new.capture.immediate.to_string(),
        ),
        ("user", running.user != new.user, format!("{:?}", new.user)),
    ];
    for (key, changed, value) in changes {
        if changed {
            warn!("{key} changed to {value}; it takes effect when the sensor restarts");
        }
    }

    let filter = std::mem::take(&mut new.capture.filter);
    new.capture = running.capture.clone();
    new.capture.filter = filter;
    new.source = running.source.clone();
    new.user = running.user.clone();
}
