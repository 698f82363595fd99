//! The benchmark traffic mix: picks a kind for each frame by fixed shares, builds it over the
//! simulated network, and plants trail hits in a share of the DNS, HTTP, TLS and SYN packets.

use crate::capture::CaptureWriter;
use crate::dns::RecordType;
use crate::frame::{build_ip_frame, Hosts, Link, Transport};
use crate::network::{Network, ROUTER_MAC};
use crate::rng::Rng;
use crate::trails::TrailSample;

/// Frame kinds and their shares of the mix, in thousandths (they add up to 1000).
const SHARES: [(Kind, u64); 8] = [
    (Kind::TcpData, 550),
    (Kind::TcpControl, 100),
    (Kind::Udp, 100),
    (Kind::Dns, 100),
    (Kind::Http, 50),
    (Kind::Tls, 50),
    (Kind::Icmp, 30),
    (Kind::Arp, 20),
];

/// Range of the gap between two frames in microseconds, drawn uniformly. Its mean of 20 us
/// gives about 50,000 packets per second of capture time.
const GAP_MICROS: (u64, u64) = (1, 39);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    TcpData,
    TcpControl,
    Udp,
    Dns,
    Http,
    Tls,
    Icmp,
    Arp,
}

/// How many packets of each kind carry a planted indicator.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlantedHits {
    /// DNS queries for a listed domain; each one's response repeats the name.
    pub dns_query: u64,
    /// TLS ClientHellos whose SNI is a listed domain.
    pub tls_sni: u64,
    /// HTTP requests whose Host is a listed domain.
    pub http_host: u64,
    /// HTTP requests for a listed `host/path` URL.
    pub http_url: u64,
    /// TCP SYNs to a listed `ip:port`.
    pub syn_ip_port: u64,
    /// TCP SYNs to a listed IPv4 address.
    pub syn_ip: u64,
}

impl PlantedHits {
    /// Returns the number of packets with a planted indicator, DNS responses not included.
    pub fn total(&self) -> u64 {
        self.dns_query
            + self.tls_sni
            + self.http_host
            + self.http_url
            + self.syn_ip_port
            + self.syn_ip
    }
}

/// A DNS query whose response is the next DNS packet.
struct PendingAnswer {
    client: usize,
    ipv6: bool,
    id: u16,
    client_port: u16,
    name: String,
    kind: RecordType,
}

/// Generator state: the network, the planting sample, the clock and reusable buffers.
pub struct Mix<'a> {
    network: Network,
    sample: &'a TrailSample,
    rng: Rng,
    hit_ratio: f64,
    micros: u64,
    frame: Vec<u8>,
    payload: Vec<u8>,
    pending_answer: Option<PendingAnswer>,
    hits: PlantedHits,
}

impl<'a> Mix<'a> {
    /// Creates a mix that plants indicators from `sample` in `hit_ratio` (0..=1) of the DNS
    /// queries, HTTP requests, TLS ClientHellos and TCP SYNs.
    pub fn new(network: Network, sample: &'a TrailSample, rng: Rng, hit_ratio: f64) -> Mix<'a> {
        Mix {
            network,
            sample,
            rng,
            hit_ratio,
            micros: 0,
            frame: Vec::with_capacity(2048),
            payload: Vec::with_capacity(2048),
            pending_answer: None,
            hits: PlantedHits::default(),
        }
    }

    /// Writes `count` frames to `writer`.
    pub fn write_frames(&mut self, writer: &mut CaptureWriter, count: u64) {
        let mut written = 0;
        while written < count {
            let kind = self.pick_kind();
            let built = match kind {
                Kind::TcpData => self.tcp_data(),
                Kind::TcpControl => self.tcp_control(),
                Kind::Udp => self.udp(),
                Kind::Dns => self.dns(),
                Kind::Http => self.http(),
                Kind::Tls => self.tls(),
                Kind::Icmp => self.icmp(),
                Kind::Arp => self.arp(),
            };

            // A builder returns None only for input it cannot encode; draw another kind then.
            if built.is_some() {
                self.micros += self.rng.range(GAP_MICROS.0, GAP_MICROS.1);
                writer.write(self.micros, &self.frame);
                written += 1;
            }
        }
    }

    /// Returns the hits planted so far.
    pub fn hits(&self) -> PlantedHits {
        self.hits
    }

    fn pick_kind(&mut self) -> Kind {
        let mut roll = self.rng.below(1000);
        for (kind, share) in SHARES {
            if roll < share {
                return kind;
            }
            roll -= share;
        }
        Kind::TcpData
    }

    fn plant(&mut self) -> bool {
        self.rng.chance(self.hit_ratio)
    }

    /// Builds an IP frame between a client and the far side into `self.frame`.
    fn ip_frame(
        &mut self,
        client: usize,
        to_far_side: bool,
        hosts: Hosts,
        transport: Transport,
    ) -> Option<()> {
        let station = self.network.clients.get(client)?;
        let (source, destination) = if to_far_side {
            (station.mac, ROUTER_MAC)
        } else {
            (ROUTER_MAC, station.mac)
        };
        let link = Link {
            source,
            destination,
            vlan: station.vlan,
        };
        build_ip_frame(&mut self.frame, &link, &hosts, &transport, &self.payload)
    }
}

mod application;
mod transport;

#[cfg(test)]
mod tests;
