//! Trail tooling: the feed catalogue and its parsers, downloads, store compilation, signing
//! and over-the-air store updates.

pub mod cache;
pub mod config;
pub mod feeds;
pub mod fetch;
pub mod sign;
