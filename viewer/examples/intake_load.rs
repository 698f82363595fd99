//! Load test of the viewer's intakes: several senders on loopback at a combined event rate,
//! then events sent against events stored, and the viewer's peak RSS and CPU time.
//!
//! ```text
//! cargo run --release -p trailwatch-viewer --example intake_load -- \
//!     [--senders 4] [--rate 50000] [--seconds 30] [--udp]
//! ```
//!
//! The viewer runs in a child process (this program started again with `--serve-viewer`), so
//! that its `VmHWM` and CPU time from `/proc/PID` leave out the senders. Reliable mode uses one
//! `trailwatch_relay::Sender` per sender with its own sensor id and spool, and waits until
//! every spooled event is acknowledged. `--udp` sends Maltrail datagrams instead, which have no
//! acknowledgement, so the loss figure then includes datagrams the kernel dropped.

use std::collections::HashSet;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use chrono::Local;
use clap::Parser;
use trailwatch_relay::{Secret, Sender, SenderConfig, SpoolOptions};
use trailwatch_viewer::{Config, ViewerServer};

const SECRET: &str = "intake load test secret, 32 bytes";

/// Time to wait for the senders' backlog after the sending phase.
const DRAIN_DEADLINE: Duration = Duration::from_secs(600);

/// Pacing step: each sender appends its share of the events every this often.
const TICK: Duration = Duration::from_millis(10);

/// The kernel's clock tick for `/proc/PID/stat` times (`USER_HZ`), 100 on Linux.
const USER_HZ: f64 = 100.0;

#[derive(Debug, Parser)]
struct Args {
    /// Number of senders, each with its own sensor id and spool.
    #[arg(long, default_value_t = 4)]
    senders: usize,

    /// Combined rate of all senders, in events per second.
    #[arg(long, default_value_t = 50_000)]
    rate: u64,

    /// Length of the sending phase, in seconds.
    #[arg(long, default_value_t = 30)]
    seconds: u64,

    /// Send Maltrail UDP datagrams instead of reliable batches.
    #[arg(long)]
    udp: bool,

    /// Internal: run the viewer on the data in this folder and print its addresses.
    #[arg(long, value_name = "DIR", hide = true)]
    serve_viewer: Option<PathBuf>,
}

fn main() {
    let args = Args::parse();
    if let Some(dir) = &args.serve_viewer {
        serve_viewer(dir);
        return;
    }

    let dir = tempfile::tempdir().expect("temp dir");
    let secret_file = dir.path().join("intake.secret");
    fs::write(&secret_file, SECRET).unwrap();
    fs::set_permissions(&secret_file, fs::Permissions::from_mode(0o600)).unwrap();
    let (mut child, http, udp) = start_child(dir.path());
    println!(
        "viewer pid {} on http://{http}, udp {udp}; {} senders, {} events/s for {} s, {}",
        child.id(),
        args.senders,
        args.rate,
        args.seconds,
        if args.udp { "UDP" } else { "reliable" }
    );

    let started = Instant::now();
    let sent = if args.udp {
        run_udp(&args, udp)
    } else {
        run_reliable(&args, http, dir.path())
    };
    let elapsed = started.elapsed();
    // UDP has no acknowledgement: give the viewer a moment to write what it received.
    if args.udp {
        thread::sleep(Duration::from_secs(2));
    }

    let (rss_kb, cpu_seconds) = child_usage(child.id());
    drop(child.stdin.take());
    child.wait().expect("viewer exits");
    let (stored, distinct) = count_stored(&dir.path().join("logs"));

    println!("sent {sent}, stored {stored} lines ({distinct} distinct events)");
    println!(
        "lost {}, duplicated {}",
        sent.saturating_sub(distinct),
        stored - distinct
    );
    println!(
        "time {:.1} s (sending and delivery), viewer peak RSS {:.1} MB, viewer CPU {:.1} s \
         ({:.0}% of one core over the run)",
        elapsed.as_secs_f64(),
        rss_kb as f64 / 1024.0,
        cpu_seconds,
        100.0 * cpu_seconds / elapsed.as_secs_f64()
    );
}

/// Runs the viewer with both intakes on 127.0.0.1, prints its addresses, and stops when
/// standard input closes.
fn serve_viewer(dir: &Path) {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let mut config = Config::with_defaults(
        "127.0.0.1:0".parse().unwrap(),
        dir.join("logs"),
        dir.join("users.toml"),
    );
    config.intake.secret_file = Some(dir.join("intake.secret"));
    config.intake.udp = Some("127.0.0.1:0".parse().unwrap());
    config.intake.udp_allow = Some(vec!["127.0.0.1".parse().unwrap()]);
    let server = ViewerServer::start(config).expect("viewer starts");

    println!(
        "{} {}",
        server.addrs()[0],
        server.intakes().udp_addr().unwrap()
    );
    std::io::stdout().flush().unwrap();
    let mut rest = String::new();
    while std::io::stdin().read_line(&mut rest).unwrap_or(0) > 0 {}
    server.stop();
}

fn start_child(dir: &Path) -> (Child, SocketAddr, SocketAddr) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg("--serve-viewer")
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("viewer process starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let mut addrs = line.split_whitespace().map(|addr| addr.parse().unwrap());
    let http = addrs.next().expect("viewer prints its HTTP address");
    let udp = addrs.next().expect("viewer prints its UDP address");
    (child, http, udp)
}

/// Returns a log line of today whose trail names the sender and the event number.
fn line(sender: usize, number: u64) -> String {
    let time = Local::now().format("%Y-%m-%d %H:%M:%S%.6f");
    format!(
        "\"{time}\" load-{sender} 10.0.{}.{} {} 10.1.0.1 53 UDP DNS e{number}.s{sender}.test \
         malware (static)\n",
        sender % 250,
        number % 250,
        1024 + number % 60_000
    )
}

/// Calls `emit(number)` for one sender's share of `args.rate` until `args.seconds`
/// passed, and returns the count.
fn paced(args: &Args, mut emit: impl FnMut(u64)) -> u64 {
    let per_second = args.rate / args.senders as u64;
    let start = Instant::now();
    let end = start + Duration::from_secs(args.seconds);
    let mut sent = 0;
    while Instant::now() < end {
        let due = (start.elapsed().as_secs_f64() * per_second as f64) as u64;
        while sent < due {
            emit(sent);
            sent += 1;
        }
        thread::sleep(TICK);
    }
    sent
}

fn run_reliable(args: &Args, http: SocketAddr, dir: &Path) -> u64 {
    let secret = Secret::new(SECRET.as_bytes().to_vec()).unwrap();
    let handles: Vec<_> = (0..args.senders)
        .map(|index| {
            let mut config = SenderConfig::new(
                &format!("http://{http}/api/intake"),
                secret.clone(),
                &format!("load-{index}"),
                dir.join(format!("spool-{index}")),
            );
            config.spool = SpoolOptions::with_max_bytes(1024 * 1024 * 1024);
            let sender = Sender::start(config).expect("sender starts");
            (index, sender)
        })
        .collect();

    let totals: Vec<u64> = thread::scope(|scope| {
        let workers: Vec<_> = handles
            .iter()
            .map(|(index, sender)| {
                scope.spawn(move || paced(args, |number| sender.append(&line(*index, number))))
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().unwrap())
            .collect()
    });

    let mut sent = 0;
    for ((index, mut sender), appended) in handles.into_iter().zip(totals) {
        sender.shutdown(DRAIN_DEADLINE);
        let stats = sender.stats();
        println!(
            "sender load-{index}: appended {appended}, acknowledged {}, pending {}, dropped {}, \
             failed requests {}",
            stats.acknowledged,
            stats.pending,
            stats.dropped(),
            stats.failed_attempts
        );
        sent += appended;
    }
    sent
}

fn run_udp(args: &Args, udp: SocketAddr) -> u64 {
    thread::scope(|scope| {
        let workers: Vec<_> = (0..args.senders)
            .map(|index| {
                scope.spawn(move || {
                    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
                    let epoch = chrono::Utc::now().timestamp();
                    paced(args, |number| {
                        let datagram = format!("{epoch} {}", line(index, number));
                        let _ = socket.send_to(datagram.as_bytes(), udp);
                    })
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().unwrap())
            .sum()
    })
}

/// Returns `VmHWM` in kB and user plus system CPU seconds of process `pid`.
fn child_usage(pid: u32) -> (u64, f64) {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let rss_kb = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.split_whitespace().next())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0);

    // Fields after the command name, which is in parentheses: utime and stime are the 12th
    // and 13th of them (fields 14 and 15 of proc(5)).
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    (rss_kb, ticks as f64 / USER_HZ)
}

/// Returns the lines in every daily log of `log_dir`, and the number of distinct events among
/// them, identified by their trail.
fn count_stored(log_dir: &Path) -> (u64, u64) {
    let mut lines = 0;
    let mut trails = HashSet::new();
    for entry in fs::read_dir(log_dir).into_iter().flatten().flatten() {
        let file = fs::File::open(entry.path()).unwrap();
        for line in BufReader::new(file).lines() {
            let line = line.unwrap();
            lines += 1;
            if let Some(trail) = line.split(' ').nth(9) {
                trails.insert(trail.to_string());
            }
        }
    }
    (lines, trails.len() as u64)
}
