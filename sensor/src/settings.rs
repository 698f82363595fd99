//! The settings a run uses: the configuration file's values with the command-line flags laid
//! over them.

use std::path::PathBuf;
use std::time::Duration;

use trailwatch_outputs::OutputsConfig;

use crate::cli::Args;
use crate::config::{CaptureConfig, ConfigError, ConfigFile, TrailsConfig};
use crate::heuristics::HeuristicsConfig;

/// The packet source of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Capture files read once, in order (`-r`).
    Files(Vec<PathBuf>),
    /// Network interfaces captured until a stop signal (`-i` or `[capture] interfaces`).
    Interfaces(Vec<String>),
}

/// Effective settings of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The configuration file they were read from, which SIGHUP reads again.
    pub config_path: Option<PathBuf>,
    /// `None` when neither flags nor the file name a capture file or interface.
    pub source: Option<Source>,
    pub sensor_name: String,
    pub log_dir: PathBuf,
    pub json: bool,
    pub console: bool,
    pub throttle: Duration,
    /// `None` writes statistics only at exit.
    pub stats_interval: Option<Duration>,
    pub user: Option<String>,
    pub capture: CaptureConfig,
    pub trails: TrailsConfig,
    pub outputs: OutputsConfig,
    pub heuristics: HeuristicsConfig,
    pub stats_json: Option<PathBuf>,
}

impl Settings {
    /// Reads the configuration file named by `-c` (if any) and lays the flags over it.
    pub fn load(args: &Args) -> Result<Settings, ConfigError> {
        let file = match &args.config {
            Some(path) => ConfigFile::load(path)?,
            None => ConfigFile::default(),
        };
        let settings = Settings::merge(args, file);
        if let Some(Source::Interfaces(names)) = &settings.source {
            let origin = match (&args.config, args.interfaces.is_empty()) {
                (Some(path), true) => format!("[capture] interfaces of {}", path.display()),
                _ => "the -i flags".to_string(),
            };
            check_interfaces(names, &origin)?;
        }
        Ok(settings)
    }

    /// Lays the flags of `args` over `file`. A flag replaces the key it names; list flags
    /// (`-i`, `--trails`) replace the whole list.
    pub fn merge(args: &Args, file: ConfigFile) -> Settings {
        let ConfigFile {
            sensor,
            mut capture,
            mut trails,
            outputs,
            mut heuristics,
        } = file;
        if args.no_heuristics {
            heuristics.enabled = false;
        }

        let source = if !args.read.is_empty() {
            Some(Source::Files(args.read.clone()))
        } else if !args.interfaces.is_empty() {
            Some(Source::Interfaces(args.interfaces.clone()))
        } else if !capture.interfaces.is_empty() {
            Some(Source::Interfaces(capture.interfaces.clone()))
        } else {
            None
        };
        if let Some(Source::Interfaces(names)) = &source {
            capture.interfaces = names.clone();
        }

        if let Some(promiscuous) = args.promiscuous {
            capture.promiscuous = promiscuous;
        }
        if let Some(snaplen) = args.snaplen {
            capture.snaplen = snaplen;
        }
        if let Some(buffer_mib) = args.buffer_mib {
            capture.buffer_mib = buffer_mib;
        }
        if let Some(immediate) = args.immediate {
            capture.immediate = immediate;
        }
        if let Some(filter) = &args.filter {
            capture.filter = filter.clone();
        }

        if !args.trails.is_empty() {
            trails.paths = args.trails.clone();
        }
        if args.whitelist.is_some() {
            trails.whitelist = args.whitelist.clone();
        }
        if args.ignore.is_some() {
            trails.ignore = args.ignore.clone();
        }

        let stats_minutes = args.stats_interval.unwrap_or(sensor.stats_interval_minutes);
        Settings {
            config_path: args.config.clone(),
            source,
            sensor_name: args
                .sensor_name
                .clone()
                .or(sensor.name)
                .unwrap_or_else(host_name),
            log_dir: args.log_dir.clone().unwrap_or(sensor.log_dir),
            json: args.json || sensor.json,
            console: args.console,
            throttle: Duration::from_secs(args.throttle.unwrap_or(sensor.throttle_seconds)),
            stats_interval: (stats_minutes > 0)
                .then(|| Duration::from_secs(stats_minutes.saturating_mul(60))),
            user: args.user.clone().or(sensor.user),
            capture,
            trails,
            outputs,
            heuristics,
            stats_json: args.stats_json.clone(),
        }
    }
}

/// Rejects an interface named twice, and warns when `any` comes with named interfaces: `any`
/// already captures their packets, so each of those packets is read twice. That case is only
/// a warning because a named interface is how its promiscuous mode gets set, which `any`
/// does not do.
fn check_interfaces(names: &[String], origin: &str) -> Result<(), ConfigError> {
    for (index, name) in names.iter().enumerate() {
        if names[..index].contains(name) {
            return Err(ConfigError::DuplicateInterface {
                name: name.clone(),
                origin: origin.to_string(),
            });
        }
    }

    let named: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|name| *name != "any")
        .collect();
    if names.len() > named.len() && !named.is_empty() {
        log::warn!(
            "interface any already captures the packets of {}, so each of them is read twice; \
             capture on any alone or on the named interfaces alone",
            named.join(", ")
        );
    }
    Ok(())
}

fn host_name() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|name| name.into_string().ok())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "trailwatch".to_string())
}
