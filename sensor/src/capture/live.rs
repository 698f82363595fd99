//! Live packet sources: network interfaces opened through libpcap.
//!
//! Every handle is non-blocking and is read only after `poll(2)` reports its file descriptor
//! readable or a timeout passes. With immediate mode a blocking read on a quiet link could
//! wait forever, and the daemon must wake up to flush summaries and to see signals.

use std::os::fd::AsFd;
use std::time::Duration;

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use pcap::{Active, Capture, Precision};
use trailwatch_wire::LinkType;

use super::{frame_time, Frame};
use crate::config::CaptureConfig;

/// Frames read from one handle before the next handle gets its turn, so a busy interface
/// cannot starve a quiet one. A handle that used its whole budget is read again without
/// waiting in `poll`, because libpcap may hold more frames in its ring buffer.
const FRAMES_PER_TURN: usize = 1024;

/// Longest time the kernel holds captured frames in a partly filled ring block before it hands
/// the block to the sensor (libpcap's read timeout), when immediate mode is off.
pub const BLOCK_TIMEOUT: Duration = Duration::from_millis(100);

/// A live capture that could not be opened or configured.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error(
        "cannot open interface {interface}: {message}; check that it exists (ip link) and that \
         the sensor runs as root or with CAP_NET_RAW"
    )]
    Open { interface: String, message: String },

    #[error(
        "interface {interface}: link type {dlt} ({name}) is not supported; capture on an \
         Ethernet interface or on \"any\""
    )]
    UnsupportedLinkType {
        interface: String,
        dlt: i32,
        name: String,
    },

    #[error(
        "interface {interface}: invalid BPF filter {filter:?}: {message}; write it in the \
         syntax of pcap-filter(7), for example \"not port 22\" or \"tcp or udp port 53\""
    )]
    Filter {
        interface: String,
        filter: String,
        message: String,
    },

    #[error(
        "invalid BPF filter {filter:?} (compiled for Ethernet, because no interface could be \
         opened): {message}; write it in the syntax of pcap-filter(7), for example \
         \"not port 22\" or \"tcp or udp port 53\""
    )]
    FilterWithoutInterface { filter: String, message: String },

    #[error("interface {interface}: cannot switch to non-blocking mode: {message}")]
    NonBlocking { interface: String, message: String },
}

/// libpcap's counters of one interface since it was opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceStats {
    pub interface: String,
    /// Packets the kernel passed to the handle (after the filter).
    pub received: u64,
    /// Packets dropped because the kernel buffer was full.
    pub dropped_kernel: u64,
    /// Packets dropped by the interface or its driver.
    pub dropped_interface: u64,
    /// Whether a read error stopped this handle.
    pub failed: bool,
}

struct Interface {
    name: String,
    capture: Capture<Active>,
    link: LinkType,
    /// Set after a read error; a failed handle is no longer polled or read.
    failed: bool,
    /// Last counters libpcap returned, kept for the handle that failed.
    last_stats: pcap::Stat,
}

/// Open capture handles, read by one thread.
///
/// One thread polls every handle, so per-source state (the throttle, TCP stream buffers) has
/// a single owner and needs no locks. The cost is that one core bounds the packet rate of all
/// interfaces together.
pub struct LiveCapture {
    interfaces: Vec<Interface>,
    /// Whether a handle used its whole read budget in the last [`LiveCapture::read`].
    backlog: bool,
}

impl LiveCapture {
    /// Opens every interface with the settings of `config`, applies its filter and puts the
    /// handles in non-blocking mode. Fails on the first interface that cannot be opened.
    pub fn open(interfaces: &[String], config: &CaptureConfig) -> Result<LiveCapture, LiveError> {
        let mut opened = Vec::with_capacity(interfaces.len());
        for name in interfaces {
            opened.push(open_one(name, config)?);
        }
        let mut live = LiveCapture {
            interfaces: opened,
            backlog: false,
        };
        live.set_filter(&config.filter)?;
        Ok(live)
    }

    /// Returns the interface names in the order they were opened.
    pub fn names(&self) -> Vec<&str> {
        self.interfaces.iter().map(|i| i.name.as_str()).collect()
    }

    /// Returns true when every handle failed, so nothing more can be captured.
    pub fn all_failed(&self) -> bool {
        self.interfaces.iter().all(|interface| interface.failed)
    }

    /// Compiles `filter` on every handle without setting it.
    pub fn check_filter(&self, filter: &str) -> Result<(), LiveError> {
        for interface in &self.interfaces {
            interface
                .capture
                .compile(filter, true)
                .map_err(|error| filter_error(interface, filter, error))?;
        }
        Ok(())
    }

    /// Compiles `filter` on every handle and then sets it on every handle, so an invalid
    /// filter changes none of them. An empty filter passes every packet.
    pub fn set_filter(&mut self, filter: &str) -> Result<(), LiveError> {
        self.check_filter(filter)?;
        for interface in &mut self.interfaces {
            let result = interface.capture.filter(filter, true);
            result.map_err(|error| filter_error(interface, filter, error))?;
        }
        Ok(())
    }

    /// Waits at most `timeout` for a handle to become readable. Returns at once when the last
    /// read left frames behind, and returns early (without an error) when a signal interrupts
    /// the wait, so the caller sees stop and reload requests promptly.
    pub fn wait(&self, timeout: Duration) -> nix::Result<()> {
        let timeout = if self.backlog {
            PollTimeout::ZERO
        } else {
            let millis = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
            PollTimeout::from(millis)
        };
        let mut fds: Vec<PollFd<'_>> = self
            .interfaces
            .iter()
            .filter(|interface| !interface.failed)
            .map(|interface| PollFd::new(interface.capture.as_fd(), PollFlags::POLLIN))
            .collect();
        match poll(&mut fds, timeout) {
            Ok(_) | Err(Errno::EINTR) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Reads what the kernel still holds, for at most `deadline`: frames in a partly filled
    /// ring block are handed over only after [`BLOCK_TIMEOUT`], so a stop that reads no more
    /// would leave them unread although libpcap counted them received. Returns once a wait
    /// longer than the block timeout brought nothing.
    pub fn drain(&mut self, deadline: Duration, mut on_frame: impl FnMut(LinkType, &Frame<'_>)) {
        let started = std::time::Instant::now();
        let mut quiet_since = std::time::Instant::now();
        while started.elapsed() < deadline && quiet_since.elapsed() <= BLOCK_TIMEOUT * 2 {
            if self.wait(BLOCK_TIMEOUT / 4).is_err() {
                return;
            }
            let mut frames = 0u64;
            self.read(|link, frame| {
                frames += 1;
                on_frame(link, frame);
            });
            if frames > 0 {
                quiet_since = std::time::Instant::now();
            }
        }
    }

    /// Reads the frames available on every handle, at most [`FRAMES_PER_TURN`] per handle, and
    /// passes each to `on_frame`. A read error marks its handle failed, logs why at error level
    /// and returns the interface name in the list of newly failed handles.
    pub fn read(&mut self, mut on_frame: impl FnMut(LinkType, &Frame<'_>)) -> Vec<String> {
        let mut newly_failed = Vec::new();
        self.backlog = false;
        for interface in self.interfaces.iter_mut().filter(|i| !i.failed) {
            let mut frames = 0;
            while frames < FRAMES_PER_TURN {
                match interface.capture.next_packet() {
                    Ok(packet) => {
                        frames += 1;
                        let frame = Frame {
                            time: frame_time(packet.header, Precision::Micro),
                            data: packet.data,
                            wire_len: packet.header.len,
                        };
                        on_frame(interface.link, &frame);
                    }
                    Err(pcap::Error::TimeoutExpired) => break,
                    Err(error) => {
                        log::error!(
                            "interface {}: capture stopped: {}; restart the sensor once the \
                             interface is back",
                            interface.name,
                            error_message(error)
                        );
                        interface.failed = true;
                        newly_failed.push(interface.name.clone());
                        break;
                    }
                }
            }
            if frames == FRAMES_PER_TURN {
                self.backlog = true;
            }
        }
        newly_failed
    }

    /// Returns libpcap's counters of every handle, in the order the interfaces were opened.
    pub fn stats(&mut self) -> Vec<InterfaceStats> {
        let mut all = Vec::with_capacity(self.interfaces.len());
        for interface in &mut self.interfaces {
            if !interface.failed {
                match interface.capture.stats() {
                    Ok(stats) => interface.last_stats = stats,
                    Err(error) => {
                        log::debug!("interface {}: no statistics: {error}", interface.name)
                    }
                }
            }
            let stats = interface.last_stats;
            all.push(InterfaceStats {
                interface: interface.name.clone(),
                received: u64::from(stats.received),
                dropped_kernel: u64::from(stats.dropped),
                dropped_interface: u64::from(stats.if_dropped),
                failed: interface.failed,
            });
        }
        all
    }
}

/// Compiles `filter` for Ethernet on a handle that captures nothing (`pcap_open_dead`), for
/// checking a filter when no interface can be opened.
pub fn check_filter_without_interface(filter: &str) -> Result<(), LiveError> {
    let filter_error = |error: pcap::Error| LiveError::FilterWithoutInterface {
        filter: filter.to_string(),
        message: error_message(error),
    };
    let capture = Capture::dead(pcap::Linktype::ETHERNET).map_err(filter_error)?;
    capture
        .compile(filter, true)
        .map(drop)
        .map_err(filter_error)
}

/// Opens one interface and checks that it exists, has a supported link type and can be put in
/// non-blocking mode. The filter is left to [`LiveCapture::set_filter`].
fn open_one(name: &str, config: &CaptureConfig) -> Result<Interface, LiveError> {
    let open_error = |error: pcap::Error| LiveError::Open {
        interface: name.to_string(),
        message: error_message(error),
    };
    // Bounded by MAX_BUFFER_MIB (2047), so the byte count fits in an i32.
    let buffer_bytes = (config.buffer_mib.min(crate::config::MAX_BUFFER_MIB) << 20) as i32;
    let capture = Capture::from_device(name)
        .map_err(open_error)?
        .promisc(config.promiscuous)
        .snaplen(i32::try_from(config.snaplen).unwrap_or(i32::MAX))
        .buffer_size(buffer_bytes)
        .immediate_mode(config.immediate)
        .timeout(BLOCK_TIMEOUT.as_millis() as i32)
        .precision(Precision::Micro)
        .open()
        .map_err(open_error)?;

    let datalink = capture.get_datalink();
    let Some(link) = LinkType::from_dlt(datalink.0) else {
        return Err(LiveError::UnsupportedLinkType {
            interface: name.to_string(),
            dlt: datalink.0,
            name: datalink
                .get_name()
                .unwrap_or_else(|_| "unknown".to_string()),
        });
    };

    let capture = capture
        .setnonblock()
        .map_err(|error| LiveError::NonBlocking {
            interface: name.to_string(),
            message: error_message(error),
        })?;
    Ok(Interface {
        name: name.to_string(),
        capture,
        link,
        failed: false,
        last_stats: pcap::Stat {
            received: 0,
            dropped: 0,
            if_dropped: 0,
        },
    })
}

fn filter_error(interface: &Interface, filter: &str, error: pcap::Error) -> LiveError {
    LiveError::Filter {
        interface: interface.name.clone(),
        filter: filter.to_string(),
        message: error_message(error),
    }
}

/// Returns libpcap's own message without the crate's "libpcap error: " prefix.
fn error_message(error: pcap::Error) -> String {
    match error {
        pcap::Error::PcapError(message) => message,
        other => other.to_string(),
    }
}
