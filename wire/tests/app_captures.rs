//! Replays the transport payloads of real captures through the DNS, HTTP and TLS parsers and
//! compares the names they find with the ground truth in each capture's `FILE.expect.txt`.
//!
//! The captures are not part of the repository, so each test is skipped with a message when
//! [`CAPTURES_DIR`] is missing. Only Ethernet and BSD NULL captures are replayed here, because
//! the frame decoder has its own tests. TCP payloads are joined per direction in sequence
//! order, as the sensor's stream buffers do, before the parsers see them.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use trailwatch_wire::{dns, http, tls};

const CAPTURES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/captures");

/// UDP and TCP ports on which payloads are read as DNS, the ports tshark decodes as DNS.
const DNS_PORTS: [u16; 3] = [53, 5353, 8053];

const LINKTYPE_NULL: u32 = 0;
const LINKTYPE_ETHERNET: u32 = 1;

// ---------------------------------------------------------------------------------------------
// Capture files

/// One captured frame with the link type of its interface.
struct Frame<'a> {
    linktype: u32,
    data: &'a [u8],
}

/// Reads the frames of a pcap (micro- or nanosecond, either byte order) or pcapng file. A
/// record cut short at the end of the file ends the list.
fn read_frames(file: &[u8]) -> Vec<Frame<'_>> {
    match file.get(..4) {
        Some([0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1]) => read_pcap(file, Order::Little),
        Some([0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d]) => read_pcap(file, Order::Big),
        Some([0x0a, 0x0d, 0x0d, 0x0a]) => read_pcapng(file),
        _ => panic!("not a pcap or pcapng file"),
    }
}

/// Byte order of a capture file's header fields, which is the order of the host that wrote it.
#[derive(Clone, Copy)]
enum Order {
    Little,
    Big,
}

impl Order {
    fn u16(self, bytes: &[u8], at: usize) -> Option<u16> {
        let field = bytes.get(at..at + 2)?.try_into().ok()?;
        Some(match self {
            Order::Little => u16::from_le_bytes(field),
            Order::Big => u16::from_be_bytes(field),
        })
    }

    fn u32(self, bytes: &[u8], at: usize) -> Option<u32> {
        let field = bytes.get(at..at + 4)?.try_into().ok()?;
        Some(match self {
            Order::Little => u32::from_le_bytes(field),
            Order::Big => u32::from_be_bytes(field),
        })
    }
}

/// pcap: a 24-byte file header with the link type at offset 20, then records of a 16-byte
/// header (seconds, sub-seconds, captured length, original length) and the frame.
fn read_pcap(file: &[u8], order: Order) -> Vec<Frame<'_>> {
    let linktype = order.u32(file, 20).expect("pcap file header");
    let mut frames = Vec::new();
    let mut pos = 24;
    while let Some(captured_len) = order.u32(file, pos + 8) {
        let start = pos + 16;
        let Some(data) = file.get(start..start + captured_len as usize) else {
            break;
        };
        frames.push(Frame { linktype, data });
        pos = start + captured_len as usize;
    }
    frames
}

/// pcapng: blocks of type, total length, body, total length. A Section Header Block sets the
/// byte order and starts a new list of interfaces, an Interface Description Block adds one,
/// and an Enhanced Packet Block carries a frame. Other blocks are skipped.
fn read_pcapng(file: &[u8]) -> Vec<Frame<'_>> {
    const SECTION_HEADER: u32 = 0x0a0d_0d0a;
    const INTERFACE_DESCRIPTION: u32 = 1;
    const ENHANCED_PACKET: u32 = 6;

    let mut order = Order::Little;
    let mut linktypes: Vec<u32> = Vec::new();
    let mut frames = Vec::new();
    let mut pos = 0;
    while let Some(block_type) = order.u32(file, pos) {
        // The section header's type reads the same in both orders. Its byte-order magic gives
        // the order of the rest of the section.
        if block_type == SECTION_HEADER {
            order = match file.get(pos + 8..pos + 12) {
                Some([0x4d, 0x3c, 0x2b, 0x1a]) => Order::Little,
                Some([0x1a, 0x2b, 0x3c, 0x4d]) => Order::Big,
                _ => break,
            };
            linktypes.clear();
        }
        let Some(block_len) = order.u32(file, pos + 4).map(|len| len as usize) else {
            break;
        };
        let Some(block) = file.get(pos..pos + block_len).filter(|_| block_len >= 12) else {
            break;
        };
        match block_type {
            INTERFACE_DESCRIPTION => {
                let linktype = order.u16(block, 8).map_or(u32::MAX, u32::from);
                linktypes.push(linktype);
            }
            ENHANCED_PACKET => {
                let interface = order.u32(block, 8).unwrap_or(u32::MAX) as usize;
                let captured_len = order.u32(block, 20).unwrap_or(0) as usize;
                if let (Some(&linktype), Some(data)) =
                    (linktypes.get(interface), block.get(28..28 + captured_len))
                {
                    frames.push(Frame { linktype, data });
                }
            }
            _ => {}
        }
        pos += block_len;
    }
    frames
}

// ---------------------------------------------------------------------------------------------
// Transport payloads

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct FlowKey {
    src: IpAddr,
    src_port: u16,
    dst: IpAddr,
    dst_port: u16,
}

impl FlowKey {
    fn has_port(&self, ports: &[u16]) -> bool {
        ports.contains(&self.src_port) || ports.contains(&self.dst_port)
    }
}

enum Segment<'a> {
    Tcp {
        flow: FlowKey,
        seq: u32,
        syn: bool,
        payload: &'a [u8],
    },
    Udp {
        flow: FlowKey,
        payload: &'a [u8],
    },
}

/// Slices a frame down to its TCP or UDP payload. BSD NULL frames start with a 4-byte address
/// family in host byte order, which the IP version nibble makes unnecessary to read.
fn segment<'a>(frame: &Frame<'a>) -> Option<Segment<'a>> {
    let packet = match frame.linktype {
        LINKTYPE_ETHERNET => SlicedPacket::from_ethernet(frame.data).ok()?,
        LINKTYPE_NULL => SlicedPacket::from_ip(frame.data.get(4..)?).ok()?,
        _ => return None,
    };
    let (src, dst) = match packet.net? {
        NetSlice::Ipv4(ip) => (
            ip.header().source_addr().into(),
            ip.header().destination_addr().into(),
        ),
        NetSlice::Ipv6(ip) => (
            ip.header().source_addr().into(),
            ip.header().destination_addr().into(),
        ),
        NetSlice::Arp(_) => return None,
    };
    match packet.transport? {
        TransportSlice::Tcp(tcp) => Some(Segment::Tcp {
            flow: FlowKey {
                src,
                src_port: tcp.source_port(),
                dst,
                dst_port: tcp.destination_port(),
            },
            seq: tcp.sequence_number(),
            syn: tcp.syn(),
            payload: tcp.payload(),
        }),
        TransportSlice::Udp(udp) => Some(Segment::Udp {
            flow: FlowKey {
                src,
                src_port: udp.source_port(),
                dst,
                dst_port: udp.destination_port(),
            },
            payload: udp.payload(),
        }),
        _ => None,
    }
}

/// What one direction of a TCP connection has been found to carry.
#[derive(Clone, Copy, PartialEq, Eq)]
enum StreamKind {
    Unknown,
    DnsOverTcp,
    Http,
    Tls,
    /// Nothing more to read: another protocol, or the parser is done with this stream.
    Done,
}

/// The bytes of one direction of a TCP connection, joined in sequence order.
struct TcpStream {
    next_seq: Option<u32>,
    data: Vec<u8>,
    /// Bytes of `data` that the parsers have used up.
    consumed: usize,
    kind: StreamKind,
}

impl TcpStream {
    fn new(kind: StreamKind) -> Self {
        TcpStream {
            next_seq: None,
            data: Vec::new(),
            consumed: 0,
            kind,
        }
    }

    /// Appends the new part of a segment and returns whether there was one. Retransmitted
    /// bytes are dropped. A gap is skipped over, since these captures have none that matter.
    fn append(&mut self, seq: u32, syn: bool, payload: &[u8]) -> bool {
        // The SYN takes one sequence number, so data in a SYN segment starts after it.
        let data_seq = if syn { seq.wrapping_add(1) } else { seq };
        if syn {
            self.next_seq = Some(data_seq);
        }
        let next = *self.next_seq.get_or_insert(data_seq);

        // A distance under 2^31 means the segment starts at or before `next`.
        let already_seen = next.wrapping_sub(data_seq);
        let new_part = if already_seen < 1 << 31 {
            payload.get(already_seen as usize..).unwrap_or_default()
        } else {
            payload
        };
        if new_part.is_empty() {
            return false;
        }
        self.data.extend_from_slice(new_part);
        self.next_seq = Some(data_seq.wrapping_add(payload.len() as u32));
        true
    }
}

// ---------------------------------------------------------------------------------------------
// Names found

/// Names found in a capture, each list without repeats in the order of first appearance, as
/// the expect files list them.
#[derive(Default, Debug)]
struct Observed {
    lists: HashMap<&'static str, Vec<String>>,
}

impl Observed {
    fn add(&mut self, key: &'static str, value: &str) {
        let list = self.lists.entry(key).or_default();
        if !list.iter().any(|seen| seen == value) {
            list.push(value.to_owned());
        }
    }

    fn get(&self, key: &str) -> &[String] {
        self.lists.get(key).map_or(&[], Vec::as_slice)
    }

    fn record_dns(&mut self, bytes: &[u8]) {
        let Ok(message) = dns::parse(bytes) else {
            return;
        };
        for question in &message.questions {
            let name = if question.name.is_root() {
                "."
            } else {
                question.name.as_str()
            };
            if message.is_response {
                self.add("dns_response", name);
                if message.rcode == dns::RCODE_NXDOMAIN {
                    self.add("dns_nxdomain", name);
                }
            } else {
                self.add("dns_query", name);
            }
        }
    }

    fn record_http(&mut self, request: &http::Request<'_>) {
        self.add("http_method", request.method);
        self.add("http_uri", request.path);
        let request_line = match request.version {
            Some(minor) => format!("{} {} HTTP/1.{minor}", request.method, request.path),
            None => format!("{} {}", request.method, request.path),
        };
        self.add("raw_request_line", &request_line);
        if let Some(host) = request.host {
            self.add("raw_header", format!("Host: {host}").trim_end());
            if !host.is_empty() {
                self.add("http_host", host);
            }
        }
        if let Some(user_agent) = request.user_agent {
            self.add("raw_header", format!("User-Agent: {user_agent}").trim_end());
            if !user_agent.is_empty() {
                self.add("http_user_agent", user_agent);
            }
        }
    }

    fn record_sni(&mut self, stream: &[u8], name: &str) {
        self.add("tls_sni", name);

        // The copying variant must find the same name, lower-cased.
        let mut out = [0u8; 255];
        let lowered = tls::client_hello_sni_lowercase(stream, &mut out);
        let expected = name.to_ascii_lowercase();
        assert_eq!(lowered, tls::Sni::Found(expected.trim_end_matches('.')));
    }
}

/// Runs every frame of `file` through the parsers.
fn observe(file: &[u8]) -> Observed {
    let mut observed = Observed::default();
    let mut streams: HashMap<FlowKey, TcpStream> = HashMap::new();
    for frame in read_frames(file) {
        match segment(&frame) {
            Some(Segment::Udp { flow, payload }) if flow.has_port(&DNS_PORTS) => {
                observed.record_dns(payload);
            }
            Some(Segment::Tcp {
                flow,
                seq,
                syn,
                payload,
            }) => {
                let kind = match flow.has_port(&DNS_PORTS) {
                    true => StreamKind::DnsOverTcp,
                    false => StreamKind::Unknown,
                };
                let stream = streams.entry(flow).or_insert_with(|| TcpStream::new(kind));
                if stream.append(seq, syn, payload) {
                    scan_stream(stream, &mut observed);
                }
            }
            _ => {}
        }
    }
    observed
}

/// Reads what the parsers can from the unused bytes of `stream`.
fn scan_stream(stream: &mut TcpStream, observed: &mut Observed) {
    if stream.kind == StreamKind::Unknown {
        stream.kind = classify(&stream.data);
    }
    match stream.kind {
        StreamKind::DnsOverTcp => {
            let mut messages = dns::split_tcp_stream(&stream.data[stream.consumed..]);
            for message in messages.by_ref() {
                observed.record_dns(message);
            }
            stream.consumed += messages.consumed();
        }
        StreamKind::Http => {
            while let Some(rest) = stream.data.get(stream.consumed..) {
                match http::parse_request(rest) {
                    http::Parse::Complete(request) => {
                        observed.record_http(&request);
                        let body = request.content_length.unwrap_or(0) as usize;
                        stream.consumed += request.header_len + body;
                        if request.chunked || request.headers_truncated {
                            stream.kind = StreamKind::Done;
                            break;
                        }
                    }
                    http::Parse::Partial => break,
                    http::Parse::LineTooLong | http::Parse::NotHttp => {
                        stream.kind = StreamKind::Done;
                        break;
                    }
                }
            }
        }
        StreamKind::Tls => match tls::client_hello_sni(&stream.data) {
            tls::Sni::Found(name) => {
                observed.record_sni(&stream.data, name);
                stream.kind = StreamKind::Done;
            }
            tls::Sni::Incomplete { needed } => assert!(needed > stream.data.len()),
            tls::Sni::NoSni | tls::Sni::NotClientHello => stream.kind = StreamKind::Done,
        },
        StreamKind::Unknown | StreamKind::Done => {}
    }
}

/// Decides from the first bytes whether a TCP stream carries HTTP requests or a TLS
/// ClientHello, waiting while a method name or a record header is still incomplete.
fn classify(data: &[u8]) -> StreamKind {
    if http::starts_like_request(data) {
        StreamKind::Http
    } else if tls::starts_like_tls_handshake(data) {
        StreamKind::Tls
    } else if http::parse_request(data) == http::Parse::Partial
        || (data.len() < 3 && data.first() == Some(&22))
    {
        StreamKind::Unknown
    } else {
        StreamKind::Done
    }
}

// ---------------------------------------------------------------------------------------------
// Expected names

/// Reads the `key value` lines of an expect file, by key, in file order. Comment lines are
/// skipped.
fn read_expected(path: &Path) -> HashMap<String, Vec<String>> {
    let text = std::fs::read_to_string(path).expect("expect file is readable");
    let mut expected: HashMap<String, Vec<String>> = HashMap::new();
    for line in text.lines().filter(|line| !line.starts_with('#')) {
        let (key, value) = line.split_once(' ').unwrap_or((line, ""));
        expected
            .entry(key.to_owned())
            .or_default()
            .push(value.to_owned());
    }
    expected
}

fn captures_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(CAPTURES_DIR);
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipped: no capture folder at {CAPTURES_DIR}");
        None
    }
}

/// Replays `name` and compares the DNS, HTTP and TLS names found with its expect file.
///
/// DNS names are compared lower-cased, because the parser lower-cases them. HTTP fields are
/// compared in full when tshark labelled the requests (`http_*` keys). Where it did not, for
/// example for HTTP on a port that tshark does not decode as HTTP, each `raw_*` line must be
/// among those found.
fn check_capture(name: &str) {
    let Some(dir) = captures_dir() else { return };
    let file = std::fs::read(dir.join(name)).expect("capture is readable");
    let expected = read_expected(&dir.join(format!("{name}.expect.txt")));
    let observed = observe(&file);
    let expected_list = |key: &str| expected.get(key).cloned().unwrap_or_default();

    for key in ["dns_query", "dns_response", "dns_nxdomain"] {
        let names: Vec<String> = expected_list(key)
            .iter()
            .map(|n| n.to_lowercase())
            .collect();
        assert_eq!(observed.get(key), names, "{name}: {key}");
    }

    let http_keys = ["http_method", "http_host", "http_uri", "http_user_agent"];
    if http_keys.iter().any(|key| expected.contains_key(*key)) {
        for key in http_keys {
            assert_eq!(observed.get(key), expected_list(key), "{name}: {key}");
        }
    }
    for key in ["raw_request_line", "raw_header"] {
        for line in expected_list(key) {
            assert!(
                observed.get(key).contains(&line),
                "{name}: {key} {line:?} not among {:?}",
                observed.get(key)
            );
        }
    }
    let expects_http = expected
        .keys()
        .any(|key| key.starts_with("http_") || key.starts_with("raw_"));
    if !expects_http {
        assert_eq!(
            observed.get("raw_request_line"),
            [] as [String; 0],
            "{name}: HTTP"
        );
    }

    assert_eq!(
        observed.get("tls_sni"),
        expected_list("tls_sni"),
        "{name}: tls_sni"
    );
}

macro_rules! capture_tests {
    ($($test:ident => $file:literal,)*) => {
        $(
            #[test]
            fn $test() {
                check_capture($file);
            }
        )*
    };
}

capture_tests! {
    dns_over_tcp_session => "tcpdump-dns_tcp.pcap",
    dns_long_tcp_connection => "zeek-dns_long-connection.pcap",
    dns_pointer_loop_one => "tcpdump-dns-zlip-1.pcap",
    dns_pointer_loop_two => "tcpdump-dns-zlip-2.pcap",
    dns_pointer_loop_three => "tcpdump-dns-zlip-3.pcap",
    dns_forward_pointer_message => "tcpdump-dns_fwdptr.pcap",
    dns_bad_label_message => "tcpdump-dns-badlabel.pcap",
    dns_invalid_names_queries => "zeek-dns_dns-invalid-names.pcap",
    dns_max_compression_depth => "zeek-dns_max-compression-depth.pcap",
    dns_edns_bad_length => "zeek-dns_dns-edns-bad-length.pcap",
    dns_edns_options => "tcpdump-edns-opts.pcap",
    dns_dnssec_records => "tcpdump-dnssec.pcap",
    dns_https_record_type => "zeek-dns-https.pcap",
    dns_mixed_case_query => "zeek-dns_original_case.pcap",
    dns_punycode_name => "arkime-dns-punycode.pcap",
    dns_udp_port_8053 => "tcpdump-dns_udp_8053.pcap",
    dns_random_names_spread => "zeek-ticks-dns.pcap",
    dns_nxdomain_response => "chrissanders-dns_query_nonexistent.pcapng",
    dns_isp_hijack_session => "chrissanders-dns_isp_hijack.pcapng",
    http_head_over_two_segments => "zeek-http_http_large_req_8001.pcap",
    http_pipelined_requests => "zeek-http_pipelined-requests.pcap",
    http_request_to_ssh_port => "zeek-http_get-to-ssh-server.pcap",
    http_lower_case_names => "zeek-http_http-lower-case-nonstandard-port.pcap",
    http_odd_url_characters => "zeek-www-odd-url.pcap",
    http_header_across_segments => "arkime-http-wrapped-header.pcap",
    http_empty_user_agent => "arkime-http-empty-useragent.pcap",
    http_cryptowall_check_ins => "chrissanders-cryptowall4_c2.pcapng",
    http_exploit_kit_chain => "chrissanders-ek_to_cryptowall4.pcapng",
    syn_scan_no_names => "chrissanders-synscan.pcapng",
    tls_split_client_hello => "arkime-tls-split-client-hello.pcap",
    tls_post_quantum_key_share => "zeek-tls_chrome-1250-tls-x25519-kyber.pcap",
    tls_encrypted_client_hello => "zeek-tls_tls13-ech.pcap",
    tls_sslv2_client_hello => "zeek-tls_ssl-v2.pcap",
    http_proxy_absolute_form => "zeek-http_proxy.pcap",
    http_capture_without_syn => "zeek-tcp_missing-syn.pcap",
    http_inside_vlan_tag => "zeek-http-vlan-0.pcap",
    http_capture_cut_midrecord => "derived-truncated-midrecord.pcap",
    http_0_9_over_ipv6 => "zeek-ipv6-http-atomic-frag.pcap",
    dns_root_over_null_link => "tcpdump-dns-badcookie.pcap",
    big_endian_pcap_no_names => "tcpdump-pptp.pcap",
    pcapng_several_interfaces => "zeek-pcapng-multi-interface.pcapng",
}
