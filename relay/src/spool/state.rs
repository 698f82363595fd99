//! The spool's state file, `state.json`: stream id and highest acknowledged sequence.
//!
//! The next sequence number is not stored. [`super::Spool::open`] derives it from the segment
//! files, which always keep the newest segment, named after its first sequence.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic_file::write_atomic;
use crate::batch::StreamId;
use crate::spool::SpoolError;

/// File name of the state file inside the spool folder.
pub const STATE_FILE: &str = "state.json";

/// Format version of the state file.
const STATE_VERSION: u32 = 1;

/// Persistent state of a spool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpoolState {
    pub stream: StreamId,
    /// Highest sequence number the receiver acknowledged, 0 before the first acknowledgement.
    pub acked: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    version: u32,
    stream: String,
    acked: u64,
}

impl SpoolState {
    /// Reads the state file of the spool in `dir`. Returns `Ok(None)` when there is none.
    pub fn load(dir: &Path) -> Result<Option<SpoolState>, SpoolError> {
        let path = dir.join(STATE_FILE);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(SpoolError::Io { path, source }),
        };

        let invalid = |reason: String| SpoolError::InvalidState {
            path: path.clone(),
            reason,
        };
        let file: StateFile =
            serde_json::from_str(&text).map_err(|error| invalid(error.to_string()))?;
        if file.version != STATE_VERSION {
            return Err(invalid(format!(
                "version {} is not supported, expected {STATE_VERSION}",
                file.version
            )));
        }
        let stream = StreamId::parse(&file.stream)
            .ok_or_else(|| invalid(format!("stream {:?} is not 16 hex digits", file.stream)))?;

        Ok(Some(SpoolState {
            stream,
            acked: file.acked,
        }))
    }

    /// Writes the state file of the spool in `dir` atomically (temporary file, fsync, rename,
    /// folder fsync).
    pub fn save(&self, dir: &Path) -> Result<(), SpoolError> {
        let file = StateFile {
            version: STATE_VERSION,
            stream: self.stream.to_string(),
            acked: self.acked,
        };
        // A struct of a string and integers serializes without error.
        let text = serde_json::to_string(&file).expect("spool state serializes to JSON");

        let path: PathBuf = dir.join(STATE_FILE);
        write_atomic(&path, text.as_bytes()).map_err(|source| SpoolError::Io { path, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let state = SpoolState {
            stream: StreamId(0xdead_beef),
            acked: 12,
        };

        state.save(dir.path()).unwrap();

        assert_eq!(SpoolState::load(dir.path()).unwrap(), Some(state));
        assert_eq!(
            fs::read_to_string(dir.path().join(STATE_FILE)).unwrap(),
            r#"{"version":1,"stream":"00000000deadbeef","acked":12}"#
        );
    }

    #[test]
    fn state_missing_is_none() {
        let dir = tempfile::tempdir().unwrap();

        assert_eq!(SpoolState::load(dir.path()).unwrap(), None);
    }

    #[test]
    fn state_invalid_names_file() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(STATE_FILE), "{\"version\":1}").unwrap();

        let error = SpoolState::load(dir.path()).unwrap_err();

        assert!(error.to_string().contains(STATE_FILE), "{error}");
        assert!(error.to_string().contains("missing field"), "{error}");
    }
}
