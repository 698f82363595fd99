//! Packet sources: capture files ([`offline`]) and network interfaces ([`live`]), both read
//! through libpcap and delivered as [`Frame`]s.

pub mod live;
pub mod offline;

use pcap::{PacketHeader, Precision};
use trailwatch_event::Timestamp;

pub use offline::{read_file, CaptureError, FileReport, ReadEnd};

/// One captured frame as libpcap delivered it.
pub struct Frame<'a> {
    pub time: Timestamp,
    pub data: &'a [u8],
    /// Length of the frame on the wire, which is more than `data.len()` when the snapshot
    /// length cut it.
    pub wire_len: u32,
}

/// Converts a libpcap record time to a [`Timestamp`]. With [`Precision::Nano`] requested,
/// libpcap stores nanoseconds in the `tv_usec` field, otherwise microseconds.
pub(crate) fn frame_time(header: &PacketHeader, precision: Precision) -> Timestamp {
    // `time_t` and `suseconds_t` are 32 bits on armv7 and 64 bits on x86_64 and aarch64, so
    // the conversion is needed on some targets only.
    #[allow(clippy::useless_conversion)]
    let (secs, fraction) = (i64::from(header.ts.tv_sec), i64::from(header.ts.tv_usec));
    let nanos = match precision {
        Precision::Nano => fraction.clamp(0, 999_999_999),
        Precision::Micro => fraction.clamp(0, 999_999) * 1000,
    };
    Timestamp {
        secs,
        nanos: nanos as u32,
    }
}
