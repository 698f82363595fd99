//! Reading selected lines of a log file in few, large reads.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use trailwatch_event::{parse_log_line, LogLine};

use super::index::DayIndex;

/// Largest single read. Lines closer together than [`MAX_GAP`] share a read up to this size.
const MAX_READ: u64 = 1 << 20;

/// Bytes of unwanted lines worth reading through rather than starting a new read.
const MAX_GAP: u64 = 64 * 1024;

/// One line read back from a log file.
#[derive(Debug, Clone)]
pub struct ReadLine {
    /// Position of the line in the index.
    pub index: usize,
    /// The line as stored, without its newline.
    pub raw: String,
    pub parsed: LogLine,
}

/// Reads and parses the lines at the ascending positions `wanted` of `index`, calling `visit`
/// for each in order. Lines that no longer parse (the file changed since indexing) are left out.
pub fn read_lines(
    file: &File,
    index: &DayIndex,
    wanted: &[usize],
    visit: &mut dyn FnMut(ReadLine),
) -> io::Result<()> {
    let mut buffer = Vec::new();
    let mut position = 0;

    while position < wanted.len() {
        let window_start = index.line_range(wanted[position]).0;
        let mut window_end = index.line_range(wanted[position]).1;
        let mut last = position + 1;
        while last < wanted.len() {
            let (start, end) = index.line_range(wanted[last]);
            if start.saturating_sub(window_end) > MAX_GAP || end - window_start > MAX_READ {
                break;
            }
            window_end = end;
            last += 1;
        }

        buffer.resize((window_end - window_start) as usize, 0);
        file.read_exact_at(&mut buffer, window_start)?;
        for &line_index in &wanted[position..last] {
            let (start, end) = index.line_range(line_index);
            let bytes = &buffer[(start - window_start) as usize..(end - window_start) as usize];
            let Ok(text) = std::str::from_utf8(bytes) else {
                continue;
            };
            let raw = text.trim_end_matches(['\n', '\r']);
            if let Ok(parsed) = parse_log_line(raw) {
                visit(ReadLine {
                    index: line_index,
                    raw: raw.to_string(),
                    parsed,
                });
            }
        }
        position = last;
    }
    Ok(())
}
