//! IP networks in CIDR notation, as used for user scopes and the fail2ban allow list, and the
//! listen addresses of the server.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use thiserror::Error;

/// An IP network: an address and a prefix length. A bare address is a network of one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

/// Reason a network string could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid network {text:?}: expected an IP address or CIDR such as 10.0.0.0/8 or fd00::/8")]
pub struct IpNetError {
    pub text: String,
}

/// Reason a listen address could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "invalid listen address {text:?}: expected IP:PORT such as 0.0.0.0:8338 or [::]:8338; use \
     127.0.0.1 or [::1] in place of localhost, because host names are not resolved"
)]
pub struct ListenAddrError {
    pub text: String,
}

/// Parses a listen address `IP:PORT`, with an IPv6 address in brackets.
pub fn parse_listen_addr(text: &str) -> Result<SocketAddr, ListenAddrError> {
    text.parse().map_err(|_| ListenAddrError {
        text: text.to_string(),
    })
}

impl IpNet {
    /// Returns whether `ip` lies in this network. An IPv4 network never contains an IPv6
    /// address, except an IPv4-mapped one (`::ffff:a.b.c.d`), which is compared as IPv4.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            IpAddr::V4(_) => ip,
        };

        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_equal(u32::from(net).into(), u32::from(ip).into(), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_equal(u128::from(net), u128::from(ip), self.prefix, 128)
            }
            _ => false,
        }
    }

    /// Returns whether an IPv4 address, given as its 32-bit value, lies in this network.
    pub fn contains_v4(&self, ip: u32) -> bool {
        match self.addr {
            IpAddr::V4(net) => prefix_equal(u32::from(net).into(), ip.into(), self.prefix, 32),
            IpAddr::V6(_) => false,
        }
    }

    /// Returns whether this is an IPv4 network.
    pub fn is_v4(&self) -> bool {
        self.addr.is_ipv4()
    }
}

/// Compares the top `prefix` bits of two `width`-bit values held in a u128.
fn prefix_equal(a: u128, b: u128, prefix: u8, width: u32) -> bool {
    let host_bits = width - u32::from(prefix);
    if host_bits >= 128 {
        return true;
    }
    (a >> host_bits) == (b >> host_bits)
}

impl FromStr for IpNet {
    type Err = IpNetError;

    fn from_str(text: &str) -> Result<IpNet, IpNetError> {
        let error = || IpNetError {
            text: text.to_string(),
        };
        let (addr_text, prefix_text) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let addr: IpAddr = addr_text.parse().map_err(|_| error())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };

        let prefix = match prefix_text {
            None => max,
            Some(digits) => match digits.parse::<u8>() {
                Ok(prefix) if prefix <= max && !digits.starts_with('+') => prefix,
                _ => return Err(error()),
            },
        };

        Ok(IpNet { addr, prefix })
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl serde::Serialize for IpNet {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for IpNet {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<IpNet, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(text: &str) -> IpNet {
        text.parse().unwrap()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn v4_prefix_contains_hosts() {
        assert!(net("10.0.0.0/8").contains(ip("10.200.1.1")));
        assert!(!net("10.0.0.0/8").contains(ip("11.0.0.1")));
        assert!(net("0.0.0.0/0").contains(ip("203.0.113.9")));
    }

    #[test]
    fn bare_address_is_one_host() {
        assert!(net("127.0.0.1").contains(ip("127.0.0.1")));
        assert!(!net("127.0.0.1").contains(ip("127.0.0.2")));
    }

    #[test]
    fn v6_prefix_contains_hosts() {
        assert!(net("fd00::/8").contains(ip("fd12::1")));
        assert!(!net("fd00::/8").contains(ip("fe80::1")));
        assert!(net("::/0").contains(ip("2001:db8::1")));
    }

    #[test]
    fn mapped_v6_matches_v4_network() {
        assert!(net("192.0.2.0/24").contains(ip("::ffff:192.0.2.7")));
        assert!(!net("192.0.2.0/24").contains(ip("2001:db8::1")));
    }

    #[test]
    fn invalid_networks_rejected() {
        for text in [
            "",
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "10.0.0.0/",
            "10.0.0.0/+8",
        ] {
            assert!(text.parse::<IpNet>().is_err(), "{text:?} parsed");
        }
    }
}
