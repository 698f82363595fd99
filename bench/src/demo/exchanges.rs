//! The packet exchanges the demo story is made of: ARP, ping, DNS lookups, NTP, and TCP
//! connections carrying TLS or HTTP.

use std::net::IpAddr;

use super::{
    Demo, DemoError, BROWSER_AGENT, GATEWAY_MAC, GATEWAY_V4, GATEWAY_V6, WORKSTATION_MAC,
    WORKSTATION_V4, WORKSTATION_V6,
};
use crate::dns::{self, RecordType};
use crate::frame::{
    build_arp_frame, build_ip_frame, tcp_flags, Arp, ArpOperation, Hosts, Link, TcpHeader,
    Transport, Vlan, BROADCAST,
};
use crate::http::{self, HttpRequest};
use crate::tls;

/// A TCP connection from the workstation, with the next sequence number of each side.
struct Connection {
    client: IpAddr,
    server: IpAddr,
    client_port: u16,
    server_port: u16,
    client_next: u32,
    server_next: u32,
}

impl Demo {
    pub(super) fn wait_ms(&mut self, milliseconds: u64) {
        self.micros += milliseconds * 1000;
    }

    /// Writes `self.frame` a little after the previous frame.
    fn emit(&mut self) {
        self.micros += self.rng.range(40, 900);
        self.writer.write(self.micros, &self.frame);
    }

    /// Sends `self.payload` over IP between the workstation and the far side.
    fn send(
        &mut self,
        outbound: bool,
        hosts: Hosts,
        transport: Transport,
    ) -> Result<(), DemoError> {
        let (source, destination) = if outbound {
            (WORKSTATION_MAC, GATEWAY_MAC)
        } else {
            (GATEWAY_MAC, WORKSTATION_MAC)
        };
        let link = Link {
            source,
            destination,
            vlan: Vlan::Untagged,
        };
        build_ip_frame(&mut self.frame, &link, &hosts, &transport, &self.payload)
            .ok_or(DemoError::Encode("IP frame"))?;
        self.emit();
        Ok(())
    }

    pub(super) fn arp_for_gateway(&mut self) {
        let request = Arp {
            operation: ArpOperation::Request,
            sender_mac: WORKSTATION_MAC,
            sender_ip: WORKSTATION_V4,
            target_mac: [0; 6],
            target_ip: GATEWAY_V4,
        };
        let link = Link {
            source: WORKSTATION_MAC,
            destination: BROADCAST,
            vlan: Vlan::Untagged,
        };
        build_arp_frame(&mut self.frame, &link, &request);
        self.emit();

        let reply = Arp {
            operation: ArpOperation::Reply,
            sender_mac: GATEWAY_MAC,
            sender_ip: GATEWAY_V4,
            target_mac: WORKSTATION_MAC,
            target_ip: WORKSTATION_V4,
        };
        let link = Link {
            source: GATEWAY_MAC,
            destination: WORKSTATION_MAC,
            vlan: Vlan::Untagged,
        };
        build_arp_frame(&mut self.frame, &link, &reply);
        self.emit();
    }

    pub(super) fn ping_gateway(&mut self, gateway: IpAddr, count: u16) -> Result<(), DemoError> {
        let workstation = match gateway {
            IpAddr::V4(_) => IpAddr::V4(WORKSTATION_V4),
            IpAddr::V6(_) => IpAddr::V6(WORKSTATION_V6),
        };
        for sequence in 1..=count {
            self.payload.clear();
            self.payload.extend_from_slice(&self.micros.to_le_bytes());
            self.payload.extend(0x10..0x38u8);

            let out = Hosts {
                source: workstation,
                destination: gateway,
                ttl: 64,
            };
            let request = Transport::Echo {
                reply: false,
                identifier: 0x4D2,
                sequence,
            };
            self.send(true, out, request)?;

            let back = Hosts {
                source: gateway,
                destination: workstation,
                ttl: 64,
            };
            let reply = Transport::Echo {
                reply: true,
                identifier: 0x4D2,
                sequence,
            };
            self.send(false, back, reply)?;
            self.wait_ms(1000);
        }
        Ok(())
    }

    /// Writes a DNS query to the gateway's resolver and the resolver's answer, in the answer's
    /// address family.
    pub(super) fn dns_lookup(&mut self, name: &str, answer: IpAddr) -> Result<(), DemoError> {
        let (workstation, resolver, kind) = match answer {
            IpAddr::V4(_) => (
                IpAddr::V4(WORKSTATION_V4),
                IpAddr::V4(GATEWAY_V4),
                RecordType::A,
            ),
            IpAddr::V6(_) => (
                IpAddr::V6(WORKSTATION_V6),
                IpAddr::V6(GATEWAY_V6),
                RecordType::Aaaa,
            ),
        };
        let id = self.rng.next_u32() as u16;
        let port = self.rng.range(49_152, 65_535) as u16;

        dns::build_query(&mut self.payload, id, name, kind)
            .ok_or(DemoError::Encode("DNS query"))?;
        let out = Hosts {
            source: workstation,
            destination: resolver,
            ttl: 64,
        };
        self.send(
            true,
            out,
            Transport::Udp {
                source_port: port,
                destination_port: 53,
            },
        )?;

        dns::build_response(&mut self.payload, id, name, kind, &[answer], 300)
            .ok_or(DemoError::Encode("DNS response"))?;
        let back = Hosts {
            source: resolver,
            destination: workstation,
            ttl: 64,
        };
        self.send(
            false,
            back,
            Transport::Udp {
                source_port: 53,
                destination_port: port,
            },
        )
    }

    pub(super) fn ntp_exchange(&mut self, server: IpAddr) -> Result<(), DemoError> {
        let port = self.rng.range(49_152, 65_535) as u16;
        self.payload.clear();
        self.payload.resize(48, 0);
        self.rng.fill(&mut self.payload[40..]);
        self.payload[0] = 0x23;
        let out = Hosts {
            source: IpAddr::V4(WORKSTATION_V4),
            destination: server,
            ttl: 64,
        };
        self.send(
            true,
            out,
            Transport::Udp {
                source_port: port,
                destination_port: 123,
            },
        )?;

        self.rng.fill(&mut self.payload[16..]);
        self.payload[0] = 0x24;
        self.payload[1] = 2;
        let back = Hosts {
            source: server,
            destination: out.source,
            ttl: 56,
        };
        self.send(
            false,
            back,
            Transport::Udp {
                source_port: 123,
                destination_port: port,
            },
        )
    }

    fn connect(&mut self, server: IpAddr, server_port: u16) -> Result<Connection, DemoError> {
        let client = match server {
            IpAddr::V4(_) => IpAddr::V4(WORKSTATION_V4),
            IpAddr::V6(_) => IpAddr::V6(WORKSTATION_V6),
        };
        let mut connection = Connection {
            client,
            server,
            client_port: self.rng.range(49_152, 65_535) as u16,
            server_port,
            client_next: self.rng.next_u32(),
            server_next: self.rng.next_u32(),
        };

        self.payload.clear();
        self.segment(&connection, true, tcp_flags::SYN)?;
        connection.client_next = connection.client_next.wrapping_add(1);
        self.segment(&connection, false, tcp_flags::SYN | tcp_flags::ACK)?;
        connection.server_next = connection.server_next.wrapping_add(1);
        self.segment(&connection, true, tcp_flags::ACK)?;
        Ok(connection)
    }

    /// Sends one segment carrying `self.payload` in the given direction.
    fn segment(
        &mut self,
        connection: &Connection,
        outbound: bool,
        flags: u8,
    ) -> Result<(), DemoError> {
        let mut tcp = TcpHeader {
            source_port: connection.client_port,
            destination_port: connection.server_port,
            sequence: connection.client_next,
            acknowledgment: connection.server_next,
            flags,
            window: if flags & tcp_flags::SYN != 0 {
                64_240
            } else {
                502
            },
        };
        let mut hosts = Hosts {
            source: connection.client,
            destination: connection.server,
            ttl: 64,
        };

        if !outbound {
            std::mem::swap(&mut tcp.source_port, &mut tcp.destination_port);
            std::mem::swap(&mut tcp.sequence, &mut tcp.acknowledgment);
            std::mem::swap(&mut hosts.source, &mut hosts.destination);
            hosts.ttl = 52;
        }
        if flags & tcp_flags::ACK == 0 {
            tcp.acknowledgment = 0;
        }
        self.send(outbound, hosts, Transport::Tcp(tcp))
    }

    /// Sends `data` in one segment and the peer's acknowledgment.
    fn transfer(
        &mut self,
        connection: &mut Connection,
        outbound: bool,
        data: &[u8],
    ) -> Result<(), DemoError> {
        self.payload.clear();
        self.payload.extend_from_slice(data);
        self.segment(connection, outbound, tcp_flags::PSH | tcp_flags::ACK)?;

        let advance = data.len() as u32;
        if outbound {
            connection.client_next = connection.client_next.wrapping_add(advance);
        } else {
            connection.server_next = connection.server_next.wrapping_add(advance);
        }
        self.payload.clear();
        self.segment(connection, !outbound, tcp_flags::ACK)
    }

    fn close(&mut self, connection: &mut Connection) -> Result<(), DemoError> {
        self.payload.clear();
        self.segment(connection, true, tcp_flags::FIN | tcp_flags::ACK)?;
        connection.client_next = connection.client_next.wrapping_add(1);
        self.segment(connection, false, tcp_flags::FIN | tcp_flags::ACK)?;
        connection.server_next = connection.server_next.wrapping_add(1);
        self.segment(connection, true, tcp_flags::ACK)
    }

    /// Opens a TLS connection to `server` with SNI `name`, receives `records` encrypted
    /// records from the server and closes the connection.
    pub(super) fn https_visit(
        &mut self,
        name: &str,
        server: IpAddr,
        records: usize,
    ) -> Result<(), DemoError> {
        let mut connection = self.connect(server, 443)?;

        let mut hello = Vec::new();
        tls::build_client_hello(&mut hello, name, &mut self.rng)
            .ok_or(DemoError::Encode("ClientHello"))?;
        self.transfer(&mut connection, true, &hello)?;

        for _ in 0..records {
            let length = self.rng.range(150, 700) as usize;
            let mut record = vec![0x17, 0x03, 0x03];
            record.extend_from_slice(&(length as u16).to_be_bytes());
            let start = record.len();
            record.resize(start + length, 0);
            self.rng.fill(&mut record[start..]);
            self.transfer(&mut connection, false, &record)?;
        }
        self.close(&mut connection)
    }

    /// Sends a plain HTTP GET and receives a three-segment response.
    pub(super) fn http_visit(
        &mut self,
        host: &str,
        path: &str,
        server: IpAddr,
    ) -> Result<(), DemoError> {
        let mut connection = self.connect(server, 80)?;

        let mut request = Vec::new();
        let message = HttpRequest {
            method: "GET",
            host,
            path,
            user_agent: BROWSER_AGENT,
            body: b"",
        };
        http::build_request(&mut request, &message);
        self.transfer(&mut connection, true, &request)?;

        let page = "<html><body>Nothing to see here.</body></html>\n".repeat(60);
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n",
            page.len()
        );
        let response = head + &page;
        for chunk in response.as_bytes().chunks(1400) {
            self.transfer(&mut connection, false, chunk)?;
        }
        self.close(&mut connection)
    }

    /// Sends a plain HTTP POST of a form `body` and receives a short "ok" response.
    pub(super) fn http_post(
        &mut self,
        host: &str,
        path: &str,
        server: IpAddr,
        body: &[u8],
    ) -> Result<(), DemoError> {
        let mut connection = self.connect(server, 80)?;

        let mut request = Vec::new();
        let message = HttpRequest {
            method: "POST",
            host,
            path,
            user_agent: BROWSER_AGENT,
            body,
        };
        http::build_request(&mut request, &message);
        self.transfer(&mut connection, true, &request)?;

        let response = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nok";
        self.transfer(&mut connection, false, response)?;
        self.close(&mut connection)
    }

    /// Sends a SYN that gets no reply, then retries it after 1 s and again 2 s later.
    pub(super) fn unanswered_syn(&mut self, server: IpAddr, port: u16) -> Result<(), DemoError> {
        let connection = Connection {
            client: IpAddr::V4(WORKSTATION_V4),
            server,
            client_port: self.rng.range(49_152, 65_535) as u16,
            server_port: port,
            client_next: self.rng.next_u32(),
            server_next: 0,
        };
        self.payload.clear();
        for backoff_ms in [1000, 2000, 0] {
            self.segment(&connection, true, tcp_flags::SYN)?;
            self.wait_ms(backoff_ms);
        }
        Ok(())
    }
}
