//! DNS messages (RFC 1035): the header, the questions and the A/AAAA addresses of the answer
//! section, read from a UDP payload or from DNS-over-TCP stream bytes.
//!
//! Names are decoded into [`Name`], an owned text form that is lower-cased and safe to put into a
//! log line. Parsing is lenient where real sensors need it: a message cut short in its answer
//! section (snaplen, a first IPv6 fragment) still returns its questions, with
//! [`Message::truncated`] set.

use std::fmt;
use std::iter::FusedIterator;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use arrayvec::ArrayVec;

/// Maximum number of questions stored per message. Real queries carry one question. Further
/// questions are read past and set [`Message::questions_dropped`].
pub const MAX_QUESTIONS: usize = 4;

/// Maximum number of A/AAAA addresses collected from the answer section. A response that
/// carries more sets [`Message::answer_addrs_full`].
pub const MAX_ANSWER_ADDRS: usize = 8;

/// Maximum length of a name in wire form, length octets and the root octet included
/// (RFC 1035 section 3.1). It is also the capacity of the text in [`Name`].
pub const MAX_NAME_LEN: usize = 255;

/// Maximum number of compression pointers followed while decoding one name. RFC 1035 section
/// 4.1.4 only describes pointers to earlier names, but decoders such as tshark also follow
/// forward pointers, so this limit is what ends a pointer loop. Real names need one or two
/// hops, and 64 leaves room for odd but valid chains.
pub const MAX_POINTER_HOPS: usize = 64;

/// Response code "Name Error": the queried name does not exist.
pub const RCODE_NXDOMAIN: u8 = 3;

const HEADER_LEN: usize = 12;
const QUESTION_FIXED_LEN: usize = 4;
const RECORD_FIXED_LEN: usize = 10;
const TYPE_A: u16 = 1;
const TYPE_AAAA: u16 = 28;
const CLASS_IN: u16 = 1;
/// The top bit of a record's class is the mDNS cache-flush flag (RFC 6762 section 10.2).
const CLASS_MASK: u16 = 0x7fff;

/// Reason a DNS message, or a name in it, could not be read. Offsets count from the start of
/// the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    /// The header, a record or a label starting at `offset` runs past the end of the message.
    #[error("DNS message truncated: data at offset {offset} runs past the end")]
    Truncated { offset: usize },
    /// A label length octet at `offset` uses the reserved type bits 0x40 or 0x80.
    #[error("invalid DNS label type 0x{byte:02x} at offset {offset}")]
    BadLabelType { offset: usize, byte: u8 },
    /// The compression pointer at `offset` points at or past the end of the message.
    #[error("DNS compression pointer at offset {offset} points to {target}, past the end")]
    PointerOutOfRange { offset: usize, target: usize },
    /// The name at `offset` needs more than [`MAX_POINTER_HOPS`] pointers, as a loop does.
    #[error(
        "DNS name at offset {offset} follows more than {MAX_POINTER_HOPS} compression pointers \
         (a pointer loop)"
    )]
    TooManyPointers { offset: usize },
    /// The name at `offset` is longer than [`MAX_NAME_LEN`] octets in wire form.
    #[error("DNS name at offset {offset} is longer than {MAX_NAME_LEN} octets")]
    NameTooLong { offset: usize },
    /// The name at `offset` is valid, but its escaped text is longer than [`MAX_NAME_LEN`]
    /// bytes because it contains many bytes that need escaping.
    #[error("DNS name at offset {offset} is longer than {MAX_NAME_LEN} bytes once escaped")]
    EscapedNameTooLong { offset: usize },
}

/// A domain name in text form: labels joined with `.`, ASCII letters lower-cased, no trailing
/// dot, and `""` for the root.
///
/// A label byte outside `!`..=`~`, and a `.`, `"` or `\` inside a label, is written as `\DDD`
/// with three decimal digits, as dig writes it. The text therefore never contains a space,
/// `"`, CR, LF or any other control character, and two names that differ in more than ASCII
/// case never give the same text.
#[derive(Clone, Copy)]
pub struct Name {
    text: [u8; MAX_NAME_LEN],
    len: u8,
}

impl Name {
    /// The root name, `""`.
    pub const ROOT: Name = Name {
        text: [0; MAX_NAME_LEN],
        len: 0,
    };

    pub fn as_str(&self) -> &str {
        // `push_label` writes printable ASCII only, so the conversion cannot fail.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.text.get(..usize::from(self.len)).unwrap_or_default()
    }

    pub fn is_root(&self) -> bool {
        self.len == 0
    }

    /// Appends one label, escaped and lower-cased, after a `.` unless it is the first label.
    /// Fails when the text would not fit.
    fn push_label(&mut self, label: &[u8]) -> Result<(), ()> {
        if !self.is_root() {
            self.push(b'.')?;
        }
        for &byte in label {
            if is_plain_label_byte(byte) {
                self.push(byte.to_ascii_lowercase())?;
            } else {
                self.push(b'\\')?;
                self.push(b'0' + byte / 100)?;
                self.push(b'0' + byte / 10 % 10)?;
                self.push(b'0' + byte % 10)?;
            }
        }
        Ok(())
    }

    fn push(&mut self, byte: u8) -> Result<(), ()> {
        let slot = self.text.get_mut(usize::from(self.len)).ok_or(())?;
        *slot = byte;
        self.len += 1;
        Ok(())
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Name {}

impl std::hash::Hash for Name {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl Default for Name {
    fn default() -> Self {
        Self::ROOT
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({:?})", self.as_str())
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn is_plain_label_byte(byte: u8) -> bool {
    matches!(byte, b'!'..=b'~') && !matches!(byte, b'.' | b'"' | b'\\')
}

/// One entry of the question section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Question {
    pub name: Name,
    pub qtype: u16,
    pub qclass: u16,
}

/// The parts of a DNS message that the sensor matches and counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub id: u16,
    /// The QR bit: set in responses, clear in queries.
    pub is_response: bool,
    pub opcode: u8,
    pub rcode: u8,
    /// The first [`MAX_QUESTIONS`] questions, in message order.
    pub questions: ArrayVec<Question, MAX_QUESTIONS>,
    /// A and AAAA addresses of class IN from the answer section (not from the authority or
    /// additional sections), in message order.
    pub answer_addrs: ArrayVec<IpAddr, MAX_ANSWER_ADDRS>,
    /// The message ended before all counted question and answer records were read. This is
    /// about the captured bytes, not the TC flag of the header.
    pub truncated: bool,
    /// The question count exceeded [`MAX_QUESTIONS`], so later questions were not stored.
    pub questions_dropped: bool,
    /// `answer_addrs` filled up while answer records remained, and those were not read.
    pub answer_addrs_full: bool,
    /// A malformed record after the first question, which ended reading early. Records read
    /// before it are kept. Running out of bytes sets `truncated` instead.
    pub section_error: Option<DnsError>,
}

/// Parses a DNS message: the header, the questions and the answer addresses.
///
/// Returns an error when the header is incomplete or the first question cannot be read.
/// Problems after the first complete question never discard it: reading stops there and sets
/// [`Message::truncated`] or [`Message::section_error`].
pub fn parse(msg: &[u8]) -> Result<Message, DnsError> {
    let header: &[u8; HEADER_LEN] = msg
        .get(..HEADER_LEN)
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or(DnsError::Truncated { offset: 0 })?;
    let [id_high, id_low, flags_high, flags_low, qd_high, qd_low, an_high, an_low, ..] = *header;
    let question_count = u16::from_be_bytes([qd_high, qd_low]);
    let answer_count = u16::from_be_bytes([an_high, an_low]);

    let mut message = Message {
        id: u16::from_be_bytes([id_high, id_low]),
        is_response: flags_high & 0x80 != 0,
        opcode: (flags_high >> 3) & 0x0f,
        rcode: flags_low & 0x0f,
        questions: ArrayVec::new(),
        answer_addrs: ArrayVec::new(),
        truncated: false,
        questions_dropped: usize::from(question_count) > MAX_QUESTIONS,
        answer_addrs_full: false,
        section_error: None,
    };

    let mut pos = HEADER_LEN;
    for index in 0..usize::from(question_count) {
        let step = if index < MAX_QUESTIONS {
            read_question(msg, pos).map(|(question, end)| {
                // The index check keeps the list below its capacity.
                let _ = message.questions.try_push(question);
                end
            })
        } else {
            skip_question(msg, pos)
        };
        match step {
            Ok(end) => pos = end,
            Err(error) if message.questions.is_empty() => return Err(error),
            Err(error) => return Ok(stop_early(message, error)),
        }
    }

    for _ in 0..answer_count {
        if message.answer_addrs.is_full() {
            message.answer_addrs_full = true;
            break;
        }
        match read_answer(msg, pos) {
            Ok((addr, end)) => {
                if let Some(addr) = addr {
                    let _ = message.answer_addrs.try_push(addr);
                }
                pos = end;
            }
            Err(error) => return Ok(stop_early(message, error)),
        }
    }
    Ok(message)
}

/// Records the error that ended reading after the first question.
fn stop_early(mut message: Message, error: DnsError) -> Message {
    match error {
        DnsError::Truncated { .. } => message.truncated = true,
        other => message.section_error = Some(other),
    }
    message
}

fn read_question(msg: &[u8], start: usize) -> Result<(Question, usize), DnsError> {
    let (name, name_end) = read_name(msg, start)?;
    let [type_high, type_low, class_high, class_low] = read_fixed(msg, name_end)?;
    let question = Question {
        name,
        qtype: u16::from_be_bytes([type_high, type_low]),
        qclass: u16::from_be_bytes([class_high, class_low]),
    };
    Ok((question, name_end + QUESTION_FIXED_LEN))
}

fn skip_question(msg: &[u8], start: usize) -> Result<usize, DnsError> {
    let name_end = skip_name(msg, start)?;
    read_fixed::<QUESTION_FIXED_LEN>(msg, name_end)?;
    Ok(name_end + QUESTION_FIXED_LEN)
}

/// Reads one resource record and returns its address if it is an A or AAAA record of class
/// IN, with the offset just past the record.
fn read_answer(msg: &[u8], start: usize) -> Result<(Option<IpAddr>, usize), DnsError> {
    let name_end = skip_name(msg, start)?;
    let fixed: [u8; RECORD_FIXED_LEN] = read_fixed(msg, name_end)?;
    let [type_high, type_low, class_high, class_low, _, _, _, _, len_high, len_low] = fixed;
    let rtype = u16::from_be_bytes([type_high, type_low]);
    let class = u16::from_be_bytes([class_high, class_low]) & CLASS_MASK;
    let rdata_start = name_end + RECORD_FIXED_LEN;
    let rdata_end = rdata_start + usize::from(u16::from_be_bytes([len_high, len_low]));
    let rdata = msg
        .get(rdata_start..rdata_end)
        .ok_or(DnsError::Truncated { offset: start })?;

    // A record of the right type whose RDATA has the wrong length is skipped like any other.
    let addr = match (class, rtype) {
        (CLASS_IN, TYPE_A) => <[u8; 4]>::try_from(rdata)
            .ok()
            .map(Ipv4Addr::from)
            .map(IpAddr::V4),
        (CLASS_IN, TYPE_AAAA) => <[u8; 16]>::try_from(rdata)
            .ok()
            .map(Ipv6Addr::from)
            .map(IpAddr::V6),
        _ => None,
    };
    Ok((addr, rdata_end))
}

fn read_fixed<const N: usize>(msg: &[u8], start: usize) -> Result<[u8; N], DnsError> {
    msg.get(start..start + N)
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or(DnsError::Truncated { offset: start })
}

/// Decodes the name at `start`, following compression pointers, and returns it with the
/// offset just past the name's own bytes (after the first pointer, if any).
///
/// Terminates on every input: each step either adds a label, which the length limit bounds,
/// or follows a pointer, which [`MAX_POINTER_HOPS`] bounds.
fn read_name(msg: &[u8], start: usize) -> Result<(Name, usize), DnsError> {
    let mut name = Name::ROOT;
    let mut pos = start;
    let mut end = None;
    let mut wire_len = 1;
    let mut hops = 0;
    loop {
        let length_byte = *msg.get(pos).ok_or(DnsError::Truncated { offset: pos })?;
        match length_byte & 0xc0 {
            0x00 if length_byte == 0 => return Ok((name, end.unwrap_or(pos + 1))),
            0x00 => {
                let label_len = usize::from(length_byte);
                wire_len += 1 + label_len;
                if wire_len > MAX_NAME_LEN {
                    return Err(DnsError::NameTooLong { offset: start });
                }
                let label = msg
                    .get(pos + 1..pos + 1 + label_len)
                    .ok_or(DnsError::Truncated { offset: pos })?;
                name.push_label(label)
                    .map_err(|()| DnsError::EscapedNameTooLong { offset: start })?;
                pos += 1 + label_len;
            }
            0xc0 => {
                let low = *msg
                    .get(pos + 1)
                    .ok_or(DnsError::Truncated { offset: pos })?;
                end.get_or_insert(pos + 2);
                hops += 1;
                if hops > MAX_POINTER_HOPS {
                    return Err(DnsError::TooManyPointers { offset: start });
                }
                let target = usize::from(length_byte & 0x3f) << 8 | usize::from(low);
                if target >= msg.len() {
                    return Err(DnsError::PointerOutOfRange {
                        offset: pos,
                        target,
                    });
                }
                pos = target;
            }
            _ => {
                return Err(DnsError::BadLabelType {
                    offset: pos,
                    byte: length_byte,
                })
            }
        }
    }
}

/// Returns the offset just past the name at `start` without decoding it or following its
/// pointer. Used for names the sensor does not report (answer owners, dropped questions).
fn skip_name(msg: &[u8], start: usize) -> Result<usize, DnsError> {
    let mut pos = start;
    loop {
        let length_byte = *msg.get(pos).ok_or(DnsError::Truncated { offset: pos })?;
        match length_byte & 0xc0 {
            0x00 if length_byte == 0 => return Ok(pos + 1),
            0x00 => pos += 1 + usize::from(length_byte),
            0xc0 => {
                msg.get(pos + 1)
                    .ok_or(DnsError::Truncated { offset: pos })?;
                return Ok(pos + 2);
            }
            _ => {
                return Err(DnsError::BadLabelType {
                    offset: pos,
                    byte: length_byte,
                })
            }
        }
    }
}

/// Splits DNS-over-TCP stream bytes into whole messages. Each message is preceded by its length
/// as a 2-byte big-endian integer (RFC 1035 section 4.2.2).
///
/// The iterator yields each complete message without its length prefix and stops at the first
/// message that is not complete yet. [`TcpMessages::consumed`] then gives how many bytes were
/// used, so the caller keeps the rest for the next segment.
pub fn split_tcp_stream(stream: &[u8]) -> TcpMessages<'_> {
    TcpMessages {
        stream,
        consumed: 0,
    }
}

/// Iterator over the complete messages at the start of DNS-over-TCP stream bytes; see
/// [`split_tcp_stream`].
#[derive(Clone, Debug)]
pub struct TcpMessages<'a> {
    stream: &'a [u8],
    consumed: usize,
}

impl<'a> TcpMessages<'a> {
    /// Number of stream bytes taken by the messages yielded so far, length prefixes included.
    pub fn consumed(&self) -> usize {
        self.consumed
    }

    /// Returns the stream bytes after the messages yielded so far.
    pub fn remainder(&self) -> &'a [u8] {
        self.stream.get(self.consumed..).unwrap_or_default()
    }

    /// Number of bytes, counted from the start of [`remainder`](Self::remainder), that the next
    /// message needs with its prefix, once at least the 2-byte prefix is present.
    pub fn next_message_len(&self) -> Option<usize> {
        let prefix: [u8; 2] = self.remainder().get(..2)?.try_into().ok()?;
        Some(2 + usize::from(u16::from_be_bytes(prefix)))
    }
}

impl<'a> Iterator for TcpMessages<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let total = self.next_message_len()?;
        let message = self.remainder().get(2..total)?;
        self.consumed += total;
        Some(message)
    }
}

impl FusedIterator for TcpMessages<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Header of a query with ID 0x1234, RD set, and the given question and answer counts.
    fn query_header(questions: u8, answers: u8) -> Vec<u8> {
        vec![
            0x12, 0x34, // ID
            0x01, 0x00, // QR=0, opcode 0, RD=1, rcode 0
            0x00, questions, // QDCOUNT
            0x00, answers, // ANCOUNT
            0x00, 0x00, // NSCOUNT
            0x00, 0x00, // ARCOUNT
        ]
    }

    /// Header of a response (QR=1, RD, RA) with the given rcode and counts.
    fn response_header(rcode: u8, questions: u8, answers: u8) -> Vec<u8> {
        vec![
            0xab,
            0xcd, // ID
            0x81,
            0x80 | rcode, // QR=1, opcode 0, RD=1, RA=1, rcode
            0x00,
            questions, // QDCOUNT
            0x00,
            answers, // ANCOUNT
            0x00,
            0x00, // NSCOUNT
            0x00,
            0x00, // ARCOUNT
        ]
    }

    /// QTYPE A, QCLASS IN.
    const A_IN: [u8; 4] = [0x00, 0x01, 0x00, 0x01];

    /// `www.example.com` in wire form, starting at offset 12 when it follows the header.
    const WWW_EXAMPLE_COM: [u8; 17] = [
        3, b'w', b'w', b'w', // label "www"
        7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', // label "example"
        3, b'c', b'o', b'm', // label "com"
        0,    // root
    ];

    fn with_question(mut msg: Vec<u8>, name: &[u8]) -> Vec<u8> {
        msg.extend_from_slice(name);
        msg.extend_from_slice(&A_IN);
        msg
    }

    /// Builds a name in wire form from labels of the given lengths, every label byte `a`.
    fn name_of_labels(lengths: &[usize]) -> Vec<u8> {
        let mut name = Vec::new();
        for &len in lengths {
            name.push(len as u8);
            name.extend(std::iter::repeat_n(b'a', len));
        }
        name.push(0);
        name
    }

    fn first_name(msg: &[u8]) -> Result<String, DnsError> {
        parse(msg).map(|message| message.questions[0].name.as_str().to_owned())
    }

    #[test]
    fn query_header_fields_read() {
        let msg = with_question(query_header(1, 0), &WWW_EXAMPLE_COM);
        let message = parse(&msg).unwrap();
        assert_eq!(message.id, 0x1234);
        assert!(!message.is_response);
        assert_eq!(message.opcode, 0);
        assert_eq!(message.rcode, 0);
        assert_eq!(message.questions.len(), 1);
        assert_eq!(message.questions[0].name.as_str(), "www.example.com");
        assert_eq!(message.questions[0].qtype, 1);
        assert_eq!(message.questions[0].qclass, 1);
        assert!(!message.truncated);
    }

    #[test]
    fn mixed_case_name_lowered() {
        let name = [
            2, b'U', b's', // label "Us"
            3, b'V', b'2', b'7', // label "V27"
            3, b'N', b'E', b'T', // label "NET"
            0,    // root
        ];
        let msg = with_question(query_header(1, 0), &name);
        assert_eq!(first_name(&msg).unwrap(), "us.v27.net");
    }

    #[test]
    fn root_query_gives_root_name() {
        let msg = with_question(query_header(1, 0), &[0]);
        let message = parse(&msg).unwrap();
        assert!(message.questions[0].name.is_root());
        assert_eq!(message.questions[0].name.as_str(), "");
    }

    #[test]
    fn opcode_and_nxdomain_read() {
        let mut msg = with_question(response_header(RCODE_NXDOMAIN, 1, 0), &WWW_EXAMPLE_COM);
        msg[2] |= 2 << 3; // opcode 2 (STATUS)
        let message = parse(&msg).unwrap();
        assert!(message.is_response);
        assert_eq!(message.rcode, RCODE_NXDOMAIN);
        assert_eq!(message.opcode, 2);
    }

    #[test]
    fn backward_pointer_followed() {
        let mut msg = with_question(query_header(2, 0), &WWW_EXAMPLE_COM);
        // Second question at offset 33: label "mail", then a pointer to "example.com" at 16.
        msg.extend_from_slice(&[4, b'm', b'a', b'i', b'l', 0xc0, 16]);
        msg.extend_from_slice(&A_IN);
        let message = parse(&msg).unwrap();
        assert_eq!(message.questions[1].name.as_str(), "mail.example.com");
    }

    #[test]
    fn forward_pointer_followed() {
        let mut msg = query_header(1, 0);
        // Offset 12: label "a", then a pointer to offset 20, after the question's fixed part.
        msg.extend_from_slice(&[1, b'a', 0xc0, 20]);
        msg.extend_from_slice(&A_IN); // offsets 16..20
        msg.extend_from_slice(&[3, b'n', b'e', b't', 0]); // offset 20: "net"
        assert_eq!(first_name(&msg).unwrap(), "a.net");
    }

    #[test]
    fn self_pointer_rejected() {
        let mut msg = query_header(1, 0);
        msg.extend_from_slice(&[0xc0, 12]); // offset 12: a pointer to itself
        msg.extend_from_slice(&A_IN);
        assert_eq!(parse(&msg), Err(DnsError::TooManyPointers { offset: 12 }));
    }

    #[test]
    fn two_pointer_cycle_rejected() {
        let mut msg = query_header(1, 0);
        msg.extend_from_slice(&[0xc0, 14]); // offset 12: pointer to 14
        msg.extend_from_slice(&[0xc0, 12]); // offset 14: pointer back to 12
        msg.extend_from_slice(&A_IN);
        assert_eq!(parse(&msg), Err(DnsError::TooManyPointers { offset: 12 }));
    }

    #[test]
    fn label_pointer_loop_rejected() {
        let mut msg = query_header(1, 0);
        // Offset 12: label "ab", then a pointer back to 12: the name would repeat forever.
        msg.extend_from_slice(&[2, b'a', b'b', 0xc0, 12]);
        msg.extend_from_slice(&A_IN);
        assert!(matches!(
            parse(&msg),
            Err(DnsError::TooManyPointers { .. } | DnsError::NameTooLong { .. })
        ));
    }

    /// Builds a message whose offset 12 starts a chain of `hops` pointers. Each points at the
    /// next one, and the last one points at the name "a" right after the chain.
    fn pointer_chain(hops: usize) -> Vec<u8> {
        let mut msg = query_header(1, 0);
        for hop in 1..=hops {
            let next = HEADER_LEN + 2 * hop;
            msg.extend_from_slice(&[0xc0 | (next >> 8) as u8, next as u8]);
        }
        msg.extend_from_slice(&[1, b'a', 0]);
        msg
    }

    #[test]
    fn pointer_chain_within_limit() {
        let msg = pointer_chain(MAX_POINTER_HOPS);
        let (name, end) = read_name(&msg, HEADER_LEN).unwrap();
        assert_eq!(name.as_str(), "a");
        assert_eq!(end, HEADER_LEN + 2);
    }

    #[test]
    fn pointer_chain_over_limit_rejected() {
        let msg = pointer_chain(MAX_POINTER_HOPS + 1);
        assert_eq!(
            read_name(&msg, HEADER_LEN),
            Err(DnsError::TooManyPointers { offset: 12 })
        );
    }

    #[test]
    fn pointer_past_end_rejected() {
        let mut msg = query_header(1, 0);
        msg.extend_from_slice(&[0xc1, 0x00]); // offset 12: pointer to offset 256
        msg.extend_from_slice(&A_IN);
        assert_eq!(
            parse(&msg),
            Err(DnsError::PointerOutOfRange {
                offset: 12,
                target: 256
            })
        );
    }

    #[test]
    fn extended_label_type_rejected() {
        let mut msg = query_header(1, 0);
        msg.extend_from_slice(&[0x41, b'a', 0]); // 0x41: label type 01 (extended), length 1
        msg.extend_from_slice(&A_IN);
        assert_eq!(
            parse(&msg),
            Err(DnsError::BadLabelType {
                offset: 12,
                byte: 0x41
            })
        );
    }

    #[test]
    fn reserved_label_type_rejected() {
        let mut msg = query_header(1, 0);
        msg.extend_from_slice(&[3, b'w', b'w', b'w', 0x80, 0]); // 0x80: label type 10
        msg.extend_from_slice(&A_IN);
        assert_eq!(
            parse(&msg),
            Err(DnsError::BadLabelType {
                offset: 16,
                byte: 0x80
            })
        );
    }

    #[test]
    fn name_of_255_octets_accepted() {
        // 64 + 64 + 64 + 62 octets of labels, plus the root octet: 255 in wire form.
        let name = name_of_labels(&[63, 63, 63, 61]);
        assert_eq!(name.len(), 255);
        let msg = with_question(query_header(1, 0), &name);
        let text = first_name(&msg).unwrap();
        assert_eq!(text.len(), 63 + 63 + 63 + 61 + 3);
    }

    #[test]
    fn name_of_256_octets_rejected() {
        let name = name_of_labels(&[63, 63, 63, 62]);
        assert_eq!(name.len(), 256);
        let msg = with_question(query_header(1, 0), &name);
        assert_eq!(parse(&msg), Err(DnsError::NameTooLong { offset: 12 }));
    }

    #[test]
    fn label_past_end_rejected() {
        let mut msg = query_header(1, 0);
        msg.extend_from_slice(&[3, b'a']); // label "a.." of length 3 cut after one byte
        assert_eq!(parse(&msg), Err(DnsError::Truncated { offset: 12 }));
    }

    #[test]
    fn missing_question_type_rejected() {
        let mut msg = query_header(1, 0);
        msg.extend_from_slice(&WWW_EXAMPLE_COM); // the name, but no QTYPE/QCLASS
        assert_eq!(parse(&msg), Err(DnsError::Truncated { offset: 29 }));
    }

    #[test]
    fn short_header_rejected() {
        assert_eq!(
            parse(&[0x12, 0x34, 0x01]),
            Err(DnsError::Truncated { offset: 0 })
        );
    }

    #[test]
    fn unprintable_label_bytes_escaped() {
        let name = [
            6, b'a', b' ', b'"', b'\r', b'\n', 0xff, // "a", space, quote, CR, LF, 0xff
            4, b'x', b'.', b'\\', b'Y', // "x", dot, backslash, "Y"
            0,    // root
        ];
        let msg = with_question(query_header(1, 0), &name);
        assert_eq!(
            first_name(&msg).unwrap(),
            r"a\032\034\013\010\255.x\046\092y"
        );
    }

    #[test]
    fn escaped_text_over_capacity_rejected() {
        // 4 labels of 60 bytes 0x01: valid in wire form (245 octets), but each byte becomes
        // `\001`, so the text needs 963 bytes.
        let mut name = Vec::new();
        for _ in 0..4 {
            name.push(60);
            name.extend([0x01; 60]);
        }
        name.push(0);
        let msg = with_question(query_header(1, 0), &name);
        assert_eq!(
            parse(&msg),
            Err(DnsError::EscapedNameTooLong { offset: 12 })
        );
    }

    #[test]
    fn several_questions_kept_in_order() {
        let mut msg = query_header(3, 0);
        for label in [b"one", b"two", b"six"] {
            msg.push(3);
            msg.extend_from_slice(label);
            msg.push(0);
            msg.extend_from_slice(&[0x00, 0x1c, 0x00, 0x01]); // QTYPE AAAA, QCLASS IN
        }
        let message = parse(&msg).unwrap();
        let names: Vec<&str> = message.questions.iter().map(|q| q.name.as_str()).collect();
        assert_eq!(names, ["one", "two", "six"]);
        assert_eq!(message.questions[2].qtype, 28);
        assert!(!message.questions_dropped);
    }

    #[test]
    fn questions_over_limit_dropped() {
        let count = MAX_QUESTIONS + 2;
        let mut msg = response_header(0, count as u8, 1);
        for index in 0..count {
            msg.extend_from_slice(&[1, b'a' + index as u8, 0]);
            msg.extend_from_slice(&A_IN);
        }
        // Answer: pointer to the first question's name, type A, class IN, TTL, 4 bytes.
        msg.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
        let message = parse(&msg).unwrap();
        assert_eq!(message.questions.len(), MAX_QUESTIONS);
        assert!(message.questions_dropped);
        assert_eq!(
            message.answer_addrs.as_slice(),
            ["192.0.2.1".parse::<IpAddr>().unwrap()]
        );
    }

    /// Builds a response for www.example.com with one CNAME, one A and one AAAA answer.
    fn response_with_answers() -> Vec<u8> {
        let mut msg = with_question(response_header(0, 1, 3), &WWW_EXAMPLE_COM);
        msg.extend_from_slice(&[
            0xc0, 12, // owner: pointer to www.example.com
            0x00, 0x05, 0x00, 0x01, // type CNAME, class IN
            0x00, 0x00, 0x0e, 0x10, // TTL 3600
            0x00, 0x02, // RDLENGTH 2
            0xc0, 16, // RDATA: pointer to example.com
        ]);
        msg.extend_from_slice(&[
            0xc0, 16, // owner: pointer to example.com
            0x00, 0x01, 0x00, 0x01, // type A, class IN
            0x00, 0x00, 0x0e, 0x10, // TTL
            0x00, 0x04, // RDLENGTH 4
            93, 184, 216, 34, // 93.184.216.34
        ]);
        msg.extend_from_slice(&[
            0xc0, 16, // owner: pointer to example.com
            0x00, 0x1c, 0x00, 0x01, // type AAAA, class IN
            0x00, 0x00, 0x0e, 0x10, // TTL
            0x00, 0x10, // RDLENGTH 16
            0x26, 0x06, 0x28, 0x00, 0x02, 0x20, 0x00, 0x01, // 2606:2800:220:1:
            0x02, 0x48, 0x18, 0x93, 0x25, 0xc8, 0x19, 0x46, // 248:1893:25c8:1946
        ]);
        msg
    }

    #[test]
    fn answers_a_and_aaaa_collected() {
        let message = parse(&response_with_answers()).unwrap();
        let expected: [IpAddr; 2] = [
            "93.184.216.34".parse().unwrap(),
            "2606:2800:220:1:248:1893:25c8:1946".parse().unwrap(),
        ];
        assert_eq!(message.answer_addrs.as_slice(), expected);
        assert!(!message.truncated);
    }

    #[test]
    fn non_internet_class_skipped() {
        let mut msg = with_question(response_header(0, 1, 1), &WWW_EXAMPLE_COM);
        // type A, class CH (3), TTL, RDLENGTH 4, 10.0.0.1
        msg.extend_from_slice(&[0xc0, 12, 0, 1, 0, 3, 0, 0, 0, 0, 0, 4, 10, 0, 0, 1]);
        assert!(parse(&msg).unwrap().answer_addrs.is_empty());
    }

    #[test]
    fn cache_flush_class_accepted() {
        let mut msg = with_question(response_header(0, 1, 1), &WWW_EXAMPLE_COM);
        // type A, class IN with the mDNS cache-flush bit (0x8001), TTL, RDLENGTH 4, 10.0.0.1
        msg.extend_from_slice(&[0xc0, 12, 0, 1, 0x80, 1, 0, 0, 0, 0, 0, 4, 10, 0, 0, 1]);
        assert_eq!(parse(&msg).unwrap().answer_addrs.len(), 1);
    }

    #[test]
    fn answer_wrong_rdlength_skipped() {
        let mut msg = with_question(response_header(0, 1, 2), &WWW_EXAMPLE_COM);
        // type A with RDLENGTH 3, then a good A record for 10.0.0.2.
        msg.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 3, 10, 0, 0]);
        msg.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 10, 0, 0, 2]);
        let message = parse(&msg).unwrap();
        assert_eq!(
            message.answer_addrs.as_slice(),
            ["10.0.0.2".parse::<IpAddr>().unwrap()]
        );
    }

    #[test]
    fn answers_cut_short_keep_questions() {
        let full = response_with_answers();
        // Cut inside the AAAA record's RDATA, as a snaplen or a first fragment would.
        let msg = &full[..full.len() - 5];
        let message = parse(msg).unwrap();
        assert!(message.truncated);
        assert_eq!(message.questions[0].name.as_str(), "www.example.com");
        assert_eq!(message.answer_addrs.len(), 1);
    }

    #[test]
    fn answers_missing_keep_questions() {
        let full = response_with_answers();
        let question_end = HEADER_LEN + WWW_EXAMPLE_COM.len() + A_IN.len();
        let message = parse(&full[..question_end]).unwrap();
        assert!(message.truncated);
        assert_eq!(message.questions.len(), 1);
        assert!(message.answer_addrs.is_empty());
    }

    #[test]
    fn malformed_answer_recorded() {
        let mut msg = with_question(response_header(0, 1, 1), &WWW_EXAMPLE_COM);
        msg.extend_from_slice(&[0x80, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 10, 0, 0, 1]); // bad owner
        let message = parse(&msg).unwrap();
        assert_eq!(
            message.section_error,
            Some(DnsError::BadLabelType {
                offset: 33,
                byte: 0x80
            })
        );
        assert!(!message.truncated);
        assert_eq!(message.questions.len(), 1);
    }

    #[test]
    fn answer_addrs_stop_at_limit() {
        let count = MAX_ANSWER_ADDRS + 1;
        let mut msg = with_question(response_header(0, 1, count as u8), &WWW_EXAMPLE_COM);
        for index in 0..count {
            msg.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 10, 0, 0]);
            msg.push(index as u8);
        }
        let message = parse(&msg).unwrap();
        assert_eq!(message.answer_addrs.len(), MAX_ANSWER_ADDRS);
        assert!(message.answer_addrs_full);
        assert!(!message.truncated);
    }

    #[test]
    fn later_bad_question_keeps_first() {
        let mut msg = with_question(query_header(2, 0), &WWW_EXAMPLE_COM);
        msg.extend_from_slice(&[0xc0, 33]); // offset 33: second question, pointer to itself
        msg.extend_from_slice(&A_IN);
        let message = parse(&msg).unwrap();
        assert_eq!(message.questions.len(), 1);
        assert_eq!(
            message.section_error,
            Some(DnsError::TooManyPointers { offset: 33 })
        );
    }

    /// Prefixes `msg` with its length as DNS over TCP sends it.
    fn framed(msg: &[u8]) -> Vec<u8> {
        let mut out = (msg.len() as u16).to_be_bytes().to_vec();
        out.extend_from_slice(msg);
        out
    }

    #[test]
    fn tcp_segment_with_two_messages() {
        let first = with_question(query_header(1, 0), &WWW_EXAMPLE_COM);
        let second = response_with_answers();
        let mut stream = framed(&first);
        stream.extend(framed(&second));
        let mut messages = split_tcp_stream(&stream);
        assert_eq!(messages.next(), Some(first.as_slice()));
        assert_eq!(messages.next(), Some(second.as_slice()));
        assert_eq!(messages.next(), None);
        assert_eq!(messages.consumed(), stream.len());
    }

    #[test]
    fn tcp_message_split_across_segments() {
        let first = with_question(query_header(1, 0), &WWW_EXAMPLE_COM);
        let second = response_with_answers();
        let mut stream = framed(&first);
        stream.extend(framed(&second));

        // The first segment ends inside the second message.
        let cut = framed(&first).len() + 10;
        let mut messages = split_tcp_stream(&stream[..cut]);
        assert_eq!(messages.next(), Some(first.as_slice()));
        assert_eq!(messages.next(), None);
        assert_eq!(messages.consumed(), framed(&first).len());
        assert_eq!(messages.next_message_len(), Some(framed(&second).len()));

        // The caller keeps the rest and appends the next segment.
        let mut kept = messages.remainder().to_vec();
        kept.extend_from_slice(&stream[cut..]);
        let mut messages = split_tcp_stream(&kept);
        assert_eq!(messages.next(), Some(second.as_slice()));
        assert_eq!(messages.consumed(), kept.len());
    }

    #[test]
    fn tcp_lone_prefix_byte_waits() {
        let mut messages = split_tcp_stream(&[0x00]);
        assert_eq!(messages.next(), None);
        assert_eq!(messages.consumed(), 0);
        assert_eq!(messages.next_message_len(), None);
    }

    #[test]
    fn tcp_empty_message_yielded() {
        let mut messages = split_tcp_stream(&[0x00, 0x00]);
        assert_eq!(messages.next(), Some(&[][..]));
        assert_eq!(messages.consumed(), 2);
    }

    #[test]
    fn error_messages_name_offset() {
        let error = DnsError::BadLabelType {
            offset: 16,
            byte: 0x80,
        };
        assert_eq!(
            error.to_string(),
            "invalid DNS label type 0x80 at offset 16"
        );
    }

    mod random_input {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn parse_never_panics(msg in proptest::collection::vec(any::<u8>(), 0..600)) {
                let _ = parse(&msg);
            }

            #[test]
            fn names_after_header_stay_printable(
                counts in (0u8..6, 0u8..12),
                body in proptest::collection::vec(any::<u8>(), 0..400),
            ) {
                let mut msg = response_header(0, counts.0, counts.1);
                msg.extend(body);
                if let Ok(message) = parse(&msg) {
                    for question in &message.questions {
                        let text = question.name.as_bytes();
                        prop_assert!(text.len() <= MAX_NAME_LEN);
                        prop_assert!(text.iter().all(|b| matches!(b, b'!'..=b'~')));
                        prop_assert!(!text.contains(&b'"'));
                    }
                }
            }

            #[test]
            fn tcp_messages_lie_within_stream(
                stream in proptest::collection::vec(any::<u8>(), 0..300),
            ) {
                let range = stream.as_ptr_range();
                let mut messages = split_tcp_stream(&stream);
                for message in messages.by_ref() {
                    let inner = message.as_ptr_range();
                    prop_assert!(range.start <= inner.start && inner.end <= range.end);
                }
                prop_assert!(messages.consumed() <= stream.len());
            }
        }
    }
}
