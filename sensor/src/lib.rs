//! The trailwatch sensor: reads captures, matches trails, writes the event log.
//!
//! The packet path is [`capture`] (libpcap) -> [`inspect`] (decode, extract, match) ->
//! [`output`] (ignore rules, throttle, log files). [`run`] ties them together for one
//! invocation of the binary.

pub mod capture;
pub mod cli;
pub mod ignore;
pub mod inspect;
pub mod matching;
pub mod output;
pub mod run;
pub mod signals;
pub mod stats;
pub mod streams;
pub mod trails;
