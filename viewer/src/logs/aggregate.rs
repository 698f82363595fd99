//! Summaries over matching events: threats, timeline, pivots, daily counts and offenders.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::Ipv4Addr;
use std::ops::ControlFlow;

use chrono::NaiveDate;
use serde::Serialize;

use super::cache::IndexCache;
use super::filter::Filter;
use super::query::{fetch, scan, QueryError};
use super::severity::Severity;

/// Threats returned at most, the most frequent first.
pub const MAX_THREATS: usize = 500;

/// Distinct (source, trail, type) groups counted at most. A day with more groups than this
/// (a scan from many spoofed sources) is summarized by its first groups, and the answer says
/// `truncated`.
pub const MAX_THREAT_GROUPS: usize = 200_000;

/// Buckets of a threat's sparkline, spread evenly over the queried dates.
pub const SPARKLINE_LEN: usize = 24;

/// Peers and events a pivot returns at most.
pub const MAX_PIVOT_PEERS: usize = 100;
pub const MAX_PIVOT_EVENTS: usize = 100;

const DAY_MS: u64 = 86_400_000;

/// Events from one source that hit one trail.
#[derive(Debug, Clone, Serialize)]
pub struct Threat {
    pub src_ip: String,
    pub trail: String,
    #[serde(rename = "type")]
    pub trail_type: String,
    /// Info of the first event.
    pub info: String,
    /// Highest severity among the events.
    pub severity: Severity,
    pub count: u64,
    /// Times of the first and last event, as written in the log.
    pub first: String,
    pub last: String,
    pub sparkline: [u64; SPARKLINE_LEN],
}

#[derive(Debug, Serialize)]
pub struct Threats {
    pub threats: Vec<Threat>,
    /// Whether some groups were not counted because of [`MAX_THREAT_GROUPS`].
    pub truncated: bool,
}

/// Groups matching events by source, trail and type.
pub fn threats(
    cache: &IndexCache,
    dates: &[NaiveDate],
    filter: &Filter,
) -> Result<Threats, QueryError> {
    let mut groups: HashMap<(String, String, String), Threat> = HashMap::new();
    let mut truncated = false;
    let span_ms = dates.len() as u64 * DAY_MS;

    scan(cache, dates, filter, &|_| true, &mut |hit| {
        let Some(line) = hit.line else {
            return ControlFlow::Continue(());
        };
        let line = &line.parsed;
        let key = (
            line.src_ip.clone(),
            line.trail.clone(),
            line.trail_type.clone(),
        );
        if !groups.contains_key(&key) && groups.len() >= MAX_THREAT_GROUPS {
            truncated = true;
            return ControlFlow::Continue(());
        }

        let day = dates.iter().position(|date| *date == hit.date).unwrap_or(0) as u64;
        let at_ms = day * DAY_MS + u64::from(hit.entry.time_ms.min(DAY_MS as u32 - 1));
        let bucket = (at_ms * SPARKLINE_LEN as u64 / span_ms) as usize;
        let severity = hit.entry.severity();

        let threat = groups.entry(key).or_insert_with(|| Threat {
            src_ip: line.src_ip.clone(),
            trail: line.trail.clone(),
            trail_type: line.trail_type.clone(),
            info: line.info_and_repeats().0.to_string(),
            severity,
            count: 0,
            first: line.time.clone(),
            last: line.time.clone(),
            sparkline: [0; SPARKLINE_LEN],
        });
        threat.count += 1;
        threat.severity = threat.severity.max(severity);
        if line.time < threat.first {
            threat.first.clone_from(&line.time);
        }
        if line.time > threat.last {
            threat.last.clone_from(&line.time);
        }
        threat.sparkline[bucket.min(SPARKLINE_LEN - 1)] += 1;
        ControlFlow::Continue(())
    })?;

    let mut threats: Vec<Threat> = groups.into_values().collect();
    threats.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.src_ip.cmp(&b.src_ip))
            .then_with(|| a.trail.cmp(&b.trail))
    });
    threats.truncate(MAX_THREATS);
    Ok(Threats { threats, truncated })
}

#[derive(Debug, Serialize)]
pub struct Bucket {
    /// `YYYY-MM-DD HH:00:00` for hours, `YYYY-MM-DD` for days.
    pub start: String,
    pub count: u64,
}

#[derive(Debug, Serialize)]
pub struct Timeline {
    /// `hour` for a single day, `day` for a range.
    pub unit: &'static str,
    pub buckets: Vec<Bucket>,
}

/// Counts matching events per hour of a single day, or per day of a range.
pub fn timeline(
    cache: &IndexCache,
    dates: &[NaiveDate],
    filter: &Filter,
) -> Result<Timeline, QueryError> {
    if let [date] = dates {
        let mut counts = [0u64; 24];
        scan(cache, dates, filter, &|_| false, &mut |hit| {
            let hour = (hit.entry.time_ms / 3_600_000).min(23) as usize;
            counts[hour] += 1;
            ControlFlow::Continue(())
        })?;
        let buckets = (0..24)
            .map(|hour| Bucket {
                start: format!("{} {hour:02}:00:00", date.format("%Y-%m-%d")),
                count: counts[hour],
            })
            .collect();
        return Ok(Timeline {
            unit: "hour",
            buckets,
        });
    }

    let counts = daily_counts(cache, dates, filter)?;
    let buckets = dates
        .iter()
        .map(|date| Bucket {
            start: date.format("%Y-%m-%d").to_string(),
            count: counts.get(date).copied().unwrap_or(0),
        })
        .collect();
    Ok(Timeline {
        unit: "day",
        buckets,
    })
}

/// Counts matching events per day; days without a match are left out.
pub fn daily_counts(
    cache: &IndexCache,
    dates: &[NaiveDate],
    filter: &Filter,
) -> Result<BTreeMap<NaiveDate, u64>, QueryError> {
    let mut counts = BTreeMap::new();
    scan(cache, dates, filter, &|_| false, &mut |hit| {
        *counts.entry(hit.date).or_insert(0) += 1;
        ControlFlow::Continue(())
    })?;
    Ok(counts)
}

/// What a pivot centres on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PivotKind {
    Src,
    Dst,
    Trail,
}

impl PivotKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PivotKind::Src => "src",
            PivotKind::Dst => "dst",
            PivotKind::Trail => "trail",
        }
    }
}

#[derive(Debug, Serialize)]
pub struct DayCount {
    pub date: String,
    pub count: u64,
}

#[derive(Debug, Serialize)]
pub struct Peer {
    pub value: String,
    pub count: u64,
}

#[derive(Debug, Serialize)]
pub struct Pivot {
    pub kind: &'static str,
    pub value: String,
    pub total: u64,
    /// Times of the first and last event; `null` without events.
    pub first: Option<String>,
    pub last: Option<String>,
    pub days: Vec<DayCount>,
    /// Destinations of a source, or sources of a destination or a trail, most frequent first.
    pub peers: Vec<Peer>,
    /// The first events in time order.
    pub events: Vec<super::record::EventRecord>,
}

/// Summarizes the events of one source, destination or trail. The caller sets the matching
/// condition in `filter` (`src`, `dst` or `trail_exact`).
pub fn pivot(
    cache: &IndexCache,
    dates: &[NaiveDate],
    filter: &Filter,
    kind: PivotKind,
    value: &str,
) -> Result<Pivot, QueryError> {
    let mut total = 0;
    let mut first: Option<String> = None;
    let mut last: Option<String> = None;
    let mut days: BTreeMap<NaiveDate, u64> = BTreeMap::new();
    let mut peers: HashMap<String, u64> = HashMap::new();
    let mut earliest: Vec<(NaiveDate, u32, usize)> = Vec::new();

    scan(cache, dates, filter, &|_| true, &mut |hit| {
        let Some(line) = hit.line else {
            return ControlFlow::Continue(());
        };
        let line = &line.parsed;
        total += 1;
        *days.entry(hit.date).or_insert(0) += 1;
        if first.as_ref().is_none_or(|time| line.time < *time) {
            first = Some(line.time.clone());
        }
        if last.as_ref().is_none_or(|time| line.time > *time) {
            last = Some(line.time.clone());
        }

        let peer = match kind {
            PivotKind::Src => &line.dst_ip,
            PivotKind::Dst | PivotKind::Trail => &line.src_ip,
        };
        // Peers are bounded like threat groups, because a trail can have sources without end.
        if peers.len() < MAX_THREAT_GROUPS || peers.contains_key(peer) {
            *peers.entry(peer.clone()).or_insert(0) += 1;
        }

        earliest.push((hit.date, hit.entry.time_ms, hit.index));
        if earliest.len() >= 4 * MAX_PIVOT_EVENTS {
            earliest.sort_unstable();
            earliest.truncate(MAX_PIVOT_EVENTS);
        }
        ControlFlow::Continue(())
    })?;

    earliest.sort_unstable();
    earliest.truncate(MAX_PIVOT_EVENTS);
    let positions: Vec<(NaiveDate, usize)> = earliest
        .iter()
        .map(|(date, _, index)| (*date, *index))
        .collect();

    let mut peers: Vec<Peer> = peers
        .into_iter()
        .map(|(value, count)| Peer { value, count })
        .collect();
    peers.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    peers.truncate(MAX_PIVOT_PEERS);

    Ok(Pivot {
        kind: kind.as_str(),
        value: value.to_string(),
        total,
        first,
        last,
        days: days
            .into_iter()
            .map(|(date, count)| DayCount {
                date: date.format("%Y-%m-%d").to_string(),
                count,
            })
            .collect(),
        peers,
        events: fetch(cache, &positions)?,
    })
}

/// Returns the distinct source addresses of matching events, in order of first appearance.
pub fn offenders(
    cache: &IndexCache,
    dates: &[NaiveDate],
    filter: &Filter,
) -> Result<Vec<String>, QueryError> {
    let mut seen_v4: HashSet<u32> = HashSet::new();
    let mut seen_other: HashSet<String> = HashSet::new();
    let mut sources = Vec::new();

    scan(
        cache,
        dates,
        filter,
        &|entry| !entry.src_is_v4(),
        &mut |hit| {
            if hit.entry.src_is_v4() {
                if seen_v4.insert(hit.entry.src) {
                    sources.push(Ipv4Addr::from(hit.entry.src).to_string());
                }
            } else if let Some(line) = hit.line {
                if seen_other.insert(line.parsed.src_ip.clone()) {
                    sources.push(line.parsed.src_ip.clone());
                }
            }
            ControlFlow::Continue(())
        },
    )?;
    Ok(sources)
}
