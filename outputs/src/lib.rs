//! Copies of sensor events for other systems.
//!
//! The sensor writes every event to its local daily log first. [`Outputs`] then hands the same
//! event to each configured output: Maltrail-compatible UDP datagrams ([`maltrail_udp`]),
//! syslog with a CEF message ([`syslog`]), JSON lines ([`json_lines`]), an HTTP webhook for
//! high-severity events ([`webhook`]) and reliable, authenticated delivery to a trailwatch
//! viewer ([`delivery`]).
//!
//! Contract shared by every output: [`Output::send`] never blocks on the network. An output
//! either queues the event for a worker thread (bounded; a full queue drops the event and counts
//! it) or, for [`delivery`], appends it to a spool on disk before returning.
//!
//! The network outputs other than delivery render each event in `send` and queue the bytes.
//! One worker thread per output writes them in order, so events reach each receiver in the
//! order the sensor wrote them, unless some are dropped.

mod cef;
pub mod delivery;
mod facility;
pub mod json_lines;
mod json_record;
pub mod maltrail_udp;
mod queue;
mod rate_limit;
pub mod syslog;
mod tcp;
mod transport;
mod udp;
pub mod webhook;

pub use transport::Transport;

use std::time::Duration;

use serde::Deserialize;
use trailwatch_event::{Event, Severity};
use trailwatch_relay::{is_http_url, validate_sensor_id, Secret, MAX_EVENTS_PER_BATCH};

/// The `[outputs]` table of the sensor's configuration file. Every output is off unless its
/// key or table is present.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputsConfig {
    /// `host:port` of a Maltrail server (or anything else) that receives one UDP datagram per
    /// event: `<epoch seconds> <log line>`.
    pub log_server: Option<String>,
    /// `[outputs.syslog]`: RFC 5424 syslog with the event as a CEF message.
    pub syslog: Option<syslog::SyslogConfig>,
    /// `[outputs.json]`: one JSON object per event.
    pub json: Option<json_lines::JsonLinesConfig>,
    /// `[outputs.webhook]`: HTTP POST of events at or above a severity, rate-limited.
    pub webhook: Option<webhook::WebhookConfig>,
    /// `[outputs.delivery]`: batches to a trailwatch viewer, spooled while it is unreachable.
    pub delivery: Option<delivery::DeliveryConfig>,
}

/// What every output needs to know about the sensor that runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// The sensor name written into events; the default delivery sensor id.
    pub sensor_name: String,
}

/// A configuration value an output cannot start with.
#[derive(Debug, thiserror::Error)]
#[error("outputs.{key} = {value:?}: {reason}")]
pub struct OutputError {
    /// The key under `[outputs]`, for example `syslog.server`.
    pub key: String,
    /// The value as written in the configuration.
    pub value: String,
    /// What is wrong and how to fix it.
    pub reason: String,
}

/// Counters of one output, for the sensor's periodic statistics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutputStats {
    /// Short name of the output, for example `syslog`.
    pub name: &'static str,
    /// Events handed to the network (or acknowledged, for delivery).
    pub sent: u64,
    /// Events given up on: queue full, spool over its size limit, or a send that failed.
    pub dropped: u64,
    /// Events accepted but not yet sent or dropped: waiting in a queue or spool, or being sent.
    pub pending: u64,
    /// Events the output left out on purpose, such as webhook repeats within the rate-limit
    /// interval. Events below an output's minimum severity are not counted.
    pub skipped: u64,
}

/// One destination of event copies.
pub trait Output: Send {
    /// Takes one event that was written to the local log. Returns without waiting for the
    /// network.
    fn send(&mut self, event: &Event);

    /// Stops the output's worker, trying for at most `deadline` to deliver what is queued.
    /// Events still spooled on disk stay there for the next start. Once this returns, a new
    /// output with the same configuration can start, even while this one still exists.
    fn shutdown(&mut self, deadline: Duration);

    /// Returns the output's counters.
    fn stats(&self) -> OutputStats;
}

/// Every configured output.
#[derive(Default)]
pub struct Outputs {
    outputs: Vec<Box<dyn Output>>,
}

impl Outputs {
    /// Starts every output that `config` names. Fails on the first value an output rejects,
    /// before any worker runs.
    pub fn start(config: &OutputsConfig, context: &Context) -> Result<Outputs, OutputError> {
        let mut outputs: Vec<Box<dyn Output>> = Vec::new();
        if let Some(server) = &config.log_server {
            outputs.push(Box::new(maltrail_udp::MaltrailUdp::start(server)?));
        }
        if let Some(syslog) = &config.syslog {
            outputs.push(Box::new(syslog::SyslogOutput::start(syslog, context)?));
        }
        if let Some(json) = &config.json {
            outputs.push(Box::new(json_lines::JsonLinesOutput::start(json)?));
        }
        if let Some(webhook) = &config.webhook {
            outputs.push(Box::new(webhook::WebhookOutput::start(webhook)?));
        }
        if let Some(delivery) = &config.delivery {
            outputs.push(Box::new(delivery::DeliveryOutput::start(
                delivery, context,
            )?));
        }
        Ok(Outputs { outputs })
    }

    /// Checks every value of `config` that [`Outputs::start`] checks, without opening a socket
    /// or starting a worker. Addresses must resolve and URLs parse. Facility, app name,
    /// severity and number ranges must be valid. The delivery secret file must be readable by
    /// this process and long enough, and an existing spool path must be a folder. Returns one
    /// message per problem, so an empty list means every output can start.
    ///
    /// A `host:port` address with a host name is looked up in DNS, as `start` does. Whether
    /// another user (after a privilege drop) can read the secret or write the spool is left to
    /// the caller, which knows that user.
    ///
    /// NOTE: these checks repeat the ones in each output's `start`, so a rule added there must
    /// be added here too.
    pub fn check(config: &OutputsConfig, context: &Context) -> Vec<String> {
        let mut problems = Vec::new();
        let mut report = |result: Result<(), OutputError>| {
            if let Err(error) = result {
                problems.push(error.to_string());
            }
        };

        if let Some(server) = &config.log_server {
            report(transport::resolve("log_server", server).map(drop));
        }
        if let Some(syslog) = &config.syslog {
            report(check_syslog_facility(syslog));
            report(check_syslog_app_name(syslog));
            report(transport::resolve("syslog.server", &syslog.server).map(drop));
        }
        if let Some(json) = &config.json {
            report(transport::resolve("json.server", &json.server).map(drop));
        }
        if let Some(webhook) = &config.webhook {
            report(check_webhook_url(webhook));
            report(check_webhook_severity(webhook));
            for (key, value) in [
                ("webhook.interval_seconds", webhook.interval_seconds),
                ("webhook.timeout_seconds", webhook.timeout_seconds),
            ] {
                if value == Some(0) {
                    report(Err(config_error(key, "0", "must be at least 1 second")));
                }
            }
        }
        if let Some(delivery) = &config.delivery {
            for result in check_delivery(delivery, context) {
                report(result);
            }
        }
        problems
    }

    /// Returns true when no output is configured.
    pub fn is_empty(&self) -> bool {
        self.outputs.is_empty()
    }

    /// Hands `event` to every output.
    pub fn send(&mut self, event: &Event) {
        for output in &mut self.outputs {
            output.send(event);
        }
    }

    /// Shuts every output down, sharing `deadline` between them.
    pub fn shutdown(&mut self, deadline: Duration) {
        let started = std::time::Instant::now();
        for output in &mut self.outputs {
            output.shutdown(deadline.saturating_sub(started.elapsed()));
        }
    }

    /// Returns the counters of every output, in configuration order.
    pub fn stats(&self) -> Vec<OutputStats> {
        self.outputs.iter().map(|output| output.stats()).collect()
    }
}

/// Maximum length of the syslog APP-NAME field (RFC 5424, section 6).
const MAX_APP_NAME_LEN: usize = 48;

/// Maximum of `delivery.spool_max_mib`, as [`delivery`] enforces it.
const MAX_SPOOL_MIB: u64 = 64 * 1024;

fn config_error(key: &str, value: &str, reason: &str) -> OutputError {
    OutputError {
        key: key.to_owned(),
        value: value.to_owned(),
        reason: reason.to_owned(),
    }
}

fn check_syslog_facility(config: &syslog::SyslogConfig) -> Result<(), OutputError> {
    let Some(name) = &config.facility else {
        return Ok(());
    };
    match name.parse::<facility::Facility>() {
        Ok(_) => Ok(()),
        Err(()) => Err(config_error(
            "syslog.facility",
            name,
            &format!(
                "unknown facility; use one of {}",
                facility::Facility::names()
            ),
        )),
    }
}

fn check_syslog_app_name(config: &syslog::SyslogConfig) -> Result<(), OutputError> {
    let Some(name) = &config.app_name else {
        return Ok(());
    };
    let printable = name.bytes().all(|byte| (33..=126).contains(&byte));
    if name.is_empty() || name.len() > MAX_APP_NAME_LEN || !printable {
        return Err(config_error(
            "syslog.app_name",
            name,
            &format!("must be 1 to {MAX_APP_NAME_LEN} printable ASCII characters without spaces"),
        ));
    }
    Ok(())
}

fn check_webhook_url(config: &webhook::WebhookConfig) -> Result<(), OutputError> {
    // The webhook accepts the scheme in any case; the relay's check wants it in lower case.
    let url = &config.url;
    let lower_scheme = match url.split_once("://") {
        Some((scheme, rest)) => format!("{}://{rest}", scheme.to_ascii_lowercase()),
        None => url.clone(),
    };
    if is_http_url(&lower_scheme) {
        return Ok(());
    }
    Err(config_error(
        "webhook.url",
        url,
        "invalid URL; write http://host[:port]/path or https://host[:port]/path",
    ))
}

fn check_webhook_severity(config: &webhook::WebhookConfig) -> Result<(), OutputError> {
    let Some(value) = &config.min_severity else {
        return Ok(());
    };
    match value.parse::<Severity>() {
        Ok(_) => Ok(()),
        Err(_) => Err(config_error(
            "webhook.min_severity",
            value,
            "unknown severity; use low, medium or high",
        )),
    }
}

fn check_delivery(
    config: &delivery::DeliveryConfig,
    context: &Context,
) -> Vec<Result<(), OutputError>> {
    let mut results = Vec::new();
    if !is_http_url(&config.url) {
        results.push(Err(config_error(
            "delivery.url",
            &config.url,
            "expected an http:// or https:// URL such as http://viewer:8338/api/intake",
        )));
    }

    let secret_file = config.secret_file.display().to_string();
    if let Err(source) = Secret::from_file(&config.secret_file) {
        results.push(Err(config_error(
            "delivery.secret_file",
            &secret_file,
            &source.to_string(),
        )));
    }

    if config.spool_dir.exists() && !config.spool_dir.is_dir() {
        results.push(Err(config_error(
            "delivery.spool_dir",
            &config.spool_dir.display().to_string(),
            "exists but is not a folder; name a folder or a path that does not exist yet",
        )));
    }

    if !(1..=MAX_SPOOL_MIB).contains(&config.spool_max_mib) {
        results.push(Err(config_error(
            "delivery.spool_max_mib",
            &config.spool_max_mib.to_string(),
            &format!("expected 1 to {MAX_SPOOL_MIB} (MiB)"),
        )));
    }

    let sensor_id = config.sensor_id.as_ref().unwrap_or(&context.sensor_name);
    if let Err(source) = validate_sensor_id(sensor_id) {
        let reason = match config.sensor_id {
            Some(_) => source.to_string(),
            None => format!("{source}; the default is the sensor name, so set a valid sensor_id"),
        };
        results.push(Err(config_error("delivery.sensor_id", sensor_id, &reason)));
    }

    if let Some(batch_max) = config.batch_max {
        if !(1..=MAX_EVENTS_PER_BATCH).contains(&batch_max) {
            results.push(Err(config_error(
                "delivery.batch_max",
                &batch_max.to_string(),
                &format!("expected 1 to {MAX_EVENTS_PER_BATCH} events"),
            )));
        }
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> Context {
        Context {
            sensor_name: "sensor-1".to_owned(),
        }
    }

    #[test]
    fn check_accepts_valid_outputs() {
        let work = tempfile::tempdir().unwrap();
        let secret = work.path().join("secret");
        std::fs::write(&secret, "0123456789abcdef0123\n").unwrap();
        let text = format!(
            "log_server = \"127.0.0.1:8337\"\n\
             [syslog]\nserver = \"127.0.0.1:514\"\nfacility = \"local0\"\n\
             [webhook]\nurl = \"HTTPS://hooks.example/x\"\nmin_severity = \"medium\"\n\
             [delivery]\nurl = \"http://127.0.0.1:8338/api/intake\"\nsecret_file = {:?}\n\
             spool_dir = {:?}\n",
            secret,
            work.path().join("spool"),
        );
        let config: OutputsConfig = toml::from_str(&text).unwrap();

        assert_eq!(Outputs::check(&config, &context()), Vec::<String>::new());
    }

    #[test]
    fn check_reports_every_problem() {
        let work = tempfile::tempdir().unwrap();
        let not_a_folder = work.path().join("file");
        std::fs::write(&not_a_folder, "").unwrap();
        // No value has a port, so none of them makes a DNS lookup.
        let text = format!(
            "log_server = \"nowhere\"\n\
             [syslog]\nserver = \"127.0.0.1:0\"\nfacility = \"local9\"\napp_name = \"a b\"\n\
             [json]\nserver = \"127.0.0.1\"\n\
             [webhook]\nurl = \"ftp://hooks.example/x\"\nmin_severity = \"urgent\"\n\
             interval_seconds = 0\n\
             [delivery]\nurl = \"viewer:8338\"\nsecret_file = {:?}\nspool_dir = {:?}\n\
             spool_max_mib = 0\nbatch_max = 5000\nsensor_id = \"bad id\"\n",
            work.path().join("missing-secret"),
            not_a_folder,
        );
        let config: OutputsConfig = toml::from_str(&text).unwrap();

        let problems = Outputs::check(&config, &context());

        let keys = [
            "outputs.log_server",
            "outputs.syslog.server",
            "outputs.syslog.facility",
            "outputs.syslog.app_name",
            "outputs.json.server",
            "outputs.webhook.url",
            "outputs.webhook.min_severity",
            "outputs.webhook.interval_seconds",
            "outputs.delivery.url",
            "outputs.delivery.secret_file",
            "outputs.delivery.spool_dir",
            "outputs.delivery.spool_max_mib",
            "outputs.delivery.sensor_id",
            "outputs.delivery.batch_max",
        ];
        for key in keys {
            let prefix = format!("{key} = ");
            assert!(
                problems.iter().any(|problem| problem.starts_with(&prefix)),
                "no problem for {key}: {problems:#?}"
            );
        }
        assert_eq!(problems.len(), keys.len(), "{problems:#?}");
    }

    #[test]
    fn check_rejects_short_secret() {
        let work = tempfile::tempdir().unwrap();
        let secret = work.path().join("secret");
        std::fs::write(&secret, "short\n").unwrap();
        let text = format!(
            "[delivery]\nurl = \"http://127.0.0.1:8338/api/intake\"\nsecret_file = {:?}\n\
             spool_dir = {:?}\n",
            secret,
            work.path().join("spool"),
        );
        let config: OutputsConfig = toml::from_str(&text).unwrap();

        let problems = Outputs::check(&config, &context());

        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(
            problems[0].contains("expected at least 16"),
            "{problems:#?}"
        );
    }
}
