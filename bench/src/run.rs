//! The `run` command: generate (or reuse) a capture, time tcpdump and the sensor on it, and
//! report the figures.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::generate::{self, GenError, GenOptions};
use crate::measure::{self, ChildUsage, MeasureError, OutputFiles};
use crate::report::{BenchResult, SensorFigures, TcpdumpFigures};

/// Version of the generator's output. Bump it whenever a code change alters the bytes that
/// `gen` writes for the same options, so that `run` does not reuse a stale capture.
const GENERATOR_VERSION: u32 = 1;

/// The sensor binary's default location relative to the workspace root.
const DEFAULT_SENSOR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../target/release/trailwatch-sensor"
);

/// Options of the `run` command.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub gen: GenOptions,
    pub sensor: Option<PathBuf>,
    /// Passed to the sensor as `--trails` when set.
    pub sensor_trails: Option<PathBuf>,
    pub workdir: PathBuf,
    /// How many times tcpdump and the sensor each run; the best time counts.
    pub repeats: u32,
}

/// A failure of the `run` command.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("failed to prepare work directory {path}: {source}")]
    Workdir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Gen(#[from] GenError),
    #[error(transparent)]
    Measure(#[from] MeasureError),
    #[error("tcpdump not found in PATH; install it (Debian: apt-get install tcpdump)")]
    NoTcpdump,
    #[error(
        "sensor binary not found at {0}; build it with \
         `cargo build --release -p trailwatch-sensor` or pass --sensor PATH"
    )]
    NoSensor(PathBuf),
    #[error(
        "{program} failed ({status}); the end of its stderr:
{stderr}"
    )]
    CommandFailed {
        program: String,
        status: String,
        stderr: String,
    },
    #[error("failed to read sensor stats {path}: {message}")]
    Stats { path: PathBuf, message: String },
    #[error("--repeats must be at least 1")]
    NoRepeats,
}

/// The sensor's `--stats-json` object; unknown keys are ignored.
#[derive(Clone, Debug, Deserialize)]
pub struct SensorStats {
    pub packets_read: u64,
    #[serde(default)]
    pub packets_decoded: u64,
    #[serde(default)]
    pub skipped: BTreeMap<String, u64>,
    pub events_written: u64,
    #[serde(default)]
    pub events_suppressed: u64,
    pub trails_loaded: u64,
    pub trails_load_ms: f64,
    pub process_ms: f64,
}

/// The parameters a capture was generated with, stored beside it to decide on reuse.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct CaptureParams {
    generator_version: u32,
    packets: u64,
    seed: u64,
    hit_ratio: f64,
    trails: PathBuf,
    file_bytes: u64,
}

/// Runs the whole benchmark and returns its figures.
pub fn run(options: &RunOptions) -> Result<BenchResult, RunError> {
    if options.repeats == 0 {
        return Err(RunError::NoRepeats);
    }
    let sensor = resolve_sensor(options.sensor.as_deref())?;
    let tcpdump = find_in_path("tcpdump").ok_or(RunError::NoTcpdump)?;
    fs::create_dir_all(&options.workdir).map_err(|source| RunError::Workdir {
        path: options.workdir.clone(),
        source,
    })?;

    let capture = prepare_capture(&options.gen, &options.workdir)?;
    let capture_bytes = fs::metadata(&capture).map(|m| m.len()).unwrap_or(0);

    eprintln!("timing tcpdump, best of {}", options.repeats);
    let mut tcpdump_runs = Vec::new();
    for index in 0..options.repeats {
        let args: Vec<OsString> = vec![
            "-r".into(),
            capture.clone().into(),
            "-w".into(),
            "/dev/null".into(),
        ];
        let output = output_files(&options.workdir, "tcpdump", index);
        tcpdump_runs.push(run_checked(&tcpdump, &args, &output)?);
    }

    eprintln!(
        "timing the sensor {}, best of {}",
        sensor.display(),
        options.repeats
    );
    let mut sensor_runs = Vec::new();
    for index in 0..options.repeats {
        sensor_runs.push(run_sensor(
            &sensor,
            options.sensor_trails.as_deref(),
            &capture,
            &options.workdir,
            index,
        )?);
    }

    Ok(BenchResult::new(
        options.gen.packets,
        options.gen.seed,
        capture_bytes,
        TcpdumpFigures::from_runs(options.gen.packets, &tcpdump_runs),
        SensorFigures::from_runs(&sensor_runs),
    ))
}

fn resolve_sensor(requested: Option<&Path>) -> Result<PathBuf, RunError> {
    if let Some(path) = requested {
        return if path.is_file() {
            Ok(path.to_path_buf())
        } else {
            Err(RunError::NoSensor(path.to_path_buf()))
        };
    }

    let default = PathBuf::from(DEFAULT_SENSOR);
    if default.is_file() {
        return Ok(default);
    }
    // With CARGO_TARGET_DIR set, the sensor sits next to this executable instead.
    let sibling = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join("trailwatch-sensor")));
    match sibling {
        Some(path) if path.is_file() => Ok(path),
        _ => Err(RunError::NoSensor(default)),
    }
}

fn find_in_path(program: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}

/// Returns the path of a capture for `options` in `workdir`, generating it unless a complete
/// one with the same parameters is already there.
fn prepare_capture(options: &GenOptions, workdir: &Path) -> Result<PathBuf, RunError> {
    let stem = format!(
        "bench-{}-seed{}-hits{}",
        options.packets, options.seed, options.hit_ratio
    );
    let capture = workdir.join(format!("{stem}.pcap"));
    let params_path = workdir.join(format!("{stem}.params.json"));

    let mut params = CaptureParams {
        generator_version: GENERATOR_VERSION,
        packets: options.packets,
        seed: options.seed,
        hit_ratio: options.hit_ratio,
        trails: options.trails.clone(),
        file_bytes: 0,
    };
    if let Ok(existing) = fs::metadata(&capture) {
        params.file_bytes = existing.len();
        let stored: Option<CaptureParams> = fs::read(&params_path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        if stored.as_ref() == Some(&params) {
            eprintln!("reusing {}", capture.display());
            return Ok(capture);
        }
    }

    // Remove the old parameters first, so that an interrupted run never looks complete.
    let workdir_error = |source| RunError::Workdir {
        path: workdir.to_path_buf(),
        source,
    };
    if params_path.exists() {
        fs::remove_file(&params_path).map_err(workdir_error)?;
    }
    let report = generate::generate(options, &capture)?;
    generate::print_report(&report, &capture);

    params.file_bytes = fs::metadata(&capture).map_err(workdir_error)?.len();
    let json = serde_json::to_vec_pretty(&params).unwrap_or_default();
    fs::write(&params_path, json).map_err(workdir_error)?;
    Ok(capture)
}

fn output_files(workdir: &Path, name: &str, index: u32) -> OutputFiles {
    OutputFiles {
        stdout: workdir.join(format!("{name}-{index}.stdout")),
        stderr: workdir.join(format!("{name}-{index}.stderr")),
    }
}

/// Runs a command under measurement and turns a failing exit into an error with its stderr.
fn run_checked(
    program: &Path,
    args: &[OsString],
    output: &OutputFiles,
) -> Result<ChildUsage, RunError> {
    let usage = measure::run_measured(program, args, output)?;
    if usage.succeeded() {
        return Ok(usage);
    }

    let stderr = fs::read_to_string(&output.stderr).unwrap_or_default();
    let tail: Vec<&str> = stderr.lines().rev().take(10).collect();
    Err(RunError::CommandFailed {
        program: program.display().to_string(),
        status: match (usage.exit_code, usage.signal) {
            (Some(code), _) => format!("exit code {code}"),
            (None, Some(signal)) => format!("killed by signal {signal}"),
            (None, None) => "unknown exit status".to_string(),
        },
        stderr: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
    })
}

/// One sensor run with a fresh log directory; returns its usage and stats.
fn run_sensor(
    sensor: &Path,
    trails: Option<&Path>,
    capture: &Path,
    workdir: &Path,
    index: u32,
) -> Result<(ChildUsage, SensorStats), RunError> {
    let log_dir = workdir.join(format!("sensor-log-{index}"));
    let stats_path = workdir.join(format!("sensor-stats-{index}.json"));
    let workdir_error = |source| RunError::Workdir {
        path: workdir.to_path_buf(),
        source,
    };
    if log_dir.exists() {
        fs::remove_dir_all(&log_dir).map_err(workdir_error)?;
    }
    fs::create_dir_all(&log_dir).map_err(workdir_error)?;
    if stats_path.exists() {
        fs::remove_file(&stats_path).map_err(workdir_error)?;
    }

    let mut args: Vec<OsString> = vec![
        "-r".into(),
        capture.into(),
        "--log-dir".into(),
        log_dir.into(),
        "--stats-json".into(),
        stats_path.clone().into(),
    ];
    if let Some(trails) = trails {
        args.push("--trails".into());
        args.push(trails.into());
    }
    let usage = run_checked(sensor, &args, &output_files(workdir, "sensor", index))?;

    let stats_error = |message: String| RunError::Stats {
        path: stats_path.clone(),
        message,
    };
    let bytes = fs::read(&stats_path).map_err(|error| stats_error(error.to_string()))?;
    let stats = serde_json::from_slice(&bytes).map_err(|error| stats_error(error.to_string()))?;
    Ok((usage, stats))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_parse_with_extra_keys() {
        let json = r#"{"packets_read":10,"packets_decoded":9,"skipped":{"truncated":1},
            "events_written":2,"events_suppressed":0,"trails_loaded":5,"trails_load_ms":1.5,
            "process_ms":0.25,"bytes_read":1234}"#;
        let stats: SensorStats = serde_json::from_str(json).unwrap();
        assert_eq!(stats.packets_read, 10);
        assert_eq!(stats.skipped.get("truncated"), Some(&1));
        assert_eq!(stats.process_ms, 0.25);
    }

    #[test]
    fn stats_without_process_ms_are_rejected() {
        let json =
            r#"{"packets_read":10,"events_written":2,"trails_loaded":5,"trails_load_ms":1.5}"#;
        assert!(serde_json::from_str::<SensorStats>(json).is_err());
    }

    #[test]
    fn missing_sensor_is_reported() {
        let result = resolve_sensor(Some(Path::new("/nonexistent/trailwatch-sensor")));
        assert!(matches!(result, Err(RunError::NoSensor(_))));
    }

    #[test]
    fn capture_is_reused_when_params_match() {
        let dir = tempfile::tempdir().unwrap();
        let trails = dir.path().join("trails");
        fs::create_dir(&trails).unwrap();
        fs::write(trails.join("a.txt"), "evil.example.net\n").unwrap();
        let options = GenOptions {
            packets: 50,
            seed: 3,
            trails,
            hit_ratio: 0.5,
        };

        let first = prepare_capture(&options, dir.path()).unwrap();
        let modified = fs::metadata(&first).unwrap().modified().unwrap();
        let second = prepare_capture(&options, dir.path()).unwrap();
        assert_eq!(first, second);
        assert_eq!(fs::metadata(&second).unwrap().modified().unwrap(), modified);
    }

    #[test]
    fn truncated_capture_is_regenerated() {
        let dir = tempfile::tempdir().unwrap();
        let trails = dir.path().join("trails");
        fs::create_dir(&trails).unwrap();
        fs::write(trails.join("a.txt"), "evil.example.net\n").unwrap();
        let options = GenOptions {
            packets: 50,
            seed: 3,
            trails,
            hit_ratio: 0.5,
        };

        let capture = prepare_capture(&options, dir.path()).unwrap();
        fs::write(&capture, b"truncated").unwrap();
        prepare_capture(&options, dir.path()).unwrap();
        assert!(fs::metadata(&capture).unwrap().len() > 100);
    }
}
