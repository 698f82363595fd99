//! Command-line options of `trailwatch-sensor`.

use std::path::PathBuf;

use clap::Parser;

/// Passive network threat sensor: reads packet captures, matches every address, DNS name, HTTP
/// request and TLS server name against trail lists, and writes detections to a daily event log
/// in Maltrail's line format.
#[derive(Debug, Parser)]
#[command(name = "trailwatch-sensor", version)]
pub struct Args {
    /// Read packets from a pcap or pcapng file ("-" reads standard input). Repeatable; files
    /// are read in the order given.
    #[arg(short = 'r', long = "read", value_name = "FILE", required = true)]
    pub read: Vec<PathBuf>,

    /// Trail tree (folders of `<category>/<name>.txt` lists) to load, repeatable, or one
    /// compiled store file from `trailwatch-trails compile`. Files under a folder named `custom`
    /// take precedence and get reference `(custom)`. Default: /data/trails/trails.store when it
    /// exists, else the bundled trail set.
    #[arg(long = "trails", value_name = "PATH")]
    pub trails: Vec<PathBuf>,

    /// Domains (with their subdomains), IPs and CIDRs that are never trails, even when a list
    /// names them.
    #[arg(long, value_name = "FILE")]
    pub whitelist: Option<PathBuf>,

    /// Events to drop, one `src_ip;src_port;dst_ip;dst_port` rule per line, `*` matching any
    /// value.
    #[arg(long, value_name = "FILE")]
    pub ignore: Option<PathBuf>,

    /// Folder for the daily event logs (`YYYY-MM-DD.log`).
    #[arg(long, value_name = "DIR", default_value = "/var/log/trailwatch")]
    pub log_dir: PathBuf,

    /// Sensor name written into every event. Default: the host name.
    #[arg(long, value_name = "NAME")]
    pub sensor_name: Option<String>,

    /// Also print each event line to standard output.
    #[arg(long)]
    pub console: bool,

    /// Also write each event as a JSON object to `YYYY-MM-DD.json` beside the text log.
    #[arg(long)]
    pub json: bool,

    /// Seconds during which repeats of one (source, trail, destination) are counted instead of
    /// written. The count is written as a summary event when the window ends.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub throttle: u64,

    /// At exit, write the packet and event counters as one JSON object to this file.
    #[arg(long, value_name = "FILE")]
    pub stats_json: Option<PathBuf>,

    /// More log output on standard error (-v: debug, -vv: trace).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Only warnings and errors on standard error.
    #[arg(short, long)]
    pub quiet: bool,
}
