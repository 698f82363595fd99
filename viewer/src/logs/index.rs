//! The index of one daily log file: one [`Entry`] per complete line, extended as the file grows.

use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use log::debug;
use thiserror::Error;

use super::entry::{Entry, MAX_FILE_LEN};
use super::fields::LineView;
use super::severity::SeverityCache;

/// Entries per chunk. Growing the index copies only the last chunk, so a live file that gains a
/// few lines per poll costs at most this many copied entries (1.5 MB).
const CHUNK_LEN: usize = 65_536;

/// Bytes read from the file at a time while indexing. A run of this many bytes without a
/// newline is skipped as one bad line, so one corrupt region cannot stall indexing.
const READ_LEN: usize = 1 << 20;

/// Reason a log file could not be indexed or read.
#[derive(Debug, Error)]
pub enum IndexError {
    #[error("cannot read log file {path}: {source}")]
    Read { path: PathBuf, source: io::Error },

    #[error("log file {path} is larger than 2^48 bytes and cannot be indexed")]
    TooLarge { path: PathBuf },
}

/// An immutable view of a file's index at one moment. Cloning shares the entries.
#[derive(Debug, Clone)]
pub struct DayIndex {
    pub path: PathBuf,
    chunks: Vec<Arc<Vec<Entry>>>,
    len: usize,
    /// File offset just past the last indexed line.
    pub end: u64,
    /// Lines that did not parse and are left out of the index.
    pub skipped: u64,
    /// Whether entry times never decrease in file order.
    pub time_sorted: bool,
    /// Inode of the indexed file, to notice a file replaced under the same name.
    inode: u64,
    /// Length of the file at the last refresh. Bytes past `end` are an unfinished last line.
    pub file_len: u64,
}

impl DayIndex {
    /// Returns an empty index of `path`.
    pub fn empty(path: &Path) -> DayIndex {
        DayIndex {
            path: path.to_path_buf(),
            chunks: Vec::new(),
            len: 0,
            end: 0,
            skipped: 0,
            time_sorted: true,
            inode: 0,
            file_len: 0,
        }
    }

    /// Inode of the indexed file, 0 before the first refresh and for a missing file.
    pub fn inode(&self) -> u64 {
        self.inode
    }

    /// Number of indexed lines.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Returns the entry of line `index` (0-based among the indexed lines).
    pub fn entry(&self, index: usize) -> Entry {
        self.chunks[index / CHUNK_LEN][index % CHUNK_LEN]
    }

    /// Iterates over the entries in file order.
    pub fn entries(&self) -> impl DoubleEndedIterator<Item = &Entry> + '_ {
        self.chunks.iter().flat_map(|chunk| chunk.iter())
    }

    /// Returns the byte range from line `index` to the next indexed line. The range includes
    /// the line's newline and any skipped lines that follow it.
    pub fn line_range(&self, index: usize) -> (u64, u64) {
        let start = self.entry(index).offset();
        let end = if index + 1 < self.len {
            self.entry(index + 1).offset()
        } else {
            self.end
        };
        (start, end)
    }

    /// Brings the index up to date with the file on disk and returns it.
    ///
    /// Lines appended since the last call are indexed. A file that shrank or was replaced is
    /// indexed again from the start. A last line without its newline yet is left for the next
    /// call, because the sensor may still be writing it.
    pub fn refresh(&self) -> Result<DayIndex, IndexError> {
        let read_error = |source| IndexError::Read {
            path: self.path.clone(),
            source,
        };
        let file = match File::open(&self.path) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Ok(DayIndex::empty(&self.path))
            }
            Err(error) => return Err(read_error(error)),
        };
        let metadata = file.metadata().map_err(read_error)?;
        if metadata.len() > MAX_FILE_LEN {
            return Err(IndexError::TooLarge {
                path: self.path.clone(),
            });
        }

        let mut next = if metadata.ino() != self.inode || metadata.len() < self.end {
            DayIndex {
                inode: metadata.ino(),
                ..DayIndex::empty(&self.path)
            }
        } else {
            self.clone()
        };
        next.file_len = metadata.len();
        if metadata.len() == next.end {
            return Ok(next);
        }

        next.append_from(&file, metadata.len())
            .map_err(read_error)?;
        debug!(
            "indexed {} to byte {}: {} lines, {} skipped",
            next.path.display(),
            next.end,
            next.len,
            next.skipped
        );
        Ok(next)
    }

    /// Indexes the complete lines between `self.end` and `file_len`.
    fn append_from(&mut self, file: &File, file_len: u64) -> io::Result<()> {
        // Chunks are allocated at full size once, so that growing one never reallocates.
        let mut tail: Vec<Entry> = Vec::with_capacity(CHUNK_LEN);
        if let Some(last) = self.chunks.last() {
            if last.len() < CHUNK_LEN {
                tail.extend_from_slice(last);
                self.chunks.pop();
            }
        }
        let mut severities = SeverityCache::default();
        let mut last_time = if self.len > 0 {
            self.entry_in(&tail, self.len - 1).time_ms
        } else {
            0
        };

        let mut buffer = vec![0u8; READ_LEN];
        let mut position = self.end;
        while position < file_len {
            let want = READ_LEN.min((file_len - position) as usize);
            let read = file.read_at(&mut buffer[..want], position)?;
            if read == 0 {
                break;
            }

            let block = &buffer[..read];
            let mut consumed = 0;
            while let Some(newline) = memchr::memchr(b'\n', &block[consumed..]) {
                let line = &block[consumed..consumed + newline + 1];
                let offset = position + consumed as u64;
                consumed += newline + 1;

                match std::str::from_utf8(line).ok().and_then(LineView::parse) {
                    Some(parsed) => {
                        let entry = Entry::new(offset, &parsed, &mut severities);
                        if entry.time_ms < last_time {
                            self.time_sorted = false;
                        }
                        last_time = entry.time_ms;
                        tail.push(entry);
                        if tail.len() == CHUNK_LEN {
                            let full = std::mem::replace(&mut tail, Vec::with_capacity(CHUNK_LEN));
                            self.chunks.push(Arc::new(full));
                        }
                        self.len += 1;
                    }
                    _ => self.skipped += 1,
                }
            }

            if consumed == 0 {
                // No newline in a full read: skip an over-long line, or wait for the rest of a
                // short last line that is still being written.
                if read == READ_LEN {
                    self.skipped += 1;
                    let skip_to = memchr_in_file(file, position + read as u64, file_len)?;
                    match skip_to {
                        Some(after) => {
                            position = after;
                            continue;
                        }
                        None => break,
                    }
                }
                break;
            }
            position += consumed as u64;
        }

        self.end = position;
        if !tail.is_empty() {
            // A partial chunk keeps only what it uses, so many small days stay small.
            tail.shrink_to_fit();
            self.chunks.push(Arc::new(tail));
        }
        Ok(())
    }

    /// Returns entry `index` while the last chunk is detached into `tail`.
    fn entry_in(&self, tail: &[Entry], index: usize) -> Entry {
        let chunk = index / CHUNK_LEN;
        if chunk < self.chunks.len() {
            self.chunks[chunk][index % CHUNK_LEN]
        } else {
            tail[index % CHUNK_LEN]
        }
    }
}

/// Returns the offset just past the next newline at or after `from`, if the file has one.
fn memchr_in_file(file: &File, from: u64, file_len: u64) -> io::Result<Option<u64>> {
    let mut buffer = vec![0u8; READ_LEN];
    let mut position = from;
    while position < file_len {
        let want = READ_LEN.min((file_len - position) as usize);
        let read = file.read_at(&mut buffer[..want], position)?;
        if read == 0 {
            break;
        }
        if let Some(newline) = memchr::memchr(b'\n', &buffer[..read]) {
            return Ok(Some(position + newline as u64 + 1));
        }
        position += read as u64;
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn line(time: &str, src: &str) -> String {
        format!("\"2026-01-15 {time}\" s1 {src} 1 10.0.0.2 53 UDP DNS example.test \"x\" ref\n")
    }

    #[test]
    fn grows_with_appended_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("2026-01-15.log");
        let mut file = File::create(&path).unwrap();
        file.write_all(line("00:00:01.000000", "10.0.0.1").as_bytes())
            .unwrap();
        let first = DayIndex::empty(&path).refresh().unwrap();

        let partial = line("00:00:02.000000", "10.0.0.3");
        file.write_all(&partial.as_bytes()[..10]).unwrap();
        let unchanged = first.refresh().unwrap();
        file.write_all(&partial.as_bytes()[10..]).unwrap();
        let second = unchanged.refresh().unwrap();

        assert_eq!(first.len(), 1);
        assert_eq!(unchanged.len(), 1);
        assert_eq!(second.len(), 2);
        assert_eq!(second.entry(1).src, 0x0a00_0003);
        assert_eq!(second.line_range(1).1, second.end);
    }

    #[test]
    fn bad_lines_skipped_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("2026-01-15.log");
        let text = format!("garbage\n{}\u{0}\u{1}\n", line("00:00:01", "10.0.0.1"));
        std::fs::write(&path, text).unwrap();
        let index = DayIndex::empty(&path).refresh().unwrap();

        assert_eq!(index.len(), 1);
        assert_eq!(index.skipped, 2);
    }

    #[test]
    fn replaced_file_indexed_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("2026-01-15.log");
        std::fs::write(&path, line("00:00:05", "10.0.0.1").repeat(3)).unwrap();
        let old = DayIndex::empty(&path).refresh().unwrap();
        std::fs::write(&path, line("00:00:01", "10.0.0.9")).unwrap();
        let new = old.refresh().unwrap();

        assert_eq!(old.len(), 3);
        assert_eq!(new.len(), 1);
        assert_eq!(new.entry(0).src, 0x0a00_0009);
    }

    #[test]
    fn unsorted_times_detected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("2026-01-15.log");
        let text = line("00:00:05", "10.0.0.1") + &line("00:00:01", "10.0.0.1");
        std::fs::write(&path, text).unwrap();

        assert!(!DayIndex::empty(&path).refresh().unwrap().time_sorted);
    }
}
