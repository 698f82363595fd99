//! Segment files: `<first sequence, 20 digits>.seg`, each a run of records with consecutive
//! sequence numbers starting at the one in its name.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::spool::record::{decode_record, FrameError};
use crate::spool::SpoolError;

/// File name suffix of segment files.
const SEGMENT_SUFFIX: &str = ".seg";

/// One segment file as the spool tracks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Segment {
    /// Sequence number of the first record, also the file name.
    pub first: u64,
    /// Number of intact records.
    pub count: u64,
    /// Length of the intact records in bytes. The file is never longer after a scan.
    pub bytes: u64,
    pub path: PathBuf,
}

impl Segment {
    /// Returns the sequence number one past the last record.
    pub fn end(&self) -> u64 {
        self.first + self.count
    }

    /// Returns how many records have a sequence number above `acked`.
    pub fn unacked(&self, acked: u64) -> u64 {
        self.end()
            .saturating_sub(self.first.max(acked.saturating_add(1)))
    }
}

/// Result of checking a segment file at open time.
#[derive(Debug)]
pub(crate) struct Scan {
    pub segment: Segment,
    /// Bytes cut off after the last intact record, 0 when the file was intact.
    pub cut_bytes: u64,
}

/// Returns the file name of the segment whose first record has `first`.
pub(crate) fn segment_file_name(first: u64) -> String {
    format!("{first:020}{SEGMENT_SUFFIX}")
}

/// Lists the segment files in `dir` by first sequence. Logs a warning for each other file
/// that is not one of `known`, such as a `.seg` file whose name is not a valid sequence.
pub(crate) fn list_segments(dir: &Path, known: &[&str]) -> Result<Vec<(u64, PathBuf)>, SpoolError> {
    let io_error = |source| SpoolError::Io {
        path: dir.to_path_buf(),
        source,
    };

    let mut found = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_error)? {
        let entry = entry.map_err(io_error)?;
        let name = entry.file_name();
        let Some(first) = name.to_str().and_then(parse_segment_file_name) else {
            let is_known = name.to_str().is_some_and(|name| known.contains(&name));
            if !is_known {
                log::warn!(
                    "spool folder {} contains {:?}, which is not a segment file \
                     (<20-digit first sequence from 1>.seg) nor a spool file; it is ignored, so \
                     move it out of the folder",
                    dir.display(),
                    name
                );
            }
            continue;
        };
        found.push((first, entry.path()));
    }

    found.sort_unstable_by_key(|(first, _)| *first);
    Ok(found)
}

fn parse_segment_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(SEGMENT_SUFFIX)?;
    if digits.len() != 20 || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|first| *first >= 1)
}

/// Reads the segment file at `path`, counts its intact records and cuts off whatever follows
/// the last one: a record torn by a power cut, damaged bytes, or a record whose sequence
/// number breaks the run. Fsyncs the file, so that the records counted are on disk.
pub(crate) fn scan_segment(first: u64, path: &Path) -> Result<Scan, SpoolError> {
    let io_error = |source| SpoolError::Io {
        path: path.to_path_buf(),
        source,
    };
    let bytes = fs::read(path).map_err(io_error)?;

    let mut offset = 0;
    let mut count = 0u64;
    while offset < bytes.len() {
        match decode_record(&bytes[offset..]) {
            Ok(record) if record.sequence == first + count => {
                offset += record.encoded_len;
                count += 1;
            }
            Ok(_) | Err(_) => break,
        }
    }

    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io_error)?;
    let cut_bytes = (bytes.len() - offset) as u64;
    if cut_bytes > 0 {
        file.set_len(offset as u64).map_err(io_error)?;
    }
    file.sync_all().map_err(io_error)?;

    Ok(Scan {
        segment: Segment {
            first,
            count,
            bytes: offset as u64,
            path: path.to_path_buf(),
        },
        cut_bytes,
    })
}

/// Reads up to `len` bytes of `segment` from `offset`. Returns fewer only when the file is
/// shorter than the spool expects, which the caller treats as damage.
pub(crate) fn read_chunk(segment: &Segment, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    let file = File::open(&segment.path)?;
    let mut chunk = vec![0u8; len];
    let mut filled = 0;

    while filled < len {
        let read = file.read_at(&mut chunk[filled..], offset + filled as u64)?;
        if read == 0 {
            break;
        }
        filled += read;
    }

    chunk.truncate(filled);
    Ok(chunk)
}

/// Returns whether a decode failure at the end of a chunk only means that the chunk stops
/// inside a record that the segment contains whole.
pub(crate) fn is_cut_by_chunk(error: &FrameError, chunk_end: u64, segment: &Segment) -> bool {
    matches!(error, FrameError::Incomplete { .. }) && chunk_end < segment.bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spool::record::encode_record;

    fn write_segment(dir: &Path, first: u64, count: u64) -> (PathBuf, Vec<u8>) {
        let path = dir.join(segment_file_name(first));
        let mut bytes = Vec::new();
        for sequence in first..first + count {
            encode_record(sequence, &format!("line {sequence}\n"), &mut bytes);
        }
        fs::write(&path, &bytes).unwrap();
        (path, bytes)
    }

    #[test]
    fn segment_names_sort_by_sequence() {
        let dir = tempfile::tempdir().unwrap();
        for first in [100, 9, 1_000_000] {
            fs::write(dir.path().join(segment_file_name(first)), b"").unwrap();
        }
        fs::write(dir.path().join("state.json"), b"{}").unwrap();
        fs::write(dir.path().join("12.seg"), b"").unwrap();

        let firsts: Vec<u64> = list_segments(dir.path(), &["state.json"])
            .unwrap()
            .into_iter()
            .map(|(first, _)| first)
            .collect();

        assert_eq!(firsts, [9, 100, 1_000_000]);
        assert_eq!(segment_file_name(9), "00000000000000000009.seg");
    }

    #[test]
    fn scan_counts_intact_segment() {
        let dir = tempfile::tempdir().unwrap();
        let (path, bytes) = write_segment(dir.path(), 5, 3);

        let scan = scan_segment(5, &path).unwrap();

        assert_eq!(scan.cut_bytes, 0);
        assert_eq!(scan.segment.count, 3);
        assert_eq!(scan.segment.end(), 8);
        assert_eq!(scan.segment.bytes, bytes.len() as u64);
    }

    #[test]
    fn scan_cuts_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let (path, bytes) = write_segment(dir.path(), 5, 3);
        let intact = fs::metadata(&path).unwrap().len();
        let mut torn = bytes.clone();
        encode_record(8, "the torn line\n", &mut torn);
        torn.truncate(torn.len() - 4);
        fs::write(&path, &torn).unwrap();

        let scan = scan_segment(5, &path).unwrap();

        assert_eq!(scan.cut_bytes, (torn.len() - bytes.len()) as u64);
        assert_eq!(scan.segment.count, 3);
        assert_eq!(fs::metadata(&path).unwrap().len(), intact);
    }

    #[test]
    fn scan_stops_at_sequence_break() {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut bytes) = write_segment(dir.path(), 5, 2);
        encode_record(9, "out of order\n", &mut bytes);
        fs::write(&path, &bytes).unwrap();

        let scan = scan_segment(5, &path).unwrap();

        assert!(scan.cut_bytes > 0);
        assert_eq!(scan.segment.count, 2);
    }

    #[test]
    fn unacked_counts_records_above_ack() {
        let segment = Segment {
            first: 10,
            count: 5,
            bytes: 0,
            path: PathBuf::new(),
        };

        assert_eq!(segment.unacked(0), 5);
        assert_eq!(segment.unacked(11), 3);
        assert_eq!(segment.unacked(14), 0);
        assert_eq!(segment.unacked(u64::MAX), 0);
    }
}
