//! The trailwatch event record and its outputs.
//!
//! An [`Event`] is one trail hit on one packet (or a summary of suppressed repeats). It renders
//! as a Maltrail-compatible log line ([`Event::to_log_line`]), which [`parse_log_line`] splits
//! back into fields, and as a JSON object ([`Event::to_json_line`]). [`LogWriter`] appends both
//! to daily files, and [`Throttle`] turns runs of repeated events into one summary each.

mod event;
mod json;
mod log_line;
mod parse;
mod severity;
mod throttle;
mod time;
mod writer;

pub use event::{Event, Proto, TrailType};
pub use parse::{parse_log_line, LogLine, ParseError, FIELD_COUNT};
pub use severity::{ParseSeverityError, Severity};
pub use throttle::{Throttle, Verdict};
pub use time::Timestamp;
pub use writer::{LogError, LogWriter, WriterStats};
