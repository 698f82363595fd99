//! The daily log writer on real files: date rollover, appending, concurrent writers and a full
//! disk.

use std::fs;
use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::sync::Arc;
use std::thread;

use chrono::{Local, NaiveDate, TimeZone};
use trailwatch_event::{parse_log_line, Event, LogError, LogWriter, Proto, Timestamp, TrailType};

/// Returns the timestamp of a local date and time, taking the earlier instant when a DST change
/// makes the local time ambiguous.
fn local_time(date: (i32, u32, u32), hms: (u32, u32, u32), millis: u32) -> Timestamp {
    let naive = NaiveDate::from_ymd_opt(date.0, date.1, date.2)
        .and_then(|day| day.and_hms_milli_opt(hms.0, hms.1, hms.2, millis))
        .expect("valid date and time");
    let local = Local
        .from_local_datetime(&naive)
        .earliest()
        .expect("local time exists");

    Timestamp {
        secs: local.timestamp(),
        nanos: local.timestamp_subsec_nanos(),
    }
}

fn event_at(time: Timestamp, info: &str) -> Event {
    Event {
        time,
        sensor: Arc::from("edge1"),
        src_ip: IpAddr::V4(Ipv4Addr::new(192, 168, 1, 20)),
        src_port: Some(51234),
        dst_ip: IpAddr::V4(Ipv4Addr::new(8, 8, 8, 8)),
        dst_port: Some(53),
        proto: Proto::Udp,
        trail_type: TrailType::Dns,
        trail: "evil.example.com".to_string(),
        info: info.to_string(),
        reference: "abuse.ch".to_string(),
        repeats: 0,
    }
}

fn lines_of(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
        .lines()
        .map(str::to_string)
        .collect()
}

fn infos_of(path: &Path) -> Vec<String> {
    lines_of(path)
        .iter()
        .map(|line| parse_log_line(line).unwrap().info)
        .collect()
}

#[test]
fn midnight_splits_daily_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = LogWriter::open(dir.path(), false).unwrap();

    writer
        .write(&event_at(
            local_time((2026, 12, 4), (23, 59, 59), 900),
            "before",
        ))
        .unwrap();
    writer
        .write(&event_at(
            local_time((2026, 12, 5), (0, 0, 0), 100),
            "after",
        ))
        .unwrap();

    assert_eq!(infos_of(&dir.path().join("2026-12-04.log")), ["before"]);
    assert_eq!(infos_of(&dir.path().join("2026-12-05.log")), ["after"]);
}

#[test]
fn replay_across_midnight_stays_sorted() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = LogWriter::open(dir.path(), false).unwrap();
    let day1 = |info| event_at(local_time((2026, 12, 4), (23, 59, 59), 0), info);
    let day2 = |info| event_at(local_time((2026, 12, 5), (0, 0, 1), 0), info);
    let day3 = |info| event_at(local_time((2026, 12, 6), (12, 0, 0), 0), info);

    for event in [
        day1("a"),
        day2("b"),
        day1("c"),
        day3("d"),
        day2("e"),
        day1("f"),
    ] {
        writer.write(&event).unwrap();
    }

    assert_eq!(
        infos_of(&dir.path().join("2026-12-04.log")),
        ["a", "c", "f"]
    );
    assert_eq!(infos_of(&dir.path().join("2026-12-05.log")), ["b", "e"]);
    assert_eq!(infos_of(&dir.path().join("2026-12-06.log")), ["d"]);
}

#[test]
fn existing_file_is_appended() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("2026-12-04.log");
    let earlier = event_at(local_time((2026, 12, 4), (10, 0, 0), 0), "earlier");
    fs::write(&path, earlier.to_log_line()).unwrap();

    let mut writer = LogWriter::open(dir.path(), false).unwrap();
    writer
        .write(&event_at(local_time((2026, 12, 4), (11, 0, 0), 0), "later"))
        .unwrap();

    assert_eq!(infos_of(&path), ["earlier", "later"]);
}

#[test]
fn json_file_written_beside_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = LogWriter::open(dir.path(), true).unwrap();
    let event = event_at(local_time((2026, 12, 4), (10, 0, 0), 0), "malware");

    writer.write(&event).unwrap();

    assert_eq!(lines_of(&dir.path().join("2026-12-04.log")).len(), 1);
    assert_eq!(
        fs::read_to_string(dir.path().join("2026-12-04.json")).unwrap(),
        event.to_json_line()
    );
    assert_eq!(writer.stats().lines_written, 2);
}

#[test]
fn stats_count_lines_and_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = LogWriter::open(dir.path(), false).unwrap();
    let event = event_at(local_time((2026, 12, 4), (10, 0, 0), 0), "malware");

    writer.write(&event).unwrap();
    writer.write(&event).unwrap();

    assert_eq!(writer.stats().lines_written, 2);
    assert_eq!(
        writer.stats().bytes_written,
        2 * event.to_log_line().len() as u64
    );
}

#[test]
fn new_file_has_mode_0644() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = LogWriter::open(dir.path(), false).unwrap();
    writer
        .write(&event_at(local_time((2026, 12, 4), (10, 0, 0), 0), "x"))
        .unwrap();

    let mode = fs::metadata(dir.path().join("2026-12-04.log"))
        .unwrap()
        .permissions()
        .mode();

    // The umask may clear bits of 0644 but never adds any.
    assert_eq!(mode & 0o777 & !0o644, 0, "mode {mode:o}");
    assert_eq!(mode & 0o600, 0o600, "mode {mode:o}");
}

#[test]
fn missing_dir_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("var/log/trailwatch");

    LogWriter::open(&nested, false).unwrap();

    assert!(nested.is_dir());
}

#[test]
fn dir_error_names_directory() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-dir");
    fs::write(&blocker, b"").unwrap();
    let target = blocker.join("logs");

    let error = LogWriter::open(&target, false).expect_err("open fails under a file");

    assert!(matches!(error, LogError::CreateDir { .. }), "{error:?}");
    assert!(
        error.to_string().contains(&target.display().to_string()),
        "{error}"
    );
}

#[test]
fn two_threads_append_whole_lines() {
    const LINES_PER_WRITER: usize = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let time = local_time((2026, 12, 4), (10, 0, 0), 0);

    let handles: Vec<_> = ["first", "second"]
        .into_iter()
        .map(|writer_name| {
            let dir = dir.path().to_path_buf();
            thread::spawn(move || {
                let mut writer = LogWriter::open(&dir, false).unwrap();
                for sequence in 0..LINES_PER_WRITER {
                    // Long, varying lines make a torn or interleaved write visible.
                    let info = format!("{writer_name} {sequence} {}", "x".repeat(sequence % 300));
                    writer.write(&event_at(time, &info)).unwrap();
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }

    let mut next_sequence = [0_usize; 2];
    let lines = lines_of(&dir.path().join("2026-12-04.log"));
    for line in &lines {
        let parsed = parse_log_line(line).unwrap_or_else(|error| panic!("{error}: {line}"));
        let mut words = parsed.info.split(' ');
        let writer_index = match words.next() {
            Some("first") => 0,
            Some("second") => 1,
            other => panic!("unexpected writer {other:?} in {line}"),
        };
        let sequence: usize = words.next().and_then(|word| word.parse().ok()).unwrap();
        let padding = words.next().unwrap_or("");

        assert_eq!(
            sequence, next_sequence[writer_index],
            "out of order: {line}"
        );
        assert_eq!(padding, "x".repeat(sequence % 300), "damaged: {line}");
        next_sequence[writer_index] += 1;
    }

    assert_eq!(lines.len(), 2 * LINES_PER_WRITER);
    assert_eq!(next_sequence, [LINES_PER_WRITER; 2]);
}

#[test]
fn full_disk_is_reported_then_recovers() {
    if !Path::new("/dev/full").exists() {
        println!("skipped: /dev/full is missing");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("2026-12-04.log");
    symlink("/dev/full", &path).unwrap();
    let mut writer = LogWriter::open(dir.path(), false).unwrap();
    let event = event_at(local_time((2026, 12, 4), (10, 0, 0), 0), "malware");

    // Every write to /dev/full fails with ENOSPC.
    let error = writer.write(&event).expect_err("write to /dev/full fails");
    assert!(error.is_no_space(), "{error:?}");
    assert!(error.to_string().contains("2026-12-04.log"), "{error}");
    assert!(writer.write(&event).is_err());
    assert_eq!(writer.stats().failed_no_space, 2);
    assert_eq!(writer.stats().lines_written, 0);

    // Once the path leads to a writable file again, the next write lands there.
    fs::remove_file(&path).unwrap();
    writer.write(&event).unwrap();

    assert_eq!(lines_of(&path), [event.to_log_line().trim_end()]);
    assert_eq!(writer.stats().lines_written, 1);
    assert_eq!(writer.stats().failed_other, 0);
}

#[test]
fn file_as_log_dir_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();

    let error = LogWriter::open(&file, false).err().unwrap().to_string();
    assert!(error.contains("is not a directory"), "{error}");
    assert!(error.contains("not-a-dir"), "{error}");
}
