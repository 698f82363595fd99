//! Feed catalogue and parser tests.
//!
//! Hand-made fixtures in `tests/fixtures/` (documentation addresses, example names) cover
//! every format and always run. Excerpts of real feeds cannot be committed because of some
//! feeds' terms, so they are read in place from the `shared/feed-samples` folder beside the
//! repository, and their tests print a message and pass when it is missing. The counts and
//! entries expected from them were checked against the files with grep and sort.

use std::path::{Path, PathBuf};

use trailwatch_trails::feeds::{
    parse, Catalogue, CatalogueError, Column, Feed, FeedError, Format, HeaderMode, Parsed,
};

fn feed(format: Format) -> Feed {
    Feed {
        name: "test_feed".to_owned(),
        url: "https://feeds.example.org/list.txt".to_owned(),
        format,
        info: "test feed (attacker)".to_owned(),
        reference: "feeds.example.org".to_owned(),
        enabled: true,
        min_entries: None,
    }
}

fn csv(column: &str, port_column: Option<&str>, header: HeaderMode) -> Format {
    Format::Csv {
        column: Column::Name(column.to_owned()),
        port_column: port_column.map(|name| Column::Name(name.to_owned())),
        status_column: None,
        status_allow: Vec::new(),
        delimiter: None,
        header,
    }
}

fn with_status(format: Format, column: &str, allow: &[&str]) -> Format {
    match format {
        Format::Csv {
            column: indicator,
            port_column,
            delimiter,
            header,
            ..
        } => Format::Csv {
            column: indicator,
            port_column,
            status_column: Some(Column::Name(column.to_owned())),
            status_allow: allow.iter().map(|value| (*value).to_owned()).collect(),
            delimiter,
            header,
        },
        other => other,
    }
}

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn parse_fixture(format: Format, name: &str) -> Parsed {
    parse(&feed(format), &fixture(name)).unwrap_or_else(|error| panic!("{name}: {error}"))
}

fn samples_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/feed-samples"
    ))
}

/// Reads a shared sample, or prints why the test is skipped.
fn sample(name: &str) -> Option<String> {
    let path = samples_dir().join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(error) => {
            println!(
                "skipping: sample {} is not readable: {error}",
                path.display()
            );
            None
        }
    }
}

fn parse_sample(format: Format, name: &str) -> Option<Parsed> {
    let body = sample(name)?;
    Some(parse(&feed(format), &body).unwrap_or_else(|error| panic!("{name}: {error}")))
}

/// Checks the indicator count, the skip count and a few entries of a sample.
fn check_sample(format: Format, name: &str, count: usize, skipped: usize, entries: &[&str]) {
    let Some(parsed) = parse_sample(format, name) else {
        return;
    };

    assert_eq!(parsed.indicators.len(), count, "{name}: indicator count");
    assert_eq!(
        parsed.skipped, skipped,
        "{name}: skipped {:?}",
        parsed.first_skipped
    );
    for entry in entries {
        assert!(
            parsed.indicators.iter().any(|indicator| indicator == entry),
            "{name}: {entry} is missing"
        );
    }
}

fn wrong_format_reason(result: Result<Parsed, FeedError>) -> String {
    match result {
        Err(FeedError::WrongFormat { reason, .. }) => reason,
        other => panic!("expected WrongFormat, got {other:?}"),
    }
}

mod fixtures {
    use super::*;

    #[test]
    fn plain_fixture_indicators() {
        let parsed = parse_fixture(Format::Plain, "plain_annotated.txt");

        let expected = [
            "198.51.100.7",
            "198.51.100.8",
            "203.0.113.0/24",
            "2001:db8::5",
            "[2001:db8::6]:8443",
            "198.51.100.9:2222",
            "malware.example.com",
            "phish.example.net/login.php",
            "203.0.113.50",
            "198.51.100.11",
        ];
        assert_eq!(parsed.indicators, expected);
    }

    #[test]
    fn plain_fixture_skips() {
        let parsed = parse_fixture(Format::Plain, "plain_annotated.txt");

        assert_eq!(parsed.skipped, 4, "{:?}", parsed.first_skipped);
    }

    #[test]
    fn plain_skip_names_line() {
        let parsed = parse_fixture(Format::Plain, "plain_annotated.txt");

        let (line, message) = &parsed.first_skipped[0];
        assert_eq!(
            (*line, message.starts_with("\"10.1.2.3\"")),
            (8, true),
            "{message}"
        );
    }

    #[test]
    fn ipset_fixture_indicators() {
        let parsed = parse_fixture(Format::Ipset, "ipset_level.netset");

        let expected = [
            "192.0.2.0/24",
            "198.51.100.16/31",
            "198.51.100.20/30",
            "198.51.100.77",
            "203.0.113.5",
            "203.0.113.128/25",
        ];
        assert_eq!(parsed.indicators, expected);
    }

    #[test]
    fn ipset_fixture_skips_bogons() {
        let parsed = parse_fixture(Format::Ipset, "ipset_level.netset");

        assert_eq!(parsed.skipped, 5, "{:?}", parsed.first_skipped);
    }

    #[test]
    fn hosts_fixture_indicators() {
        let parsed = parse_fixture(Format::Hosts, "hosts_sink.txt");

        let expected = [
            "ads.example.com",
            "tracker.example.net",
            "a.example.org",
            "b.example.org",
            "old-style.example.com",
            "192.168.112.2o7.example",
        ];
        assert_eq!(parsed.indicators, expected);
    }

    #[test]
    fn hosts_fixture_skips() {
        let parsed = parse_fixture(Format::Hosts, "hosts_sink.txt");

        assert_eq!(parsed.skipped, 2, "{:?}", parsed.first_skipped);
    }

    #[test]
    fn urls_fixture_indicators() {
        let parsed = parse_fixture(Format::Urls, "urls_feed.txt");

        let expected = [
            "phish.example.com/login/index.php",
            "secure-login.example.net:8443/verify?id=12",
            "198.51.100.7:8080/bins/mirai.arm7",
            "203.0.113.9",
            "panel.example.org/gate.php",
            "auth.example.com",
        ];
        assert_eq!(parsed.indicators, expected);
    }

    #[test]
    fn urls_fixture_skips() {
        let parsed = parse_fixture(Format::Urls, "urls_feed.txt");

        assert_eq!(parsed.skipped, 4, "{:?}", parsed.first_skipped);
    }

    #[test]
    fn csv_header_row_endpoints() {
        let format = csv("dst_ip", Some("dst_port"), HeaderMode::Row);
        let parsed = parse_fixture(format, "csv_header_row.csv");

        let expected = [
            "198.51.100.7:443",
            "198.51.100.8:8080",
            "203.0.113.9",
            "[2001:db8::7]:993",
        ];
        assert_eq!(parsed.indicators, expected);
    }

    #[test]
    fn csv_header_row_skips() {
        let format = csv("dst_ip", Some("dst_port"), HeaderMode::Row);
        let parsed = parse_fixture(format, "csv_header_row.csv");

        assert_eq!(parsed.skipped, 2, "{:?}", parsed.first_skipped);
    }

    #[test]
    fn csv_status_filter_keeps_online() {
        let format = csv("dst_ip", Some("dst_port"), HeaderMode::Row);
        let format = with_status(format, "c2_status", &["online"]);
        let parsed = parse_fixture(format, "csv_header_row.csv");

        let expected = ["198.51.100.7:443", "203.0.113.9", "[2001:db8::7]:993"];
        assert_eq!(parsed.indicators, expected);
    }

    #[test]
    fn csv_by_index_counts_header() {
        let format = Format::Csv {
            column: Column::Index(1),
            port_column: None,
            status_column: None,
            status_allow: Vec::new(),
            delimiter: None,
            header: HeaderMode::None,
        };
        let parsed = parse_fixture(format, "csv_header_row.csv");

        assert_eq!(parsed.skipped, 2, "{:?}", parsed.first_skipped);
    }

    #[test]
    fn csv_header_comment_urls() {
        let format = with_status(
            csv("url", None, HeaderMode::Comment),
            "url_status",
            &["online"],
        );
        let parsed = parse_fixture(format, "csv_header_comment.csv");

        let expected = [
            "198.51.100.7:8080/i",
            "dropper.example.com/a/b.exe",
            "quote.example.org/a,b",
        ];
        assert_eq!(parsed.indicators, expected);
    }

    #[test]
    fn csv_header_comment_skips() {
        let format = with_status(
            csv("url", None, HeaderMode::Comment),
            "url_status",
            &["online"],
        );
        let parsed = parse_fixture(format, "csv_header_comment.csv");

        assert_eq!(parsed.skipped, 2, "{:?}", parsed.first_skipped);
    }

    #[test]
    fn pipe_fixture_indicators() {
        let parsed = parse_fixture(Format::Pipe { column: 2 }, "pipe_padded.txt");

        let expected = ["198.51.100.7", "203.0.113.9", "198.51.100.8", "2001:db8::9"];
        assert_eq!(parsed.indicators, expected);
    }

    #[test]
    fn pipe_fixture_skips_private() {
        let parsed = parse_fixture(Format::Pipe { column: 2 }, "pipe_padded.txt");

        assert_eq!(parsed.skipped, 1, "{:?}", parsed.first_skipped);
    }

    #[test]
    fn suricata_fixture_indicators() {
        let parsed = parse_fixture(Format::Suricata, "suricata.rules");

        let expected = [
            "198.51.100.7",
            "198.51.100.8",
            "203.0.113.0/24",
            "203.0.113.50",
            "198.51.100.10",
            "c2.example.com",
            "old-style.example.net",
            "dyn.example.org",
            "sni.example.com",
            "quoted.example.com",
        ];
        assert_eq!(parsed.indicators, expected);
    }

    #[test]
    fn suricata_fixture_skips() {
        let parsed = parse_fixture(Format::Suricata, "suricata.rules");

        assert_eq!(parsed.skipped, 3, "{:?}", parsed.first_skipped);
    }

    #[test]
    fn ndjson_fixture_indicators() {
        let format = Format::Json {
            path: "cidr".to_owned(),
        };
        let parsed = parse_fixture(format, "ndjson_drop.json");

        let expected = [
            "192.0.2.0/24",
            "198.51.100.0/24",
            "203.0.113.0/25",
            "2001:db8:1000::/36",
        ];
        assert_eq!(parsed.indicators, expected);
    }

    #[test]
    fn ndjson_fixture_skips_only_cgnat() {
        let format = Format::Json {
            path: "cidr".to_owned(),
        };
        let parsed = parse_fixture(format, "ndjson_drop.json");

        assert_eq!(parsed.skipped, 1, "{:?}", parsed.first_skipped);
    }

    #[test]
    fn json_array_nested_path() {
        let format = Format::Json {
            path: "ioc.value".to_owned(),
        };
        let parsed = parse_fixture(format, "json_array.json");

        let expected = [
            "198.51.100.7:443",
            "c2.example.com",
            "dropper.example.net/x.bin",
        ];
        assert_eq!(parsed.indicators, expected);
    }

    #[test]
    fn json_array_skips_number() {
        let format = Format::Json {
            path: "ioc.value".to_owned(),
        };
        let parsed = parse_fixture(format, "json_array.json");

        assert_eq!(parsed.first_skipped.len(), 1);
        assert_eq!(parsed.first_skipped[0].0, 5, "element number");
    }

    #[test]
    fn tor_fixture_addresses() {
        let parsed = parse_fixture(Format::TorExit, "tor_exit_addresses.txt");

        let expected = [
            "198.51.100.7",
            "198.51.100.8",
            "203.0.113.9",
            "203.0.113.10",
        ];
        assert_eq!(parsed.indicators, expected);
    }

    #[test]
    fn delimited_reputation_addresses() {
        let format = Format::Delimited {
            separator: '#',
            column: 0,
        };
        let parsed = parse_fixture(format, "delimited_reputation.data");

        let expected = [
            "198.51.100.7",
            "198.51.100.8",
            "203.0.113.9",
            "203.0.113.10",
        ];
        assert_eq!(parsed.indicators, expected);
    }

    #[test]
    fn delimited_drop_blocks() {
        let format = Format::Delimited {
            separator: ';',
            column: 0,
        };
        let parsed = parse_fixture(format, "delimited_drop.txt");

        let expected = ["198.51.100.0/24", "203.0.113.0/24", "2001:db8:4000::/34"];
        assert_eq!(parsed.indicators, expected);
    }

    #[test]
    fn plain_reads_drop_annotations() {
        let parsed = parse_fixture(Format::Plain, "delimited_drop.txt");

        assert_eq!(parsed.indicators.len(), 3);
    }
}

mod samples {
    use super::*;

    #[test]
    fn feodo_sample_endpoints() {
        let format = csv("dst_ip", Some("dst_port"), HeaderMode::Row);
        let entries = ["192.9.135.73:1194", "172.233.221.61:5938"];

        check_sample(format, "feodotracker_ipblocklist.csv", 28, 0, &entries);
    }

    #[test]
    fn feodo_sample_online_only() {
        let format = csv("dst_ip", Some("dst_port"), HeaderMode::Row);
        let format = with_status(format, "c2_status", &["online"]);
        let entries = ["213.199.41.33:13721", "84.247.157.112:13783"];

        check_sample(format, "feodotracker_ipblocklist.csv", 4, 24, &entries);
    }

    #[test]
    fn sslbl_sha1_sample_is_wrong_format() {
        let Some(body) = sample("sslbl_sslblacklist.csv") else {
            return;
        };
        let format = csv("SHA1", None, HeaderMode::Comment);

        let reason = wrong_format_reason(parse(&feed(format), &body));

        assert!(reason.contains("191 entries"), "{reason}");
    }

    #[test]
    fn urlhaus_tld_sample_status() {
        let format = with_status(
            csv("URL", None, HeaderMode::Comment),
            "URL_status",
            &["online"],
        );
        let entries = ["cbd-planet.ch/sec.myacc.send.com/"];

        check_sample(format, "urlhaus_tld_feed.csv", 1, 1, &entries);
    }

    #[test]
    fn blocklistde_sample_addresses() {
        let entries = ["192.0.2.4", "203.0.113.254"];

        check_sample(
            Format::Plain,
            "blocklistde_imap_SANITIZED.txt",
            6,
            0,
            &entries,
        );
    }

    #[test]
    fn firehol_level1_drops_bogons() {
        let entries = ["1.4.0.0/17", "1.93.0.224", "5.8.62.0/24"];

        check_sample(Format::Ipset, "firehol_level1.netset", 98, 2, &entries);
    }

    #[test]
    fn bitcoin_version_strings_dropped() {
        // 0.8.2.2, 0.9.2.1 and 0.9.3.2 fall in 0.0.0.0/8, while 1.7.3.2 is a public
        // address and stays.
        check_sample(
            Format::Ipset,
            "firehol_bitcoin_nodes_1d.ipset",
            37,
            3,
            &["1.7.3.2"],
        );
    }

    #[test]
    fn botscout_ipset_keeps_cidr() {
        let entries = ["46.166.148.176/31", "46.166.199.137"];

        check_sample(Format::Ipset, "firehol_botscout_1d.ipset", 129, 1, &entries);
    }

    #[test]
    fn other_firehol_ipsets_parse() {
        check_sample(Format::Ipset, "firehol_dshield_top_1000.ipset", 70, 0, &[]);
        check_sample(Format::Ipset, "firehol_cleantalk_1d.ipset", 30, 0, &[]);
        check_sample(Format::Ipset, "firehol_socks_proxy_7d.ipset", 30, 0, &[]);
        check_sample(Format::Ipset, "firehol_sslproxies_1d.ipset", 40, 0, &[]);
    }

    #[test]
    fn et_compromised_sample_addresses() {
        check_sample(
            Format::Plain,
            "et_compromised-ips.txt",
            200,
            0,
            &["100.35.27.92"],
        );
    }

    #[test]
    fn et_botcc_bracket_lists() {
        let entries = ["104.143.5.144", "95.211.154.159", "97.107.127.227"];

        check_sample(Format::Suricata, "et_botcc.rules", 274, 0, &entries);
    }

    #[test]
    fn et_mobile_rules_names() {
        let entries = [
            "loaderclientarea24.ru",
            "goldncup.com",
            "1jve.com",
            "max-mayfield.com",
        ];

        check_sample(
            Format::Suricata,
            "et_emerging-mobile_malware_selected.rules",
            75,
            0,
            &entries,
        );
    }

    #[test]
    fn et_commented_rules_skipped() {
        let Some(parsed) = parse_sample(
            Format::Suricata,
            "et_emerging-mobile_malware_selected.rules",
        ) else {
            return;
        };

        assert!(!parsed
            .indicators
            .iter()
            .any(|name| name == "storegoogle.at"));
    }

    #[test]
    fn spamhaus_drop_with_ipv6() {
        let format = Format::Delimited {
            separator: ';',
            column: 0,
        };

        check_sample(
            format,
            "spamhaus_drop.txt",
            2,
            0,
            &["1.4.0.0/17", "2a06:e480::/29"],
        );
    }

    #[test]
    fn spamhaus_edrop_blocks() {
        let format = Format::Delimited {
            separator: ';',
            column: 0,
        };

        check_sample(format, "spamhaus_edrop.txt", 26, 0, &["46.148.127.0/24"]);
    }

    #[test]
    fn spamhaus_asndrop_is_wrong_format() {
        let Some(body) = sample("spamhaus_asndrop.txt") else {
            return;
        };
        let format = Format::Delimited {
            separator: ';',
            column: 0,
        };

        let reason = wrong_format_reason(parse(&feed(format), &body));

        assert!(reason.contains("AS260"), "{reason}");
    }

    #[test]
    fn spamhaus_json_skips_metadata() {
        let format = Format::Json {
            path: "cidr".to_owned(),
        };

        check_sample(format, "spamhaus_drop_v4.json", 150, 0, &["63.106.68.0/22"]);
    }

    #[test]
    fn dataplane_padded_pipes() {
        let Some(parsed) = parse_sample(Format::Pipe { column: 2 }, "dataplane_sshpwauth.txt")
        else {
            return;
        };

        let expected = ["170.239.104.183", "117.21.224.121", "1.2.3.4"];
        assert_eq!(parsed.indicators, expected);
    }

    #[test]
    fn binarydefense_blank_after_header() {
        check_sample(
            Format::Plain,
            "binarydefense_banlist.txt",
            187,
            0,
            &["1.0.196.76"],
        );
    }

    #[test]
    fn rutgers_sample_addresses() {
        check_sample(
            Format::Plain,
            "rutgers_attackers.txt",
            200,
            0,
            &["101.126.153.162"],
        );
    }

    #[test]
    fn tor_exit_records_deduplicated() {
        // 50 ExitAddress lines, two of which repeat an address.
        check_sample(
            Format::TorExit,
            "tor_exit-addresses.txt",
            48,
            0,
            &["185.241.208.232"],
        );
    }

    #[test]
    fn tor_several_addresses_per_node() {
        let Some(parsed) = parse_sample(Format::TorExit, "tor_exit-addresses_multiaddr.txt") else {
            return;
        };

        let expected = [
            "189.147.145.37",
            "201.137.252.163",
            "189.147.193.202",
            "84.131.48.155",
            "217.95.20.147",
            "80.139.97.191",
            "217.95.18.115",
        ];
        assert_eq!(parsed.indicators, expected);
    }

    #[test]
    fn tor_bulk_list_is_plain() {
        check_sample(
            Format::Plain,
            "tor_bulkexitlist.txt",
            200,
            0,
            &["185.241.208.232"],
        );
    }

    #[test]
    fn tor_bulk_list_not_tor_exit() {
        let Some(body) = sample("tor_bulkexitlist.txt") else {
            return;
        };

        let result = parse(&feed(Format::TorExit), &body);

        assert!(
            matches!(result, Err(FeedError::WrongFormat { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn myipms_mixed_line_endings() {
        check_sample(
            Format::Plain,
            "myipms_latest_blacklist.txt",
            182,
            0,
            &["18.97.9.174"],
        );
    }

    #[test]
    fn alienvault_hash_fields() {
        let format = Format::Delimited {
            separator: '#',
            column: 0,
        };

        check_sample(
            format,
            "alienvault_reputation.data",
            200,
            0,
            &["203.121.165.16"],
        );
    }

    #[test]
    fn blackbook_csv_header_row() {
        let format = csv("Domain", None, HeaderMode::Row);

        check_sample(format, "blackbook.csv", 199, 0, &["statsrvv.com"]);
    }

    #[test]
    fn blackbook_plain_domains() {
        check_sample(
            Format::Plain,
            "blackbook.txt",
            200,
            0,
            &["cdn.cracks4us.xyz"],
        );
    }

    #[test]
    fn minerchk_leading_blank_line() {
        check_sample(
            Format::Plain,
            "minerchk_hostslist.txt",
            39,
            0,
            &["cloudflare.hashfor.cash"],
        );
    }

    #[test]
    fn stevenblack_preamble_ignored() {
        let entries = ["lb.usemaxserver.de", "ftpcontent.worldnow.com"];

        check_sample(Format::Hosts, "stevenblack_hosts.txt", 30, 0, &entries);
    }

    #[test]
    fn abuseipdb_plain_addresses() {
        check_sample(
            Format::Plain,
            "abuseipdb-s100-1d.ipv4",
            40,
            0,
            &["1.32.16.50"],
        );
    }

    #[test]
    fn openphish_sanitized_is_wrong_format() {
        let Some(body) = sample("openphish_feed_SANITIZED.txt") else {
            return;
        };

        let reason = wrong_format_reason(parse(&feed(Format::Urls), &body));

        assert!(reason.contains("empty label"), "{reason}");
    }

    #[test]
    fn feodo_sample_not_json() {
        let Some(body) = sample("feodotracker_ipblocklist.csv") else {
            return;
        };
        let format = Format::Json {
            path: "dst_ip".to_owned(),
        };

        let result = parse(&feed(format), &body);

        assert!(
            matches!(result, Err(FeedError::WrongFormat { .. })),
            "{result:?}"
        );
    }
}

mod errors {
    use super::*;

    #[test]
    fn html_page_is_wrong_format() {
        let body = "<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head></html>\n";

        let reason = wrong_format_reason(parse(&feed(Format::Plain), body));

        assert!(reason.contains("HTML"), "{reason}");
    }

    #[test]
    fn json_body_for_csv_feed() {
        let body = "{\"query_status\":\"no_result\"}\n";
        let format = csv("dst_ip", None, HeaderMode::Row);

        let reason = wrong_format_reason(parse(&feed(format), body));

        assert!(reason.contains("JSON"), "{reason}");
    }

    #[test]
    fn text_body_for_json_feed() {
        let format = Format::Json {
            path: "cidr".to_owned(),
        };

        let result = parse(&feed(format), "198.51.100.0/24 ; SBL1\n");

        assert!(
            matches!(result, Err(FeedError::WrongFormat { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn missing_csv_column_is_wrong_format() {
        let format = csv("ip_address", None, HeaderMode::Row);

        let reason = wrong_format_reason(parse(&feed(format), &fixture("csv_header_row.csv")));

        assert!(reason.contains("ip_address"), "{reason}");
    }

    #[test]
    fn rules_without_rule_are_wrong_format() {
        let result = parse(&feed(Format::Suricata), &fixture("plain_annotated.txt"));

        assert!(
            matches!(result, Err(FeedError::WrongFormat { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn no_indicator_reason_quotes_entry() {
        let reason = wrong_format_reason(parse(&feed(Format::Plain), "some text\nmore text\n"));

        assert!(reason.contains("line 1"), "{reason}");
    }

    #[test]
    fn wrong_format_names_feed() {
        let error = parse(&feed(Format::Plain), "<html></html>").unwrap_err();

        assert!(error.to_string().starts_with("feed test_feed:"), "{error}");
    }

    #[test]
    fn comment_only_body_is_empty() {
        let parsed = parse(&feed(Format::Plain), "# END 0 entries\n").unwrap();

        assert_eq!(parsed, Parsed::default());
    }

    #[test]
    fn empty_body_is_empty() {
        let parsed = parse(&feed(Format::Ipset), "").unwrap();

        assert_eq!(parsed, Parsed::default());
    }

    #[test]
    fn all_private_body_is_not_error() {
        let parsed = parse(&feed(Format::Plain), "10.0.0.1\n192.168.1.1\n").unwrap();

        assert_eq!(parsed.skipped, 2);
    }

    #[test]
    fn min_entries_rejects_short_list() {
        let mut short = feed(Format::Plain);
        short.min_entries = Some(3);

        let result = parse(&short, "198.51.100.7\n198.51.100.8\n");

        let expected = FeedError::TooFewEntries {
            feed: "test_feed".to_owned(),
            found: 2,
            minimum: 3,
        };
        assert_eq!(result, Err(expected));
    }

    #[test]
    fn min_entries_accepts_enough() {
        let mut enough = feed(Format::Plain);
        enough.min_entries = Some(2);

        assert!(parse(&enough, "198.51.100.7\n198.51.100.8\n").is_ok());
    }
}

mod catalogue {
    use super::*;

    fn shipped_path() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../trails/feeds.toml")
    }

    fn shipped() -> Catalogue {
        Catalogue::load(&shipped_path()).unwrap_or_else(|error| panic!("{error}"))
    }

    fn shipped_feed(name: &str) -> Feed {
        let catalogue = shipped();
        let found = catalogue.feeds.into_iter().find(|feed| feed.name == name);
        found.unwrap_or_else(|| panic!("feed {name} is not in the catalogue"))
    }

    fn error_text(text: &str) -> String {
        match Catalogue::parse(text, "test.toml") {
            Ok(catalogue) => panic!("expected an error, got {catalogue:?}"),
            Err(error) => error.to_string(),
        }
    }

    fn invalid_key(text: &str) -> String {
        match Catalogue::parse(text, "test.toml") {
            Err(CatalogueError::InvalidKey { key, .. }) => key,
            other => panic!("expected InvalidKey, got {other:?}"),
        }
    }

    const HEAD: &str = "[[feed]]\nname = \"example\"\nurl = \"https://lists.example.org/a.txt\"\n\
        info = \"example (attacker)\"\nreference = \"lists.example.org\"\n";

    #[test]
    fn shipped_catalogue_has_thirty_feeds() {
        assert!(shipped().feeds.len() >= 30, "{}", shipped().feeds.len());
    }

    #[test]
    fn shipped_names_are_unique() {
        let catalogue = shipped();
        let mut names: Vec<&str> = catalogue
            .feeds
            .iter()
            .map(|feed| feed.name.as_str())
            .collect();
        names.sort_unstable();
        names.dedup();

        assert_eq!(names.len(), catalogue.feeds.len());
    }

    #[test]
    fn shipped_urls_use_https() {
        for feed in shipped().feeds {
            assert!(
                feed.url.starts_with("https://"),
                "{}: {}",
                feed.name,
                feed.url
            );
        }
    }

    #[test]
    fn shipped_catalogue_uses_every_format() {
        let catalogue = shipped();
        let mut names: Vec<&str> = catalogue
            .feeds
            .iter()
            .map(|feed| feed.format.name())
            .collect();
        names.sort_unstable();
        names.dedup();

        let expected = [
            "csv",
            "delimited",
            "hosts",
            "ipset",
            "json",
            "pipe",
            "plain",
            "suricata",
            "tor_exit",
            "urls",
        ];
        assert_eq!(names, expected);
    }

    #[test]
    fn shipped_catalogue_has_named_feeds() {
        let catalogue = shipped();
        let required = [
            "feodotracker",
            "urlhaus_online",
            "sslbl_ip",
            "threatfox_ip_port",
            "blocklist_de",
            "firehol_level1",
            "firehol_level2",
            "firehol_level3",
            "firehol_webclient",
            "et_compromised",
            "et_botcc",
            "greensnow",
            "tor_bulk_exit",
            "tor_exit_addresses",
            "openphish",
            "dataplane_sshpwauth",
            "dataplane_sipquery",
            "dataplane_vncrfb",
            "spamhaus_drop",
            "spamhaus_edrop",
            "spamhaus_drop_v4",
            "cins_army",
            "binarydefense_banlist",
            "bruteforceblocker",
            "botvrij_domains",
            "dshield_top_1000",
            "myipms_blacklist",
            "rutgers_attackers",
            "alienvault_reputation",
            "blackbook",
            "minerchk",
            "stevenblack_hosts",
            "abuseipdb_s100",
        ];

        for name in required {
            assert!(
                catalogue.feeds.iter().any(|feed| feed.name == name),
                "{name} is missing"
            );
        }
    }

    #[test]
    fn stevenblack_is_disabled() {
        assert!(!shipped_feed("stevenblack_hosts").enabled);
    }

    #[test]
    fn restricted_feeds_are_disabled() {
        let restricted = [
            "dataplane_sshpwauth",
            "binarydefense_banlist",
            "myipms_blacklist",
            "alienvault_reputation",
            "abuseipdb_s100",
            "spamhaus_drop",
            "phishtank",
        ];

        for name in restricted {
            assert!(!shipped_feed(name).enabled, "{name} is enabled");
        }
    }

    #[test]
    fn disabled_feeds_have_reason_comment() {
        let text = std::fs::read_to_string(shipped_path()).unwrap();
        let lines: Vec<&str> = text.lines().collect();

        for (index, line) in lines.iter().enumerate() {
            if *line != "[[feed]]" {
                continue;
            }
            let table: Vec<&str> = lines[index + 1..]
                .iter()
                .take_while(|line| !line.is_empty())
                .copied()
                .collect();
            if !table.contains(&"enabled = false") {
                continue;
            }

            let comment_above = index > 0 && lines[index - 1].starts_with('#');
            assert!(
                comment_above,
                "feed at line {} is disabled without a comment",
                index + 1
            );
        }
    }

    /// Every shipped feed that has a real-format sample parses it with its shipped options.
    #[test]
    fn shipped_feeds_parse_samples() {
        let cases = [
            ("feodotracker", "feodotracker_ipblocklist.csv", 28),
            ("blocklist_de", "blocklistde_imap_SANITIZED.txt", 6),
            ("firehol_level1", "firehol_level1.netset", 98),
            ("dshield_top_1000", "firehol_dshield_top_1000.ipset", 70),
            ("bitcoin_nodes", "firehol_bitcoin_nodes_1d.ipset", 37),
            ("botscout", "firehol_botscout_1d.ipset", 129),
            ("socks_proxy", "firehol_socks_proxy_7d.ipset", 30),
            ("sslproxies", "firehol_sslproxies_1d.ipset", 40),
            ("et_compromised", "et_compromised-ips.txt", 200),
            ("et_botcc", "et_botcc.rules", 274),
            (
                "et_mobile_malware",
                "et_emerging-mobile_malware_selected.rules",
                75,
            ),
            ("spamhaus_drop", "spamhaus_drop.txt", 2),
            ("spamhaus_edrop", "spamhaus_edrop.txt", 26),
            ("spamhaus_drop_v4", "spamhaus_drop_v4.json", 150),
            ("dataplane_sshpwauth", "dataplane_sshpwauth.txt", 3),
            ("binarydefense_banlist", "binarydefense_banlist.txt", 187),
            ("rutgers_attackers", "rutgers_attackers.txt", 200),
            ("tor_exit_addresses", "tor_exit-addresses.txt", 48),
            ("tor_bulk_exit", "tor_bulkexitlist.txt", 200),
            ("myipms_blacklist", "myipms_latest_blacklist.txt", 182),
            ("alienvault_reputation", "alienvault_reputation.data", 200),
            ("blackbook", "blackbook.csv", 199),
            ("minerchk", "minerchk_hostslist.txt", 39),
            ("stevenblack_hosts", "stevenblack_hosts.txt", 30),
            ("abuseipdb_s100", "abuseipdb-s100-1d.ipv4", 40),
        ];

        for (name, file, count) in cases {
            let Some(body) = sample(file) else {
                return;
            };
            // The samples are excerpts, shorter than the floors set for the full lists.
            let mut feed = shipped_feed(name);
            feed.min_entries = None;

            let parsed = parse(&feed, &body).unwrap_or_else(|error| panic!("{error}"));

            assert_eq!(parsed.indicators.len(), count, "{name} on {file}");
        }
    }

    #[test]
    fn csv_feed_parses_all_options() {
        let text = format!(
            "{HEAD}format = \"csv\"\ncolumn = \"url\"\nport_column = 3\n\
             status_column = \"url_status\"\nstatus_allow = [\"online\"]\ndelimiter = \";\"\n\
             header = \"comment\"\nenabled = false\nmin_entries = 10\n"
        );

        let catalogue = Catalogue::parse(&text, "test.toml").unwrap();

        let expected = Feed {
            name: "example".to_owned(),
            url: "https://lists.example.org/a.txt".to_owned(),
            format: Format::Csv {
                column: Column::Name("url".to_owned()),
                port_column: Some(Column::Index(3)),
                status_column: Some(Column::Name("url_status".to_owned())),
                status_allow: vec!["online".to_owned()],
                delimiter: Some(';'),
                header: HeaderMode::Comment,
            },
            info: "example (attacker)".to_owned(),
            reference: "lists.example.org".to_owned(),
            enabled: false,
            min_entries: Some(10),
        };
        assert_eq!(catalogue.feeds, [expected]);
    }

    #[test]
    fn enabled_defaults_to_true() {
        let text = format!("{HEAD}format = \"plain\"\n");

        assert!(Catalogue::parse(&text, "test.toml").unwrap().feeds[0].enabled);
    }

    #[test]
    fn loopback_http_url_is_accepted() {
        let text = format!("{HEAD}format = \"plain\"\n").replace(
            "https://lists.example.org/a.txt",
            "http://127.0.0.1:8080/a.txt",
        );

        assert!(Catalogue::parse(&text, "test.toml").is_ok());
    }

    #[test]
    fn unknown_option_is_named() {
        let text = format!("{HEAD}format = \"csv\"\ncolum = 1\n");

        let message = error_text(&text);

        assert!(message.contains("colum"), "{message}");
    }

    #[test]
    fn error_names_origin_line_feed() {
        let text = format!(
            "{HEAD}format = \"plain\"\n\n{}",
            HEAD.replace("example", "second")
        ) + "format = \"csv\"\ncolum = 1\n";

        let message = error_text(&text);

        assert!(
            message.starts_with("test.toml:8: feed \"second\":"),
            "{message}"
        );
    }

    #[test]
    fn option_on_plain_is_rejected() {
        let text = format!("{HEAD}format = \"plain\"\ncolumn = 2\n");

        assert_eq!(invalid_key(&text), "column");
    }

    #[test]
    fn wrong_option_type_names_key() {
        let text = format!("{HEAD}format = \"pipe\"\ncolumn = \"two\"\n");

        assert_eq!(invalid_key(&text), "column");
    }

    #[test]
    fn wrong_common_type_names_key() {
        let text = format!("{HEAD}format = \"plain\"\nenabled = \"yes\"\n");

        assert_eq!(invalid_key(&text), "enabled");
    }

    #[test]
    fn missing_url_is_named() {
        let text = format!("{HEAD}format = \"plain\"\n").replace("url = ", "mirror = ");

        let message = error_text(&text);

        assert!(
            message.contains("mirror") || message.contains("`url`"),
            "{message}"
        );
    }

    #[test]
    fn missing_format_is_named() {
        let message = error_text(HEAD);

        assert!(message.contains("format"), "{message}");
    }

    #[test]
    fn unknown_format_is_rejected() {
        let text = format!("{HEAD}format = \"xml\"\n");

        let message = error_text(&text);

        assert!(message.contains("unknown variant `xml`"), "{message}");
    }

    #[test]
    fn duplicate_name_is_rejected() {
        let feed_table = format!("{HEAD}format = \"plain\"\n");
        let text = format!("{feed_table}\n{feed_table}");

        assert_eq!(invalid_key(&text), "name");
    }

    #[test]
    fn invalid_name_is_rejected() {
        let text = format!("{HEAD}format = \"plain\"\n").replace("\"example\"", "\"Bad-Name\"");

        assert_eq!(invalid_key(&text), "name");
    }

    #[test]
    fn ftp_url_is_rejected() {
        let text = format!("{HEAD}format = \"plain\"\n").replace("https://", "ftp://");

        assert_eq!(invalid_key(&text), "url");
    }

    #[test]
    fn info_without_category_rejected() {
        let text = format!("{HEAD}format = \"plain\"\n").replace("example (attacker)", "example");

        assert_eq!(invalid_key(&text), "info");
    }

    #[test]
    fn named_column_needs_header() {
        let text = format!("{HEAD}format = \"csv\"\ncolumn = \"dst_ip\"\n");

        assert_eq!(invalid_key(&text), "column");
    }

    #[test]
    fn status_allow_needs_status_column() {
        let text = format!("{HEAD}format = \"csv\"\ncolumn = 1\nstatus_allow = [\"online\"]\n");

        assert_eq!(invalid_key(&text), "status_allow");
    }

    #[test]
    fn status_column_needs_allow_list() {
        let text = format!("{HEAD}format = \"csv\"\ncolumn = 1\nstatus_column = 3\n");

        assert_eq!(invalid_key(&text), "status_allow");
    }

    #[test]
    fn zero_min_entries_is_rejected() {
        let text = format!("{HEAD}format = \"plain\"\nmin_entries = 0\n");

        assert_eq!(invalid_key(&text), "min_entries");
    }

    #[test]
    fn empty_json_path_is_rejected() {
        let text = format!("{HEAD}format = \"json\"\npath = \"data..ip\"\n");

        assert_eq!(invalid_key(&text), "path");
    }

    #[test]
    fn toml_syntax_error_is_reported() {
        let result = Catalogue::parse("[[feed]\nname = 1\n", "test.toml");

        assert!(
            matches!(result, Err(CatalogueError::Syntax { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn misspelt_feed_table_is_rejected() {
        let result = Catalogue::parse("[[feeds]]\nname = \"x\"\n", "test.toml");

        assert!(
            matches!(result, Err(CatalogueError::Syntax { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn missing_file_names_path() {
        let path = Path::new("/nonexistent/trailwatch/feeds.toml");

        let message = Catalogue::load(path).unwrap_err().to_string();

        assert!(
            message.contains("/nonexistent/trailwatch/feeds.toml"),
            "{message}"
        );
    }
}

/// The output is trail-file syntax: the trail loader accepts every line.
mod trails {
    use super::*;
    use trailwatch_trailset::TrailSet;

    fn fixture_outputs() -> Vec<String> {
        let cases = [
            (Format::Plain, "plain_annotated.txt"),
            (Format::Ipset, "ipset_level.netset"),
            (Format::Hosts, "hosts_sink.txt"),
            (Format::Urls, "urls_feed.txt"),
            (
                csv("dst_ip", Some("dst_port"), HeaderMode::Row),
                "csv_header_row.csv",
            ),
            (
                csv("url", None, HeaderMode::Comment),
                "csv_header_comment.csv",
            ),
            (Format::Pipe { column: 2 }, "pipe_padded.txt"),
            (Format::Suricata, "suricata.rules"),
            (
                Format::Json {
                    path: "cidr".to_owned(),
                },
                "ndjson_drop.json",
            ),
            (
                Format::Json {
                    path: "ioc.value".to_owned(),
                },
                "json_array.json",
            ),
            (Format::TorExit, "tor_exit_addresses.txt"),
            (
                Format::Delimited {
                    separator: '#',
                    column: 0,
                },
                "delimited_reputation.data",
            ),
        ];

        cases
            .into_iter()
            .flat_map(|(format, name)| parse_fixture(format, name).indicators)
            .collect()
    }

    #[test]
    fn fixture_output_loads_as_trails() {
        let text = fixture_outputs().join("\n");
        let files = [("malware/feeds.txt", text.as_str(), false)];

        let (_, report) = TrailSet::from_text(&files, None).unwrap();

        assert_eq!(report.bad_lines, [], "bad trail lines");
    }

    #[test]
    fn output_reparses_unchanged() {
        let mut unique: Vec<String> = Vec::new();
        for indicator in fixture_outputs() {
            if !unique.contains(&indicator) {
                unique.push(indicator);
            }
        }

        let again = parse(&feed(Format::Plain), &unique.join("\n")).unwrap();

        assert_eq!(again.indicators, unique);
    }
}

mod random {
    use super::*;
    use proptest::prelude::*;

    fn every_format() -> Vec<Format> {
        vec![
            Format::Plain,
            Format::Ipset,
            Format::Hosts,
            Format::Urls,
            csv("url", Some("port"), HeaderMode::Comment),
            with_status(csv("ip", None, HeaderMode::Row), "status", &["online"]),
            Format::Csv {
                column: Column::Index(2),
                port_column: Some(Column::Index(3)),
                status_column: None,
                status_allow: Vec::new(),
                delimiter: Some('|'),
                header: HeaderMode::None,
            },
            Format::Pipe { column: 2 },
            Format::Suricata,
            Format::Json {
                path: "a.b".to_owned(),
            },
            Format::TorExit,
            Format::Delimited {
                separator: '#',
                column: 1,
            },
        ]
    }

    const FIXTURES: &[&str] = &[
        "plain_annotated.txt",
        "ipset_level.netset",
        "hosts_sink.txt",
        "urls_feed.txt",
        "csv_header_row.csv",
        "csv_header_comment.csv",
        "pipe_padded.txt",
        "suricata.rules",
        "ndjson_drop.json",
        "json_array.json",
        "tor_exit_addresses.txt",
        "delimited_reputation.data",
    ];

    /// Text made of the characters that steer the parsers, or any Unicode text.
    fn feed_text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[0-9a-fA-F.:/#;,|\"\\[\\]{}()!$%@?=* \t\r\n_-]{0,300}",
            any::<String>(),
        ]
    }

    /// A fixture with random text spliced in at a random place.
    fn spliced_fixture() -> impl Strategy<Value = String> {
        (0..FIXTURES.len(), any::<prop::sample::Index>(), feed_text()).prop_map(
            |(which, at, junk)| {
                let text = fixture(FIXTURES[which]);
                let boundaries: Vec<usize> = text
                    .char_indices()
                    .map(|(index, _)| index)
                    .chain([text.len()])
                    .collect();
                let cut = boundaries[at.index(boundaries.len())];
                format!("{}{junk}{}", &text[..cut], &text[cut..])
            },
        )
    }

    proptest! {
        #[test]
        fn random_text_never_panics(body in feed_text(), which in 0..12usize) {
            let _ = parse(&feed(every_format()[which].clone()), &body);
        }

        #[test]
        fn spliced_fixture_never_panics(body in spliced_fixture(), which in 0..12usize) {
            let _ = parse(&feed(every_format()[which].clone()), &body);
        }

        #[test]
        fn random_output_is_normalised(body in spliced_fixture(), which in 0..12usize) {
            if let Ok(parsed) = parse(&feed(every_format()[which].clone()), &body) {
                let again = parse(&feed(Format::Plain), &parsed.indicators.join("\n"));

                prop_assert_eq!(again.map(|again| again.indicators), Ok(parsed.indicators));
            }
        }
    }
}
