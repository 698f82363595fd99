//! Crash safety of `pull`: the process is killed with SIGKILL at random moments while a large
//! store is served slowly. After every kill the installed store must still open as either
//! the old or the new store, with at most one temporary file beside it.

mod support;

use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use support::{binary, generated_ips, write_file, Delivery, Route, Server};
use trailwatch_trails::compile::compile_trees;
use trailwatch_trails::sign;
use trailwatch_trailset::TrailSet;

/// Kills per run. Each kill lands during one pull, at a random point between its start and
/// a little after the time a whole pull took, so that downloads, checks and renames are all
/// hit.
const KILLS: usize = 30;

/// Addresses in each store, enough for a download that takes a few hundred milliseconds at
/// the rate below.
const ADDRESSES: u32 = 40_000;

/// A small xorshift generator, seeded from the clock and printed so a failure can be
/// replayed by setting `seed` by hand.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

struct Published {
    store: Vec<u8>,
    signature: Vec<u8>,
    /// An address only this store lists.
    marker: IpAddr,
}

/// Compiles and signs a store of `ADDRESSES` generated addresses starting at `first`.
fn build(dir: &Path, name: &str, first: u32, key: &Path) -> Published {
    let tree = dir.join(format!("tree-{name}"));
    write_file(
        &tree,
        "malware/generated.txt",
        &generated_ips(first, ADDRESSES),
    );
    let output = dir.join(format!("{name}.store"));
    compile_trees(&[tree], None, &output).unwrap();
    sign::sign_file(&sign::read_signing_key(key).unwrap(), &output).unwrap();

    let marker = generated_ips(first, 1).trim().parse().unwrap();
    Published {
        store: fs::read(&output).unwrap(),
        signature: fs::read(sign::signature_path(&output)).unwrap(),
        marker,
    }
}

fn temporaries(folder: &Path) -> Vec<PathBuf> {
    fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.to_string_lossy().ends_with(".tmp"))
        .collect()
}

fn publish(server: &Server, published: &Published, etag: &str) {
    let slow = Delivery::Slow {
        chunk: 16 * 1024,
        delay: Duration::from_millis(8),
    };
    let route = Route::ok(published.store.clone())
        .with_etag(etag)
        .with_delivery(slow);
    server.route("trails.store", route);
    server.route("trails.store.sig", Route::ok(published.signature.clone()));
}

fn pull_command(server: &Server, public_key: &Path, store: &Path) -> Command {
    let mut command = Command::new(binary());
    command
        .args(["pull", "--url", &server.url("trails.store"), "--public-key"])
        .arg(public_key)
        .arg("-o")
        .arg(store)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

#[test]
fn killed_pulls_keep_store_usable() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    sign::generate_key(&key).unwrap();
    let public_key = sign::public_key_path(&key);
    let versions = [
        build(dir.path(), "a", 0, &key),
        build(dir.path(), "b", ADDRESSES, &key),
    ];

    let server = Server::start();
    let device = dir.path().join("device");
    let store = device.join("trails.store");
    publish(&server, &versions[0], "\"first\"");
    let first = pull_command(&server, &public_key, &store).status().unwrap();
    assert!(first.success());

    // A pull over an installed store also checks that store first, so the second one times
    // the case the kills hit.
    publish(&server, &versions[1], "\"second\"");
    let started = Instant::now();
    let second = pull_command(&server, &public_key, &store).status().unwrap();
    assert!(second.success());
    let window_ms = (started.elapsed().as_millis() as u64) * 5 / 4 + 1;

    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("seed {seed}, kills within {window_ms} ms");
    let mut random = Random(seed);

    let mut completed = 0;
    for kill in 0..KILLS {
        let version = &versions[kill % 2];
        publish(&server, version, &format!("\"kill{kill}\""));

        let mut child = pull_command(&server, &public_key, &store).spawn().unwrap();
        thread::sleep(Duration::from_millis(random.next() % window_ms));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        if status.success() {
            completed += 1;
        }

        let set = TrailSet::open(&store)
            .unwrap_or_else(|error| panic!("kill {kill} (seed {seed}): {error}"));
        let old_or_new = versions
            .iter()
            .any(|version| set.lookup_ip(version.marker).is_some());
        assert!(old_or_new, "kill {kill} (seed {seed}): neither store");
        let left = temporaries(&device);
        assert!(left.len() <= 1, "kill {kill} (seed {seed}): {left:?}");
    }
    println!("{completed} of {KILLS} pulls completed before the kill");

    publish(&server, &versions[0], "\"final\"");
    let last = pull_command(&server, &public_key, &store).status().unwrap();
    assert!(last.success());
    assert!(temporaries(&device).is_empty());
}
