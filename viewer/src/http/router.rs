//! Dispatching requests to handlers, with authentication and CSRF checks.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use tiny_http::Method;

use super::params::Params;
use super::response::{self, Reply};
use super::routes;
use super::server::App;
use super::static_files;
use crate::api::{auth, data, maltrail, setup};
use crate::intake;
use crate::session::{tokens_equal, Session};
use crate::users::User;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "tw_session";

/// The parts of a request that handlers use, read once.
#[derive(Debug)]
pub struct RequestInfo {
    pub method: Method,
    /// Path without the query string, exactly as sent (not percent-decoded).
    pub path: String,
    pub query: String,
    pub client: IpAddr,
    pub cookie_token: Option<String>,
    pub csrf_header: Option<String>,
    pub content_type: Option<String>,
}

/// An authenticated request: the session and the user as the users file has it now.
#[derive(Debug)]
pub struct Caller {
    pub token: String,
    pub session: Session,
    pub user: User,
}

impl RequestInfo {
    fn read(request: &tiny_http::Request) -> RequestInfo {
        let (path, query) = match request.url().split_once('?') {
            Some((path, query)) => (path.to_string(), query.to_string()),
            None => (request.url().to_string(), String::new()),
        };
        let header = |name: &'static str| {
            request
                .headers()
                .iter()
                .find(|header| header.field.equiv(name))
                .map(|header| header.value.as_str().to_string())
        };
        let cookie_token = header("Cookie").and_then(|cookies| {
            cookies.split(';').find_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                (name == SESSION_COOKIE).then(|| value.to_string())
            })
        });

        RequestInfo {
            method: request.method().clone(),
            path,
            query,
            client: request
                .remote_addr()
                .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |addr| addr.ip()),
            cookie_token,
            csrf_header: header("X-CSRF-Token"),
            content_type: header("Content-Type"),
        }
    }
}

/// Handles one request and returns the response with the security headers added.
pub fn route(app: &Arc<App>, request: &mut tiny_http::Request) -> Reply {
    let mut info = RequestInfo::read(request);
    // HEAD runs the GET handler, and tiny_http sends only the head of its response.
    if info.method == Method::Head {
        info.method = Method::Get;
    }
    let is_static =
        info.method == Method::Get && (info.path == "/" || info.path.starts_with("/static/"));
    let reply = dispatch(app, request, &info);
    response::finish(reply, is_static)
}

fn dispatch(app: &Arc<App>, request: &mut tiny_http::Request, info: &RequestInfo) -> Reply {
    let path = info.path.as_str();

    // Routes that need no session.
    match (&info.method, path) {
        (Method::Get, "/") => return static_files::index(),
        (Method::Get, "/ping") => return response::text(200, "pong"),
        (Method::Get, "/fail2ban") => return maltrail::fail2ban(app, info),
        (Method::Post, "/login") => return auth::login(app, request, info),
        (Method::Get, "/setup") => return setup::page(app),
        (Method::Post, "/setup") => return setup::create(app, request, info),
        (Method::Get, _) if path.starts_with("/static/") => {
            let name = &path["/static/".len()..];
            return static_files::file(name).unwrap_or_else(response::not_found);
        }
        (Method::Post, "/api/intake") => return intake::http::post(app, request, info),
        (_, "/api/intake") => return intake::http::method_not_allowed(),
        _ => {}
    }

    let Some(route) = routes::find(path) else {
        return response::not_found();
    };
    if route.method != info.method {
        let allowed = match route.method {
            Method::Get => "GET, HEAD",
            _ => route.method.as_str(),
        };
        return response::error(
            405,
            format!("{} is not allowed on {path}, only {allowed}", info.method),
        )
        .with_header(response::header("Allow", allowed));
    }

    let caller = match authenticate(app, info) {
        Some(caller) => caller,
        None => return response::error(401, "not logged in or session expired; log in again"),
    };
    if caller.user.read_only && info.method != Method::Get && path != "/logout" {
        return response::error(403, "this user is read-only");
    }
    if info.method != Method::Get && !csrf_valid(&caller, info) {
        return response::error(
            403,
            "missing or wrong X-CSRF-Token header; send the token from GET /api/session",
        );
    }
    let params = match Params::parse(&info.query) {
        Ok(params) => params,
        Err(error) => return response::error(400, error.to_string()),
    };
    if let Err(error) = route.check_params(path, &params) {
        return response::error(400, error.to_string());
    }

    match path {
        "/logout" => auth::logout(app, &caller),
        "/api/session" => auth::session_info(&caller),
        "/api/events" => data::events(app, &caller, &params),
        "/api/threats" => data::threats(app, &caller, &params),
        "/api/timeline" => data::timeline(app, &caller, &params),
        "/api/pivot" => data::pivot(app, &caller, &params),
        "/api/live" => data::live(app, &caller, &params),
        "/api/export.csv" => data::export(app, &caller, &params, data::ExportFormat::Csv),
        "/api/export.json" => data::export(app, &caller, &params, data::ExportFormat::Json),
        "/events" => maltrail::events(app, &caller, &params),
        "/counts" => maltrail::counts(app, &caller, &params),
        _ => response::not_found(),
    }
}

/// Returns the caller of a request with a live session whose user still exists.
fn authenticate(app: &App, info: &RequestInfo) -> Option<Caller> {
    let token = info.cookie_token.as_ref()?;
    let session = app.sessions.get(token)?;
    let users = app.users.current();
    let Some(user) = users.find(&session.user) else {
        app.sessions.remove_user(&session.user);
        return None;
    };
    Some(Caller {
        token: token.clone(),
        user: user.clone(),
        session,
    })
}

fn csrf_valid(caller: &Caller, info: &RequestInfo) -> bool {
    info.csrf_header
        .as_ref()
        .is_some_and(|sent| tokens_equal(sent, &caller.session.csrf))
}
