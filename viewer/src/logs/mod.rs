//! Reading the daily logs: per-file indexes, filters, queries and summaries.

pub mod aggregate;
pub mod cache;
pub mod counts;
pub mod entry;
pub mod fields;
pub mod filter;
pub mod index;
pub mod index_queue;
pub mod needle;
pub mod newest;
pub mod query;
pub mod reader;
pub mod record;
pub mod severity;
pub mod tail;
