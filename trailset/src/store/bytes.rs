//! Checked reads and plain writes of the store's little-endian integers.
//!
//! Every read returns `None` instead of panicking when the bytes end early, so that lookups
//! on a hostile or concurrently modified file can only miss, never crash.

/// A region of the store bytes, as offset and length from the start of the store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) len: usize,
}

impl Span {
    pub(crate) fn new(start: usize, len: usize) -> Span {
        Span { start, len }
    }

    /// Returns the bytes of the span, or an empty slice if it lies outside `bytes`.
    #[inline]
    pub(crate) fn slice(self, bytes: &[u8]) -> &[u8] {
        match self.start.checked_add(self.len) {
            Some(end) => bytes.get(self.start..end).unwrap_or_default(),
            None => &[],
        }
    }
}

/// Returns `len` bytes starting at `at`, if they all exist.
#[inline]
pub(crate) fn bytes_at(bytes: &[u8], at: usize, len: usize) -> Option<&[u8]> {
    bytes.get(at..at.checked_add(len)?)
}

#[inline]
pub(crate) fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    let array = bytes_at(bytes, at, 2)?.try_into().ok()?;
    Some(u16::from_le_bytes(array))
}

#[inline]
pub(crate) fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let array = bytes_at(bytes, at, 4)?.try_into().ok()?;
    Some(u32::from_le_bytes(array))
}

#[inline]
pub(crate) fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    let array = bytes_at(bytes, at, 8)?.try_into().ok()?;
    Some(u64::from_le_bytes(array))
}

/// Reads the `index`-th element of an array of little-endian integers `width` bytes wide
/// (2 or 4).
#[inline]
pub(crate) fn uint_at(bytes: &[u8], index: usize, width: usize) -> Option<u32> {
    let at = index.checked_mul(width)?;
    match width {
        2 => u16_at(bytes, at).map(u32::from),
        _ => u32_at(bytes, at),
    }
}

/// Reads an unsigned LEB128 value of at most 32 bits and returns it with its encoded length.
#[inline]
pub(crate) fn varint_at(bytes: &[u8], at: usize) -> Option<(u32, usize)> {
    let mut value = 0u32;
    for (i, &byte) in bytes.get(at..)?.iter().take(5).enumerate() {
        value |= u32::from(byte & 0x7f).checked_shl(7 * i as u32)?;
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

pub(crate) fn put_u16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_le_bytes());
}

pub(crate) fn put_u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

pub(crate) fn put_u64(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// Appends `value` as `width` bytes (2 or 4). The caller has checked that it fits.
pub(crate) fn put_uint(out: &mut Vec<u8>, value: u32, width: usize) {
    match width {
        2 => put_u16(out, value as u16),
        _ => put_u32(out, value),
    }
}

/// Appends `value` in unsigned LEB128.
pub(crate) fn put_varint(out: &mut Vec<u8>, mut value: u32) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Returns the number of bytes [`put_varint`] writes for `value`.
pub(crate) fn varint_len(value: u32) -> usize {
    match value {
        0..0x80 => 1,
        0x80..0x4000 => 2,
        0x4000..0x20_0000 => 3,
        0x20_0000..0x1000_0000 => 4,
        _ => 5,
    }
}

/// Maps a 32-bit hash onto `0..count` without division (Lemire's multiply-shift reduction).
#[inline]
pub(crate) fn reduce(hash: u32, count: u32) -> usize {
    ((u64::from(hash) * u64::from(count)) >> 32) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_round_trips_edges() {
        for value in [0, 1, 127, 128, 16_383, 16_384, u32::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, value);

            assert_eq!(varint_at(&out, 0), Some((value, out.len())), "{value}");
            assert_eq!(varint_len(value), out.len(), "{value}");
        }
    }

    #[test]
    fn unterminated_varint_is_none() {
        assert_eq!(varint_at(&[0x80, 0x80], 0), None);
    }

    #[test]
    fn overlong_varint_is_none() {
        assert_eq!(varint_at(&[0xff; 6], 0), None);
    }

    #[test]
    fn read_past_end_is_none() {
        assert_eq!(u32_at(&[1, 2, 3], 0), None);
        assert_eq!(u32_at(&[1, 2, 3, 4], usize::MAX), None);
    }

    #[test]
    fn span_outside_bytes_is_empty() {
        assert!(Span::new(2, 10).slice(&[0; 4]).is_empty());
        assert!(Span::new(usize::MAX, 2).slice(&[0; 4]).is_empty());
    }

    #[test]
    fn reduce_stays_below_count() {
        assert_eq!(reduce(u32::MAX, 10), 9);
        assert_eq!(reduce(0, 10), 0);
    }
}
