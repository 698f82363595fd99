//! The event record: one trail hit on one packet, or a summary of suppressed repeats.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use crate::time::Timestamp;

/// Transport protocol of the packet, rendered as Maltrail writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proto {
    Tcp,
    Udp,
    Icmp,
    Icmpv6,
    /// Any other IP protocol number, rendered as the decimal number.
    ///
    /// Build values with [`Proto::from_ip_number`] so that 6 becomes [`Proto::Tcp`]: a literal
    /// `Other(6)` renders as `6` and does not compare equal to `Tcp`.
    Other(u8),
}

impl Proto {
    /// Maps an IP protocol number (IPv4 protocol or IPv6 next header) to its variant.
    pub const fn from_ip_number(number: u8) -> Proto {
        match number {
            1 => Proto::Icmp,
            6 => Proto::Tcp,
            17 => Proto::Udp,
            58 => Proto::Icmpv6,
            other => Proto::Other(other),
        }
    }

    /// Returns the IP protocol number.
    pub const fn ip_number(self) -> u8 {
        match self {
            Proto::Icmp => 1,
            Proto::Tcp => 6,
            Proto::Udp => 17,
            Proto::Icmpv6 => 58,
            Proto::Other(number) => number,
        }
    }
}

impl fmt::Display for Proto {
    /// Writes `TCP`, `UDP`, `ICMP`, `ICMPv6` or the protocol number.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Proto::Tcp => f.write_str("TCP"),
            Proto::Udp => f.write_str("UDP"),
            Proto::Icmp => f.write_str("ICMP"),
            Proto::Icmpv6 => f.write_str("ICMPv6"),
            Proto::Other(number) => write!(f, "{number}"),
        }
    }
}

/// Kind of trail that matched, rendered in the log's TYPE field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrailType {
    /// A domain name seen in a DNS query.
    Dns,
    /// An IP address.
    Ip,
    /// An IP address with a port.
    IpPort,
    /// A URL (host and path) seen in an HTTP request.
    Url,
    /// A hit in an HTTP request that fits none of the narrower URL, UA and PATH types.
    Http,
    /// An HTTP User-Agent header.
    Ua,
    /// An HTTP request path.
    Path,
    /// A destination port.
    Port,
}

impl TrailType {
    /// Returns the name written in the log: `DNS`, `IP`, `IPORT`, `URL`, `HTTP`, `UA`, `PATH`
    /// or `PORT`.
    pub const fn as_str(self) -> &'static str {
        match self {
            TrailType::Dns => "DNS",
            TrailType::Ip => "IP",
            TrailType::IpPort => "IPORT",
            TrailType::Url => "URL",
            TrailType::Http => "HTTP",
            TrailType::Ua => "UA",
            TrailType::Path => "PATH",
            TrailType::Port => "PORT",
        }
    }
}

impl fmt::Display for TrailType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One event the sensor emits: a trail hit on one packet, or a summary of suppressed repeats.
///
/// The Maltrail log line ([`Event::to_log_line`]) and the JSON object
/// ([`Event::to_json_line`]) are two renderings of this record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Capture time of the packet (for a summary, of the last suppressed packet).
    pub time: Timestamp,
    /// Name of the sensor, shared by all its events.
    pub sensor: Arc<str>,
    pub src_ip: IpAddr,
    /// Source port, `None` for protocols without ports. Port 0 renders like `None`.
    pub src_port: Option<u16>,
    pub dst_ip: IpAddr,
    /// Destination port, `None` for protocols without ports. Port 0 renders like `None`.
    pub dst_port: Option<u16>,
    pub proto: Proto,
    pub trail_type: TrailType,
    /// The value that matched, such as the queried domain name or the URL.
    pub trail: String,
    /// Description from the trail list, such as the malware family.
    pub info: String,
    /// Source of the trail, such as the feed name.
    pub reference: String,
    /// 0 for a normal event; N > 0 for a summary of N suppressed repeats.
    pub repeats: u64,
}

impl Event {
    /// Overwrites `self` with a copy of `source`, reusing the string buffers already allocated.
    pub(crate) fn copy_from(&mut self, source: &Event) {
        self.time = source.time;
        self.sensor = Arc::clone(&source.sensor);
        self.src_ip = source.src_ip;
        self.src_port = source.src_port;
        self.dst_ip = source.dst_ip;
        self.dst_port = source.dst_port;
        self.proto = source.proto;
        self.trail_type = source.trail_type;
        self.trail.clone_from(&source.trail);
        self.info.clone_from(&source.info);
        self.reference.clone_from(&source.reference);
        self.repeats = source.repeats;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proto_numbers_round_trip() {
        for number in 0..=u8::MAX {
            assert_eq!(Proto::from_ip_number(number).ip_number(), number);
        }
    }

    #[test]
    fn proto_renders_maltrail_names() {
        let rendered: Vec<String> = [
            Proto::Tcp,
            Proto::Udp,
            Proto::Icmp,
            Proto::Icmpv6,
            Proto::Other(47),
        ]
        .iter()
        .map(Proto::to_string)
        .collect();

        assert_eq!(rendered, ["TCP", "UDP", "ICMP", "ICMPv6", "47"]);
    }

    #[test]
    fn trail_type_renders_maltrail_names() {
        let all = [
            TrailType::Dns,
            TrailType::Ip,
            TrailType::IpPort,
            TrailType::Url,
            TrailType::Http,
            TrailType::Ua,
            TrailType::Path,
            TrailType::Port,
        ];
        let rendered: Vec<&str> = all.iter().map(|kind| kind.as_str()).collect();

        assert_eq!(
            rendered,
            ["DNS", "IP", "IPORT", "URL", "HTTP", "UA", "PATH", "PORT"]
        );
    }
}
