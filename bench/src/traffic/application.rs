//! Application messages of the mix, where hits are planted: DNS, HTTP and TLS.

use std::net::{IpAddr, Ipv4Addr};

use super::{Mix, PendingAnswer};
use crate::dns::{self, RecordType};
use crate::frame::{tcp_flags, Hosts, TcpHeader, Transport};
use crate::http::{self, HttpRequest};
use crate::network::{Flow, RESOLVER_V4, RESOLVER_V6, USER_AGENTS};
use crate::tls;
use crate::trails::UrlTrail;

impl Mix<'_> {
    pub(super) fn dns(&mut self) -> Option<()> {
        if let Some(pending) = self.pending_answer.take() {
            return self.dns_response(pending);
        }

        let flow = *self
            .network
            .flows
            .get(self.network.pick_flow(&mut self.rng))?;
        let name = if self.plant() && !self.sample.domains.is_empty() {
            self.hits.dns_query += 1;
            self.rng.pick(&self.sample.domains)?.clone()
        } else {
            self.network.pick_name(&mut self.rng).to_string()
        };
        let kind = if self.rng.chance(0.25) {
            RecordType::Aaaa
        } else {
            RecordType::A
        };
        let id = self.rng.next_u32() as u16;
        let client_port = self.rng.range(32_768, 60_999) as u16;
        dns::build_query(&mut self.payload, id, &name, kind)?;

        let (client_ip, _) = flow.addresses(&self.network);
        let resolver = if flow.ipv6 {
            IpAddr::V6(RESOLVER_V6)
        } else {
            IpAddr::V4(RESOLVER_V4)
        };
        let hosts = Hosts {
            source: client_ip,
            destination: resolver,
            ttl: 64,
        };
        let transport = Transport::Udp {
            source_port: client_port,
            destination_port: 53,
        };
        self.ip_frame(flow.client, true, hosts, transport)?;

        self.pending_answer = Some(PendingAnswer {
            client: flow.client,
            ipv6: flow.ipv6,
            id,
            client_port,
            name,
            kind,
        });
        Some(())
    }

    fn dns_response(&mut self, query: PendingAnswer) -> Option<()> {
        let mut answers = [IpAddr::V4(Ipv4Addr::UNSPECIFIED); 3];
        let count = self.rng.range(1, 3) as usize;
        for answer in answers.iter_mut().take(count) {
            let server = self.rng.pick(&self.network.servers)?;
            *answer = match query.kind {
                RecordType::A => IpAddr::V4(server.v4),
                RecordType::Aaaa => IpAddr::V6(server.v6),
            };
        }
        let ttl = self.rng.range(30, 3600) as u32;
        let answers = answers.get(..count)?;
        dns::build_response(
            &mut self.payload,
            query.id,
            &query.name,
            query.kind,
            answers,
            ttl,
        )?;

        let client = self.network.clients.get(query.client)?;
        let (resolver, client_ip) = if query.ipv6 {
            (IpAddr::V6(RESOLVER_V6), IpAddr::V6(client.v6))
        } else {
            (IpAddr::V4(RESOLVER_V4), IpAddr::V4(client.v4))
        };
        let hosts = Hosts {
            source: resolver,
            destination: client_ip,
            ttl: 64,
        };
        let transport = Transport::Udp {
            source_port: 53,
            destination_port: query.client_port,
        };
        self.ip_frame(query.client, false, hosts, transport)
    }

    pub(super) fn http(&mut self) -> Option<()> {
        let flow = *self
            .network
            .flows
            .get(self.network.pick_flow(&mut self.rng))?;
        let (mut client_ip, mut server_ip) = flow.addresses(&self.network);
        let mut port = match self.rng.below(20) {
            0 => 8080,
            1 => 8000,
            2 => 8888,
            _ => 80,
        };

        let mut host = self.network.pick_name(&mut self.rng).to_string();
        let mut path = self.network.pick_path(&mut self.rng).to_string();
        if self.plant() {
            if self.rng.chance(0.5) && !self.sample.urls.is_empty() {
                let url: UrlTrail = self.rng.pick(&self.sample.urls)?.clone();
                port = url.port.unwrap_or(80);
                if let Ok(ip) = url.host.parse::<Ipv4Addr>() {
                    client_ip = IpAddr::V4(self.network.clients.get(flow.client)?.v4);
                    server_ip = IpAddr::V4(ip);
                }
                host = url.host;
                path = url.path;
                self.hits.http_url += 1;
            } else if let Some(name) = self.rng.pick(&self.sample.domains) {
                host = name.clone();
                self.hits.http_host += 1;
            }
        }
        if port != 80 {
            host = format!("{host}:{port}");
        }

        let post = self.rng.chance(0.2);
        let body = if post {
            format!("id={}&t={}", self.rng.below(1 << 20), self.rng.next_u32())
        } else {
            String::new()
        };
        let request = HttpRequest {
            method: if post { "POST" } else { "GET" },
            host: &host,
            path: &path,
            user_agent: self
                .rng
                .pick(&USER_AGENTS)
                .copied()
                .unwrap_or("curl/8.11.0"),
            body: body.as_bytes(),
        };
        http::build_request(&mut self.payload, &request);

        let hosts = Hosts {
            source: client_ip,
            destination: server_ip,
            ttl: 64,
        };
        self.ip_frame(flow.client, true, hosts, self.client_segment(&flow, port))
    }

    pub(super) fn tls(&mut self) -> Option<()> {
        let flow = *self
            .network
            .flows
            .get(self.network.pick_flow(&mut self.rng))?;
        let (client_ip, server_ip) = flow.addresses(&self.network);

        let name = if self.plant() && !self.sample.domains.is_empty() {
            self.hits.tls_sni += 1;
            self.rng.pick(&self.sample.domains)?.clone()
        } else {
            self.network.pick_name(&mut self.rng).to_string()
        };
        tls::build_client_hello(&mut self.payload, &name, &mut self.rng)?;

        let hosts = Hosts {
            source: client_ip,
            destination: server_ip,
            ttl: 64,
        };
        self.ip_frame(flow.client, true, hosts, self.client_segment(&flow, 443))
    }

    /// Returns a client-to-server data segment header of `flow`, to `port`.
    fn client_segment(&self, flow: &Flow, port: u16) -> Transport {
        Transport::Tcp(TcpHeader {
            source_port: flow.client_port,
            destination_port: port,
            sequence: flow.client_sequence,
            acknowledgment: flow.server_sequence,
            flags: tcp_flags::ACK | tcp_flags::PSH,
            window: 502,
        })
    }
}
