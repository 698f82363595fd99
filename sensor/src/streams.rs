//! Bounded buffers for application messages that span several TCP segments.
//!
//! The sensor does not reassemble whole TCP streams. Per direction of a connection it keeps
//! only the start of one application message that is not complete yet. Such a message is HTTP
//! request headers cut by a segment boundary, a TLS ClientHello spread over several segments,
//! or a DNS message whose length prefix promises more bytes. A buffer lives until the message
//! completes, the next segment does not continue it, it stays idle for [`STREAM_IDLE_SECS`], or
//! the table needs its room.

use std::collections::VecDeque;
use std::net::IpAddr;

use rustc_hash::FxHashMap;

/// Maximum number of connection directions with a pending message. Each costs at most
/// [`MAX_MESSAGE_BYTES`], and the table as a whole at most [`MAX_BUFFERED_BYTES`].
pub const MAX_STREAMS: usize = 4096;

/// Maximum bytes kept for one pending message: one full TLS record (16 KiB of payload plus its
/// 5-byte header) covers every ClientHello seen in practice, and HTTP request headers larger
/// than this are treated as complete with what arrived.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 + 5;

/// Maximum bytes buffered over all streams, so that a flood of half-sent requests costs a fixed
/// amount of memory (16 MiB) rather than `MAX_STREAMS * MAX_MESSAGE_BYTES`.
pub const MAX_BUFFERED_BYTES: usize = 16 * 1024 * 1024;

/// Seconds of packet time after which a pending message that got no continuation is dropped.
pub const STREAM_IDLE_SECS: i64 = 30;

/// One direction of a TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StreamKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
}

/// The application protocol a pending message was recognised as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    Http,
    Tls,
    DnsOverTcp,
}

/// The start of an incomplete message and the sequence number that continues it.
#[derive(Debug)]
pub struct Pending {
    pub kind: MessageKind,
    pub next_seq: u32,
    pub bytes: Vec<u8>,
    last_seen: i64,
    /// Park order, so that eviction finds the oldest entry without scanning the table.
    id: u64,
}

/// Outcome of offering a segment to [`StreamTable::continue_message`].
#[derive(Debug)]
pub enum Continuation {
    /// No message was pending on this direction.
    None,
    /// The segment continued a pending message, which is returned with the segment appended
    /// (up to [`MAX_MESSAGE_BYTES`]) and removed from the table.
    Joined(Pending),
    /// The segment repeats bytes that were already buffered (a retransmission): ignore it.
    Duplicate,
    /// The segment does not follow the pending message (loss or reordering): the pending bytes
    /// were dropped and the segment should be treated as the start of something new.
    Gap,
}

/// Counters of how the table was used and where it hit its bounds.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StreamStats {
    pub parked: u64,
    pub joined: u64,
    pub gaps: u64,
    pub expired: u64,
    /// Pending messages dropped to make room for a new one.
    pub evicted: u64,
    /// Messages cut at [`MAX_MESSAGE_BYTES`].
    pub capped: u64,
}

/// Pending messages by connection direction, bounded in count and bytes.
#[derive(Debug, Default)]
pub struct StreamTable {
    pending: FxHashMap<StreamKey, Pending>,
    /// Keys in park order with the id they were parked with. An entry whose key was since
    /// removed or parked again is stale and skipped; stale entries are compacted away once
    /// they outnumber the live ones.
    order: VecDeque<(StreamKey, u64)>,
    next_id: u64,
    buffered: usize,
    stats: StreamStats,
}

impl StreamTable {
    pub fn new() -> StreamTable {
        StreamTable::default()
    }

    pub fn stats(&self) -> StreamStats {
        self.stats
    }

    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Offers a segment with sequence number `seq` to the message pending on `key`, if any.
    pub fn continue_message(&mut self, key: &StreamKey, seq: u32, payload: &[u8]) -> Continuation {
        if self.pending.is_empty() {
            return Continuation::None;
        }
        let Some(mut pending) = self.pending.remove(key) else {
            return Continuation::None;
        };
        self.buffered -= pending.bytes.len();

        // Sequence numbers compare in serial-number arithmetic (RFC 1982): `a` is before `b`
        // when `b - a`, read as a signed 32-bit number, is positive.
        let end = seq.wrapping_add(payload.len() as u32);
        let already_seen = pending.next_seq.wrapping_sub(seq) as i32;
        let still_missing = end.wrapping_sub(pending.next_seq) as i32;

        if already_seen >= 0 && still_missing > 0 {
            // The segment starts at or before the expected byte and brings new bytes: append
            // the part not seen yet (all of it when it starts exactly at `next_seq`).
            let new_bytes = &payload[already_seen as usize..];
            let room = MAX_MESSAGE_BYTES.saturating_sub(pending.bytes.len());
            if new_bytes.len() > room {
                self.stats.capped += 1;
            }
            pending
                .bytes
                .extend_from_slice(&new_bytes[..new_bytes.len().min(room)]);
            pending.next_seq = end;
            self.stats.joined += 1;
            return Continuation::Joined(pending);
        }

        if already_seen >= 0 {
            // Every byte of the segment was seen already.
            self.buffered += pending.bytes.len();
            self.pending.insert(*key, pending);
            return Continuation::Duplicate;
        }

        self.stats.gaps += 1;
        Continuation::Gap
    }

    /// Keeps `bytes`, the start of an incomplete message, until the segment starting at
    /// `next_seq` arrives. Makes room first by dropping the oldest messages; `now` is the packet
    /// time in seconds.
    pub fn park(
        &mut self,
        key: StreamKey,
        kind: MessageKind,
        next_seq: u32,
        bytes: &[u8],
        now: i64,
    ) {
        let bytes = &bytes[..bytes.len().min(MAX_MESSAGE_BYTES)];
        if let Some(old) = self.pending.remove(&key) {
            self.buffered -= old.bytes.len();
        }
        while self.pending.len() >= MAX_STREAMS || self.buffered + bytes.len() > MAX_BUFFERED_BYTES
        {
            if !self.evict_oldest() {
                break;
            }
        }

        self.buffered += bytes.len();
        self.stats.parked += 1;
        let id = self.next_id;
        self.next_id += 1;
        let pending = Pending {
            kind,
            next_seq,
            bytes: bytes.to_vec(),
            last_seen: now,
            id,
        };
        self.pending.insert(key, pending);
        self.order.push_back((key, id));
        if self.order.len() > 2 * MAX_STREAMS {
            let pending = &self.pending;
            self.order
                .retain(|(key, id)| pending.get(key).is_some_and(|p| p.id == *id));
        }
    }

    /// Drops every pending message idle for more than [`STREAM_IDLE_SECS`] at packet time `now`.
    pub fn expire(&mut self, now: i64) {
        let before = self.pending.len();
        let mut freed = 0;
        self.pending.retain(|_, pending| {
            let keep = now - pending.last_seen <= STREAM_IDLE_SECS;
            if !keep {
                freed += pending.bytes.len();
            }
            keep
        });
        self.buffered -= freed;
        self.stats.expired += (before - self.pending.len()) as u64;
    }

    /// Drops all pending messages, for example between two capture files.
    pub fn clear(&mut self) {
        self.pending.clear();
        self.order.clear();
        self.buffered = 0;
    }

    /// Drops the entry parked longest ago. Entries are parked with the packet time of their
    /// last segment, so this is also the one idle longest.
    fn evict_oldest(&mut self) -> bool {
        while let Some((key, id)) = self.order.pop_front() {
            if self
                .pending
                .get(&key)
                .is_some_and(|pending| pending.id == id)
            {
                if let Some(pending) = self.pending.remove(&key) {
                    self.buffered -= pending.bytes.len();
                    self.stats.evicted += 1;
                }
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(port: u16) -> StreamKey {
        StreamKey {
            src: "192.0.2.1".parse().unwrap(),
            dst: "198.51.100.2".parse().unwrap(),
            src_port: port,
            dst_port: 80,
        }
    }

    #[test]
    fn continuation_joins_in_order() {
        let mut table = StreamTable::new();
        table.park(
            key(1000),
            MessageKind::Http,
            110,
            b"GET / HTTP/1.1\r\nHo",
            0,
        );

        let Continuation::Joined(pending) =
            table.continue_message(&key(1000), 110, b"st: a\r\n\r\n")
        else {
            panic!("segment at the expected sequence number must join");
        };
        assert_eq!(pending.bytes, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(pending.next_seq, 119);
        assert!(table.is_empty());
    }

    #[test]
    fn retransmission_is_duplicate() {
        let mut table = StreamTable::new();
        table.park(key(1000), MessageKind::Http, 110, b"GET / HT", 0);

        let result = table.continue_message(&key(1000), 102, b"GET / HT");
        assert!(matches!(result, Continuation::Duplicate));
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn overlapping_segment_appends_new_part() {
        let mut table = StreamTable::new();
        table.park(key(1000), MessageKind::Http, 108, b"GET / HT", 0);

        // Starts 4 bytes before the expected sequence number 108, repeating "/ HT".
        let result = table.continue_message(&key(1000), 104, b"/ HTTP/1.1");
        let Continuation::Joined(pending) = result else {
            panic!("expected a join")
        };
        assert_eq!(pending.bytes, b"GET / HTTP/1.1");
        assert_eq!(pending.next_seq, 114);
    }

    #[test]
    fn gap_drops_pending_message() {
        let mut table = StreamTable::new();
        table.park(key(1000), MessageKind::Tls, 500, &[0x16, 3, 1], 0);

        let result = table.continue_message(&key(1000), 900, b"more");
        assert!(matches!(result, Continuation::Gap));
        assert!(table.is_empty());
        assert_eq!(table.stats().gaps, 1);
    }

    #[test]
    fn sequence_wraparound_joins() {
        let mut table = StreamTable::new();
        table.park(key(1), MessageKind::DnsOverTcp, u32::MAX - 1, &[0, 40], 0);

        let result = table.continue_message(&key(1), u32::MAX - 1, &[1, 2, 3, 4]);
        let Continuation::Joined(pending) = result else {
            panic!("expected a join")
        };
        assert_eq!(pending.next_seq, 2);
    }

    #[test]
    fn message_capped_at_limit() {
        let mut table = StreamTable::new();
        let first = vec![b'a'; MAX_MESSAGE_BYTES - 10];
        table.park(key(1), MessageKind::Http, first.len() as u32, &first, 0);

        let result = table.continue_message(&key(1), (MAX_MESSAGE_BYTES - 10) as u32, &[b'b'; 100]);
        let Continuation::Joined(pending) = result else {
            panic!("expected a join")
        };
        assert_eq!(pending.bytes.len(), MAX_MESSAGE_BYTES);
        assert_eq!(table.stats().capped, 1);
    }

    #[test]
    fn table_bounded_by_count() {
        let mut table = StreamTable::new();

        // One old entry, then enough recent ones (all within the idle timeout) to overfill.
        table.park(key(0), MessageKind::Http, 3, b"GET", 0);
        for port in 1..(MAX_STREAMS as u16 + 10) {
            table.park(key(port), MessageKind::Http, 3, b"GET", 10);
        }

        assert_eq!(table.len(), MAX_STREAMS);
        assert_eq!(table.stats().evicted, 10);
        assert!(matches!(
            table.continue_message(&key(0), 3, b"x"),
            Continuation::None
        ));
    }

    #[test]
    fn idle_messages_expire() {
        let mut table = StreamTable::new();
        table.park(key(1), MessageKind::Http, 0, b"GET", 100);
        table.park(key(2), MessageKind::Http, 0, b"GET", 125);

        table.expire(100 + STREAM_IDLE_SECS + 1);
        assert_eq!(table.len(), 1);
        assert_eq!(table.stats().expired, 1);
    }
}
