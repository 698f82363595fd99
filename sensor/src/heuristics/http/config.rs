//! The `[heuristics.http]` table: switches and thresholds of the HTTP heuristics.

use std::net::IpAddr;

use serde::Deserialize;
use thiserror::Error;

use super::agents::DEFAULT_TOOL_AGENTS;
use super::dirscan::MAX_DISTINCT_PATHS;
use super::downloads::{DEFAULT_ALLOWED_HOSTS, DEFAULT_EXTENSIONS};
use super::responses::DEFAULT_CONTENT_TYPES;

/// Largest accepted table size, in entries.
const MAX_TABLE_SIZE: usize = 1 << 20;

/// Accepted range of `max_decoded_bytes`.
const DECODED_BYTES_RANGE: std::ops::RangeInclusive<usize> = 64..=65_536;

/// One HTTP detector, named in `disabled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HttpDetector {
    /// Attack patterns and scanner fingerprints in the path, query and body.
    Injection,
    /// Direct downloads of executables from a public server.
    Download,
    /// IoT-bot payloads fetched from a public server by address.
    IotDownload,
    /// Scanner, tool, empty and malformed User-Agent headers.
    UserAgent,
    /// Executables and scripts served with their own content type.
    ContentType,
    /// Sinkhole responses and seized-domain pages.
    Sinkhole,
    /// Many distinct paths from one client to one server.
    DirectoryScan,
}

/// The `[heuristics.http]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Switch for all HTTP heuristics.
    pub enabled: bool,
    /// Detectors switched off, for example `["user_agent"]`.
    pub disabled: Vec<HttpDetector>,
    /// Seconds during which a finding is reported once per source.
    pub report_window_secs: u32,
    /// Entries of the table of recent findings.
    pub report_table_size: usize,
    /// Bytes of a path or body that are decoded and searched.
    pub max_decoded_bytes: usize,
    /// Extensions of direct downloads, with the dot, for example `.exe`.
    pub download_extensions: Vec<String>,
    /// Maximum length of the file name, without extension, of a reported direct download,
    /// because malware droppers use short names and legitimate installers mostly long ones.
    pub download_max_stem_len: usize,
    /// Hosts, with their subdomains, whose executables are expected (Windows Update).
    pub download_allowed_hosts: Vec<String>,
    /// Prefixes of tool User-Agents, such as `curl/`.
    pub tool_agents: Vec<String>,
    /// Report tool agents in requests to any host, not only to public servers named by IP.
    pub tool_agents_to_any_host: bool,
    /// Clients that are expected to use tool agents.
    pub tool_agent_clients: Vec<IpAddr>,
    /// Media types reported in responses from public servers.
    pub suspicious_content_types: Vec<String>,
    /// Distinct paths in a window that make a directory scan when most responses are
    /// client errors.
    pub scan_distinct_paths: u32,
    /// Distinct paths that make a directory scan when most responses are not seen.
    pub scan_distinct_paths_unanswered: u32,
    /// Share of client errors among the responses of a scan, in percent.
    pub scan_min_error_percent: u8,
    /// Window of the directory-scan count, in seconds.
    pub scan_window_secs: u32,
    /// Entries of the (client, server) table of the directory-scan count.
    pub scan_table_size: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        let strings = |items: &[&str]| items.iter().map(|item| item.to_string()).collect();
        HttpConfig {
            enabled: true,
            disabled: Vec::new(),
            report_window_secs: 300,
            report_table_size: 8192,
            max_decoded_bytes: 2048,
            download_extensions: strings(&DEFAULT_EXTENSIONS),
            // Maltrail reports names shorter than 10 characters.
            download_max_stem_len: 9,
            download_allowed_hosts: strings(&DEFAULT_ALLOWED_HOSTS),
            tool_agents: strings(&DEFAULT_TOOL_AGENTS),
            tool_agents_to_any_host: false,
            tool_agent_clients: Vec::new(),
            suspicious_content_types: strings(&DEFAULT_CONTENT_TYPES),
            scan_distinct_paths: 40,
            scan_distinct_paths_unanswered: 120,
            scan_min_error_percent: 50,
            scan_window_secs: 60,
            scan_table_size: 2048,
        }
    }
}

/// A value of `[heuristics.http]` outside its accepted range.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum HttpConfigError {
    #[error("heuristics.http.{key} = {value} is out of range: use {min} to {max}")]
    OutOfRange {
        key: &'static str,
        value: u64,
        min: u64,
        max: u64,
    },
    #[error(
        "heuristics.http.download_extensions contains {0:?}: write each extension with its \
         leading dot, for example \".exe\""
    )]
    ExtensionWithoutDot(String),
}

impl HttpConfig {
    /// Checks every threshold against its accepted range.
    pub fn validate(&self) -> Result<(), HttpConfigError> {
        let max_paths = u64::from(MAX_DISTINCT_PATHS);
        let checks: [(&'static str, u64, u64, u64); 8] = [
            (
                "report_window_secs",
                self.report_window_secs.into(),
                1,
                86_400,
            ),
            (
                "report_table_size",
                self.report_table_size as u64,
                1,
                MAX_TABLE_SIZE as u64,
            ),
            (
                "max_decoded_bytes",
                self.max_decoded_bytes as u64,
                *DECODED_BYTES_RANGE.start() as u64,
                *DECODED_BYTES_RANGE.end() as u64,
            ),
            (
                "scan_distinct_paths",
                self.scan_distinct_paths.into(),
                2,
                max_paths,
            ),
            (
                "scan_distinct_paths_unanswered",
                self.scan_distinct_paths_unanswered.into(),
                self.scan_distinct_paths.into(),
                max_paths,
            ),
            (
                "scan_min_error_percent",
                self.scan_min_error_percent.into(),
                0,
                100,
            ),
            ("scan_window_secs", self.scan_window_secs.into(), 1, 86_400),
            (
                "scan_table_size",
                self.scan_table_size as u64,
                1,
                MAX_TABLE_SIZE as u64,
            ),
        ];
        for (key, value, min, max) in checks {
            if !(min..=max).contains(&value) {
                return Err(HttpConfigError::OutOfRange {
                    key,
                    value,
                    min,
                    max,
                });
            }
        }
        if let Some(bad) = self
            .download_extensions
            .iter()
            .find(|e| !e.starts_with('.'))
        {
            return Err(HttpConfigError::ExtensionWithoutDot(bad.clone()));
        }
        Ok(())
    }

    /// Returns a copy with every threshold clamped into its accepted range and every name
    /// list in lower case, as the detectors compare them.
    pub(super) fn normalized(&self) -> HttpConfig {
        let lower = |items: &[String]| items.iter().map(|item| item.to_ascii_lowercase()).collect();
        let max_paths = MAX_DISTINCT_PATHS;
        let distinct = self.scan_distinct_paths.clamp(2, max_paths);
        HttpConfig {
            enabled: self.enabled,
            disabled: self.disabled.clone(),
            report_window_secs: self.report_window_secs.clamp(1, 86_400),
            report_table_size: self.report_table_size.clamp(1, MAX_TABLE_SIZE),
            max_decoded_bytes: self
                .max_decoded_bytes
                .clamp(*DECODED_BYTES_RANGE.start(), *DECODED_BYTES_RANGE.end()),
            download_extensions: lower(&self.download_extensions),
            download_max_stem_len: self.download_max_stem_len,
            download_allowed_hosts: lower(&self.download_allowed_hosts),
            tool_agents: lower(&self.tool_agents),
            tool_agents_to_any_host: self.tool_agents_to_any_host,
            tool_agent_clients: self.tool_agent_clients.clone(),
            suspicious_content_types: lower(&self.suspicious_content_types),
            scan_distinct_paths: distinct,
            scan_distinct_paths_unanswered: self
                .scan_distinct_paths_unanswered
                .clamp(distinct, max_paths),
            scan_min_error_percent: self.scan_min_error_percent.min(100),
            scan_window_secs: self.scan_window_secs.clamp(1, 86_400),
            scan_table_size: self.scan_table_size.clamp(1, MAX_TABLE_SIZE),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_table_gives_defaults() {
        let config: HttpConfig = toml::from_str("").unwrap();
        assert_eq!(config, HttpConfig::default());
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn detectors_disabled_by_name() {
        let config: HttpConfig =
            toml::from_str("disabled = [\"user_agent\", \"directory_scan\"]").unwrap();
        assert_eq!(
            config.disabled,
            [HttpDetector::UserAgent, HttpDetector::DirectoryScan]
        );
    }

    #[test]
    fn unknown_detector_rejected() {
        let error = toml::from_str::<HttpConfig>("disabled = [\"sql\"]").unwrap_err();
        assert!(error.to_string().contains("injection"), "{error}");
    }

    #[test]
    fn unknown_key_rejected() {
        assert!(toml::from_str::<HttpConfig>("scan_paths = 3").is_err());
    }

    #[test]
    fn out_of_range_threshold_named() {
        let config = HttpConfig {
            scan_distinct_paths: 1,
            ..HttpConfig::default()
        };
        let error = config.validate().unwrap_err();
        assert_eq!(
            error.to_string(),
            "heuristics.http.scan_distinct_paths = 1 is out of range: use 2 to 512"
        );
    }

    #[test]
    fn extension_without_dot_rejected() {
        let config = HttpConfig {
            download_extensions: vec!["exe".to_string()],
            ..HttpConfig::default()
        };
        assert_eq!(
            config.validate(),
            Err(HttpConfigError::ExtensionWithoutDot("exe".to_string()))
        );
    }
}
