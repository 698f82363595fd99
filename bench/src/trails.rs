//! Reading a trail tree for the generator: a seeded sample of indicators to plant as hits, and
//! the listed addresses, TLDs and paths that benign traffic must avoid.
//!
//! The line rules follow the trail format the sensor loads: one indicator per line, `#`
//! comments, and a trailing ` # comment` or a leading `http://` or `https://` stripped. Only
//! the kinds the generator can plant are kept, which are plain domains, IPv4 addresses, IPv4
//! `ip:port` pairs and `host/path` URLs. Everything else is skipped silently, because deciding
//! which lines are bad is the sensor's job, not the generator's.

use std::collections::HashSet;
use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use crate::dns;
use crate::rng::Rng;

/// The default trail tree, the one the sensor loads when started without `--trails`.
pub const DEFAULT_TRAILS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../trails/static");

/// How many indicators of each kind the sample keeps. A few hundred in all is enough to spread
/// hits over many trail files without making every hit packet unique.
const SAMPLE_PER_KIND: usize = 100;

/// A failure to read a trail tree.
#[derive(Debug, thiserror::Error)]
pub enum TrailsError {
    #[error("failed to read trail path {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no *.txt trail files found under {0}")]
    Empty(PathBuf),
}

/// A `host/path` trail. `host` is lower case; `path` starts with `/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlTrail {
    pub host: String,
    /// The port written in the trail (`host:8080/path`), if any.
    pub port: Option<u16>,
    pub path: String,
}

/// Indicators sampled for planting, each list in file order of the tree walk.
#[derive(Clone, Debug, Default)]
pub struct TrailSample {
    pub domains: Vec<String>,
    pub ip_ports: Vec<(Ipv4Addr, u16)>,
    pub urls: Vec<UrlTrail>,
    pub ips: Vec<Ipv4Addr>,
}

/// Listed values that benign traffic must not touch by accident.
#[derive(Clone, Debug, Default)]
pub struct Listed {
    ips: HashSet<u32>,
    /// (network, mask) pairs of the IPv4 CIDR trails.
    cidrs: Vec<(u32, u32)>,
    tlds: HashSet<String>,
    bare_paths: HashSet<String>,
    /// [`domain_key`] of every domain trail.
    domains: HashSet<u64>,
}

impl Listed {
    /// Returns true when `ip` is listed as an address, in an `ip:port` trail or in a CIDR.
    pub fn contains_ip(&self, ip: Ipv4Addr) -> bool {
        let value = u32::from(ip);
        self.ips.contains(&value)
            || self
                .cidrs
                .iter()
                .any(|(network, mask)| value & mask == *network)
    }

    /// Returns true when `name` or one of its parent domains is a domain trail. A hash
    /// collision can make this return true for an unlisted name, which only costs the
    /// generator one benign name.
    pub fn lists_domain(&self, name: &str) -> bool {
        let mut rest = name;
        loop {
            if self.domains.contains(&domain_key(rest)) {
                return true;
            }
            match rest.split_once('.') {
                Some((_, parent)) => rest = parent,
                None => return false,
            }
        }
    }

    /// Returns true when a name ending in `.suffix` would match a TLD trail such as `.cc`.
    /// `suffix` is given without its leading dot (`"co.uk"`).
    pub fn lists_tld(&self, suffix: &str) -> bool {
        let mut rest = suffix;
        loop {
            if self.tlds.contains(rest) {
                return true;
            }
            match rest.split_once('.') {
                Some((_, parent)) => rest = parent,
                None => return false,
            }
        }
    }

    /// Returns true when a bare-path trail matches a prefix of `path` that ends at `/`, `?`,
    /// `&`, `=` or at the end of the path.
    pub fn lists_path(&self, path: &str) -> bool {
        let listed = |end: usize| path.get(..end).is_some_and(|p| self.bare_paths.contains(p));
        let mut delimiters = path.match_indices(['/', '?', '&', '=']);
        listed(path.len()) || delimiters.any(|(at, _)| listed(at) || listed(at + 1))
    }
}

#[cfg(test)]
impl Listed {
    pub fn add_cidr_for_test(&mut self, network: Ipv4Addr, bits: u32) {
        let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
        self.cidrs.push((u32::from(network) & mask, mask));
    }

    pub fn add_tld_for_test(&mut self, suffix: &str) {
        self.tlds.insert(suffix.to_string());
    }

    pub fn add_domain_for_test(&mut self, name: &str) {
        self.domains.insert(domain_key(name));
    }
}

/// Hashes a lower-case domain (FNV-1a, 64 bits) so that the listed set stays small: storing
/// the 1.4 million names of the default tree as strings would take about 100 MB.
fn domain_key(name: &str) -> u64 {
    name.bytes().fold(0xCBF2_9CE4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01B3)
    })
}

/// One line of a trail file, classified for the generator's purposes.
#[derive(Debug, PartialEq, Eq)]
enum TrailLine<'a> {
    Domain(&'a str),
    Tld(&'a str),
    Ip(Ipv4Addr),
    IpPort(Ipv4Addr, u16),
    Cidr {
        network: u32,
        mask: u32,
    },
    Url {
        host: &'a str,
        port: Option<u16>,
        path: &'a str,
    },
    BarePath(&'a str),
}

/// Reads every `*.txt` file under `dir` (recursively, in sorted order) and returns a seeded
/// sample of plantable indicators plus the listed values benign traffic must avoid. The same
/// tree and the same `rng` state give the same result.
pub fn scan(dir: &Path, rng: &mut Rng) -> Result<(TrailSample, Listed), TrailsError> {
    let mut files = Vec::new();
    collect_trail_files(dir, &mut files)?;
    if files.is_empty() {
        return Err(TrailsError::Empty(dir.to_path_buf()));
    }

    let mut sampler = Sampler::default();
    let mut listed = Listed::default();
    for file in &files {
        let bytes = fs::read(file).map_err(|source| TrailsError::Read {
            path: file.clone(),
            source,
        })?;
        let text = String::from_utf8_lossy(&bytes);
        for line in text.lines() {
            if let Some(trail) = classify(line) {
                sampler.offer(trail, &mut listed, rng);
            }
        }
    }
    Ok((sampler.sample, listed))
}

fn collect_trail_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), TrailsError> {
    let read_error = |source| TrailsError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(read_error)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(read_error)?;
    entries.sort();

    for path in entries {
        if path.is_dir() {
            collect_trail_files(&path, files)?;
        } else if path.extension().is_some_and(|ext| ext == "txt") {
            files.push(path);
        }
    }
    Ok(())
}

/// Reservoir samples (Vitter's algorithm R) of each plantable kind.
#[derive(Default)]
struct Sampler {
    sample: TrailSample,
    seen: [u64; 4],
}

impl Sampler {
    fn offer(&mut self, trail: TrailLine<'_>, listed: &mut Listed, rng: &mut Rng) {
        match trail {
            TrailLine::Domain(name) => {
                let name = name.to_ascii_lowercase();
                listed.domains.insert(domain_key(&name));
                reservoir(&mut self.sample.domains, &mut self.seen[0], name, rng);
            }
            TrailLine::Ip(ip) => {
                listed.ips.insert(u32::from(ip));
                reservoir(&mut self.sample.ips, &mut self.seen[1], ip, rng);
            }
            TrailLine::IpPort(ip, port) => {
                listed.ips.insert(u32::from(ip));
                reservoir(
                    &mut self.sample.ip_ports,
                    &mut self.seen[2],
                    (ip, port),
                    rng,
                );
            }
            TrailLine::Url { host, port, path } => {
                let url = UrlTrail {
                    host: host.to_ascii_lowercase(),
                    port,
                    path: path.to_string(),
                };
                reservoir(&mut self.sample.urls, &mut self.seen[3], url, rng);
            }
            TrailLine::Cidr { network, mask } => listed.cidrs.push((network, mask)),
            TrailLine::Tld(suffix) => {
                listed.tlds.insert(suffix.to_ascii_lowercase());
            }
            TrailLine::BarePath(path) => {
                listed.bare_paths.insert(path.to_string());
            }
        }
    }
}

fn reservoir<T>(kept: &mut Vec<T>, seen: &mut u64, item: T, rng: &mut Rng) {
    *seen += 1;
    if kept.len() < SAMPLE_PER_KIND {
        kept.push(item);
        return;
    }
    let slot = rng.below(*seen) as usize;
    if let Some(old) = kept.get_mut(slot) {
        *old = item;
    }
}

/// Classifies one raw line; returns `None` for comments, blanks and kinds not used here.
fn classify(raw: &str) -> Option<TrailLine<'_>> {
    let mut line = raw.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    if let Some(at) = line.find(" #").or_else(|| line.find("\t#")) {
        line = line[..at].trim_end();
    }
    for scheme in ["http://", "https://"] {
        let has_scheme = line
            .get(..scheme.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(scheme));
        if has_scheme {
            line = line.get(scheme.len()..).unwrap_or("");
        }
    }

    match line.split_once('/') {
        Some(("", _)) => Some(TrailLine::BarePath(line)),
        Some((host, rest)) => classify_url(host, &line[host.len()..], rest),
        None => classify_host(line),
    }
}

fn classify_url<'a>(host: &'a str, path: &'a str, after_slash: &str) -> Option<TrailLine<'a>> {
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        if let Ok(bits @ 0..=32) = after_slash.parse::<u8>() {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            return Some(TrailLine::Cidr {
                network: u32::from(ip) & mask,
                mask,
            });
        }
    }

    // A URL with nothing after the host is a host trail.
    if after_slash.is_empty() {
        return classify_host(host);
    }
    if !path.bytes().all(is_path_byte) {
        return None;
    }

    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) => (name, Some(port.parse::<u16>().ok().filter(|p| *p != 0)?)),
        None => (host, None),
    };
    if name.parse::<Ipv4Addr>().is_err() && !is_plain_domain(name) {
        return None;
    }
    Some(TrailLine::Url {
        host: name,
        port,
        path,
    })
}

fn classify_host(line: &str) -> Option<TrailLine<'_>> {
    if let Ok(ip) = line.parse::<Ipv4Addr>() {
        return Some(TrailLine::Ip(ip));
    }
    if let Some((ip, port)) = line.rsplit_once(':') {
        let ip = ip.parse::<Ipv4Addr>().ok()?;
        let port = port.parse::<u16>().ok().filter(|p| *p != 0)?;
        return Some(TrailLine::IpPort(ip, port));
    }
    if let Some(suffix) = line.strip_prefix('.') {
        // Checked with a label in front, because a TLD such as `cc` alone has no dot.
        return is_plain_domain(&format!("x.{suffix}")).then_some(TrailLine::Tld(suffix));
    }
    is_plain_domain(line).then_some(TrailLine::Domain(line))
}

/// Returns true for a name of letters, digits, `-` and `_` in labels that DNS can encode, with
/// at least two labels and a last label that is not all digits.
fn is_plain_domain(name: &str) -> bool {
    let allowed = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    let last = name.rsplit('.').next().unwrap_or("");
    allowed
        && name.contains('.')
        && dns::is_encodable(name)
        && !name.starts_with('-')
        && !last.bytes().all(|b| b.is_ascii_digit())
}

/// Bytes allowed in the request target of a planted HTTP request: RFC 3986 `pchar` plus `/`
/// and `?`, so that every planted path is a valid request line.
fn is_path_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@%/?".contains(&byte)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comment_and_blank_are_skipped() {
        assert_eq!(classify("# Reference: https://example.org/x"), None);
        assert_eq!(classify("   "), None);
    }

    #[test]
    fn trailing_comment_is_stripped() {
        assert_eq!(
            classify("129.82.138.12 # pinger1a.netsec.colostate.edu"),
            Some(TrailLine::Ip(Ipv4Addr::new(129, 82, 138, 12)))
        );
    }

    #[test]
    fn ip_port_is_classified() {
        let expected = TrailLine::IpPort(Ipv4Addr::new(213, 152, 161, 99), 47390);
        assert_eq!(classify("213.152.161.99:47390"), Some(expected));
    }

    #[test]
    fn cidr_is_masked() {
        let expected = TrailLine::Cidr {
            network: 0x053F_9700,
            mask: 0xFFFF_FF00,
        };
        assert_eq!(classify("5.63.151.7/24"), Some(expected));
    }

    #[test]
    fn url_with_port_is_split() {
        let expected = TrailLine::Url {
            host: "evil.com",
            port: Some(8080),
            path: "/x.php",
        };
        assert_eq!(classify("evil.com:8080/x.php"), Some(expected));
    }

    #[test]
    fn scheme_only_url_becomes_host() {
        let expected = TrailLine::Ip(Ipv4Addr::new(52, 196, 149, 49));
        assert_eq!(classify("http://52.196.149.49"), Some(expected));
    }

    #[test]
    fn bare_path_and_tld_are_kept() {
        assert_eq!(
            classify("/gate.php"),
            Some(TrailLine::BarePath("/gate.php"))
        );
        assert_eq!(classify(".cc"), Some(TrailLine::Tld("cc")));
    }

    #[test]
    fn multibyte_text_does_not_panic() {
        assert_eq!(
            classify("/alexaываывnder"),
            Some(TrailLine::BarePath("/alexaываывnder"))
        );
        assert_eq!(classify("ываыв"), None);
    }

    #[test]
    fn pattern_line_is_skipped() {
        assert_eq!(classify(r"backdates[0-9]{1,2}\.(com|net)"), None);
    }

    #[test]
    fn path_with_space_is_skipped() {
        assert_eq!(classify("evil.com/a b"), None);
    }

    #[test]
    fn listed_path_matches_at_boundaries() {
        let mut listed = Listed::default();
        listed.bare_paths.insert("/gate.php".to_string());
        listed.bare_paths.insert("/xmrig/".to_string());
        assert!(listed.lists_path("/gate.php?id=1"));
        assert!(listed.lists_path("/xmrig/run"));
        assert!(!listed.lists_path("/gate.phpx"));
    }

    #[test]
    fn listed_domain_covers_subdomains() {
        let mut listed = Listed::default();
        listed.add_domain_for_test("kamino.com");
        assert!(listed.lists_domain("www.kamino.com"));
        assert!(!listed.lists_domain("www.kaminos.com"));
    }

    #[test]
    fn listed_tld_matches_parents() {
        let mut listed = Listed::default();
        listed.tlds.insert("cc".to_string());
        assert!(listed.lists_tld("co.cc"));
        assert!(!listed.lists_tld("com"));
    }

    #[test]
    fn listed_cidr_contains_address() {
        let mut listed = Listed::default();
        listed.cidrs.push((0x053F_9700, 0xFFFF_FF00));
        assert!(listed.contains_ip(Ipv4Addr::new(5, 63, 151, 200)));
        assert!(!listed.contains_ip(Ipv4Addr::new(5, 63, 152, 1)));
    }

    #[test]
    fn scan_is_deterministic() {
        let dir = tempfile::tempdir().unwrap();
        let lines: String = (0..500)
            .map(|i| format!("host{i}.example.net\n10.1.{}.{}:80\n", i / 200, i % 200))
            .collect();
        fs::write(dir.path().join("a.txt"), lines).unwrap();

        let (first, _) = scan(dir.path(), &mut Rng::new(3)).unwrap();
        let (second, _) = scan(dir.path(), &mut Rng::new(3)).unwrap();
        assert_eq!(first.domains, second.domains);
        assert_eq!(first.ip_ports, second.ip_ports);
        assert_eq!(first.domains.len(), SAMPLE_PER_KIND);
    }

    #[test]
    fn empty_tree_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            scan(dir.path(), &mut Rng::new(1)),
            Err(TrailsError::Empty(_))
        ));
    }
}
