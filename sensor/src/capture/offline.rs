//! Offline packet sources: pcap and pcapng files read through libpcap.

use std::path::{Path, PathBuf};

use pcap::{Capture, Offline, Precision};
use trailwatch_wire::LinkType;

use super::{frame_time, Frame};

/// A capture file that could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("cannot open {}: {message}; expected a pcap or pcapng capture file", path.display())]
    Open { path: PathBuf, message: String },

    #[error(
        "{}: link type {dlt} ({name}) is not supported; supported link types are Ethernet, \
         BSD loopback, raw IPv4/IPv6, Linux cooked (SLL, SLL2), NFLOG and PPP",
        path.display()
    )]
    UnsupportedLinkType {
        path: PathBuf,
        dlt: i32,
        name: String,
    },
}

/// End state of reading one file that was opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadEnd {
    /// Every record was read.
    Complete,
    /// The file ends in the middle of a record; every complete record before it was read.
    Truncated(String),
    /// libpcap stopped with another error (for example a pcapng block it rejects).
    Failed(String),
    /// `should_stop` returned true (a stop signal arrived) before the end of the file.
    Stopped,
}

/// Summary of reading one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    pub packets: u64,
    pub link: LinkType,
    pub end: ReadEnd,
}

/// Reads every record of `path` ("-" is standard input) and passes each frame to `on_frame`,
/// until the end of the file or until `should_stop` returns true. `should_stop` is checked
/// before each record and after a read error, because a stop signal interrupts a blocked read.
///
/// Timestamps keep nanosecond precision for nanosecond files and are exact for microsecond
/// files. An error that happens after the file was opened ends the read with
/// [`ReadEnd::Truncated`] or [`ReadEnd::Failed`] instead of an `Err`, because the frames before
/// it were already delivered.
pub fn read_file(
    path: &Path,
    should_stop: impl Fn() -> bool,
    mut on_frame: impl FnMut(LinkType, &Frame<'_>),
) -> Result<FileReport, CaptureError> {
    let mut capture = open(path)?;
    let datalink = capture.get_datalink();
    let Some(link) = LinkType::from_dlt(datalink.0) else {
        return Err(CaptureError::UnsupportedLinkType {
            path: path.to_path_buf(),
            dlt: datalink.0,
            name: datalink
                .get_name()
                .unwrap_or_else(|_| "unknown".to_string()),
        });
    };

    let mut packets = 0u64;
    let end = loop {
        if should_stop() {
            break ReadEnd::Stopped;
        }
        match capture.next_packet() {
            Ok(packet) => {
                packets += 1;
                let frame = Frame {
                    time: frame_time(packet.header, Precision::Nano),
                    data: packet.data,
                    wire_len: packet.header.len,
                };
                on_frame(link, &frame);
            }
            Err(pcap::Error::NoMorePackets) => break ReadEnd::Complete,
            Err(_) if should_stop() => break ReadEnd::Stopped,
            Err(pcap::Error::PcapError(message)) if message.contains("truncated") => {
                break ReadEnd::Truncated(message)
            }
            Err(error) => break ReadEnd::Failed(error.to_string()),
        }
    };

    Ok(FileReport { packets, link, end })
}

/// Opens `path` as a capture file, with the operating system's message for a missing file.
pub(crate) fn open(path: &Path) -> Result<Capture<Offline>, CaptureError> {
    let open_error = |message: String| CaptureError::Open {
        path: path.to_path_buf(),
        message,
    };

    // libpcap reads standard input when the name is "-". Any other name must be a file, and
    // checking it first gives the operating system's message instead of libpcap's generic one.
    if path != Path::new("-") {
        std::fs::metadata(path).map_err(|error| open_error(error.to_string()))?;
    }

    Capture::from_file_with_precision(path, Precision::Nano).map_err(|error| match error {
        pcap::Error::PcapError(message) => open_error(message),
        other => open_error(other.to_string()),
    })
}
