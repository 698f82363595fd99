//! Reading selected lines of a log file in few, large reads.

use std::fs::File;
use std::io;
use std::ops::ControlFlow;
use std::os::unix::fs::FileExt;

use super::fields::LineView;
use super::index::DayIndex;
use super::needle::Needle;

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

/// Scratch space of [`read_lines`], which callers reuse across calls.
#[derive(Debug, Default)]
pub struct ReadBuffers {
    bytes: Vec<u8>,
    /// The bytes with ASCII letters lower-cased, while a needle prefilters the lines.
    lowered: Vec<u8>,
}

/// Reads and splits the lines at the ascending positions `wanted` of `index`, calling `visit`
/// for each in order until it returns `Break`. Lines that no longer parse (the file changed
/// since indexing) are left out, and so are lines without `needle` (ignoring ASCII case),
/// which are skipped before parsing.
pub fn read_lines(
    file: &File,
    index: &DayIndex,
    wanted: &[usize],
    needle: Option<&Needle>,
    buffers: &mut ReadBuffers,
    visit: &mut dyn FnMut(&Line) -> ControlFlow<()>,
) -> io::Result<ControlFlow<()>> {
    let ReadBuffers {
        bytes: buffer,
        lowered,
    } = buffers;
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
        if needle.is_some() {
            // One pass over the whole window is much cheaper than one per line.
            lowered.clear();
            lowered.extend_from_slice(buffer);
            lowered.make_ascii_lowercase();
        }
        for &line_index in &wanted[position..last] {
            let (start, end) = index.line_range(line_index);
            let from = (start - window_start) as usize;
            let range = &buffer[from..(end - window_start) as usize];
            // The range runs to the next indexed line, so it also contains any skipped lines
            // that follow this one. Only the bytes up to the first newline belong to it.
            let bytes = match memchr::memchr(b'\n', range) {
                Some(newline) => &range[..newline],
                None => range,
            };
            if let Some(needle) = needle {
                let trimmed = bytes.len() - usize::from(bytes.ends_with(b"\r"));
                if !needle.is_in_lowered(&lowered[from..from + trimmed]) {
                    continue;
                }
            }
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

/// Bytes read past the last offset of a window in [`read_lines_at`], enough for a usual line.
/// A longer line is read again on its own.
const LINE_READ: u64 = 4096;

/// Maximum length of a line that [`read_lines_at`] reads, newline included. The indexer
/// skips lines longer than its read size (1 MiB), so no indexed line is longer.
const MAX_LINE: u64 = 1 << 20;

/// Reads the lines that start at the ascending byte `offsets` of `file`, without the day's
/// index, and calls `visit` with the offset and fields of each. An offset whose line has no
/// newline yet, or no longer parses because the file changed, is left out. `buffer` is
/// scratch space that callers reuse across calls.
pub fn read_lines_at(
    file: &File,
    offsets: &[u64],
    buffer: &mut Vec<u8>,
    visit: &mut dyn FnMut(u64, &LineView),
) -> io::Result<()> {
    let mut single = Vec::new();
    let mut position = 0;
    while position < offsets.len() {
        let window_start = offsets[position];
        let mut last = position + 1;
        while last < offsets.len() {
            let gap = offsets[last] - offsets[last - 1];
            if gap > MAX_GAP || offsets[last] + LINE_READ - window_start > MAX_READ {
                break;
            }
            last += 1;
        }
        let window_len = offsets[last - 1] + LINE_READ - window_start;
        let filled = read_up_to(file, buffer, window_start, window_len)?;

        for &offset in &offsets[position..last] {
            let from = (offset - window_start) as usize;
            let bytes = match memchr::memchr(b'\n', &buffer[from..filled]) {
                Some(newline) => &buffer[from..from + newline],
                None if filled as u64 == window_len => {
                    let read = read_up_to(file, &mut single, offset, MAX_LINE)?;
                    match memchr::memchr(b'\n', &single[..read]) {
                        Some(newline) => &single[..newline],
                        None => continue,
                    }
                }
                None => continue,
            };
            let Ok(text) = std::str::from_utf8(bytes) else {
                continue;
            };
            if let Some(view) = LineView::parse(text) {
                visit(offset, &view);
            }
        }
        position = last;
    }
    Ok(())
}

/// Reads up to `len` bytes at `offset` into `buffer`, fewer at the end of the file, and
/// returns how many it read.
fn read_up_to(file: &File, buffer: &mut Vec<u8>, offset: u64, len: u64) -> io::Result<usize> {
    buffer.resize(len as usize, 0);
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read_at(&mut buffer[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(trail: &str, info: &str) -> String {
        format!(
            "\"2026-01-15 12:00:00.000000\" s1 10.0.0.1 1 10.0.0.2 53 UDP DNS {trail} {info} ref\n"
        )
    }

    #[test]
    fn offsets_read_without_index() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("2026-01-15.log");
        let long_info = format!("\"{}\"", "x".repeat(3 * LINE_READ as usize));
        let lines = [
            line("a.test", "\"x\""),
            line("b.test", &long_info),
            line("c.test", "\"y\""),
        ];
        let mut text = lines.concat();
        text.push_str("\"2026-01-15 12:00:01\" s1 10.0.0.1 1 10.0.0.2 53 UDP DNS d.test");
        std::fs::write(&path, &text).unwrap();
        let first = lines[0].len() as u64;
        let offsets = [
            0,
            first,
            first + lines[1].len() as u64,
            (text.len() - 40) as u64,
        ];
        let mut trails = Vec::new();

        let file = File::open(&path).unwrap();
        read_lines_at(&file, &offsets, &mut Vec::new(), &mut |offset, view| {
            trails.push((offset, view.trail.to_string()));
        })
        .unwrap();

        let names: Vec<&str> = trails.iter().map(|(_, trail)| trail.as_str()).collect();
        assert_eq!(
            names,
            ["a.test", "b.test", "c.test"],
            "the unfinished line is left out"
        );
        assert_eq!(trails[1].0, first);
    }

    #[test]
    fn needle_skips_lines_before_parsing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("2026-01-15.log");
        let text = [
            line("EVIL.test", "\"x\""),
            line("good.test", "\"evil\""),
            line("good.test", "\"x\""),
        ]
        .concat();
        std::fs::write(&path, text).unwrap();
        let index = DayIndex::empty(&path).refresh().unwrap();
        let file = File::open(&path).unwrap();
        let needle = Needle::new("evil");
        let mut seen = Vec::new();

        let flow = read_lines(
            &file,
            &index,
            &[0, 1, 2],
            Some(&needle),
            &mut ReadBuffers::default(),
            &mut |line| {
                seen.push(line.index);
                ControlFlow::Continue(())
            },
        )
        .unwrap();

        assert!(flow.is_continue());
        assert_eq!(seen, [0, 1], "lines with the needle anywhere, in any case");
    }
}
