//! Per-packet inspection: decode a frame, match its addresses, find DNS messages, HTTP
//! requests and TLS ClientHellos in its payload, and hand every trail hit to the event sink.
//! The same packets, ARP frames, DNS messages and HTTP requests go to the heuristics, whose
//! findings take the same path to the sink.

use std::net::IpAddr;

use trailwatch_event::{Proto, Timestamp};
use trailwatch_trailset::TrailSet;
use trailwatch_wire::{arp, decode, dns, http, tls, Decoded, LinkType, SkipReason};

use crate::capture::Frame;
use crate::heuristics::dns::{builtin_listed_answer, listed_answer_from_info};
use crate::heuristics::{Finding, FlowPacket, Heuristics, HeuristicsConfig};
use crate::matching;
use crate::output::{EventSink, PacketMeta};
use crate::stats::Counters;
use crate::streams::{Continuation, MessageKind, StreamKey, StreamTable, STREAM_IDLE_SECS};

/// UDP and TCP ports whose payload is read as DNS: DNS itself (53), multicast DNS (5353),
/// LLMNR (5355, same wire format) and 8053, a common alternative port that tshark also decodes
/// as DNS. DNS on any other port is not looked at.
pub const DNS_PORTS: [u16; 4] = [53, 5353, 5355, 8053];

const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
const IPPROTO_ICMP: u8 = 1;
const IPPROTO_ICMPV6: u8 = 58;

/// Number of packets between two sweeps of idle stream buffers.
const STREAM_SWEEP_EVERY: u64 = 1 << 16;

/// Maximum number of pipelined HTTP requests or DNS messages read from one segment, so that a
/// segment of many tiny messages costs bounded work.
const MAX_MESSAGES_PER_SEGMENT: usize = 64;

/// The sensor's packet path. One inspector owns its stream buffers, so frames of one capture
/// must reach it in capture order.
pub struct Inspector {
    trails: TrailSet,
    streams: StreamTable,
    sink: EventSink,
    heuristics: Heuristics,
    /// Findings of the current packet, kept to reuse the allocation.
    findings: Vec<Finding>,
    /// Wall-clock second of the last sweep started by [`Inspector::tick`].
    last_idle_sweep: i64,
    pub counters: Counters,
}

impl Inspector {
    /// Creates an inspector with the default heuristics; [`Inspector::set_heuristics`]
    /// applies a configured `[heuristics]` table.
    pub fn new(trails: TrailSet, sink: EventSink) -> Inspector {
        Inspector {
            trails,
            streams: StreamTable::new(),
            sink,
            heuristics: Heuristics::new(&HeuristicsConfig::default()),
            findings: Vec::new(),
            last_idle_sweep: i64::MIN,
            counters: Counters::default(),
        }
    }

    pub fn trails(&self) -> &TrailSet {
        &self.trails
    }

    /// Swaps in a new trail set between two frames; stream buffers and throttle state stay.
    pub fn replace_trails(&mut self, trails: TrailSet) {
        self.trails = trails;
        self.counters.trails_loaded = self.trails.len() as u64;
        self.counters.trail_reloads += 1;
    }

    /// Applies a `[heuristics]` table, validated before. A changed table restarts every
    /// detector with empty state.
    pub fn set_heuristics(&mut self, config: &HeuristicsConfig) {
        self.heuristics.reconfigure(config);
    }

    /// Returns the heuristics, to read their configuration and table occupancy.
    pub fn heuristics(&self) -> &Heuristics {
        &self.heuristics
    }

    /// Inspects one captured frame.
    pub fn on_frame(&mut self, link: LinkType, frame: &Frame<'_>) {
        self.counters.packets_read += 1;
        self.sink.tick(frame.time, &mut self.counters);
        if self
            .counters
            .packets_read
            .is_multiple_of(STREAM_SWEEP_EVERY)
        {
            self.streams.expire(frame.time.secs);
        }

        let packet = match decode(link, frame.data) {
            Ok(packet) => packet,
            Err(reason) => {
                self.counters.count_skip(reason);
                if reason == SkipReason::NotIp && link == LinkType::Ethernet {
                    self.inspect_arp(frame);
                }
                return;
            }
        };
        self.counters.packets_decoded += 1;
        if packet.truncated {
            self.counters.truncated_packets += 1;
        }

        let meta = packet_meta(frame.time, &packet);
        self.match_addresses(&meta, &packet);
        if self.heuristics.wants_packets() {
            self.run_flow_heuristics(link, frame, &meta, &packet);
        }

        match packet.protocol {
            IPPROTO_UDP => self.inspect_udp(&meta, packet.payload),
            IPPROTO_TCP => self.inspect_tcp(&meta, &packet),
            _ => {}
        }
    }

    /// Runs the time-driven work between packets on a live capture: throttle summaries whose
    /// window ended by `now` (the wall clock), and, at most once per [`STREAM_IDLE_SECS`], the
    /// sweep of idle stream buffers. Without it a quiet link would hold summaries back until
    /// the next packet.
    pub fn tick(&mut self, now: Timestamp) {
        self.sink.tick(now, &mut self.counters);
        self.heuristics.tick(now.secs);
        if now.secs.saturating_sub(self.last_idle_sweep) >= STREAM_IDLE_SECS {
            self.last_idle_sweep = now.secs;
            self.streams.expire(now.secs);
        }
    }

    /// Returns the event sink, to change its rules and outputs between two frames.
    pub fn sink_mut(&mut self) -> &mut EventSink {
        &mut self.sink
    }

    /// Returns the event sink, to read its output counters.
    pub fn sink(&self) -> &EventSink {
        &self.sink
    }

    /// Starts a throttle with window `window`, writing the pending summaries first.
    pub fn set_throttle_window(&mut self, window: std::time::Duration) {
        self.sink.set_throttle_window(window, &mut self.counters);
    }

    /// Writes pending summaries and clears per-file state; call after the last frame.
    pub fn finish(&mut self) {
        self.counters.streams = self.streams.stats();
        self.counters.heuristic_tables = self.heuristics.tables();
        self.sink.finish(&mut self.counters);
    }

    /// Clears stream buffers between two capture files, whose TCP sequence numbers are
    /// unrelated, and writes the pending repeat summaries, because the next file's packet times
    /// need not follow this file's. Heuristic state stays, so a capture split into several
    /// files (`tcpdump -C`) is judged as one.
    pub fn end_of_file(&mut self) {
        self.streams.clear();
        self.counters.streams = self.streams.stats();
        self.counters.heuristic_tables = self.heuristics.tables();
        self.sink.finish(&mut self.counters);
    }

    /// Hands an ARP frame to the spoofing heuristics. Its event has the sender as source, the
    /// target as destination and protocol 0, because ARP is not IP.
    fn inspect_arp(&mut self, frame: &Frame<'_>) {
        let Some(packet) = arp::parse_ethernet(frame.data) else {
            return;
        };
        self.heuristics.on_arp(
            frame.time.secs,
            &packet,
            self.trails.whitelist(),
            &mut self.findings,
        );
        let meta = PacketMeta {
            time: frame.time,
            src_ip: IpAddr::V4(packet.sender_ip),
            src_port: None,
            dst_ip: IpAddr::V4(packet.target_ip),
            dst_port: None,
            proto: Proto::Other(0),
        };
        self.emit_findings(&meta);
    }

    fn run_flow_heuristics(
        &mut self,
        link: LinkType,
        frame: &Frame<'_>,
        meta: &PacketMeta,
        packet: &Decoded<'_>,
    ) {
        // Inside a tunnel the Ethernet source is the tunnel endpoint's, not the packet's.
        let src_mac = if link == LinkType::Ethernet && packet.tunnels().is_empty() {
            arp::ethernet_source(frame.data)
        } else {
            None
        };
        let flow = FlowPacket {
            time: frame.time,
            src: packet.src,
            dst: packet.dst,
            src_port: packet.src_port,
            dst_port: packet.dst_port,
            protocol: packet.protocol,
            tcp_flags: packet.tcp.map(|tcp| tcp.flags),
            src_mac,
        };
        self.heuristics
            .on_packet(&flow, self.trails.whitelist(), &mut self.findings);
        self.emit_findings(meta);
    }

    /// Writes the findings collected for the packet `meta` describes.
    fn emit_findings(&mut self, meta: &PacketMeta) {
        if self.findings.is_empty() {
            return;
        }
        let mut findings = std::mem::take(&mut self.findings);
        for finding in findings.drain(..) {
            self.sink.emit_finding(meta, finding, &mut self.counters);
        }
        self.findings = findings;
    }

    fn match_addresses(&mut self, meta: &PacketMeta, packet: &Decoded<'_>) {
        for (ip, port) in [(meta.src_ip, meta.src_port), (meta.dst_ip, meta.dst_port)] {
            let (address, with_port) = matching::endpoint(&self.trails, ip, port);
            for detection in [address, with_port].into_iter().flatten() {
                self.sink
                    .emit(meta, detection, &self.trails, &mut self.counters);
            }
        }

        // Addresses of the tunnels the packet arrived through: a tunnel endpoint on a trail is
        // reported with the tunnel's own endpoints and no ports.
        let tunnels = packet.tunnels();
        if !tunnels.is_empty() {
            self.counters.tunnelled_packets += 1;
        }
        for &(outer_src, outer_dst) in tunnels {
            let outer = PacketMeta {
                src_ip: outer_src,
                dst_ip: outer_dst,
                src_port: None,
                dst_port: None,
                ..*meta
            };
            for ip in [outer_src, outer_dst] {
                if let Some(detection) = matching::address(&self.trails, ip) {
                    self.sink
                        .emit(&outer, detection, &self.trails, &mut self.counters);
                }
            }
        }
    }

    fn inspect_udp(&mut self, meta: &PacketMeta, payload: &[u8]) {
        if is_dns_port(meta.src_port) || is_dns_port(meta.dst_port) {
            self.inspect_dns_message(meta, payload);
        }
    }

    fn inspect_dns_message(&mut self, meta: &PacketMeta, message: &[u8]) {
        let message = match dns::parse(message) {
            Ok(message) => message,
            Err(_) => {
                self.counters.dns_invalid += 1;
                return;
            }
        };
        self.counters.dns_messages += 1;
        self.run_dns_heuristics(meta, &message);

        // Queries carry the names clients ask for. Responses repeat the question, so matching
        // them too would report each lookup twice.
        if message.is_response {
            return;
        }
        for question in &message.questions {
            if let Some(detection) = matching::domain(&self.trails, question.name.as_str()) {
                self.sink
                    .emit(meta, detection, &self.trails, &mut self.counters);
            }
        }
    }

    /// Hands each question of a query, or of a response with its rcode and answer addresses,
    /// to the DNS heuristics. The client is the query's source or the response's destination.
    fn run_dns_heuristics(&mut self, meta: &PacketMeta, message: &dns::Message) {
        let Some(dns) = self.heuristics.dns() else {
            return;
        };
        let trails = &self.trails;
        let whitelist = trails.whitelist();
        let now = meta.time.secs;
        // An answer address is a sinkhole or parking service when a trail lists it with such
        // an info (`sinkhole microsoft (malware)`), or when the built-in list has it.
        let mut listed_answer = |address: IpAddr| {
            matching::address(trails, address)
                .and_then(|detection| listed_answer_from_info(trails.info(detection.source)))
                .or_else(|| builtin_listed_answer(address))
        };
        for question in &message.questions {
            let name = question.name.as_str();
            let whitelisted = whitelist.contains_domain(name);
            if message.is_response {
                let answers = &message.answer_addrs;
                let (client, rcode, out) = (meta.dst_ip, message.rcode, &mut self.findings);
                let lookup = &mut listed_answer;
                dns.on_response_with(now, client, name, rcode, answers, whitelisted, lookup, out);
            } else {
                let (client, qtype, out) = (meta.src_ip, question.qtype, &mut self.findings);
                dns.on_query(now, client, name, qtype, whitelisted, out);
            }
        }
        self.emit_findings(meta);
    }

    fn inspect_tcp(&mut self, meta: &PacketMeta, packet: &Decoded<'_>) {
        let payload = packet.payload;
        if payload.is_empty() {
            return;
        }
        let Some(tcp) = packet.tcp else { return };
        let key = StreamKey {
            src: meta.src_ip,
            dst: meta.dst_ip,
            src_port: meta.src_port.unwrap_or(0),
            dst_port: meta.dst_port.unwrap_or(0),
        };
        let segment_end = tcp.seq.wrapping_add(payload.len() as u32);

        match self.streams.continue_message(&key, tcp.seq, payload) {
            Continuation::Joined(pending) => {
                self.scan_stream(
                    meta,
                    key,
                    Some(pending.kind),
                    &pending.bytes,
                    pending.next_seq,
                );
            }
            Continuation::Duplicate => {}
            Continuation::None | Continuation::Gap => {
                self.scan_stream(meta, key, None, payload, segment_end);
            }
        }
    }

    /// Reads the application messages at the start of `bytes`, which end at sequence number
    /// `end_seq`. A message cut short is parked until the next segment arrives.
    fn scan_stream(
        &mut self,
        meta: &PacketMeta,
        key: StreamKey,
        kind: Option<MessageKind>,
        bytes: &[u8],
        end_seq: u32,
    ) {
        let is_dns = kind == Some(MessageKind::DnsOverTcp)
            || (kind.is_none() && (is_dns_port(meta.src_port) || is_dns_port(meta.dst_port)));
        if is_dns {
            self.scan_dns_over_tcp(meta, key, bytes, end_seq);
            return;
        }

        let mut rest = bytes;
        for _ in 0..MAX_MESSAGES_PER_SEGMENT {
            if http::starts_like_request(rest) {
                match http::parse_request(rest) {
                    http::Parse::Complete(request) => {
                        self.counters.http_requests += 1;
                        if request.headers_truncated {
                            self.counters.messages_over_limit += 1;
                        }
                        let body_start = request.header_len.min(rest.len());
                        let body_len = request.content_length.unwrap_or(0);
                        let body_end = (body_start as u64).saturating_add(body_len);
                        let body_end = body_end.min(rest.len() as u64) as usize;
                        self.inspect_http_request(meta, &request, &rest[body_start..body_end]);
                        let body = request.content_length.unwrap_or(0);
                        let consumed = request.header_len as u64 + body;
                        if consumed >= rest.len() as u64 {
                            return;
                        }
                        rest = &rest[consumed as usize..];
                    }
                    http::Parse::Partial => {
                        self.park(key, MessageKind::Http, end_seq, rest, meta.time);
                        return;
                    }
                    http::Parse::LineTooLong => {
                        self.counters.messages_over_limit += 1;
                        return;
                    }
                    http::Parse::NotHttp => return,
                }
            } else if http::starts_like_response(rest) {
                // NOTE: a response head split over two segments is not parked, so the
                // response heuristics miss it; only the first segment is read.
                if let http::ResponseParse::Complete(response) = http::parse_response(rest) {
                    let body = &rest[response.header_len.min(rest.len())..];
                    self.run_http_response_heuristics(meta, &response, body);
                }
                return;
            } else if tls::starts_like_tls_handshake(rest) {
                self.inspect_tls_record(meta, key, rest, end_seq);
                return;
            } else if http::could_start_request(rest) {
                // A first segment of only "G" or "PO" hides nothing yet, but the request
                // it starts would be missed if these bytes were dropped.
                self.park(key, MessageKind::Http, end_seq, rest, meta.time);
                return;
            } else if tls::could_start_tls_handshake(rest) {
                self.park(key, MessageKind::Tls, end_seq, rest, meta.time);
                return;
            } else {
                return;
            }
        }
        self.counters.messages_over_limit += 1;
    }

    fn inspect_tls_record(&mut self, meta: &PacketMeta, key: StreamKey, bytes: &[u8], end: u32) {
        let mut name_buffer = [0u8; 255];
        match tls::client_hello_sni_lowercase(bytes, &mut name_buffer) {
            tls::Sni::Found(name) => {
                self.counters.tls_client_hellos += 1;
                self.counters.tls_server_names += 1;
                self.inspect_server_name(meta, name);
            }
            tls::Sni::NoSni => self.counters.tls_client_hellos += 1,
            tls::Sni::Incomplete { .. } => {
                self.park(key, MessageKind::Tls, end, bytes, meta.time);
            }
            tls::Sni::NotClientHello => {}
        }
    }

    fn scan_dns_over_tcp(&mut self, meta: &PacketMeta, key: StreamKey, bytes: &[u8], end: u32) {
        let mut messages = dns::split_tcp_stream(bytes);
        for message in messages.by_ref().take(MAX_MESSAGES_PER_SEGMENT) {
            self.inspect_dns_message(meta, message);
        }
        let remaining = messages.remainder().len();
        if messages
            .next_message_len()
            .is_some_and(|len| len <= remaining)
        {
            // More whole messages follow than one segment may cost; they are not read.
            self.counters.messages_over_limit += 1;
            return;
        }
        let consumed = messages.consumed();
        if consumed < bytes.len() {
            self.park(
                key,
                MessageKind::DnsOverTcp,
                end,
                &bytes[consumed..],
                meta.time,
            );
        }
    }

    fn park(&mut self, key: StreamKey, kind: MessageKind, end: u32, bytes: &[u8], time: Timestamp) {
        self.streams.park(key, kind, end, bytes, time.secs);
    }

    fn inspect_http_request(
        &mut self,
        meta: &PacketMeta,
        request: &http::Request<'_>,
        body: &[u8],
    ) {
        // A proxy request names the host in its target, and then the target wins over the
        // Host header (RFC 9112 section 3.2.2). CONNECT names only `host:port`. Other requests
        // name the host in the Host header, and without one, URL trails are matched against
        // the destination address. The target is read from its exact bytes, because
        // `request.path` ends before the first byte that is not UTF-8.
        let target = matching::target_text(request.raw_path);
        let (target_host, path) = if request.method.eq_ignore_ascii_case("CONNECT") {
            (Some(target.as_ref()), "")
        } else {
            match matching::split_absolute_target(&target) {
                Some((authority, path)) => (Some(authority), path),
                None => (None, target.as_ref()),
            }
        };
        let mut host_buffer = [0u8; 255];
        let host = target_host
            .or(request.host)
            .and_then(|host| http::host_for_matching(host, &mut host_buffer));
        self.run_http_heuristics(meta, host, request, body);

        let address_text;
        let host = match host {
            Some(host) => {
                match host.parse::<IpAddr>() {
                    Ok(ip) if ip != meta.dst_ip => {
                        if let Some(detection) = matching::address(&self.trails, ip) {
                            self.sink
                                .emit(meta, detection, &self.trails, &mut self.counters);
                        }
                    }
                    Ok(_) => {}
                    Err(_) => {
                        if let Some(detection) = matching::domain(&self.trails, host) {
                            self.sink
                                .emit(meta, detection, &self.trails, &mut self.counters);
                        }
                    }
                }
                host
            }
            None => {
                address_text = meta.dst_ip.to_string();
                address_text.as_str()
            }
        };

        if let Some(detection) = matching::url(&self.trails, host, path) {
            self.sink
                .emit(meta, detection, &self.trails, &mut self.counters);
        }
    }

    /// Hands one request and the start of its body to the HTTP heuristics. `host` is the
    /// lower-case host it names.
    fn run_http_heuristics(
        &mut self,
        meta: &PacketMeta,
        host: Option<&str>,
        request: &http::Request<'_>,
        body: &[u8],
    ) {
        let Some(http) = self.heuristics.http() else {
            return;
        };
        let whitelist = self.trails.whitelist();
        let whitelisted = whitelist.contains_ip(meta.src_ip)
            || host.is_some_and(|host| whitelist.contains_domain(host));
        let (now, client, server) = (meta.time.secs, meta.src_ip, meta.dst_ip);
        let out = &mut self.findings;
        http.on_request(now, client, server, host, request, whitelisted, out);
        http.on_request_body(now, client, server, host, request, body, whitelisted, out);
        self.emit_findings(meta);
    }

    /// Hands one response head and the body bytes of its segment to the HTTP heuristics. The
    /// host of the request it answers is not tracked, so it is passed as unknown.
    fn run_http_response_heuristics(
        &mut self,
        meta: &PacketMeta,
        response: &http::Response<'_>,
        body: &[u8],
    ) {
        let Some(http) = self.heuristics.http() else {
            return;
        };
        let whitelisted = self.trails.whitelist().contains_ip(meta.src_ip);
        let (now, server, client) = (meta.time.secs, meta.src_ip, meta.dst_ip);
        let out = &mut self.findings;
        http.on_response(now, server, client, None, response, body, whitelisted, out);
        self.emit_findings(meta);
    }

    /// Matches a TLS server name, already lower-cased.
    fn inspect_server_name(&mut self, meta: &PacketMeta, name: &str) {
        if let Some(detection) = matching::domain(&self.trails, name) {
            self.sink
                .emit(meta, detection, &self.trails, &mut self.counters);
        }
    }
}

fn is_dns_port(port: Option<u16>) -> bool {
    port.is_some_and(|port| DNS_PORTS.contains(&port))
}

fn packet_meta(time: Timestamp, packet: &Decoded<'_>) -> PacketMeta {
    let proto = match packet.protocol {
        IPPROTO_TCP => Proto::Tcp,
        IPPROTO_UDP => Proto::Udp,
        IPPROTO_ICMP => Proto::Icmp,
        IPPROTO_ICMPV6 => Proto::Icmpv6,
        other => Proto::Other(other),
    };
    let port = |port: u16| (port != 0).then_some(port);
    PacketMeta {
        time,
        src_ip: packet.src,
        src_port: port(packet.src_port),
        dst_ip: packet.dst,
        dst_port: port(packet.dst_port),
        proto,
    }
}
