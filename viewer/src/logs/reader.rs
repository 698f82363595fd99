//! Reading selected lines of a log file in few, large reads.

use std::fs::File;
use std::io;
use std::ops::ControlFlow;
use std::os::unix::fs::FileExt;

use super::fields::LineView;
use super::index::DayIndex;

/// Largest single read. Lines closer together than [`MAX_GAP`] share a read up to this size.
const MAX_READ: u64 = 1 << 20;

/// Bytes of unwanted lines worth reading through rather than starting a new read.
const MAX_GAP: u64 = 64 * 1024;

/// One line read back from a log file, borrowed from the read buffer.
#[derive(Debug)]
pub struct Line<'a> {
    /// Position of the line in the index.
    pub index: usize,
    /// The line as stored, without its newline.
    pub raw: &'a str,
    pub view: LineView<'a>,
}

/// Reads and splits the lines at the ascending positions `wanted` of `index`, calling `visit`
/// for each in order until it returns `Break`. Lines that no longer parse (the file changed
/// since indexing) are left out. `buffer` is scratch space that callers reuse across calls.
pub fn read_lines(
    file: &File,
    index: &DayIndex,
    wanted: &[usize],
    buffer: &mut Vec<u8>,
    visit: &mut dyn FnMut(&Line) -> ControlFlow<()>,
) -> io::Result<ControlFlow<()>> {
    let mut position = 0;

    while position < wanted.len() {
        let (window_start, mut window_end) = index.line_range(wanted[position]);
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
        file.read_exact_at(buffer, window_start)?;
        for &line_index in &wanted[position..last] {
            let (start, end) = index.line_range(line_index);
            let range = &buffer[(start - window_start) as usize..(end - window_start) as usize];
            // The range runs to the next indexed line, so it also contains any skipped lines
            // that follow this one. Only the bytes up to the first newline belong to it.
            let bytes = match memchr::memchr(b'\n', range) {
                Some(newline) => &range[..newline],
                None => range,
            };
            let Ok(text) = std::str::from_utf8(bytes) else {
                continue;
            };
            let raw = text.trim_end_matches(['\n', '\r']);
            let Some(view) = LineView::parse(raw) else {
                continue;
            };
            let line = Line {
                index: line_index,
                raw,
                view,
            };
            if visit(&line).is_break() {
                return Ok(ControlFlow::Break(()));
            }
        }
        position = last;
    }
    Ok(ControlFlow::Continue(()))
}
