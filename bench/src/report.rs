//! Benchmark figures, their targets, and their text table and JSON forms.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;

use serde::Serialize;

use crate::measure::ChildUsage;
use crate::run::SensorStats;

/// The sensor's processing rate target, in packets per second on one core.
pub const TARGET_PPS: f64 = 1_000_000.0;
/// The target for sensor speed divided by tcpdump speed.
pub const TARGET_RATIO: f64 = 0.5;
/// The target for the sensor's peak resident set size, in MB of 10^6 bytes.
pub const TARGET_RSS_MB: f64 = 100.0;

/// tcpdump's best run: `tcpdump -r FILE -w /dev/null`.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct TcpdumpFigures {
    pub runs: usize,
    pub best_wall_seconds: f64,
    pub packets_per_second: f64,
    pub peak_rss_mb: f64,
}

impl TcpdumpFigures {
    /// Summarises runs over a capture of `packets` packets. Requires at least one run.
    pub fn from_runs(packets: u64, runs: &[ChildUsage]) -> TcpdumpFigures {
        let best_wall_seconds = runs
            .iter()
            .map(|run| run.wall_seconds)
            .fold(f64::INFINITY, f64::min);
        TcpdumpFigures {
            runs: runs.len(),
            best_wall_seconds,
            packets_per_second: rate(packets as f64, best_wall_seconds),
            peak_rss_mb: runs.iter().map(ChildUsage::max_rss_mb).fold(0.0, f64::max),
        }
    }
}

/// The sensor's figures over its runs: the best times and the highest peak RSS.
#[derive(Clone, Debug, Serialize)]
pub struct SensorFigures {
    pub runs: usize,
    pub packets_read: u64,
    pub packets_decoded: u64,
    /// The sensor's skip reasons and counts, from the first run.
    pub skipped: BTreeMap<String, u64>,
    /// Best `process_ms`: first packet read to last.
    pub best_process_ms: f64,
    /// packets_read / best process time: the single-core processing rate.
    pub processing_packets_per_second: f64,
    /// Best wall time of the whole run, start-up included.
    pub best_wall_seconds: f64,
    pub whole_run_packets_per_second: f64,
    /// Highest peak RSS of any run.
    pub peak_rss_mb: f64,
    pub trails_loaded: u64,
    /// Best `trails_load_ms`: the start-up time spent loading trails.
    pub best_trails_load_ms: f64,
    pub events_written: u64,
    pub events_suppressed: u64,
    /// True when every run wrote the same number of events, as a deterministic sensor must.
    pub events_consistent: bool,
}

impl SensorFigures {
    /// Summarises sensor runs. Requires at least one run.
    pub fn from_runs(runs: &[(ChildUsage, SensorStats)]) -> SensorFigures {
        let first = runs.first().map(|(_, stats)| stats);
        let best_process_ms = runs
            .iter()
            .map(|(_, s)| s.process_ms)
            .fold(f64::INFINITY, f64::min);
        let best_wall_seconds = runs
            .iter()
            .map(|(u, _)| u.wall_seconds)
            .fold(f64::INFINITY, f64::min);
        let packets_read = first.map_or(0, |s| s.packets_read);
        let events_written = first.map_or(0, |s| s.events_written);

        SensorFigures {
            runs: runs.len(),
            packets_read,
            packets_decoded: first.map_or(0, |s| s.packets_decoded),
            skipped: first.map(|s| s.skipped.clone()).unwrap_or_default(),
            best_process_ms,
            processing_packets_per_second: rate(packets_read as f64, best_process_ms / 1000.0),
            best_wall_seconds,
            whole_run_packets_per_second: rate(packets_read as f64, best_wall_seconds),
            peak_rss_mb: runs.iter().map(|(u, _)| u.max_rss_mb()).fold(0.0, f64::max),
            trails_loaded: first.map_or(0, |s| s.trails_loaded),
            best_trails_load_ms: runs
                .iter()
                .map(|(_, s)| s.trails_load_ms)
                .fold(f64::INFINITY, f64::min),
            events_written,
            events_suppressed: first.map_or(0, |s| s.events_suppressed),
            events_consistent: runs.iter().all(|(_, s)| s.events_written == events_written),
        }
    }
}

/// The targets the figures are judged against.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Targets {
    pub min_processing_packets_per_second: f64,
    pub min_ratio: f64,
    pub max_peak_rss_mb: f64,
}

/// Whether each target is met.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct TargetsMet {
    pub processing_rate: bool,
    pub processing_ratio: bool,
    pub whole_run_ratio: bool,
    pub peak_rss: bool,
}

/// The machine the figures were measured on.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    pub cpu_model: String,
    pub logical_cpus: usize,
    pub kernel: String,
}

/// All figures of one `run`.
#[derive(Clone, Debug, Serialize)]
pub struct BenchResult {
    pub packets: u64,
    pub seed: u64,
    pub capture_bytes: u64,
    pub tcpdump: TcpdumpFigures,
    pub sensor: SensorFigures,
    /// Sensor processing rate divided by tcpdump's rate.
    pub ratio_processing: f64,
    /// tcpdump wall time divided by the sensor's, both whole runs.
    pub ratio_whole_run: f64,
    pub targets: Targets,
    pub targets_met: TargetsMet,
    pub machine: Machine,
}

impl BenchResult {
    /// Combines the figures and evaluates the targets.
    pub fn new(
        packets: u64,
        seed: u64,
        capture_bytes: u64,
        tcpdump: TcpdumpFigures,
        sensor: SensorFigures,
    ) -> BenchResult {
        let ratio_processing = sensor.processing_packets_per_second / tcpdump.packets_per_second;
        let ratio_whole_run = tcpdump.best_wall_seconds / sensor.best_wall_seconds;
        let targets_met = TargetsMet {
            processing_rate: sensor.processing_packets_per_second >= TARGET_PPS,
            processing_ratio: ratio_processing >= TARGET_RATIO,
            whole_run_ratio: ratio_whole_run >= TARGET_RATIO,
            peak_rss: sensor.peak_rss_mb < TARGET_RSS_MB,
        };
        BenchResult {
            packets,
            seed,
            capture_bytes,
            tcpdump,
            sensor,
            ratio_processing,
            ratio_whole_run,
            targets: Targets {
                min_processing_packets_per_second: TARGET_PPS,
                min_ratio: TARGET_RATIO,
                max_peak_rss_mb: TARGET_RSS_MB,
            },
            targets_met,
            machine: Machine::current(),
        }
    }

    /// Renders the figures as an aligned text table with the targets beside them.
    pub fn to_table(&self) -> String {
        let s = &self.sensor;
        let t = &self.targets_met;
        let mut rows: Vec<(String, String, String)> = vec![
            (
                "packets".into(),
                group(self.packets as f64, 0),
                String::new(),
            ),
            (
                "tcpdump -r, packets/s".into(),
                group(self.tcpdump.packets_per_second, 0),
                String::new(),
            ),
            (
                "sensor processing, packets/s".into(),
                group(s.processing_packets_per_second, 0),
                verdict(">= 1,000,000", t.processing_rate),
            ),
            (
                "sensor whole run, packets/s".into(),
                group(s.whole_run_packets_per_second, 0),
                String::new(),
            ),
            (
                "ratio sensor/tcpdump, processing".into(),
                format!("{:.2}", self.ratio_processing),
                verdict(">= 0.5", t.processing_ratio),
            ),
            (
                "ratio sensor/tcpdump, whole run".into(),
                format!("{:.2}", self.ratio_whole_run),
                verdict(">= 0.5", t.whole_run_ratio),
            ),
            (
                "sensor peak RSS, MB".into(),
                format!("{:.1}", s.peak_rss_mb),
                verdict("< 100", t.peak_rss),
            ),
            (
                "trails loaded".into(),
                group(s.trails_loaded as f64, 0),
                String::new(),
            ),
            (
                "start-up (trails_load_ms)".into(),
                group(s.best_trails_load_ms, 1),
                String::new(),
            ),
            (
                "events written".into(),
                group(s.events_written as f64, 0),
                String::new(),
            ),
        ];
        if !s.events_consistent {
            rows.push((
                "NOTE".into(),
                "event counts differ between runs".into(),
                String::new(),
            ));
        }

        let mut table = format!(
            "{} packets ({:.0} MB capture, seed {}), best of {} for each program\n{} ({} logical CPUs), Linux {}\n\n",
            group(self.packets as f64, 0),
            self.capture_bytes as f64 / 1e6,
            self.seed,
            s.runs,
            self.machine.cpu_model,
            self.machine.logical_cpus,
            self.machine.kernel,
        );
        let _ = writeln!(table, "{:<34} {:>14}  target", "figure", "value");
        for (name, value, target) in rows {
            let line = format!("{name:<34} {value:>14}  {target}");
            let _ = writeln!(table, "{}", line.trim_end());
        }
        table
    }
}

impl Machine {
    /// Reads the CPU model, CPU count and kernel release from /proc; unknown values stay
    /// empty.
    pub fn current() -> Machine {
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|line| {
                line.strip_prefix("model name")
                    .and_then(|rest| rest.split_once(':'))
            })
            .map(|(_, model)| model.trim().to_string())
            .unwrap_or_default();
        let logical_cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
        let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_string();
        Machine {
            cpu_model,
            logical_cpus,
            kernel,
        }
    }
}

fn rate(count: f64, seconds: f64) -> f64 {
    if seconds > 0.0 && seconds.is_finite() {
        count / seconds
    } else {
        0.0
    }
}

fn verdict(target: &str, met: bool) -> String {
    format!("{target:<14}{}", if met { "met" } else { "MISSED" })
}

/// Formats `value` with `decimals` decimals and commas between thousands.
fn group(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text.as_str(), None),
    };
    let (sign, digits) = match whole.strip_prefix('-') {
        Some(digits) => ("-", digits),
        None => ("", whole),
    };

    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    match fraction {
        Some(fraction) => format!("{sign}{grouped}.{fraction}"),
        None => format!("{sign}{grouped}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(wall_seconds: f64, max_rss_kib: u64) -> ChildUsage {
        ChildUsage {
            wall_seconds,
            max_rss_kib,
            exit_code: Some(0),
            signal: None,
        }
    }

    fn stats(process_ms: f64, events_written: u64) -> SensorStats {
        SensorStats {
            packets_read: 1_000_000,
            packets_decoded: 999_000,
            skipped: Default::default(),
            events_written,
            events_suppressed: 0,
            trails_loaded: 1_850_000,
            trails_load_ms: 900.0,
            process_ms,
        }
    }

    #[test]
    fn grouping_inserts_commas() {
        assert_eq!(group(1_234_567.0, 0), "1,234,567");
        assert_eq!(group(999.0, 0), "999");
        assert_eq!(group(1234.56, 1), "1,234.6");
    }

    #[test]
    fn sensor_rate_uses_best_process_time() {
        let runs = vec![
            (usage(2.0, 50_000), stats(800.0, 10)),
            (usage(1.9, 60_000), stats(500.0, 10)),
        ];
        let figures = SensorFigures::from_runs(&runs);
        assert_eq!(figures.processing_packets_per_second, 2_000_000.0);
        assert_eq!(figures.best_wall_seconds, 1.9);
    }

    #[test]
    fn peak_rss_is_highest_run() {
        let runs = vec![
            (usage(2.0, 50_000), stats(800.0, 10)),
            (usage(1.9, 60_000), stats(500.0, 10)),
        ];
        assert_eq!(
            SensorFigures::from_runs(&runs).peak_rss_mb,
            60_000.0 * 1024.0 / 1e6
        );
    }

    #[test]
    fn differing_event_counts_are_flagged() {
        let runs = vec![
            (usage(2.0, 1), stats(800.0, 10)),
            (usage(2.0, 1), stats(800.0, 11)),
        ];
        assert!(!SensorFigures::from_runs(&runs).events_consistent);
    }

    #[test]
    fn ratios_compare_against_tcpdump() {
        let tcpdump = TcpdumpFigures::from_runs(1_000_000, &[usage(0.5, 1000), usage(0.25, 1000)]);
        let sensor = SensorFigures::from_runs(&[(usage(1.0, 50_000), stats(500.0, 3))]);
        let result = BenchResult::new(1_000_000, 1, 0, tcpdump, sensor);
        assert_eq!(result.ratio_processing, 0.5);
        assert_eq!(result.ratio_whole_run, 0.25);
        assert!(result.targets_met.processing_ratio);
        assert!(!result.targets_met.whole_run_ratio);
    }

    #[test]
    fn table_marks_missed_target() {
        let tcpdump = TcpdumpFigures::from_runs(1_000_000, &[usage(0.25, 1000)]);
        let sensor = SensorFigures::from_runs(&[(usage(3.0, 200_000), stats(2000.0, 3))]);
        let table = BenchResult::new(1_000_000, 1, 0, tcpdump, sensor).to_table();
        let rss_row = table
            .lines()
            .find(|line| line.starts_with("sensor peak RSS"))
            .unwrap();
        assert!(rss_row.ends_with("MISSED"), "{rss_row}");
    }
}
