//! Transport-level frames of the mix: TCP data and control segments, UDP, ICMP echo, ARP.

use std::net::IpAddr;

use super::Mix;
use crate::frame::{
    build_arp_frame, tcp_flags, Arp, ArpOperation, Hosts, Link, TcpHeader, Transport, BROADCAST,
};

/// Largest TCP payload per address family, so that every frame fits a 1,500-byte MTU.
const MAX_SEGMENT_V4: u64 = 1460;
const MAX_SEGMENT_V6: u64 = 1440;

impl Mix<'_> {
    pub(super) fn tcp_data(&mut self) -> Option<()> {
        let index = self.network.pick_flow(&mut self.rng);
        let flow = *self.network.flows.get(index)?;
        let (client_ip, server_ip) = flow.addresses(&self.network);

        let max = if flow.ipv6 {
            MAX_SEGMENT_V6
        } else {
            MAX_SEGMENT_V4
        };
        let length = self.rng.range(100, max) as usize;
        self.payload.resize(length, 0);
        self.rng.fill(&mut self.payload);

        // Most bulk data flows from server to client, as in downloads and page loads.
        let downstream = self.rng.chance(0.7);
        let (sequence, acknowledgment) = if downstream {
            (flow.server_sequence, flow.client_sequence)
        } else {
            (flow.client_sequence, flow.server_sequence)
        };
        if let Some(state) = self.network.flows.get_mut(index) {
            let advance = length as u32;
            if downstream {
                state.server_sequence = state.server_sequence.wrapping_add(advance);
            } else {
                state.client_sequence = state.client_sequence.wrapping_add(advance);
            }
        }

        let tcp = TcpHeader {
            source_port: if downstream {
                flow.server_port
            } else {
                flow.client_port
            },
            destination_port: if downstream {
                flow.client_port
            } else {
                flow.server_port
            },
            sequence,
            acknowledgment,
            flags: tcp_flags::ACK | tcp_flags::PSH,
            window: 501,
        };
        let hosts = if downstream {
            Hosts {
                source: server_ip,
                destination: client_ip,
                ttl: 54,
            }
        } else {
            Hosts {
                source: client_ip,
                destination: server_ip,
                ttl: 64,
            }
        };
        self.ip_frame(flow.client, !downstream, hosts, Transport::Tcp(tcp))
    }

    pub(super) fn tcp_control(&mut self) -> Option<()> {
        let flow = *self
            .network
            .flows
            .get(self.network.pick_flow(&mut self.rng))?;
        let (client_ip, server_ip) = flow.addresses(&self.network);
        self.payload.clear();

        let roll = self.rng.below(10);
        if roll < 4 {
            return self.syn(flow.client, client_ip, server_ip, flow.server_port);
        }

        let (flags, downstream) = match roll {
            4..=6 => (tcp_flags::SYN | tcp_flags::ACK, true),
            7 | 8 => (tcp_flags::FIN | tcp_flags::ACK, self.rng.chance(0.5)),
            _ => (tcp_flags::RST | tcp_flags::ACK, true),
        };
        let (sequence, acknowledgment) = if downstream {
            (flow.server_sequence, flow.client_sequence)
        } else {
            (flow.client_sequence, flow.server_sequence)
        };
        let tcp = TcpHeader {
            source_port: if downstream {
                flow.server_port
            } else {
                flow.client_port
            },
            destination_port: if downstream {
                flow.client_port
            } else {
                flow.server_port
            },
            sequence,
            acknowledgment,
            flags,
            window: 65_160,
        };
        let hosts = if downstream {
            Hosts {
                source: server_ip,
                destination: client_ip,
                ttl: 54,
            }
        } else {
            Hosts {
                source: client_ip,
                destination: server_ip,
                ttl: 64,
            }
        };
        self.ip_frame(flow.client, !downstream, hosts, Transport::Tcp(tcp))
    }

    /// Builds a SYN from `client`, to a listed `ip:port` or IPv4 address when a hit is planted.
    fn syn(
        &mut self,
        client: usize,
        client_ip: IpAddr,
        server_ip: IpAddr,
        port: u16,
    ) -> Option<()> {
        let mut destination = (server_ip, port);
        let mut source = client_ip;
        if self.plant() {
            let client_v4 = IpAddr::V4(self.network.clients.get(client)?.v4);
            if self.rng.chance(0.5) && !self.sample.ip_ports.is_empty() {
                let (ip, listed_port) = *self.rng.pick(&self.sample.ip_ports)?;
                destination = (IpAddr::V4(ip), listed_port);
                source = client_v4;
                self.hits.syn_ip_port += 1;
            } else if let Some(ip) = self.rng.pick(&self.sample.ips).copied() {
                destination = (IpAddr::V4(ip), port);
                source = client_v4;
                self.hits.syn_ip += 1;
            }
        }

        let tcp = TcpHeader {
            source_port: self.rng.range(32_768, 60_999) as u16,
            destination_port: destination.1,
            sequence: self.rng.next_u32(),
            acknowledgment: 0,
            flags: tcp_flags::SYN,
            window: 64_240,
        };
        let hosts = Hosts {
            source,
            destination: destination.0,
            ttl: 64,
        };
        self.ip_frame(client, true, hosts, Transport::Tcp(tcp))
    }

    pub(super) fn udp(&mut self) -> Option<()> {
        let flow = *self
            .network
            .flows
            .get(self.network.pick_flow(&mut self.rng))?;
        let (client_ip, server_ip) = flow.addresses(&self.network);

        let (server_port, length) = if self.rng.chance(0.75) {
            // QUIC: initial packets are padded to at least 1,200 bytes (RFC 9000 14.1).
            (443, self.rng.range(1200, 1350) as usize)
        } else {
            (123, 48)
        };
        self.payload.resize(length, 0);
        self.rng.fill(&mut self.payload);
        if let Some(first) = self.payload.first_mut() {
            // QUIC long header with fixed bit, or NTP version 4 in client mode.
            *first = if server_port == 443 { 0xC3 } else { 0x23 };
        }

        let upstream = self.rng.chance(0.5);
        let transport = if upstream {
            Transport::Udp {
                source_port: flow.client_port,
                destination_port: server_port,
            }
        } else {
            Transport::Udp {
                source_port: server_port,
                destination_port: flow.client_port,
            }
        };
        let hosts = if upstream {
            Hosts {
                source: client_ip,
                destination: server_ip,
                ttl: 64,
            }
        } else {
            Hosts {
                source: server_ip,
                destination: client_ip,
                ttl: 54,
            }
        };
        self.ip_frame(flow.client, upstream, hosts, transport)
    }

    pub(super) fn icmp(&mut self) -> Option<()> {
        let flow = *self
            .network
            .flows
            .get(self.network.pick_flow(&mut self.rng))?;
        let (client_ip, server_ip) = flow.addresses(&self.network);

        // The payload ping(8) sends: an 8-byte timestamp, then bytes 0x10, 0x11, ...
        self.payload.clear();
        self.payload.extend_from_slice(&self.micros.to_le_bytes());
        self.payload.extend(0x10..0x40u8);

        let reply = self.rng.chance(0.5);
        let transport = Transport::Echo {
            reply,
            identifier: flow.client_port,
            sequence: self.rng.below(1000) as u16,
        };
        let hosts = if reply {
            Hosts {
                source: server_ip,
                destination: client_ip,
                ttl: 54,
            }
        } else {
            Hosts {
                source: client_ip,
                destination: server_ip,
                ttl: 64,
            }
        };
        self.ip_frame(flow.client, !reply, hosts, transport)
    }

    pub(super) fn arp(&mut self) -> Option<()> {
        let asker = *self
            .network
            .clients
            .get(self.rng.index(self.network.clients.len()))?;
        let target = *self
            .network
            .clients
            .get(self.rng.index(self.network.clients.len()))?;

        if self.rng.chance(0.5) {
            let link = Link {
                source: asker.mac,
                destination: BROADCAST,
                vlan: asker.vlan,
            };
            let arp = Arp {
                operation: ArpOperation::Request,
                sender_mac: asker.mac,
                sender_ip: asker.v4,
                target_mac: [0; 6],
                target_ip: target.v4,
            };
            build_arp_frame(&mut self.frame, &link, &arp);
        } else {
            let link = Link {
                source: target.mac,
                destination: asker.mac,
                vlan: asker.vlan,
            };
            let arp = Arp {
                operation: ArpOperation::Reply,
                sender_mac: target.mac,
                sender_ip: target.v4,
                target_mac: asker.mac,
                target_ip: asker.v4,
            };
            build_arp_frame(&mut self.frame, &link, &arp);
        }
        Some(())
    }
}
