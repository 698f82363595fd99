//! The configuration file: the example parses, errors name the file, line and key, and flags
//! override the file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use trailwatch_sensor::cli::Args;
use trailwatch_sensor::config::ConfigFile;
use trailwatch_sensor::settings::{Settings, Source};

const EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/trailwatch-sensor.example.toml"
);

fn parse_error(text: &str) -> String {
    ConfigFile::parse(Path::new("/etc/trailwatch/sensor.toml"), text)
        .expect_err("the text is invalid")
        .to_string()
}

#[test]
fn example_file_parses() {
    let config = ConfigFile::load(Path::new(EXAMPLE)).unwrap();

    assert_eq!(config.capture.interfaces, vec!["eth1".to_string()]);
    assert_eq!(config.sensor.log_dir, PathBuf::from("/var/log/trailwatch"));
    assert_eq!(config.sensor.stats_interval_minutes, 5);
    assert_eq!(config.capture.snaplen, 65_535);
    assert_eq!(config.capture.buffer_mib, 8);
    assert!(config.capture.promiscuous);
    assert!(!config.capture.immediate);
}

#[test]
fn unknown_key_names_key() {
    let error = parse_error("[sensor]\njson = true\n\n[capture]\nsnaplenn = 96\n");

    assert!(error.contains("/etc/trailwatch/sensor.toml:5"), "{error}");
    assert!(error.contains("capture.snaplenn"), "{error}");
    assert!(error.contains("unknown field"), "{error}");
    assert!(error.contains("`snaplen`"), "{error}");
    assert!(
        error.contains("remove the key or correct its spelling"),
        "{error}"
    );
}

#[test]
fn unknown_table_is_rejected() {
    let error = parse_error("[sensors]\nname = \"x\"\n");

    assert!(error.contains("sensors"), "{error}");
    assert!(error.contains("unknown field"), "{error}");
}

#[test]
fn unknown_output_key_rejected() {
    let error = parse_error("[outputs]\nlog_srever = \"127.0.0.1:8337\"\n");

    assert!(error.contains("outputs.log_srever"), "{error}");
}

#[test]
fn wrong_type_names_key() {
    let error = parse_error("[capture]\nsnaplen = \"big\"\n");

    assert!(error.contains(":2: capture.snaplen"), "{error}");
    assert!(error.contains("invalid type"), "{error}");
    assert!(error.contains("expected u32"), "{error}");
    assert!(
        error.contains("write a value of the expected type"),
        "{error}"
    );
}

#[test]
fn syntax_error_names_line() {
    let error = parse_error("[sensor]\njson = \n");

    assert!(error.contains("sensor.toml:2"), "{error}");
    assert!(error.contains("correct the TOML syntax"), "{error}");
}

#[test]
fn buffer_out_of_range_rejected() {
    let error = parse_error("[capture]\nbuffer_mib = 4096\n");

    assert!(error.contains("capture.buffer_mib = 4096"), "{error}");
    assert!(error.contains("expected 1 to 2047"), "{error}");
}

#[test]
fn missing_file_names_path() {
    let error = ConfigFile::load(Path::new("/nonexistent/trailwatch.toml"))
        .unwrap_err()
        .to_string();

    assert!(error.contains("/nonexistent/trailwatch.toml"), "{error}");
}

#[test]
fn flags_override_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sensor.toml");
    std::fs::write(
        &path,
        "[sensor]\nname = \"from-file\"\nlog_dir = \"/file/log\"\nthrottle_seconds = 10\n\
         stats_interval_minutes = 3\nuser = \"file-user\"\n\n\
         [capture]\ninterfaces = [\"eth1\", \"eth2\"]\npromiscuous = true\nsnaplen = 1500\n\
         buffer_mib = 4\nimmediate = true\nfilter = \"tcp\"\n\n\
         [trails]\npaths = [\"/file/trails\"]\nignore = \"/file/ignore.txt\"\n",
    )
    .unwrap();
    let config = path.to_str().unwrap();

    let file_only = Settings::load(&Args::parse_from(["trailwatch-sensor", "-c", config])).unwrap();
    assert_eq!(file_only.sensor_name, "from-file");
    assert_eq!(
        file_only.source,
        Some(Source::Interfaces(vec!["eth1".into(), "eth2".into()]))
    );
    assert_eq!(file_only.capture.filter, "tcp");
    assert_eq!(file_only.stats_interval, Some(Duration::from_secs(180)));

    let args = Args::parse_from([
        "trailwatch-sensor",
        "-c",
        config,
        "-i",
        "lo",
        "--sensor-name",
        "from-flag",
        "--log-dir",
        "/flag/log",
        "--throttle",
        "20",
        "--stats-interval",
        "0",
        "--user",
        "flag-user",
        "--promiscuous",
        "false",
        "--snaplen",
        "96",
        "--buffer-mib",
        "2",
        "--immediate",
        "true",
        "--filter",
        "udp",
        "--trails",
        "/flag/trails",
    ]);
    let settings = Settings::load(&args).unwrap();

    assert_eq!(settings.source, Some(Source::Interfaces(vec!["lo".into()])));
    assert_eq!(settings.capture.interfaces, vec!["lo".to_string()]);
    assert_eq!(settings.sensor_name, "from-flag");
    assert_eq!(settings.log_dir, PathBuf::from("/flag/log"));
    assert_eq!(settings.throttle, Duration::from_secs(20));
    assert_eq!(settings.stats_interval, None);
    assert_eq!(settings.user.as_deref(), Some("flag-user"));
    assert!(!settings.capture.promiscuous);
    assert_eq!(settings.capture.snaplen, 96);
    assert_eq!(settings.capture.buffer_mib, 2);
    assert!(settings.capture.immediate);
    assert_eq!(settings.capture.filter, "udp");
    assert_eq!(settings.trails.paths, vec![PathBuf::from("/flag/trails")]);
    // A key without a flag keeps the file's value.
    assert_eq!(
        settings.trails.ignore,
        Some(PathBuf::from("/file/ignore.txt"))
    );
}

#[test]
fn read_flag_replaces_interfaces() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sensor.toml");
    std::fs::write(&path, "[capture]\ninterfaces = [\"eth1\"]\n").unwrap();

    let args = Args::parse_from([
        "trailwatch-sensor",
        "-c",
        path.to_str().unwrap(),
        "-r",
        "a.pcap",
    ]);
    let settings = Settings::load(&args).unwrap();

    assert_eq!(
        settings.source,
        Some(Source::Files(vec![PathBuf::from("a.pcap")]))
    );
}

#[test]
fn read_and_interface_conflict() {
    let result = Args::try_parse_from(["trailwatch-sensor", "-r", "a.pcap", "-i", "lo"]);

    let error = result.expect_err("-r and -i together are rejected");
    assert_eq!(error.kind(), clap::error::ErrorKind::ArgumentConflict);
}

#[test]
fn snaplen_flag_range_checked() {
    let result = Args::try_parse_from(["trailwatch-sensor", "-i", "lo", "--snaplen", "0"]);

    assert!(result.is_err());
}

#[test]
fn duplicate_interface_flag_rejected() {
    let args = Args::try_parse_from(["trailwatch-sensor", "-i", "any", "-i", "any"]).unwrap();

    let error = Settings::load(&args).unwrap_err().to_string();

    assert!(error.contains("interface any is named twice"), "{error}");
    assert!(error.contains("the -i flags"), "{error}");
}

#[test]
fn duplicate_interface_in_file_rejected() {
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("sensor.toml");
    std::fs::write(
        &config,
        "[capture]\ninterfaces = [\"eth1\", \"eth2\", \"eth1\"]\n",
    )
    .unwrap();
    let args = Args::try_parse_from(["trailwatch-sensor", "-c", config.to_str().unwrap()]).unwrap();

    let error = Settings::load(&args).unwrap_err().to_string();

    assert!(error.contains("interface eth1 is named twice"), "{error}");
    assert!(error.contains("[capture] interfaces of"), "{error}");
    assert!(error.contains("sensor.toml"), "{error}");
}

#[test]
fn any_with_named_interface_accepted() {
    let args = Args::try_parse_from(["trailwatch-sensor", "-i", "any", "-i", "lo"]).unwrap();

    let settings = Settings::load(&args).unwrap();

    let expected = vec!["any".to_string(), "lo".to_string()];
    assert_eq!(settings.source, Some(Source::Interfaces(expected)));
}

#[test]
fn file_paths_relative_to_file() {
    let work = tempfile::tempdir().unwrap();
    let folder = work.path().join("etc");
    std::fs::create_dir(&folder).unwrap();
    let config = folder.join("sensor.toml");
    std::fs::write(
        &config,
        "[sensor]\nlog_dir = \"log\"\n\n[trails]\npaths = [\"trails\"]\nignore = \"ignore.txt\"\n\n\
         [outputs.delivery]\nurl = \"http://127.0.0.1:8338/api/intake\"\n\
         secret_file = \"secret\"\nspool_dir = \"/abs/spool\"\n",
    )
    .unwrap();
    let args = Args::try_parse_from([
        "trailwatch-sensor",
        "-c",
        config.to_str().unwrap(),
        "--whitelist",
        "white.txt",
    ])
    .unwrap();

    let settings = Settings::load(&args).unwrap();

    assert_eq!(settings.log_dir, folder.join("log"));
    assert_eq!(settings.trails.paths, vec![folder.join("trails")]);
    assert_eq!(settings.trails.ignore, Some(folder.join("ignore.txt")));
    // A flag stays relative to the working directory.
    assert_eq!(settings.trails.whitelist, Some(PathBuf::from("white.txt")));
    let delivery = settings.outputs.delivery.unwrap();
    assert_eq!(delivery.secret_file, folder.join("secret"));
    assert_eq!(delivery.spool_dir, PathBuf::from("/abs/spool"));
}
