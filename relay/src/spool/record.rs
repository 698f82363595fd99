//! Framing of one spooled event in a segment file.
//!
//! ```text
//! offset  size  field
//!      0     4  payload length in bytes, little-endian u32, 1 to MAX_LINE_BYTES
//!      4     4  CRC-32 (IEEE) of bytes 8.. (sequence and payload), little-endian
//!      8     8  sequence number, little-endian u64
//!     16     n  payload: the log line, UTF-8
//! ```
//!
//! A record cut short by a power cut fails as [`FrameError::Incomplete`]. Garbage in its place,
//! such as the zero-filled blocks a file system can leave after a crash, fails the length or
//! checksum check. CRC-32 detects every error burst of up to 32 bits, and lets other random
//! damage through with a probability of about 2^-32.

use thiserror::Error;

use crate::batch::MAX_LINE_BYTES;

/// Length of the record header in bytes.
pub const HEADER_BYTES: usize = 16;

/// Maximum length of a whole record in bytes.
pub const MAX_RECORD_BYTES: usize = HEADER_BYTES + MAX_LINE_BYTES;

/// Reason the bytes at some offset are not a whole, intact record.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    #[error("record is cut short: {available} of {needed} bytes present")]
    Incomplete { needed: usize, available: usize },

    #[error("record length {len} is outside 1..={MAX_LINE_BYTES}")]
    InvalidLength { len: u32 },

    #[error("record checksum does not match its content")]
    Checksum,

    #[error("record payload is not UTF-8")]
    NotUtf8,
}

/// One record decoded from a buffer, borrowing its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    pub sequence: u64,
    pub line: &'a str,
    /// Bytes the record occupies, header included.
    pub encoded_len: usize,
}

/// Appends the record of `line` with `sequence` to `out`.
///
/// The caller keeps `line` within 1..=[`MAX_LINE_BYTES`] bytes, so that the decoder accepts
/// the record.
pub fn encode_record(sequence: u64, line: &str, out: &mut Vec<u8>) {
    let sequence_bytes = sequence.to_le_bytes();
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&sequence_bytes);
    hasher.update(line.as_bytes());

    out.extend_from_slice(&(line.len() as u32).to_le_bytes());
    out.extend_from_slice(&hasher.finalize().to_le_bytes());
    out.extend_from_slice(&sequence_bytes);
    out.extend_from_slice(line.as_bytes());
}

/// Decodes the record at the start of `bytes`. Bytes after the record are ignored.
pub fn decode_record(bytes: &[u8]) -> Result<Record<'_>, FrameError> {
    let Some(header) = bytes.first_chunk::<HEADER_BYTES>() else {
        return Err(FrameError::Incomplete {
            needed: HEADER_BYTES,
            available: bytes.len(),
        });
    };

    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    if len == 0 || len as usize > MAX_LINE_BYTES {
        return Err(FrameError::InvalidLength { len });
    }
    let encoded_len = HEADER_BYTES + len as usize;
    let Some(checked) = bytes.get(8..encoded_len) else {
        return Err(FrameError::Incomplete {
            needed: encoded_len,
            available: bytes.len(),
        });
    };

    let stored = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if crc32fast::hash(checked) != stored {
        return Err(FrameError::Checksum);
    }

    let mut sequence = [0u8; 8];
    sequence.copy_from_slice(&header[8..HEADER_BYTES]);
    let line =
        std::str::from_utf8(&bytes[HEADER_BYTES..encoded_len]).map_err(|_| FrameError::NotUtf8)?;

    Ok(Record {
        sequence: u64::from_le_bytes(sequence),
        line,
        encoded_len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encoded(sequence: u64, line: &str) -> Vec<u8> {
        let mut out = Vec::new();
        encode_record(sequence, line, &mut out);
        out
    }

    #[test]
    fn record_round_trips() {
        let mut bytes = encoded(7, "first line\n");
        bytes.extend_from_slice(&encoded(8, "second\n"));

        let first = decode_record(&bytes).unwrap();
        let second = decode_record(&bytes[first.encoded_len..]).unwrap();

        assert_eq!(first.sequence, 7);
        assert_eq!(first.line, "first line\n");
        assert_eq!(first.encoded_len, HEADER_BYTES + 11);
        assert_eq!(second.sequence, 8);
        assert_eq!(second.line, "second\n");
    }

    #[test]
    fn record_header_layout() {
        let bytes = encoded(0x0102_0304_0506_0708, "ab");

        // Length 2, then the CRC, then the sequence in little-endian order, then the payload.
        assert_eq!(&bytes[0..4], &[2, 0, 0, 0]);
        assert_eq!(&bytes[8..16], &[8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(&bytes[16..], b"ab");
    }

    #[test]
    fn every_cut_is_incomplete() {
        let bytes = encoded(3, "some line\n");

        for cut in 0..bytes.len() {
            let error = decode_record(&bytes[..cut]).unwrap_err();
            assert!(
                matches!(error, FrameError::Incomplete { .. }),
                "cut at {cut}: {error}"
            );
        }
    }

    #[test]
    fn zero_filled_tail_is_rejected() {
        let zeros = [0u8; 64];

        assert_eq!(
            decode_record(&zeros),
            Err(FrameError::InvalidLength { len: 0 })
        );
    }

    #[test]
    fn flipped_bit_fails_checksum() {
        let bytes = encoded(3, "some line\n");

        for index in 4..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[index] ^= 0x10;
            assert_eq!(
                decode_record(&damaged),
                Err(FrameError::Checksum),
                "byte {index}"
            );
        }
    }

    proptest! {
        #[test]
        fn decode_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(record) = decode_record(&bytes) {
                prop_assert!(record.encoded_len <= bytes.len());
                prop_assert!(!record.line.is_empty());
            }
        }

        #[test]
        fn damaged_record_never_decodes_to_other_line(
            line in "[a-z ]{1,40}\n",
            sequence in any::<u64>(),
            index in any::<usize>(),
            value in any::<u8>(),
        ) {
            let mut bytes = encoded(sequence, &line);
            let index = index % bytes.len();
            bytes[index] = value;

            if let Ok(record) = decode_record(&bytes) {
                prop_assert_eq!(record.sequence, sequence);
                prop_assert_eq!(record.line, line.as_str());
            }
        }
    }
}
