//! End to end through the binary: `keygen`, `compile`, `sign`, a local server publishing
//! the store, `pull` with the right key, a wrong key, a modified store and no signature,
//! then `lookup`, `stats` and `verify` on the result.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::{binary, write_file, Route, Server};
use tempfile::TempDir;

/// Runs the binary with `args` in `dir`.
fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(binary())
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A publisher with keys `key` and `other`, and a published store built from one domain.
struct Publisher {
    dir: TempDir,
    server: Server,
}

impl Publisher {
    fn new() -> Publisher {
        let dir = tempfile::tempdir().unwrap();
        let publisher = Publisher {
            dir,
            server: Server::start(),
        };
        assert!(publisher.run(&["keygen", "-o", "key"]).status.success());
        assert!(publisher.run(&["keygen", "-o", "other"]).status.success());
        publisher
    }

    fn run(&self, args: &[&str]) -> Output {
        run(self.dir.path(), args)
    }

    /// Compiles a store listing `domain`, signs it with `key` and returns its bytes and
    /// signature.
    fn build(&self, domain: &str, key: &str) -> (Vec<u8>, Vec<u8>) {
        let tree = format!("tree-{domain}");
        write_file(
            self.dir.path(),
            &format!("{tree}/malware/x.txt"),
            &format!("{domain}\n"),
        );
        let built = self.run(&["compile", "--trails", &tree, "-o", "out/trails.store"]);
        assert!(built.status.success(), "{}", stderr(&built));
        let signed = self.run(&["sign", "--key", key, "out/trails.store"]);
        assert!(signed.status.success(), "{}", stderr(&signed));

        let store = fs::read(self.dir.path().join("out/trails.store")).unwrap();
        let signature = fs::read(self.dir.path().join("out/trails.store.sig")).unwrap();
        (store, signature)
    }

    /// Serves `store` with ETag `etag` and its signature.
    fn publish(&self, store: &[u8], signature: &[u8], etag: &str) {
        self.server
            .route("trails.store", Route::ok(store.to_vec()).with_etag(etag));
        self.server
            .route("trails.store.sig", Route::ok(signature.to_vec()));
    }

    fn pull(&self, public_key: &str) -> Output {
        let url = self.server.url("trails.store");
        self.run(&[
            "pull",
            "--url",
            &url,
            "--public-key",
            public_key,
            "-o",
            "device/trails.store",
        ])
    }

    fn device_store(&self) -> PathBuf {
        self.dir.path().join("device/trails.store")
    }

    fn lookup(&self, indicator: &str) -> Output {
        self.run(&["lookup", "--store", "device/trails.store", indicator])
    }
}

#[test]
fn signed_store_is_installed() {
    let publisher = Publisher::new();
    let (store, signature) = publisher.build("alpha.example", "key");
    publisher.publish(&store, &signature, "\"a\"");

    let pulled = publisher.pull("key.pub");

    assert!(pulled.status.success(), "{}", stderr(&pulled));
    assert_eq!(fs::read(publisher.device_store()).unwrap(), store);
}

#[test]
fn installed_store_answers_lookup() {
    let publisher = Publisher::new();
    let (store, signature) = publisher.build("alpha.example", "key");
    publisher.publish(&store, &signature, "\"a\"");
    publisher.pull("key.pub");

    let found = publisher.lookup("www.alpha.example");

    assert_eq!(found.status.code(), Some(0), "{}", stderr(&found));
    assert!(
        stdout(&found).contains("(www).alpha.example"),
        "{}",
        stdout(&found)
    );
}

#[test]
fn lookup_prints_info_and_sources() {
    let publisher = Publisher::new();
    let (store, signature) = publisher.build("alpha.example", "key");
    publisher.publish(&store, &signature, "\"a\"");
    publisher.pull("key.pub");

    let found = stdout(&publisher.lookup("alpha.example"));

    assert!(found.contains("info:      x (malware)"), "{found}");
    assert!(
        found.contains("sources:   x (malware) [(static)]"),
        "{found}"
    );
}

#[test]
fn unlisted_lookup_exits_1() {
    let publisher = Publisher::new();
    let (store, signature) = publisher.build("alpha.example", "key");
    publisher.publish(&store, &signature, "\"a\"");
    publisher.pull("key.pub");

    assert_eq!(publisher.lookup("beta.example").status.code(), Some(1));
}

#[test]
fn second_pull_is_unchanged() {
    let publisher = Publisher::new();
    let (store, signature) = publisher.build("alpha.example", "key");
    publisher.publish(&store, &signature, "\"a\"");
    publisher.pull("key.pub");

    let again = publisher.pull("key.pub");

    assert!(stdout(&again).contains("unchanged"), "{}", stdout(&again));
    let requests = publisher.server.received("trails.store");
    assert_eq!(
        requests[1].headers.get("if-none-match").map(String::as_str),
        Some("\"a\"")
    );
}

#[test]
fn newer_store_replaces_older() {
    let publisher = Publisher::new();
    let (store, signature) = publisher.build("alpha.example", "key");
    publisher.publish(&store, &signature, "\"a\"");
    publisher.pull("key.pub");

    let (store, signature) = publisher.build("beta.example", "key");
    publisher.publish(&store, &signature, "\"b\"");
    publisher.pull("key.pub");

    assert_eq!(publisher.lookup("beta.example").status.code(), Some(0));
    assert_eq!(publisher.lookup("alpha.example").status.code(), Some(1));
}

/// Installs a store listing `alpha.example`, then publishes one listing `beta.example`
/// signed with `key` and changed by `tamper`, and pulls it with `key.pub`.
fn pull_tampered(
    key: &str,
    tamper: impl FnOnce(&mut Vec<u8>, &mut Vec<u8>),
) -> (Publisher, Output) {
    let publisher = Publisher::new();
    let (store, signature) = publisher.build("alpha.example", "key");
    publisher.publish(&store, &signature, "\"a\"");
    assert!(publisher.pull("key.pub").status.success());

    let (mut store, mut signature) = publisher.build("beta.example", key);
    tamper(&mut store, &mut signature);
    publisher.publish(&store, &signature, "\"b\"");
    let pulled = publisher.pull("key.pub");
    (publisher, pulled)
}

#[test]
fn other_key_is_rejected() {
    let (_, pulled) = pull_tampered("other", |_, _| {});

    assert_eq!(pulled.status.code(), Some(2));
    assert!(
        stderr(&pulled).contains("signed by another key"),
        "{}",
        stderr(&pulled)
    );
}

#[test]
fn other_key_keeps_old_store() {
    let (publisher, _) = pull_tampered("other", |_, _| {});

    assert_eq!(publisher.lookup("alpha.example").status.code(), Some(0));
}

#[test]
fn modified_store_is_rejected() {
    let (publisher, pulled) = pull_tampered("key", |store, _| {
        let middle = store.len() / 2;
        store[middle] ^= 0x01;
    });

    assert_eq!(pulled.status.code(), Some(2));
    assert!(
        stderr(&pulled).contains("was modified"),
        "{}",
        stderr(&pulled)
    );
    assert_eq!(publisher.lookup("alpha.example").status.code(), Some(0));
}

#[test]
fn unsigned_store_is_rejected() {
    let publisher = Publisher::new();
    let (store, signature) = publisher.build("alpha.example", "key");
    publisher.publish(&store, &signature, "\"a\"");
    publisher.pull("key.pub");

    let (store, _) = publisher.build("beta.example", "key");
    publisher
        .server
        .route("trails.store", Route::ok(store).with_etag("\"b\""));
    publisher
        .server
        .route("trails.store.sig", Route::status(404, "not found\n"));
    let pulled = publisher.pull("key.pub");

    assert!(stderr(&pulled).contains("unsigned"), "{}", stderr(&pulled));
    assert_eq!(publisher.lookup("alpha.example").status.code(), Some(0));
}

#[test]
fn signed_corrupt_store_is_rejected() {
    let publisher = Publisher::new();
    let (store, signature) = publisher.build("alpha.example", "key");
    publisher.publish(&store, &signature, "\"a\"");
    publisher.pull("key.pub");

    // A validly signed file that is not a store: the publisher signed the wrong file. The
    // `sign` command refuses such a file, so the library signs it here.
    write_file(publisher.dir.path(), "out/trails.store", "not a store\n");
    let key = trailwatch_trails::sign::read_signing_key(&publisher.dir.path().join("key")).unwrap();
    let bogus = publisher.dir.path().join("out/trails.store");
    trailwatch_trails::sign::sign_file(&key, &bogus).unwrap();
    let store = fs::read(publisher.dir.path().join("out/trails.store")).unwrap();
    let signature = fs::read(publisher.dir.path().join("out/trails.store.sig")).unwrap();
    publisher.publish(&store, &signature, "\"c\"");
    let pulled = publisher.pull("key.pub");

    assert!(stderr(&pulled).contains("corrupt"), "{}", stderr(&pulled));
    assert_eq!(publisher.lookup("alpha.example").status.code(), Some(0));
}

#[test]
fn rejected_pull_leaves_no_temporary() {
    let (publisher, _) = pull_tampered("other", |_, _| {});

    let leftovers: Vec<String> = fs::read_dir(publisher.dir.path().join("device"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn verify_accepts_own_key() {
    let publisher = Publisher::new();
    publisher.build("alpha.example", "key");

    let verified = publisher.run(&["verify", "--public-key", "key.pub", "out/trails.store"]);

    assert_eq!(verified.status.code(), Some(0), "{}", stderr(&verified));
}

#[test]
fn verify_rejects_other_key() {
    let publisher = Publisher::new();
    publisher.build("alpha.example", "key");

    let verified = publisher.run(&["verify", "--public-key", "other.pub", "out/trails.store"]);

    assert_eq!(verified.status.code(), Some(1), "{}", stderr(&verified));
}

#[test]
fn stats_counts_domains() {
    let publisher = Publisher::new();
    publisher.build("alpha.example", "key");

    let stats = publisher.run(&["stats", "--store", "out/trails.store"]);

    assert!(
        stdout(&stats).contains("indicators: 1"),
        "{}",
        stdout(&stats)
    );
}

#[test]
fn stats_lists_sources() {
    let publisher = Publisher::new();
    publisher.build("alpha.example", "key");

    let stats = publisher.run(&["stats", "--store", "out/trails.store"]);

    let listed = stdout(&stats)
        .lines()
        .any(|line| line.trim() == "1  x (malware) [(static)]");
    assert!(listed, "{}", stdout(&stats));
}

#[test]
fn pull_from_config_file() {
    let publisher = Publisher::new();
    let (store, signature) = publisher.build("alpha.example", "key");
    publisher.publish(&store, &signature, "\"a\"");
    let config = format!(
        "store = \"device/trails.store\"\n[ota]\nupdate_url = \"{}\"\npublic_key = \"key.pub\"\n",
        publisher.server.url("trails.store")
    );
    write_file(publisher.dir.path(), "device.toml", &config);

    let pulled = publisher.run(&["pull", "-c", "device.toml"]);

    assert!(pulled.status.success(), "{}", stderr(&pulled));
    assert_eq!(publisher.lookup("alpha.example").status.code(), Some(0));
}
