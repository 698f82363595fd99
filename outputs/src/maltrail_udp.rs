//! TODO: not written yet.

use std::time::Duration;

use trailwatch_event::Event;

use crate::{Output, OutputError, OutputStats};

/// TODO: Maltrail-compatible UDP datagrams.
pub struct MaltrailUdp;

impl MaltrailUdp {
    /// TODO: starts the output.
    pub fn start(_server: &str) -> Result<MaltrailUdp, OutputError> {
        Ok(MaltrailUdp)
    }
}

impl Output for MaltrailUdp {
    fn send(&mut self, _event: &Event) {}

    fn shutdown(&mut self, _deadline: Duration) {}

    fn stats(&self) -> OutputStats {
        OutputStats::default()
    }
}
