//! Summaries over matching events: threats, timeline, pivots, daily counts and offenders.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::net::Ipv4Addr;
use std::ops::ControlFlow;

use chrono::NaiveDate;
use serde::Serialize;

use super::cache::IndexCache;
use super::fields::LineView;
use super::filter::Filter;
use super::query::{fetch, scan, QueryError};
use super::severity::Severity;

/// Threats returned at most, the most frequent first.
pub const MAX_THREATS: usize = 500;

/// Distinct (source, trail, type) groups counted at most. A group takes about 130 bytes in a map, so
/// the bound keeps a threats query under about 10 MB. A range with more groups (a scan from
/// many spoofed sources) is summarized by its first groups, and the response sets `truncated`.
pub const MAX_THREAT_GROUPS: usize = 50_000;

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
    pub sparkline: [u32; SPARKLINE_LEN],
}

/// A threat while counting. It keeps where its first and last events are instead of their
/// text, so that a group takes about 130 bytes and no allocation.
#[derive(Debug)]
struct Group {
    severity: Severity,
    count: u64,
    /// (day position in the range, time of day in ms, byte offset of the line) of the first
    /// event.
    first: (u32, u32, u64),
    last: (u32, u32, u64),
    sparkline: [u32; SPARKLINE_LEN],
}

#[derive(Debug, Serialize)]
pub struct Threats {
    pub threats: Vec<Threat>,
    /// Whether some groups were not counted because of [`MAX_THREAT_GROUPS`].
    pub truncated: bool,
}

/// Returns a 128-bit key of the source, trail and type text. Two independent 64-bit hashes
/// make a collision between two groups of one query practically impossible (about 2^-100 for
/// the maximum number of groups).
fn group_key(line: &LineView) -> u128 {
    let mut sip = std::hash::DefaultHasher::new();
    let mut fnv: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [&line.src_ip, &line.trail, &line.trail_type] {
        sip.write(part.as_bytes());
        sip.write_u8(0xff);
        for byte in part.bytes().chain([0xff]) {
            fnv = (fnv ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    (u128::from(sip.finish()) << 64) | u128::from(fnv)
}

/// Hasher of [`group_key`]s, which are hashes already. It keeps their SipHash half instead of
/// hashing them again.
#[derive(Debug, Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u128` runs for u128 keys, so this only keeps other input well mixed.
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u128(&mut self, key: u128) {
        self.0 = (key >> 64) as u64;
    }
}

/// Groups matching events by source, trail and type.
pub fn threats(
    cache: &IndexCache,
    dates: &[NaiveDate],
    filter: &Filter,
) -> Result<Threats, QueryError> {
    let mut groups: HashMap<u128, Group, BuildHasherDefault<KeyHasher>> = HashMap::default();
    let mut truncated = false;
    let span_ms = dates.len() as u64 * DAY_MS;

    scan(cache, dates, filter, &|_| true, &mut |hit| {
        let Some(line) = hit.line else {
            return ControlFlow::Continue(());
        };
        let key = group_key(&line.view);
        let day = (hit.date - dates[0]).num_days().max(0) as u32;
        let at = (day, hit.entry.time_ms, hit.entry.offset());
        let severity = hit.entry.severity();

        if groups.len() >= MAX_THREAT_GROUPS && !groups.contains_key(&key) {
            truncated = true;
            return ControlFlow::Continue(());
        }
        let group = groups.entry(key).or_insert(Group {
            severity,
            count: 0,
            first: at,
            last: at,
            sparkline: [0; SPARKLINE_LEN],
        });
        group.count += 1;
        group.severity = group.severity.max(severity);
        group.first = group.first.min(at);
        group.last = group.last.max(at);

        let at_ms = u64::from(day) * DAY_MS + u64::from(hit.entry.time_ms.min(DAY_MS as u32 - 1));
        let bucket = ((at_ms * SPARKLINE_LEN as u64 / span_ms) as usize).min(SPARKLINE_LEN - 1);
        group.sparkline[bucket] = group.sparkline[bucket].saturating_add(1);
        ControlFlow::Continue(())
    })?;

    let mut ranked: Vec<Group> = groups.into_values().collect();
    ranked.sort_unstable_by(|a, b| b.count.cmp(&a.count).then_with(|| a.first.cmp(&b.first)));
    ranked.truncate(MAX_THREATS);

    // Read back the first and last event of each group for its text.
    let position = |(day, _, offset): (u32, u32, u64)| (dates[day as usize], offset);
    let mut wanted = Vec::with_capacity(ranked.len() * 2);
    for group in &ranked {
        wanted.push(position(group.first));
        wanted.push(position(group.last));
    }
    let records = fetch(cache, &wanted)?;
    if records.len() != wanted.len() {
        // A file changed under the query; its positions no longer match.
        return Err(QueryError::Changed);
    }

    let threats = ranked
        .into_iter()
        .zip(records.chunks_exact(2))
        .map(|(group, pair)| Threat {
            src_ip: pair[0].src_ip.clone(),
            trail: pair[0].trail.clone(),
            trail_type: pair[0].trail_type.clone(),
            info: pair[0].info.clone(),
            severity: group.severity,
            count: group.count,
            first: pair[0].time.clone(),
            last: pair[1].time.clone(),
            sparkline: group.sparkline,
        })
        .collect();
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

/// The field a pivot is centred on.
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
    let mut earliest: Vec<(NaiveDate, u32, u64)> = Vec::new();

    scan(cache, dates, filter, &|_| true, &mut |hit| {
        let Some(line) = hit.line else {
            return ControlFlow::Continue(());
        };
        let line = &line.view;
        total += 1;
        *days.entry(hit.date).or_insert(0) += 1;
        if first.as_deref().is_none_or(|time| *line.time < *time) {
            first = Some(line.time.to_string());
        }
        if last.as_deref().is_none_or(|time| *line.time > *time) {
            last = Some(line.time.to_string());
        }

        let peer = match kind {
            PivotKind::Src => &line.dst_ip,
            PivotKind::Dst | PivotKind::Trail => &line.src_ip,
        };
        // Peers are bounded like threat groups, because a trail can have sources without end.
        if let Some(count) = peers.get_mut(peer.as_ref()) {
            *count += 1;
        } else if peers.len() < MAX_THREAT_GROUPS {
            peers.insert(peer.to_string(), 1);
        }

        earliest.push((hit.date, hit.entry.time_ms, hit.entry.offset()));
        if earliest.len() >= 4 * MAX_PIVOT_EVENTS {
            earliest.sort_unstable();
            earliest.truncate(MAX_PIVOT_EVENTS);
        }
        ControlFlow::Continue(())
    })?;

    earliest.sort_unstable();
    earliest.truncate(MAX_PIVOT_EVENTS);
    let positions: Vec<(NaiveDate, u64)> = earliest
        .iter()
        .map(|(date, _, offset)| (*date, *offset))
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
                if seen_other.insert(line.view.src_ip.to_string()) {
                    sources.push(line.view.src_ip.to_string());
                }
            }
            ControlFlow::Continue(())
        },
    )?;
    Ok(sources)
}
