//! Scanning days of logs for matching events, and sorted pages of them.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use thiserror::Error;

use super::cache::IndexCache;
use super::entry::Entry;
use super::filter::{Filter, Verdict};
use super::index::{DayIndex, IndexError};
use super::reader::{read_lines, Line};
use super::record::EventRecord;

/// Candidates collected before their lines are read in one pass.
const BATCH_LEN: usize = 4096;

/// Reason a query failed.
#[derive(Debug, Error)]
pub enum QueryError {
    #[error(transparent)]
    Index(#[from] IndexError),

    #[error("cannot read log file {path}: {source}")]
    Read { path: PathBuf, source: io::Error },

    #[error("a log file was replaced during the query; run it again")]
    Changed,

    #[error(
        "the query stopped after reading {done} of {days} days for {seconds} s; narrow the \
         dates or add a filter"
    )]
    TimedOut {
        done: usize,
        days: usize,
        seconds: u64,
    },
}

/// One matching event handed to a scan's visitor.
#[derive(Debug)]
pub struct Hit<'a, 'b> {
    pub date: NaiveDate,
    /// Position of the line in its day's index.
    pub index: usize,
    pub entry: Entry,
    /// The line, when the filter or the visitor needed it.
    pub line: Option<&'a Line<'b>>,
}

/// Calls `visit` for each event of `dates` (in the given order, each day in file order) that
/// passes `filter`. `wants_line` returns for an entry whether the visitor needs its line even
/// when the filter does not. The scan stops early when `visit` returns `Break`, and fails
/// with [`QueryError::TimedOut`] when the days take longer than the cache's query time limit.
pub fn scan(
    cache: &IndexCache,
    dates: &[NaiveDate],
    filter: &Filter,
    wants_line: &dyn Fn(&Entry) -> bool,
    visit: &mut dyn FnMut(Hit) -> ControlFlow<()>,
) -> Result<(), QueryError> {
    scan_within(
        cache,
        dates,
        filter,
        wants_line,
        visit,
        Some(cache.query_time_limit()),
    )
}

/// Scans like [`scan`], with `limit` in place of the cache's time limit, `None` for no limit.
pub fn scan_within(
    cache: &IndexCache,
    dates: &[NaiveDate],
    filter: &Filter,
    wants_line: &dyn Fn(&Entry) -> bool,
    visit: &mut dyn FnMut(Hit) -> ControlFlow<()>,
    limit: Option<Duration>,
) -> Result<(), QueryError> {
    let started = Instant::now();
    for (done, &date) in dates.iter().enumerate() {
        if let Some(limit) = limit {
            if done > 0 && started.elapsed() > limit {
                return Err(QueryError::TimedOut {
                    done,
                    days: dates.len(),
                    seconds: limit.as_secs(),
                });
            }
        }
        let index = cache.get(date)?;
        if index.is_empty() {
            continue;
        }
        if scan_index(&index, date, 0..index.len(), filter, wants_line, visit)?.is_break() {
            break;
        }
    }
    Ok(())
}

/// Scans the lines at positions `range` of one day's index, like [`scan`]; returns `Break` if
/// `visit` stopped the scan.
pub fn scan_index(
    index: &DayIndex,
    date: NaiveDate,
    range: std::ops::Range<usize>,
    filter: &Filter,
    wants_line: &dyn Fn(&Entry) -> bool,
    visit: &mut dyn FnMut(Hit) -> ControlFlow<()>,
) -> Result<ControlFlow<()>, QueryError> {
    let read_error = |source| QueryError::Read {
        path: index.path.clone(),
        source,
    };
    let file = File::open(&index.path).map_err(read_error)?;

    // Candidates in file order, kept only while some of them wait for their line, so that
    // visits stay in file order. Lines are read in one pass per batch.
    let mut batch: Vec<(usize, Entry, bool)> = Vec::with_capacity(BATCH_LEN);
    let mut buffer = Vec::new();
    for position in range {
        let entry = index.entry(position);
        let verdict = filter.check_entry(&entry);
        if verdict == Verdict::Reject {
            continue;
        }
        let read = verdict == Verdict::NeedLine || wants_line(&entry);
        if !read && batch.is_empty() {
            let hit = Hit {
                date,
                index: position,
                entry,
                line: None,
            };
            if visit(hit).is_break() {
                return Ok(ControlFlow::Break(()));
            }
            continue;
        }
        batch.push((position, entry, read));

        if batch.len() == BATCH_LEN {
            let flow = flush(&file, index, date, filter, &batch, &mut buffer, visit)
                .map_err(read_error)?;
            batch.clear();
            if flow.is_break() {
                return Ok(flow);
            }
        }
    }
    flush(&file, index, date, filter, &batch, &mut buffer, visit).map_err(read_error)
}

/// Visits the candidates of `batch` in order, reading the lines of those that need them.
fn flush(
    file: &File,
    index: &DayIndex,
    date: NaiveDate,
    filter: &Filter,
    batch: &[(usize, Entry, bool)],
    buffer: &mut Vec<u8>,
    visit: &mut dyn FnMut(Hit) -> ControlFlow<()>,
) -> io::Result<ControlFlow<()>> {
    let wanted: Vec<usize> = batch
        .iter()
        .filter(|(_, _, read)| *read)
        .map(|(position, _, _)| *position)
        .collect();

    // Candidates before `next` have been handled. A candidate whose line did not come back
    // (it no longer parses) is passed over.
    let mut next = 0;
    let mut emit_until = |limit: usize,
                          line: Option<&Line>,
                          visit: &mut dyn FnMut(Hit) -> ControlFlow<()>|
     -> ControlFlow<()> {
        while next < batch.len() && batch[next].0 < limit {
            let (position, entry, read) = batch[next];
            next += 1;
            if !read {
                let hit = Hit {
                    date,
                    index: position,
                    entry,
                    line: None,
                };
                visit(hit)?;
            }
        }
        if let Some(line) = line {
            let (position, entry, _) = batch[next];
            next += 1;
            if filter.check_line(&line.view, line.raw) {
                let hit = Hit {
                    date,
                    index: position,
                    entry,
                    line: Some(line),
                };
                visit(hit)?;
            }
        }
        ControlFlow::Continue(())
    };

    let flow = read_lines(file, index, &wanted, buffer, &mut |line| {
        emit_until(line.index, Some(line), visit)
    })?;
    if flow.is_break() {
        return Ok(flow);
    }
    Ok(emit_until(usize::MAX, None, visit))
}

/// Reads the events at the given (date, position) pairs, in that order.
pub fn fetch(
    cache: &IndexCache,
    positions: &[(NaiveDate, usize)],
) -> Result<Vec<EventRecord>, QueryError> {
    let mut found: Vec<Option<EventRecord>> = vec![None; positions.len()];
    let mut order: Vec<usize> = (0..positions.len()).collect();
    order.sort_by_key(|&slot| positions[slot]);

    let mut buffer = Vec::new();
    let mut start = 0;
    while start < order.len() {
        let date = positions[order[start]].0;
        let end = start
            + order[start..]
                .iter()
                .take_while(|&&slot| positions[slot].0 == date)
                .count();
        let index = cache.get(date)?;
        let read_error = |source| QueryError::Read {
            path: index.path.clone(),
            source,
        };
        let file = File::open(&index.path).map_err(read_error)?;

        let slots = &order[start..end];
        let wanted: Vec<usize> = slots
            .iter()
            .map(|&slot| positions[slot].1)
            .filter(|&position| position < index.len())
            .collect();
        let mut slot_iter = slots.iter().peekable();
        // The visitor never breaks, so the returned flow is always Continue.
        let _flow = read_lines(&file, &index, &wanted, &mut buffer, &mut |line| {
            while let Some(&&slot) = slot_iter.peek() {
                if positions[slot].1 > line.index {
                    break;
                }
                slot_iter.next();
                if positions[slot].1 == line.index {
                    found[slot] = Some(EventRecord::from_view(&line.view));
                }
            }
            ControlFlow::Continue(())
        })
        .map_err(read_error)?;
        start = end;
    }
    Ok(found.into_iter().flatten().collect())
}

/// Field a page of events is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    Time,
    Src,
    Dst,
    /// The destination port.
    Port,
    Proto,
    Type,
    Trail,
    Severity,
}

impl SortField {
    pub const NAMES: [&'static str; 8] = [
        "time", "src", "dst", "port", "proto", "type", "trail", "severity",
    ];

    pub fn from_name(name: &str) -> Option<SortField> {
        let field = match name {
            "time" => SortField::Time,
            "src" => SortField::Src,
            "dst" => SortField::Dst,
            "port" => SortField::Port,
            "proto" => SortField::Proto,
            "type" => SortField::Type,
            "trail" => SortField::Trail,
            "severity" => SortField::Severity,
            _ => return None,
        };
        Some(field)
    }
}

/// A sort order: a field and a direction. Ties are broken by time, then file position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub field: SortField,
    pub descending: bool,
}

/// One page of a sorted query.
#[derive(Debug)]
pub struct Page {
    /// Matching events over the whole range.
    pub total: u64,
    pub events: Vec<EventRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Number(u128),
    Text(String),
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Ranked {
    key: Key,
    day: NaiveDate,
    time_ms: u32,
    index: usize,
}

/// A ranked event in the direction of the sort, so that the heap keeps the best ones.
#[derive(Debug, PartialEq, Eq)]
struct Directed {
    ranked: Ranked,
    descending: bool,
}

impl Ord for Directed {
    fn cmp(&self, other: &Directed) -> Ordering {
        let order = self.ranked.cmp(&other.ranked);
        if self.descending {
            order.reverse()
        } else {
            order
        }
    }
}

impl PartialOrd for Directed {
    fn partial_cmp(&self, other: &Directed) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Returns events `offset..offset + limit` of the matching events in `sort` order, and the
/// total. Memory grows with `offset + limit`, so callers bound both.
pub fn page(
    cache: &IndexCache,
    dates: &[NaiveDate],
    filter: &Filter,
    sort: Sort,
    offset: usize,
    limit: usize,
) -> Result<Page, QueryError> {
    let keep = offset + limit;
    let mut heap: BinaryHeap<Directed> = BinaryHeap::with_capacity(keep.min(1 << 16) + 1);
    let mut total = 0u64;

    let wants_line = |entry: &Entry| match sort.field {
        SortField::Trail => true,
        SortField::Src => !entry.src_is_v4(),
        SortField::Dst => !entry.dst_is_v4(),
        _ => false,
    };
    scan(cache, dates, filter, &wants_line, &mut |hit| {
        total += 1;
        if keep == 0 {
            return ControlFlow::Continue(());
        }
        let candidate = Directed {
            ranked: Ranked {
                key: sort_key(sort.field, &hit),
                day: hit.date,
                time_ms: hit.entry.time_ms,
                index: hit.index,
            },
            descending: sort.descending,
        };
        if heap.len() < keep {
            heap.push(candidate);
        } else if heap.peek().is_some_and(|worst| candidate < *worst) {
            heap.pop();
            heap.push(candidate);
        }
        ControlFlow::Continue(())
    })?;

    let positions: Vec<(NaiveDate, usize)> = heap
        .into_sorted_vec()
        .into_iter()
        .skip(offset)
        .map(|directed| (directed.ranked.day, directed.ranked.index))
        .collect();
    Ok(Page {
        total,
        events: fetch(cache, &positions)?,
    })
}

/// Returns the alphabetical rank of a type code (`DNS` < `HTTP` < `IP` < ...), with unknown
/// types last.
fn type_rank(code: u8) -> u8 {
    const RANKS: [u8; 8] = [0, 2, 3, 7, 1, 6, 4, 5];
    RANKS.get(usize::from(code)).copied().unwrap_or(u8::MAX)
}

fn sort_key(field: SortField, hit: &Hit) -> Key {
    let entry = &hit.entry;
    let address = |key: u32, is_v4: bool, text: Option<&str>| {
        if is_v4 {
            return Key::Number(u128::from(std::net::Ipv4Addr::from(key).to_ipv6_mapped()));
        }
        let parsed = text.and_then(|text| text.parse::<std::net::IpAddr>().ok());
        match parsed {
            Some(std::net::IpAddr::V6(v6)) => Key::Number(u128::from(v6)),
            Some(std::net::IpAddr::V4(v4)) => Key::Number(u128::from(v4.to_ipv6_mapped())),
            None => Key::Number(u128::MAX),
        }
    };
    let line = hit.line.map(|line| &line.view);

    match field {
        SortField::Time => Key::Number(0),
        SortField::Src => address(
            entry.src,
            entry.src_is_v4(),
            line.map(|l| l.src_ip.as_ref()),
        ),
        SortField::Dst => address(
            entry.dst,
            entry.dst_is_v4(),
            line.map(|l| l.dst_ip.as_ref()),
        ),
        SortField::Port => Key::Number(entry.dst_port.into()),
        SortField::Proto => Key::Number(entry.proto.into()),
        SortField::Type => Key::Number(type_rank(entry.type_code()).into()),
        SortField::Severity => Key::Number((entry.severity() as u8).into()),
        SortField::Trail => Key::Text(line.map(|l| l.trail.to_string()).unwrap_or_default()),
    }
}
