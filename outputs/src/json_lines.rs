//! JSON lines output: each event as one JSON object and a newline, over TCP or UDP.
//!
//! The object is the one of the daily JSON log plus `severity` (see
//! [`crate::json_record`]). Over TCP the lines follow each other on one connection, which
//! receivers read as newline-delimited JSON. Over UDP each line, newline included, is one
//! datagram.

use std::time::Duration;

use serde::Deserialize;
use trailwatch_event::Event;

use crate::json_record::json_line_with_severity;
use crate::queue::Queue;
use crate::transport::{self, Transport};
use crate::{Output, OutputError, OutputStats};

/// The `[outputs.json]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonLinesConfig {
    /// `host:port` of the receiver.
    pub server: String,
    /// `tcp` (the default) or `udp`.
    #[serde(default = "default_transport")]
    pub transport: Transport,
}

fn default_transport() -> Transport {
    Transport::Tcp
}

/// Sends each event as a JSON line.
pub struct JsonLinesOutput {
    queue: Queue,
}

impl JsonLinesOutput {
    /// Resolves the server address and starts the worker.
    pub fn start(config: &JsonLinesConfig) -> Result<JsonLinesOutput, OutputError> {
        let address = transport::resolve("json.server", &config.server)?;
        let sink = transport::open_sink("json", "json.server", address, config.transport)?;
        let queue = Queue::start("json", sink)?;
        log::info!(
            "json: sending JSON lines over {} to {address}",
            config.transport.as_str()
        );

        Ok(JsonLinesOutput { queue })
    }
}

impl Output for JsonLinesOutput {
    fn send(&mut self, event: &Event) {
        self.queue.push(json_line_with_severity(event).into_bytes());
    }

    fn shutdown(&mut self, deadline: Duration) {
        self.queue.shutdown(deadline);
    }

    fn stats(&self) -> OutputStats {
        self.queue.stats()
    }
}
