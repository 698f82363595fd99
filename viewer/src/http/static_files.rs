//! The browser UI, embedded in the binary.

use super::response::{self, Reply};

/// Files under `/static/`, matched by exact name so that no request can reach anything else.
const FILES: [(&str, &str, &str); 3] = [
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("../../ui/index.html"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../ui/app.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../../ui/style.css"),
    ),
];

/// Returns the page served at `/`.
pub fn index() -> Reply {
    file("index.html").unwrap_or_else(response::not_found)
}

/// Returns the embedded file `name` (the raw path after `/static/`), or `None` for any other
/// name, including encoded or `..` forms of a real one.
pub fn file(name: &str) -> Option<Reply> {
    let (_, content_type, body) = FILES.iter().find(|(known, _, _)| *known == name)?;
    Some(response::bytes(200, content_type, body.as_bytes().to_vec()))
}
