//! Packet decoding for the trailwatch sensor.
//!
//! Every parser here is a checked view over captured bytes: it validates lengths once, never
//! panics and never reads past the slice, and allocates nothing. Decoding is stateless; the
//! sensor keeps whatever per-flow state it needs.
//!
//! - [`decode`] walks one captured frame from its link layer through VLAN/MPLS/PPPoE tags and
//!   tunnels to the innermost IP packet and its transport header.
//! - [`dns`], [`http`] and [`tls`] read application messages out of transport payloads.

pub mod cooked;
pub mod decode;
pub mod dns;
pub mod http;
pub mod ip;
pub mod link;
pub mod linktype;
pub mod tls;
pub mod tunnel;



