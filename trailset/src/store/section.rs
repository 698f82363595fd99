//! Parsing of one section's fields, with the checks every section shares.

use crate::store::bytes::{u32_at, Span};
use crate::store::error::FormatError;

/// Reads a section's header fields and carves its arrays in order, rejecting a section whose
/// length does not match what its counts require.
pub(crate) struct SectionReader<'a> {
    name: &'static str,
    bytes: &'a [u8],
    at: usize,
    end: usize,
}

impl<'a> SectionReader<'a> {
    /// Starts reading `span`, which the section table check has placed inside `bytes`.
    pub(crate) fn new(name: &'static str, bytes: &'a [u8], span: Span) -> SectionReader<'a> {
        SectionReader {
            name,
            bytes,
            at: span.start,
            end: span.start.saturating_add(span.len),
        }
    }

    pub(crate) fn error(&self, reason: &'static str) -> FormatError {
        FormatError::inconsistent(self.name, reason)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, FormatError> {
        let span = self.take(4)?;
        u32_at(self.bytes, span.start).ok_or_else(|| self.error("ends inside its header"))
    }

    /// Reads a count and converts it to `usize`.
    pub(crate) fn count(&mut self) -> Result<usize, FormatError> {
        let value = self.u32()?;
        usize::try_from(value).map_err(|_| self.error("has a count beyond this platform"))
    }

    /// Carves the next `len` bytes.
    pub(crate) fn take(&mut self, len: usize) -> Result<Span, FormatError> {
        let end = self
            .at
            .checked_add(len)
            .filter(|&end| end <= self.end)
            .ok_or_else(|| self.error("is shorter than its counts require"))?;
        let span = Span::new(self.at, len);
        self.at = end;
        Ok(span)
    }

    /// Carves an array of `count` elements of `width` bytes.
    pub(crate) fn take_array(&mut self, count: usize, width: usize) -> Result<Span, FormatError> {
        let len = count
            .checked_mul(width)
            .ok_or_else(|| self.error("has counts that overflow"))?;
        self.take(len)
    }

    /// Checks that every byte of the section was used.
    pub(crate) fn finish(self) -> Result<(), FormatError> {
        if self.at == self.end {
            Ok(())
        } else {
            Err(self.error("is longer than its counts require"))
        }
    }

    /// Checks an array of `count + 1` `u32` offsets: it starts at 0, never decreases and ends
    /// at `last`. Lookups can then slice by any two neighbouring offsets.
    pub(crate) fn check_offsets(&self, offsets: Span, last: usize) -> Result<(), FormatError> {
        let array = offsets.slice(self.bytes);
        let mut previous = 0u32;
        for (i, chunk) in array.chunks_exact(4).enumerate() {
            let value = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            if i == 0 && value != 0 {
                return Err(self.error("has an offset array that does not start at 0"));
            }
            if value < previous {
                return Err(self.error("has a decreasing offset array"));
            }
            previous = value;
        }
        if previous as usize != last || array.len() < 4 {
            return Err(self.error("has an offset array that does not end at its data length"));
        }
        Ok(())
    }

    /// Checks that a reference width is 2 or 4 bytes.
    pub(crate) fn ref_width(&mut self) -> Result<usize, FormatError> {
        match self.u32()? {
            2 => Ok(2),
            4 => Ok(4),
            _ => Err(self.error("has a reference width other than 2 or 4")),
        }
    }
}
