//! Syslog output: RFC 5424 messages whose MSG is the event as a CEF record.
//!
//! ```text
//! <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - CEF:0|trailwatch|...
//! ```
//!
//! - PRI is facility × 8 + syslog severity. The event's severity maps to notice (5) for low,
//!   warning (4) for medium and critical (2) for high.
//! - TIMESTAMP is the packet time in the local time zone with microseconds and the UTC offset,
//!   such as `2026-12-04T07:46:54.123456+01:00`.
//! - HOSTNAME is the sensor name. Characters outside printable ASCII become `_`, because RFC
//!   5424 allows only those.
//! - APP-NAME is the `app_name` key (default `trailwatch-sensor`), PROCID the process id, and
//!   MSGID the trail type (`DNS`, `URL`, ...). There is no structured data (`-`).
//! - MSG is the CEF record of [`crate::cef`], without a byte order mark.
//!
//! NOTE: RFC 5424 (section 6.4) requires a byte order mark before a MSG encoded in UTF-8. It is
//! left out because CEF parsers expect MSG to start with `CEF:`, so a MSG with non-ASCII text
//! is formally of unknown encoding.
//!
//! Over UDP each message is one datagram, cut to [`MAX_DATAGRAM_LEN`] bytes. Over TCP each
//! message is framed by octet counting (RFC 6587, section 3.4.1): its length in bytes, a space,
//! then the message.

use std::fmt::Write as _;
use std::time::Duration;

use chrono::{DateTime, Datelike, Local};
use serde::Deserialize;
use trailwatch_event::{Event, Severity, Timestamp};

use crate::cef::write_cef;
use crate::facility::Facility;
use crate::queue::Queue;
use crate::transport::{self, Transport};
use crate::{Context, Output, OutputError, OutputStats};

/// Maximum length of a UDP message. By RFC 5426 (section 3.2), every receiver SHOULD accept
/// datagrams of up to 2048 bytes. A longer message is cut, which usually shortens only the
/// trail because the CEF record puts it last.
pub const MAX_DATAGRAM_LEN: usize = 2048;

/// APP-NAME when the `app_name` key is missing.
const DEFAULT_APP_NAME: &str = "trailwatch-sensor";

/// Maximum lengths of the RFC 5424 header fields (section 6).
const MAX_HOSTNAME_LEN: usize = 255;
const MAX_APP_NAME_LEN: usize = 48;

/// The `[outputs.syslog]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogConfig {
    /// `host:port` of the syslog receiver.
    pub server: String,
    /// `udp` (the default) or `tcp`.
    #[serde(default = "default_transport")]
    pub transport: Transport,
    /// Facility name such as `local0` (default `user`).
    pub facility: Option<String>,
    /// APP-NAME of every message (default `trailwatch-sensor`): 1 to 48 printable ASCII
    /// characters.
    pub app_name: Option<String>,
}

fn default_transport() -> Transport {
    Transport::Udp
}

/// Sends each event to a syslog receiver.
pub struct SyslogOutput {
    queue: Queue,
    transport: Transport,
    facility: Facility,
    hostname: String,
    app_name: String,
    procid: String,
}

impl SyslogOutput {
    /// Checks the configuration, resolves the server address and starts the worker.
    pub fn start(config: &SyslogConfig, context: &Context) -> Result<SyslogOutput, OutputError> {
        let facility = match &config.facility {
            None => Facility::USER,
            Some(name) => name.parse().map_err(|()| OutputError {
                key: "syslog.facility".to_owned(),
                value: name.clone(),
                reason: format!("unknown facility; use one of {}", Facility::names()),
            })?,
        };

        let app_name = config
            .app_name
            .clone()
            .unwrap_or_else(|| DEFAULT_APP_NAME.to_owned());
        if app_name.is_empty()
            || app_name.len() > MAX_APP_NAME_LEN
            || !app_name.bytes().all(is_print_ascii)
        {
            return Err(OutputError {
                key: "syslog.app_name".to_owned(),
                value: app_name,
                reason: format!(
                    "must be 1 to {MAX_APP_NAME_LEN} printable ASCII characters without spaces"
                ),
            });
        }

        let address = transport::resolve("syslog.server", &config.server)?;
        let sink = transport::open_sink("syslog", "syslog.server", address, config.transport)?;
        let queue = Queue::start("syslog", sink)?;
        log::info!(
            "syslog: sending CEF over {} to {address}, facility {facility}",
            config.transport.as_str()
        );

        Ok(SyslogOutput {
            queue,
            transport: config.transport,
            facility,
            hostname: header_hostname(&context.sensor_name),
            app_name,
            procid: std::process::id().to_string(),
        })
    }

    /// Renders the RFC 5424 message of `event`, without framing.
    pub(crate) fn render(&self, event: &Event) -> String {
        let severity = event.severity();
        let priority = u32::from(self.facility.code()) * 8 + u32::from(syslog_severity(severity));
        let mut message = String::with_capacity(512);

        let _ = write!(message, "<{priority}>1 ");
        write_timestamp(event.time, &mut message);
        let _ = write!(
            message,
            " {} {} {} {} - ",
            self.hostname, self.app_name, self.procid, event.trail_type
        );
        write_cef(event, severity, &mut message);

        message
    }
}

impl Output for SyslogOutput {
    fn send(&mut self, event: &Event) {
        let mut message = self.render(event);

        let bytes = match self.transport {
            Transport::Udp => {
                truncate_message(&mut message, MAX_DATAGRAM_LEN);
                message.into_bytes()
            }
            Transport::Tcp => format!("{} {message}", message.len()).into_bytes(),
        };
        self.queue.push(bytes);
    }

    fn shutdown(&mut self, deadline: Duration) {
        self.queue.shutdown(deadline);
    }

    fn stats(&self) -> OutputStats {
        self.queue.stats()
    }
}

/// Returns the RFC 5424 severity code of an event severity.
const fn syslog_severity(severity: Severity) -> u8 {
    match severity {
        Severity::Low => 5,
        Severity::Medium => 4,
        Severity::High => 2,
    }
}

/// Tests for PRINTUSASCII of RFC 5424: `!` through `~`.
fn is_print_ascii(byte: u8) -> bool {
    (33..=126).contains(&byte)
}

/// Returns `name` as a HOSTNAME field: printable ASCII, at most 255 bytes, `-` when empty.
fn header_hostname(name: &str) -> String {
    let hostname: String = name
        .chars()
        .map(|c| match u8::try_from(c) {
            Ok(byte) if is_print_ascii(byte) => c,
            _ => '_',
        })
        .take(MAX_HOSTNAME_LEN)
        .collect();

    if hostname.is_empty() {
        "-".to_owned()
    } else {
        hostname
    }
}

/// Appends the TIMESTAMP field, or `-` for a time whose year has not four digits.
fn write_timestamp(time: Timestamp, out: &mut String) {
    let time = time.normalized();
    let local = DateTime::from_timestamp(time.secs, time.nanos)
        .map(|utc| utc.with_timezone(&Local))
        .filter(|local| (1..=9999).contains(&local.year()));

    match local {
        Some(local) => {
            let _ = write!(out, "{}", local.format("%Y-%m-%dT%H:%M:%S%.6f%:z"));
        }
        None => out.push('-'),
    }
}

/// Cuts `message` to at most `max_len` bytes, at a character boundary and never between a
/// backslash and the character it escapes.
fn truncate_message(message: &mut String, max_len: usize) {
    if message.len() <= max_len {
        return;
    }

    let mut end = max_len;
    while !message.is_char_boundary(end) {
        end -= 1;
    }

    let backslashes = message[..end]
        .bytes()
        .rev()
        .take_while(|&byte| byte == b'\\')
        .count();
    if backslashes % 2 == 1 {
        end -= 1;
    }

    message.truncate(end);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostname_replaces_spaces() {
        assert_eq!(header_hostname("edge 1/ü"), "edge_1/_");
        assert_eq!(header_hostname(""), "-");
        assert_eq!(header_hostname(&"a".repeat(300)).len(), MAX_HOSTNAME_LEN);
    }

    #[test]
    fn hostname_replaces_control_bytes() {
        for byte in (0x00..=0x1f_u8).chain([0x7f]) {
            let name = format!("a{}b", char::from(byte));

            assert_eq!(header_hostname(&name), "a_b", "byte {byte:#04x}");
        }
    }

    #[test]
    fn truncate_keeps_char_boundary() {
        let mut message = "abcé".to_owned();
        truncate_message(&mut message, 4);

        assert_eq!(message, "abc");
    }

    #[test]
    fn truncate_keeps_escape_whole() {
        let mut message = "ab\\=cd".to_owned();
        truncate_message(&mut message, 3);

        assert_eq!(message, "ab");
    }

    #[test]
    fn truncate_keeps_escaped_backslash() {
        let mut message = "ab\\\\cd".to_owned();
        truncate_message(&mut message, 4);

        assert_eq!(message, "ab\\\\");
    }

    #[test]
    fn short_message_is_unchanged() {
        let mut message = "short".to_owned();
        truncate_message(&mut message, MAX_DATAGRAM_LEN);

        assert_eq!(message, "short");
    }
}
