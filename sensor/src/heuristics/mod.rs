//! Heuristics: suspicious behaviour the sensor notices without a trail.
//!
//! Each detector keeps bounded state and returns [`Finding`]s, which become events with
//! reference [`REFERENCE`] and, where Maltrail has the same heuristic, Maltrail's info text.
//!
//! TODO: the flow detectors (scans, spikes, spoofing, beaconing), the `[heuristics]`
//! configuration table and the calls from the inspector.

pub mod dns;
pub mod http;

use std::borrow::Cow;

use trailwatch_event::TrailType;

/// Reference of every heuristic event, as Maltrail writes it.
pub const REFERENCE: &str = "(heuristic)";

/// One suspicious observation, before it becomes an event about the packet that showed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Type field of the event, for example [`TrailType::Dns`] for a DGA-like name.
    pub trail_type: TrailType,
    /// Trail field: what was seen, for example the domain or the scanned address.
    pub trail: String,
    /// Info field, for example `potential port scanning`.
    pub info: Cow<'static, str>,
}

/// Occupancy of one bounded table, for the statistics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableStats {
    /// Name of the table, for example `dns.nxdomain_by_client`.
    pub name: &'static str,
    /// Entries in use.
    pub len: usize,
    /// Maximum number of entries.
    pub capacity: usize,
    /// Entries removed to make room for new ones.
    pub evictions: u64,
}
