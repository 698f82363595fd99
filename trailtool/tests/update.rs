//! `update` against feeds served by a local HTTP server, with every failure the server can
//! produce.

mod support;

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use support::{binary, write_file, Delivery, Route, Server};
use tempfile::TempDir;
use trailwatch_trails::config::Config;
use trailwatch_trails::feeds::FeedError;
use trailwatch_trails::fetch::FetchError;
use trailwatch_trails::inspect::{self, Query};
use trailwatch_trails::update::{run_update, FeedFailure, FeedStatus, UpdateReport};
use trailwatch_trailset::TrailSet;

/// A temporary folder with a catalogue, a configuration, a static tree and a served feed
/// per name.
struct Fixture {
    dir: TempDir,
    server: Server,
    /// `[[feed]]` tables of the catalogue.
    feeds: String,
    /// The `trails` value of the configuration.
    trails: String,
    /// Extra top-level configuration lines.
    top: String,
    /// Extra lines of the `[download]` table.
    download: String,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        write_file(dir.path(), "static/malware/known.txt", "static.example\n");
        Fixture {
            dir,
            server: Server::start(),
            feeds: String::new(),
            trails: "[\"static\"]".to_owned(),
            top: String::new(),
            download: String::new(),
        }
    }

    /// Adds a plain-format feed named `name` served at `/name.txt` by `route`.
    fn feed(&mut self, name: &str, route: Route) {
        self.feed_with(name, route, "format = \"plain\"\nenabled = true\n");
    }

    /// Adds a feed with its own `format`, `enabled` and other options.
    fn feed_with(&mut self, name: &str, route: Route, options: &str) {
        self.server.route(&format!("{name}.txt"), route);
        self.feeds.push_str(&format!(
            "[[feed]]\nname = \"{name}\"\nurl = \"{}\"\n\
             info = \"{name} (malware)\"\nreference = \"{name}.example.org\"\n{options}\n",
            self.server.url(&format!("{name}.txt"))
        ));
    }

    fn config_path(&self) -> PathBuf {
        write_file(self.dir.path(), "feeds.toml", &self.feeds);
        let text = format!(
            "store = \"store/trails.store\"\ncache_dir = \"cache\"\nfeeds = \"feeds.toml\"\n\
             trails = {}\n{}\n[download]\nconnect_timeout_s = 1\nread_timeout_s = 1\n{}",
            self.trails, self.top, self.download
        );
        write_file(self.dir.path(), "trailwatch-trails.toml", &text)
    }

    fn update(&self) -> UpdateReport {
        let config = Config::load(&self.config_path()).unwrap();
        run_update(&config, &mut |_| {}).unwrap()
    }

    fn store(&self) -> TrailSet {
        TrailSet::open(&self.dir.path().join("store/trails.store")).unwrap()
    }
}

fn ips(range: &str, count: usize) -> String {
    (1..=count)
        .map(|host| format!("{range}.{host}\n"))
        .collect()
}

fn listed_ip(set: &TrailSet, ip: &str) -> bool {
    set.lookup_ip(ip.parse::<IpAddr>().unwrap()).is_some()
}

fn status(report: &UpdateReport, index: usize) -> &FeedStatus {
    &report.feeds[index].status
}

#[test]
fn good_feed_is_updated() {
    let mut fixture = Fixture::new();
    fixture.feed("good", Route::ok(ips("192.0.2", 3)));

    let report = fixture.update();

    assert!(matches!(
        status(&report, 0),
        FeedStatus::Updated { entries: 3, .. }
    ));
}

#[test]
fn feed_entries_reach_store() {
    let mut fixture = Fixture::new();
    fixture.feed("good", Route::ok("bad.example\n"));
    fixture.update();

    let set = fixture.store();
    let hit = set.lookup_domain("www.bad.example").unwrap();
    assert_eq!(set.info(hit.source), "good (malware)");
}

#[test]
fn static_tree_reaches_store() {
    let mut fixture = Fixture::new();
    fixture.feed("good", Route::ok("bad.example\n"));
    fixture.update();

    assert!(fixture.store().lookup_domain("static.example").is_some());
}

#[test]
fn not_found_feed_fails_without_cache() {
    let mut fixture = Fixture::new();
    fixture.feed("good", Route::ok("bad.example\n"));
    fixture.feed("missing", Route::status(404, "gone\n"));

    let report = fixture.update();

    assert!(matches!(
        status(&report, 1),
        FeedStatus::Failed {
            reason: FeedFailure::Fetch(FetchError::Status { status: 404, .. }),
            kept: None
        }
    ));
}

#[test]
fn server_error_keeps_cached_entries() {
    let mut fixture = Fixture::new();
    fixture.feed("flaky", Route::ok(ips("198.51.100", 4)));
    fixture.update();

    fixture
        .server
        .route("flaky.txt", Route::status(500, "oops\n"));
    let report = fixture.update();

    assert!(matches!(
        status(&report, 0),
        FeedStatus::Failed {
            reason: FeedFailure::Fetch(FetchError::Status { status: 500, .. }),
            kept: Some(4)
        }
    ));
    assert!(listed_ip(&fixture.store(), "198.51.100.4"));
}

#[test]
fn stalled_feed_times_out() {
    let mut fixture = Fixture::new();
    let stalled = Route::ok("bad.example\n").with_delivery(Delivery::Stall(Duration::from_secs(6)));
    fixture.feed("stalled", stalled);

    let started = Instant::now();
    let report = fixture.update();

    assert!(matches!(
        status(&report, 0),
        FeedStatus::Failed {
            reason: FeedFailure::Fetch(FetchError::Timeout { .. }),
            ..
        }
    ));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn cut_body_is_truncated() {
    let mut fixture = Fixture::new();
    let cut = Route::ok(ips("203.0.113", 50)).with_delivery(Delivery::CutAfter(100));
    fixture.feed("cut", cut);

    let report = fixture.update();

    assert!(matches!(
        status(&report, 0),
        FeedStatus::Failed {
            reason: FeedFailure::Fetch(FetchError::Truncated { received: 100, .. }),
            ..
        }
    ));
}

#[test]
fn unchecked_cut_drops_partial_line() {
    let mut fixture = Fixture::new();
    // Cut inside the second line: "198.51.100.15" of "198.51.100.159".
    let body = "198.51.100.7\n198.51.100.159\n";
    let cut = Route::ok(body).with_delivery(Delivery::CutWithoutLength(26));
    fixture.feed("cut", cut);

    fixture.update();

    let store = fixture.store();
    assert!(listed_ip(&store, "198.51.100.7"));
    assert!(!listed_ip(&store, "198.51.100.15"));
}

#[test]
fn cut_gzip_body_is_truncated() {
    let mut fixture = Fixture::new();
    let cut = Route::gzip(&ips("203.0.113", 200), true).with_delivery(Delivery::CutAfter(60));
    fixture.feed("cut", cut);

    let report = fixture.update();

    assert!(matches!(
        status(&report, 0),
        FeedStatus::Failed {
            reason: FeedFailure::Fetch(FetchError::Truncated { .. }),
            ..
        }
    ));
}

#[test]
fn csv_fixture_gives_endpoints() {
    let mut fixture = Fixture::new();
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/csv_header_row.csv"
    );
    let body = std::fs::read_to_string(path).unwrap();
    let options = "format = \"csv\"\ncolumn = \"dst_ip\"\nport_column = \"dst_port\"\n\
                   header = \"row\"\nenabled = true\n";
    fixture.feed_with("c2", Route::gzip(&body, true), options);
    fixture.update();

    let set = fixture.store();
    let endpoint = set.lookup_ip_port("198.51.100.7".parse().unwrap(), 443);
    assert_eq!(
        endpoint.map(|source| set.info(source)),
        Some("c2 (malware)")
    );
}

#[test]
fn html_page_is_wrong_format() {
    let mut fixture = Fixture::new();
    let page = "<!DOCTYPE html>\n<html><body><h1>Service unavailable</h1></body></html>\n";
    fixture.feed("garbage", Route::ok(page));

    let report = fixture.update();

    assert!(matches!(
        status(&report, 0),
        FeedStatus::Failed {
            reason: FeedFailure::Parse(FeedError::WrongFormat { .. }),
            ..
        }
    ));
}

#[test]
fn labelled_gzip_is_decoded() {
    let mut fixture = Fixture::new();
    fixture.feed("packed", Route::gzip(&ips("192.0.2", 5), true));

    let report = fixture.update();

    assert!(matches!(
        status(&report, 0),
        FeedStatus::Updated { entries: 5, .. }
    ));
}

#[test]
fn unlabelled_gzip_is_decoded() {
    let mut fixture = Fixture::new();
    fixture.feed("packed", Route::gzip(&ips("192.0.2", 5), false));
    fixture.update();

    assert!(listed_ip(&fixture.store(), "192.0.2.5"));
}

#[test]
fn shrunk_feed_keeps_previous_entries() {
    let mut fixture = Fixture::new();
    fixture.feed("shrinking", Route::ok(ips("198.51.100", 10)));
    fixture.update();

    fixture
        .server
        .route("shrinking.txt", Route::ok(ips("198.51.100", 4)));
    let report = fixture.update();

    assert!(matches!(
        status(&report, 0),
        FeedStatus::Failed {
            reason: FeedFailure::Shrunk {
                entries: 4,
                previous: 10
            },
            kept: Some(10)
        }
    ));
    assert!(listed_ip(&fixture.store(), "198.51.100.10"));
}

#[test]
fn half_size_feed_is_accepted() {
    let mut fixture = Fixture::new();
    fixture.feed("halving", Route::ok(ips("198.51.100", 10)));
    fixture.update();

    fixture
        .server
        .route("halving.txt", Route::ok(ips("198.51.100", 5)));
    let report = fixture.update();

    assert!(matches!(
        status(&report, 0),
        FeedStatus::Updated { entries: 5, .. }
    ));
}

#[test]
fn too_few_entries_fail() {
    let mut fixture = Fixture::new();
    let options = "format = \"plain\"\nenabled = true\nmin_entries = 10\n";
    fixture.feed_with("tiny", Route::ok(ips("192.0.2", 3)), options);

    let report = fixture.update();

    assert!(matches!(
        status(&report, 0),
        FeedStatus::Failed {
            reason: FeedFailure::Parse(FeedError::TooFewEntries {
                found: 3,
                minimum: 10,
                ..
            }),
            ..
        }
    ));
}

#[test]
fn oversized_feed_names_limit() {
    let mut fixture = Fixture::new();
    fixture.feed("big", Route::ok(ips("192.0.2", 200)));
    fixture.download = "max_bytes = 1000\n".to_owned();

    let report = fixture.update();

    assert!(matches!(
        status(&report, 0),
        FeedStatus::Failed {
            reason: FeedFailure::Fetch(FetchError::TooLarge { limit: 1000, .. }),
            ..
        }
    ));
}

#[test]
fn etag_match_gives_unchanged() {
    let mut fixture = Fixture::new();
    fixture.feed("tagged", Route::ok(ips("192.0.2", 6)).with_etag("\"v1\""));
    fixture.update();

    let report = fixture.update();

    assert!(matches!(
        status(&report, 0),
        FeedStatus::Unchanged { entries: 6 }
    ));
}

#[test]
fn second_download_sends_etag() {
    let mut fixture = Fixture::new();
    fixture.feed("tagged", Route::ok(ips("192.0.2", 6)).with_etag("\"v1\""));
    fixture.update();
    fixture.update();

    let requests = fixture.server.received("tagged.txt");
    assert_eq!(
        requests[1].headers.get("if-none-match").map(String::as_str),
        Some("\"v1\"")
    );
}

#[test]
fn unchanged_feed_stays_in_store() {
    let mut fixture = Fixture::new();
    fixture.feed("tagged", Route::ok(ips("192.0.2", 6)).with_etag("\"v1\""));
    fixture.update();
    fixture.update();

    assert!(listed_ip(&fixture.store(), "192.0.2.6"));
}

#[test]
fn request_names_user_agent() {
    let mut fixture = Fixture::new();
    fixture.feed("good", Route::ok("bad.example\n"));
    fixture.update();

    let requests = fixture.server.received("good.txt");
    assert_eq!(
        requests[0].headers.get("user-agent").cloned(),
        Some(format!("trailwatch-trails/{}", env!("CARGO_PKG_VERSION")))
    );
}

#[test]
fn refused_connection_is_connect_error() {
    let mut fixture = Fixture::new();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/gone.txt", closed.local_addr().unwrap());
    drop(closed);
    fixture.feed("refused", Route::ok("unused.example\n"));
    fixture.feeds = fixture
        .feeds
        .replace(&fixture.server.url("refused.txt"), &url);

    let report = fixture.update();

    assert!(matches!(
        status(&report, 0),
        FeedStatus::Failed {
            reason: FeedFailure::Fetch(FetchError::Connect { .. }),
            ..
        }
    ));
}

#[test]
fn proxy_carries_download() {
    let mut fixture = Fixture::new();
    let proxy = Server::start();
    proxy.route("proxied.txt", Route::ok("proxied.example\n"));
    fixture.feed("proxied", Route::status(500, "not through the proxy\n"));
    fixture.download = format!("proxy = \"{}\"\n", proxy.url("").trim_end_matches('/'));

    fixture.update();

    let tunnels: Vec<String> = proxy
        .received("proxied.txt")
        .iter()
        .map(|request| request.method.clone())
        .collect();
    assert_eq!(tunnels, ["GET"]);
    assert!(fixture.store().lookup_domain("proxied.example").is_some());
}

#[test]
fn disabled_feed_is_not_downloaded() {
    let mut fixture = Fixture::new();
    fixture.feed("good", Route::ok("bad.example\n"));
    let options = "format = \"plain\"\nenabled = false\n";
    fixture.feed_with("off", Route::ok("off.example\n"), options);
    fixture.update();

    assert!(fixture.server.received("off.txt").is_empty());
}

#[test]
fn custom_tree_wins_over_feed() {
    let mut fixture = Fixture::new();
    write_file(fixture.dir.path(), "custom/mine.txt", "shared.example\n");
    fixture.feed("good", Route::ok("shared.example\n"));
    fixture.trails = "[\"static\", \"custom\"]".to_owned();
    fixture.update();

    let set = fixture.store();
    let hit = set.lookup_domain("shared.example").unwrap();
    assert_eq!(set.reference(hit.source), "(custom)");
}

#[test]
fn feed_reference_reaches_store() {
    let mut fixture = Fixture::new();
    fixture.feed("good", Route::ok("bad.example\n"));
    fixture.update();

    let set = fixture.store();
    let hit = set.lookup_domain("bad.example").unwrap();
    assert_eq!(set.reference(hit.source), "good.example.org");
}

#[test]
fn shared_indicator_keeps_every_source() {
    let mut fixture = Fixture::new();
    write_file(fixture.dir.path(), "custom/mine.txt", "shared.example\n");
    fixture.feed("one", Route::ok("shared.example\n"));
    fixture.feed("two", Route::ok("shared.example\n"));
    fixture.trails = "[\"static\", \"custom\"]".to_owned();
    fixture.update();

    let set = fixture.store();
    let query = Query::Domain("shared.example".to_owned());
    let expected = [
        ("mine", "(custom)"),
        ("one (malware)", "one.example.org"),
        ("two (malware)", "two.example.org"),
    ]
    .map(|(info, reference)| (info.to_owned(), reference.to_owned()));
    assert_eq!(inspect::lookup(&set, &query)[0].sources, expected);
}

#[test]
fn whitelisted_feed_entry_is_dropped() {
    let mut fixture = Fixture::new();
    write_file(fixture.dir.path(), "whitelist.txt", "benign.example\n");
    fixture.feed("good", Route::ok("benign.example\nbad.example\n"));
    fixture.top = "whitelist = \"whitelist.txt\"\n".to_owned();
    fixture.update();

    assert!(fixture.store().lookup_domain("benign.example").is_none());
}

#[test]
fn cli_prints_line_per_feed() {
    let mut fixture = Fixture::new();
    fixture.feed("good", Route::ok("bad.example\n"));
    fixture.feed("missing", Route::status(404, "gone\n"));

    let output = Command::new(binary())
        .args(["update", "-c"])
        .arg(fixture.config_path())
        .output()
        .unwrap();

    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[0].starts_with("good "), "{stdout}");
    assert!(
        lines[1].contains("FAILED") && lines[1].contains("404"),
        "{stdout}"
    );
    assert!(lines[2].contains("1 failed"), "{stdout}");
}

#[test]
fn cli_succeeds_with_failed_feed() {
    let mut fixture = Fixture::new();
    fixture.feed("good", Route::ok("bad.example\n"));
    fixture.feed("missing", Route::status(404, "gone\n"));

    let status = Command::new(binary())
        .args(["update", "-c"])
        .arg(fixture.config_path())
        .status()
        .unwrap();

    assert_eq!(status.code(), Some(0));
}

#[test]
fn cli_exits_3_without_feed_data() {
    let mut fixture = Fixture::new();
    fixture.feed("missing", Route::status(404, "gone\n"));
    fixture.feed("broken", Route::status(500, "oops\n"));

    let status = Command::new(binary())
        .args(["update", "-c"])
        .arg(fixture.config_path())
        .status()
        .unwrap();

    assert_eq!(status.code(), Some(3));
}

#[test]
fn store_is_written_without_feed_data() {
    let mut fixture = Fixture::new();
    fixture.feed("missing", Route::status(404, "gone\n"));

    let report = fixture.update();

    assert!(report.no_feed_data());
    assert!(fixture.store().lookup_domain("static.example").is_some());
}

#[test]
fn unknown_config_key_is_rejected() {
    let fixture = Fixture::new();
    let path = write_file(
        fixture.dir.path(),
        "bad.toml",
        "[download]\nmax_byte = 10\n",
    );

    let output = Command::new(binary())
        .args(["update", "-c"])
        .arg(&path)
        .output()
        .unwrap();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr.contains("max_byte"), "{stderr}");
}
