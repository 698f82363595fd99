//! Errors of reading, checking and writing a compiled trail store.

use std::io;
use std::path::PathBuf;

use crate::store::layout::STORE_FORMAT_VERSION;

/// The command that rebuilds a store, named in the fix of every format error.
const RECOMPILE: &str = "recompile it with `trailwatch-trails compile`";

/// The reason store bytes were rejected. Each message ends with the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The bytes do not start with the store magic.
    #[error("not a trailwatch trail store; compile one with `trailwatch-trails compile`")]
    NotAStore,

    /// The store was written by a build with another format version.
    #[error("store format version {found}; this build reads {supported}: {RECOMPILE}")]
    UnsupportedVersion {
        /// The version in the header.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },

    /// The header sets flags or reserved bits this build does not know.
    #[error("the header has unknown flags {flags:#x}: {RECOMPILE}")]
    UnsupportedFlags {
        /// The flags field, or the reserved field when that is nonzero.
        flags: u32,
    },

    /// The length in the header differs from the number of bytes present.
    #[error(
        "the store is {} ({actual} bytes, the header says {expected}): copy it again or {RECOMPILE}",
        if actual < expected { "truncated" } else { "longer than its header says" }
    )]
    LengthMismatch {
        /// The length the header records, or the header length itself when even that is
        /// missing.
        expected: u64,
        /// The number of bytes present.
        actual: u64,
    },

    /// The checksum of the bytes after the header differs from the stored one.
    #[error(
        "the store is corrupt (checksum {computed:#018x}, stored {stored:#018x}): {RECOMPILE}"
    )]
    ChecksumMismatch {
        /// The checksum in the header.
        stored: u64,
        /// The checksum of the bytes present.
        computed: u64,
    },

    /// The section table or a section contradicts itself or lies outside the store.
    #[error("the store is corrupt: {section}: {reason}: {RECOMPILE}")]
    Inconsistent {
        /// The section name, or "section table".
        section: &'static str,
        /// The problem found.
        reason: &'static str,
    },

    /// A stored pattern does not compile.
    #[error("the store is corrupt: pattern {pattern:?} does not compile ({reason}): {RECOMPILE}")]
    InvalidPattern {
        /// The pattern as stored.
        pattern: String,
        /// The last line of the regex compiler's message.
        reason: String,
    },
}

impl FormatError {
    pub(crate) fn inconsistent(section: &'static str, reason: &'static str) -> FormatError {
        FormatError::Inconsistent { section, reason }
    }

    pub(crate) fn version(found: u32) -> FormatError {
        FormatError::UnsupportedVersion {
            found,
            supported: STORE_FORMAT_VERSION,
        }
    }
}

/// A failure to open, check or write a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store file, its folder or a temporary file could not be read or written.
    #[error("failed to {action} {}: {source}", path.display())]
    Io {
        /// The operation that failed, such as "open", "read", "map" or "write".
        action: &'static str,
        /// The file or folder concerned.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },

    /// The bytes are not a store this build can use.
    #[error("{}: {problem}", path.as_ref().map_or("trail store".into(), |path| path.display().to_string()))]
    Invalid {
        /// The file the bytes came from, or `None` for bytes passed in memory.
        path: Option<PathBuf>,
        /// The problem with them.
        problem: FormatError,
    },
}

impl StoreError {
    /// Returns the format problem, or `None` for an I/O failure.
    pub fn problem(&self) -> Option<&FormatError> {
        match self {
            StoreError::Invalid { problem, .. } => Some(problem),
            StoreError::Io { .. } => None,
        }
    }

    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        StoreError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

impl From<FormatError> for StoreError {
    fn from(problem: FormatError) -> StoreError {
        StoreError::Invalid {
            path: None,
            problem,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_message_names_fix() {
        let message = FormatError::version(7).to_string();

        assert_eq!(
            message,
            "store format version 7; this build reads 1: recompile it with \
             `trailwatch-trails compile`"
        );
    }

    #[test]
    fn short_store_reads_truncated() {
        let error = FormatError::LengthMismatch {
            expected: 100,
            actual: 60,
        };

        assert!(error
            .to_string()
            .starts_with("the store is truncated (60 bytes"));
    }

    #[test]
    fn file_error_names_path() {
        let error = StoreError::Invalid {
            path: Some(PathBuf::from("/var/lib/trails.store")),
            problem: FormatError::NotAStore,
        };

        assert!(error
            .to_string()
            .starts_with("/var/lib/trails.store: not a"));
    }
}
