//! Appending whole log lines from remote sensors to the daily logs `LOG_DIR/YYYY-MM-DD.log`.
//!
//! The local sensor's `LogWriter` and both intakes may append to the same file at once. Each
//! file is opened with `O_APPEND`, and each call writes the lines of one date in one
//! `write(2)`, which the kernel appends as a whole, so lines of different writers never
//! interleave. A short write is an error and is never completed by a second call, because the
//! tail could land after another writer's line. The next write to that file starts with a
//! newline instead, so the cut line stays a line of its own.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use trailwatch_event::parse_log_line;

/// Number of daily files kept open. Remote sensors send mostly today's events, and a backlog
/// after an outage adds the days before it, so a few handles avoid most reopening.
const OPEN_DAYS: usize = 4;

/// Permission bits of a new log file before the umask, as the sensor's own writer uses.
const FILE_MODE: u32 = 0o644;

/// Appender for the daily logs of one folder.
#[derive(Debug)]
pub struct DailyAppender {
    dir: PathBuf,
    /// Whether each write is fsynced before it returns.
    durable: bool,
    /// Open files, most recently used first, at most [`OPEN_DAYS`].
    days: Vec<DayFile>,
    /// Dates whose file was closed after a short write, so that their next line starts with a
    /// newline.
    torn_dates: Vec<NaiveDate>,
    buffer: Vec<u8>,
}

#[derive(Debug)]
struct DayFile {
    date: NaiveDate,
    file: File,
    /// Whether the last write was short and left a line without its newline.
    torn: bool,
}

impl DailyAppender {
    /// Creates `dir` if it is missing. With `durable`, every append is on disk (file data and,
    /// for a new file, the folder entry) before it returns.
    pub fn open(dir: &Path, durable: bool) -> io::Result<DailyAppender> {
        fs::create_dir_all(dir).map_err(|error| {
            io::Error::new(
                error.kind(),
                format!("failed to create log folder {}: {error}", dir.display()),
            )
        })?;

        Ok(DailyAppender {
            dir: dir.to_path_buf(),
            durable,
            days: Vec::with_capacity(OPEN_DAYS),
            torn_dates: Vec::new(),
            buffer: Vec::new(),
        })
    }

    /// Returns the path of the daily log of `date`.
    pub fn path_of(&self, date: NaiveDate) -> PathBuf {
        self.dir.join(format!("{}.log", date.format("%Y-%m-%d")))
    }

    /// Appends `lines`, each one whole log line ending in `\n`, to the files of their dates.
    ///
    /// Lines keep their order within each date. A line whose time field cannot be read is an
    /// `InvalidData` error, checked before anything is written. When a later date fails, the
    /// earlier dates stay written.
    pub fn append_lines(&mut self, lines: &[String]) -> io::Result<()> {
        let mut dated = Vec::with_capacity(lines.len());
        for line in lines {
            dated.push((line_date(line)?, line.as_str()));
        }

        let mut dates: Vec<NaiveDate> = dated.iter().map(|(date, _)| *date).collect();
        dates.sort_unstable();
        dates.dedup();
        for date in dates {
            let group = dated
                .iter()
                .filter(|(line_date, _)| *line_date == date)
                .map(|(_, line)| *line);
            self.append_group(date, group)?;
        }
        Ok(())
    }

    /// Appends one line ending in `\n` to the file of `date`.
    pub fn append_line(&mut self, date: NaiveDate, line: &str) -> io::Result<()> {
        self.append_group(date, std::iter::once(line))
    }

    fn append_group<'a>(
        &mut self,
        date: NaiveDate,
        lines: impl Iterator<Item = &'a str>,
    ) -> io::Result<()> {
        let created = self.select(date)?;
        let path = self.path_of(date);
        let day = &mut self.days[0];

        self.buffer.clear();
        if day.torn {
            self.buffer.push(b'\n');
        }
        for line in lines {
            self.buffer.extend_from_slice(line.as_bytes());
        }

        if let Err(error) = write_once(&mut day.file, &self.buffer, &path) {
            // Reopen on the next write, which picks up a replaced file or a freed disk.
            if error.kind() == io::ErrorKind::WriteZero {
                self.torn_dates.push(date);
            }
            self.days.remove(0);
            return Err(error);
        }
        day.torn = false;

        if self.durable {
            day.file
                .sync_data()
                .map_err(|error| annotate(error, "fsync", &path))?;
            if created {
                File::open(&self.dir)
                    .and_then(|dir| dir.sync_all())
                    .map_err(|error| annotate(error, "fsync the folder of", &path))?;
            }
        }
        Ok(())
    }

    /// Moves the file of `date` to the front, opening it if needed. Returns whether the file
    /// was created by this call.
    fn select(&mut self, date: NaiveDate) -> io::Result<bool> {
        if let Some(index) = self.days.iter().position(|day| day.date == date) {
            self.days[..=index].rotate_right(1);
            return Ok(false);
        }

        let path = self.path_of(date);
        let existed = path.exists();
        let file = open_append(&path)?;
        let torn = self.torn_dates.contains(&date);
        self.torn_dates.retain(|torn_date| *torn_date != date);
        if self.days.len() >= OPEN_DAYS {
            self.days.pop();
        }
        self.days.insert(0, DayFile { date, file, torn });
        Ok(!existed)
    }
}

/// Returns the local date of a log line's time field.
pub fn line_date(line: &str) -> io::Result<NaiveDate> {
    let fields = parse_log_line(line)
        .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error.to_string()))?;
    let time = fields.local_time().map_err(|error| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("invalid time field {:?}: {error}", fields.time),
        )
    })?;
    Ok(time.date())
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(FILE_MODE)
        .open(path)
        .map_err(|error| annotate(error, "open", path))
}

/// Writes `bytes` in one `write(2)`. A short write is a `WriteZero` error.
fn write_once(file: &mut File, bytes: &[u8], path: &Path) -> io::Result<()> {
    let written = loop {
        match file.write(bytes) {
            Ok(written) => break written,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(annotate(error, "write", path)),
        }
    };
    if written < bytes.len() {
        return Err(io::Error::new(
            io::ErrorKind::WriteZero,
            format!(
                "short write to {}: {written} of {} bytes written, the last line is cut",
                path.display(),
                bytes.len()
            ),
        ));
    }
    Ok(())
}

fn annotate(error: io::Error, action: &str, path: &Path) -> io::Error {
    io::Error::new(
        error.kind(),
        format!("failed to {action} log file {}: {error}", path.display()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(time: &str, trail: &str) -> String {
        format!("\"{time}\" pi 10.0.0.5 5000 10.0.0.1 53 UDP DNS {trail} malware (static)\n")
    }

    #[test]
    fn lines_split_by_date() {
        let dir = tempfile::tempdir().unwrap();
        let mut appender = DailyAppender::open(dir.path(), true).unwrap();
        let lines = [
            line("2026-03-01 23:59:59.000000", "a.test"),
            line("2026-03-02 00:00:01.000000", "b.test"),
            line("2026-03-01 23:59:59.500000", "c.test"),
        ];

        appender.append_lines(&lines).unwrap();

        let first = fs::read_to_string(dir.path().join("2026-03-01.log")).unwrap();
        let second = fs::read_to_string(dir.path().join("2026-03-02.log")).unwrap();
        assert_eq!(first, format!("{}{}", lines[0], lines[2]));
        assert_eq!(second, lines[1]);
    }

    #[test]
    fn bad_time_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut appender = DailyAppender::open(dir.path(), false).unwrap();
        let lines = [
            line("2026-03-01 10:00:00.000000", "a.test"),
            line("yesterday", "b.test"),
        ];

        let error = appender.append_lines(&lines).unwrap_err();

        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn appends_after_other_writer() {
        let dir = tempfile::tempdir().unwrap();
        let mut appender = DailyAppender::open(dir.path(), false).unwrap();
        let date = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let first = line("2026-03-01 10:00:00.000000", "a.test");
        let second = line("2026-03-01 10:00:01.000000", "b.test");
        let third = line("2026-03-01 10:00:02.000000", "c.test");

        appender.append_line(date, &first).unwrap();
        let mut other = open_append(&appender.path_of(date)).unwrap();
        other.write_all(second.as_bytes()).unwrap();
        appender.append_line(date, &third).unwrap();

        let text = fs::read_to_string(appender.path_of(date)).unwrap();
        assert_eq!(text, format!("{first}{second}{third}"));
    }
}
