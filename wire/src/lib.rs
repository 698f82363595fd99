//! Packet decoding for the trailwatch sensor.
//!
//! Every parser here is a checked view over captured bytes: it validates lengths once, never
//! panics and never reads past the slice, and allocates nothing. Decoding is stateless; the
//! sensor keeps whatever per-flow state it needs.
//!
//! - [`decode`] walks one captured frame from its link layer through VLAN/MPLS/PPPoE tags and
//!   tunnels to the innermost IP packet and its transport header.
//! - [`dns`], [`http`] and [`tls`] read application messages out of transport payloads.
//! - [`arp`] reads ARP frames, which [`decode`] skips as not IP.
//!
//! The decoder is split by layer: `linktype` names the capture link types, `cooked` reads
//! capture pseudo-headers (BSD loopback, Linux SLL/SLL2, NFLOG), `link` reads Ethernet, VLAN,
//! MPLS, PPPoE and PPP, `ip` reads IP and transport headers, and `tunnel` finds the packet
//! inside IP-in-IP, GRE, VXLAN, Geneve and Teredo.

pub mod arp;
mod cooked;
mod decode;
pub mod dns;
pub mod http;
mod ip;
mod link;
mod linktype;
pub mod tls;
mod tunnel;

pub use decode::{decode, Decoded, SkipReason, MAX_TUNNEL_DEPTH};
pub use ip::{IcmpFields, TcpFields, TcpFlags};
pub use link::MAX_LINK_HEADERS;
pub use linktype::LinkType;
