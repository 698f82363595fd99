//! Loads a trail tree (default: the shipped `trails/static`) and prints what the sensor's
//! benchmark cares about: counts, load time, peak RSS and the cost of miss lookups.
//!
//! Run with `cargo run --release -p trailwatch-trailset --example load_default [TREE]`;
//! debug builds are several times slower, so their timings do not reflect a release build. Set
//! `TRAILSET_LOAD_ONLY=1` to skip the lookup timings (for profiling the load).

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Instant;

use trailwatch_trailset::{TrailDir, TrailSet};

const LOOKUPS: u32 = 10_000_000;

fn main() {
    let tree = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../trails/static")));

    let rss_before = status_kib("VmRSS:");
    let cpu_before = cpu_nanos();
    let (set, report) = match TrailSet::load(&[TrailDir::new(&tree)], None) {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::exit(1);
        }
    };

    println!("tree: {}", tree.display());
    let cpu_seconds = cpu_nanos().saturating_sub(cpu_before) as f64 / 1e9;
    println!("{report}");
    println!(
        "load time: {:.3} s wall, {cpu_seconds:.3} s on CPU",
        report.elapsed.as_secs_f64()
    );
    println!("peak RSS (VmHWM): {:.1} MiB", mib(status_kib("VmHWM:")));
    println!("RSS after load: {:.1} MiB", mib(status_kib("VmRSS:")));
    println!("RSS before load: {:.1} MiB", mib(rss_before));
    println!(
        "memory_bytes estimate: {:.1} MiB",
        set.memory_bytes() as f64 / 1048576.0
    );
    for bad in report.bad_lines.iter().take(100) {
        println!("bad line: {bad}");
    }

    if std::env::var_os("TRAILSET_LOAD_ONLY").is_none() {
        measure_lookups(&set);
        println!("RSS after lookups: {:.1} MiB", mib(status_kib("VmRSS:")));
    }
}

fn measure_lookups(set: &TrailSet) {
    let mut state = 0x2545_f491_u32;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };

    let started = Instant::now();
    let mut hits = 0u32;
    for _ in 0..LOOKUPS {
        let ip = IpAddr::V4(Ipv4Addr::from(next()));
        hits += u32::from(black_box(set.lookup_ip(black_box(ip))).is_some());
    }
    report_rate("lookup_ip (random IPv4)", started, hits);

    let started = Instant::now();
    let mut hits = 0u32;
    for _ in 0..LOOKUPS {
        let value = next();
        let ip = IpAddr::V4(Ipv4Addr::from(value));
        let port = (value >> 7) as u16 | 1;
        hits += u32::from(black_box(set.lookup_ip_port(black_box(ip), port)).is_some());
    }
    report_rate("lookup_ip_port (random IPv4)", started, hits);

    let names: Vec<String> = (0..1000)
        .map(|i| format!("host{}.cdn{}.example{}.com", next() % 97, i, next() % 13))
        .collect();
    let started = Instant::now();
    let mut hits = 0u32;
    let rounds = 1000;
    for _ in 0..rounds {
        for name in &names {
            hits += u32::from(black_box(set.lookup_domain(black_box(name))).is_some());
        }
    }
    report_rate_n(
        "lookup_domain (4-label miss)",
        started,
        hits,
        rounds * names.len() as u32,
    );

    let started = Instant::now();
    let mut hits = 0u32;
    for _ in 0..rounds {
        for name in &names {
            let path = "/static/js/app.min.js?v=1234&lang=en";
            hits += u32::from(black_box(set.lookup_url(black_box(name), path)).is_some());
        }
    }
    report_rate_n(
        "lookup_url (miss with query)",
        started,
        hits,
        rounds * names.len() as u32,
    );
}

fn report_rate(label: &str, started: Instant, hits: u32) {
    report_rate_n(label, started, hits, LOOKUPS);
}

fn report_rate_n(label: &str, started: Instant, hits: u32, count: u32) {
    let nanos = started.elapsed().as_nanos() as f64 / f64::from(count);
    println!("{label}: {nanos:.1} ns per lookup ({hits} hits of {count})");
}

/// Reads a `/proc/self/status` field in KiB, or 0 where the file does not exist.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Reads the time this thread spent on a CPU (`/proc/thread-self/schedstat`, first field, in
/// nanoseconds), which other load on the machine inflates less than wall time.
fn cpu_nanos() -> u64 {
    let schedstat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    schedstat
        .split_whitespace()
        .next()
        .and_then(|field| field.parse().ok())
        .unwrap_or(0)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}
