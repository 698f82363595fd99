//! HTTP heuristics: attack patterns in requests, scanner fingerprints, executable and IoT-bot
//! downloads, suspicious user agents, suspicious response content types, sinkhole and
//! seized-domain responses, and web directory scans.
//!
//! Info texts are Maltrail's where it has the same heuristic. Each finding is reported once
//! per (source, info, trail) within `report_window_secs`, in a bounded table.

mod agents;
mod config;
mod decode;
mod dirscan;
mod downloads;
mod lru;
mod patterns;
mod responses;

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;

use rustc_hash::FxHasher;
use trailwatch_event::TrailType;
use trailwatch_wire::http::{self, EscapedBytes};

use super::{Finding, TableStats};
use agents::ScannerAgents;
pub use config::{HttpConfig, HttpConfigError, HttpDetector};
use dirscan::{ScanLimits, ScanTable};
use downloads::PathParts;
use lru::Lru;
use patterns::RequestPatterns;
use responses::ResponseMarkers;

/// Info text of a web directory scan, as Maltrail writes it.
pub const WEB_SCANNING: &str = "potential web scanning";

/// Maximum length of a trail built from a request path or body, in bytes, the limit of URL
/// trails in the event log.
const MAX_TRAIL_BYTES: usize = crate::matching::MAX_URL_TRAIL_BYTES;

/// Number of body bytes shown in the trail of a finding in a request body.
const BODY_TRAIL_BYTES: usize = 100;

/// Maximum length of a User-Agent shown in a trail, in bytes.
const AGENT_TRAIL_BYTES: usize = 256;

/// State of the HTTP heuristics.
pub struct HttpHeuristics {
    config: HttpConfig,
    patterns: RequestPatterns,
    scanners: ScannerAgents,
    markers: ResponseMarkers,
    scans: ScanTable,
    /// Time each (source, finding hash) was last reported. Bounded by `report_table_size`;
    /// the least recently reported entry is evicted, after which that finding may be
    /// reported again within its window.
    reported: Lru<(IpAddr, u64), i64>,
    decoded: Vec<u8>,
    scratch: Vec<u8>,
}

impl fmt::Debug for HttpHeuristics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpHeuristics")
            .field("config", &self.config)
            .field("reported", &self.reported.len())
            .field("scan_pairs", &self.scans.len())
            .finish_non_exhaustive()
    }
}

impl Default for HttpHeuristics {
    fn default() -> Self {
        HttpHeuristics::new(&HttpConfig::default())
    }
}

impl HttpHeuristics {
    /// Creates the detectors with the thresholds of `config`. Values outside the ranges that
    /// [`HttpConfig::validate`] accepts are clamped into them.
    pub fn new(config: &HttpConfig) -> HttpHeuristics {
        let config = config.normalized();
        let limits = ScanLimits {
            distinct_paths: config.scan_distinct_paths,
            distinct_paths_unanswered: config.scan_distinct_paths_unanswered,
            min_error_percent: config.scan_min_error_percent,
            window_secs: i64::from(config.scan_window_secs),
        };
        HttpHeuristics {
            patterns: RequestPatterns::new(),
            scanners: ScannerAgents::new(),
            markers: ResponseMarkers::new(),
            scans: ScanTable::new(config.scan_table_size, limits),
            reported: Lru::new(config.report_table_size),
            decoded: Vec::with_capacity(config.max_decoded_bytes),
            scratch: Vec::with_capacity(config.max_decoded_bytes),
            config,
        }
    }

    /// Looks at one request from `client` to `server` at `now_secs`. `host` is the lower-case
    /// host it names, if any. `whitelisted` is true when the client or the host is whitelisted.
    #[allow(clippy::too_many_arguments)]
    pub fn on_request(
        &mut self,
        now_secs: i64,
        client: IpAddr,
        server: IpAddr,
        host: Option<&str>,
        request: &http::Request<'_>,
        whitelisted: bool,
        out: &mut Vec<Finding>,
    ) {
        if !self.config.enabled || whitelisted {
            return;
        }
        let server_text;
        let shown_host = match host {
            Some(host) => host,
            None => {
                server_text = server.to_string();
                server_text.as_str()
            }
        };
        let path = request.path;
        let lower_path = path.to_ascii_lowercase();
        let parts = PathParts::new(&lower_path);

        if self.is_on(HttpDetector::DirectoryScan)
            && path.starts_with('/')
            && self.scans.on_request(now_secs, client, server, parts.path)
        {
            let trail = format!("{shown_host}(*)");
            self.report(
                now_secs,
                client,
                TrailType::Url,
                trail,
                WEB_SCANNING.into(),
                out,
            );
        }

        if self.is_on(HttpDetector::Injection) {
            let limit = self.config.max_decoded_bytes;
            decode::decode_for_matching(
                request.raw_path,
                limit,
                &mut self.decoded,
                &mut self.scratch,
            );
            if let Some(info) = self.patterns.first_match(&self.decoded) {
                let trail = url_trail(shown_host, request.raw_path);
                self.report(now_secs, client, TrailType::Url, trail, info.into(), out);
            }
        }

        self.check_download(now_secs, client, server, host, shown_host, &parts, out);

        if let Some(agent) = request.user_agent {
            self.check_agent(now_secs, client, server, host, agent, out);
        }
    }

    /// Looks at the first bytes of the body of `request`, which [`HttpHeuristics::on_request`]
    /// has seen with the same arguments. At most `max_decoded_bytes` of `body` are read.
    #[allow(clippy::too_many_arguments)]
    pub fn on_request_body(
        &mut self,
        now_secs: i64,
        client: IpAddr,
        server: IpAddr,
        host: Option<&str>,
        request: &http::Request<'_>,
        body: &[u8],
        whitelisted: bool,
        out: &mut Vec<Finding>,
    ) {
        if !self.config.enabled || whitelisted || body.is_empty() {
            return;
        }
        if !self.is_on(HttpDetector::Injection) {
            return;
        }
        let limit = self.config.max_decoded_bytes;
        decode::decode_for_matching(body, limit, &mut self.decoded, &mut self.scratch);
        let Some(info) = self.patterns.first_match(&self.decoded) else {
            return;
        };

        // Maltrail's form for a finding in a body: `host(path \(METHOD body\))`.
        let server_text = server.to_string();
        let shown_host = host.unwrap_or(&server_text);
        let shown_body = body.get(..BODY_TRAIL_BYTES).unwrap_or(body);
        let mut trail = format!(
            "{shown_host}({} \\({} {}\\))",
            EscapedBytes(request.raw_path),
            request.method,
            EscapedBytes(shown_body).to_string().trim()
        );
        truncate(&mut trail, MAX_TRAIL_BYTES);
        self.report(now_secs, client, TrailType::Http, trail, info.into(), out);
    }

    /// Looks at one response from `server` to `client` at `now_secs`: its head and the first
    /// bytes of its body that arrived with it. `host` is the lower-case host of the matching
    /// request when the caller knows it. `whitelisted` is true when the server or the host is
    /// whitelisted. Findings are about the response packet, whose source is `server`.
    #[allow(clippy::too_many_arguments)]
    pub fn on_response(
        &mut self,
        now_secs: i64,
        server: IpAddr,
        client: IpAddr,
        host: Option<&str>,
        response: &http::Response<'_>,
        body: &[u8],
        whitelisted: bool,
        out: &mut Vec<Finding>,
    ) {
        if !self.config.enabled || whitelisted {
            return;
        }
        if self.is_on(HttpDetector::DirectoryScan) {
            self.scans
                .on_response(now_secs, server, client, response.status);
        }

        if self.is_on(HttpDetector::Sinkhole) {
            if let Some(marker) = self.markers.sinkhole_marker(response, body) {
                let info = responses::SINKHOLE.into();
                self.report(now_secs, server, TrailType::Http, marker, info, out);
            } else if let Some(title) = self.markers.seized_title(body) {
                let info = responses::SEIZED.into();
                self.report(now_secs, server, TrailType::Http, title, info, out);
            }
        }

        if self.is_on(HttpDetector::ContentType) && downloads::is_public(server) {
            let allowed = host.is_some_and(|host| self.is_allowed_download_host(host));
            let media_type = response.content_type.map(responses::media_type);
            if let Some(media_type) = media_type.filter(|media_type| {
                !allowed && self.config.suspicious_content_types.contains(media_type)
            }) {
                let info = responses::CONTENT_TYPE.into();
                self.report(now_secs, server, TrailType::Http, media_type, info, out);
            }
        }
    }

    /// Returns the occupancy of every table.
    pub fn tables(&self) -> Vec<TableStats> {
        vec![
            TableStats {
                name: "http.reported",
                len: self.reported.len(),
                capacity: self.reported.capacity(),
                evictions: self.reported.evictions(),
            },
            TableStats {
                name: "http.paths_by_pair",
                len: self.scans.len(),
                capacity: self.scans.capacity(),
                evictions: self.scans.evictions(),
            },
        ]
    }

    fn is_on(&self, detector: HttpDetector) -> bool {
        !self.config.disabled.contains(&detector)
    }

    fn is_allowed_download_host(&self, host: &str) -> bool {
        let allowed = &self.config.download_allowed_hosts;
        allowed
            .iter()
            .any(|suffix| downloads::host_in(host, suffix))
    }

    /// Checks the path for IoT-bot payloads fetched by IP address and for direct downloads of
    /// executables from a public server.
    #[allow(clippy::too_many_arguments)]
    fn check_download(
        &mut self,
        now_secs: i64,
        client: IpAddr,
        server: IpAddr,
        host: Option<&str>,
        shown_host: &str,
        parts: &PathParts<'_>,
        out: &mut Vec<Finding>,
    ) {
        if !downloads::is_public(server) || !parts.path.starts_with('/') {
            return;
        }
        let by_address = host.is_none_or(|host| host.parse::<IpAddr>().is_ok());
        if self.is_on(HttpDetector::IotDownload) && by_address && downloads::is_iot_payload(parts) {
            let mut trail = format!("({shown_host}){}", parts.path);
            truncate(&mut trail, MAX_TRAIL_BYTES);
            let info = "potential iot-malware download (suspicious)".into();
            self.report(now_secs, client, TrailType::Http, trail, info, out);
            return;
        }

        if !self.is_on(HttpDetector::Download) || self.is_allowed_download_host(shown_host) {
            return;
        }
        let Some(extension) = parts.extension() else {
            return;
        };
        let listed = self
            .config
            .download_extensions
            .iter()
            .any(|known| known == extension);
        let short_name = parts.stem().len() <= self.config.download_max_stem_len;
        if listed && short_name && !parts.query.contains('=') {
            let mut trail = format!("{shown_host}({})", parts.path);
            truncate(&mut trail, MAX_TRAIL_BYTES);
            let info = format!("direct {extension} download (suspicious)").into();
            self.report(now_secs, client, TrailType::Url, trail, info, out);
        }
    }

    fn check_agent(
        &mut self,
        now_secs: i64,
        client: IpAddr,
        server: IpAddr,
        host: Option<&str>,
        agent: &str,
        out: &mut Vec<Finding>,
    ) {
        if !self.is_on(HttpDetector::UserAgent) {
            return;
        }
        let info: &'static str = if agent.is_empty() {
            agents::EMPTY_AGENT
        } else if agents::is_malformed(agent) {
            agents::MALFORMED_AGENT
        } else if let Some(info) = self.patterns.first_match(agent.as_bytes()) {
            info
        } else if self.scanners.is_scanner(agent) {
            agents::SCANNER_AGENT
        } else if self.is_unexpected_tool(client, server, host, agent) {
            agents::TOOL_AGENT
        } else {
            return;
        };
        let mut trail = if agent.is_empty() {
            "(empty)".to_string()
        } else {
            agent.to_string()
        };
        truncate(&mut trail, AGENT_TRAIL_BYTES);
        self.report(now_secs, client, TrailType::Ua, trail, info.into(), out);
    }

    /// Tests whether `agent` is a tool agent from a client where tools are not expected. By
    /// default only requests to a public server named by its address count, the way
    /// droppers fetch their payloads. With `tool_agents_to_any_host` every request counts.
    fn is_unexpected_tool(
        &self,
        client: IpAddr,
        server: IpAddr,
        host: Option<&str>,
        agent: &str,
    ) -> bool {
        if !agents::is_tool(agent, &self.config.tool_agents) {
            return false;
        }
        if self.config.tool_agent_clients.contains(&client) {
            return false;
        }
        let by_address = host.is_none_or(|host| host.parse::<IpAddr>().is_ok());
        self.config.tool_agents_to_any_host || (by_address && downloads::is_public(server))
    }

    /// Appends a finding unless the same one was reported from `source` within the window.
    fn report(
        &mut self,
        now_secs: i64,
        source: IpAddr,
        trail_type: TrailType,
        trail: String,
        info: Cow<'static, str>,
        out: &mut Vec<Finding>,
    ) {
        let mut hasher = FxHasher::default();
        trail_type.as_str().hash(&mut hasher);
        trail.hash(&mut hasher);
        info.hash(&mut hasher);
        let key = (source, hasher.finish());

        let window = i64::from(self.config.report_window_secs);
        if let Some(last) = self.reported.get_mut(&key) {
            if now_secs.saturating_sub(*last) < window {
                return;
            }
            *last = now_secs;
        } else {
            self.reported.insert(key, now_secs);
        }
        log::debug!("http heuristic from {source}: {info} {trail}");
        out.push(Finding {
            trail_type,
            trail,
            info,
        });
    }
}

/// Renders `host(path)` with the exact path bytes, cut to [`MAX_TRAIL_BYTES`].
fn url_trail(host: &str, raw_path: &[u8]) -> String {
    let mut trail = format!("{host}({})", EscapedBytes(raw_path));
    truncate(&mut trail, MAX_TRAIL_BYTES);
    trail
}

/// Cuts `text` to at most `max` bytes at a character boundary, ending it with `...` when cut.
fn truncate(text: &mut String, max: usize) {
    if text.len() <= max {
        return;
    }
    let mut cut = max.saturating_sub(3);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    text.push_str("...");
}

#[cfg(test)]
mod tests;
