//! `GET` and `POST /setup`: creating the first user with the one-time setup code.
//!
//! Both return 404 unless `[data] setup_code` is set, and 409 once the users file has a user,
//! so the code cannot replace an existing account.

use std::path::Path;
use std::sync::Mutex;

use log::{error, info, warn};

use super::auth::read_form;
use crate::http::response::{self, header, Reply};
use crate::http::router::RequestInfo;
use crate::http::server::App;
use crate::setup_code;
use crate::users::{self, User, UserStore};

/// Minimum password length of `POST /setup`, in characters. `user add` on the device's shell
/// takes any non-empty password, because whoever runs it already controls the device.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// Serializes setups, so two requests with the right code cannot both find no users and the
/// second overwrite the user of the first.
static SETUP_LOCK: Mutex<()> = Mutex::new(());

const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>trailwatch: create the administrator</title>
<link rel="stylesheet" href="/static/style.css">
</head>
<body>
<main>
<h1>Create the administrator</h1>
<p>Enter the setup code that the device printed on its console and wrote to
trailwatch-setup-code.txt on its boot partition. The code works once.</p>
<form method="post" action="/setup">
<p><label>Setup code <input name="code" required autocomplete="off"></label></p>
<p><label>User name <input name="username" value="admin" required></label></p>
<p><label>Password (at least 10 characters)
<input name="password" type="password" required minlength="10" autocomplete="new-password">
</label></p>
<p><label>Repeat password
<input name="repeat" type="password" required minlength="10" autocomplete="new-password">
</label></p>
<p><button type="submit">Create</button></p>
</form>
</main>
</body>
</html>
"#;

/// Handles `GET /setup`: returns the form while the users file has no user.
pub fn page(app: &App) -> Reply {
    if app.config.setup_code_file.is_none() {
        return response::not_found();
    }
    if !app.users.current().users.is_empty() {
        return already_set_up();
    }
    response::bytes(200, "text/html; charset=utf-8", PAGE.as_bytes().to_vec())
}

/// Handles `POST /setup`: checks the code and creates the first user from the form's
/// `username` (default `admin`), `password` and `repeat`. Wrong codes count as failed logins
/// for the rate limit. Redirects to `/` on success, where the new user logs in.
pub fn create(app: &App, request: &mut tiny_http::Request, info: &RequestInfo) -> Reply {
    let Some(code_file) = &app.config.setup_code_file else {
        return response::not_found();
    };
    let _guard = SETUP_LOCK.lock().unwrap_or_else(|e| e.into_inner());

    // Read from disk rather than the reload cache, which may lag a file saved this second.
    let path = app.users.path();
    let mut store = match UserStore::load(path) {
        Ok(store) => store,
        Err(failure) => {
            error!("setup: {failure}");
            return response::error(500, "cannot read the users file; see the server log");
        }
    };
    if !store.users.is_empty() {
        return already_set_up();
    }

    if let Some(wait) = app.limiter.retry_after(info.client) {
        let seconds = wait.as_secs().max(1);
        return response::error(
            429,
            format!("too many wrong codes or logins from this address; try again in {seconds} s"),
        )
        .with_header(header("Retry-After", &seconds.to_string()));
    }
    let form = match read_form(request, info, "setup") {
        Ok(form) => form,
        Err(reply) => return reply,
    };

    let expected = match setup_code::read(code_file) {
        Ok(Some(code)) => code,
        Ok(None) => {
            return response::error(
                503,
                format!(
                    "no setup code in {}; restart the device for a new one, or create a user \
                     on its shell with: trailwatch-viewer user add NAME",
                    code_file.display()
                ),
            )
        }
        Err(failure) => {
            error!("setup: cannot read {}: {failure}", code_file.display());
            return response::error(500, "cannot read the setup code; see the server log");
        }
    };
    if !setup_code::matches(&expected, form.get("code").unwrap_or("")) {
        app.limiter.record_failure(info.client);
        warn!("wrong setup code from {}", info.client);
        return response::error(401, "wrong setup code");
    }

    let user = match new_user(
        form.get("username").unwrap_or("admin"),
        form.get("password").unwrap_or(""),
        form.get("repeat").unwrap_or(""),
    ) {
        Ok(user) => user,
        Err(reply) => return reply,
    };
    let name = user.name.clone();
    store.upsert(user);
    if let Err(failure) = store.save(path) {
        error!("setup: {failure}");
        return response::error(500, "cannot write the users file; see the server log");
    }
    app.limiter.clear(info.client);
    info!(
        "user {name} created from {} with the setup code",
        info.client
    );
    remove_code(code_file);
    response::see_other("/")
}

/// Checks the form's name and passwords and hashes the password, or returns the 400 response.
fn new_user(name: &str, password: &str, repeat: &str) -> Result<User, Reply> {
    users::validate_name(name).map_err(|failure| response::error(400, failure.to_string()))?;
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(response::error(
            400,
            format!("password too short: use at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if password != repeat {
        return Err(response::error(
            400,
            "the two passwords differ; enter them again",
        ));
    }
    let password_hash = users::hash_password(password).map_err(|failure| {
        error!("setup: {failure}");
        response::error(500, "cannot hash the password; see the server log")
    })?;
    Ok(User {
        name: name.to_string(),
        password_hash,
        read_only: false,
        networks: Vec::new(),
    })
}

/// Deletes the used code. A code left behind opens nothing, because setup needs an empty
/// users file, but the failure is logged so that someone removes it.
fn remove_code(code_file: &Path) {
    if let Err(failure) = std::fs::remove_file(code_file) {
        warn!(
            "cannot delete the used setup code {}: {failure}; delete it by hand",
            code_file.display()
        );
    }
}

fn already_set_up() -> Reply {
    response::error(409, "setup is done: a user exists; log in on /")
}
