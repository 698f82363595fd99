//! The trailwatch sensor: captures packets or reads capture files, matches trails, writes the
//! event log and hands each event to the outputs.
//!
//! The packet path is [`capture`] (libpcap) -> [`inspect`] (decode, extract, match) ->
//! [`output`] (ignore rules, throttle, log files, outputs). [`settings`] merges the
//! [`config`] file with the [`cli`] flags; [`run`] reads capture files and [`daemon`] runs
//! the live capture, with [`reload`] on SIGHUP and [`privileges`] for the switch to an
//! unprivileged user. [`check`] is `--check`.

pub mod capture;
pub mod check;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod heuristics;
pub mod ignore;
pub mod inspect;
pub mod matching;
pub mod output;
pub mod privileges;
pub mod reload;
pub mod run;
pub mod settings;
pub mod signals;
pub mod stats;
pub mod streams;
pub mod trails;
