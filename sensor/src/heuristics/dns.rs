//! DNS heuristics: long and random-looking names, NXDOMAIN floods and generated names, DNS
//! exhaustion, likely tunnelling, and answers that point at a sinkhole or a parking service.
//!
//! The caller passes each query and response with the packet time. Every piece of state lives
//! in a [`WindowTable`] with a fixed capacity, and a detector reports one client and target at
//! most once per window. Names that no detector looks at are listed in [`names::is_exempt`].

mod answers;
mod config;
mod names;
mod table;

use std::borrow::Cow;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::net::IpAddr;

use trailwatch_event::TrailType;
use trailwatch_wire::dns::RCODE_NXDOMAIN;

pub use self::answers::{builtin_listed_answer, listed_answer_from_info, ListedAnswer};
pub use self::config::{
    DnsConfig, DnsConfigError, ExhaustionConfig, LongDomainConfig, NxdomainClientConfig,
    NxdomainDgaConfig, RandomLabelConfig, SinkholeConfig, TunnelingConfig, DETECTORS,
    MAX_EXHAUSTION_THRESHOLD, MAX_NXDOMAIN_CLIENT_THRESHOLD, MAX_WINDOW_SECS,
};
use self::names::SplitName;
use self::table::WindowTable;
use super::{Finding, TableStats};

/// Capacity of `dns.reported`, the (client, detector, name) keys already reported by the
/// detectors without a counting window. An entry is about 40 bytes.
pub const REPORTED_CAPACITY: usize = 16_384;

/// Capacity of `dns.nxdomain_by_client`. An entry holds up to `nxdomain_client.threshold` + 1
/// name hashes of 4 bytes, at most about 1 KiB, so the table stays below 5 MiB.
pub const NXDOMAIN_CLIENTS_CAPACITY: usize = 4096;

/// Capacity of `dns.subdomains_by_domain`. An entry holds a bitmap of [`SUBDOMAIN_BITS`] bits
/// (1 KiB), so the table stays below 3 MiB.
pub const EXHAUSTION_DOMAINS_CAPACITY: usize = 2048;

/// Capacity of `dns.tunneling_by_client_domain`. An entry is about 48 bytes.
pub const TUNNELING_PAIRS_CAPACITY: usize = 8192;

/// Size of the bitmap that estimates the distinct subdomains of one domain.
const SUBDOMAIN_BITS: usize = 8192;

/// DNS query types that tunnels prefer because their answers carry arbitrary bytes.
const QTYPE_NULL: u16 = 10;
const QTYPE_TXT: u16 = 16;

const INFO_LONG_DOMAIN: &str = "long domain (suspicious)";
const INFO_ENTROPY: &str = "entropy threshold domain (suspicious)";
const INFO_CONSONANTS: &str = "consonant threshold domain (suspicious)";
const INFO_EXCESSIVE_NXDOMAIN: &str = "excessive no such domain (suspicious)";
const INFO_ENTROPY_NXDOMAIN: &str = "entropy threshold no such domain (suspicious)";
const INFO_CONSONANTS_NXDOMAIN: &str = "consonant threshold no such domain (suspicious)";
const INFO_EXHAUSTION: &str = "potential dns exhaustion (suspicious)";
const INFO_TUNNELING: &str = "potential dns tunneling (suspicious)";
const INFO_PARKED: &str = "parked site (suspicious)";

/// The detectors whose findings share the `dns.reported` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Detector {
    LongDomain,
    RandomLabel,
    NxdomainDga,
    Sinkhole,
}

/// Distinct NXDOMAIN names of one client in the current window.
#[derive(Default)]
struct NxdomainNames {
    hashes: Vec<u32>,
    reported: bool,
}

/// Distinct subdomains of one base domain in the current window, estimated by linear counting
/// over a bitmap: with m bits of which z are zero, about m * ln(m / z) distinct values were
/// added. At 1000 values in 8192 bits the standard error is about 1 %.
struct SubdomainBitmap {
    words: Box<[u64; SUBDOMAIN_BITS / 64]>,
    ones: u32,
    reported: bool,
}

impl SubdomainBitmap {
    fn new() -> SubdomainBitmap {
        SubdomainBitmap {
            words: Box::new([0; SUBDOMAIN_BITS / 64]),
            ones: 0,
            reported: false,
        }
    }

    fn insert(&mut self, hash: u64) {
        let bit = (hash as usize) % SUBDOMAIN_BITS;
        let word = &mut self.words[bit / 64];
        let mask = 1u64 << (bit % 64);
        if *word & mask == 0 {
            *word |= mask;
            self.ones += 1;
        }
    }

    fn estimate(&self) -> f64 {
        let total = SUBDOMAIN_BITS as f64;
        let zeros = total - f64::from(self.ones);
        if zeros < 1.0 {
            return f64::INFINITY;
        }
        total * (total / zeros).ln()
    }
}

/// Counted tunnel-like queries of one client to one base domain in the current window.
#[derive(Default)]
struct TunnelCount {
    queries: u32,
    reported: bool,
}

/// State of the DNS heuristics.
pub struct DnsHeuristics {
    config: DnsConfig,
    /// Hash keys are random per instance, so that names cannot be chosen to collide.
    hasher: RandomState,
    reported: WindowTable<(IpAddr, Detector, u64), ()>,
    nxdomain_clients: WindowTable<IpAddr, NxdomainNames>,
    subdomains: WindowTable<u64, SubdomainBitmap>,
    tunneling: WindowTable<(IpAddr, u64), TunnelCount>,
}

impl Default for DnsHeuristics {
    fn default() -> Self {
        DnsHeuristics::new(&DnsConfig::default())
    }
}

impl fmt::Debug for DnsHeuristics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DnsHeuristics")
            .field("config", &self.config)
            .field("tables", &self.tables())
            .finish()
    }
}

impl DnsHeuristics {
    /// Creates the detectors with the thresholds of `config`. Call [`DnsConfig::validate`]
    /// first: a window of 0 seconds is used as 1 second here.
    pub fn new(config: &DnsConfig) -> DnsHeuristics {
        DnsHeuristics {
            config: config.clone(),
            hasher: RandomState::new(),
            reported: WindowTable::new(
                "dns.reported",
                REPORTED_CAPACITY,
                config.repeat_window_secs,
            ),
            nxdomain_clients: WindowTable::new(
                "dns.nxdomain_by_client",
                NXDOMAIN_CLIENTS_CAPACITY,
                config.nxdomain_client.window_secs,
            ),
            subdomains: WindowTable::new(
                "dns.subdomains_by_domain",
                EXHAUSTION_DOMAINS_CAPACITY,
                config.exhaustion.window_secs,
            ),
            tunneling: WindowTable::new(
                "dns.tunneling_by_client_domain",
                TUNNELING_PAIRS_CAPACITY,
                config.tunneling.window_secs,
            ),
        }
    }

    /// Looks at one query for `name` (lower case) of type `qtype` from `client` at `now_secs`.
    /// `whitelisted` is true when the name or one of its parents is on the whitelist, and then
    /// nothing is counted or reported.
    pub fn on_query(
        &mut self,
        now_secs: i64,
        client: IpAddr,
        name: &str,
        qtype: u16,
        whitelisted: bool,
        out: &mut Vec<Finding>,
    ) {
        let split = SplitName::new(name);
        if whitelisted || names::is_exempt(&split) {
            return;
        }

        let address_lookup = names::starts_with_address(name);
        if self.config.long_domain.enabled && !address_lookup {
            self.check_long_domain(now_secs, client, &split, out);
        }
        if self.config.random_label.enabled {
            self.check_random_label(now_secs, client, &split, out);
        }
        if self.config.exhaustion.enabled && !address_lookup && !is_blocklist_lookup(name) {
            self.count_subdomain(now_secs, &split, out);
        }
        if self.config.tunneling.enabled {
            self.count_tunnel_query(now_secs, client, &split, qtype, out);
        }
    }

    /// Looks at one response to `client` for `name` with response code `rcode` and the IPv4
    /// and IPv6 addresses of its answer section. Answer addresses are looked up in the
    /// built-in sinkhole list; [`DnsHeuristics::on_response_with`] takes another lookup.
    #[allow(clippy::too_many_arguments)]
    pub fn on_response(
        &mut self,
        now_secs: i64,
        client: IpAddr,
        name: &str,
        rcode: u8,
        answers: &[IpAddr],
        whitelisted: bool,
        out: &mut Vec<Finding>,
    ) {
        self.on_response_with(
            now_secs,
            client,
            name,
            rcode,
            answers,
            whitelisted,
            &mut builtin_listed_answer,
            out,
        );
    }

    /// Looks at one response like [`DnsHeuristics::on_response`], but finds the list of each
    /// answer address with `lookup`, for example the trail set through
    /// [`listed_answer_from_info`]. `lookup` runs for each answer address of a response with
    /// response code 0 until one is listed.
    #[allow(clippy::too_many_arguments)]
    pub fn on_response_with(
        &mut self,
        now_secs: i64,
        client: IpAddr,
        name: &str,
        rcode: u8,
        answers: &[IpAddr],
        whitelisted: bool,
        lookup: &mut dyn FnMut(IpAddr) -> Option<ListedAnswer>,
        out: &mut Vec<Finding>,
    ) {
        if whitelisted {
            return;
        }
        let split = SplitName::new(name);

        if rcode == 0 && self.config.sinkhole.enabled {
            if let Some(listed) = answers.iter().find_map(|&address| lookup(address)) {
                self.report_listed_answer(now_secs, client, &split, listed, out);
            }
            return;
        }

        if rcode != RCODE_NXDOMAIN || names::is_exempt(&split) {
            return;
        }
        if names::starts_with_address(name) || is_blocklist_lookup(name) {
            return;
        }
        if self.config.nxdomain_client.enabled {
            self.count_nxdomain(now_secs, client, &split, out);
        }
        if self.config.nxdomain_dga.enabled {
            self.check_generated_name(now_secs, client, &split, out);
        }
    }

    /// Returns the occupancy of every table.
    pub fn tables(&self) -> Vec<TableStats> {
        vec![
            self.reported.stats(),
            self.nxdomain_clients.stats(),
            self.subdomains.stats(),
            self.tunneling.stats(),
        ]
    }

    fn hash(&self, value: impl Hash) -> u64 {
        self.hasher.hash_one(value)
    }

    /// Returns true the first time in the repeat window that `detector` reports `target` for
    /// `client`.
    fn first_report(&mut self, now: i64, client: IpAddr, detector: Detector, target: &str) -> bool {
        let key = (client, detector, self.hash(target));
        let mut fresh = false;
        self.reported.get(now, &key, || fresh = true);
        fresh
    }

    fn check_long_domain(
        &mut self,
        now: i64,
        client: IpAddr,
        split: &SplitName<'_>,
        out: &mut Vec<Finding>,
    ) {
        let first = split.name.split('.').next().unwrap_or("");
        let min = self.config.long_domain.min_label_len as usize;
        if first.len() < min || first.contains('-') {
            return;
        }
        if self.first_report(now, client, Detector::LongDomain, split.name) {
            out.push(finding(split.trail(), INFO_LONG_DOMAIN));
        }
    }

    fn check_random_label(
        &mut self,
        now: i64,
        client: IpAddr,
        split: &SplitName<'_>,
        out: &mut Vec<Finding>,
    ) {
        let (Some(label), Some(base)) = (split.registrable_label(), split.base) else {
            return;
        };
        let config = &self.config.random_label;
        if label.len() < config.min_label_len as usize || label.contains('-') {
            return;
        }

        let info = if names::shannon_entropy(label) >= config.min_entropy_bits
            && names::vowel_share(label) <= config.max_vowel_share
        {
            INFO_ENTROPY
        } else if names::longest_consonant_run(label) >= config.min_consonant_run as usize {
            INFO_CONSONANTS
        } else {
            return;
        };
        if self.first_report(now, client, Detector::RandomLabel, base) {
            out.push(finding(split.trail(), info));
        }
    }

    fn count_subdomain(&mut self, now: i64, split: &SplitName<'_>, out: &mut Vec<Finding>) {
        let Some(base) = split.base else {
            return;
        };
        if split.subdomain.is_empty() || is_local_search_lookup(split.subdomain) {
            return;
        }

        let base_hash = self.hash(base);
        let subdomain_hash = self.hash(split.subdomain);
        let threshold = f64::from(self.config.exhaustion.threshold);
        let bitmap = self.subdomains.get(now, &base_hash, SubdomainBitmap::new);
        bitmap.insert(subdomain_hash);
        if !bitmap.reported && bitmap.estimate() > threshold {
            bitmap.reported = true;
            out.push(finding(split.trail(), INFO_EXHAUSTION));
        }
    }

    fn count_tunnel_query(
        &mut self,
        now: i64,
        client: IpAddr,
        split: &SplitName<'_>,
        qtype: u16,
        out: &mut Vec<Finding>,
    ) {
        let Some(base) = split.base else {
            return;
        };
        let long = split.subdomain.len() >= self.config.tunneling.min_subdomain_len as usize;
        let payload_type = matches!(qtype, QTYPE_TXT | QTYPE_NULL) && !split.subdomain.is_empty();
        if !long && !payload_type {
            return;
        }

        let key = (client, self.hash(base));
        let threshold = self.config.tunneling.threshold;
        let count = self.tunneling.get(now, &key, TunnelCount::default);
        count.queries = count.queries.saturating_add(1);
        if !count.reported && count.queries > threshold {
            count.reported = true;
            out.push(finding(split.trail(), INFO_TUNNELING));
        }
    }

    fn count_nxdomain(
        &mut self,
        now: i64,
        client: IpAddr,
        split: &SplitName<'_>,
        out: &mut Vec<Finding>,
    ) {
        // 32 bits of a keyed hash: two of a client's names collide with odds of about
        // threshold^2 / 2^33, which only delays the finding by one name.
        let name_hash = self.hash(split.name) as u32;
        let threshold = self.config.nxdomain_client.threshold as usize;
        let names = self
            .nxdomain_clients
            .get(now, &client, NxdomainNames::default);
        if names.reported || names.hashes.contains(&name_hash) {
            return;
        }
        names.hashes.push(name_hash);
        if names.hashes.len() > threshold {
            names.reported = true;
            names.hashes = Vec::new();
            out.push(finding(split.name.to_owned(), INFO_EXCESSIVE_NXDOMAIN));
        }
    }

    fn check_generated_name(
        &mut self,
        now: i64,
        client: IpAddr,
        split: &SplitName<'_>,
        out: &mut Vec<Finding>,
    ) {
        if !split.subdomain.is_empty() {
            return;
        }
        let Some(label) = split.registrable_label() else {
            return;
        };
        if label.contains('-') {
            return;
        }

        let config = &self.config.nxdomain_dga;
        let info = if names::shannon_entropy(label) > config.entropy_bits {
            INFO_ENTROPY_NXDOMAIN
        } else if names::consonant_count(label) > config.consonant_count as usize {
            INFO_CONSONANTS_NXDOMAIN
        } else {
            return;
        };
        if self.first_report(now, client, Detector::NxdomainDga, split.name) {
            out.push(finding(split.trail(), info));
        }
    }

    fn report_listed_answer(
        &mut self,
        now: i64,
        client: IpAddr,
        split: &SplitName<'_>,
        listed: ListedAnswer,
        out: &mut Vec<Finding>,
    ) {
        if !self.first_report(now, client, Detector::Sinkhole, split.name) {
            return;
        }
        let info = match listed {
            ListedAnswer::Sinkhole { operator } => {
                Cow::Owned(format!("sinkholed by {operator} (malware)"))
            }
            ListedAnswer::Parking => Cow::Borrowed(INFO_PARKED),
        };
        out.push(Finding {
            trail_type: TrailType::Dns,
            trail: split.trail(),
            info,
        });
    }
}

fn finding(trail: String, info: &'static str) -> Finding {
    Finding {
        trail_type: TrailType::Dns,
        trail,
        info: Cow::Borrowed(info),
    }
}

/// Returns true for names that look like DNS blocklist lookups, whose misses and many distinct
/// subdomains are normal on mail servers: a label ending in `bl`, as in `dbl`, `rbl`, `dnsbl`
/// or `uribl`.
///
/// NOTE: an approximation that names the label, not the service. A blocklist under another
/// name can still trip the NXDOMAIN and exhaustion detectors and needs a whitelist entry.
fn is_blocklist_lookup(name: &str) -> bool {
    name.split('.').any(|label| label.ends_with("bl"))
}

/// Returns true for subdomains that resolvers produce by appending search domains to local
/// names, which Maltrail also ignores: `wpad` and `autodiscover`.
fn is_local_search_lookup(subdomain: &str) -> bool {
    let first = subdomain.split('.').next().unwrap_or("");
    matches!(first, "wpad" | "autodiscover" | "isatap")
}

#[cfg(test)]
mod tests;
