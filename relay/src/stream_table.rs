//! The receiver's state: the highest stored sequence of each (sensor, stream), persisted in one
//! JSON file that is replaced atomically.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::atomic_file::{lock_exclusive, write_atomic};
use crate::batch::{validate_sensor_id, StreamId};

/// Default maximum number of (sensor, stream) entries. Each entry is about 80 bytes in the
/// file, which is rewritten on every accepted batch, so 4096 entries keep a write near 320 KiB.
pub const DEFAULT_MAX_STREAMS: usize = 4096;

/// Format version of the state file.
const STATE_VERSION: u32 = 1;

/// Failure to load or save the receiver's state file.
#[derive(Debug, Error)]
pub enum StateError {
    #[error("failed to read intake state file {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },

    #[error("failed to lock {}: {source}", path.display())]
    Lock { path: PathBuf, source: io::Error },

    #[error(
        "intake state file {} is in use by another intake; give each intake its own state file",
        path.display()
    )]
    Locked { path: PathBuf },

    #[error(
        "invalid intake state file {}: {reason}; fix or remove it (removing it lets sensors \
         deliver events the viewer already has once more)",
        path.display()
    )]
    Invalid { path: PathBuf, reason: String },

    #[error("failed to write intake state file {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    version: u32,
    streams: Vec<StreamEntry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StreamEntry {
    sensor: String,
    stream: String,
    acked: u64,
}

/// Highest stored sequence per (sensor, stream), bounded to a maximum number of entries.
#[derive(Debug)]
pub(crate) struct StreamTable {
    path: PathBuf,
    /// Lock file `<path>.lock`, whose `flock(2)` lasts as long as the table is open.
    _lock: File,
    max_streams: usize,
    /// Highest stored sequence by sensor id, then stream.
    entries: HashMap<String, HashMap<StreamId, u64>>,
    /// Number of (sensor, stream) entries.
    len: usize,
    /// Whether memory contains changes that the file lacks.
    dirty: bool,
}

impl StreamTable {
    /// Locks `<path>.lock` and loads the table from `path`, or starts empty when the file does
    /// not exist. A file with more than `max_streams` entries loads whole, but takes no new
    /// streams.
    pub(crate) fn open(path: &Path, max_streams: usize) -> Result<StreamTable, StateError> {
        let mut lock_path = OsString::from(path.as_os_str());
        lock_path.push(".lock");
        let lock_path = PathBuf::from(lock_path);
        let lock = lock_exclusive(&lock_path)
            .map_err(|source| StateError::Lock {
                path: lock_path,
                source,
            })?
            .ok_or_else(|| StateError::Locked {
                path: path.to_path_buf(),
            })?;

        let mut table = StreamTable {
            path: path.to_path_buf(),
            _lock: lock,
            max_streams,
            entries: HashMap::new(),
            len: 0,
            dirty: false,
        };
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(table),
            Err(source) => {
                return Err(StateError::Read {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };

        let invalid = |reason: String| StateError::Invalid {
            path: path.to_path_buf(),
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
        for entry in file.streams {
            validate_sensor_id(&entry.sensor).map_err(|error| invalid(error.to_string()))?;
            let stream = StreamId::parse(&entry.stream).ok_or_else(|| {
                invalid(format!("stream {:?} is not 16 hex digits", entry.stream))
            })?;
            table.insert(entry.sensor, stream, entry.acked);
        }
        Ok(table)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn max_streams(&self) -> usize {
        self.max_streams
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Returns the highest stored sequence of (sensor, stream), or `None` for a new stream.
    pub(crate) fn get(&self, sensor: &str, stream: StreamId) -> Option<u64> {
        self.entries.get(sensor)?.get(&stream).copied()
    }

    /// Returns whether an entry for a new stream would exceed the maximum.
    pub(crate) fn is_full(&self) -> bool {
        self.len >= self.max_streams
    }

    /// Raises the stored sequence of (sensor, stream) in memory, adding the entry if it is new.
    /// [`StreamTable::save`] persists it.
    pub(crate) fn raise(&mut self, sensor: &str, stream: StreamId, acked: u64) {
        let current = self.get(sensor, stream);
        if current.is_none_or(|current| acked > current) {
            self.insert(sensor.to_string(), stream, acked);
            self.dirty = true;
        }
    }

    fn insert(&mut self, sensor: String, stream: StreamId, acked: u64) {
        let streams = self.entries.entry(sensor).or_default();
        if streams.insert(stream, acked).is_none() {
            self.len += 1;
        }
    }

    #[cfg(test)]
    pub(crate) fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Writes the table atomically if it changed since the last save. Entries are sorted, so
    /// the file is stable for the same content.
    pub(crate) fn save(&mut self) -> Result<(), StateError> {
        if !self.dirty {
            return Ok(());
        }

        let mut streams: Vec<StreamEntry> = Vec::with_capacity(self.len);
        for (sensor, by_stream) in &self.entries {
            for (stream, acked) in by_stream {
                streams.push(StreamEntry {
                    sensor: sensor.clone(),
                    stream: stream.to_string(),
                    acked: *acked,
                });
            }
        }
        streams.sort_unstable_by(|a, b| (&a.sensor, &a.stream).cmp(&(&b.sensor, &b.stream)));
        let file = StateFile {
            version: STATE_VERSION,
            streams,
        };
        // Strings and integers serialize without error.
        let text = serde_json::to_string_pretty(&file).expect("intake state serializes to JSON");

        write_atomic(&self.path, text.as_bytes()).map_err(|source| StateError::Write {
            path: self.path.clone(),
            source,
        })?;
        self.dirty = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("intake.json");
        let mut table = StreamTable::open(&path, 10).unwrap();

        table.raise("pi-a", StreamId(1), 5);
        table.raise("pi-a", StreamId(1), 3);
        table.raise("pi-b", StreamId(2), 9);
        table.save().unwrap();
        drop(table);
        let loaded = StreamTable::open(&path, 10).unwrap();

        assert_eq!(loaded.get("pi-a", StreamId(1)), Some(5));
        assert_eq!(loaded.get("pi-b", StreamId(2)), Some(9));
        assert_eq!(loaded.get("pi-b", StreamId(1)), None);
        assert!(!loaded.is_dirty());
    }

    #[test]
    fn second_open_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("intake.json");
        let _first = StreamTable::open(&path, 10).unwrap();

        let second = StreamTable::open(&path, 10);

        assert!(matches!(second, Err(StateError::Locked { .. })));
    }

    #[test]
    fn table_reports_full() {
        let dir = tempfile::tempdir().unwrap();
        let mut table = StreamTable::open(&dir.path().join("intake.json"), 2).unwrap();

        table.raise("pi", StreamId(1), 1);
        assert!(!table.is_full());
        table.raise("pi", StreamId(2), 1);

        assert!(table.is_full());
    }

    #[test]
    fn table_rejects_invalid_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("intake.json");
        let cases = [
            "not json",
            r#"{"version":2,"streams":[]}"#,
            r#"{"version":1,"streams":[{"sensor":"a b","stream":"0000000000000001","acked":1}]}"#,
            r#"{"version":1,"streams":[{"sensor":"a","stream":"1","acked":1}]}"#,
        ];

        for text in cases {
            fs::write(&path, text).unwrap();
            let error = StreamTable::open(&path, 10).unwrap_err();
            assert!(error.to_string().contains("intake.json"), "{text}: {error}");
        }
    }
}
