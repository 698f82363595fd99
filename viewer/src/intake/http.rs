//! The `POST /api/intake` route on the viewer's HTTP server.
//!
//! The request needs no session: the HMAC signature authenticates it. Status codes follow
//! `PROTOCOL.md` of the `trailwatch-relay` crate, with the viewer's `{"error": ...}` bodies.

use std::io::Read;

use serde::Serialize;
use trailwatch_relay::{MAX_BODY_BYTES, SIGNATURE_HEADER};

use crate::http::response::{self, Reply};
use crate::http::router::RequestInfo;
use crate::http::server::App;

#[derive(Serialize)]
struct AckBody {
    acked: u64,
}

/// Handles `POST /api/intake`: 404 when the reliable intake is off, else the intake's status.
pub fn post(app: &App, request: &mut tiny_http::Request, info: &RequestInfo) -> Reply {
    let Some(intake) = &app.intake else {
        return response::error(
            404,
            "the reliable intake is off; set [intake] secret_file in the viewer's configuration",
        );
    };

    // One byte past the limit is enough for the intake to reject the body as too large.
    let mut body = Vec::new();
    let read = request
        .as_reader()
        .take(MAX_BODY_BYTES as u64 + 1)
        .read_to_end(&mut body);
    if let Err(error) = read {
        log::debug!(
            "failed to read an intake request body from {}: {error}",
            info.client
        );
        return response::error(400, "failed to read the request body");
    }

    let signature = request
        .headers()
        .iter()
        .find(|header| header.field.equiv(SIGNATURE_HEADER))
        .map(|header| header.value.as_str().to_string());
    match intake.receive(&body, signature.as_deref(), info.client) {
        Ok(ack) => response::json(200, &AckBody { acked: ack.acked }),
        Err(error) => response::error(error.status(), error.to_string()),
    }
}

/// Returns 405 for another method on `/api/intake`.
pub fn method_not_allowed() -> Reply {
    response::error(405, "only POST is allowed on /api/intake")
        .with_header(response::header("Allow", "POST"))
}
