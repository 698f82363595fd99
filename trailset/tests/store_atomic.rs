//! Replacing a store file while readers open it: every open reads a whole store.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use trailwatch_trailset::{write_store_atomic, TrailSet};

fn store(lines: &str) -> Vec<u8> {
    let (set, _) = TrailSet::from_text(&[("malware/x.txt", lines, false)], None).unwrap();
    set.store_bytes().to_vec()
}

#[test]
fn concurrent_opens_see_whole_stores() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("trails.store");
    let small = store("evil.com\n");
    let large_text: String = (0..20_000).map(|i| format!("host{i}.example\n")).collect();
    let large = store(&large_text);
    write_store_atomic(&path, &small).unwrap();

    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (path, done) = (path.clone(), done.clone());
        thread::spawn(move || {
            let mut opens = 0;
            while !done.load(Ordering::Relaxed) || opens == 0 {
                let set = TrailSet::open(&path).expect("every open succeeds");
                assert!(set.len() == 1 || set.len() == 20_000, "len {}", set.len());
                opens += 1;
            }
            opens
        })
    };

    for round in 0..200 {
        let bytes = if round % 2 == 0 { &large } else { &small };
        write_store_atomic(&path, bytes).unwrap();
    }
    done.store(true, Ordering::Relaxed);

    let opens = reader.join().unwrap();
    assert!(opens > 0);
}

#[test]
fn no_temporary_file_is_left() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("trails.store");
    write_store_atomic(&path, &store("evil.com\n")).unwrap();
    write_store_atomic(&path, &store("bad.org\n")).unwrap();

    let names: Vec<_> = std::fs::read_dir(folder.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(names, ["trails.store"]);
}

#[test]
fn missing_folder_is_io_error() {
    let result = write_store_atomic(
        std::path::Path::new("/nonexistent/folder/trails.store"),
        &store("evil.com\n"),
    );

    assert!(matches!(
        result,
        Err(trailwatch_trailset::StoreError::Io { .. })
    ));
}

#[test]
fn stale_temporary_of_dead_writer_removed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trails.store");
    // PID 4194304 is above Linux's maximum PID (2^22), so no process has it.
    let stale = dir.path().join(".trails.store.tmp-4194304-0");
    std::fs::write(&stale, b"half a store").unwrap();
    let unrelated = dir.path().join(".other.store.tmp-4194304-0");
    std::fs::write(&unrelated, b"another file").unwrap();

    let (bytes, _) = trailwatch_trailset::StoreBuilder::new()
        .finish(None)
        .unwrap();
    trailwatch_trailset::write_store_atomic(&path, &bytes).unwrap();

    assert!(!stale.exists());
    assert!(unrelated.exists());
    assert!(path.exists());
}
