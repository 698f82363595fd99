//! The `[heuristics]` table: the master switch, the list of switched-off detectors and the
//! thresholds of the flow detectors. DNS and HTTP detectors read `[heuristics.dns]` and
//! `[heuristics.http]`.
//!
//! ```toml
//! [heuristics]
//! enabled = true
//! disabled = ["beaconing"]
//!
//! [heuristics.scan]
//! tcp_ports = 20
//! ```

use serde::Deserialize;

use super::dns::{self, DnsConfig, DnsConfigError};
use super::http::{HttpConfig, HttpConfigError};

/// Names of the flow detectors, as `disabled` accepts them.
pub const FLOW_DETECTORS: [&str; 8] = [
    "port_scan",
    "udp_scan",
    "mass_scan",
    "traffic_spike",
    "bogon_source",
    "mac_change",
    "arp_spoofing",
    "beaconing",
];

/// Largest size a heuristic table may be configured to, so that a typo cannot reserve
/// gigabytes. Four million entries of the largest table are an estimated 2 GiB.
pub const MAX_TABLE_ENTRIES: usize = 1 << 22;

/// The `[heuristics]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HeuristicsConfig {
    /// Master switch: `false` turns every heuristic off, DNS and HTTP ones included.
    pub enabled: bool,
    /// Detectors to switch off, by the names in [`FLOW_DETECTORS`] and
    /// [`dns::DETECTORS`].
    pub disabled: Vec<String>,
    pub scan: ScanConfig,
    pub spike: SpikeConfig,
    pub spoofing: SpoofingConfig,
    pub beacon: BeaconConfig,
    pub dns: DnsConfig,
    pub http: HttpConfig,
}

impl Default for HeuristicsConfig {
    fn default() -> HeuristicsConfig {
        HeuristicsConfig {
            enabled: true,
            disabled: Vec::new(),
            scan: ScanConfig::default(),
            spike: SpikeConfig::default(),
            spoofing: SpoofingConfig::default(),
            beacon: BeaconConfig::default(),
            dns: DnsConfig::default(),
            http: HttpConfig::default(),
        }
    }
}

/// `[heuristics.scan]`: port scans of one host and mass scans of one port.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScanConfig {
    /// Length of a counting window; counts start again after it.
    pub window_seconds: u32,
    /// Distinct TCP ports of one destination, probed by one source within a window, that
    /// make a port scan.
    pub tcp_ports: u16,
    /// Distinct UDP ports of one destination, within a window, that make a UDP scan.
    pub udp_ports: u16,
    /// Distinct destinations of one source on one port, within a window, that make a mass
    /// scan.
    pub mass_scan_hosts: u16,
    /// Destination ports watched for mass scans; empty watches every port.
    pub mass_scan_ports: Vec<u16>,
    /// Entries of each scan table.
    pub max_entries: usize,
}

impl Default for ScanConfig {
    fn default() -> ScanConfig {
        ScanConfig {
            window_seconds: 60,
            tcp_ports: 20,
            udp_ports: 20,
            mass_scan_hosts: 32,
            // Telnet, SSH, SMB, MS SQL, RDP, VNC, Redis and TR-069: the ports that worms and
            // botnets sweep for.
            mass_scan_ports: vec![22, 23, 445, 1433, 3389, 5900, 6379, 7547],
            max_entries: 16_384,
        }
    }
}

/// `[heuristics.spike]`: packet and connection rates far above a host's own baseline.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpikeConfig {
    /// Length of one counting interval.
    pub interval_seconds: u32,
    /// Weight of the newest interval in the moving mean and variance, above 0 and at most 1.
    pub smoothing: f64,
    /// Intervals a host must have been seen for before its rate is judged.
    pub warmup_intervals: u32,
    /// Standard deviations above the mean that make a spike.
    pub deviations: f64,
    /// Packets in one interval below which no spike is reported, whatever the baseline.
    pub min_packets: u32,
    /// Connection attempts (TCP SYNs) in one interval below which no spike is reported.
    pub min_connections: u32,
    /// Entries of the per-host table.
    pub max_hosts: usize,
}

impl Default for SpikeConfig {
    fn default() -> SpikeConfig {
        SpikeConfig {
            interval_seconds: 10,
            smoothing: 0.1,
            warmup_intervals: 30,
            deviations: 6.0,
            min_packets: 5_000,
            min_connections: 200,
            max_hosts: 8_192,
        }
    }
}

/// `[heuristics.spoofing]`: impossible source addresses and address-to-MAC changes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpoofingConfig {
    /// Extra source blocks to report as bogons, in CIDR notation, for example a range the
    /// site never uses.
    pub extra_bogons: Vec<String>,
    /// Seconds a learned address-to-MAC binding is kept since it was last seen; a different
    /// MAC after that is not a change.
    pub binding_seconds: u32,
    /// Seconds before the same source is reported again by one spoofing detector.
    pub report_seconds: u32,
    /// Entries of the address-to-MAC tables, one for IP frames and one for ARP.
    pub max_bindings: usize,
}

impl Default for SpoofingConfig {
    fn default() -> SpoofingConfig {
        SpoofingConfig {
            extra_bogons: Vec::new(),
            binding_seconds: 3_600,
            report_seconds: 3_600,
            max_bindings: 8_192,
        }
    }
}

/// `[heuristics.beacon]`: connections repeated at a regular interval.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BeaconConfig {
    /// Minimum interval between two connections that is recorded. Shorter gaps are ordinary
    /// reconnects.
    pub min_interval_seconds: u32,
    /// Maximum interval considered, because a longer gap restarts the pair's history.
    pub max_interval_seconds: u32,
    /// Intervals needed before the regularity is judged, 3 to
    /// [`crate::heuristics::beacon::RING_LEN`].
    pub min_intervals: u32,
    /// Largest coefficient of variation (standard deviation over mean) of the intervals that
    /// counts as regular.
    pub max_jitter: f64,
    /// Seconds of silence after which a UDP datagram on a pair starts a new flow.
    pub udp_idle_seconds: u32,
    /// Destination ports never judged: services that poll on a fixed period by design.
    pub ignore_ports: Vec<u16>,
    /// Seconds before the same pair is reported again.
    pub report_seconds: u32,
    /// Entries of the per-pair table.
    pub max_pairs: usize,
}

impl Default for BeaconConfig {
    fn default() -> BeaconConfig {
        BeaconConfig {
            min_interval_seconds: 10,
            max_interval_seconds: 7_200,
            min_intervals: 8,
            max_jitter: 0.1,
            udp_idle_seconds: 5,
            // DNS, DHCP, NTP, NetBIOS, SNMP, mDNS and SSDP poll or announce on timers.
            ignore_ports: vec![53, 67, 68, 123, 137, 138, 161, 5353, 1900],
            report_seconds: 3_600,
            max_pairs: 32_768,
        }
    }
}

/// A `[heuristics]` table that cannot be used.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeuristicsConfigError {
    /// A value of the flow detectors' tables, or a name in `disabled`, is invalid.
    #[error("{key} = {value}: {reason}")]
    Invalid {
        /// Dotted key, for example `heuristics.scan.tcp_ports`.
        key: &'static str,
        value: String,
        reason: String,
    },
    #[error(transparent)]
    Dns(#[from] DnsConfigError),
    #[error(transparent)]
    Http(#[from] HttpConfigError),
}

impl HeuristicsConfig {
    /// Tells whether the detector `name` runs: the master switch is on and `name` is not in
    /// `disabled`. DNS detectors also have their own `enabled` key in `[heuristics.dns]`.
    pub fn is_enabled(&self, name: &str) -> bool {
        self.enabled && !self.disabled.iter().any(|disabled| disabled == name)
    }

    /// Returns the `[heuristics.dns]` table with the DNS detectors named in `disabled`
    /// switched off.
    pub fn effective_dns(&self) -> DnsConfig {
        let mut config = self.dns.clone();
        for name in &self.disabled {
            // Names other than DNS detectors' are rejected here, which is harmless.
            let _ = config.set_enabled(name, false);
        }
        config
    }

    /// Checks every value against its accepted range and every name in `disabled`.
    pub fn validate(&self) -> Result<(), HeuristicsConfigError> {
        for name in &self.disabled {
            let name = name.as_str();
            if !FLOW_DETECTORS.contains(&name) && !dns::DETECTORS.contains(&name) {
                let known: Vec<&str> = FLOW_DETECTORS.into_iter().chain(dns::DETECTORS).collect();
                return Err(HeuristicsConfigError::Invalid {
                    key: "heuristics.disabled",
                    value: format!("{name:?}"),
                    reason: format!("unknown detector; use one of {}", known.join(", ")),
                });
            }
        }
        self.dns.validate()?;
        self.http.validate()?;
        for block in &self.spoofing.extra_bogons {
            if super::spoofing::parse_block(block).is_none() {
                return Err(HeuristicsConfigError::Invalid {
                    key: "heuristics.spoofing.extra_bogons",
                    value: format!("{block:?}"),
                    reason: "expected a CIDR block such as \"192.0.2.0/24\"".to_string(),
                });
            }
        }

        let scan = &self.scan;
        let spike = &self.spike;
        let spoofing = &self.spoofing;
        let beacon = &self.beacon;
        let ring = super::beacon::RING_LEN as u64;
        let table = MAX_TABLE_ENTRIES as u64;
        let integers: [(&'static str, u64, u64, u64); 16] = [
            (
                "heuristics.scan.window_seconds",
                scan.window_seconds.into(),
                1,
                86_400,
            ),
            ("heuristics.scan.tcp_ports", scan.tcp_ports.into(), 2, 1_024),
            ("heuristics.scan.udp_ports", scan.udp_ports.into(), 2, 1_024),
            (
                "heuristics.scan.mass_scan_hosts",
                scan.mass_scan_hosts.into(),
                2,
                1_024,
            ),
            (
                "heuristics.scan.max_entries",
                scan.max_entries as u64,
                1,
                table,
            ),
            (
                "heuristics.spike.interval_seconds",
                spike.interval_seconds.into(),
                1,
                3_600,
            ),
            (
                "heuristics.spike.warmup_intervals",
                spike.warmup_intervals.into(),
                1,
                10_000,
            ),
            (
                "heuristics.spike.max_hosts",
                spike.max_hosts as u64,
                1,
                table,
            ),
            (
                "heuristics.spoofing.binding_seconds",
                spoofing.binding_seconds.into(),
                1,
                u32::MAX.into(),
            ),
            (
                "heuristics.spoofing.max_bindings",
                spoofing.max_bindings as u64,
                1,
                table,
            ),
            (
                "heuristics.beacon.min_interval_seconds",
                beacon.min_interval_seconds.into(),
                1,
                86_400,
            ),
            (
                "heuristics.beacon.max_interval_seconds",
                beacon.max_interval_seconds.into(),
                beacon.min_interval_seconds.into(),
                7 * 86_400,
            ),
            (
                "heuristics.beacon.min_intervals",
                beacon.min_intervals.into(),
                3,
                ring,
            ),
            (
                "heuristics.beacon.udp_idle_seconds",
                beacon.udp_idle_seconds.into(),
                1,
                86_400,
            ),
            (
                "heuristics.beacon.max_pairs",
                beacon.max_pairs as u64,
                1,
                table,
            ),
            (
                "heuristics.spoofing.report_seconds",
                spoofing.report_seconds.into(),
                1,
                u32::MAX.into(),
            ),
        ];
        for (key, value, min, max) in integers {
            if !(min..=max).contains(&value) {
                return Err(HeuristicsConfigError::Invalid {
                    key,
                    value: value.to_string(),
                    reason: format!("expected {min} to {max}"),
                });
            }
        }

        let fractions: [(&'static str, f64, f64, f64); 3] = [
            ("heuristics.spike.smoothing", spike.smoothing, 0.0, 1.0),
            (
                "heuristics.spike.deviations",
                spike.deviations,
                0.0,
                1_000.0,
            ),
            ("heuristics.beacon.max_jitter", beacon.max_jitter, 0.0, 1.0),
        ];
        for (key, value, above, max) in fractions {
            if !(value > above && value <= max) {
                return Err(HeuristicsConfigError::Invalid {
                    key,
                    value: value.to_string(),
                    reason: format!("expected a number above {above} and at most {max}"),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(HeuristicsConfig::default().validate(), Ok(()));
    }

    #[test]
    fn unknown_disabled_name_rejected() {
        let config = HeuristicsConfig {
            disabled: vec!["portscan".to_string()],
            ..HeuristicsConfig::default()
        };
        let error = config.validate().unwrap_err().to_string();
        assert!(
            error.starts_with("heuristics.disabled = \"portscan\""),
            "{error}"
        );
        assert!(error.contains("port_scan"), "{error}");
        assert!(error.contains("long_domain"), "{error}");
    }

    #[test]
    fn disabled_and_master_switch() {
        let mut config = HeuristicsConfig {
            disabled: vec!["beaconing".to_string()],
            ..HeuristicsConfig::default()
        };
        assert!(!config.is_enabled("beaconing"));
        assert!(config.is_enabled("port_scan"));
        config.enabled = false;
        assert!(!config.is_enabled("port_scan"));
    }

    #[test]
    fn disabled_dns_name_reaches_dns() {
        let config = HeuristicsConfig {
            disabled: vec!["long_domain".to_string()],
            ..HeuristicsConfig::default()
        };
        assert_eq!(config.validate(), Ok(()));
        assert!(!config.effective_dns().long_domain.enabled);
        assert!(config.effective_dns().tunneling.enabled);
    }

    #[test]
    fn jitter_above_one_rejected() {
        let mut config = HeuristicsConfig::default();
        config.beacon.max_jitter = 1.5;
        let error = config.validate().unwrap_err().to_string();
        assert!(
            error.starts_with("heuristics.beacon.max_jitter = 1.5:"),
            "{error}"
        );
    }

    #[test]
    fn bad_bogon_block_rejected() {
        let mut config = HeuristicsConfig::default();
        config.spoofing.extra_bogons = vec!["192.0.2.0/33".to_string()];
        let error = config.validate().unwrap_err().to_string();
        assert!(
            error.starts_with("heuristics.spoofing.extra_bogons"),
            "{error}"
        );
    }
}
