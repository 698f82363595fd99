//! Writing Ethernet pcap files through libpcap with fixed, caller-chosen timestamps.

use std::path::{Path, PathBuf};

/// Start of every generated capture: 2026-01-15 12:00:00 UTC, in seconds since the Unix epoch.
/// A fixed start keeps output byte-identical between runs.
pub const CAPTURE_EPOCH_SECS: u64 = 1_768_478_400;

/// A failure to create or write a capture file.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("capture path {0} is not valid UTF-8, which libpcap requires")]
    NonUtf8Path(PathBuf),
    #[error("failed to open libpcap dead handle: {0}")]
    Open(pcap::Error),
    #[error("failed to create capture file {path}: {source}")]
    Create { path: PathBuf, source: pcap::Error },
    #[error("failed to write capture file {path}: {source}")]
    Write { path: PathBuf, source: pcap::Error },
}

/// Totals of a finished capture file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CaptureTotals {
    pub packets: u64,
    /// Sum of frame lengths, without the pcap record headers.
    pub frame_bytes: u64,
}

/// A pcap savefile with link type Ethernet and snapshot length 65,535.
pub struct CaptureWriter {
    savefile: pcap::Savefile,
    path: PathBuf,
    totals: CaptureTotals,
}

impl CaptureWriter {
    /// Creates (or truncates) `path`. libpcap writes to standard output when the path is `-`.
    pub fn create(path: &Path) -> Result<CaptureWriter, CaptureError> {
        if path.to_str().is_none() {
            return Err(CaptureError::NonUtf8Path(path.to_path_buf()));
        }

        let dead = pcap::Capture::dead(pcap::Linktype::ETHERNET).map_err(CaptureError::Open)?;
        let savefile = dead.savefile(path).map_err(|source| CaptureError::Create {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(CaptureWriter {
            savefile,
            path: path.to_path_buf(),
            totals: CaptureTotals::default(),
        })
    }

    /// Appends one frame stamped `micros` microseconds after [`CAPTURE_EPOCH_SECS`]. Frames
    /// longer than `u32::MAX` bytes cannot occur here, since the builders stop at 65,535.
    pub fn write(&mut self, micros: u64, frame: &[u8]) {
        let length = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        let header = pcap::PacketHeader {
            ts: libc::timeval {
                tv_sec: (CAPTURE_EPOCH_SECS + micros / 1_000_000) as libc::time_t,
                tv_usec: (micros % 1_000_000) as libc::suseconds_t,
            },
            caplen: length,
            len: length,
        };
        self.savefile.write(&pcap::Packet::new(&header, frame));

        self.totals.packets += 1;
        self.totals.frame_bytes += frame.len() as u64;
    }

    /// Flushes the file and returns its totals. libpcap reports write failures only here.
    pub fn finish(mut self) -> Result<CaptureTotals, CaptureError> {
        let path = self.path.clone();
        self.savefile
            .flush()
            .map_err(|source| CaptureError::Write { path, source })?;
        Ok(self.totals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_frames_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.pcap");
        let mut writer = CaptureWriter::create(&path).unwrap();
        writer.write(1_500_000, &[0xAB; 60]);
        writer.write(2_000_001, &[0xCD; 64]);
        let totals = writer.finish().unwrap();
        assert_eq!(
            totals,
            CaptureTotals {
                packets: 2,
                frame_bytes: 124
            }
        );

        let mut reader = pcap::Capture::from_file(&path).unwrap();
        let first = reader.next_packet().unwrap();
        assert_eq!(first.header.ts.tv_sec as u64, CAPTURE_EPOCH_SECS + 1);
        assert_eq!(first.header.ts.tv_usec, 500_000);
        assert_eq!(first.data, &[0xAB; 60]);
    }

    #[test]
    fn missing_directory_is_reported() {
        let result = CaptureWriter::create(Path::new("/nonexistent-dir/x.pcap"));
        assert!(matches!(result, Err(CaptureError::Create { .. })));
    }
}
