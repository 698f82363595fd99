//! Packet, message and event counters, and their report at exit.

use std::fmt::Write as _;

use serde_json::{json, Map, Value};
use trailwatch_outputs::OutputStats;
use trailwatch_wire::SkipReason;

use crate::capture::live::InterfaceStats;
use crate::heuristics::TableStats;
use crate::streams::StreamStats;

/// Formats the periodic statistics of a live capture: one line per interface with libpcap's
/// counters since the handle was opened, one summary of the decode and event counters since
/// start, then one line per output with its counters since start.
pub fn live_lines(
    interfaces: &[InterfaceStats],
    counters: &Counters,
    outputs: &[OutputStats],
) -> Vec<String> {
    let mut lines = Vec::with_capacity(interfaces.len() + 1 + outputs.len());
    for interface in interfaces {
        let state = if interface.failed { " (failed)" } else { "" };
        lines.push(format!(
            "stats {}{state}: {} received, {} dropped by the kernel, {} dropped by the \
             interface",
            interface.interface,
            interface.received,
            interface.dropped_kernel,
            interface.dropped_interface
        ));
    }

    lines.push(format!(
        "stats: {} packets read, {} decoded, {} skipped, {} truncated; {} DNS ({} invalid), \
         {} HTTP, {} TLS SNI; {} heuristic findings; events {} written, {} suppressed, \
         {} summaries, {} ignored, {} write errors",
        counters.packets_read,
        counters.packets_decoded,
        counters.skipped_total(),
        counters.truncated_packets,
        counters.dns_messages,
        counters.dns_invalid,
        counters.http_requests,
        counters.tls_server_names,
        counters.heuristic_findings,
        counters.events_written,
        counters.events_suppressed,
        counters.summary_events,
        counters.events_ignored,
        counters.write_errors
    ));
    for output in outputs {
        lines.push(format!(
            "stats output {}: {} sent, {} dropped, {} pending, {} skipped",
            output.name, output.sent, output.dropped, output.pending, output.skipped
        ));
    }
    lines
}

/// Counters for one run of the sensor. Malformed input is counted here, never logged per packet.
#[derive(Debug, Clone)]
pub struct Counters {
    pub files_read: u64,
    pub files_failed: u64,
    pub packets_read: u64,
    pub packets_decoded: u64,
    /// Frames that did not decode, indexed by [`SkipReason::index`].
    pub skipped: [u64; SkipReason::ALL.len()],
    pub truncated_packets: u64,
    pub tunnelled_packets: u64,
    pub dns_messages: u64,
    pub dns_invalid: u64,
    pub http_requests: u64,
    pub tls_client_hellos: u64,
    pub tls_server_names: u64,
    /// Segments with more pipelined messages than one segment may cost; the rest were not read.
    pub messages_over_limit: u64,
    pub trail_hits: u64,
    /// Findings of the heuristics, before ignore rules and the throttle.
    pub heuristic_findings: u64,
    pub events_ignored: u64,
    pub events_written: u64,
    pub events_suppressed: u64,
    pub summary_events: u64,
    pub write_errors: u64,
    pub streams: StreamStats,
    /// Occupancy of the heuristic tables, as of the last [`crate::inspect::Inspector::finish`]
    /// or statistics line.
    pub heuristic_tables: Vec<TableStats>,
    pub trails_loaded: u64,
    /// New trail stores mapped while running.
    pub trail_reloads: u64,
    pub trails_load_ms: f64,
    pub process_ms: f64,
}

impl Default for Counters {
    fn default() -> Counters {
        Counters {
            files_read: 0,
            files_failed: 0,
            packets_read: 0,
            packets_decoded: 0,
            skipped: [0; SkipReason::ALL.len()],
            truncated_packets: 0,
            tunnelled_packets: 0,
            dns_messages: 0,
            dns_invalid: 0,
            http_requests: 0,
            tls_client_hellos: 0,
            tls_server_names: 0,
            messages_over_limit: 0,
            trail_hits: 0,
            heuristic_findings: 0,
            events_ignored: 0,
            events_written: 0,
            events_suppressed: 0,
            summary_events: 0,
            write_errors: 0,
            streams: StreamStats::default(),
            heuristic_tables: Vec::new(),
            trails_loaded: 0,
            trail_reloads: 0,
            trails_load_ms: 0.0,
            process_ms: 0.0,
        }
    }
}

impl Counters {
    pub fn count_skip(&mut self, reason: SkipReason) {
        self.skipped[reason.index()] += 1;
    }

    pub fn skipped_total(&self) -> u64 {
        self.skipped.iter().sum()
    }

    /// Formats the human-readable report printed to standard error at exit.
    pub fn report(&self) -> String {
        let mut out = String::new();
        let rate = if self.process_ms > 0.0 {
            self.packets_read as f64 / (self.process_ms / 1000.0)
        } else {
            0.0
        };
        let _ = writeln!(
            out,
            "packets: {} read, {} decoded, {} skipped ({:.0} packets/s)",
            self.packets_read,
            self.packets_decoded,
            self.skipped_total(),
            rate
        );
        for reason in SkipReason::ALL {
            let count = self.skipped[reason.index()];
            if count > 0 {
                let _ = writeln!(out, "  skipped {}: {count}", reason.name());
            }
        }
        if self.truncated_packets > 0 {
            let _ = writeln!(
                out,
                "  truncated but decoded (snapshot length or bad length field): {}",
                self.truncated_packets
            );
        }
        let _ = writeln!(
            out,
            "messages: {} DNS ({} invalid), {} HTTP requests, {} TLS ClientHellos ({} with SNI)",
            self.dns_messages,
            self.dns_invalid,
            self.http_requests,
            self.tls_client_hellos,
            self.tls_server_names
        );
        let _ = writeln!(out, "heuristics: {} findings", self.heuristic_findings);
        for table in &self.heuristic_tables {
            if table.evictions > 0 {
                let _ = writeln!(
                    out,
                    "  table {}: {} of {} entries, {} evictions",
                    table.name, table.len, table.capacity, table.evictions
                );
            }
        }
        let _ = writeln!(
            out,
            "events: {} written, {} repeats suppressed, {} summary events, {} ignored, \
             {} write errors",
            self.events_written,
            self.events_suppressed,
            self.summary_events,
            self.events_ignored,
            self.write_errors
        );
        out
    }

    /// Returns all counters as one JSON object (`--stats-json`).
    pub fn to_json(&self) -> Value {
        let mut skipped = Map::new();
        for reason in SkipReason::ALL {
            skipped.insert(
                reason.name().to_string(),
                json!(self.skipped[reason.index()]),
            );
        }
        let tables: Map<String, Value> = self
            .heuristic_tables
            .iter()
            .map(|table| {
                let value = json!({
                    "len": table.len,
                    "capacity": table.capacity,
                    "evictions": table.evictions,
                });
                (table.name.to_string(), value)
            })
            .collect();
        json!({
            "files_read": self.files_read,
            "files_failed": self.files_failed,
            "packets_read": self.packets_read,
            "packets_decoded": self.packets_decoded,
            "packets_skipped": self.skipped_total(),
            "skipped": skipped,
            "truncated_packets": self.truncated_packets,
            "tunnelled_packets": self.tunnelled_packets,
            "dns_messages": self.dns_messages,
            "dns_invalid": self.dns_invalid,
            "http_requests": self.http_requests,
            "tls_client_hellos": self.tls_client_hellos,
            "tls_server_names": self.tls_server_names,
            "messages_over_limit": self.messages_over_limit,
            "trail_hits": self.trail_hits,
            "heuristic_findings": self.heuristic_findings,
            "heuristic_tables": tables,
            "events_ignored": self.events_ignored,
            "events_written": self.events_written,
            "events_suppressed": self.events_suppressed,
            "summary_events": self.summary_events,
            "write_errors": self.write_errors,
            "streams": {
                "parked": self.streams.parked,
                "joined": self.streams.joined,
                "gaps": self.streams.gaps,
                "expired": self.streams.expired,
                "evicted": self.streams.evicted,
                "capped": self.streams.capped,
            },
            "trails_loaded": self.trails_loaded,
            "trail_reloads": self.trail_reloads,
            "trails_load_ms": self.trails_load_ms,
            "process_ms": self.process_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(name: &'static str, sent: u64) -> OutputStats {
        OutputStats {
            name,
            sent,
            dropped: 1,
            pending: 2,
            skipped: 3,
        }
    }

    #[test]
    fn live_lines_one_per_output() {
        let interfaces = [InterfaceStats {
            interface: "eth0".to_string(),
            received: 10,
            dropped_kernel: 0,
            dropped_interface: 0,
            failed: false,
        }];
        let outputs = [output("syslog", 7), output("delivery", 9)];

        let lines = live_lines(&interfaces, &Counters::default(), &outputs);

        assert_eq!(lines.len(), 4, "{lines:#?}");
        assert!(
            lines[0].starts_with("stats eth0: 10 received"),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].starts_with("stats: 0 packets read"),
            "{}",
            lines[1]
        );
        assert!(!lines[1].contains("syslog"), "{}", lines[1]);
        assert_eq!(
            lines[2],
            "stats output syslog: 7 sent, 1 dropped, 2 pending, 3 skipped"
        );
        assert_eq!(
            lines[3],
            "stats output delivery: 9 sent, 1 dropped, 2 pending, 3 skipped"
        );
    }
}
