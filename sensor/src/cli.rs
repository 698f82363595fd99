//! Command-line options of `trailwatch-sensor`.

use std::path::PathBuf;

use clap::Parser;

/// Passive network threat sensor: captures packets from network interfaces or reads capture
/// files, matches every address, DNS name, HTTP request and TLS server name against trail
/// lists, and writes detections to a daily event log in Maltrail's line format.
///
/// Flags override the keys of the configuration file (`-c`) that they name.
#[derive(Debug, Clone, Default, Parser)]
#[command(name = "trailwatch-sensor", version)]
pub struct Args {
    /// Read packets from a pcap or pcapng file ("-" reads standard input). Repeatable; files
    /// are read in the order given.
    #[arg(
        short = 'r',
        long = "read",
        value_name = "FILE",
        conflicts_with = "interfaces"
    )]
    pub read: Vec<PathBuf>,

    /// Capture on a network interface ("any": all of them). Repeatable. Replaces
    /// `[capture] interfaces`.
    #[arg(short = 'i', long = "interface", value_name = "IFACE")]
    pub interfaces: Vec<String>,

    /// Configuration file (TOML). SIGHUP re-reads it.
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Check the configuration, trails, interfaces, filter and log folder, print "ok" or the
    /// problems, and exit 0 or 1 without capturing.
    #[arg(long)]
    pub check: bool,

    /// Put interfaces in promiscuous mode (`[capture] promiscuous`, default true).
    #[arg(long, value_name = "BOOL")]
    pub promiscuous: Option<bool>,

    /// Bytes kept of each frame (`[capture] snaplen`, default 65535).
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u32).range(1..=262_144))]
    pub snaplen: Option<u32>,

    /// Kernel capture buffer per interface in MiB (`[capture] buffer_mib`, default 8).
    #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u32).range(1..=2047))]
    pub buffer_mib: Option<u32>,

    /// Deliver each packet as it arrives instead of in blocks of at most 100 ms (`[capture]
    /// immediate`, default false).
    #[arg(long, value_name = "BOOL")]
    pub immediate: Option<bool>,

    /// BPF filter expression, for example "not port 22" (`[capture] filter`, default: every
    /// packet).
    #[arg(long, value_name = "EXPR")]
    pub filter: Option<String>,

    /// User to switch to once the capture handles are open (`[sensor] user`).
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,

    /// Minutes between two statistics lines at info level; 0 writes them only at exit
    /// (`[sensor] stats_interval_minutes`, default 5).
    #[arg(long, value_name = "MINUTES")]
    pub stats_interval: Option<u64>,

    /// Trail tree (folders of `<category>/<name>.txt` lists) to load, repeatable, or one
    /// compiled store file from `trailwatch-trails compile`. Files under a folder named `custom`
    /// take precedence and get reference `(custom)`. Replaces `[trails] paths`. Default:
    /// /data/trails/trails.store when it exists, else the bundled trail set.
    #[arg(long = "trails", value_name = "PATH")]
    pub trails: Vec<PathBuf>,

    /// Domains (with their subdomains), IPs and CIDRs that are never trails, even when a list
    /// names them (`[trails] whitelist`).
    #[arg(long, value_name = "FILE")]
    pub whitelist: Option<PathBuf>,

    /// Events to drop, one `src_ip;src_port;dst_ip;dst_port` rule per line, `*` matching any
    /// value (`[trails] ignore`).
    #[arg(long, value_name = "FILE")]
    pub ignore: Option<PathBuf>,

    /// Folder for the daily event logs, `YYYY-MM-DD.log` (`[sensor] log_dir`, default
    /// /var/log/trailwatch).
    #[arg(long, value_name = "DIR")]
    pub log_dir: Option<PathBuf>,

    /// Sensor name written into every event (`[sensor] name`, default: the host name).
    #[arg(long, value_name = "NAME")]
    pub sensor_name: Option<String>,

    /// Also print each event line to standard output.
    #[arg(long)]
    pub console: bool,

    /// Also write each event as a JSON object to `YYYY-MM-DD.json` beside the text log
    /// (`[sensor] json = true` turns it on too).
    #[arg(long)]
    pub json: bool,

    /// Seconds during which repeats of one (source, trail, destination) are counted instead of
    /// written. The count is written as a summary event when the window ends
    /// (`[sensor] throttle_seconds`, default 60).
    #[arg(long, value_name = "SECONDS")]
    pub throttle: Option<u64>,

    /// At exit, write the packet and event counters as one JSON object to this file.
    #[arg(long, value_name = "FILE")]
    pub stats_json: Option<PathBuf>,

    /// Turn every heuristic off, as `[heuristics] enabled = false` does.
    #[arg(long)]
    pub no_heuristics: bool,

    /// More log output on standard error (-v: debug, -vv: trace).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Only warnings and errors on standard error.
    #[arg(short, long)]
    pub quiet: bool,
}
