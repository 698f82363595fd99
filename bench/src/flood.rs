//! The `gen --flood` capture: every packet from a new random source, to random ports, with
//! random DNS names, so that every table fed by the network meets more distinct keys than it
//! can hold. It checks that the sensor's memory stays within its documented bounds.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use crate::capture::{CaptureError, CaptureTotals, CaptureWriter};
use crate::dns::{self, RecordType};
use crate::frame::{self, tcp_flags, Hosts, Link, TcpHeader, Transport, Vlan};
use crate::rng::Rng;

/// Microseconds between two frames: 100,000 packets per second of capture time, so a
/// million packets span 10 seconds and every window-based table is still full at the end.
const FRAME_GAP_MICROS: u64 = 10;

/// The resolver that the flood's DNS queries go to.
const RESOLVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 53);

/// Writes `packets` flood frames made from `seed` to `output`. A quarter each are TCP SYNs
/// to a random host and port, UDP datagrams to a random port, DNS queries for a random
/// name, and DNS NXDOMAIN responses for a random name. Sources are random IPv4 addresses,
/// a quarter of them in 10.0.0.0/8 with a random MAC, so the spoofing tables fill too.
pub fn generate_flood(
    packets: u64,
    seed: u64,
    output: &Path,
) -> Result<CaptureTotals, CaptureError> {
    let mut rng = Rng::new(seed);
    let mut writer = CaptureWriter::create(output)?;
    let mut frame = Vec::with_capacity(256);
    let mut message = Vec::with_capacity(256);
    let mut name = String::with_capacity(64);

    for index in 0..packets {
        let source = random_source(&mut rng);
        let link = Link {
            source: random_mac(&mut rng),
            destination: [0x02, 0, 0, 0, 0, 0x01],
            vlan: Vlan::Untagged,
        };
        let target = Ipv4Addr::from(rng.next_u32() | 0x0100_0000);
        let port = (rng.below(65_535) + 1) as u16;
        let ephemeral = rng.range(1_024, 65_535) as u16;

        let built = match index % 4 {
            0 => {
                let tcp = TcpHeader {
                    source_port: ephemeral,
                    destination_port: port,
                    sequence: rng.next_u32(),
                    acknowledgment: 0,
                    flags: tcp_flags::SYN,
                    window: 64_240,
                };
                let hosts = hosts(source, target);
                frame::build_ip_frame(&mut frame, &link, &hosts, &Transport::Tcp(tcp), &[])
            }
            1 => {
                let udp = Transport::Udp {
                    source_port: 65_535,
                    destination_port: port,
                };
                frame::build_ip_frame(&mut frame, &link, &hosts(source, target), &udp, &[0; 8])
            }
            2 => {
                random_name(&mut rng, &mut name);
                dns::build_query(&mut message, rng.next_u32() as u16, &name, RecordType::A);
                let udp = Transport::Udp {
                    source_port: ephemeral,
                    destination_port: 53,
                };
                frame::build_ip_frame(&mut frame, &link, &hosts(source, RESOLVER), &udp, &message)
            }
            _ => {
                random_name(&mut rng, &mut name);
                dns::build_query(&mut message, rng.next_u32() as u16, &name, RecordType::A);
                // Turn the query into an NXDOMAIN response: QR set, RA set, rcode 3.
                message[2] |= 0x80;
                message[3] = 0x83;
                let udp = Transport::Udp {
                    source_port: 53,
                    destination_port: ephemeral,
                };
                frame::build_ip_frame(
                    &mut frame,
                    &link,
                    &hosts(RESOLVER.into(), source),
                    &udp,
                    &message,
                )
            }
        };
        if built.is_some() {
            writer.write(index * FRAME_GAP_MICROS, &frame);
        }
    }
    writer.finish()
}

fn hosts(source: IpAddr, destination: impl Into<IpAddr>) -> Hosts {
    Hosts {
        source,
        destination: destination.into(),
        ttl: 64,
    }
}

fn random_source(rng: &mut Rng) -> IpAddr {
    let bits = rng.next_u32();
    if rng.below(4) == 0 {
        IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (bits & 0x00ff_ffff)))
    } else {
        IpAddr::V4(Ipv4Addr::from(bits))
    }
}

fn random_mac(rng: &mut Rng) -> [u8; 6] {
    let bits = rng.next_u64().to_be_bytes();
    // Locally administered unicast, as in the rest of the generator.
    [0x02, bits[1], bits[2], bits[3], bits[4], bits[5]]
}

/// Writes a name of 3 random labels of 8 to 20 lowercase letters and digits under `.example`.
fn random_name(rng: &mut Rng, name: &mut String) {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    name.clear();
    for _ in 0..3 {
        for _ in 0..rng.range(8, 20) {
            name.push(char::from(ALPHABET[rng.index(ALPHABET.len())]));
        }
        name.push('.');
    }
    name.push_str("example");
}
