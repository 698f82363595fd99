//! The spool on real files: reopening, torn tails, the size limit and wiped folders.

mod common;

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once};

use common::{index_of, line};
use proptest::prelude::*;
use trailwatch_relay::spool::{record::encode_record, SpoolState, STATE_FILE};
use trailwatch_relay::{Spool, SpoolError, SpoolOptions};

/// Options with the smallest allowed segments and room for four of them.
fn small_options() -> SpoolOptions {
    let segment_bytes = trailwatch_relay::spool::record::MAX_RECORD_BYTES as u64;
    SpoolOptions {
        max_bytes: 4 * segment_bytes,
        segment_bytes,
    }
}

fn open(dir: &Path) -> Spool {
    Spool::open(dir, small_options()).unwrap()
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "seg"))
        .collect();
    files.sort();
    files
}

/// Returns the encoded length of the record of [`line`] `index`.
fn record_len(index: u64) -> usize {
    let mut record = Vec::new();
    encode_record(index, &line(index), &mut record);
    record.len()
}

/// Reads every unacknowledged event in order and returns the indexes of their lines.
fn read_all(spool: &mut Spool) -> Vec<u64> {
    let mut indexes = Vec::new();
    while let Some(batch) = spool.read_batch(100, 64 * 1024).unwrap() {
        indexes.extend(batch.events.iter().map(|line| index_of(line)));
        spool.acknowledge(batch.last_sequence()).unwrap();
    }
    indexes
}

#[test]
fn spool_reads_appended_events_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut spool = open(dir.path());
    for index in 1..=250 {
        assert_eq!(spool.append(&line(index)).unwrap(), index);
    }
    spool.sync().unwrap();

    let batch = spool.read_batch(100, 64 * 1024).unwrap().unwrap();

    assert_eq!(batch.first_sequence, 1);
    assert_eq!(batch.events.len(), 100);
    assert_eq!(batch.events[0], line(1));
    assert_eq!(spool.pending(), 250);
    spool.acknowledge(batch.last_sequence()).unwrap();
    assert_eq!(spool.pending(), 150);
    assert_eq!(read_all(&mut spool), (101..=250).collect::<Vec<_>>());
}

#[test]
fn batch_respects_byte_limit() {
    let dir = tempfile::tempdir().unwrap();
    let mut spool = open(dir.path());
    for index in 1..=10 {
        spool.append(&line(index)).unwrap();
    }
    spool.sync().unwrap();

    let limit = 3 * line(1).len();
    let batch = spool.read_batch(100, limit).unwrap().unwrap();
    let tiny = spool.read_batch(100, 1).unwrap().unwrap();

    assert_eq!(batch.events.len(), 3);
    // A single line over the byte limit still travels, alone.
    assert_eq!(tiny.events.len(), 1);
}

#[test]
fn unsynced_events_are_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut spool = open(dir.path());
    spool.append(&line(1)).unwrap();

    assert_eq!(spool.read_batch(100, 64 * 1024).unwrap(), None);

    spool.sync().unwrap();
    assert!(spool.read_batch(100, 64 * 1024).unwrap().is_some());
}

#[test]
fn spool_state_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut spool = open(dir.path());
    let stream = spool.stream();
    for index in 1..=5 {
        spool.append(&line(index)).unwrap();
    }
    spool.sync().unwrap();
    spool.acknowledge(2).unwrap();
    spool.save_state().unwrap();
    drop(spool);

    let mut reopened = open(dir.path());

    assert_eq!(reopened.stream(), stream);
    assert_eq!(reopened.acked(), 2);
    assert_eq!(reopened.next_sequence(), 6);
    assert_eq!(reopened.pending(), 3);
    assert_eq!(read_all(&mut reopened), [3, 4, 5]);
}

#[test]
fn acked_state_ahead_keeps_numbering() {
    let dir = tempfile::tempdir().unwrap();
    let mut spool = open(dir.path());
    let stream = spool.stream();
    spool.append(&line(1)).unwrap();
    spool.sync().unwrap();
    drop(spool);
    SpoolState { stream, acked: 7 }.save(dir.path()).unwrap();

    let mut reopened = open(dir.path());

    assert_eq!(reopened.next_sequence(), 8);
    assert_eq!(reopened.pending(), 0);
    assert_eq!(reopened.append(&line(8)).unwrap(), 8);
}

#[test]
fn torn_tail_is_dropped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let mut spool = open(dir.path());
    for index in 1..=3 {
        spool.append(&line(index)).unwrap();
    }
    spool.sync().unwrap();
    drop(spool);

    // A power cut during the fourth write leaves part of its record behind.
    let last = segment_files(dir.path()).pop().unwrap();
    let mut record = Vec::new();
    encode_record(4, &line(4), &mut record);
    let mut file = OpenOptions::new().append(true).open(&last).unwrap();
    file.write_all(&record[..record.len() / 2]).unwrap();
    drop(file);

    let mut reopened = open(dir.path());

    assert_eq!(reopened.stats().torn_records, 1);
    assert_eq!(reopened.stats().dropped_events, 1);
    assert_eq!(reopened.pending(), 3);
    assert_eq!(reopened.next_sequence(), 4);
    assert_eq!(reopened.append(&line(4)).unwrap(), 4);
    reopened.sync().unwrap();
    assert_eq!(read_all(&mut reopened), [1, 2, 3, 4]);
}

/// Log messages of every test in this binary, recorded by [`capture_logs`].
static MESSAGES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct CaptureLogger;

impl log::Log for CaptureLogger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            let message = format!("{} {}", record.level(), record.args());
            MESSAGES.lock().unwrap().push(message);
        }
    }

    fn flush(&self) {}
}

/// Installs the recording logger once for this test binary.
fn capture_logs() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        log::set_logger(&CaptureLogger).unwrap();
        log::set_max_level(log::LevelFilter::Warn);
    });
}

/// Returns the recorded messages that contain `text`, such as a test's temporary folder.
fn messages_containing(text: &str) -> Vec<String> {
    let messages = MESSAGES.lock().unwrap();
    messages
        .iter()
        .filter(|message| message.contains(text))
        .cloned()
        .collect()
}

#[test]
fn damage_before_next_segment_counts_gap() {
    capture_logs();
    let dir = tempfile::tempdir().unwrap();
    let mut spool = open(dir.path());
    for index in 1..=1500 {
        spool.append(&line(index)).unwrap();
    }
    spool.sync().unwrap();
    drop(spool);
    let files = segment_files(dir.path());
    assert!(files.len() >= 2, "{files:?}");
    let second_first: u64 = files[1]
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();

    // Damage the 10th record of the oldest segment: records 10 up to the next segment are lost.
    let mut bytes = fs::read(&files[0]).unwrap();
    let offset: usize = (1..10).map(record_len).sum();
    bytes[offset + 20] ^= 0xff;
    fs::write(&files[0], &bytes).unwrap();

    let reopened = open(dir.path());

    let lost = second_first - 10;
    assert_eq!(reopened.stats().torn_records, 1);
    assert_eq!(reopened.stats().dropped_events, lost);
    assert_eq!(reopened.pending(), 1500 - lost);
    let warnings = messages_containing(&files[0].display().to_string());
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains(&format!("with {lost} unsent events")),
        "{warnings:?}"
    );
}

#[test]
fn damaged_newest_segment_estimates_loss() {
    capture_logs();
    let dir = tempfile::tempdir().unwrap();
    let mut spool = open(dir.path());
    // Two-digit indexes give records of one length, so the estimate is exact.
    for index in 11..=20 {
        spool.append(&line(index)).unwrap();
    }
    spool.sync().unwrap();
    drop(spool);
    let path = segment_files(dir.path()).pop().unwrap();
    let mut bytes = fs::read(&path).unwrap();
    bytes[4 * record_len(11) + 20] ^= 0xff;
    fs::write(&path, &bytes).unwrap();

    let reopened = open(dir.path());

    assert_eq!(reopened.stats().torn_records, 1);
    assert_eq!(reopened.stats().dropped_events, 6);
    assert_eq!(reopened.pending(), 4);
    let warnings = messages_containing(&path.display().to_string());
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("by estimate 6 unsent events"),
        "{warnings:?}"
    );
}

#[test]
fn stray_files_are_reported() {
    capture_logs();
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()));
    fs::write(dir.path().join("99999999999999999999.seg"), b"x").unwrap();
    fs::write(dir.path().join("notes.txt"), b"x").unwrap();

    let mut reopened = open(dir.path());

    assert_eq!(reopened.append(&line(1)).unwrap(), 1);
    let warnings = messages_containing(&dir.path().display().to_string());
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings.iter().all(|warning| warning.starts_with("WARN")));
    assert!(warnings
        .iter()
        .any(|warning| warning.contains("99999999999999999999.seg")));
    assert!(warnings.iter().any(|warning| warning.contains("notes.txt")));
}

#[test]
fn full_spool_warns_once_a_minute() {
    capture_logs();
    let dir = tempfile::tempdir().unwrap();
    let mut spool = open(dir.path());

    for index in 1..=12_000 {
        spool.append(&line(index)).unwrap();
    }

    let dropped = spool.stats().dropped_segments;
    assert!(dropped >= 10, "{dropped} segments dropped");
    let warnings = messages_containing(&dir.path().display().to_string());
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("dropped the oldest 1 segment with"),
        "{warnings:?}"
    );
}

#[test]
fn garbage_tail_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let mut spool = open(dir.path());
    spool.append(&line(1)).unwrap();
    spool.sync().unwrap();
    drop(spool);
    let last = segment_files(dir.path()).pop().unwrap();
    let mut file = OpenOptions::new().append(true).open(&last).unwrap();
    file.write_all(&[0u8; 4096]).unwrap();
    drop(file);

    let mut reopened = open(dir.path());

    assert_eq!(reopened.stats().torn_records, 1);
    assert_eq!(read_all(&mut reopened), [1]);
}

#[test]
fn damage_found_on_read_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    let mut spool = open(dir.path());
    for index in 1..=3 {
        spool.append(&line(index)).unwrap();
    }
    spool.sync().unwrap();

    // Flip a byte in the payload of the second record while the spool is open.
    let path = segment_files(dir.path()).pop().unwrap();
    let mut bytes = fs::read(&path).unwrap();
    let record_len = bytes.len() / 3;
    bytes[record_len + 20] ^= 0xff;
    fs::write(&path, &bytes).unwrap();

    let first = spool.read_batch(100, 64 * 1024).unwrap().unwrap();
    spool.acknowledge(first.last_sequence()).unwrap();
    spool.append(&line(4)).unwrap();
    spool.sync().unwrap();

    assert_eq!(first.events, [line(1)]);
    assert_eq!(spool.stats().torn_records, 1);
    assert_eq!(spool.stats().dropped_events, 2);
    assert_eq!(read_all(&mut spool), [4]);
}

#[test]
fn full_spool_drops_oldest_segment() {
    let dir = tempfile::tempdir().unwrap();
    let options = small_options();
    let mut spool = Spool::open(dir.path(), options).unwrap();
    let count = 4000;
    for index in 1..=count {
        spool.append(&line(index)).unwrap();
    }
    spool.sync().unwrap();

    let stats = spool.stats();
    assert!(stats.dropped_segments >= 1, "{stats:?}");
    assert!(spool.size_bytes() <= options.max_bytes);
    let on_disk: u64 = segment_files(dir.path())
        .iter()
        .map(|path| fs::metadata(path).unwrap().len())
        .sum();
    assert_eq!(on_disk, spool.size_bytes());
    assert_eq!(spool.pending() + stats.dropped_events, count);

    // What is left is the newest events, in order, starting after the dropped ones.
    let left = read_all(&mut spool);
    assert_eq!(left.first(), Some(&(stats.dropped_events + 1)));
    assert_eq!(left.last(), Some(&count));
    assert!(left.windows(2).all(|pair| pair[1] == pair[0] + 1));
}

#[test]
fn acknowledged_segments_are_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let mut spool = open(dir.path());
    for index in 1..=1500 {
        spool.append(&line(index)).unwrap();
    }
    spool.sync().unwrap();
    assert!(segment_files(dir.path()).len() >= 3);

    spool.acknowledge(1500).unwrap();

    assert_eq!(segment_files(dir.path()).len(), 1);
    assert_eq!(spool.pending(), 0);
    assert_eq!(spool.stats().dropped_events, 0);
}

#[test]
fn acknowledgement_beyond_end_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let mut spool = open(dir.path());
    spool.append(&line(1)).unwrap();

    let error = spool.acknowledge(5).unwrap_err();

    assert!(matches!(
        error,
        SpoolError::AckBeyondEnd { ack: 5, last: 1 }
    ));
    assert_eq!(spool.acked(), 0);
}

#[test]
fn wiped_spool_starts_new_stream() {
    let dir = tempfile::tempdir().unwrap();
    let mut spool = open(dir.path());
    let stream = spool.stream();
    spool.append(&line(1)).unwrap();
    drop(spool);
    fs::remove_dir_all(dir.path()).unwrap();

    let mut fresh = open(dir.path());

    assert_ne!(fresh.stream(), stream);
    assert_eq!(fresh.append(&line(1)).unwrap(), 1);
    assert!(dir.path().join(STATE_FILE).exists());
}

#[test]
fn second_open_of_folder_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let first = open(dir.path());

    let second = Spool::open(dir.path(), small_options()).unwrap_err();
    drop(first);
    let third = Spool::open(dir.path(), small_options());

    assert!(matches!(second, SpoolError::Locked { .. }), "{second}");
    assert!(third.is_ok());
}

#[test]
fn closed_spool_reopens_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = open(dir.path());
    let stream = first.stream();
    for index in 1..=5 {
        first.append(&line(index)).unwrap();
    }
    first.sync().unwrap();
    first.acknowledge(2).unwrap();

    first.close().unwrap();
    // `first` is still alive: closing alone must release the folder.
    let mut second = Spool::open(dir.path(), small_options()).unwrap();

    assert!(first.is_closed());
    assert_eq!(second.stream(), stream);
    assert_eq!(second.acked(), 2);
    assert_eq!(second.next_sequence(), 6);
    assert_eq!(read_all(&mut second), [3, 4, 5]);
    let append = first.append(&line(6)).unwrap_err();
    assert!(matches!(append, SpoolError::Closed { .. }), "{append}");
    let acknowledge = first.acknowledge(5).unwrap_err();
    assert!(
        matches!(acknowledge, SpoolError::Closed { .. }),
        "{acknowledge}"
    );
    assert_eq!(first.read_batch(100, 64 * 1024).unwrap(), None);
    assert_eq!(first.pending(), 3);
    assert_eq!(second.append(&line(6)).unwrap(), 6);
}

#[test]
fn invalid_options_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let options = SpoolOptions {
        max_bytes: 1024,
        segment_bytes: 512,
    };

    let error = Spool::open(dir.path(), options).unwrap_err();

    assert!(
        matches!(error, SpoolError::InvalidOptions { .. }),
        "{error}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever bytes a segment file contains, opening and reading the spool neither panics nor
    /// returns an event that was never appended.
    #[test]
    fn random_segment_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..4096),
        keep in 0usize..3,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = open(dir.path());
        for index in 1..=3 {
            spool.append(&line(index)).unwrap();
        }
        spool.sync().unwrap();
        drop(spool);

        let path = segment_files(dir.path()).pop().unwrap();
        let mut content = fs::read(&path).unwrap();
        content.truncate(keep * content.len() / 3);
        content.extend_from_slice(&bytes);
        fs::write(&path, &content).unwrap();

        let mut reopened = open(dir.path());
        let indexes = read_all(&mut reopened);
        let expected: Vec<u64> = (1..=keep as u64).collect();
        prop_assert_eq!(indexes, expected);
    }
}
