//! The configuration file (`-c FILE`, TOML) and its tables. Every table rejects unknown keys,
//! so a misspelt key is an error instead of a silently ignored setting.
//!
//! [`crate::settings`] merges this file with the command-line flags, which take precedence.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use trailwatch_outputs::OutputsConfig;

use crate::heuristics::config::HeuristicsConfigError;
use crate::heuristics::HeuristicsConfig;

/// Log folder when neither `--log-dir` nor `[sensor] log_dir` names one.
pub const DEFAULT_LOG_DIR: &str = "/var/log/trailwatch";

/// Largest snapshot length libpcap accepts on Linux (`MAXIMUM_SNAPLEN` in libpcap 1.10).
pub const MAX_SNAPLEN: u32 = 262_144;

/// Largest kernel buffer that fits libpcap's `int` byte count.
pub const MAX_BUFFER_MIB: u32 = 2047;

/// The whole configuration file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConfigFile {
    pub sensor: SensorConfig,
    pub capture: CaptureConfig,
    pub trails: TrailsConfig,
    pub outputs: OutputsConfig,
    pub heuristics: HeuristicsConfig,
}

/// The `[sensor]` table: identity, event log and process settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SensorConfig {
    /// Sensor name written into every event; `None` means the host name.
    pub name: Option<String>,
    pub log_dir: PathBuf,
    /// Also write `YYYY-MM-DD.json` beside each text log.
    pub json: bool,
    pub throttle_seconds: u64,
    /// Minutes between two statistics lines; 0 writes them only at exit.
    pub stats_interval_minutes: u64,
    /// User to switch to once the capture handles are open; `None` keeps the starting user.
    pub user: Option<String>,
}

impl Default for SensorConfig {
    fn default() -> SensorConfig {
        SensorConfig {
            name: None,
            log_dir: PathBuf::from(DEFAULT_LOG_DIR),
            json: false,
            throttle_seconds: 60,
            stats_interval_minutes: 5,
            user: None,
        }
    }
}

/// The `[capture]` table: interfaces and libpcap handle settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaptureConfig {
    /// Interface names; `any` is libpcap's pseudo-interface for all of them.
    pub interfaces: Vec<String>,
    pub promiscuous: bool,
    /// Bytes kept of each frame, 1 to [`MAX_SNAPLEN`].
    pub snaplen: u32,
    /// Kernel capture buffer per interface in MiB, 1 to [`MAX_BUFFER_MIB`].
    pub buffer_mib: u32,
    /// Deliver each packet as it arrives instead of when a kernel block fills or
    /// [`crate::capture::live::BLOCK_TIMEOUT`] passes. Off by default: in immediate mode
    /// libpcap uses one ring slot per snapshot length, so an 8 MiB buffer holds about 128
    /// full-size frames and a short stall drops packets (measured in docs/benchmarks.md).
    pub immediate: bool,
    /// BPF filter expression; empty captures every packet.
    pub filter: String,
}

impl Default for CaptureConfig {
    fn default() -> CaptureConfig {
        CaptureConfig {
            interfaces: Vec::new(),
            promiscuous: true,
            snaplen: 65_535,
            buffer_mib: 8,
            immediate: false,
            filter: String::new(),
        }
    }
}

/// The `[trails]` table: trail sources, whitelist and ignore rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrailsConfig {
    /// Text trail folders, or one compiled store; empty means the default set.
    pub paths: Vec<PathBuf>,
    pub whitelist: Option<PathBuf>,
    pub ignore: Option<PathBuf>,
}

/// A configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {}: {source}; check the -c path", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("{}:{line}: {key}: {message}; {fix}", path.display())]
    Invalid {
        path: PathBuf,
        /// Line of the offending key or value, counted from 1; 0 when toml gave no position.
        line: usize,
        /// Dotted key, for example `capture.snaplen`, or the table when no key applies.
        key: String,
        message: String,
        fix: &'static str,
    },

    #[error("{}: {key} = {value}: {reason}", path.display())]
    OutOfRange {
        path: PathBuf,
        key: &'static str,
        value: String,
        reason: String,
    },

    #[error(
        "interface {name} is named twice in {origin}; remove the duplicate, because every copy \
         reads each of its packets again"
    )]
    DuplicateInterface {
        name: String,
        /// Origin of the list: the `-i` flags or the file's `[capture] interfaces`.
        origin: String,
    },

    #[error("{}: {source}", path.display())]
    Heuristics {
        path: PathBuf,
        source: HeuristicsConfigError,
    },
}

impl ConfigFile {
    /// Reads and checks the configuration file at `path`. Relative paths in the file are
    /// resolved against the folder that contains it (see [`ConfigFile::resolve_paths`]).
    pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config = ConfigFile::parse(path, &text)?;
        if let Some(folder) = path.parent() {
            config.resolve_paths(folder);
        }
        Ok(config)
    }

    /// Joins every relative path of the file to `folder`: `[sensor] log_dir`, `[trails]`
    /// `paths`, `whitelist` and `ignore`, and `[outputs.delivery]` `secret_file` and
    /// `spool_dir`. So a file means the same wherever the sensor is started from, while
    /// relative paths given as flags stay relative to the working directory.
    pub fn resolve_paths(&mut self, folder: &Path) {
        let resolve = |path: &mut PathBuf| {
            if path.is_relative() {
                *path = folder.join(&*path);
            }
        };

        resolve(&mut self.sensor.log_dir);
        self.trails.paths.iter_mut().for_each(resolve);
        self.trails.whitelist.iter_mut().for_each(resolve);
        self.trails.ignore.iter_mut().for_each(resolve);
        if let Some(delivery) = &mut self.outputs.delivery {
            resolve(&mut delivery.secret_file);
            resolve(&mut delivery.spool_dir);
        }
    }

    /// Parses `text`, naming `path` in errors.
    pub fn parse(path: &Path, text: &str) -> Result<ConfigFile, ConfigError> {
        let config: ConfigFile =
            toml::from_str(text).map_err(|error| describe(path, text, &error))?;
        config.check_ranges(path)?;
        Ok(config)
    }

    fn check_ranges(&self, path: &Path) -> Result<(), ConfigError> {
        let out_of_range = |key, value: u32, max| ConfigError::OutOfRange {
            path: path.to_path_buf(),
            key,
            value: value.to_string(),
            reason: format!("expected 1 to {max}"),
        };
        if !(1..=MAX_SNAPLEN).contains(&self.capture.snaplen) {
            return Err(out_of_range(
                "capture.snaplen",
                self.capture.snaplen,
                MAX_SNAPLEN,
            ));
        }
        if !(1..=MAX_BUFFER_MIB).contains(&self.capture.buffer_mib) {
            return Err(out_of_range(
                "capture.buffer_mib",
                self.capture.buffer_mib,
                MAX_BUFFER_MIB,
            ));
        }
        self.heuristics
            .validate()
            .map_err(|source| ConfigError::Heuristics {
                path: path.to_path_buf(),
                source,
            })
    }
}

/// Turns toml's error into one line with the file, line, dotted key and a fix. toml's message
/// (toml 1.2) names the bad key or type but neither the file nor the table the key is in, and
/// its multi-line source excerpt does not fit a log line.
fn describe(path: &Path, text: &str, error: &toml::de::Error) -> ConfigError {
    let message = error.message().trim().to_string();
    let (line, key) = match error.span() {
        Some(span) => locate(text, span.start),
        None => (0, String::from("(file)")),
    };
    let fix = if message.starts_with("unknown field") {
        "remove the key or correct its spelling (trailwatch-sensor.example.toml lists every key)"
    } else if message.starts_with("invalid type") || message.starts_with("invalid value") {
        "write a value of the expected type"
    } else {
        "correct the TOML syntax on that line"
    };
    ConfigError::Invalid {
        path: path.to_path_buf(),
        line,
        key,
        message,
        fix,
    }
}

/// Returns the line number (from 1) of byte `offset` and the dotted key written on that line:
/// the last `[table]` header above it joined with the key before `=`. For a table header line
/// the header itself is returned.
fn locate(text: &str, offset: usize) -> (usize, String) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line_number = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    let line = text[line_start..].lines().next().unwrap_or("").trim();

    let table = before[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|line| line.starts_with('['))
        .map(|header| {
            header
                .trim_matches(|c| c == '[' || c == ']')
                .trim()
                .to_string()
        });

    if line.starts_with('[') {
        let header = line.trim_matches(|c| c == '[' || c == ']').trim();
        return (line_number, header.to_string());
    }
    let key = line.split('=').next().unwrap_or("").trim();
    let dotted = match (table, key.is_empty()) {
        (Some(table), false) => format!("{table}.{key}"),
        (Some(table), true) => table,
        (None, false) => key.to_string(),
        (None, true) => String::from("(top level)"),
    };
    (line_number, dotted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_names_table_and_key() {
        let text = "[sensor]\njson = true\n\n[capture]\nsnaplen = \"big\"\n";
        let offset = text.find("\"big\"").unwrap();
        assert_eq!(locate(text, offset), (5, "capture.snaplen".to_string()));
    }

    #[test]
    fn locate_top_level_key() {
        let text = "colour = 1\n";
        assert_eq!(locate(text, 0), (1, "colour".to_string()));
    }

    #[test]
    fn empty_file_gives_defaults() {
        let config = ConfigFile::parse(Path::new("empty.toml"), "").unwrap();
        assert_eq!(config, ConfigFile::default());
        assert_eq!(config.sensor.log_dir, PathBuf::from(DEFAULT_LOG_DIR));
        assert!(config.capture.promiscuous);
    }

    #[test]
    fn heuristics_table_is_read() {
        let text =
            "[heuristics]\ndisabled = [\"beaconing\"]\n\n[heuristics.scan]\ntcp_ports = 50\n";
        let config = ConfigFile::parse(Path::new("h.toml"), text).unwrap();
        assert!(!config.heuristics.is_enabled("beaconing"));
        assert_eq!(config.heuristics.scan.tcp_ports, 50);
        assert_eq!(config.heuristics.scan.udp_ports, 20);
    }

    #[test]
    fn heuristics_unknown_key_names_table() {
        let text = "[heuristics.scan]\ntcp_port = 50\n";
        let error = ConfigFile::parse(Path::new("h.toml"), text)
            .unwrap_err()
            .to_string();
        assert!(error.contains("heuristics.scan.tcp_port"), "{error}");
    }

    #[test]
    fn heuristics_range_error_names_key() {
        let text = "[heuristics.beacon]\nmin_intervals = 2\n";
        let error = ConfigFile::parse(Path::new("h.toml"), text)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("heuristics.beacon.min_intervals = 2"),
            "{error}"
        );
        assert!(error.contains("expected 3 to 16"), "{error}");
    }

    #[test]
    fn relative_paths_follow_the_file() {
        let text = "[sensor]\nlog_dir = \"log\"\n\n[trails]\npaths = [\"trails\", \"/abs\"]\n\
                    whitelist = \"../white.txt\"\n";
        let mut config = ConfigFile::parse(Path::new("/etc/tw/sensor.toml"), text).unwrap();

        config.resolve_paths(Path::new("/etc/tw"));

        assert_eq!(config.sensor.log_dir, PathBuf::from("/etc/tw/log"));
        assert_eq!(
            config.trails.paths,
            vec![PathBuf::from("/etc/tw/trails"), PathBuf::from("/abs")]
        );
        assert_eq!(
            config.trails.whitelist,
            Some(PathBuf::from("/etc/tw/../white.txt"))
        );
        assert_eq!(config.trails.ignore, None);
    }

    #[test]
    fn zero_snaplen_is_out_of_range() {
        let error = ConfigFile::parse(Path::new("c.toml"), "[capture]\nsnaplen = 0\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("capture.snaplen = 0"), "{error}");
        assert!(error.contains("expected 1 to 262144"), "{error}");
    }
}
