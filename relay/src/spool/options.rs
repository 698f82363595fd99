//! Size limits of a spool.

use crate::spool::record::MAX_RECORD_BYTES;
use crate::spool::SpoolError;

/// Largest segment size chosen by [`SpoolOptions::with_max_bytes`]. Dropping a segment when
/// the spool is full loses at most this much.
const MAX_SEGMENT_BYTES: u64 = 4 * 1024 * 1024;

/// Segments a full spool is split into, when that keeps them within the size bounds.
const SEGMENTS_PER_SPOOL: u64 = 16;

/// Size limits of a spool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpoolOptions {
    /// Maximum bytes of all segment files. Reaching it drops the oldest segment.
    pub max_bytes: u64,
    /// Size at which the spool starts a new segment.
    pub segment_bytes: u64,
}

impl SpoolOptions {
    /// Returns options for `max_bytes` with segments of a sixteenth of it, bounded to
    /// [`MAX_RECORD_BYTES`] through 4 MiB.
    pub fn with_max_bytes(max_bytes: u64) -> SpoolOptions {
        let segment_bytes =
            (max_bytes / SEGMENTS_PER_SPOOL).clamp(MAX_RECORD_BYTES as u64, MAX_SEGMENT_BYTES);
        SpoolOptions {
            max_bytes,
            segment_bytes,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), SpoolError> {
        // A segment must fit the largest record, and the spool two segments, so that dropping
        // every old segment always makes room for one more record.
        let fits_record = self.segment_bytes >= MAX_RECORD_BYTES as u64;
        if !fits_record || self.max_bytes < self.segment_bytes.saturating_mul(2) {
            return Err(SpoolError::InvalidOptions {
                max_bytes: self.max_bytes,
                segment_bytes: self.segment_bytes,
            });
        }
        Ok(())
    }
}
