//! The newest events of a day, read backwards from the end of its file without an index.
//!
//! Indexing a day of a million events takes most of a second, too long for the first page
//! the UI shows. The default view (newest first, no filter) only needs the last lines of the
//! file, because the sensor appends events in time order. The index then builds in the
//! background and gives the total on a later request.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::entry::time_of_day_ms;
use super::fields::LineView;
use super::record::EventRecord;

/// Events the backward read returns at most; larger pages use the index.
pub const MAX_TAIL_EVENTS: usize = 1000;

/// Bytes read per step from the end of the file.
const BLOCK_LEN: usize = 64 * 1024;

/// Maximum line length kept while reading backwards. A longer line is skipped, as the index
/// skips it.
const MAX_LINE_LEN: usize = 1 << 20;

/// Returns up to `count` of the last events in the file at `path`, newest first, or `None`
/// when their times are not in file order, so that only the index can sort them.
///
/// Lines that do not parse are skipped, as the index skips them. A last line without its
/// newline is left out, because the sensor may still be writing it. A missing file has no
/// events.
pub fn newest(path: &Path, count: usize) -> io::Result<Option<Vec<EventRecord>>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Some(Vec::new())),
        Err(error) => return Err(error),
    };
    let mut end = file.metadata()?.len();
    let mut events = Vec::with_capacity(count.min(MAX_TAIL_EVENTS));
    let mut previous_time = u32::MAX;
    // Bytes after the last newline seen so far: the start of a line whose newline is in the
    // block read before it, or an unfinished last line.
    let mut carry: Vec<u8> = Vec::new();
    let mut at_file_end = true;
    let mut block = vec![0u8; BLOCK_LEN];

    while events.len() < count && end > 0 {
        let start = end.saturating_sub(BLOCK_LEN as u64);
        let read = &mut block[..(end - start) as usize];
        file.read_exact_at(read, start)?;
        end = start;

        let mut bytes = read.to_vec();
        bytes.extend_from_slice(&carry);
        carry.clear();

        // Lines from the end of this block backwards. The part before the first newline is
        // incomplete unless the block starts the file.
        let mut stop = bytes.len();
        if at_file_end {
            // The file's last line counts only once its newline is written.
            match memchr::memrchr(b'\n', &bytes) {
                Some(newline) => stop = newline + 1,
                None => {
                    if start == 0 {
                        break;
                    }
                    carry = bytes;
                    continue;
                }
            }
            at_file_end = false;
        }
        let mut line_end = stop;
        loop {
            let line_start = match memchr::memrchr(b'\n', &bytes[..line_end.saturating_sub(1)]) {
                Some(newline) => newline + 1,
                None if start == 0 => 0,
                None => {
                    if line_end <= MAX_LINE_LEN {
                        carry = bytes[..line_end].to_vec();
                    }
                    break;
                }
            };
            let line = &bytes[line_start..line_end];
            if let Some(record) = parse(line) {
                if record.0 > previous_time {
                    return Ok(None);
                }
                previous_time = record.0;
                events.push(record.1);
                if events.len() == count {
                    return Ok(Some(events));
                }
            }
            if line_start == 0 {
                break;
            }
            line_end = line_start;
        }
    }
    Ok(Some(events))
}

/// Parses one line with its newline into its time of day in milliseconds and its record.
fn parse(line: &[u8]) -> Option<(u32, EventRecord)> {
    let text = std::str::from_utf8(line).ok()?;
    let view = LineView::parse(text.trim_end_matches(['\n', '\r']))?;
    let time = time_of_day_ms(&view.time).unwrap_or(u32::MAX);
    Some((time, EventRecord::from_view(&view)))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn line(second: u32, src: &str) -> String {
        format!(
            "\"2026-12-04 10:00:{second:02}.000000\" edge1 {src} 40000 192.0.2.1 443 TCP IP \
             bad.test \"known bad\" \"feed.test\"\n"
        )
    }

    fn write(dir: &Path, text: &str) -> std::path::PathBuf {
        let path = dir.join("2026-12-04.log");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        path
    }

    #[test]
    fn newest_first_across_blocks() {
        let dir = tempfile::tempdir().unwrap();
        // About 3 blocks of lines, so that lines straddle block boundaries.
        let mut text = String::new();
        for i in 0..1500u32 {
            text.push_str(&line(i / 30, &format!("10.0.{}.{}", i / 256, i % 256)));
        }
        let path = write(dir.path(), &text);

        let events = newest(&path, 1000).unwrap().unwrap();
        let sources: Vec<&str> = events.iter().map(|e| e.src_ip.as_str()).collect();

        assert_eq!(events.len(), 1000);
        assert_eq!(sources[0], "10.0.5.219");
        assert_eq!(sources[999], "10.0.1.244");
    }

    #[test]
    fn whole_file_and_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "{}not a log line\n{}{}",
            line(1, "10.0.0.1"),
            line(2, "10.0.0.2"),
            "\"2026-12-04 10:00:03"
        );
        let path = write(dir.path(), &text);

        let events = newest(&path, 10).unwrap().unwrap();

        assert_eq!(events.len(), 2);
        assert_eq!(events[0].src_ip, "10.0.0.2");
        assert_eq!(events[1].src_ip, "10.0.0.1");
    }

    #[test]
    fn unsorted_times_need_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!("{}{}", line(5, "10.0.0.1"), line(2, "10.0.0.2"));
        let path = write(dir.path(), &text);

        assert!(newest(&path, 10).unwrap().is_none());
    }

    #[test]
    fn missing_file_is_empty() {
        let dir = tempfile::tempdir().unwrap();

        let events = newest(&dir.path().join("none.log"), 10).unwrap().unwrap();

        assert!(events.is_empty());
    }
}
