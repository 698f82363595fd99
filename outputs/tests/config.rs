//! Configuration errors: each names the key and the value.

mod common;

use common::SENSOR;
use trailwatch_outputs::{Context, OutputError, Outputs, OutputsConfig};

fn parse(toml: &str) -> Result<OutputsConfig, toml::de::Error> {
    toml::from_str(toml)
}

fn start_error(toml: &str) -> OutputError {
    let config = parse(toml).expect("configuration parses");
    let context = Context {
        sensor_name: SENSOR.to_owned(),
    };
    match Outputs::start(&config, &context) {
        Ok(_) => panic!("outputs started with {toml:?}"),
        Err(error) => error,
    }
}

#[test]
fn unknown_key_is_named() {
    let top = parse("log_sever = \"127.0.0.1:8337\"\n")
        .unwrap_err()
        .to_string();
    let nested = parse("[syslog]\nserver = \"127.0.0.1:514\"\nsever = \"x\"\n")
        .unwrap_err()
        .to_string();

    assert!(top.contains("log_sever"), "{top}");
    assert!(nested.contains("sever"), "{nested}");
    assert!(
        nested.contains("app_name"),
        "lists the accepted keys: {nested}"
    );
}

#[test]
fn unknown_transport_is_named() {
    let error = parse("[json]\nserver = \"127.0.0.1:5140\"\ntransport = \"tls\"\n")
        .unwrap_err()
        .to_string();

    assert!(error.contains("tls"), "{error}");
    assert!(error.contains("udp"), "{error}");
}

#[test]
fn address_without_port_is_rejected() {
    let error = start_error("log_server = \"127.0.0.1\"\n");

    assert_eq!(error.key, "log_server");
    assert_eq!(error.value, "127.0.0.1");
    let message = error.to_string();
    assert!(
        message.starts_with("outputs.log_server = \"127.0.0.1\": "),
        "{message}"
    );
    assert!(message.contains("host:port"), "{message}");
}

#[test]
fn bad_port_is_rejected() {
    let syslog = start_error("[syslog]\nserver = \"127.0.0.1:notaport\"\n");
    let json = start_error("[json]\nserver = \"127.0.0.1:0\"\n");

    assert_eq!(syslog.key, "syslog.server");
    assert_eq!(syslog.value, "127.0.0.1:notaport");
    assert_eq!(json.key, "json.server");
    assert_eq!(json.value, "127.0.0.1:0");
    assert!(json.reason.contains("port 0"), "{}", json.reason);
}

#[test]
fn bad_severity_is_rejected() {
    let error =
        start_error("[webhook]\nurl = \"http://127.0.0.1:9/hook\"\nmin_severity = \"urgent\"\n");

    assert_eq!(error.key, "webhook.min_severity");
    assert_eq!(error.value, "urgent");
    assert!(
        error.reason.contains("low, medium or high"),
        "{}",
        error.reason
    );
}

#[test]
fn bad_webhook_values_are_rejected() {
    let url = start_error("[webhook]\nurl = \"ftp://127.0.0.1/hook\"\n");
    let interval =
        start_error("[webhook]\nurl = \"http://127.0.0.1:9/hook\"\ninterval_seconds = 0\n");
    let timeout =
        start_error("[webhook]\nurl = \"http://127.0.0.1:9/hook\"\ntimeout_seconds = 0\n");

    assert_eq!(url.key, "webhook.url");
    assert_eq!(url.value, "ftp://127.0.0.1/hook");
    assert_eq!(interval.key, "webhook.interval_seconds");
    assert_eq!(interval.value, "0");
    assert_eq!(timeout.key, "webhook.timeout_seconds");
}

#[test]
fn bad_syslog_values_are_rejected() {
    let facility = start_error("[syslog]\nserver = \"127.0.0.1:514\"\nfacility = \"local9\"\n");
    let app_name = start_error("[syslog]\nserver = \"127.0.0.1:514\"\napp_name = \"two words\"\n");

    assert_eq!(facility.key, "syslog.facility");
    assert_eq!(facility.value, "local9");
    assert!(facility.reason.contains("local7"), "{}", facility.reason);
    assert_eq!(app_name.key, "syslog.app_name");
    assert_eq!(app_name.value, "two words");
}
