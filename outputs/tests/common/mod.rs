//! Events, configuration and waiting helpers shared by the output tests.

#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use trailwatch_event::{Event, Proto, Timestamp, TrailType};
use trailwatch_outputs::{Context, OutputStats, Outputs, OutputsConfig};

/// Generous upper bound for anything a test waits for, so a loaded 2-core machine passes.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Sensor name of every test, with a space that the syslog HOSTNAME must replace.
pub const SENSOR: &str = "edge 1";

/// Returns a high-severity DNS event from 192.168.1.20, at 2026-12-04T06:46:54.123456789Z.
pub fn sample_event() -> Event {
    Event {
        time: Timestamp::new(1_796_366_814, 123_456_789),
        sensor: Arc::from(SENSOR),
        src_ip: IpAddr::V4(Ipv4Addr::new(192, 168, 1, 20)),
        src_port: Some(51234),
        dst_ip: IpAddr::V4(Ipv4Addr::new(8, 8, 8, 8)),
        dst_port: Some(53),
        proto: Proto::Udp,
        trail_type: TrailType::Dns,
        trail: "evil.example.com".to_owned(),
        info: "emotet (malware)".to_owned(),
        reference: "(static)".to_owned(),
        repeats: 0,
    }
}

/// Returns the sample event with `trail` as its trail.
pub fn event_with_trail(trail: &str) -> Event {
    let mut event = sample_event();
    event.trail = trail.to_owned();
    event
}

/// Parses `toml` as the `[outputs]` table and starts the outputs.
pub fn start_outputs(toml: &str) -> Outputs {
    let config: OutputsConfig = toml::from_str(toml).expect("test configuration parses");
    let context = Context {
        sensor_name: SENSOR.to_owned(),
    };
    Outputs::start(&config, &context).expect("outputs start")
}

/// Polls `condition` until it is true, panicking with `what` after [`PATIENCE`].
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(10));
    }
}

/// Returns the stats of the only output.
pub fn only_stats(outputs: &Outputs) -> OutputStats {
    let stats = outputs.stats();
    assert_eq!(stats.len(), 1, "one output configured");
    stats[0].clone()
}
