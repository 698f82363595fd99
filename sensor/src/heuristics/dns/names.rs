//! Name analysis for the DNS heuristics: the registrable base domain, names that are benign by
//! construction, and the randomness measures of a label.
//!
//! All functions are O(name length) and allocate nothing.

/// Second-level suffixes under which each name is a separate registration, so that the base
/// domain of `www.example.co.uk` is `example.co.uk`, not `co.uk`.
///
/// NOTE: a compact approximation of the Public Suffix List. Besides this list, a generic
/// second label (see [`GENERIC_SECOND_LEVELS`]) under any two-letter country code counts as
/// a suffix. Private suffixes where every subdomain has its own owner (`github.io`,
/// `herokuapp.com`) and irregular national structures are not known, so their names share one
/// base domain.
const MULTI_LABEL_SUFFIXES: &[&str] = &[
    "ab.ca",
    "ac.at",
    "ac.il",
    "ac.nz",
    "bc.ca",
    "blogspot.com",
    "co.at",
    "gc.ca",
    "gv.at",
    "ltd.uk",
    "me.uk",
    "nhs.uk",
    "nom.br",
    "on.ca",
    "or.at",
    "plc.uk",
    "police.uk",
    "qc.ca",
    "sch.uk",
    "sp.gov.br",
];

/// Second labels that registries of two-letter country codes use for their own categories,
/// such as `co.uk`, `com.au`, `ne.jp` or `gov.br`.
const GENERIC_SECOND_LEVELS: &[&str] = &[
    "ac", "biz", "co", "com", "edu", "go", "gob", "gov", "gv", "info", "ltd", "mil", "ne", "net",
    "nic", "or", "org", "re", "sch",
];

/// Base domains whose subdomains are hashed or numbered host names by design: content delivery
/// networks, cloud endpoints and DNS-based reputation lookups of security products. Their
/// names are long, random-looking and many, and never the sign of an infection.
const HASHED_NAME_DOMAINS: &[&str] = &[
    "1e100.net",
    "aaplimg.com",
    "akadns.net",
    "akamai.net",
    "akamaiedge.net",
    "akamaihd.net",
    "akamaized.net",
    "amazonaws.com",
    "apple-dns.net",
    "azure.com",
    "azureedge.net",
    "azurefd.net",
    "cloudapp.net",
    "cloudflare.net",
    "cloudfront.net",
    "edgekey.net",
    "edgesuite.net",
    "fastly.net",
    "fastlylb.net",
    "googleusercontent.com",
    "googlevideo.com",
    "gstatic.com",
    "gvt1.com",
    "gvt2.com",
    "mcafee.com",
    "sophosxl.net",
    "trafficmanager.net",
    "trendmicro.com",
    "windows.net",
];

/// Top-level labels of names that never leave the local network or are not host names at all:
/// reverse lookups (`in-addr.arpa`, `ip6.arpa`, `home.arpa`), multicast DNS and the special-use
/// names of RFC 6761 and RFC 8375.
const LOCAL_TOP_LEVELS: &[&str] = &["arpa", "home", "internal", "lan", "local", "localhost"];

/// A query name split at its registrable base domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SplitName<'a> {
    /// The whole name, for example `a.b.example.co.uk`.
    pub name: &'a str,
    /// The registrable domain, for example `example.co.uk`. It is the whole name when the
    /// name has no subdomain, and `None` when the name is itself a public suffix.
    pub base: Option<&'a str>,
    /// The labels in front of the base domain without the final dot, for example `a.b`, or
    /// `""` when there are none.
    pub subdomain: &'a str,
}

impl<'a> SplitName<'a> {
    /// Splits `name` (lower case, no trailing dot) at its base domain.
    pub fn new(name: &'a str) -> SplitName<'a> {
        let suffix_labels = if has_multi_label_suffix(name) { 2 } else { 1 };
        let Some(base_start) = start_of_last_labels(name, suffix_labels + 1) else {
            return SplitName {
                name,
                base: None,
                subdomain: "",
            };
        };
        let base = &name[base_start..];
        let subdomain = name[..base_start].strip_suffix('.').unwrap_or("");
        SplitName {
            name,
            base: Some(base),
            subdomain,
        }
    }

    /// Returns the first label of the base domain: `example` for `a.example.co.uk`.
    pub fn registrable_label(&self) -> Option<&'a str> {
        self.base.and_then(|base| base.split('.').next())
    }

    /// Formats the trail of an event about this name: the subdomain in brackets before the
    /// base domain, `(a.b).example.com`, or for a name without subdomain the label in brackets
    /// before its suffix, `(example).com`.
    pub fn trail(&self) -> String {
        if !self.subdomain.is_empty() {
            if let Some(base) = self.base {
                return format!("({}).{}", self.subdomain, base);
            }
        }
        match self.name.split_once('.') {
            Some((label, rest)) => format!("({label}).{rest}"),
            None => self.name.to_owned(),
        }
    }
}

/// Returns the byte offset where the last `count` labels of `name` start, or `None` when the
/// name has fewer labels.
fn start_of_last_labels(name: &str, count: usize) -> Option<usize> {
    if name.is_empty() {
        return None;
    }
    let mut seen = 0;
    for (index, byte) in name.bytes().enumerate().rev() {
        if byte == b'.' {
            seen += 1;
            if seen == count {
                return Some(index + 1);
            }
        }
    }
    (seen + 1 == count).then_some(0)
}

fn has_multi_label_suffix(name: &str) -> bool {
    let Some(start) = start_of_last_labels(name, 2) else {
        return false;
    };
    let suffix = &name[start..];
    if MULTI_LABEL_SUFFIXES.contains(&suffix) {
        return true;
    }
    let Some((second, top)) = suffix.split_once('.') else {
        return false;
    };
    top.len() == 2 && top.bytes().all(|b| b.is_ascii_lowercase()) && {
        GENERIC_SECOND_LEVELS.contains(&second)
    }
}

/// Returns true for names no DNS heuristic looks at: single labels, local and reverse-lookup
/// names, service discovery names (a label starting with `_`, as in `_ldap._tcp`), and names
/// under the domains of [`HASHED_NAME_DOMAINS`].
pub(super) fn is_exempt(split: &SplitName<'_>) -> bool {
    let name = split.name;
    let Some((_, top)) = name.rsplit_once('.') else {
        return true;
    };
    if LOCAL_TOP_LEVELS.contains(&top) {
        return true;
    }
    if name.starts_with('_') || name.contains("._") {
        return true;
    }
    match split.base {
        Some(base) => HASHED_NAME_DOMAINS.contains(&base),
        None => true,
    }
}

/// Returns true when the name starts with four decimal octets, as a DNSBL query for an
/// address does (`4.3.2.1.zen.example.org`), or its first label is an address written with
/// dashes (`10-1-2-3.isp.example`).
pub(super) fn starts_with_address(name: &str) -> bool {
    let mut labels = name.split('.');
    let octets = labels
        .by_ref()
        .take(4)
        .filter(|label| is_octet(label))
        .count();
    if octets == 4 {
        return true;
    }
    let first = name.split('.').next().unwrap_or("");
    let parts: Vec<&str> = first.splitn(5, '-').collect();
    parts.len() == 4 && parts.iter().all(|part| is_octet(part))
}

fn is_octet(text: &str) -> bool {
    !text.is_empty() && text.len() <= 3 && text.bytes().all(|b| b.is_ascii_digit())
}

/// Computes the Shannon entropy of the bytes of `label` in bits per byte.
pub(super) fn shannon_entropy(label: &str) -> f64 {
    if label.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for byte in label.bytes() {
        counts[usize::from(byte)] += 1;
    }
    let len = label.len() as f64;
    counts
        .iter()
        .filter(|&&count| count > 0)
        .map(|&count| {
            let p = f64::from(count) / len;
            -p * p.log2()
        })
        .sum()
}

fn is_consonant(byte: u8) -> bool {
    byte.is_ascii_lowercase() && !matches!(byte, b'a' | b'e' | b'i' | b'o' | b'u')
}

/// Counts the consonants of `label`, `y` included, as Maltrail's consonant threshold does.
pub(super) fn consonant_count(label: &str) -> usize {
    label.bytes().filter(|&b| is_consonant(b)).count()
}

/// Returns the share of vowels (`a e i o u`) among the ASCII letters of `label`, or 0 when it
/// has no letters.
pub(super) fn vowel_share(label: &str) -> f64 {
    let letters = label.bytes().filter(u8::is_ascii_lowercase).count();
    if letters == 0 {
        return 0.0;
    }
    let vowels = letters - consonant_count(label);
    vowels as f64 / letters as f64
}

/// Returns the length of the longest run of consonants in `label`, `y` included.
pub(super) fn longest_consonant_run(label: &str) -> usize {
    let mut longest = 0;
    let mut run = 0;
    for byte in label.bytes() {
        if is_consonant(byte) {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(name: &str) -> Option<&str> {
        SplitName::new(name).base
    }

    #[test]
    fn base_domain_of_common_names() {
        assert_eq!(base("www.example.com"), Some("example.com"));
        assert_eq!(base("example.com"), Some("example.com"));
        assert_eq!(base("a.b.example.co.uk"), Some("example.co.uk"));
        assert_eq!(base("shop.example.com.au"), Some("example.com.au"));
        assert_eq!(base("x.example.ne.jp"), Some("example.ne.jp"));
        assert_eq!(base("me.blogspot.com"), Some("me.blogspot.com"));
        assert_eq!(base("www.fb.me"), Some("fb.me"));
    }

    #[test]
    fn suffix_alone_has_no_base() {
        assert_eq!(base("com"), None);
        assert_eq!(base("co.uk"), None);
        assert_eq!(base(""), None);
    }

    #[test]
    fn subdomain_and_trail_split() {
        let split = SplitName::new("a.b.example.co.uk");
        assert_eq!(split.subdomain, "a.b");
        assert_eq!(split.registrable_label(), Some("example"));
        assert_eq!(split.trail(), "(a.b).example.co.uk");
        assert_eq!(SplitName::new("example.com").trail(), "(example).com");
        assert_eq!(SplitName::new("example.co.uk").trail(), "(example).co.uk");
    }

    #[test]
    fn exempt_names_recognised() {
        for name in [
            "localhost",
            "1.0.0.127.in-addr.arpa",
            "b.a.9.8.ip6.arpa",
            "printer.local",
            "_ldap._tcp.dc.example.com",
            "_http._tcp.local",
            "d1234abcdef.cloudfront.net",
            "e1234.a.akamaiedge.net",
            "co.uk",
        ] {
            assert!(is_exempt(&SplitName::new(name)), "{name}");
        }
        assert!(!is_exempt(&SplitName::new("www.example.com")));
    }

    #[test]
    fn address_prefixes_recognised() {
        assert!(starts_with_address("4.3.2.1.zen.example.org"));
        assert!(starts_with_address("10-1-2-3.dsl.example.net"));
        assert!(!starts_with_address("4.3.2.zen.example.org"));
        assert!(!starts_with_address("www.example.org"));
    }

    #[test]
    fn entropy_of_known_labels() {
        assert_eq!(shannon_entropy(""), 0.0);
        assert_eq!(shannon_entropy("aaaa"), 0.0);
        assert!((shannon_entropy("abcd") - 2.0).abs() < 1e-9);
        assert!((shannon_entropy("abcdefghijklmnop") - 4.0).abs() < 1e-9);
    }

    #[test]
    fn vowel_share_of_labels() {
        assert_eq!(vowel_share("q8x1z7k2v9m4w"), 0.0);
        assert_eq!(vowel_share("2024"), 0.0);
        assert_eq!(vowel_share("aeio"), 1.0);
        assert!((vowel_share("office365upgrade") - 6.0 / 13.0).abs() < 1e-9);
    }

    #[test]
    fn consonants_counted_and_runs() {
        assert_eq!(consonant_count("rhythm"), 6);
        assert_eq!(longest_consonant_run("strengths"), 5);
        assert_eq!(longest_consonant_run("xkcdqzvb1a"), 8);
        assert_eq!(longest_consonant_run("aeiou"), 0);
    }
}
