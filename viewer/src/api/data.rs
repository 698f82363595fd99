//! The data endpoints of the UI: events, threats, timeline, pivot, live tail and export.

use std::io::{self, Write};
use std::ops::ControlFlow;
use std::sync::Arc;

use chrono::NaiveDate;
use log::{error, warn};
use serde::Serialize;

use super::stream;
use crate::http::params::{self, ParamError, Params, DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET};
use crate::http::response::{self, header, Reply};
use crate::http::router::Caller;
use crate::http::server::App;
use crate::logs::aggregate::{self, PivotKind};
use crate::logs::cache::IndexCache;
use crate::logs::filter::Filter;
use crate::logs::newest;
use crate::logs::query::{self, QueryError, Sort, SortField};
use crate::logs::record::{EventRecord, CSV_HEADER};
use crate::logs::tail::MAX_TAIL_EVENTS;

/// Lines one live poll returns at most; the client polls again from `next` for the rest.
pub const MAX_LIVE_LINES: usize = 1000;

/// Returns the local date, which names today's log file.
pub fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

/// Reads the date range and the filter, with the caller's network scope added.
fn range_and_filter(
    caller: &Caller,
    params: &Params,
) -> Result<(Vec<NaiveDate>, Filter), ParamError> {
    let dates = params.date_range(today())?;
    let mut filter = params.filter()?;
    filter.scope = caller.user.networks.clone();
    Ok((dates, filter))
}

/// Logs a failed query and returns 500, because the client cannot fix a server-side read
/// error, or 503 for a query that ran out of time.
pub fn query_failed(failure: &QueryError) -> Reply {
    if let QueryError::TimedOut { .. } = failure {
        warn!("query stopped: {failure}");
        return response::error(503, failure.to_string());
    }
    error!("query failed: {failure}");
    response::error(500, format!("cannot read the logs: {failure}"))
}

fn bad_request(failure: &ParamError) -> Reply {
    response::error(400, failure.to_string())
}

/// Body of `GET /api/events`.
#[derive(Serialize)]
struct EventsBody {
    /// Matching events over the whole range, `null` while some day is still being indexed.
    total: Option<u64>,
    offset: usize,
    events: Vec<EventRecord>,
}

/// Handles `GET /api/events`.
pub fn events(app: &Arc<App>, caller: &Caller, params: &Params) -> Reply {
    let parsed = range_and_filter(caller, params).and_then(|(dates, filter)| {
        let offset = params.number("offset", MAX_OFFSET)?.unwrap_or(0);
        let limit = params.number("limit", MAX_LIMIT)?.unwrap_or(DEFAULT_LIMIT);
        Ok((dates, filter, params.sort()?, offset, limit))
    });
    let (dates, filter, sort, offset, limit) = match parsed {
        Ok(parsed) => parsed,
        Err(failure) => return bad_request(&failure),
    };

    let newest_first = Sort {
        field: SortField::Time,
        descending: true,
    };
    let default_view =
        sort == newest_first && filter.is_empty() && offset + limit <= MAX_TAIL_EVENTS;
    if default_view {
        match newest::newest_page(&app.cache, &dates, offset, limit) {
            Ok(Some(page)) => {
                index_in_background(app, &page.uncounted);
                return response::json(
                    200,
                    &EventsBody {
                        total: page.total,
                        offset,
                        events: page.events,
                    },
                );
            }
            Ok(None) => {}
            Err(failure) => return query_failed(&failure),
        }
    }

    match query::page(&app.cache, &dates, &filter, sort, offset, limit) {
        Ok(page) => response::json(
            200,
            &EventsBody {
                total: Some(page.total),
                offset,
                events: page.events,
            },
        ),
        Err(failure) => query_failed(&failure),
    }
}

/// Queues `dates` for the background index, so that a later request of the default view gets
/// its total, and starts the worker thread unless one is running. At most one worker runs for
/// the whole viewer, and it indexes one day at a time.
fn index_in_background(app: &Arc<App>, dates: &[NaiveDate]) {
    if !app.cache.index_queue().push(dates) {
        return;
    }
    let worker = Arc::clone(app);
    let spawned = std::thread::Builder::new()
        .name("viewer-index".to_string())
        .spawn(move || {
            let drained = std::panic::catch_unwind(|| drain_index_queue(&worker.cache));
            if drained.is_err() {
                error!("the background index worker panicked; later requests queue their days");
                worker.cache.index_queue().abandon();
            }
        });
    if let Err(failure) = spawned {
        error!(
            "cannot start a thread to index {} days of logs: {failure}",
            dates.len()
        );
        app.cache.index_queue().abandon();
    }
}

/// Indexes the queued days one at a time until the queue is empty.
///
/// NOTE: a day that fails to index stays without a count, so each later request of the default
/// view queues it again and the failure is logged once per attempt.
fn drain_index_queue(cache: &IndexCache) {
    while let Some(date) = cache.index_queue().pop() {
        // A query may have indexed the day since it was queued.
        if let Ok(Some(_)) = cache.known_count(date) {
            continue;
        }
        if let Err(failure) = cache.get(date) {
            error!("indexing the log of {date} failed: {failure}");
        }
        release_free_memory();
    }
}

/// Returns memory that the allocator keeps free to the system. glibc keeps what a thread
/// freed in that thread's arena, so the read buffers of a background index would otherwise
/// stay resident next to the workers' arenas; the query benchmark peaked about 6 MB higher.
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointers and only returns free memory to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Handles `GET /api/threats`.
pub fn threats(app: &App, caller: &Caller, params: &Params) -> Reply {
    let (dates, filter) = match range_and_filter(caller, params) {
        Ok(parsed) => parsed,
        Err(failure) => return bad_request(&failure),
    };
    match aggregate::threats(&app.cache, &dates, &filter) {
        Ok(threats) => response::json(200, &threats),
        Err(failure) => query_failed(&failure),
    }
}

/// Handles `GET /api/timeline`.
pub fn timeline(app: &App, caller: &Caller, params: &Params) -> Reply {
    let (dates, filter) = match range_and_filter(caller, params) {
        Ok(parsed) => parsed,
        Err(failure) => return bad_request(&failure),
    };
    match aggregate::timeline(&app.cache, &dates, &filter) {
        Ok(timeline) => response::json(200, &timeline),
        Err(failure) => query_failed(&failure),
    }
}

/// Handles `GET /api/pivot?kind=src|dst|trail&value=V`.
pub fn pivot(app: &App, caller: &Caller, params: &Params) -> Reply {
    let parsed = range_and_filter(caller, params).and_then(|(dates, mut filter)| {
        let kind = match params.get("kind") {
            Some("src") => PivotKind::Src,
            Some("dst") => PivotKind::Dst,
            Some("trail") => PivotKind::Trail,
            None => {
                return Err(ParamError::new(
                    "kind",
                    "is missing; give src, dst or trail",
                ))
            }
            Some(other) => {
                return Err(ParamError::new(
                    "kind",
                    format!("expected src, dst or trail, got {other:?}"),
                ))
            }
        };
        let Some(value) = params.get("value") else {
            return Err(ParamError::new(
                "value",
                "is missing; give the address or trail",
            ));
        };
        let address = || {
            value.parse().map_err(|_| {
                ParamError::new("value", format!("expected an IP address, got {value:?}"))
            })
        };
        match kind {
            PivotKind::Src => filter.src = Some(address()?),
            PivotKind::Dst => filter.dst = Some(address()?),
            PivotKind::Trail => filter.trail_exact = Some(value.to_string()),
        }
        Ok((dates, filter, kind, value.to_string()))
    });
    let (dates, filter, kind, value) = match parsed {
        Ok(parsed) => parsed,
        Err(failure) => return bad_request(&failure),
    };

    match aggregate::pivot(&app.cache, &dates, &filter, kind, &value) {
        Ok(pivot) => response::json(200, &pivot),
        Err(failure) => query_failed(&failure),
    }
}

/// Handles `GET /api/live?date=YYYY-MM-DD&after=OFFSET`: matching lines that start at or
/// after byte `after`. An offset past the end of the file (which was replaced) starts again
/// at 0.
pub fn live(app: &App, caller: &Caller, params: &Params) -> Reply {
    #[derive(Serialize)]
    struct Body {
        next: u64,
        events: Vec<EventRecord>,
    }
    let parsed = (|| {
        let date = params.date("date")?.unwrap_or_else(today);
        let after = match params.get("after") {
            None => 0,
            Some(text) => text.parse::<u64>().map_err(|_| {
                ParamError::new("after", format!("expected a byte offset, got {text:?}"))
            })?,
        };
        let mut filter = params.filter()?;
        filter.scope = caller.user.networks.clone();
        Ok::<_, ParamError>((date, after, filter))
    })();
    let (date, after, filter) = match parsed {
        Ok(parsed) => parsed,
        Err(failure) => return bad_request(&failure),
    };

    let index = match app.cache.get(date) {
        Ok(index) => index,
        Err(failure) => return query_failed(&failure.into()),
    };
    let after = if after > index.end { 0 } else { after };
    let start = partition_point(index.len(), |position| {
        index.entry(position).offset() < after
    });
    let end = index.len().min(start + MAX_LIVE_LINES);
    let next = if end == index.len() {
        index.end
    } else {
        index.entry(end).offset()
    };
    // A day without new lines may have no file yet, and scanning would fail to open it.
    if start == end {
        let events = Vec::new();
        return response::json(200, &Body { next, events });
    }

    let mut events = Vec::new();
    let result = query::scan_index(&index, date, start..end, &filter, &|_| true, &mut |hit| {
        if let Some(line) = hit.line {
            events.push(EventRecord::from_view(&line.view));
        }
        ControlFlow::Continue(())
    });
    match result {
        Ok(_) => response::json(200, &Body { next, events }),
        Err(failure) => query_failed(&failure),
    }
}

fn partition_point(len: usize, before: impl Fn(usize) -> bool) -> usize {
    let (mut low, mut high) = (0, len);
    while low < high {
        let middle = low + (high - low) / 2;
        if before(middle) {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    low
}

/// Format of `GET /api/export.*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    /// A JSON array of event objects.
    Json,
}

/// Handles `GET /api/export.csv` and `/api/export.json`: every matching event, in file order
/// (dates ascending), streamed. The router rejects `sort`, `offset` and `limit` here, because
/// an export has no order or page to choose.
pub fn export(app: &Arc<App>, caller: &Caller, params: &Params, format: ExportFormat) -> Reply {
    let (dates, filter) = match range_and_filter(caller, params) {
        Ok(parsed) => parsed,
        Err(failure) => return bad_request(&failure),
    };
    let name = match (dates.first(), dates.last()) {
        (Some(first), Some(last)) if first != last => format!("trailwatch-{first}_{last}"),
        (Some(first), _) => format!("trailwatch-{first}"),
        _ => "trailwatch".to_string(),
    };
    let app = Arc::clone(app);
    let body = stream::spawn(move |out| write_export(&app, &dates, &filter, format, out));
    let body = match body {
        Ok(body) => body,
        Err(failure) => {
            error!("cannot start an export: {failure}");
            return response::error(500, "cannot start the export; see the server log");
        }
    };

    let (content_type, extension) = match format {
        ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
        ExportFormat::Json => (response::JSON, "json"),
    };
    response::stream(content_type, body).with_header(header(
        "Content-Disposition",
        &format!("attachment; filename=\"{name}.{extension}\""),
    ))
}

fn write_export(
    app: &App,
    dates: &[NaiveDate],
    filter: &Filter,
    format: ExportFormat,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut failed: Option<io::Error> = None;
    let mut row = String::new();
    let mut first = true;
    out.write_all(match format {
        ExportFormat::Csv => CSV_HEADER.as_bytes(),
        ExportFormat::Json => b"[",
    })?;

    // An export streams to a client that reads it, so it may take as long as the client does.
    let scanned = query::scan_within(
        &app.cache,
        dates,
        filter,
        &|_| true,
        &mut |hit| {
            let Some(line) = hit.line else {
                return ControlFlow::Continue(());
            };
            let record = EventRecord::from_view(&line.view);
            row.clear();
            match format {
                ExportFormat::Csv => record.write_csv(&mut row),
                ExportFormat::Json => {
                    if !first {
                        row.push_str(",\n");
                    }
                    row.push_str(&serde_json::to_string(&record).unwrap_or_default());
                }
            }
            first = false;
            match out.write_all(row.as_bytes()) {
                Ok(()) => ControlFlow::Continue(()),
                Err(error) => {
                    failed = Some(error);
                    ControlFlow::Break(())
                }
            }
        },
        None,
    );

    if let Some(error) = failed {
        return Err(error);
    }
    if let Err(failure) = scanned {
        // The status line is already sent, so the client gets a cut body and the
        // log records the cause.
        error!("export failed: {failure}");
        return Err(io::Error::other(failure.to_string()));
    }
    if format == ExportFormat::Json {
        out.write_all(b"]\n")?;
    }
    Ok(())
}

/// Parses the Maltrail `date` parameter: `YYYY-MM-DD` or `YYYY-MM-DD_YYYY-MM-DD`.
pub fn maltrail_dates(params: &Params) -> Result<Vec<NaiveDate>, ParamError> {
    let Some(text) = params.get("date") else {
        return params::dates_between(today(), today());
    };
    let (from, to) = text.split_once('_').unwrap_or((text, text));
    let parse = |part| {
        params::parse_date("date", part).map_err(|_| {
            ParamError::new(
                "date",
                format!("expected YYYY-MM-DD or YYYY-MM-DD_YYYY-MM-DD, got {text:?}"),
            )
        })
    };
    params::dates_between(parse(from)?, parse(to)?)
        .map_err(|failure| ParamError::new("date", failure.problem))
}
