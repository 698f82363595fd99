//! The path of a detection from trail hit to log line: ignore rules, repeat throttling, the
//! daily log files, the console and the outputs to other systems.

use std::io::Write as _;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use log::warn;
use trailwatch_event::{Event, LogWriter, Proto, Throttle, Timestamp, TrailType, Verdict};
use trailwatch_outputs::{OutputStats, Outputs};
use trailwatch_trailset::{SourceId, TrailSet};

use crate::heuristics::{Finding, REFERENCE};
use crate::ignore::IgnoreList;
use crate::stats::Counters;

/// Maximum number of (source, trail, destination) keys the throttle tracks. Past it, the oldest
/// key is written out as a summary and forgotten, so a flood of distinct hits costs bounded
/// memory and loses no count. A key holds its event (trail field at most
/// [`crate::matching::MAX_URL_TRAIL_BYTES`], info and reference of a few dozen bytes), so this
/// bounds the throttle at an estimated 12 MiB.
pub const THROTTLE_MAX_KEYS: usize = 16_384;

/// A write error is logged for the first failure and then once per this many failures, so a
/// full disk does not flood the error log it may share.
const WRITE_ERROR_LOG_EVERY: u64 = 1000;

/// The endpoints and time of the packet an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketMeta {
    pub time: Timestamp,
    pub src_ip: IpAddr,
    pub src_port: Option<u16>,
    pub dst_ip: IpAddr,
    pub dst_port: Option<u16>,
    pub proto: Proto,
}

/// A trail hit before it becomes an event: what matched, rendered as the log's trail field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    pub trail_type: TrailType,
    pub trail: String,
    pub source: SourceId,
}

/// Destination of events: ignore rules, the throttle, the log writer, the console and the
/// outputs.
pub struct EventSink {
    sensor: Arc<str>,
    ignore: IgnoreList,
    throttle: Throttle,
    throttle_window: Duration,
    writer: LogWriter,
    console: bool,
    outputs: Outputs,
    last_expiry: i64,
}

impl EventSink {
    pub fn new(
        sensor: &str,
        ignore: IgnoreList,
        throttle_window: Duration,
        writer: LogWriter,
        console: bool,
    ) -> EventSink {
        EventSink {
            sensor: Arc::from(sensor),
            ignore,
            throttle: Throttle::new(throttle_window, THROTTLE_MAX_KEYS),
            throttle_window,
            writer,
            console,
            outputs: Outputs::default(),
            last_expiry: i64::MIN,
        }
    }

    /// Replaces the outputs and returns the previous ones, which the caller shuts down.
    pub fn replace_outputs(&mut self, outputs: Outputs) -> Outputs {
        std::mem::replace(&mut self.outputs, outputs)
    }

    /// Shuts the outputs down, giving them at most `deadline` to deliver what they queued.
    pub fn shutdown_outputs(&mut self, deadline: Duration) {
        self.outputs.shutdown(deadline);
    }

    /// Returns the counters of every output, in configuration order.
    pub fn output_stats(&self) -> Vec<OutputStats> {
        self.outputs.stats()
    }

    /// Replaces the ignore rules; later detections are checked against the new ones.
    pub fn set_ignore(&mut self, ignore: IgnoreList) {
        self.ignore = ignore;
    }

    /// Sets the sensor name of later events.
    pub fn set_sensor_name(&mut self, sensor: &str) {
        self.sensor = Arc::from(sensor);
    }

    /// Replaces the log writer; the old one's files close when it is dropped.
    pub fn set_writer(&mut self, writer: LogWriter) {
        self.writer = writer;
    }

    /// Starts a throttle with a new window after writing every pending summary, so no count
    /// is lost. Does nothing when the window is unchanged.
    pub fn set_throttle_window(&mut self, window: Duration, counters: &mut Counters) {
        if window == self.throttle_window {
            return;
        }
        self.finish(counters);
        self.throttle = Throttle::new(window, THROTTLE_MAX_KEYS);
        self.throttle_window = window;
    }

    /// Turns a detection on `packet` into an event and writes it unless an ignore rule drops it
    /// or the throttle counts it as a repeat.
    pub fn emit(
        &mut self,
        packet: &PacketMeta,
        detection: Detection,
        trails: &TrailSet,
        counters: &mut Counters,
    ) {
        counters.trail_hits += 1;
        if self.ignore.matches(
            packet.src_ip,
            packet.src_port,
            packet.dst_ip,
            packet.dst_port,
        ) {
            counters.events_ignored += 1;
            return;
        }

        let event = Event {
            time: packet.time,
            sensor: Arc::clone(&self.sensor),
            src_ip: packet.src_ip,
            src_port: packet.src_port,
            dst_ip: packet.dst_ip,
            dst_port: packet.dst_port,
            proto: packet.proto,
            trail_type: detection.trail_type,
            trail: detection.trail,
            info: trails.info(detection.source).to_string(),
            reference: trails.reference(detection.source).to_string(),
            repeats: 0,
        };
        match self.throttle.check(&event) {
            Verdict::Emit => self.write(&event, counters),
            Verdict::Suppress => counters.events_suppressed += 1,
        }
    }

    /// Turns a heuristic finding about `packet` into an event with the finding's own info and
    /// reference [`REFERENCE`], and writes it unless an ignore rule drops it or the throttle
    /// counts it as a repeat.
    pub fn emit_finding(&mut self, packet: &PacketMeta, finding: Finding, counters: &mut Counters) {
        counters.heuristic_findings += 1;
        if self.ignore.matches(
            packet.src_ip,
            packet.src_port,
            packet.dst_ip,
            packet.dst_port,
        ) {
            counters.events_ignored += 1;
            return;
        }

        let event = Event {
            time: packet.time,
            sensor: Arc::clone(&self.sensor),
            src_ip: packet.src_ip,
            src_port: packet.src_port,
            dst_ip: packet.dst_ip,
            dst_port: packet.dst_port,
            proto: packet.proto,
            trail_type: finding.trail_type,
            trail: finding.trail,
            info: finding.info.into_owned(),
            reference: REFERENCE.to_string(),
            repeats: 0,
        };
        match self.throttle.check(&event) {
            Verdict::Emit => self.write(&event, counters),
            Verdict::Suppress => counters.events_suppressed += 1,
        }
    }

    /// Writes the summaries of throttle windows that ended before `now`, a packet time or, on
    /// a quiet link, the wall clock. Cheap to call per packet: it does work at most once per
    /// second of the times it is given.
    pub fn tick(&mut self, now: Timestamp, counters: &mut Counters) {
        if now.secs <= self.last_expiry {
            return;
        }
        self.last_expiry = now.secs;
        for summary in self.throttle.expire(now) {
            counters.summary_events += 1;
            self.write(&summary, counters);
        }
    }

    /// Writes every pending summary; called once at exit.
    pub fn finish(&mut self, counters: &mut Counters) {
        for summary in self.throttle.flush() {
            counters.summary_events += 1;
            self.write(&summary, counters);
        }
    }

    /// Writes `event` to the console and the log, and hands it to the outputs also when the
    /// log write failed, so a full disk does not cost the remote copies.
    fn write(&mut self, event: &Event, counters: &mut Counters) {
        if self.console {
            let line = event.to_log_line();
            let mut stdout = std::io::stdout().lock();
            // A closed standard output (`| head`) must not stop the sensor or lose log lines.
            let _ = stdout.write_all(line.as_bytes());
        }
        match self.writer.write(event) {
            Ok(()) => counters.events_written += 1,
            Err(error) => {
                counters.write_errors += 1;
                if counters.write_errors % WRITE_ERROR_LOG_EVERY == 1 {
                    warn!(
                        "cannot write event to the log ({error}); {} write errors so far, \
                         the sensor keeps running and retries with the next event",
                        counters.write_errors
                    );
                }
            }
        }
        self.outputs.send(event);
    }
}
