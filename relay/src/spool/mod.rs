//! The sender's spool: events on disk from the moment they are taken until the receiver
//! acknowledges them.
//!
//! A spool folder contains `state.json` (stream id, acknowledged sequence), append-only
//! segment files named after their first sequence number, and a `lock` file. Each event is one framed record
//! (see [`record`]). The newest segment is never deleted, so the next sequence number can
//! always be derived from the files.
//!
//! Durability:
//! - [`Spool::append`] only writes to the page cache. The data reaches the disk when
//!   [`Spool::sync`] (or a [`SyncTicket`]) runs, which fsyncs every segment written since the
//!   last sync and, after a segment was created, the folder.
//! - [`Spool::read_batch`] returns only records that a sync covered. So a record that was sent
//!   is on disk, and after a power cut no sequence number is reused for another event.
//! - The acknowledged sequence is saved by [`Spool::save_state`] (atomic replace). A saved value
//!   older than the receiver's only means that some events are sent again, and the receiver
//!   skips them.

pub mod record;
mod segment;
mod state;

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use thiserror::Error;

use crate::atomic_file::{lock_exclusive, sync_dir};
use crate::batch::{StreamId, MAX_LINE_BYTES};
use record::{decode_record, encode_record, MAX_RECORD_BYTES};
use segment::Segment;
use segment::{is_cut_by_chunk, list_segments, read_chunk, scan_segment, segment_file_name};
pub use state::{SpoolState, STATE_FILE};

/// Largest segment size chosen by [`SpoolOptions::with_max_bytes`]. Dropping a segment when
/// the spool is full loses at most this much.
const MAX_SEGMENT_BYTES: u64 = 4 * 1024 * 1024;

/// Segments a full spool is split into, when that keeps them within the size bounds.
const SEGMENTS_PER_SPOOL: u64 = 16;

/// Name of the lock file inside the spool folder.
const LOCK_FILE: &str = "lock";

/// Failure of a spool operation.
#[derive(Debug, Error)]
pub enum SpoolError {
    #[error("failed to create spool folder {}: {source}", dir.display())]
    CreateDir { dir: PathBuf, source: io::Error },

    #[error(
        "spool folder {} is in use by another sender; give each sender its own spool_dir",
        dir.display()
    )]
    Locked { dir: PathBuf },

    #[error("spool file {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },

    #[error(
        "invalid spool state file {}: {reason}; delete the spool folder to start a new \
         stream (unsent events in it are lost)",
        path.display()
    )]
    InvalidState { path: PathBuf, reason: String },

    #[error("failed to fsync spool {}: {source}", dir.display())]
    Sync { dir: PathBuf, source: io::Error },

    #[error("failed to draw a random stream id: {0}")]
    Random(getrandom::Error),

    #[error(
        "invalid spool size: {max_bytes} bytes with {segment_bytes}-byte segments; segments \
         must hold {MAX_RECORD_BYTES} bytes and the spool at least two segments"
    )]
    InvalidOptions { max_bytes: u64, segment_bytes: u64 },

    #[error("event line is {len} bytes long, expected 1 to {MAX_LINE_BYTES}")]
    LineLength { len: usize },

    #[error(
        "acknowledgement of sequence {ack} is beyond the last spooled sequence {last}; the \
         receiver's state does not belong to this spool"
    )]
    AckBeyondEnd { ack: u64, last: u64 },
}

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

    fn validate(&self) -> Result<(), SpoolError> {
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

/// Counters of a spool since it was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpoolStats {
    /// Damaged or torn record tails cut off, at open or when read.
    pub torn_records: u64,
    /// Segments dropped because the spool was full while they held unacknowledged events.
    pub dropped_segments: u64,
    /// Unacknowledged events lost: in dropped segments, behind damaged records found when
    /// reading, and one for each torn tail cut off at open (a power cut tears one record).
    pub dropped_events: u64,
}

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

/// Files to fsync, taken from a spool with [`Spool::begin_sync`] so that the fsync can run
/// without holding the lock that guards the spool.
#[derive(Debug)]
pub struct SyncTicket {
    files: Vec<Arc<File>>,
    dir: Option<PathBuf>,
    dir_generation: u64,
    through: u64,
}

impl SyncTicket {
    /// Fsyncs the files, then the folder if segments were created since the last sync.
    pub fn run(&self) -> io::Result<()> {
        for file in &self.files {
            file.sync_data()?;
        }
        if let Some(dir) = &self.dir {
            sync_dir(dir)?;
        }
        Ok(())
    }
}

/// Position just after the last record that [`Spool::read_batch`] returned.
#[derive(Debug, Clone, Copy)]
struct Cursor {
    segment_first: u64,
    offset: u64,
    next_sequence: u64,
}

/// An open spool folder. A lock file keeps a second `Spool` from opening the folder, in this
/// process or another one, until this one is dropped.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    /// Lock file whose `flock(2)` lasts as long as the spool is open.
    _lock: File,
    options: SpoolOptions,
    stream: StreamId,
    acked: u64,
    saved_acked: u64,
    next_sequence: u64,
    /// Oldest first, never empty. The last one is the segment appended to.
    segments: VecDeque<Segment>,
    active: Arc<File>,
    total_bytes: u64,
    /// Highest sequence number known to be on disk.
    synced_through: u64,
    /// Former active segments with writes not yet fsynced.
    unsynced: Vec<Arc<File>>,
    /// Incremented whenever a segment is created, to know when the folder needs an fsync.
    dir_generation: u64,
    dir_synced_generation: u64,
    cursor: Option<Cursor>,
    stats: SpoolStats,
    record: Vec<u8>,
}

impl Spool {
    /// Opens the spool in `dir`, creating the folder and a new stream if needed.
    ///
    /// Reads every segment once to count its records, and cuts off a torn or damaged tail
    /// (counted in [`SpoolStats::torn_records`]). Segments that the receiver acknowledged are
    /// deleted. Everything kept is fsynced before this returns.
    pub fn open(dir: &Path, options: SpoolOptions) -> Result<Spool, SpoolError> {
        options.validate()?;
        fs::create_dir_all(dir).map_err(|source| SpoolError::CreateDir {
            dir: dir.to_path_buf(),
            source,
        })?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = lock_exclusive(&lock_path)
            .map_err(|source| SpoolError::Io {
                path: lock_path,
                source,
            })?
            .ok_or_else(|| SpoolError::Locked {
                dir: dir.to_path_buf(),
            })?;
        let listed = list_segments(dir)?;

        let state = match SpoolState::load(dir)? {
            Some(state) => state,
            None => new_stream(dir, !listed.is_empty())?,
        };

        let mut stats = SpoolStats::default();
        let mut segments = VecDeque::with_capacity(listed.len() + 1);
        for (first, path) in listed {
            let scan = scan_segment(first, &path)?;
            if scan.truncated {
                stats.torn_records += 1;
                stats.dropped_events += 1;
                log::warn!(
                    "spool segment {} ends in a torn or damaged record; cut it off after {} \
                     intact records",
                    path.display(),
                    scan.segment.count
                );
            }
            segments.push_back(scan.segment);
        }

        let spooled_end = segments.back().map_or(1, Segment::end);
        let next_sequence = spooled_end.max(state.acked.saturating_add(1));
        if segments.back().map(Segment::end) != Some(next_sequence) {
            segments.push_back(create_segment(dir, next_sequence)?);
        }
        let active = open_for_append(&segments[segments.len() - 1])?;
        sync_dir(dir).map_err(|source| SpoolError::Sync {
            dir: dir.to_path_buf(),
            source,
        })?;

        let mut spool = Spool {
            dir: dir.to_path_buf(),
            _lock: lock,
            options,
            stream: state.stream,
            acked: state.acked,
            saved_acked: state.acked,
            next_sequence,
            total_bytes: segments.iter().map(|segment| segment.bytes).sum(),
            segments,
            active: Arc::new(active),
            synced_through: next_sequence - 1,
            unsynced: Vec::new(),
            dir_generation: 0,
            dir_synced_generation: 0,
            cursor: None,
            stats,
            record: Vec::with_capacity(MAX_RECORD_BYTES),
        };
        spool.release_acked();
        Ok(spool)
    }

    /// Returns the spool folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Returns the stream id, fixed when the folder was first used.
    pub fn stream(&self) -> StreamId {
        self.stream
    }

    /// Returns the highest acknowledged sequence number, 0 before the first acknowledgement.
    pub fn acked(&self) -> u64 {
        self.acked
    }

    /// Returns the sequence number the next appended event gets.
    pub fn next_sequence(&self) -> u64 {
        self.next_sequence
    }

    /// Returns the number of spooled events not yet acknowledged.
    pub fn pending(&self) -> u64 {
        self.segments
            .iter()
            .map(|segment| segment.unacked(self.acked))
            .sum()
    }

    /// Returns the bytes of all segment files.
    pub fn size_bytes(&self) -> u64 {
        self.total_bytes
    }

    /// Returns the counters since [`Spool::open`].
    pub fn stats(&self) -> SpoolStats {
        self.stats
    }

    /// Appends one event line and returns its sequence number. Does not fsync.
    ///
    /// When the spool is full, first drops the oldest segments (counted, with a warning for
    /// each segment that held unacknowledged events). A failed write is undone by cutting the
    /// file back, so the next append starts on a record boundary.
    pub fn append(&mut self, line: &str) -> Result<u64, SpoolError> {
        if line.is_empty() || line.len() > MAX_LINE_BYTES {
            return Err(SpoolError::LineLength { len: line.len() });
        }

        let sequence = self.next_sequence;
        self.record.clear();
        encode_record(sequence, line, &mut self.record);
        let record_bytes = self.record.len() as u64;
        self.make_room(record_bytes)?;

        let active = self
            .segments
            .back_mut()
            .expect("a spool always has a segment");
        if let Err(source) = (&*self.active).write_all(&self.record) {
            // O_APPEND writes at the end of the file, so cutting it back re-aligns the next
            // append. If even that fails, the next open cuts the partial record off.
            let _ = self.active.set_len(active.bytes);
            return Err(SpoolError::Io {
                path: active.path.clone(),
                source,
            });
        }

        active.count += 1;
        active.bytes += record_bytes;
        self.total_bytes += record_bytes;
        self.next_sequence += 1;
        Ok(sequence)
    }

    /// Returns the files that need an fsync before every appended record is on disk, or
    /// `None` when everything is synced. Pass the ticket to [`Spool::finish_sync`] after
    /// [`SyncTicket::run`] succeeded.
    pub fn begin_sync(&self) -> Option<SyncTicket> {
        let through = self.next_sequence - 1;
        let dir_dirty = self.dir_generation != self.dir_synced_generation;
        if self.synced_through >= through && self.unsynced.is_empty() && !dir_dirty {
            return None;
        }

        let mut files = self.unsynced.clone();
        files.push(Arc::clone(&self.active));
        Some(SyncTicket {
            files,
            dir: dir_dirty.then(|| self.dir.clone()),
            dir_generation: self.dir_generation,
            through,
        })
    }

    /// Records that `ticket` ran successfully, so [`Spool::read_batch`] may return the
    /// records it covered.
    pub fn finish_sync(&mut self, ticket: &SyncTicket) {
        self.synced_through = self.synced_through.max(ticket.through);
        self.unsynced
            .retain(|file| !ticket.files.iter().any(|synced| Arc::ptr_eq(synced, file)));
        if ticket.dir.is_some() {
            self.dir_synced_generation = self.dir_synced_generation.max(ticket.dir_generation);
        }
    }

    /// Fsyncs everything appended so far, holding `&mut self` throughout.
    pub fn sync(&mut self) -> Result<(), SpoolError> {
        let Some(ticket) = self.begin_sync() else {
            return Ok(());
        };
        ticket.run().map_err(|source| SpoolError::Sync {
            dir: self.dir.clone(),
            source,
        })?;
        self.finish_sync(&ticket);
        Ok(())
    }

    /// Reads the oldest unacknowledged events that are on disk: at most `max_events`, and at
    /// most `max_bytes` of lines unless a single line is longer. Stops early at a gap in the
    /// sequence numbers, so the batch is consecutive. Returns `None` when there is nothing to
    /// send.
    ///
    /// Damaged records found here are cut off like at open, with the events behind them in
    /// their segment counted as dropped.
    pub fn read_batch(
        &mut self,
        max_events: usize,
        max_bytes: usize,
    ) -> Result<Option<SpoolBatch>, SpoolError> {
        if self.acked >= self.synced_through || max_events == 0 {
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

    /// Records that the receiver stored every event up to `sequence` and deletes segments that
    /// hold nothing else. The new value reaches the state file with [`Spool::save_state`].
    pub fn acknowledge(&mut self, sequence: u64) -> Result<(), SpoolError> {
        if sequence >= self.next_sequence {
            return Err(SpoolError::AckBeyondEnd {
                ack: sequence,
                last: self.next_sequence - 1,
            });
        }
        if sequence > self.acked {
            self.acked = sequence;
            self.release_acked();
        }
        Ok(())
    }

    /// Returns the state as it should be saved, or `None` when the state file is current.
    pub fn unsaved_state(&self) -> Option<SpoolState> {
        (self.saved_acked != self.acked).then_some(SpoolState {
            stream: self.stream,
            acked: self.acked,
        })
    }

    /// Records that `state` was saved to the state file.
    pub fn mark_saved(&mut self, state: SpoolState) {
        self.saved_acked = self.saved_acked.max(state.acked);
    }

    /// Saves the acknowledged sequence to the state file if it changed, holding `&mut self`.
    pub fn save_state(&mut self) -> Result<(), SpoolError> {
        if let Some(state) = self.unsaved_state() {
            state.save(&self.dir)?;
            self.mark_saved(state);
        }
        Ok(())
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

    /// Makes room for a record of `record_bytes`: starts a new segment when the active one is
    /// full, then drops the oldest segments while the spool would exceed its maximum.
    fn make_room(&mut self, record_bytes: u64) -> Result<(), SpoolError> {
        let active = &self.segments[self.segments.len() - 1];
        if active.bytes > 0 && active.bytes + record_bytes > self.options.segment_bytes {
            self.rotate()?;
        }

        while self.total_bytes + record_bytes > self.options.max_bytes && self.segments.len() > 1 {
            self.drop_oldest();
        }
        Ok(())
    }

    /// Starts a new active segment at the next sequence number.
    fn rotate(&mut self) -> Result<(), SpoolError> {
        let segment = create_segment(&self.dir, self.next_sequence)?;
        let file = open_for_append(&segment)?;

        let previous = std::mem::replace(&mut self.active, Arc::new(file));
        self.unsynced.push(previous);
        self.segments.push_back(segment);
        self.dir_generation += 1;
        Ok(())
    }

    /// Deletes the oldest segment because the spool is full.
    fn drop_oldest(&mut self) {
        let Some(segment) = self.segments.pop_front() else {
            return;
        };
        self.forget_segment(&segment);

        let lost = segment.unacked(self.acked);
        if lost > 0 {
            self.stats.dropped_segments += 1;
            self.stats.dropped_events += lost;
            log::warn!(
                "spool {} reached its maximum of {} bytes: dropped segment {} with {lost} \
                 unsent events (sequences {} to {})",
                self.dir.display(),
                self.options.max_bytes,
                segment.path.display(),
                segment.end() - lost,
                segment.end() - 1,
            );
        }
    }

    /// Deletes every segment but the active one whose records are all acknowledged.
    fn release_acked(&mut self) {
        while self.segments.len() > 1 && self.segments[0].end() <= self.acked + 1 {
            if let Some(segment) = self.segments.pop_front() {
                self.forget_segment(&segment);
            }
        }
    }

    /// Removes the file of a segment already taken out of `segments`.
    fn forget_segment(&mut self, segment: &Segment) {
        if let Err(error) = fs::remove_file(&segment.path) {
            log::warn!(
                "failed to delete spool segment {}: {error}",
                segment.path.display()
            );
        }
        self.total_bytes -= segment.bytes;
        if self
            .cursor
            .is_some_and(|cursor| cursor.segment_first == segment.first)
        {
            self.cursor = None;
        }
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

/// Draws a stream id for a spool folder without a state file and saves it at once, so that the
/// id is fixed before any event can be sent under it.
fn new_stream(dir: &Path, has_segments: bool) -> Result<SpoolState, SpoolError> {
    if has_segments {
        log::warn!(
            "spool {} has segment files but no {STATE_FILE}; starting a new stream, so events \
             in them that the viewer already has are delivered again",
            dir.display()
        );
    }

    let state = SpoolState {
        stream: StreamId::random().map_err(SpoolError::Random)?,
        acked: 0,
    };
    state.save(dir)?;
    log::info!("spool {} starts stream {}", dir.display(), state.stream);
    Ok(state)
}

fn create_segment(dir: &Path, first: u64) -> Result<Segment, SpoolError> {
    let path = dir.join(segment_file_name(first));
    OpenOptions::new()
        .create_new(true)
        .append(true)
        .open(&path)
        .map_err(|source| SpoolError::Io {
            path: path.clone(),
            source,
        })?;

    Ok(Segment {
        first,
        count: 0,
        bytes: 0,
        path,
    })
}

fn open_for_append(segment: &Segment) -> Result<File, SpoolError> {
    OpenOptions::new()
        .append(true)
        .open(&segment.path)
        .map_err(|source| SpoolError::Io {
            path: segment.path.clone(),
            source,
        })
}
