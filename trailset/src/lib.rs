//! Trail (indicator) lists in Maltrail's text format: loading, whitelisting and lookups.
//!
//! A trail tree such as `trails/static/` holds `<category>/<name>.txt` files with one
//! indicator per line: IPv4/IPv6 addresses, `address:port` endpoints, CIDR blocks, domains
//! (matching their subdomains), leading-dot TLD trails, `host/path` URLs, bare `/paths` and a
//! few regex-like domain patterns. [`TrailSet::load`] compiles the trees into one binary
//! store (described in `FORMAT.md`), and [`TrailSet::lookup_ip`], [`TrailSet::lookup_domain`]
//! and the other lookups match traffic against it in place, without allocating.
//!
//! [`StoreBuilder`] compiles trees and feeds into store bytes, [`write_store_atomic`] saves
//! them, and [`TrailSet::open`] maps a saved store read-only, so that start-up takes
//! milliseconds and several processes share the pages.
//!
//! ```
//! use trailwatch_trailset::{format_domain_trail, TrailSet};
//!
//! let files = [("malware/asyncrat.txt", "evil.com\n", false)];
//! let (set, _report) = TrailSet::from_text(&files, None).unwrap();
//!
//! let hit = set.lookup_domain("www.evil.com").unwrap();
//! assert_eq!(set.info(hit.source), "asyncrat (malware)");
//! assert_eq!(format_domain_trail("www.evil.com", &hit), "(www).evil.com");
//! ```

#![deny(unsafe_code)]

mod builder;
mod error;
mod format;
mod hash;
mod hit_ref;
mod host;
mod indicator;
mod ip_table;
mod line;
mod lookup;
mod pattern;
mod port_table;
mod punycode;
mod report;
mod source;
mod source_list;
mod store;
mod store_builder;
mod text_table;
mod trail_set;
mod url_table;
mod walk;
mod whitelist;

pub use error::TrailError;
pub use format::{format_domain_trail, format_url_trail};
pub use hit_ref::{HitRef, TrailSources};
pub use lookup::{DomainHit, EndpointHits, IpHit, UrlHit};
pub use report::{BadLine, KindCounts, LoadReport, MAX_REPORTED_BAD_LINES};
pub use source::{SourceId, CUSTOM_REFERENCE, STATIC_REFERENCE};
pub use store::error::{FormatError, StoreError};
pub use store::file::write_store_atomic;
pub use store::layout::STORE_FORMAT_VERSION;
pub use store_builder::StoreBuilder;
pub use trail_set::{TrailDir, TrailSet};
pub use whitelist::Whitelist;
