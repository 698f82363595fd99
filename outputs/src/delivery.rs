//! TODO: not written yet.

use std::time::Duration;

use serde::Deserialize;
use trailwatch_event::Event;

use crate::{Context, Output, OutputError, OutputStats};

/// TODO: the configuration table of this output.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {}

/// TODO: this output.
pub struct DeliveryOutput;

impl DeliveryOutput {
    /// TODO: starts the output.
    pub fn start(_config: &DeliveryConfig, _context: &Context) -> Result<DeliveryOutput, OutputError> {
        Ok(DeliveryOutput)
    }
}

impl Output for DeliveryOutput {
    fn send(&mut self, _event: &Event) {}

    fn shutdown(&mut self, _deadline: Duration) {}

    fn stats(&self) -> OutputStats {
        OutputStats::default()
    }
}
