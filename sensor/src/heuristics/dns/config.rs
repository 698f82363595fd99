//! The `[heuristics.dns]` configuration table and its validation.

use serde::Deserialize;

/// Names of the DNS detectors, as [`DnsConfig::set_enabled`] and the configuration tables
/// spell them.
pub const DETECTORS: [&str; 7] = [
    "long_domain",
    "random_label",
    "nxdomain_client",
    "nxdomain_dga",
    "exhaustion",
    "tunneling",
    "sinkhole",
];

/// Maximum of `nxdomain_client.threshold`: each client entry stores one 4-byte hash per
/// distinct name up to the threshold.
pub const MAX_NXDOMAIN_CLIENT_THRESHOLD: u32 = 256;

/// Maximum of `exhaustion.threshold`. The distinct subdomains of a domain are estimated from a
/// bitmap of 8192 bits, whose estimate stays within a few percent up to about this count.
pub const MAX_EXHAUSTION_THRESHOLD: u32 = 5000;

/// Maximum of every `window_secs`: one week.
pub const MAX_WINDOW_SECS: u64 = 7 * 24 * 3600;

/// The `[heuristics.dns]` table. Every detector has its own sub-table, for example
/// `[heuristics.dns.long_domain]`, and is on unless it sets `enabled = false`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DnsConfig {
    /// Seconds during which the detectors without a counting window (`long_domain`,
    /// `random_label`, `nxdomain_dga`, `sinkhole`) report one client and name only once.
    pub repeat_window_secs: u64,
    pub long_domain: LongDomainConfig,
    pub random_label: RandomLabelConfig,
    pub nxdomain_client: NxdomainClientConfig,
    pub nxdomain_dga: NxdomainDgaConfig,
    pub exhaustion: ExhaustionConfig,
    pub tunneling: TunnelingConfig,
    pub sinkhole: SinkholeConfig,
}

// The entropy thresholds are checked to be finite by `validate`, so equality is reflexive.
impl Eq for DnsConfig {}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            repeat_window_secs: 3600,
            long_domain: LongDomainConfig::default(),
            random_label: RandomLabelConfig::default(),
            nxdomain_client: NxdomainClientConfig::default(),
            nxdomain_dga: NxdomainDgaConfig::default(),
            exhaustion: ExhaustionConfig::default(),
            tunneling: TunnelingConfig::default(),
            sinkhole: SinkholeConfig::default(),
        }
    }
}

/// `long_domain`: a query whose first label is very long and has no `-`
/// (`long domain (suspicious)`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LongDomainConfig {
    pub enabled: bool,
    /// Minimum length in bytes of the first label. Maltrail reports labels longer than 24.
    pub min_label_len: u32,
}

impl Default for LongDomainConfig {
    fn default() -> Self {
        LongDomainConfig {
            enabled: true,
            min_label_len: 25,
        }
    }
}

/// `random_label`: a query whose registrable label (`example` in `www.example.com`) looks
/// random, judged by Shannon entropy together with a low share of vowels, or by a long run of
/// consonants.
///
/// Entropy alone is not enough on successful lookups: names made of words reach 3.7 bits per
/// byte too (`office365upgrade.com`), but their letters are about 40% vowels, while random
/// letters and digits have about 19%. `nxdomain_dga` judges names that do not exist, which is
/// where most DGA malware shows, by entropy alone.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RandomLabelConfig {
    pub enabled: bool,
    /// Labels shorter than this many bytes are not judged: short words have low entropy
    /// whatever their letters.
    pub min_label_len: u32,
    /// Minimum Shannon entropy in bits per byte. A label of n bytes has at most log2(n) bits,
    /// so 3.7 needs at least 13 distinct bytes.
    pub min_entropy_bits: f64,
    /// Largest share of vowels (`a e i o u`) among the label's ASCII letters for the entropy
    /// test to report it, from 0 to 1. A label without letters has a share of 0.
    pub max_vowel_share: f64,
    /// Minimum number of consecutive consonants (`y` included).
    pub min_consonant_run: u32,
}

impl Default for RandomLabelConfig {
    fn default() -> Self {
        RandomLabelConfig {
            enabled: true,
            min_label_len: 12,
            min_entropy_bits: 3.7,
            max_vowel_share: 0.25,
            min_consonant_run: 8,
        }
    }
}

/// `nxdomain_client`: one client receives NXDOMAIN for many distinct names within a window
/// (`excessive no such domain (suspicious)`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NxdomainClientConfig {
    pub enabled: bool,
    /// The detector fires when a client's distinct NXDOMAIN names exceed this count, from 1 to
    /// [`MAX_NXDOMAIN_CLIENT_THRESHOLD`].
    pub threshold: u32,
    pub window_secs: u64,
}

impl Default for NxdomainClientConfig {
    fn default() -> Self {
        NxdomainClientConfig {
            enabled: true,
            threshold: 40,
            window_secs: 600,
        }
    }
}

/// `nxdomain_dga`: an NXDOMAIN for a name without subdomain whose label looks generated
/// (`entropy threshold no such domain (suspicious)` or `consonant threshold no such domain
/// (suspicious)`), with Maltrail's thresholds.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NxdomainDgaConfig {
    pub enabled: bool,
    /// The label's Shannon entropy must exceed this many bits per byte.
    pub entropy_bits: f64,
    /// Or the label's count of consonants (`y` included) must exceed this number.
    pub consonant_count: u32,
}

impl Default for NxdomainDgaConfig {
    fn default() -> Self {
        NxdomainDgaConfig {
            enabled: true,
            entropy_bits: 3.5,
            consonant_count: 9,
        }
    }
}

/// `exhaustion`: queries for many distinct subdomains of one base domain within a window, from
/// any client (`potential dns exhaustion (suspicious)`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExhaustionConfig {
    pub enabled: bool,
    /// The detector fires when the estimated count of distinct subdomains exceeds this
    /// number, from 1 to [`MAX_EXHAUSTION_THRESHOLD`].
    pub threshold: u32,
    pub window_secs: u64,
}

impl Default for ExhaustionConfig {
    fn default() -> Self {
        ExhaustionConfig {
            enabled: true,
            threshold: 1000,
            window_secs: 60,
        }
    }
}

/// `tunneling`: one client sends many TXT or NULL queries, or queries with long subdomains, to
/// one base domain within a window (`potential dns tunneling (suspicious)`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TunnelingConfig {
    pub enabled: bool,
    /// A query counts when its subdomain (the name before the base domain) is at least this
    /// many bytes long, or its type is TXT or NULL.
    pub min_subdomain_len: u32,
    /// The detector fires when a client's counted queries to one base domain exceed this
    /// number.
    pub threshold: u32,
    pub window_secs: u64,
}

impl Default for TunnelingConfig {
    fn default() -> Self {
        TunnelingConfig {
            enabled: true,
            min_subdomain_len: 40,
            threshold: 100,
            window_secs: 300,
        }
    }
}

/// `sinkhole`: an answer address on a sinkhole list (`sinkholed by <operator> (malware)`) or a
/// parking list (`parked site (suspicious)`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SinkholeConfig {
    pub enabled: bool,
}

impl Default for SinkholeConfig {
    fn default() -> Self {
        SinkholeConfig { enabled: true }
    }
}

/// Reason a `[heuristics.dns]` table is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsConfigError {
    /// The value of `key` is outside its accepted range.
    #[error("invalid heuristics.dns.{key} = {value}: use a value from {min} to {max}")]
    OutOfRange {
        key: &'static str,
        value: String,
        min: String,
        max: String,
    },
    /// A detector name that is not one of [`DETECTORS`].
    #[error("unknown DNS heuristic {name:?}: use one of {}", DETECTORS.join(", "))]
    UnknownDetector { name: String },
}

impl DnsConfig {
    /// Checks every threshold and window against its range, naming the first bad key.
    pub fn validate(&self) -> Result<(), DnsConfigError> {
        check_u64(
            "repeat_window_secs",
            self.repeat_window_secs,
            1,
            MAX_WINDOW_SECS,
        )?;
        check_u64(
            "long_domain.min_label_len",
            self.long_domain.min_label_len.into(),
            1,
            63,
        )?;
        let random = &self.random_label;
        check_u64(
            "random_label.min_label_len",
            random.min_label_len.into(),
            1,
            63,
        )?;
        check_f64("random_label.min_entropy_bits", random.min_entropy_bits)?;
        check_share("random_label.max_vowel_share", random.max_vowel_share)?;
        check_u64(
            "random_label.min_consonant_run",
            random.min_consonant_run.into(),
            1,
            63,
        )?;
        let nxdomain = &self.nxdomain_client;
        let max = MAX_NXDOMAIN_CLIENT_THRESHOLD.into();
        check_u64(
            "nxdomain_client.threshold",
            nxdomain.threshold.into(),
            1,
            max,
        )?;
        check_u64(
            "nxdomain_client.window_secs",
            nxdomain.window_secs,
            1,
            MAX_WINDOW_SECS,
        )?;
        check_f64("nxdomain_dga.entropy_bits", self.nxdomain_dga.entropy_bits)?;
        let consonants = self.nxdomain_dga.consonant_count.into();
        check_u64("nxdomain_dga.consonant_count", consonants, 0, 63)?;
        let exhaustion = &self.exhaustion;
        let max = MAX_EXHAUSTION_THRESHOLD.into();
        check_u64("exhaustion.threshold", exhaustion.threshold.into(), 1, max)?;
        check_u64(
            "exhaustion.window_secs",
            exhaustion.window_secs,
            1,
            MAX_WINDOW_SECS,
        )?;
        let tunneling = &self.tunneling;
        check_u64(
            "tunneling.min_subdomain_len",
            tunneling.min_subdomain_len.into(),
            1,
            253,
        )?;
        check_u64(
            "tunneling.threshold",
            tunneling.threshold.into(),
            1,
            u32::MAX.into(),
        )?;
        check_u64(
            "tunneling.window_secs",
            tunneling.window_secs,
            1,
            MAX_WINDOW_SECS,
        )?;
        Ok(())
    }

    /// Switches the detector `name` (one of [`DETECTORS`]) on or off.
    pub fn set_enabled(&mut self, name: &str, enabled: bool) -> Result<(), DnsConfigError> {
        let flag = match name {
            "long_domain" => &mut self.long_domain.enabled,
            "random_label" => &mut self.random_label.enabled,
            "nxdomain_client" => &mut self.nxdomain_client.enabled,
            "nxdomain_dga" => &mut self.nxdomain_dga.enabled,
            "exhaustion" => &mut self.exhaustion.enabled,
            "tunneling" => &mut self.tunneling.enabled,
            "sinkhole" => &mut self.sinkhole.enabled,
            _ => {
                return Err(DnsConfigError::UnknownDetector {
                    name: name.to_owned(),
                })
            }
        };
        *flag = enabled;
        Ok(())
    }
}

fn check_u64(key: &'static str, value: u64, min: u64, max: u64) -> Result<(), DnsConfigError> {
    if (min..=max).contains(&value) {
        return Ok(());
    }
    Err(DnsConfigError::OutOfRange {
        key,
        value: value.to_string(),
        min: min.to_string(),
        max: max.to_string(),
    })
}

/// Checks an entropy threshold in bits per byte, which lies from 0 to 8.
fn check_f64(key: &'static str, value: f64) -> Result<(), DnsConfigError> {
    if (0.0..=8.0).contains(&value) {
        return Ok(());
    }
    Err(DnsConfigError::OutOfRange {
        key,
        value: value.to_string(),
        min: "0".to_owned(),
        max: "8".to_owned(),
    })
}

fn check_share(key: &'static str, value: f64) -> Result<(), DnsConfigError> {
    if (0.0..=1.0).contains(&value) {
        return Ok(());
    }
    Err(DnsConfigError::OutOfRange {
        key,
        value: value.to_string(),
        min: "0".to_owned(),
        max: "1".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(DnsConfig::default().validate(), Ok(()));
    }

    #[test]
    fn toml_table_parsed_with_defaults() {
        let config: DnsConfig =
            toml::from_str("[long_domain]\nmin_label_len = 30\n[tunneling]\nenabled = false\n")
                .unwrap();
        assert_eq!(config.long_domain.min_label_len, 30);
        assert!(config.long_domain.enabled);
        assert!(!config.tunneling.enabled);
        assert_eq!(config.exhaustion, ExhaustionConfig::default());
    }

    #[test]
    fn unknown_key_rejected() {
        let result: Result<DnsConfig, _> = toml::from_str("[exhaustion]\nlimit = 5\n");
        let error = result.unwrap_err().to_string();
        assert!(error.contains("unknown field `limit`"), "{error}");
    }

    #[test]
    fn out_of_range_value_named() {
        let mut config = DnsConfig::default();
        config.exhaustion.threshold = 0;
        let error = config.validate().unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid heuristics.dns.exhaustion.threshold = 0: use a value from 1 to 5000"
        );

        let mut config = DnsConfig::default();
        config.random_label.min_entropy_bits = f64::NAN;
        assert!(config.validate().is_err());
    }

    #[test]
    fn detector_switched_off_by_name() {
        let mut config = DnsConfig::default();
        for name in DETECTORS {
            config.set_enabled(name, false).unwrap();
        }
        assert!(!config.sinkhole.enabled);
        assert!(!config.random_label.enabled);
        let error = config.set_enabled("dga", false).unwrap_err();
        assert!(error
            .to_string()
            .starts_with("unknown DNS heuristic \"dga\""));
    }
}
