//! The simulated network behind a generated capture: clients on one LAN, servers behind a
//! router, the flows between them, and the benign names and paths they use.
//!
//! Benign values are drawn so that they match no trail. Server addresses skip every listed
//! address and CIDR, names skip those that are a listed domain, lie under one or end in a TLD
//! trail, and HTTP paths skip bare-path trails. Only planted hits should produce events.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::frame::{Mac, Vlan};
use crate::rng::Rng;
use crate::trails::Listed;

const CLIENT_COUNT: usize = 2_000;
const SERVER_COUNT: usize = 1_000;
const FLOW_COUNT: usize = 4_000;
const NAME_POOL: usize = 5_000;
const PATH_POOL: usize = 2_000;

/// Share of clients whose frames carry VLAN tags, and of those the share with two tags.
const VLAN_SHARE: f64 = 0.10;
const QINQ_SHARE_OF_VLAN: f64 = 0.20;

/// Share of flows (and so of IP packets) over IPv6.
pub const IPV6_SHARE: f64 = 0.15;

/// MAC address of the LAN's router, the next hop for all non-local traffic.
pub const ROUTER_MAC: Mac = [0x00, 0x1B, 0x21, 0x3A, 0x4F, 0x01];

/// The LAN's DNS resolvers.
pub const RESOLVER_V4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 53);
pub const RESOLVER_V6: Ipv6Addr = Ipv6Addr::new(0xFD00, 0, 0, 0, 0, 0, 0, 0x53);

/// TLDs for benign names; any that a TLD trail lists are dropped when the pool is built.
const TLDS: [&str; 14] = [
    "com", "net", "org", "io", "de", "co.uk", "fr", "nl", "info", "app", "dev", "jp", "eu", "ca",
];

const NAME_PREFIXES: [&str; 8] = ["", "", "www.", "api.", "cdn.", "static.", "mail.", "img."];

const SYLLABLES: [&str; 24] = [
    "ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "be", "da", "fu", "go", "ha", "ji", "ke",
    "ma", "no", "pi", "sa", "to", "wa", "ze", "qua", "ly",
];

const PATH_TEMPLATES: [&str; 12] = [
    "/",
    "/index.html",
    "/api/v1/items/",
    "/static/js/app.",
    "/images/photo-",
    "/search?q=",
    "/news/2026/",
    "/assets/css/main.css",
    "/favicon.ico",
    "/account/login",
    "/cart/add?sku=",
    "/v2/events?since=",
];

/// User-Agent values of common clients (browsers, curl, an OS updater).
pub const USER_AGENTS: [&str; 5] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
     Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7) AppleWebKit/605.1.15 (KHTML, like Gecko) \
     Version/18.1 Safari/605.1.15",
    "curl/8.11.0",
    "Microsoft-Delivery-Optimization/10.0",
];

/// A host on the LAN.
#[derive(Clone, Copy, Debug)]
pub struct Client {
    pub mac: Mac,
    pub v4: Ipv4Addr,
    pub v6: Ipv6Addr,
    pub vlan: Vlan,
}

/// A remote server.
#[derive(Clone, Copy, Debug)]
pub struct Server {
    pub v4: Ipv4Addr,
    pub v6: Ipv6Addr,
}

/// A long-lived TCP connection between a client and a server, with its sequence numbers.
#[derive(Clone, Copy, Debug)]
pub struct Flow {
    pub client: usize,
    pub server: usize,
    pub client_port: u16,
    pub server_port: u16,
    pub ipv6: bool,
    pub client_sequence: u32,
    pub server_sequence: u32,
}

impl Flow {
    /// Returns the client and server addresses in the flow's family.
    pub fn addresses(&self, network: &Network) -> (IpAddr, IpAddr) {
        let client = &network.clients[self.client];
        let server = &network.servers[self.server];
        if self.ipv6 {
            (IpAddr::V6(client.v6), IpAddr::V6(server.v6))
        } else {
            (IpAddr::V4(client.v4), IpAddr::V4(server.v4))
        }
    }
}

/// Everything the traffic mix draws endpoints and benign values from.
pub struct Network {
    pub clients: Vec<Client>,
    pub servers: Vec<Server>,
    pub flows: Vec<Flow>,
    pub names: Vec<String>,
    pub paths: Vec<String>,
}

impl Network {
    /// Builds the network from `rng`, avoiding everything in `listed`.
    pub fn build(rng: &mut Rng, listed: &Listed) -> Network {
        let clients = (0..CLIENT_COUNT)
            .map(|index| make_client(index, rng))
            .collect();
        let servers = (0..SERVER_COUNT)
            .map(|_| make_server(rng, listed))
            .collect();
        let flows = (0..FLOW_COUNT).map(|_| make_flow(rng)).collect();
        let names = make_names(rng, listed);
        let paths = make_paths(rng, listed);
        Network {
            clients,
            servers,
            flows,
            names,
            paths,
        }
    }

    /// Picks a flow index.
    pub fn pick_flow(&self, rng: &mut Rng) -> usize {
        rng.index(self.flows.len())
    }

    /// Picks a benign host name.
    pub fn pick_name<'a>(&'a self, rng: &mut Rng) -> &'a str {
        rng.pick(&self.names)
            .map_or("www.example.com", String::as_str)
    }

    /// Picks a benign HTTP request target.
    pub fn pick_path<'a>(&'a self, rng: &mut Rng) -> &'a str {
        rng.pick(&self.paths).map_or("/", String::as_str)
    }
}

fn make_client(index: usize, rng: &mut Rng) -> Client {
    // Clients start at 10.0.1.0, because 10.0.0.0/24 contains the router and resolver.
    let host = 256 + index as u32;
    let v4 = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 0)) + host);
    let v6 = Ipv6Addr::new(0xFD00, 0, 0, 0, 0, 0, (host >> 16) as u16, host as u16);
    let mac = [0x02, 0x42, 0x0A, 0x00, (host >> 8) as u8, host as u8];

    let vlan = if rng.chance(VLAN_SHARE) {
        let id = 10 + rng.below(4) as u16 * 10;
        if rng.chance(QINQ_SHARE_OF_VLAN) {
            Vlan::QinQ {
                outer: 100 + rng.below(3) as u16,
                inner: id,
            }
        } else {
            Vlan::Single(id)
        }
    } else {
        Vlan::Untagged
    };
    Client { mac, v4, v6, vlan }
}

fn make_server(rng: &mut Rng, listed: &Listed) -> Server {
    let v4 = loop {
        let candidate = Ipv4Addr::from(rng.next_u32());
        if is_public(candidate) && !listed.contains_ip(candidate) {
            break candidate;
        }
    };

    // Servers' IPv6 addresses come from the documentation prefix 2001:db8::/32 (RFC 3849).
    let low = rng.next_u64();
    let v6 = Ipv6Addr::from((0x2001_0DB8_u128 << 96) | u128::from(low));
    Server { v4, v6 }
}

fn is_public(ip: Ipv4Addr) -> bool {
    let [first, second, ..] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || first == 0
        || first >= 240
        || (first == 100 && (64..128).contains(&second)))
}

fn make_flow(rng: &mut Rng) -> Flow {
    let server_port = match rng.below(10) {
        0..=6 => 443,
        7 => 80,
        8 => 8443,
        _ => 22,
    };
    Flow {
        client: rng.index(CLIENT_COUNT),
        server: rng.index(SERVER_COUNT),
        client_port: rng.range(32_768, 60_999) as u16,
        server_port,
        ipv6: rng.chance(IPV6_SHARE),
        client_sequence: rng.next_u32(),
        server_sequence: rng.next_u32(),
    }
}

// NOTE: names are not checked against regex-like domain patterns. Those of the default tree
// require digits or fixed words that syllable labels never form, but another tree could match.
fn make_names(rng: &mut Rng, listed: &Listed) -> Vec<String> {
    let tlds: Vec<&str> = TLDS
        .iter()
        .copied()
        .filter(|tld| !listed.lists_tld(tld))
        .collect();
    let mut names = Vec::with_capacity(NAME_POOL);
    while names.len() < NAME_POOL && !tlds.is_empty() {
        let mut label = String::new();
        for _ in 0..rng.range(3, 5) {
            label.push_str(rng.pick(&SYLLABLES).copied().unwrap_or("ka"));
        }
        let prefix = rng.pick(&NAME_PREFIXES).copied().unwrap_or("");
        let tld = rng.pick(&tlds).copied().unwrap_or("com");
        let name = format!("{prefix}{label}.{tld}");

        if !listed.lists_domain(&name) {
            names.push(name);
        }
    }
    names
}

fn make_paths(rng: &mut Rng, listed: &Listed) -> Vec<String> {
    let mut paths = Vec::with_capacity(PATH_POOL);
    let mut attempts = 0;
    while paths.len() < PATH_POOL && attempts < PATH_POOL * 10 {
        attempts += 1;
        let template = rng.pick(&PATH_TEMPLATES).copied().unwrap_or("/");
        let path = match template.chars().last() {
            Some('/' | '.' | '-' | '=') if template.len() > 1 => {
                format!("{template}{}", rng.range(1, 99_999))
            }
            _ => template.to_string(),
        };
        if !listed.lists_path(&path) {
            paths.push(path);
        }
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_avoid_listed_domains() {
        let mut listed = Listed::default();
        let first = make_names(&mut Rng::new(4), &listed);
        listed.add_domain_for_test(first[0].trim_start_matches("www."));
        let second = make_names(&mut Rng::new(4), &listed);
        assert!(!second.contains(&first[0]));
    }

    #[test]
    fn reserved_addresses_are_not_public() {
        for ip in [
            "10.1.2.3",
            "192.168.0.1",
            "100.64.0.1",
            "192.0.2.5",
            "240.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        assert!(is_public(Ipv4Addr::new(8, 8, 8, 8)));
    }

    #[test]
    fn servers_avoid_listed_addresses() {
        let mut listed = Listed::default();
        listed.add_cidr_for_test(Ipv4Addr::new(0, 0, 0, 0), 1);
        let mut rng = Rng::new(1);
        for _ in 0..100 {
            assert!(make_server(&mut rng, &listed).v4.octets()[0] >= 128);
        }
    }

    #[test]
    fn names_avoid_listed_tlds() {
        let mut listed = Listed::default();
        for tld in TLDS.iter().filter(|tld| **tld != "org") {
            listed.add_tld_for_test(tld);
        }
        let names = make_names(&mut Rng::new(2), &listed);
        assert_eq!(names.len(), NAME_POOL);
        assert!(names.iter().all(|name| name.ends_with(".org")));
    }
}
