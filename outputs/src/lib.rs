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
use trailwatch_event::Event;

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
    /// Events still spooled on disk stay there for the next start.
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
