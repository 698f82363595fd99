//! Reading batches of unacknowledged events from the segments.

use crate::spool::record::{decode_record, MAX_RECORD_BYTES};
use crate::spool::segment::{is_cut_by_chunk, read_chunk, scan_segment};
use crate::spool::{Spool, SpoolError};

/// Consecutive events read from the spool, to be sent as one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpoolBatch {
    pub first_sequence: u64,
    pub events: Vec<String>,
}

impl SpoolBatch {
    /// Returns the sequence number of the last event.
    pub fn last_sequence(&self) -> u64 {
        self.first_sequence + self.events.len() as u64 - 1
    }
}

/// Position just after the last record that [`Spool::read_batch`] returned.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cursor {
    pub(crate) segment_first: u64,
    pub(crate) offset: u64,
    pub(crate) next_sequence: u64,
}

impl Spool {
    /// Reads the oldest unacknowledged events that are on disk: at most `max_events`, and at
    /// most `max_bytes` of lines unless a single line is longer. Stops early at a gap in the
    /// sequence numbers, so the batch is consecutive. Returns `None` when there is nothing to
    /// send or the spool is closed.
    ///
    /// Damaged records found here are cut off like at open, with the events behind them in
    /// their segment counted as dropped.
    pub fn read_batch(
        &mut self,
        max_events: usize,
        max_bytes: usize,
    ) -> Result<Option<SpoolBatch>, SpoolError> {
        if self.is_closed() || self.acked >= self.synced_through || max_events == 0 {
            return Ok(None);
        }
        let Some((mut index, mut offset)) = self.read_start() else {
            return Ok(None);
        };

        let mut batch = SpoolBatch {
            first_sequence: 0,
            events: Vec::new(),
        };
        let mut batch_bytes = 0;
        let chunk_len = max_bytes.saturating_add(MAX_RECORD_BYTES);

        'segments: while index < self.segments.len() {
            let segment = &self.segments[index];
            if !batch.events.is_empty() && segment.first != batch.last_sequence() + 1 {
                break;
            }
            let len = (segment.bytes - offset).min(chunk_len as u64) as usize;
            let chunk = read_chunk(segment, offset, len).map_err(|source| SpoolError::Io {
                path: segment.path.clone(),
                source,
            })?;

            let mut position = 0;
            while position < chunk.len() {
                let record = match decode_record(&chunk[position..]) {
                    Ok(record) => record,
                    Err(error) if is_cut_by_chunk(&error, offset + len as u64, segment) => break,
                    Err(_) => {
                        self.cut_damaged_segment(index, offset + position as u64)?;
                        break 'segments;
                    }
                };
                if record.sequence > self.synced_through {
                    break 'segments;
                }
                if record.sequence > self.acked {
                    let full = batch.events.len() >= max_events
                        || batch_bytes + record.line.len() > max_bytes;
                    if !batch.events.is_empty() && full {
                        break 'segments;
                    }
                    if batch.events.is_empty() {
                        batch.first_sequence = record.sequence;
                    }
                    batch_bytes += record.line.len();
                    batch.events.push(record.line.to_string());
                    self.cursor = Some(Cursor {
                        segment_first: segment.first,
                        offset: offset + (position + record.encoded_len) as u64,
                        next_sequence: record.sequence + 1,
                    });
                }
                position += record.encoded_len;
            }

            if position == 0 && len > 0 {
                // Not even one record decoded from a chunk that fits the largest record.
                self.cut_damaged_segment(index, offset)?;
                break;
            }
            offset += position as u64;
            if offset >= segment.bytes {
                index += 1;
                offset = 0;
            }
        }

        Ok((!batch.events.is_empty()).then_some(batch))
    }

    /// Finds the segment index and byte offset to read the first unacknowledged record from.
    fn read_start(&self) -> Option<(usize, u64)> {
        if let Some(cursor) = self
            .cursor
            .filter(|cursor| cursor.next_sequence == self.acked + 1)
        {
            let index = self
                .segments
                .iter()
                .position(|segment| segment.first == cursor.segment_first);
            if let Some(index) = index {
                return Some((index, cursor.offset));
            }
        }

        let index = self
            .segments
            .iter()
            .position(|segment| segment.end() > self.acked + 1)?;
        Some((index, 0))
    }

    /// Cuts segment `index` off at the damaged record at `offset` and counts what was lost.
    /// The active segment is replaced by a new one, because its run of sequence numbers no
    /// longer reaches the next sequence.
    fn cut_damaged_segment(&mut self, index: usize, offset: u64) -> Result<(), SpoolError> {
        let segment = &self.segments[index];
        let scan = scan_segment(segment.first, &segment.path)?;
        let lost = segment
            .unacked(self.acked)
            .saturating_sub(scan.segment.unacked(self.acked));

        self.stats.torn_records += 1;
        self.stats.dropped_events += lost.max(1);
        log::warn!(
            "spool segment {} is damaged at byte {offset}: dropped {lost} unsent events behind it",
            segment.path.display()
        );

        self.total_bytes -= segment.bytes - scan.segment.bytes;
        self.segments[index] = scan.segment;
        self.cursor = None;
        if index + 1 == self.segments.len() {
            self.rotate()?;
        }
        Ok(())
    }
}
