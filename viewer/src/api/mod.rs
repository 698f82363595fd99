//! Request handlers, grouped by area.

pub mod auth;
pub mod data;
pub mod maltrail;
pub mod setup;
pub mod stream;
