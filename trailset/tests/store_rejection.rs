//! Damaged, foreign and forged stores are rejected with their own error, never a panic, and
//! lookups on whatever a mutated store still passes never panic either.

use std::net::IpAddr;

use proptest::prelude::*;
use trailwatch_trailset::{FormatError, StoreError, TrailSet, STORE_FORMAT_VERSION};

const HEADER_LEN: usize = 40;
const CHECKSUM_AT: usize = 24;
const SECTION_COUNT_AT: usize = 32;
const ENTRY_LEN: usize = 24;

const TRAILS: &str = "\
1.2.3.4
2001:db8::1
198.51.100.7:443
[2001:db8::66]:443
5.63.151.0/24
2001:db8:aaaa::/48
evil.com
.cc
backdates[0-9]{1,2}\\.(com|net)
evil.com/gate.php
/gate.php
";

fn valid_store() -> Vec<u8> {
    let files = [
        ("malware/a.txt", TRAILS, false),
        ("malware/b.txt", "evil.com\n1.2.3.4\n", false),
        ("custom/mine.txt", "evil.com\n", true),
    ];
    let (set, _) = TrailSet::from_text(&files, None).unwrap();
    set.store_bytes().to_vec()
}

fn problem(bytes: Vec<u8>) -> FormatError {
    match TrailSet::from_store_bytes(bytes) {
        Ok(_) => panic!("a damaged store was accepted"),
        Err(error) => error.problem().cloned().expect("a format problem"),
    }
}

/// Recomputes the checksum after the bytes behind the header were changed on purpose.
fn fix_checksum(bytes: &mut [u8]) {
    if bytes.len() >= HEADER_LEN {
        let sum = xxhash_rust::xxh3::xxh3_64(&bytes[HEADER_LEN..]);
        bytes[CHECKSUM_AT..CHECKSUM_AT + 8].copy_from_slice(&sum.to_le_bytes());
    }
}

fn section_count(bytes: &[u8]) -> usize {
    u32::from_le_bytes(
        bytes[SECTION_COUNT_AT..SECTION_COUNT_AT + 4]
            .try_into()
            .unwrap(),
    ) as usize
}

/// The kind number of the strings section, the only one without a leading count.
const STRINGS_KIND: u32 = 1;

/// Returns (kind, offset, length) of every section, from the section table.
fn sections(bytes: &[u8]) -> Vec<(u32, usize, usize)> {
    (0..section_count(bytes))
        .map(|i| {
            let at = HEADER_LEN + i * ENTRY_LEN;
            let kind = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
            let field =
                |n: usize| u64::from_le_bytes(bytes[at + n..at + n + 8].try_into().unwrap());
            (kind, field(8) as usize, field(16) as usize)
        })
        .collect()
}

#[test]
fn valid_store_is_accepted() {
    assert!(TrailSet::from_store_bytes(valid_store()).is_ok());
}

#[test]
fn wrong_magic_is_not_a_store() {
    let mut bytes = valid_store();
    bytes[..8].copy_from_slice(b"PK\x03\x04zip!");

    assert_eq!(problem(bytes), FormatError::NotAStore);
}

#[test]
fn text_file_is_not_a_store() {
    assert_eq!(
        problem(b"evil.com\n1.2.3.4\n".to_vec()),
        FormatError::NotAStore
    );
}

#[test]
fn other_version_names_both() {
    let mut bytes = valid_store();
    bytes[8..12].copy_from_slice(&(STORE_FORMAT_VERSION + 1).to_le_bytes());

    let expected = FormatError::UnsupportedVersion {
        found: STORE_FORMAT_VERSION + 1,
        supported: STORE_FORMAT_VERSION,
    };
    assert_eq!(problem(bytes), expected);
}

#[test]
fn every_truncation_is_a_length_mismatch() {
    let bytes = valid_store();

    for len in 0..bytes.len() {
        let truncated = bytes[..len].to_vec();
        let found = problem(truncated);
        assert!(
            matches!(found, FormatError::LengthMismatch { actual, .. } if actual == len as u64),
            "cut at {len}: {found}"
        );
    }
}

#[test]
fn appended_bytes_are_a_length_mismatch() {
    let mut bytes = valid_store();
    bytes.extend_from_slice(&[0; 8]);

    assert!(matches!(problem(bytes), FormatError::LengthMismatch { .. }));
}

#[test]
fn flipped_byte_after_header_fails_checksum() {
    let bytes = valid_store();

    for at in (HEADER_LEN..bytes.len()).step_by(7) {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x10;
        let found = problem(damaged);
        assert!(
            matches!(found, FormatError::ChecksumMismatch { .. }),
            "byte {at}: {found}"
        );
    }
}

#[test]
fn flipped_header_byte_is_rejected() {
    let bytes = valid_store();

    for at in 0..HEADER_LEN {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x01;
        let rejected = TrailSet::from_store_bytes(damaged);
        assert!(rejected.is_err(), "header byte {at} flipped was accepted");
    }
}

#[test]
fn section_past_end_is_inconsistent() {
    let mut bytes = valid_store();
    let last = HEADER_LEN + (section_count(&bytes) - 1) * ENTRY_LEN;
    bytes[last + 16..last + 24].copy_from_slice(&(1u64 << 40).to_le_bytes());
    fix_checksum(&mut bytes);

    assert!(matches!(
        problem(bytes),
        FormatError::Inconsistent {
            section: "section table",
            ..
        }
    ));
}

#[test]
fn overlapping_sections_are_inconsistent() {
    let mut bytes = valid_store();
    let second = HEADER_LEN + ENTRY_LEN;
    let first_offset = sections(&bytes)[0].1 as u64;
    bytes[second + 8..second + 16].copy_from_slice(&first_offset.to_le_bytes());
    fix_checksum(&mut bytes);

    assert!(matches!(
        problem(bytes),
        FormatError::Inconsistent {
            section: "section table",
            ..
        }
    ));
}

#[test]
fn oversized_count_is_inconsistent() {
    let bytes = valid_store();
    let counted = sections(&bytes)
        .into_iter()
        .filter(|&(kind, _, _)| kind != STRINGS_KIND);
    for (_, offset, _) in counted {
        // The first field of every section is a count.
        let mut forged = bytes.clone();
        forged[offset..offset + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        fix_checksum(&mut forged);

        let found = problem(forged);
        assert!(
            matches!(found, FormatError::Inconsistent { .. }),
            "section at {offset}: {found}"
        );
    }
}

#[test]
fn open_error_names_path() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("trails.store");
    let mut bytes = valid_store();
    bytes[HEADER_LEN + 3] ^= 1;
    std::fs::write(&path, bytes).unwrap();

    let error = TrailSet::open(&path).unwrap_err();
    assert!(matches!(
        &error,
        StoreError::Invalid { path: Some(p), problem: FormatError::ChecksumMismatch { .. } }
            if p == &path
    ));
    assert!(error.to_string().contains("trailwatch-trails compile"));
}

#[test]
fn missing_file_is_io_error() {
    let result = TrailSet::open(std::path::Path::new("/nonexistent/trails.store"));

    assert!(matches!(result, Err(StoreError::Io { .. })));
}

/// Runs every kind of lookup, and `sources` on each hit, on a set that passed the checks.
fn exercise(set: &TrailSet) {
    let addresses = [
        "1.2.3.4",
        "5.63.151.9",
        "198.51.100.7",
        "2001:db8::1",
        "2001:db8:aaaa::1",
    ];
    for text in addresses {
        let ip: IpAddr = text.parse().unwrap();
        let hits = set.lookup_endpoint(ip, Some(443));
        if let Some(hit) = hits.ip {
            let _ = set.info(hit.source);
            let _ = set.sources((ip, hit)).count();
        }
        if let Some(source) = hits.ip_port {
            let _ = set.reference(source);
            let _ = set.sources((ip, 443)).count();
        }
    }
    for name in [
        "evil.com",
        "a.b.evil.com",
        "x.cc",
        "backdates12.net",
        "other.example",
    ] {
        if let Some(hit) = set.lookup_domain(name) {
            let _ = set.sources((name, hit)).count();
        }
    }
    for (host, path) in [("evil.com", "/gate.php?x=1"), ("a.example", "/gate.php")] {
        if let Some(hit) = set.lookup_url(host, path) {
            let _ = set.sources((host, path, hit)).count();
        }
    }
    let _ = set.source_counts();
    let _ = set.counts();
}

/// Picks byte positions: mostly inside the first 48 bytes of a section, where the counts and
/// offsets that the structure checks read are, and otherwise anywhere.
fn mutation(len: usize, section_starts: Vec<usize>) -> impl Strategy<Value = (usize, u8)> {
    let starts = section_starts.clone();
    prop_oneof![
        (0..starts.len(), 0..48usize, any::<u8>())
            .prop_map(move |(s, within, byte)| ((starts[s] + within).min(len - 1), byte)),
        (0..len, any::<u8>()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn mutated_store_never_panics(
        mutations in {
            let bytes = valid_store();
            let starts: Vec<usize> = sections(&bytes).into_iter().map(|(_, offset, _)| offset).collect();
            proptest::collection::vec(mutation(bytes.len(), starts), 1..6)
        }
    ) {
        let mut bytes = valid_store();
        for (at, byte) in mutations {
            bytes[at] = byte;
        }
        fix_checksum(&mut bytes);

        if let Ok(set) = TrailSet::from_store_bytes(bytes) {
            exercise(&set);
        }
    }
}

#[test]
fn fifo_rejected_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("trails.store");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());

    // With no writer, a blocking open of a FIFO would wait forever.
    let error = TrailSet::open(&fifo).err().unwrap().to_string();
    assert!(error.contains("not a regular file"), "{error}");
}

#[test]
fn directory_rejected_as_store() {
    let dir = tempfile::tempdir().unwrap();
    let error = TrailSet::open(dir.path()).err().unwrap().to_string();
    assert!(!error.is_empty());
}
