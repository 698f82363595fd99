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
use super::needle::TextNeedles;
use super::reader::{read_lines, read_lines_at, Line, ReadBuffers};
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
    let mut buffers = ReadBuffers::default();
    let needles = filter.needles();
    let lines = BatchLines {
        file: &file,
        index,
        date,
        filter,
        needles: &needles,
    };
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
            let flow = lines
                .flush(&batch, &mut buffers, visit)
                .map_err(read_error)?;
            batch.clear();
            if flow.is_break() {
                return Ok(flow);
            }
        }
    }
    lines.flush(&batch, &mut buffers, visit).map_err(read_error)
}

/// The file, index and filter of one day's scan, for reading and checking its candidates' lines.
struct BatchLines<'a> {
    file: &'a File,
    index: &'a DayIndex,
    date: NaiveDate,
    filter: &'a Filter,
    needles: &'a TextNeedles,
}

impl BatchLines<'_> {
    /// Visits the candidates of `batch` in order, reading the lines of those that need them.
    fn flush(
        &self,
        batch: &[(usize, Entry, bool)],
        buffers: &mut ReadBuffers,
        visit: &mut dyn FnMut(Hit) -> ControlFlow<()>,
    ) -> io::Result<ControlFlow<()>> {
        let BatchLines {
            file,
            index,
            date,
            filter,
            needles,
        } = *self;
        let positions_to_read: Vec<usize> = batch
            .iter()
            .filter(|(_, _, read)| *read)
            .map(|(position, _, _)| *position)
            .collect();

        // Candidates before `next` have been handled. A candidate whose line did not come back
        // (it no longer parses, or lacks the needle) is passed over.
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
                if filter.check_line_with(needles, &line.view, line.raw) {
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

        let needle = needles.raw_line_needle();
        let flow = read_lines(
            file,
            index,
            &positions_to_read,
            needle,
            buffers,
            &mut |line| emit_until(line.index, Some(line), visit),
        )?;
        if flow.is_break() {
            return Ok(flow);
        }
        Ok(emit_until(usize::MAX, None, visit))
    }
}

/// Reads the events that start at the given (date, byte offset) pairs, in that order. It
/// reads the files at those offsets and does not need the days' indexes, so a page over a
/// range does not index again the days the cache evicted during the scan. An event whose
/// line no longer parses is left out.
///
/// NOTE: offsets from a scan point into the file as it was. A file replaced since then can
/// yield another event that starts at the same offset.
pub fn fetch(
    cache: &IndexCache,
    positions: &[(NaiveDate, u64)],
) -> Result<Vec<EventRecord>, QueryError> {
    let mut found: Vec<Option<EventRecord>> = vec![None; positions.len()];
    let mut order: Vec<usize> = (0..positions.len()).collect();
    order.sort_by_key(|&slot| positions[slot]);

    let mut buffer = Vec::new();
    for slots in order.chunk_by(|&a, &b| positions[a].0 == positions[b].0) {
        let path = cache.path_of(positions[slots[0]].0);
        let read_error = |source| QueryError::Read {
            path: path.clone(),
            source,
        };
        let file = File::open(&path).map_err(read_error)?;

        let mut offsets: Vec<u64> = slots.iter().map(|&slot| positions[slot].1).collect();
        offsets.dedup();
        let mut slot_iter = slots.iter().peekable();
        read_lines_at(&file, &offsets, &mut buffer, &mut |offset, view| {
            while let Some(&&slot) = slot_iter.peek() {
                if positions[slot].1 > offset {
                    break;
                }
                slot_iter.next();
                if positions[slot].1 == offset {
                    found[slot] = Some(EventRecord::from_view(view));
                }
            }
        })
        .map_err(read_error)?;
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
    /// Byte offset of the line, which orders lines of one day like their positions.
    offset: u64,
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
                offset: hit.entry.offset(),
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

    let positions: Vec<(NaiveDate, u64)> = heap
        .into_sorted_vec()
        .into_iter()
        .skip(offset)
        .map(|directed| (directed.ranked.day, directed.ranked.offset))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Returns the trails of the events of one day that pass `filter`, in file order.
    fn matching_trails(lines: &[&str], filter: &Filter) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let date: NaiveDate = "2026-01-15".parse().unwrap();
        let text: String = lines.iter().map(|line| format!("{line}\n")).collect();
        std::fs::write(dir.path().join("2026-01-15.log"), text).unwrap();
        let cache = IndexCache::new(dir.path(), 1000);
        let mut trails = Vec::new();

        scan(&cache, &[date], filter, &|_| false, &mut |hit| {
            trails.push(
                hit.line
                    .map_or(String::new(), |line| line.view.trail.to_string()),
            );
            ControlFlow::Continue(())
        })
        .unwrap();
        trails
    }

    const HEAD: &str = "\"2026-01-15 12:00:00.000000\" s1 10.0.0.1 1 10.0.0.2 53 UDP DNS";

    #[test]
    fn text_filters_ignore_ascii_case() {
        let lines = [
            format!("{HEAD} a.test \"Emotet (malware)\" feed"),
            format!("{HEAD} emotet.test \"x\" feed"),
            format!("{HEAD} b.test \"x\" EMOTET-feed"),
        ];
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let info = Filter {
            info: Some("emotet".to_string()),
            ..Filter::default()
        };
        let text = Filter {
            text: Some("emotet".to_string()),
            ..Filter::default()
        };

        assert_eq!(matching_trails(&lines, &info), ["a.test"]);
        assert_eq!(
            matching_trails(&lines, &text),
            ["a.test", "emotet.test", "b.test"]
        );
    }

    #[test]
    fn quoted_needle_matches_unquoted_field() {
        // The info field is `say "hi"` once unquoted, while the line has `""hi""`.
        let line = format!("{HEAD} a.test \"say \"\"hi\"\"\" feed");
        let quoted = Filter {
            info: Some("say \"hi\"".to_string()),
            ..Filter::default()
        };

        assert_eq!(matching_trails(&[line.as_str()], &quoted), ["a.test"]);
    }

    #[test]
    fn unicode_needle_lowercases_line() {
        let line = format!("{HEAD} a.test \"STRASSE ÄRGER\" feed");
        let unicode = Filter {
            text: Some("ärger".to_string()),
            ..Filter::default()
        };

        assert_eq!(matching_trails(&[line.as_str()], &unicode), ["a.test"]);
    }
}
