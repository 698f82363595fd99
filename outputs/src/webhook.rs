//! Webhook output: an HTTP POST of the JSON event for each event at or above a severity, at most
//! once per (source, trail type, info) per interval and at most `max_per_minute` times a minute
//! in all.
//!
//! The per-key limit leaves the trail out, because the sender of a packet chooses it: a flood
//! of queries for distinct subdomains of one listed domain shares one key (see
//! [`crate::rate_limit`]). The global cap bounds what keys the traffic can still vary, such as
//! the source address. Both limits run on packet time, and what they leave out is counted in
//! [`OutputStats::skipped`].
//!
//! The body is the JSON object of the JSON lines output (with `severity`), without the newline,
//! sent as `application/json`. Any 2xx status is success. A failed POST is not retried: it
//! counts as dropped, and a warning names the failure at most once a minute.
//!
//! NOTE: minreq sends through the proxy named by the `http_proxy`, `https_proxy` or `all_proxy`
//! environment variable when one is set, and it does not read `no_proxy`.

use std::time::{Duration, Instant};

use serde::Deserialize;
use trailwatch_event::{Event, Severity};

use crate::json_record::json_line_with_severity;
use crate::queue::{Control, Queue, Sink};
use crate::rate_limit::{Admission, RateLimiter};
use crate::{Output, OutputError, OutputStats};

/// `min_severity` when the key is missing.
const DEFAULT_MIN_SEVERITY: Severity = Severity::High;

/// `interval_seconds` when the key is missing.
const DEFAULT_INTERVAL_SECONDS: u64 = 300;

/// `max_per_minute` when the key is missing: enough for a burst of distinct detections, few
/// enough that a flood stays readable in a chat channel.
const DEFAULT_MAX_PER_MINUTE: u64 = 30;

/// `timeout_seconds` when the key is missing. Long enough for a slow chat service, short
/// enough that one stalled POST does not hold up the queue for minutes.
const DEFAULT_TIMEOUT_SECONDS: u64 = 10;

/// Minimum time between two warnings about failed POSTs.
const WARNING_INTERVAL: Duration = Duration::from_secs(60);

/// The `[outputs.webhook]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// `http://` or `https://` URL that receives the POSTs.
    pub url: String,
    /// Lowest severity posted: `low`, `medium` or `high` (default `high`).
    pub min_severity: Option<String>,
    /// Seconds of packet time during which repeats of one (source, trail type, info) are
    /// skipped (default 300, at least 1).
    pub interval_seconds: Option<u64>,
    /// Maximum POSTs per minute of packet time over all sources and trails (default 30, at
    /// least 1). Events over it are skipped and counted.
    pub max_per_minute: Option<u64>,
    /// Maximum seconds for one POST, from connecting to reading the response (default 10, at
    /// least 1).
    pub timeout_seconds: Option<u64>,
}

/// Posts high-severity events to a URL.
pub struct WebhookOutput {
    queue: Queue,
    min_severity: Severity,
    limiter: RateLimiter,
    max_per_minute: u64,
    /// Events skipped by the global cap since the last warning about it.
    capped_since_warning: u64,
    last_cap_warning: Option<Instant>,
}

impl WebhookOutput {
    /// Checks the configuration and starts the worker.
    pub fn start(config: &WebhookConfig) -> Result<WebhookOutput, OutputError> {
        let target = redacted_url(&config.url).ok_or_else(|| OutputError {
            key: "webhook.url".to_owned(),
            value: config.url.clone(),
            reason: "invalid URL; write http://host[:port]/path or https://host[:port]/path"
                .to_owned(),
        })?;

        let min_severity = match &config.min_severity {
            None => DEFAULT_MIN_SEVERITY,
            Some(value) => value.parse().map_err(|_| OutputError {
                key: "webhook.min_severity".to_owned(),
                value: value.clone(),
                reason: "unknown severity; use low, medium or high".to_owned(),
            })?,
        };

        let interval = positive_seconds(
            "webhook.interval_seconds",
            config.interval_seconds,
            DEFAULT_INTERVAL_SECONDS,
        )?;
        let timeout = positive_seconds(
            "webhook.timeout_seconds",
            config.timeout_seconds,
            DEFAULT_TIMEOUT_SECONDS,
        )?;
        let max_per_minute = match config.max_per_minute {
            None => DEFAULT_MAX_PER_MINUTE,
            Some(0) => {
                return Err(OutputError {
                    key: "webhook.max_per_minute".to_owned(),
                    value: "0".to_owned(),
                    reason: "must be at least 1 POST per minute".to_owned(),
                })
            }
            Some(max) => max,
        };

        let sink = WebhookSink {
            url: config.url.clone(),
            target: target.clone(),
            timeout_seconds: timeout,
            unreported_failures: 0,
            failures: 0,
            last_warning: None,
        };
        let queue = Queue::start("webhook", Box::new(sink))?;
        log::info!(
            "webhook: posting {min_severity} and higher events to {target}, one per source, \
             trail type and info per {interval} s, at most {max_per_minute} a minute"
        );

        Ok(WebhookOutput {
            queue,
            min_severity,
            limiter: RateLimiter::new(Duration::from_secs(interval), max_per_minute),
            max_per_minute,
            capped_since_warning: 0,
            last_cap_warning: None,
        })
    }

    /// Counts an event skipped by the global cap and warns at most once a minute.
    fn record_capped(&mut self) {
        self.queue.count_skipped();
        self.capped_since_warning += 1;

        let due = self
            .last_cap_warning
            .is_none_or(|last| last.elapsed() >= WARNING_INTERVAL);
        if due {
            log::warn!(
                "webhook: max_per_minute = {} reached; skipping events until the minute of \
                 packet time ends ({} skipped by the cap since the last warning)",
                self.max_per_minute,
                self.capped_since_warning
            );
            self.last_cap_warning = Some(Instant::now());
            self.capped_since_warning = 0;
        }
    }
}

impl Output for WebhookOutput {
    /// Queues a POST unless the event is below `min_severity` (ignored, not counted), its
    /// (source, trail type, info) was posted within the interval, or `max_per_minute` POSTs
    /// were queued in the current minute (both counted as skipped).
    fn send(&mut self, event: &Event) {
        if event.severity() < self.min_severity {
            return;
        }
        match self.limiter.admit(event) {
            Admission::Post => {}
            Admission::Repeat => {
                self.queue.count_skipped();
                return;
            }
            Admission::OverCap => {
                self.record_capped();
                return;
            }
        }

        let mut body = json_line_with_severity(event);
        body.pop();
        self.queue.push(body.into_bytes());
    }

    fn shutdown(&mut self, deadline: Duration) {
        self.queue.shutdown(deadline);
    }

    fn stats(&self) -> OutputStats {
        self.queue.stats()
    }
}

/// Sends each message as the body of one POST.
struct WebhookSink {
    url: String,
    /// The URL without credentials, path or query, which may contain tokens, for logs.
    target: String,
    timeout_seconds: u64,
    /// Failures since the last warning.
    unreported_failures: u64,
    /// Failures since the last successful POST.
    failures: u64,
    last_warning: Option<Instant>,
}

impl WebhookSink {
    /// Counts a failure and warns when the last warning is a minute old.
    fn record_failure(&mut self, cause: &str) {
        self.failures += 1;
        self.unreported_failures += 1;

        let due = self
            .last_warning
            .is_none_or(|last| last.elapsed() >= WARNING_INTERVAL);
        if due {
            let failures = failure_count(self.unreported_failures);
            log::warn!(
                "webhook: POST to {} failed: {cause} ({failures} since the last warning)",
                self.target
            );
            self.last_warning = Some(Instant::now());
            self.unreported_failures = 0;
        } else {
            log::debug!("webhook: POST to {} failed: {cause}", self.target);
        }
    }
}

impl Sink for WebhookSink {
    fn deliver(&mut self, message: &[u8], _control: &Control) -> bool {
        let response = minreq::post(&self.url)
            .with_header("Content-Type", "application/json")
            .with_header(
                "User-Agent",
                concat!("trailwatch-sensor/", env!("CARGO_PKG_VERSION")),
            )
            .with_timeout(self.timeout_seconds)
            .with_body(message.to_vec())
            .send();

        match response {
            Ok(response) if (200..300).contains(&response.status_code) => {
                if self.failures > 0 {
                    log::info!(
                        "webhook: POST to {} succeeded after {}",
                        self.target,
                        failure_count(self.failures)
                    );
                    self.failures = 0;
                }
                true
            }
            Ok(response) => {
                let cause = format!("HTTP {} {}", response.status_code, response.reason_phrase);
                self.record_failure(&cause);
                false
            }
            Err(error) => {
                self.record_failure(&error.to_string());
                false
            }
        }
    }
}

/// Returns "1 failure" or "N failures".
fn failure_count(count: u64) -> String {
    match count {
        1 => "1 failure".to_owned(),
        count => format!("{count} failures"),
    }
}

/// Returns `value`, or `default` when missing, after checking that it is at least 1.
fn positive_seconds(key: &str, value: Option<u64>, default: u64) -> Result<u64, OutputError> {
    match value {
        None => Ok(default),
        Some(0) => Err(OutputError {
            key: key.to_owned(),
            value: "0".to_owned(),
            reason: "must be at least 1 second".to_owned(),
        }),
        Some(seconds) => Ok(seconds),
    }
}

/// Returns `scheme://host[:port]` of an `http` or `https` URL, or `None` for another scheme or
/// a missing host. User name, password, path and query are left out.
fn redacted_url(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }

    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let host_and_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if host_and_port.is_empty() || host_and_port.starts_with(':') {
        return None;
    }

    Some(format!("{}://{host_and_port}", scheme.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_url_drops_secrets() {
        assert_eq!(
            redacted_url("https://user:pw@hooks.example/services/T0/B1/secret?x=1").as_deref(),
            Some("https://hooks.example")
        );
        assert_eq!(
            redacted_url("http://127.0.0.1:8080/hook").as_deref(),
            Some("http://127.0.0.1:8080")
        );
    }

    #[test]
    fn redacted_url_rejects_bad_urls() {
        assert_eq!(redacted_url("ftp://host/x"), None);
        assert_eq!(redacted_url("host/x"), None);
        assert_eq!(redacted_url("http:///x"), None);
        assert_eq!(redacted_url("http://:80/x"), None);
    }
}
