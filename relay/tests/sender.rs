//! The sender against a real intake server on 127.0.0.1: order, retries while the server is
//! down, restarts, a lost acknowledgement and a wrong secret.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{free_addr, index_of, line, secret, start_server, wait_until, Written, DEADLINE};
use trailwatch_relay::{serve, Intake, Secret, Sender, SenderConfig};

/// Sender settings with a short backoff, so that tests retry quickly.
fn config(addr: std::net::SocketAddr, spool: &Path, secret: Secret) -> SenderConfig {
    SenderConfig {
        backoff_initial: Duration::from_millis(100),
        backoff_max: Duration::from_millis(400),
        batch_max_events: 50,
        ..SenderConfig::new(
            &format!("http://{addr}/api/intake"),
            secret,
            "pi",
            spool.to_path_buf(),
        )
    }
}

fn indexes(written: &Written) -> Vec<u64> {
    written
        .lock()
        .unwrap()
        .iter()
        .map(|line| index_of(line))
        .collect()
}

#[test]
fn sender_delivers_in_order() {
    if common::skip_for_proxy() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let written: Written = Arc::new(Mutex::new(Vec::new()));
    let server = start_server(free_addr(), &dir.path().join("intake.json"), &written);
    let mut sender = Sender::start(config(
        server.local_addr(),
        &dir.path().join("spool"),
        secret(),
    ))
    .unwrap();

    for index in 1..=500 {
        sender.append(&line(index));
    }
    wait_until("500 acknowledged events", || {
        sender.stats().acknowledged == 500
    });
    sender.shutdown(DEADLINE);

    assert_eq!(indexes(&written), (1..=500).collect::<Vec<_>>());
    assert_eq!(sender.stats().pending, 0);
    assert_eq!(sender.stats().dropped(), 0);
}

#[test]
fn invalid_line_is_dropped_and_counted() {
    if common::skip_for_proxy() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let mut sender = Sender::start(config(addr, &dir.path().join("spool"), secret())).unwrap();

    sender.append("not a log line\n");
    sender.append(&line(1));

    let stats = sender.stats();
    assert_eq!(stats.invalid_lines, 1);
    assert_eq!(stats.dropped(), 1);
    assert_eq!(stats.pending, 1);
    sender.shutdown(Duration::ZERO);
}

#[test]
fn sender_waits_for_late_receiver() {
    if common::skip_for_proxy() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let written: Written = Arc::new(Mutex::new(Vec::new()));
    let addr = free_addr();
    let mut sender = Sender::start(config(addr, &dir.path().join("spool"), secret())).unwrap();

    for index in 1..=120 {
        sender.append(&line(index));
    }
    // Nothing listens yet, so the first attempts fail and the events stay pending.
    wait_until("two failed attempts", || {
        sender.stats().failed_attempts >= 2
    });
    assert_eq!(sender.stats().pending, 120);
    let server = start_server(addr, &dir.path().join("intake.json"), &written);
    wait_until("120 acknowledged events", || {
        sender.stats().acknowledged == 120
    });
    sender.shutdown(DEADLINE);

    assert_eq!(indexes(&written), (1..=120).collect::<Vec<_>>());
    assert_eq!(server.stats().events_duplicate, 0);
}

#[test]
fn sender_restart_resumes_without_duplicates() {
    if common::skip_for_proxy() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let written: Written = Arc::new(Mutex::new(Vec::new()));
    let addr = free_addr();

    // The first sender spools events while the receiver is down and stops without delivering.
    let mut first = Sender::start(config(addr, &spool, secret())).unwrap();
    let stream = first.stream();
    for index in 1..=80 {
        first.append(&line(index));
    }
    first.shutdown(Duration::ZERO);
    assert_eq!(first.stats().pending, 80);
    drop(first);

    let _server = start_server(addr, &dir.path().join("intake.json"), &written);
    let mut second = Sender::start(config(addr, &spool, secret())).unwrap();
    for index in 81..=100 {
        second.append(&line(index));
    }
    wait_until("100 acknowledged events", || {
        second.stats().acknowledged == 100
    });
    second.shutdown(DEADLINE);
    drop(second);

    // A third start finds nothing left to send.
    let third = Sender::start(config(addr, &spool, secret())).unwrap();

    assert_eq!(third.stream(), stream);
    assert_eq!(third.stats().pending, 0);
    assert_eq!(indexes(&written), (1..=100).collect::<Vec<_>>());
}

#[test]
fn stopped_sender_releases_spool() {
    if common::skip_for_proxy() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let written: Written = Arc::new(Mutex::new(Vec::new()));
    let addr = free_addr();

    // Nothing listens yet, so the first sender only spools.
    let mut first = Sender::start(config(addr, &spool, secret())).unwrap();
    for index in 1..=40 {
        first.append(&line(index));
    }
    first.shutdown(Duration::ZERO);

    // `first` is not dropped, as when a configuration reload starts the next sender.
    let _server = start_server(addr, &dir.path().join("intake.json"), &written);
    let mut second = Sender::start(config(addr, &spool, secret())).unwrap();
    for index in 41..=60 {
        second.append(&line(index));
    }
    first.append(&line(1000));
    wait_until("60 acknowledged events", || {
        second.stats().acknowledged == 60
    });
    second.shutdown(DEADLINE);

    assert_eq!(second.stream(), first.stream());
    assert_eq!(indexes(&written), (1..=60).collect::<Vec<_>>());
    assert_eq!(first.stats().append_failures, 1);
    assert_eq!(first.stats().pending, 40);
}

#[test]
fn wrong_secret_keeps_events_spooled() {
    if common::skip_for_proxy() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let written: Written = Arc::new(Mutex::new(Vec::new()));
    let server = start_server(free_addr(), &dir.path().join("intake.json"), &written);
    let wrong = Secret::new(b"not the receiver's secret".to_vec()).unwrap();
    let mut sender = Sender::start(config(
        server.local_addr(),
        &dir.path().join("spool"),
        wrong,
    ))
    .unwrap();

    for index in 1..=10 {
        sender.append(&line(index));
    }
    wait_until("two rejected attempts", || {
        server.stats().rejected_signature >= 2
    });
    sender.shutdown(Duration::ZERO);

    assert!(written.lock().unwrap().is_empty());
    assert_eq!(sender.stats().pending, 10);
    assert_eq!(sender.stats().acknowledged, 0);
}

#[test]
fn lost_acknowledgement_is_not_written_twice() {
    if common::skip_for_proxy() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let written: Written = Arc::new(Mutex::new(Vec::new()));
    let intake = Intake::open(secret(), &dir.path().join("intake.json")).unwrap();
    let first_write = Arc::new(AtomicBool::new(true));

    // The first write takes longer than the sender's request timeout, so the sender never
    // receives that acknowledgement and sends the batch again.
    let server = serve("127.0.0.1:0", "/api/intake", intake, {
        let written = Arc::clone(&written);
        let first_write = Arc::clone(&first_write);
        move |lines: &[String]| {
            written.lock().unwrap().extend_from_slice(lines);
            if first_write.swap(false, Ordering::Relaxed) {
                std::thread::sleep(Duration::from_secs(3));
            }
            Ok(())
        }
    })
    .unwrap();
    let mut sender = Sender::start(SenderConfig {
        request_timeout: Duration::from_secs(1),
        ..config(server.local_addr(), &dir.path().join("spool"), secret())
    })
    .unwrap();

    for index in 1..=30 {
        sender.append(&line(index));
    }
    wait_until("30 acknowledged events", || {
        sender.stats().acknowledged == 30
    });
    sender.shutdown(DEADLINE);

    assert!(sender.stats().failed_attempts >= 1);
    assert!(server.stats().events_duplicate >= 1, "{:?}", server.stats());
    assert_eq!(indexes(&written), (1..=30).collect::<Vec<_>>());
}
