//! Errors of catalogue loading and feed parsing.

use std::path::PathBuf;

/// A feed catalogue that cannot be read or is invalid.
///
/// Every variant names the catalogue (`origin`, usually its path). Errors about one feed also
/// give the line of its `[[feed]]` header, the feed's name (or `#N`, its position, when the
/// name itself is missing) and, where one key is at fault, that key.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("failed to read feed catalogue {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("{origin}: invalid feed catalogue: {message}")]
    Syntax { origin: String, message: String },

    #[error("{origin}:{line}: feed {feed}: {message}")]
    Feed {
        origin: String,
        line: usize,
        feed: String,
        message: String,
    },

    #[error("{origin}:{line}: feed {feed}: key `{key}` {reason}")]
    InvalidKey {
        origin: String,
        line: usize,
        feed: String,
        key: String,
        reason: String,
    },
}

/// A downloaded body that cannot be used as the feed it was fetched for.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FeedError {
    /// The body is plainly not in the feed's format: an HTML page, a JSON document for a text
    /// format, a CSV header without the configured column, or entries none of which is an
    /// indicator.
    #[error("feed {feed}: body is not in the {format} format: {reason}")]
    WrongFormat {
        feed: String,
        format: &'static str,
        reason: String,
    },

    /// The body parsed, but gave fewer indicators than the feed's `min_entries` floor, which
    /// usually means a truncated download or a list the provider emptied.
    #[error("feed {feed}: {found} indicators, fewer than min_entries = {minimum}")]
    TooFewEntries {
        feed: String,
        found: usize,
        minimum: usize,
    },
}
