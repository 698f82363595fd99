//! The configuration file of `trailwatch-trails update`, `pull` and `daemon`.
//!
//! TOML with every key optional. Unknown keys are errors that name the key, so a typo cannot
//! silently fall back to a default. Relative paths are resolved against the folder of the
//! configuration file. `trails/trailwatch-trails.example.toml` documents each key.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Store path on a device: the persistent data partition.
pub const DEFAULT_STORE: &str = "/data/trails/trails.store";

/// Folder of the per-feed caches on a device.
pub const DEFAULT_CACHE_DIR: &str = "/data/trails/cache";

/// Folder of the bundled trail trees and feed catalogue on an installed device.
pub const INSTALLED_TRAILS: &str = "/usr/share/trailwatch/trails";

/// Default of `[schedule] period_s`: seconds between two scheduled runs.
const DEFAULT_PERIOD_S: u64 = 6 * 60 * 60;

/// Maximum random delay added to each period, so that a fleet of devices started together
/// does not download at the same second.
const DEFAULT_JITTER_S: u64 = 10 * 60;

/// Default of `[download] max_bytes`, in bytes: ample for text blocklists, and a bound on the
/// memory one feed can take on a small device.
const DEFAULT_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// The whole configuration, with defaults filled in and paths resolved.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The compiled store that `update` and `pull` write.
    #[serde(default = "default_store")]
    pub store: PathBuf,

    /// Folder of the last good parse of each feed.
    #[serde(default = "default_cache_dir")]
    pub cache_dir: PathBuf,

    /// The feed catalogue. `None` means [`default_catalogue`].
    #[serde(default)]
    pub feeds: Option<PathBuf>,

    /// Static and custom trail trees. `None` means [`default_trail_dirs`]; an empty list
    /// means feeds only.
    #[serde(default)]
    pub trails: Option<Vec<PathBuf>>,

    /// A whitelist file applied when the store is built.
    #[serde(default)]
    pub whitelist: Option<PathBuf>,

    #[serde(default)]
    pub download: DownloadConfig,

    #[serde(default)]
    pub schedule: ScheduleConfig,

    /// Set to pull signed stores from a central machine in place of downloading feeds.
    #[serde(default)]
    pub ota: Option<OtaConfig>,
}

/// Limits and identity of every HTTP download.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DownloadConfig {
    /// Seconds allowed for connecting and receiving the response headers.
    ///
    /// NOTE: minreq 3 applies one deadline to a whole request, so a download times out only
    /// when connecting, the headers and the body together take longer than
    /// `connect_timeout_s + read_timeout_s`. A stalled server is still cut off by then.
    pub connect_timeout_s: u64,
    /// Seconds allowed for the response body, added to `connect_timeout_s` (see there).
    pub read_timeout_s: u64,
    /// Maximum body size in bytes of one download, both as sent and after gzip decoding. It
    /// applies to each feed and to the store that `pull` downloads.
    pub max_bytes: u64,
    /// An HTTP proxy, `http://[user:password@]host[:port]`.
    pub proxy: Option<String>,
    /// The User-Agent header.
    pub user_agent: String,
}

impl Default for DownloadConfig {
    fn default() -> DownloadConfig {
        DownloadConfig {
            connect_timeout_s: 10,
            read_timeout_s: 60,
            max_bytes: DEFAULT_MAX_BYTES,
            proxy: None,
            user_agent: default_user_agent(),
        }
    }
}

/// When `daemon` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleConfig {
    /// Seconds between the starts of two runs, before jitter.
    pub period_s: u64,
    /// Maximum random delay in seconds added to each period.
    pub jitter_s: u64,
}

impl Default for ScheduleConfig {
    fn default() -> ScheduleConfig {
        ScheduleConfig {
            period_s: DEFAULT_PERIOD_S,
            jitter_s: DEFAULT_JITTER_S,
        }
    }
}

/// The source of signed stores for `pull`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtaConfig {
    /// URL of the published store.
    pub update_url: String,
    /// URL of its detached signature. `None` means `update_url` followed by `.sig`.
    #[serde(default)]
    pub signature_url: Option<String>,
    /// The publisher's public key file, as written by `trailwatch-trails keygen`.
    pub public_key: PathBuf,
}

impl OtaConfig {
    /// Returns the signature URL, defaulting to the store URL followed by `.sig`.
    pub fn signature_url(&self) -> String {
        match &self.signature_url {
            Some(url) => url.clone(),
            None => format!("{}.sig", self.update_url),
        }
    }
}

/// A configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("failed to read the configuration file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },

    /// Invalid TOML, an unknown key or a value of the wrong type. The message from the TOML
    /// parser names the key and the line.
    #[error("invalid configuration file {}: {message}", path.display())]
    Parse { path: PathBuf, message: String },

    #[error("invalid configuration file {}: `{key}` {message}", path.display())]
    Invalid {
        path: PathBuf,
        key: &'static str,
        message: String,
    },
}

impl Default for Config {
    fn default() -> Config {
        Config {
            store: default_store(),
            cache_dir: default_cache_dir(),
            feeds: None,
            trails: None,
            whitelist: None,
            download: DownloadConfig::default(),
            schedule: ScheduleConfig::default(),
            ota: None,
        }
    }
}

impl Config {
    /// Reads and validates a configuration file and resolves its relative paths against the
    /// file's folder.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Config::parse(&text, path, base)
    }

    /// Parses and validates configuration text. `origin` names the file in errors and
    /// relative paths are resolved against `base`.
    pub fn parse(text: &str, origin: &Path, base: &Path) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|error| ConfigError::Parse {
            path: origin.to_path_buf(),
            message: error.message().to_owned() + &line_suffix(text, error.span()),
        })?;

        config.validate(origin)?;
        config.resolve_paths(base);
        Ok(config)
    }

    /// Returns the catalogue path: the configured one, or [`default_catalogue`].
    pub fn catalogue_path(&self) -> PathBuf {
        self.feeds.clone().unwrap_or_else(default_catalogue)
    }

    /// Returns the trail trees: the configured ones, or [`default_trail_dirs`].
    pub fn trail_dirs(&self) -> Vec<PathBuf> {
        match &self.trails {
            Some(dirs) => dirs.clone(),
            None => default_trail_dirs(),
        }
    }

    fn validate(&self, origin: &Path) -> Result<(), ConfigError> {
        let invalid = |key: &'static str, message: &str| ConfigError::Invalid {
            path: origin.to_path_buf(),
            key,
            message: message.to_owned(),
        };

        if self.download.connect_timeout_s == 0 {
            return Err(invalid("download.connect_timeout_s", "must be at least 1"));
        }
        if self.download.read_timeout_s == 0 {
            return Err(invalid("download.read_timeout_s", "must be at least 1"));
        }
        if self.download.max_bytes == 0 {
            return Err(invalid("download.max_bytes", "must be at least 1"));
        }
        if self.download.user_agent.trim().is_empty() {
            return Err(invalid("download.user_agent", "must not be empty"));
        }
        if let Some(proxy) = &self.download.proxy {
            if minreq::Proxy::new(proxy).is_err() {
                return Err(invalid(
                    "download.proxy",
                    "is not a proxy address of the form http://[user:password@]host[:port]",
                ));
            }
        }
        if self.schedule.period_s == 0 {
            return Err(invalid("schedule.period_s", "must be at least 1"));
        }

        if let Some(ota) = &self.ota {
            if !is_http_url(&ota.update_url) {
                return Err(invalid(
                    "ota.update_url",
                    "must start with http:// or https://",
                ));
            }
            if !is_http_url(&ota.signature_url()) {
                return Err(invalid(
                    "ota.signature_url",
                    "must start with http:// or https://",
                ));
            }
        }
        Ok(())
    }

    fn resolve_paths(&mut self, base: &Path) {
        let resolve = |path: &mut PathBuf| {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        };

        resolve(&mut self.store);
        resolve(&mut self.cache_dir);
        self.feeds.iter_mut().for_each(resolve);
        self.whitelist.iter_mut().for_each(resolve);
        if let Some(dirs) = &mut self.trails {
            dirs.iter_mut().for_each(resolve);
        }
        if let Some(ota) = &mut self.ota {
            resolve(&mut ota.public_key);
        }
    }
}

/// Returns the installed catalogue when it exists, and otherwise the source tree's
/// `trails/feeds.toml`.
pub fn default_catalogue() -> PathBuf {
    let installed = Path::new(INSTALLED_TRAILS).join("feeds.toml");
    if installed.is_file() {
        return installed;
    }
    source_tree_trails().join("feeds.toml")
}

/// Returns `static/` and, when present, `custom/` of the installed trails, or of the source
/// tree's `trails/` when nothing is installed.
pub fn default_trail_dirs() -> Vec<PathBuf> {
    let installed = PathBuf::from(INSTALLED_TRAILS);
    let root = match installed.join("static").is_dir() {
        true => installed,
        false => source_tree_trails(),
    };

    let mut dirs = vec![root.join("static")];
    if root.join("custom").is_dir() {
        dirs.push(root.join("custom"));
    }
    dirs
}

/// Returns `trailwatch-trails/<version>`.
pub fn default_user_agent() -> String {
    format!("trailwatch-trails/{}", env!("CARGO_PKG_VERSION"))
}

fn source_tree_trails() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).join("trails")
}

fn default_store() -> PathBuf {
    PathBuf::from(DEFAULT_STORE)
}

fn default_cache_dir() -> PathBuf {
    PathBuf::from(DEFAULT_CACHE_DIR)
}

fn is_http_url(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

/// Formats " (line N)" for the start of a TOML error span.
fn line_suffix(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    let Some(span) = span else {
        return String::new();
    };
    let start = span.start.min(text.len());
    let line = text.as_bytes()[..start]
        .iter()
        .filter(|&&byte| byte == b'\n')
        .count();
    format!(" (line {})", line + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("test.toml"), Path::new("/etc/trailwatch"))
    }

    #[test]
    fn empty_file_gives_defaults() {
        let config = parse("").unwrap();

        assert_eq!(config.store, PathBuf::from(DEFAULT_STORE));
    }

    #[test]
    fn unknown_key_is_named() {
        let error = parse("stroe = \"/tmp/x\"\n").unwrap_err().to_string();

        assert!(error.contains("stroe"), "{error}");
    }

    #[test]
    fn unknown_nested_key_is_named() {
        let error = parse("[download]\ntimeout = 3\n").unwrap_err().to_string();

        assert!(error.contains("timeout"), "{error}");
    }

    #[test]
    fn relative_paths_follow_config_folder() {
        let config = parse("cache_dir = \"cache\"\n").unwrap();

        assert_eq!(config.cache_dir, PathBuf::from("/etc/trailwatch/cache"));
    }

    #[test]
    fn signature_url_defaults_to_sig_suffix() {
        let text = "[ota]\nupdate_url = \"http://127.0.0.1/t.store\"\npublic_key = \"k.pub\"\n";
        let config = parse(text).unwrap();

        assert_eq!(
            config.ota.unwrap().signature_url(),
            "http://127.0.0.1/t.store.sig"
        );
    }

    #[test]
    fn zero_period_is_rejected() {
        let error = parse("[schedule]\nperiod_s = 0\n").unwrap_err().to_string();

        assert!(error.contains("schedule.period_s"), "{error}");
    }

    #[test]
    fn non_http_update_url_is_rejected() {
        let text = "[ota]\nupdate_url = \"ftp://x/t.store\"\npublic_key = \"k.pub\"\n";
        let error = parse(text).unwrap_err().to_string();

        assert!(error.contains("ota.update_url"), "{error}");
    }

    #[test]
    fn parse_error_names_line() {
        let error = parse("store = \"a\"\n\n[schedule]\nperiod_s = \"x\"\n")
            .unwrap_err()
            .to_string();

        assert!(error.contains("line 4"), "{error}");
    }

    #[test]
    fn example_file_gives_defaults() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../trails/trailwatch-trails.example.toml");
        let config = Config::load(&path).unwrap();

        assert_eq!(config.download, DownloadConfig::default());
        assert_eq!(config.schedule, ScheduleConfig::default());
        assert_eq!(config.store, PathBuf::from(DEFAULT_STORE));
        assert_eq!(config.cache_dir, PathBuf::from(DEFAULT_CACHE_DIR));
    }

    #[test]
    fn user_agent_names_tool_and_version() {
        let config = parse("").unwrap();

        assert_eq!(
            config.download.user_agent,
            format!("trailwatch-trails/{}", env!("CARGO_PKG_VERSION"))
        );
    }
}
