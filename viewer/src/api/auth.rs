//! Login, logout and the session endpoint.

use std::io::Read;

use log::{error, info, warn};
use serde::Serialize;

use crate::http::params::Params;
use crate::http::response::{self, header, Reply};
use crate::http::router::{Caller, RequestInfo, SESSION_COOKIE};
use crate::http::server::App;
use crate::users;

/// Largest login form accepted, in bytes.
const MAX_FORM_LEN: u64 = 8 * 1024;

/// Handles `POST /login`: checks the form's user name and password and starts a session.
pub fn login(app: &App, request: &mut tiny_http::Request, info: &RequestInfo) -> Reply {
    let store = app.users.current();
    if store.users.is_empty() {
        let message = match &app.config.setup_code_file {
            Some(_) => "no users configured yet; open /setup and enter the setup code shown \
                        on the device's console"
                .to_string(),
            None => format!(
                "no users configured; create one with: trailwatch-viewer user add NAME --users {}",
                app.users.path().display()
            ),
        };
        return response::error(503, message);
    }

    // The attempt stays reserved until it is dropped, so parallel requests count against the
    // limit while their passwords are still being verified.
    let attempt = match app.limiter.begin(info.client) {
        Ok(attempt) => attempt,
        Err(wait) => {
            let seconds = wait.as_secs().max(1);
            log::debug!("login from {} rejected by the rate limit", info.client);
            return response::error(
                429,
                format!("too many failed logins from this address; try again in {seconds} s"),
            )
            .with_header(header("Retry-After", &seconds.to_string()));
        }
    };

    let form = match read_form(request, info, "login") {
        Ok(form) => form,
        Err(reply) => return reply,
    };
    let name = form.get("username").unwrap_or("");
    let password = form.get("password").unwrap_or("");

    // Verify against a decoy hash for unknown names, so both failures take the same time.
    let user = store.find(name);
    let hash = user.map_or(app.decoy_hash.as_str(), |user| user.password_hash.as_str());
    let valid = users::verify_password(hash, password) && user.is_some();
    if !valid {
        attempt.fail();
        warn!("failed login from {}", info.client);
        return response::error(401, "wrong user name or password");
    }

    let (token, _) = match app.sessions.create(name) {
        Ok(created) => created,
        Err(failure) => {
            error!("cannot start a session: {failure}");
            return response::error(500, "cannot start a session; see the server log");
        }
    };
    attempt.succeed();
    info!("user {name} logged in from {}", info.client);

    let secure = if app.tls { "; Secure" } else { "" };
    let cookie = format!("{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/{secure}");
    response::see_other("/").with_header(header("Set-Cookie", &cookie))
}

/// Reads the urlencoded form of a POST request (`what` names it in errors), or returns the
/// 400 response for a wrong content type, an oversized or non-UTF-8 body, or a bad encoding.
pub fn read_form(
    request: &mut tiny_http::Request,
    info: &RequestInfo,
    what: &str,
) -> Result<Params, Reply> {
    let form_type = "application/x-www-form-urlencoded";
    if !info
        .content_type
        .as_deref()
        .is_some_and(|value| value.starts_with(form_type))
    {
        return Err(response::error(
            400,
            format!("invalid Content-Type: expected {form_type}"),
        ));
    }
    let mut body = String::new();
    let read = request
        .as_reader()
        .take(MAX_FORM_LEN + 1)
        .read_to_string(&mut body);
    if read.is_err() || body.len() as u64 > MAX_FORM_LEN {
        return Err(response::error(
            400,
            format!("invalid {what} form: expected at most {MAX_FORM_LEN} bytes of UTF-8"),
        ));
    }
    Params::parse(&body).map_err(|error| response::error(400, error.to_string()))
}

/// Handles `POST /logout`: ends the session and clears the cookie.
pub fn logout(app: &App, caller: &Caller) -> Reply {
    app.sessions.remove(&caller.token);
    info!("user {} logged out", caller.user.name);

    let secure = if app.tls { "; Secure" } else { "" };
    let cookie = format!("{SESSION_COOKIE}=; Max-Age=0; HttpOnly; SameSite=Strict; Path=/{secure}");
    response::json(200, &serde_json::json!({"ok": true})).with_header(header("Set-Cookie", &cookie))
}

/// Handles `GET /api/session`.
pub fn session_info(caller: &Caller) -> Reply {
    #[derive(Serialize)]
    struct Body<'a> {
        user: &'a str,
        read_only: bool,
        csrf: &'a str,
        /// The user's networks; empty means every event.
        networks: Vec<String>,
    }
    response::json(
        200,
        &Body {
            user: &caller.user.name,
            read_only: caller.user.read_only,
            csrf: &caller.session.csrf,
            networks: caller.user.networks.iter().map(|n| n.to_string()).collect(),
        },
    )
}
