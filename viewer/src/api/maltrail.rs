//! Endpoints that keep Maltrail's API: raw events, daily counts, and the fail2ban list.

use std::fs::File;
use std::io::{self, Read};
use std::ops::ControlFlow;
use std::sync::Arc;

use log::{error, warn};

use super::data::{maltrail_dates, query_failed, today};
use super::stream;
use crate::http::params::Params;
use crate::http::response::{self, Reply};
use crate::http::router::{Caller, RequestInfo};
use crate::http::server::App;
use crate::logs::aggregate;
use crate::logs::filter::Filter;
use crate::logs::query;

/// Handles `GET /events?date=YYYY-MM-DD[_YYYY-MM-DD]`: the raw log lines of those days, in
/// file order. A user with networks gets only the lines inside them.
pub fn events(app: &Arc<App>, caller: &Caller, params: &Params) -> Reply {
    let dates = match maltrail_dates(params) {
        Ok(dates) => dates,
        Err(failure) => return response::error(400, failure.to_string()),
    };
    let scope = Filter {
        scope: caller.user.networks.clone(),
        ..Filter::default()
    };

    let app = Arc::clone(app);
    let body = stream::spawn(move |out| {
        for &date in &dates {
            let index = app
                .cache
                .get(date)
                .map_err(|e| io::Error::other(e.to_string()))?;
            if index.is_empty() {
                continue;
            }
            if scope.scope.is_empty() {
                // Copy only the indexed part, so a line still being written is left out.
                let file = File::open(&index.path)?;
                io::copy(&mut file.take(index.end), out)?;
                continue;
            }

            let mut failed = None;
            let all = 0..index.len();
            // A write failure stops the scan with Break and is reported from `failed` below.
            let _stopped = query::scan_index(&index, date, all, &scope, &|_| true, &mut |hit| {
                let Some(line) = hit.line else {
                    return ControlFlow::Continue(());
                };
                match out
                    .write_all(line.raw.as_bytes())
                    .and_then(|()| out.write_all(b"\n"))
                {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(error) => {
                        failed = Some(error);
                        ControlFlow::Break(())
                    }
                }
            })
            .map_err(|e| io::Error::other(e.to_string()))?;
            if let Some(error) = failed {
                return Err(error);
            }
        }
        Ok(())
    });

    match body {
        Ok(body) => response::stream(response::TEXT, body),
        Err(failure) => {
            error!("cannot start streaming events: {failure}");
            response::error(500, "cannot stream the events; see the server log")
        }
    }
}

/// Handles `GET /counts?from=YYYY-MM-DD&to=YYYY-MM-DD`: `{"YYYY-MM-DD": count}` for each day
/// with events.
pub fn counts(app: &App, caller: &Caller, params: &Params) -> Reply {
    let dates = match params.date_range(today()) {
        Ok(dates) => dates,
        Err(failure) => return response::error(400, failure.to_string()),
    };
    let scope = Filter {
        scope: caller.user.networks.clone(),
        ..Filter::default()
    };

    match aggregate::daily_counts(&app.cache, &dates, &scope) {
        Ok(counts) => {
            let body: serde_json::Map<String, serde_json::Value> = counts
                .into_iter()
                .map(|(date, count)| (date.format("%Y-%m-%d").to_string(), count.into()))
                .collect();
            response::json(200, &body)
        }
        Err(failure) => query_failed(&failure),
    }
}

/// Handles `GET /fail2ban`: the distinct source addresses of today's events, one per line,
/// for clients in `[fail2ban] allow` only.
pub fn fail2ban(app: &App, info: &RequestInfo) -> Reply {
    let allowed = app
        .config
        .fail2ban_allow
        .iter()
        .any(|net| net.contains(info.client));
    if !allowed {
        warn!(
            "GET /fail2ban from {} rejected: not in [fail2ban] allow",
            info.client
        );
        return response::error(403, "this address is not in [fail2ban] allow");
    }

    let today = today();
    let sources = match aggregate::offenders(&app.cache, &[today], &Filter::default()) {
        Ok(sources) => sources,
        Err(failure) => return query_failed(&failure),
    };
    let mut body = String::new();
    for source in sources {
        body.push_str(&source);
        body.push('\n');
    }
    response::text(200, body)
}
