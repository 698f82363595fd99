//! TODO: DNS heuristics (NXDOMAIN floods, DGA-like names, long names, exhaustion, tunnelling,
//! sinkholed answers).

use std::net::IpAddr;

use serde::Deserialize;

use super::{Finding, TableStats};

/// The `[heuristics.dns]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DnsConfig {}

/// State of the DNS heuristics.
#[derive(Debug, Default)]
pub struct DnsHeuristics {}

impl DnsHeuristics {
    /// Creates the detectors with the thresholds of `config`.
    pub fn new(_config: &DnsConfig) -> DnsHeuristics {
        DnsHeuristics {}
    }

    /// Looks at one query for `name` (lower case) of type `qtype` from `client` at `now_secs`.
    /// `whitelisted` is true when the name or one of its parents is on the whitelist.
    pub fn on_query(
        &mut self,
        _now_secs: i64,
        _client: IpAddr,
        _name: &str,
        _qtype: u16,
        _whitelisted: bool,
        _out: &mut Vec<Finding>,
    ) {
    }

    /// Looks at one response to `client` for `name` with response code `rcode` and the IPv4
    /// and IPv6 addresses of its answer section.
    #[allow(clippy::too_many_arguments)]
    pub fn on_response(
        &mut self,
        _now_secs: i64,
        _client: IpAddr,
        _name: &str,
        _rcode: u8,
        _answers: &[IpAddr],
        _whitelisted: bool,
        _out: &mut Vec<Finding>,
    ) {
    }

    /// Returns the occupancy of every table.
    pub fn tables(&self) -> Vec<TableStats> {
        Vec::new()
    }
}
