//! The `demo` command: the small capture shipped as `samples/demo.pcap`.
//!
//! One workstation (192.168.1.23) on a home LAN browses benign sites, syncs its clock and pings
//! its gateway, and between those contacts malware infrastructure listed in the default
//! trails. Every remote benign host uses a documentation address (RFC 5737, RFC 3849) and a
//! name under the reserved `example.*` domains (RFC 2606), so only the planted indicators can
//! produce events. `samples/README.md` describes the same story for users.

use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use crate::capture::{CaptureError, CaptureTotals, CaptureWriter};
use crate::frame::Mac;
use crate::rng::Rng;

/// One listed indicator in the demo capture and the trail file (under the default tree) that
/// lists it.
#[derive(Clone, Copy, Debug)]
pub struct PlantedIndicator {
    pub indicator: &'static str,
    pub trail_file: &'static str,
}

const QAKBOT_DOMAIN: &str = "ageanrzekiycakzrswcq.com";
const REMCOS_DOMAIN: &str = "paulocamarao.com";
const AGENTTESLA_DOMAIN: &str = "etvidanueva.com";
const AGENTTESLA_PATH: &str = "/photos/images/WebPanel/login.php";
const COBALTSTRIKE_DOMAIN: &str = "office365upgrade.com";
const ASYNCRAT_IP: Ipv4Addr = Ipv4Addr::new(213, 152, 161, 99);
const ASYNCRAT_PORT: u16 = 47390;

/// The indicators planted in the demo capture, in the order they appear.
pub const PLANTED: [PlantedIndicator; 6] = [
    PlantedIndicator {
        indicator: QAKBOT_DOMAIN,
        trail_file: "malware/qakbot.txt",
    },
    PlantedIndicator {
        indicator: REMCOS_DOMAIN,
        trail_file: "malware/remcos.txt",
    },
    PlantedIndicator {
        indicator: AGENTTESLA_DOMAIN,
        trail_file: "malware/agenttesla.txt",
    },
    PlantedIndicator {
        indicator: "etvidanueva.com/photos/images/WebPanel/login.php",
        trail_file: "malware/agenttesla.txt",
    },
    PlantedIndicator {
        indicator: COBALTSTRIKE_DOMAIN,
        trail_file: "malware/cobaltstrike.txt",
    },
    PlantedIndicator {
        indicator: "213.152.161.99:47390",
        trail_file: "malware/asyncrat.txt",
    },
];

const WORKSTATION_MAC: Mac = [0x3C, 0x52, 0x82, 0x17, 0x9A, 0x23];
const GATEWAY_MAC: Mac = [0xC8, 0x3A, 0x35, 0x0B, 0x11, 0x01];
const WORKSTATION_V4: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 23);
const GATEWAY_V4: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 1);
const WORKSTATION_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xDB8, 0x1, 0, 0, 0, 0, 0x23);
const GATEWAY_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xDB8, 0x1, 0, 0, 0, 0, 0x1);

/// The workstation's User-Agent; Agent Tesla's HTTP client sends a browser-like one too.
const BROWSER_AGENT: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:109.0) Gecko/20100101 Firefox/115.0";

/// Seed of the demo's random bytes (TLS randoms, payload filler, ports).
const DEMO_SEED: u64 = 0x7472_6169_6C77_6174;

/// A failure of the `demo` command.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("failed to read trail file {path}: {source}")]
    ReadTrail {
        path: String,
        source: std::io::Error,
    },
    #[error("indicator {indicator} is no longer listed in {path}; pick another one in demo.rs")]
    NotListed {
        indicator: &'static str,
        path: String,
    },
    #[error("failed to encode a demo packet: {0}")]
    Encode(&'static str),
    #[error(transparent)]
    Capture(#[from] CaptureError),
}

/// Checks that every planted indicator is still a line of its file under `trails_dir`.
pub fn verify_planted(trails_dir: &Path) -> Result<(), DemoError> {
    for planted in PLANTED {
        let path = trails_dir.join(planted.trail_file);
        let text = fs::read_to_string(&path).map_err(|source| DemoError::ReadTrail {
            path: path.display().to_string(),
            source,
        })?;
        let listed = text.lines().any(|line| {
            let entry = line.split(" #").next().unwrap_or("").trim();
            entry.eq_ignore_ascii_case(planted.indicator)
        });
        if !listed {
            let path = path.display().to_string();
            return Err(DemoError::NotListed {
                indicator: planted.indicator,
                path,
            });
        }
    }
    Ok(())
}

/// Writes the demo capture to `output`.
pub fn write_demo(output: &Path) -> Result<CaptureTotals, DemoError> {
    let mut demo = Demo {
        writer: CaptureWriter::create(output)?,
        micros: 0,
        rng: Rng::new(DEMO_SEED),
        frame: Vec::with_capacity(2048),
        payload: Vec::with_capacity(2048),
    };
    demo.play()?;
    Ok(demo.writer.finish()?)
}

struct Demo {
    writer: CaptureWriter,
    micros: u64,
    rng: Rng,
    frame: Vec<u8>,
    payload: Vec<u8>,
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

impl Demo {
    /// Plays the story, one scene per paragraph.
    fn play(&mut self) -> Result<(), DemoError> {
        self.arp_for_gateway();
        self.ping_gateway(IpAddr::V4(GATEWAY_V4), 2)?;
        self.ping_gateway(IpAddr::V6(GATEWAY_V6), 2)?;

        self.wait_ms(400);
        self.dns_lookup("time.example.org", v4(198, 51, 100, 123))?;
        self.ntp_exchange(v4(198, 51, 100, 123))?;

        self.wait_ms(900);
        self.dns_lookup("www.example.com", v4(192, 0, 2, 80))?;
        self.https_visit("www.example.com", v4(192, 0, 2, 80), 12)?;
        self.dns_lookup("cdn.example.com", v4(192, 0, 2, 81))?;
        self.https_visit("cdn.example.com", v4(192, 0, 2, 81), 6)?;

        self.wait_ms(600);
        self.dns_lookup("news.example.org", v4(198, 51, 100, 8))?;
        self.http_visit("news.example.org", "/today/index.html", v4(198, 51, 100, 8))?;

        // Qakbot and Remcos command-and-control names resolved by the infected host.
        self.wait_ms(1500);
        self.dns_lookup(QAKBOT_DOMAIN, v4(203, 0, 113, 66))?;
        self.wait_ms(300);
        self.dns_lookup(REMCOS_DOMAIN, v4(203, 0, 113, 67))?;

        // Agent Tesla posting stolen data to its web panel over plain HTTP.
        self.wait_ms(700);
        self.dns_lookup(AGENTTESLA_DOMAIN, v4(203, 0, 113, 80))?;
        let stolen = b"p=dXNlcj1hbGljZSZwYXNzPWh1bnRlcjImaG9zdD1ERVNLVE9QLTdR";
        self.http_post(
            AGENTTESLA_DOMAIN,
            AGENTTESLA_PATH,
            v4(203, 0, 113, 80),
            stolen,
        )?;

        self.wait_ms(1200);
        let docs = IpAddr::V6(Ipv6Addr::new(0x2001, 0xDB8, 0xD0C5, 0, 0, 0, 0, 0x443));
        self.dns_lookup("docs.example.org", docs)?;
        self.https_visit("docs.example.org", docs, 8)?;

        // A Cobalt Strike beacon reaching its HTTPS listener, named like an Office 365 host.
        self.wait_ms(2000);
        self.dns_lookup(COBALTSTRIKE_DOMAIN, v4(203, 0, 113, 44))?;
        self.https_visit(COBALTSTRIKE_DOMAIN, v4(203, 0, 113, 44), 4)?;

        // AsyncRAT trying its controller by address and port. No reply comes, so the SYN is
        // retried.
        self.wait_ms(1000);
        self.unanswered_syn(IpAddr::V4(ASYNCRAT_IP), ASYNCRAT_PORT)?;

        self.wait_ms(500);
        self.dns_lookup("updates.example.net", v4(198, 51, 100, 20))?;
        self.https_visit("updates.example.net", v4(198, 51, 100, 20), 30)?;
        self.dns_lookup("mail.example.net", v4(198, 51, 100, 25))?;
        self.https_visit("mail.example.net", v4(198, 51, 100, 25), 6)?;
        self.ping_gateway(IpAddr::V4(GATEWAY_V4), 2)
    }
}

mod exchanges;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trails::{self, DEFAULT_TRAILS_DIR};
    use etherparse::{NetSlice, SlicedPacket, TransportSlice};

    /// Decodes the demo and returns the addresses and host names it contains: IPv4
    /// destinations, DNS question names, SNI values and HTTP Host values.
    fn demo_contents() -> (Vec<Ipv4Addr>, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo.pcap");
        write_demo(&path).unwrap();

        let mut addresses = Vec::new();
        let mut names = Vec::new();
        let mut reader = pcap::Capture::from_file(&path).unwrap();
        while let Ok(packet) = reader.next_packet() {
            let sliced = SlicedPacket::from_ethernet(packet.data).unwrap();
            if let Some(NetSlice::Ipv4(ip)) = &sliced.net {
                addresses.push(ip.header().destination_addr());
            }
            let payload = match &sliced.transport {
                Some(TransportSlice::Tcp(tcp)) => tcp.payload(),
                Some(TransportSlice::Udp(udp)) if udp.destination_port() == 53 => {
                    names.push(question_name(udp.payload()));
                    continue;
                }
                _ => continue,
            };
            if let Some(name) = crate::tls::find_server_name(payload) {
                names.push(String::from_utf8(name.to_vec()).unwrap());
            }
            let text = String::from_utf8_lossy(payload);
            if let Some(host) = text.lines().find_map(|line| line.strip_prefix("Host: ")) {
                names.push(host.to_string());
            }
        }
        (addresses, names)
    }

    fn question_name(message: &[u8]) -> String {
        let mut labels = Vec::new();
        let mut at = 12;
        while let Some(&length) = message.get(at).filter(|length| **length > 0) {
            let label = &message[at + 1..at + 1 + usize::from(length)];
            labels.push(String::from_utf8(label.to_vec()).unwrap());
            at += 1 + usize::from(length);
        }
        labels.join(".")
    }

    #[test]
    fn only_planted_values_are_listed() {
        let (_, listed) = trails::scan(Path::new(DEFAULT_TRAILS_DIR), &mut Rng::new(1)).unwrap();
        let (addresses, names) = demo_contents();

        let listed_addresses: Vec<Ipv4Addr> = addresses
            .into_iter()
            .filter(|ip| listed.contains_ip(*ip))
            .collect();
        assert!(
            listed_addresses.iter().all(|ip| *ip == ASYNCRAT_IP),
            "{listed_addresses:?}"
        );
        assert!(!listed_addresses.is_empty());

        let planted = [
            QAKBOT_DOMAIN,
            REMCOS_DOMAIN,
            AGENTTESLA_DOMAIN,
            COBALTSTRIKE_DOMAIN,
        ];
        for name in names {
            let expected = planted.contains(&name.as_str());
            assert_eq!(listed.lists_domain(&name), expected, "{name}");
        }
    }

    #[test]
    fn planted_indicators_are_listed() {
        verify_planted(Path::new(DEFAULT_TRAILS_DIR)).unwrap();
    }

    #[test]
    fn unlisted_indicator_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("malware")).unwrap();
        for planted in PLANTED {
            fs::write(dir.path().join(planted.trail_file), "other.example\n").unwrap();
        }
        assert!(matches!(
            verify_planted(dir.path()),
            Err(DemoError::NotListed { .. })
        ));
    }
}
