//! Compiles the default trail tree plus one million generated IPv4 addresses into a store,
//! then opens the store in a fresh process and measures it the way the sensor uses it.
//!
//! Run with `cargo run --release -p trailwatch-trailset --example store_bench [TREE]`; set
//! `STORE_BENCH_GENERATED` to add another number of addresses (0 for the tree alone). The
//! first process reports the compile time, its peak RSS, and the store size against the
//! same distinct indicators written as `indicator,info,reference` CSV lines. It then starts
//! itself again with `--open`, and that process maps the store. It reports the open time
//! twice: cold, right after the write dropped the file from the page cache, and warm. Then it
//! reports its RSS, its peak RSS after one million simulated packets, and the lookup rates
//! per kind.

use std::collections::HashSet;
use std::fs;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use trailwatch_trailset::{write_store_atomic, StoreBuilder, TrailDir, TrailSet};

const DEFAULT_GENERATED: usize = 1_000_000;
const GENERATED_INFO: &str = "generated (benchmark)";
const GENERATED_REFERENCE: &str = "bench.example";
const SEED: u32 = 0x2545_f491;

/// Simulated packets, each with two endpoint lookups; every 8th also carries a DNS name and
/// every 16th an HTTP request.
const PACKETS: usize = 1_000_000;

/// Lookups per measured kind.
const LOOKUPS: usize = 2_000_000;

fn main() {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("--open") => {
            let store = PathBuf::from(args.next().expect("--open STORE SAMPLES"));
            let samples = PathBuf::from(args.next().expect("--open STORE SAMPLES"));
            measure_open(&store, &samples);
        }
        tree => {
            let default_tree = concat!(env!("CARGO_MANIFEST_DIR"), "/../trails/static");
            compile_and_spawn(Path::new(tree.unwrap_or(default_tree)));
        }
    }
}

/// A small xorshift generator, so every run uses the same addresses.
struct XorShift(u32);

impl XorShift {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }
}

fn generated_count() -> usize {
    std::env::var("STORE_BENCH_GENERATED")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(DEFAULT_GENERATED)
}

fn generated_lines() -> String {
    let mut random = XorShift(SEED);
    let count = generated_count();
    let mut text = String::with_capacity(count * 16);
    for _ in 0..count {
        text.push_str(&Ipv4Addr::from(random.next()).to_string());
        text.push('\n');
    }
    text
}

fn compile_and_spawn(tree: &Path) {
    let started = Instant::now();
    let generated = generated_lines();
    let mut builder = StoreBuilder::new();
    builder
        .add_tree(&TrailDir::new(tree))
        .expect("read the trail tree");
    builder
        .add_indicators(
            "generated",
            GENERATED_INFO,
            GENERATED_REFERENCE,
            generated.lines(),
        )
        .expect("add the generated feed");
    let (bytes, report) = builder.finish(None).expect("compile the store");
    let compile_seconds = started.elapsed().as_secs_f64();
    let compile_peak = status_kib("VmHWM:");

    let folder = std::env::temp_dir().join(format!("store-bench-{}", std::process::id()));
    fs::create_dir_all(&folder).expect("create a temporary folder");
    let store = folder.join("trails.store");
    write_store_atomic(&store, &bytes).expect("write the store");

    println!("tree: {}", tree.display());
    println!("{report}");
    println!(
        "compile time: {compile_seconds:.2} s, peak RSS {:.1} MiB",
        mib(compile_peak)
    );

    let csv = csv_size(tree, &generated);
    println!(
        "store size: {:.1} MiB, CSV of the same indicators: {:.1} MiB ({:.0}%)",
        bytes.len() as f64 / 1048576.0,
        csv as f64 / 1048576.0,
        100.0 * bytes.len() as f64 / csv as f64
    );

    let set = TrailSet::from_store_bytes(bytes).expect("reopen the store");
    let samples = folder.join("samples.txt");
    fs::write(&samples, hit_samples(&set, tree)).expect("write the samples");
    drop(set);

    let status = Command::new(std::env::current_exe().expect("find this program"))
        .arg("--open")
        .arg(&store)
        .arg(&samples)
        .status()
        .expect("start the open benchmark");
    let _ = fs::remove_dir_all(&folder);
    std::process::exit(status.code().unwrap_or(1));
}

/// Returns the size of the distinct indicators as `indicator,info,reference` lines: the
/// first listing of each (ASCII case folded) indicator text wins, as in the store.
fn csv_size(tree: &Path, generated: &str) -> usize {
    let mut seen: HashSet<String> = HashSet::new();
    let mut size = 0;
    let mut add = |indicator: &str, info: &str, reference: &str| {
        if seen.insert(indicator.to_ascii_lowercase()) {
            size += indicator.len() + info.len() + reference.len() + 3;
        }
    };

    for (path, info) in trail_files(tree) {
        let text = String::from_utf8_lossy(&fs::read(path).unwrap_or_default()).into_owned();
        for indicator in text.lines().filter_map(indicator_of) {
            add(indicator, &info, "(static)");
        }
    }
    for line in generated.lines() {
        add(line, GENERATED_INFO, GENERATED_REFERENCE);
    }
    size
}

fn indicator_of(line: &str) -> Option<&str> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    line.split_whitespace().next()
}

/// Lists `*.txt` files below `tree` with the info text the store gives them.
fn trail_files(tree: &Path) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    let mut folders = vec![tree.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|ext| ext == "txt") {
                let stem = path
                    .file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .replace('_', " ");
                let info = match folder.strip_prefix(tree).ok().and_then(Path::file_name) {
                    Some(category) => format!("{stem} ({})", category.to_string_lossy()),
                    None => stem,
                };
                files.push((path, info));
            }
        }
    }
    files
}

/// Picks up to 1000 lines per kind from the tree that the store matches, one per line as
/// `kind<TAB>value`, for the open benchmark's hit lookups.
fn hit_samples(set: &TrailSet, tree: &Path) -> String {
    let (mut domains, mut endpoints, mut urls) = (Vec::new(), Vec::new(), Vec::new());
    for (path, _) in trail_files(tree) {
        let text = String::from_utf8_lossy(&fs::read(path).unwrap_or_default()).into_owned();
        for indicator in text.lines().filter_map(indicator_of) {
            let lower = indicator.to_ascii_lowercase();
            if let Some((host, port)) = lower.rsplit_once(':') {
                let (Ok(ip), Ok(port)) = (host.parse::<Ipv4Addr>(), port.parse::<u16>()) else {
                    continue;
                };
                if endpoints.len() < 1000 && set.lookup_ip_port(IpAddr::V4(ip), port).is_some() {
                    endpoints.push(format!("endpoint\t{ip}\t{port}"));
                }
            } else if let Some((host, path)) = lower.split_once('/') {
                if urls.len() < 1000
                    && !host.is_empty()
                    && set.lookup_url(host, &format!("/{path}")).is_some()
                {
                    urls.push(format!("url\t{host}\t/{path}"));
                }
            } else if domains.len() < 1000
                && lower.parse::<IpAddr>().is_err()
                && set.lookup_domain(&lower).is_some()
            {
                domains.push(format!("domain\t{lower}"));
            }
        }
    }
    [domains, endpoints, urls].concat().join("\n")
}

fn measure_open(store: &Path, samples: &Path) {
    let before = status_kib("VmRSS:");
    let started = Instant::now();
    drop(TrailSet::open(store).expect("open the store"));
    let cold_ms = started.elapsed().as_secs_f64() * 1000.0;
    let started = Instant::now();
    let set = TrailSet::open(store).expect("open the store");
    let warm_ms = started.elapsed().as_secs_f64() * 1000.0;
    println!(
        "open time: {cold_ms:.1} ms cold, {warm_ms:.1} ms warm; RSS before {:.1} MiB, after \
         open {:.1} MiB ({}), peak {:.1} MiB",
        mib(before),
        mib(status_kib("VmRSS:")),
        resident_split(),
        mib(status_kib("VmHWM:"))
    );

    let text = fs::read_to_string(samples).expect("read the samples");
    let sample = |kind: &str| -> Vec<Vec<String>> {
        text.lines()
            .filter_map(|line| line.strip_prefix(kind)?.strip_prefix('\t'))
            .map(|rest| rest.split('\t').map(str::to_owned).collect())
            .collect()
    };
    let (domains, endpoints, urls) = (sample("domain"), sample("endpoint"), sample("url"));

    simulate_packets(&set, &domains);
    println!(
        "after {PACKETS} simulated packets: RSS {:.1} MiB ({}), peak {:.1} MiB",
        mib(status_kib("VmRSS:")),
        resident_split(),
        mib(status_kib("VmHWM:"))
    );

    measure_rates(&set, &domains, &endpoints, &urls);
    println!(
        "after the random-address rates: RSS {:.1} MiB, peak {:.1} MiB",
        mib(status_kib("VmRSS:")),
        mib(status_kib("VmHWM:"))
    );
}

/// Looks up traffic shaped like the benchmark capture: 3,000 LAN and server addresses
/// (plus the odd random one), 5,000 names and one planted hit per thousand packets.
fn simulate_packets(set: &TrailSet, hit_names: &[Vec<String>]) {
    let mut random = XorShift(0x9e37_79b9);
    let hosts: Vec<IpAddr> = (0..3000)
        .map(|_| IpAddr::V4(Ipv4Addr::from(random.next())))
        .collect();
    let names: Vec<String> = (0..5000)
        .map(|i| format!("www.site{}.example{}.com", random.next() % 9973, i % 13))
        .collect();

    let mut hits = 0usize;
    for packet in 0..PACKETS {
        let value = random.next() as usize;
        let source = hosts[value % hosts.len()];
        let destination = match packet % 1000 {
            0 => IpAddr::V4(Ipv4Addr::from(random.next())),
            _ => hosts[(value >> 12) % hosts.len()],
        };
        let port = Some((value >> 3) as u16 | 1);
        hits += usize::from(set.lookup_endpoint(source, port) != Default::default());
        hits += usize::from(set.lookup_endpoint(destination, port) != Default::default());

        if packet % 8 == 0 {
            let name = match (packet % 8000, hit_names.first()) {
                (0, Some(hit)) => hit[0].as_str(),
                _ => names[(value >> 5) % names.len()].as_str(),
            };
            hits += usize::from(set.lookup_domain(name).is_some());
        }
        if packet % 16 == 0 {
            let host = names[(value >> 7) % names.len()].as_str();
            hits += usize::from(
                set.lookup_url(host, "/static/js/app.min.js?v=1234")
                    .is_some(),
            );
        }
    }
    println!("simulated packets: {hits} hits");
}

fn measure_rates(
    set: &TrailSet,
    domains: &[Vec<String>],
    endpoints: &[Vec<String>],
    urls: &[Vec<String>],
) {
    let mut random = XorShift(SEED);
    let listed: Vec<IpAddr> = (0..generated_count().min(100_000))
        .map(|_| IpAddr::V4(Ipv4Addr::from(random.next())))
        .collect();
    if !listed.is_empty() {
        rate("IPv4 hit (generated)", LOOKUPS, |i| {
            set.lookup_ip(listed[i % listed.len()]).is_some()
        });
    }
    let mut random = XorShift(0x1234_5678);
    rate("IPv4 miss (random)", LOOKUPS, |_| {
        set.lookup_ip(IpAddr::V4(Ipv4Addr::from(random.next())))
            .is_some()
    });

    let endpoints: Vec<(IpAddr, u16)> = endpoints
        .iter()
        .filter_map(|e| Some((e.first()?.parse().ok()?, e.get(1)?.parse().ok()?)))
        .collect();
    if !endpoints.is_empty() {
        rate("IPv4:port hit", LOOKUPS, |i| {
            let (ip, port) = endpoints[i % endpoints.len()];
            set.lookup_ip_port(ip, port).is_some()
        });
    }
    rate("IPv4:port miss (random)", LOOKUPS, |_| {
        let value = random.next();
        set.lookup_ip_port(IpAddr::V4(Ipv4Addr::from(value)), (value >> 7) as u16 | 1)
            .is_some()
    });

    if !domains.is_empty() {
        rate("domain hit", LOOKUPS, |i| {
            set.lookup_domain(&domains[i % domains.len()][0]).is_some()
        });
    }
    let misses: Vec<String> = (0..1000)
        .map(|i| {
            format!(
                "host{}.cdn{i}.example{}.com",
                random.next() % 97,
                random.next() % 13
            )
        })
        .collect();
    rate("domain miss (4 labels)", LOOKUPS, |i| {
        set.lookup_domain(&misses[i % misses.len()]).is_some()
    });

    if !urls.is_empty() {
        rate("URL hit", LOOKUPS, |i| {
            let url = &urls[i % urls.len()];
            set.lookup_url(&url[0], &url[1]).is_some()
        });
    }
    rate("URL miss (with query)", LOOKUPS, |i| {
        set.lookup_url(
            &misses[i % misses.len()],
            "/static/js/app.min.js?v=1234&lang=en",
        )
        .is_some()
    });
}

fn rate(label: &str, count: usize, mut lookup: impl FnMut(usize) -> bool) {
    let started = Instant::now();
    let mut hits = 0usize;
    for i in 0..count {
        hits += usize::from(black_box(lookup(black_box(i))));
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{label}: {:.1} M lookups/s, {:.0} ns each ({hits} hits of {count})",
        count as f64 / seconds / 1e6,
        seconds * 1e9 / count as f64
    );
}

/// Reads a `/proc/self/status` field in KiB, or 0 where the file does not exist.
fn status_kib(field: &str) -> u64 {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Returns the resident set split into anonymous memory and mapped file pages, in MiB.
fn resident_split() -> String {
    format!(
        "anonymous {:.1} MiB, file {:.1} MiB",
        mib(status_kib("RssAnon:")),
        mib(status_kib("RssFile:"))
    )
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}
