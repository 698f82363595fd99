//! Trail tooling: the feed catalogue and its parsers, downloads, store compilation, signing
//! and over-the-air store updates.

pub mod cache;
pub mod cli;
pub mod compile;
pub mod config;
pub mod feeds;
pub mod fetch;
pub mod inspect;
pub mod pull;
pub mod schedule;
pub mod sign;
pub mod update;
