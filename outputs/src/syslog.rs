//! TODO: not written yet.

use std::time::Duration;

use serde::Deserialize;
use trailwatch_event::Event;

use crate::{Context, Output, OutputError, OutputStats};

/// TODO: the configuration table of this output.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogConfig {}

/// TODO: this output.
pub struct SyslogOutput;

impl SyslogOutput {
    /// TODO: starts the output.
    pub fn start(_config: &SyslogConfig, _context: &Context) -> Result<SyslogOutput, OutputError> {
        Ok(SyslogOutput)
    }
}

impl Output for SyslogOutput {
    fn send(&mut self, _event: &Event) {}

    fn shutdown(&mut self, _deadline: Duration) {}

    fn stats(&self) -> OutputStats {
        OutputStats::default()
    }
}
