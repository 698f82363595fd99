//! Building responses: JSON bodies, errors, redirects, and the headers every response carries.

use std::io::{Cursor, Read};

use serde::Serialize;
use tiny_http::{Header, Response, StatusCode};

/// The response type of every handler; the body is any reader, so exports can stream.
pub type Reply = Response<Box<dyn Read + Send>>;

/// Headers sent on every response. The policy allows only the viewer's own scripts and styles
/// (no inline code), and no framing.
const SECURITY_HEADERS: [(&str, &str); 4] = [
    (
        "Content-Security-Policy",
        "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
];

pub const JSON: &str = "application/json";
pub const TEXT: &str = "text/plain; charset=utf-8";

/// Returns a header; panics only for names or values that are not ASCII, which callers never
/// build from request data.
pub fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("header is ASCII")
}

/// Returns a response with `body` of known length.
pub fn bytes(status: u16, content_type: &str, body: Vec<u8>) -> Reply {
    let length = body.len();
    let reader: Box<dyn Read + Send> = Box::new(Cursor::new(body));
    Response::new(
        StatusCode(status),
        vec![header("Content-Type", content_type)],
        reader,
        Some(length),
        None,
    )
}

/// Returns a response whose body is streamed from `reader` with chunked encoding.
pub fn stream(content_type: &str, reader: Box<dyn Read + Send>) -> Reply {
    Response::new(
        StatusCode(200),
        vec![header("Content-Type", content_type)],
        reader,
        None,
        None,
    )
}

pub fn json(status: u16, value: &impl Serialize) -> Reply {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    bytes(status, JSON, body)
}

pub fn text(status: u16, body: impl Into<String>) -> Reply {
    bytes(status, TEXT, body.into().into_bytes())
}

/// Returns `{"error": message}` with `status`.
pub fn error(status: u16, message: impl Into<String>) -> Reply {
    #[derive(Serialize)]
    struct Body {
        error: String,
    }
    json(
        status,
        &Body {
            error: message.into(),
        },
    )
}

pub fn not_found() -> Reply {
    error(404, "not found")
}

/// Returns 303 See Other to `location`.
pub fn see_other(location: &str) -> Reply {
    bytes(303, TEXT, Vec::new()).with_header(header("Location", location))
}

/// Adds the security headers, and `Cache-Control: no-store` unless the response is a static
/// file that may be cached.
pub fn finish(reply: Reply, cacheable: bool) -> Reply {
    let mut reply = reply;
    for (name, value) in SECURITY_HEADERS {
        reply.add_header(header(name, value));
    }
    if !cacheable {
        reply.add_header(header("Cache-Control", "no-store"));
    }
    reply
}
