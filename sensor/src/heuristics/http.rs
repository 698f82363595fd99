//! TODO: HTTP heuristics (injection attempts, scanner fingerprints, executable downloads,
//! suspicious user agents and content types, web directory scans).

use std::net::IpAddr;

use serde::Deserialize;
use trailwatch_wire::http;

use super::{Finding, TableStats};

/// The `[heuristics.http]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {}

/// State of the HTTP heuristics.
#[derive(Debug, Default)]
pub struct HttpHeuristics {}

impl HttpHeuristics {
    /// Creates the detectors with the thresholds of `config`.
    pub fn new(_config: &HttpConfig) -> HttpHeuristics {
        HttpHeuristics {}
    }

    /// Looks at one request from `client` to `server` at `now_secs`. `host` is the lower-case
    /// host it names, if any. `whitelisted` is true when the client or the host is whitelisted.
    #[allow(clippy::too_many_arguments)]
    pub fn on_request(
        &mut self,
        _now_secs: i64,
        _client: IpAddr,
        _server: IpAddr,
        _host: Option<&str>,
        _request: &http::Request<'_>,
        _whitelisted: bool,
        _out: &mut Vec<Finding>,
    ) {
    }

    /// Returns the occupancy of every table.
    pub fn tables(&self) -> Vec<TableStats> {
        Vec::new()
    }
}
