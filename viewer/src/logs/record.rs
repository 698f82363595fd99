//! The JSON and CSV form of one event, as the API returns it.

use super::fields::LineView;
use super::severity::Severity;
use serde::Serialize;

/// One event as returned by the API. A `-` in a port field becomes `null`; the info of a
/// summary line is split into the original info and `repeats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventRecord {
    /// Local time as written in the log, `YYYY-MM-DD HH:MM:SS.ffffff`.
    pub time: String,
    pub sensor: String,
    pub src_ip: String,
    pub src_port: Option<u16>,
    pub dst_ip: String,
    pub dst_port: Option<u16>,
    pub proto: String,
    #[serde(rename = "type")]
    pub trail_type: String,
    pub trail: String,
    pub info: String,
    pub reference: String,
    pub severity: Severity,
    pub repeats: u64,
}

/// Column names of the CSV export, in the order of [`EventRecord::write_csv`].
pub const CSV_HEADER: &str =
    "time,sensor,src_ip,src_port,dst_ip,dst_port,proto,type,trail,info,reference,severity,repeats\n";

impl EventRecord {
    pub fn from_view(line: &LineView) -> EventRecord {
        let (info, repeats) = line.info_and_repeats();
        EventRecord {
            time: line.time.to_string(),
            sensor: line.sensor.to_string(),
            src_ip: line.src_ip.to_string(),
            src_port: line.src_port.parse().ok(),
            dst_ip: line.dst_ip.to_string(),
            dst_port: line.dst_port.parse().ok(),
            proto: line.proto.to_string(),
            trail_type: line.trail_type.to_string(),
            trail: line.trail.to_string(),
            info: info.to_string(),
            reference: line.reference.to_string(),
            severity: Severity::classify(&line.trail_type, info, &line.reference),
            repeats,
        }
    }

    /// Appends the record as one CSV row (RFC 4180 quoting) to `out`.
    pub fn write_csv(&self, out: &mut String) {
        let port = |port: Option<u16>| port.map(|p| p.to_string()).unwrap_or_default();
        let fields = [
            self.time.as_str(),
            &self.sensor,
            &self.src_ip,
            &port(self.src_port),
            &self.dst_ip,
            &port(self.dst_port),
            &self.proto,
            &self.trail_type,
            &self.trail,
            &self.info,
            &self.reference,
            self.severity.as_str(),
            &self.repeats.to_string(),
        ];
        for (position, field) in fields.iter().enumerate() {
            if position > 0 {
                out.push(',');
            }
            push_csv_field(out, field);
        }
        out.push('\n');
    }
}

impl Serialize for Severity {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Quotes a field when it contains a comma, quote or line break. A field that a spreadsheet
/// would run as a formula (leading `=`, `+`, `@`, tab or CR, or `-` followed by more text) gets
/// a leading `'`, because trails and info come from network traffic.
fn push_csv_field(out: &mut String, field: &str) {
    let formula = field.starts_with(['=', '+', '@', '\t', '\r'])
        || (field.starts_with('-') && field.len() > 1);
    let needs_quotes = field.contains([',', '"', '\n', '\r']) || formula;

    if !needs_quotes {
        out.push_str(field);
        return;
    }
    out.push('"');
    if formula {
        out.push('\'');
    }
    out.push_str(&field.replace('"', "\"\""));
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_line_splits_repeats() {
        let line = LineView::parse(
            "\"2026-01-15 12:00:00.000000\" s1 10.0.0.1 - 10.0.0.2 53 UDP DNS a.test \
             \"known attacker (3 repeats suppressed)\" feed",
        )
        .unwrap();
        let record = EventRecord::from_view(&line);

        assert_eq!(record.info, "known attacker");
        assert_eq!(record.repeats, 3);
        assert_eq!(record.src_port, None);
        // Bad-reputation words such as "attacker" are low under the shared severity rules.
        assert_eq!(record.severity, Severity::Low);
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let mut out = String::new();
        push_csv_field(&mut out, "a,\"b\"");
        out.push('|');
        push_csv_field(&mut out, "=HYPERLINK(1)");
        out.push('|');
        push_csv_field(&mut out, "-");

        assert_eq!(out, "\"a,\"\"b\"\"\"|\"'=HYPERLINK(1)\"|-");
    }
}
