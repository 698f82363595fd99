//! `sign` refuses a file that is not a valid trail store.

use std::process::Command;

#[test]
fn sign_rejects_non_store() {
    let dir = tempfile::tempdir().unwrap();
    let tool = env!("CARGO_BIN_EXE_trailwatch-trails");
    let key = dir.path().join("key");
    let status = Command::new(tool)
        .args(["keygen", "-o", key.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    let bogus = dir.path().join("notes.txt");
    std::fs::write(&bogus, "not a store\n").unwrap();

    let output = Command::new(tool)
        .args([
            "sign",
            "--key",
            key.to_str().unwrap(),
            bogus.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);

    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("notes.txt"), "{stderr}");
    assert!(!dir.path().join("notes.txt.sig").exists());
}
