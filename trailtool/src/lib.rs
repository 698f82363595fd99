//! Trail tooling: the feed catalogue and its parsers, downloads, store compilation, signing
//! and over-the-air store updates.

pub mod feeds;
