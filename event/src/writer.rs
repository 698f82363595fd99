//! The daily log files: `DIR/YYYY-MM-DD.log`, and `DIR/YYYY-MM-DD.json` beside it when JSON
//! output is on, chosen by the local date of each event's packet time.
//!
//! Every line goes out in exactly one `write(2)` call on a file opened with `O_APPEND`. The
//! kernel appends each such write as a whole, so lines from several writers (threads or
//! processes) on one file never interleave, and a crash of this process cannot tear a line.
//! A short write, where the kernel accepts only part of the line as a filling disk can do, is
//! reported as an error. The rest of the line is never written, because a second `write(2)` for
//! the tail could land after another writer's line and tear both. Instead, the next line to that
//! file starts with a newline, so the fragment stays a line of its own and later lines parse.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use thiserror::Error;

use crate::event::Event;

/// Number of daily files kept open. Two covers an offline replay whose packets go back and forth
/// across one midnight. A third date closes the least recently used one.
const OPEN_DAYS: usize = 2;

/// Permission bits of a new log file, before the umask: the viewer and log tailers may run as
/// other users.
const FILE_MODE: u32 = 0o644;

/// Failure to create the log directory or to write a line.
#[derive(Debug, Error)]
pub enum LogError {
    #[error("failed to create log directory {}: {source}", dir.display())]
    CreateDir { dir: PathBuf, source: io::Error },

    #[error("log directory {} exists but is not a directory; choose another path", dir.display())]
    NotADirectory { dir: PathBuf },

    #[error("failed to open log file {}: {source}", path.display())]
    Open { path: PathBuf, source: io::Error },

    #[error("no space left for log file {} (disk full or quota exceeded): {source}", path.display())]
    NoSpace { path: PathBuf, source: io::Error },

    #[error(
        "short write to log file {}: {written} of {expected} bytes written, the line is cut",
        path.display()
    )]
    ShortWrite {
        path: PathBuf,
        written: usize,
        expected: usize,
    },

    #[error("failed to write to log file {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
}

impl LogError {
    /// Returns whether the error means a full disk (`ENOSPC`) or an exceeded quota (`EDQUOT`).
    pub fn is_no_space(&self) -> bool {
        matches!(self, LogError::NoSpace { .. })
    }
}

/// Counters of a [`LogWriter`]. Each line counts once, text and JSON lines alike.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Lines written whole.
    pub lines_written: u64,
    /// Bytes of the lines written whole.
    pub bytes_written: u64,
    /// Lines lost to a full disk or an exceeded quota, at open or at write.
    pub failed_no_space: u64,
    /// Lines lost to any other error, including short writes.
    pub failed_other: u64,
}

/// Writer of the daily log files of one directory.
#[derive(Debug)]
pub struct LogWriter {
    dir: PathBuf,
    json: bool,
    /// Files of the most recently used dates, most recent first, at most [`OPEN_DAYS`].
    days: Vec<DayFiles>,
    text_line: String,
    json_line: Vec<u8>,
    stats: WriterStats,
}

/// The files of one local date.
#[derive(Debug)]
struct DayFiles {
    date: NaiveDate,
    text: LogFile,
    json: Option<LogFile>,
}

/// One log file, opened on first use and closed after a failed write so that the next write
/// opens the path again: a file replaced or a disk freed in the meantime is then picked up.
#[derive(Debug)]
struct LogFile {
    path: PathBuf,
    file: Option<File>,
    /// Whether the last write to this path was short and left a line without its newline.
    torn: bool,
}

impl LogWriter {
    /// Creates `dir` if it is missing and returns a writer for it. Files are opened on the
    /// first event of each date. With `json` on, every event also goes to the `.json` file.
    pub fn open(dir: &Path, json: bool) -> Result<LogWriter, LogError> {
        if dir.exists() && !dir.is_dir() {
            return Err(LogError::NotADirectory {
                dir: dir.to_path_buf(),
            });
        }
        fs::create_dir_all(dir).map_err(|source| LogError::CreateDir {
            dir: dir.to_path_buf(),
            source,
        })?;

        Ok(LogWriter {
            dir: dir.to_path_buf(),
            json,
            days: Vec::with_capacity(OPEN_DAYS),
            text_line: String::new(),
            json_line: Vec::new(),
            stats: WriterStats::default(),
        })
    }

    /// Returns the log directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends the event to the file of its local date, and to the JSON file when JSON is on.
    ///
    /// Each failure is counted in [`LogWriter::stats`] and returned. A failed line is not
    /// written again, and the next call reopens the file before writing its own line. With JSON
    /// on, a failed text line does not stop the JSON line, and the first error is returned.
    pub fn write(&mut self, event: &Event) -> Result<(), LogError> {
        let offset = event.time.local_offset();
        let date = event.log_date_with_offset(offset);
        let day = select_day(&mut self.days, &self.dir, self.json, date);

        self.text_line.clear();
        event.format_with_offset(offset, &mut self.text_line);
        let text_result = day.text.append(self.text_line.as_bytes(), &mut self.stats);

        let json_result = match &mut day.json {
            Some(json) => {
                self.json_line.clear();
                event.write_json_line(offset, &mut self.json_line);
                json.append(&self.json_line, &mut self.stats)
            }
            None => Ok(()),
        };

        text_result.and(json_result)
    }

    /// Returns the counters since [`LogWriter::open`].
    pub fn stats(&self) -> WriterStats {
        self.stats
    }
}

/// Returns the files of `date` from `days` (most recently used first), moving them to the front.
/// A date not in `days` gets new entries, and the least recently used date is closed if `days`
/// is full.
fn select_day<'a>(
    days: &'a mut Vec<DayFiles>,
    dir: &Path,
    json: bool,
    date: NaiveDate,
) -> &'a mut DayFiles {
    match days.iter().position(|day| day.date == date) {
        Some(index) => days[..=index].rotate_right(1),
        None => {
            if days.len() >= OPEN_DAYS {
                days.pop();
            }
            let stem = date.format("%Y-%m-%d").to_string();
            let day = DayFiles {
                date,
                text: LogFile::new(dir.join(format!("{stem}.log"))),
                json: json.then(|| LogFile::new(dir.join(format!("{stem}.json")))),
            };
            days.insert(0, day);
        }
    }

    &mut days[0]
}

impl LogFile {
    fn new(path: PathBuf) -> LogFile {
        LogFile {
            path,
            file: None,
            torn: false,
        }
    }

    /// Writes `line` (which ends in a newline) with one `write(2)`, preceded by a newline when
    /// the previous write to this path was short. Counts the outcome in `stats`.
    fn append(&mut self, line: &[u8], stats: &mut WriterStats) -> Result<(), LogError> {
        let result = self.try_append(line);

        match &result {
            Ok(written) => {
                stats.lines_written += 1;
                stats.bytes_written += *written as u64;
            }
            Err(error) if error.is_no_space() => stats.failed_no_space += 1,
            Err(_) => stats.failed_other += 1,
        }

        result.map(|_| ())
    }

    fn try_append(&mut self, line: &[u8]) -> Result<usize, LogError> {
        let mut file = match self.file.take() {
            Some(file) => file,
            None => open_append(&self.path)?,
        };

        // The repair newline goes in the same write as the line, so it cannot be separated from
        // it. This copy happens only after a short write.
        let repaired;
        let bytes = if self.torn {
            repaired = [b"\n", line].concat();
            &repaired[..]
        } else {
            line
        };

        // After a failure the file is dropped (closed), so the next write opens the path again.
        match write_once(&mut file, bytes) {
            Ok(()) => {
                self.torn = false;
                self.file = Some(file);
                Ok(bytes.len())
            }
            Err(failure) => Err(self.classify(failure, bytes.len())),
        }
    }

    fn classify(&mut self, failure: WriteFailure, expected: usize) -> LogError {
        let path = self.path.clone();
        match failure {
            WriteFailure::Short { written } => {
                self.torn |= written > 0;
                LogError::ShortWrite {
                    path,
                    written,
                    expected,
                }
            }
            WriteFailure::Io(source) if is_no_space(&source) => LogError::NoSpace { path, source },
            WriteFailure::Io(source) => LogError::Write { path, source },
        }
    }
}

/// Opens `path` for appending (`O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC`, mode 0644 before
/// the umask). Never truncates: an existing file keeps its lines.
fn open_append(path: &Path) -> Result<File, LogError> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(FILE_MODE)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
        .map_err(|source| {
            let path = path.to_path_buf();
            if is_no_space(&source) {
                LogError::NoSpace { path, source }
            } else {
                LogError::Open { path, source }
            }
        })
}

fn is_no_space(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
}

/// Failure of [`write_once`] to write the whole buffer.
#[derive(Debug)]
enum WriteFailure {
    Short { written: usize },
    Io(io::Error),
}

/// Writes `bytes` with a single `write` call (one `write(2)` for a `File`).
///
/// `EINTR` is retried because an interrupted `write(2)` has written nothing. A partial write is
/// returned as [`WriteFailure::Short`] and its tail is never written.
fn write_once(sink: &mut impl Write, bytes: &[u8]) -> Result<(), WriteFailure> {
    loop {
        match sink.write(bytes) {
            Ok(written) if written == bytes.len() => return Ok(()),
            Ok(written) => return Err(WriteFailure::Short { written }),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(WriteFailure::Io(error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink that accepts at most `limit` bytes per call and records each call.
    struct CappedSink {
        limit: usize,
        calls: Vec<Vec<u8>>,
    }

    impl Write for CappedSink {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            let accepted = bytes.len().min(self.limit);
            self.calls.push(bytes[..accepted].to_vec());
            Ok(accepted)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// A sink that fails with `EINTR` on its first call.
    struct InterruptedOnce {
        interrupted: bool,
        written: Vec<u8>,
    }

    impl Write for InterruptedOnce {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            if !self.interrupted {
                self.interrupted = true;
                return Err(io::Error::from_raw_os_error(libc::EINTR));
            }
            self.written.extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn short_write_is_not_completed() {
        let mut sink = CappedSink {
            limit: 4,
            calls: Vec::new(),
        };
        let result = write_once(&mut sink, b"0123456789\n");

        assert!(matches!(result, Err(WriteFailure::Short { written: 4 })));
        assert_eq!(sink.calls.len(), 1);
    }

    #[test]
    fn interrupted_write_is_retried() {
        let mut sink = InterruptedOnce {
            interrupted: false,
            written: Vec::new(),
        };

        assert!(write_once(&mut sink, b"line\n").is_ok());
        assert_eq!(sink.written, b"line\n");
    }

    #[test]
    fn short_write_marks_file_torn() {
        let mut file = LogFile::new(PathBuf::from("unused.log"));
        let error = file.classify(WriteFailure::Short { written: 3 }, 10);

        assert!(matches!(
            error,
            LogError::ShortWrite {
                written: 3,
                expected: 10,
                ..
            }
        ));
        assert!(file.torn);
    }

    #[test]
    fn empty_short_write_not_torn() {
        let mut file = LogFile::new(PathBuf::from("unused.log"));
        let _ = file.classify(WriteFailure::Short { written: 0 }, 10);

        assert!(!file.torn);
    }

    #[test]
    fn enospc_and_edquot_mean_no_space() {
        let mut file = LogFile::new(PathBuf::from("unused.log"));
        for errno in [libc::ENOSPC, libc::EDQUOT] {
            let failure = WriteFailure::Io(io::Error::from_raw_os_error(errno));

            assert!(file.classify(failure, 1).is_no_space(), "errno {errno}");
        }
    }

    #[test]
    fn torn_file_repairs_next_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("day.log");
        fs::write(&path, b"frag").unwrap();
        let mut file = LogFile::new(path.clone());
        file.torn = true;
        let mut stats = WriterStats::default();

        file.append(b"next\n", &mut stats).unwrap();

        assert_eq!(fs::read(&path).unwrap(), b"frag\nnext\n");
    }
}
