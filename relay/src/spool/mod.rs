//! The sender's spool: events on disk from the moment they are appended until the receiver
//! acknowledges them.
//!
//! A spool folder contains `state.json` (stream id, acknowledged sequence), append-only
//! segment files named after their first sequence number, and a `lock` file. Each event is
//! one framed record (see [`record`]). The newest segment is never deleted, so the next
//! sequence number can always be derived from the files.
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

mod error;
mod full_warning;
mod options;
mod read;
pub mod record;
mod segment;
mod state;
mod sync;

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::atomic_file::{lock_exclusive, sync_dir};
use crate::batch::{StreamId, MAX_LINE_BYTES};
use full_warning::FullWarning;
use read::Cursor;
use record::{encode_record, MAX_RECORD_BYTES};
use segment::{list_segments, scan_segment, segment_file_name, Scan, Segment};

pub use error::SpoolError;
pub use options::SpoolOptions;
pub use read::SpoolBatch;
pub use state::{SpoolState, STATE_FILE};
pub use sync::SyncTicket;

/// Name of the lock file inside the spool folder.
const LOCK_FILE: &str = "lock";

/// Files of a spool folder other than segments. `state.json.tmp` is the temporary file of an
/// atomic state save that a crash interrupted.
const OTHER_FILES: [&str; 3] = [STATE_FILE, "state.json.tmp", LOCK_FILE];

/// Counters of a spool since it was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpoolStats {
    /// Damaged or torn record tails cut off, at open or when read.
    pub torn_records: u64,
    /// Segments dropped because the spool was full while they held unacknowledged events.
    pub dropped_segments: u64,
    /// Unacknowledged events lost: in dropped segments, behind damaged records found when
    /// reading, and behind damaged records cut off at open. The count cut off the newest
    /// segment at open is an estimate (at least 1) from the mean record size.
    pub dropped_events: u64,
}

/// An open spool folder. A lock file keeps a second `Spool` from opening the folder, in this
/// process or another one, until this one is closed with [`Spool::close`] or dropped.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    /// Lock file whose `flock(2)` lasts as long as the spool is open. `None` once closed.
    lock: Option<File>,
    options: SpoolOptions,
    stream: StreamId,
    acked: u64,
    saved_acked: u64,
    next_sequence: u64,
    /// Oldest first, never empty. The last one is the segment appended to.
    segments: VecDeque<Segment>,
    /// The last segment, open for appending. `None` once closed.
    active: Option<Arc<File>>,
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
    full_warning: FullWarning,
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
        let listed = list_segments(dir, &OTHER_FILES)?;

        let state = match SpoolState::load(dir)? {
            Some(state) => state,
            None => new_stream(dir, !listed.is_empty())?,
        };

        let mut scans = Vec::with_capacity(listed.len());
        for (first, path) in &listed {
            scans.push(scan_segment(*first, path)?);
        }
        let mut stats = SpoolStats::default();
        for (index, scan) in scans.iter().enumerate() {
            if scan.cut_bytes > 0 {
                let next_first = scans.get(index + 1).map(|next| next.segment.first);
                stats.torn_records += 1;
                stats.dropped_events += count_cut_events(scan, next_first, state.acked);
            }
        }
        let mut segments: VecDeque<Segment> = scans.into_iter().map(|scan| scan.segment).collect();

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
            lock: Some(lock),
            options,
            stream: state.stream,
            acked: state.acked,
            saved_acked: state.acked,
            next_sequence,
            total_bytes: segments.iter().map(|segment| segment.bytes).sum(),
            segments,
            active: Some(Arc::new(active)),
            synced_through: next_sequence - 1,
            unsynced: Vec::new(),
            dir_generation: 0,
            dir_synced_generation: 0,
            cursor: None,
            stats,
            full_warning: FullWarning::default(),
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

    /// Returns whether [`Spool::close`] ran.
    pub fn is_closed(&self) -> bool {
        self.lock.is_none()
    }

    /// Fsyncs the spool, saves its state, then closes its files and releases the folder lock,
    /// so that another `Spool` can open the folder at once. The counters and the accessors
    /// keep their last values. Afterwards [`Spool::append`] fails with [`SpoolError::Closed`],
    /// [`Spool::read_batch`] returns nothing, and later calls of `close` do nothing.
    ///
    /// The files and the lock are released even when the fsync or the save fails. The error
    /// is returned, and the next open cuts off a torn record or sends some events again.
    pub fn close(&mut self) -> Result<(), SpoolError> {
        if self.is_closed() {
            return Ok(());
        }
        let synced = self.sync();
        let saved = self.save_state();

        self.cursor = None;
        self.unsynced.clear();
        self.active = None;
        self.lock = None;
        synced.and(saved)
    }

    /// Appends one event line and returns its sequence number. Does not fsync.
    ///
    /// When the spool is full, first drops the oldest segments (counted, with a warning about
    /// the first and then at most one a minute). A failed write is undone by cutting the
    /// file back, so the next append starts on a record boundary.
    pub fn append(&mut self, line: &str) -> Result<u64, SpoolError> {
        if line.is_empty() || line.len() > MAX_LINE_BYTES {
            return Err(SpoolError::LineLength { len: line.len() });
        }
        if self.is_closed() {
            return Err(SpoolError::Closed {
                dir: self.dir.clone(),
            });
        }

        let sequence = self.next_sequence;
        self.record.clear();
        encode_record(sequence, line, &mut self.record);
        let record_bytes = self.record.len() as u64;
        self.make_room(record_bytes)?;

        let file = self.active_file()?;
        let active = self
            .segments
            .back_mut()
            .expect("a spool always has a segment");
        if let Err(source) = (&*file).write_all(&self.record) {
            // O_APPEND writes at the end of the file, so cutting it back re-aligns the next
            // append. If even that fails, the next open cuts the partial record off.
            let _ = file.set_len(active.bytes);
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

    /// Records that the receiver stored every event up to `sequence` and deletes segments that
    /// contain nothing else. The new value reaches the state file with [`Spool::save_state`].
    pub fn acknowledge(&mut self, sequence: u64) -> Result<(), SpoolError> {
        if self.is_closed() {
            return Err(SpoolError::Closed {
                dir: self.dir.clone(),
            });
        }
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

    /// Returns the state as it should be saved, or `None` when the state file is current or
    /// the spool is closed.
    pub fn unsaved_state(&self) -> Option<SpoolState> {
        (self.saved_acked != self.acked && !self.is_closed()).then_some(SpoolState {
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

    /// Returns the file of the active segment, or [`SpoolError::Closed`].
    fn active_file(&self) -> Result<Arc<File>, SpoolError> {
        self.active.clone().ok_or_else(|| SpoolError::Closed {
            dir: self.dir.clone(),
        })
    }

    /// Starts a new active segment at the next sequence number.
    fn rotate(&mut self) -> Result<(), SpoolError> {
        let segment = create_segment(&self.dir, self.next_sequence)?;
        let file = open_for_append(&segment)?;

        let previous = self.active.replace(Arc::new(file));
        self.unsynced.extend(previous);
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
            self.full_warning
                .dropped(&self.dir, self.options.max_bytes, lost, segment.end() - 1);
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
}

/// Logs the records cut off the segment of `scan` and returns how many unacknowledged events
/// they held. `next_first` is the first sequence of the following segment, if any.
fn count_cut_events(scan: &Scan, next_first: Option<u64>, acked: u64) -> u64 {
    let segment = &scan.segment;
    if let Some(next_first) = next_first {
        // The next segment starts where this one ended before the damage, so the gap between
        // them is exactly the records cut off.
        let from = segment.end().max(acked.saturating_add(1));
        let lost = next_first.saturating_sub(from);
        log::warn!(
            "spool segment {} is damaged after {} intact records: cut off {} bytes with {lost} \
             unsent events (sequences {from} to {})",
            segment.path.display(),
            segment.count,
            scan.cut_bytes,
            next_first.saturating_sub(1),
        );
        return lost;
    }

    // Nothing records how many records the damaged bytes of the newest segment held. A power
    // cut tears one record, and other damage is estimated from the mean intact record size.
    let mean_record = segment.bytes.checked_div(segment.count).unwrap_or(0).max(1);
    let estimate = scan.cut_bytes.div_ceil(mean_record).max(1);
    log::warn!(
        "spool segment {} ends in a torn or damaged record after {} intact records: cut off {} \
         bytes with at least 1 and by estimate {estimate} unsent events",
        segment.path.display(),
        segment.count,
        scan.cut_bytes,
    );
    estimate
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
