//! Errors that stop a trail set or whitelist from loading.

use std::io;
use std::path::PathBuf;

/// A failure that rejects the whole load, unlike a bad trail line, which is only reported.
#[derive(Debug, thiserror::Error)]
pub enum TrailError {
    /// A trail folder, trail file or whitelist could not be read.
    #[error("failed to read {}: {source}", path.display())]
    Io {
        /// The file or folder that failed.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },

    /// A whitelist line is not a domain, an IP address or a CIDR block.
    #[error("invalid whitelist entry {value:?} at {origin}:{line}: {reason}")]
    Whitelist {
        /// The file path, or the name given to `Whitelist::parse`.
        origin: String,
        /// The 1-based line number.
        line: usize,
        /// The entry as written, without its comment.
        value: String,
        /// The reason the entry was rejected.
        reason: String,
    },

    /// The indicator text of one table exceeds the 4 GiB that `u32` offsets can address, or
    /// one indicator exceeds 4095 bytes (line parsing rejects those as bad lines first).
    #[error("the trail text exceeds the table limits (4 GiB in total, 4095 bytes per trail)")]
    TextTooLarge,

    /// More distinct (info, reference) pairs than a source id can number.
    #[error("more than {max} distinct trail sources; load fewer trail files")]
    TooManySources {
        /// The maximum number of sources.
        max: usize,
    },

    /// The valid regex-like domain patterns did not fit into one `RegexSet`.
    #[error("failed to build the domain pattern set: {0}")]
    Patterns(#[from] regex::Error),

    /// The store compiled from the trails failed the checks a reader runs, which points to a
    /// bug in this crate rather than in the trails.
    #[error("the trail store compiled in memory is invalid: {0}")]
    Store(crate::store::error::FormatError),
}
