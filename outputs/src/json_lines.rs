//! TODO: not written yet.

use std::time::Duration;

use serde::Deserialize;
use trailwatch_event::Event;

use crate::{Output, OutputError, OutputStats};

/// TODO: the configuration table of this output.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonLinesConfig {}

/// TODO: this output.
pub struct JsonLinesOutput;

impl JsonLinesOutput {
    /// TODO: starts the output.
    pub fn start(_config: &JsonLinesConfig) -> Result<JsonLinesOutput, OutputError> {
        Ok(JsonLinesOutput)
    }
}

impl Output for JsonLinesOutput {
    fn send(&mut self, _event: &Event) {}

    fn shutdown(&mut self, _deadline: Duration) {}

    fn stats(&self) -> OutputStats {
        OutputStats::default()
    }
}
