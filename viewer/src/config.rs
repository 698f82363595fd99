//! The viewer's configuration: the TOML file, its defaults, and command-line overrides.

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use thiserror::Error;

use crate::http::connection::ConnectionTimeouts;
use crate::logs::cache::{DEFAULT_INLINE_COUNT_BYTES, DEFAULT_QUERY_TIME_LIMIT};
use crate::net::{parse_listen_addr, IpNet};

/// Port of Maltrail's web server, kept so that existing bookmarks and proxies keep working.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:8338";
pub const DEFAULT_LOG_DIR: &str = "/var/log/trailwatch";
pub const DEFAULT_USERS_FILE: &str = "/data/viewer/users.toml";
pub const DEFAULT_SESSION_MINUTES: u64 = 720;

/// The complete, validated configuration of one viewer process.
#[derive(Debug, Clone)]
pub struct Config {
    /// Addresses to serve on; each gets its own listening socket.
    pub listen: Vec<SocketAddr>,
    /// Certificate and key for HTTPS; plain HTTP when `None`.
    pub tls: Option<TlsFiles>,
    /// Time from login after which a session is no longer accepted.
    pub session_lifetime: Duration,
    /// Folder of the daily logs `YYYY-MM-DD.log`.
    pub log_dir: PathBuf,
    pub users_file: PathBuf,
    /// File with the one-time setup code that `POST /setup` accepts to create the first user
    /// while the users file has none. `None` turns `/setup` off.
    pub setup_code_file: Option<PathBuf>,
    /// Client networks allowed to read `/fail2ban`.
    pub fail2ban_allow: Vec<IpNet>,
    /// Events from remote sensors, off by default.
    pub intake: IntakeConfig,
    /// Limits on slow clients. They are not read from the file, so this is always the
    /// default unless code (a test) sets other values.
    pub timeouts: ConnectionTimeouts,
    /// Time a query over several days may read logs before it fails with 503. Not read from
    /// the file either.
    pub query_time_limit: Duration,
    /// Bytes of log files without a count that a default-view request indexes itself before
    /// responding; see
    /// [`IndexCache::with_inline_count_bytes`](crate::logs::cache::IndexCache::with_inline_count_bytes).
    /// Not read from the file.
    pub inline_count_bytes: u64,
}

/// The `[intake]` section: which remote sensor intakes run, and their files.
#[derive(Debug, Clone, Default)]
pub struct IntakeConfig {
    /// Shared secret of the reliable intake (`POST /api/intake`), which is on when this is set.
    pub secret_file: Option<PathBuf>,
    /// Highest stored sequence of each sender stream, kept across restarts.
    pub state_file: PathBuf,
    /// Address of the Maltrail-compatible UDP intake, off when `None`.
    pub udp: Option<SocketAddr>,
    /// Sender networks whose datagrams are accepted; `None` accepts every sender.
    pub udp_allow: Option<Vec<IpNet>>,
}

/// Paths of the PEM certificate chain and private key for HTTPS.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Values given on the command line, which replace those of the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub listen: Vec<SocketAddr>,
    pub log_dir: Option<PathBuf>,
    pub users_file: Option<PathBuf>,
}

/// Reason the configuration could not be loaded.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },

    #[error("invalid config file {path}: {key} {problem}")]
    Invalid {
        path: PathBuf,
        key: &'static str,
        problem: String,
    },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    server: ServerSection,
    #[serde(default)]
    data: DataSection,
    #[serde(default)]
    fail2ban: Fail2banSection,
    #[serde(default)]
    intake: IntakeSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerSection {
    #[serde(default, deserialize_with = "listen_addrs")]
    listen: Option<Vec<SocketAddr>>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    session_minutes: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DataSection {
    log_dir: Option<PathBuf>,
    users: Option<PathBuf>,
    setup_code: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fail2banSection {
    allow: Option<Vec<IpNet>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct IntakeSection {
    udp: Option<SocketAddr>,
    udp_allow: Option<Vec<IpNet>>,
    secret_file: Option<PathBuf>,
    state: Option<PathBuf>,
}

impl Config {
    /// Loads `path` (or only the defaults when `None`) and applies `overrides` on top.
    pub fn load(path: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        let (file, shown_path) = match path {
            Some(path) => (read_file(path)?, path.to_path_buf()),
            None => (FileConfig::default(), PathBuf::from("(defaults)")),
        };
        let invalid = |key, problem: &str| ConfigError::Invalid {
            path: shown_path.clone(),
            key,
            problem: problem.to_string(),
        };

        let tls = match (file.server.tls_cert, file.server.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            (Some(_), None) => {
                return Err(invalid(
                    "server.tls_key",
                    "is missing: TLS needs both tls_cert and tls_key",
                ))
            }
            (None, Some(_)) => {
                return Err(invalid(
                    "server.tls_cert",
                    "is missing: TLS needs both tls_cert and tls_key",
                ))
            }
        };

        let minutes = file
            .server
            .session_minutes
            .unwrap_or(DEFAULT_SESSION_MINUTES);
        if minutes == 0 {
            return Err(invalid("server.session_minutes", "must be at least 1"));
        }

        let mut listen = file.server.listen.unwrap_or_default();
        if !overrides.listen.is_empty() {
            listen = overrides.listen.clone();
        }
        if listen.is_empty() {
            listen.push(
                DEFAULT_LISTEN
                    .parse()
                    .expect("default listen address parses"),
            );
        }

        let log_dir = overrides
            .log_dir
            .clone()
            .or(file.data.log_dir)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_LOG_DIR));
        let users_file = overrides
            .users_file
            .clone()
            .or(file.data.users)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_USERS_FILE));
        if file
            .data
            .setup_code
            .as_ref()
            .is_some_and(|path| path.as_os_str().is_empty())
        {
            return Err(invalid(
                "data.setup_code",
                "is empty; give the path of the setup code file, or remove the key",
            ));
        }
        let fail2ban_allow = file.fail2ban.allow.unwrap_or_else(default_fail2ban_allow);
        let intake = intake_config(file.intake, &users_file).map_err(|(key, problem)| {
            ConfigError::Invalid {
                path: shown_path.clone(),
                key,
                problem,
            }
        })?;

        Ok(Config {
            listen,
            tls,
            session_lifetime: Duration::from_secs(minutes.saturating_mul(60)),
            log_dir,
            users_file,
            setup_code_file: file.data.setup_code,
            fail2ban_allow,
            intake,
            timeouts: ConnectionTimeouts::default(),
            query_time_limit: DEFAULT_QUERY_TIME_LIMIT,
            inline_count_bytes: DEFAULT_INLINE_COUNT_BYTES,
        })
    }

    /// Returns a configuration with every default, serving on `listen` from `log_dir`.
    pub fn with_defaults(listen: SocketAddr, log_dir: PathBuf, users_file: PathBuf) -> Config {
        Config {
            listen: vec![listen],
            tls: None,
            session_lifetime: Duration::from_secs(DEFAULT_SESSION_MINUTES * 60),
            log_dir,
            setup_code_file: None,
            fail2ban_allow: default_fail2ban_allow(),
            intake: IntakeConfig {
                state_file: default_intake_state(&users_file),
                ..IntakeConfig::default()
            },
            timeouts: ConnectionTimeouts::default(),
            query_time_limit: DEFAULT_QUERY_TIME_LIMIT,
            inline_count_bytes: DEFAULT_INLINE_COUNT_BYTES,
            users_file,
        }
    }
}

/// Checks the `[intake]` keys against each other. An error names the key and the problem.
fn intake_config(
    section: IntakeSection,
    users_file: &Path,
) -> Result<IntakeConfig, (&'static str, String)> {
    if section.state.is_some() && section.secret_file.is_none() {
        return Err((
            "intake.state",
            "is set but intake.secret_file is not; set secret_file to turn the reliable \
             intake on, or remove state"
                .to_string(),
        ));
    }
    if section
        .secret_file
        .as_ref()
        .is_some_and(|path| path.as_os_str().is_empty())
    {
        return Err((
            "intake.secret_file",
            "is empty; give the path of a file with at least 16 random bytes".to_string(),
        ));
    }
    match (&section.udp, &section.udp_allow) {
        (None, Some(_)) => {
            return Err((
                "intake.udp_allow",
                "is set but intake.udp is not; set udp to turn the UDP intake on, or remove \
                 udp_allow"
                    .to_string(),
            ))
        }
        (Some(_), Some(allow)) if allow.is_empty() => {
            return Err((
                "intake.udp_allow",
                "is empty, so every datagram would be dropped; list the sender networks, such \
                 as [\"10.0.0.0/8\"], or remove the key to accept every sender"
                    .to_string(),
            ))
        }
        _ => {}
    }

    Ok(IntakeConfig {
        secret_file: section.secret_file,
        state_file: section
            .state
            .unwrap_or_else(|| default_intake_state(users_file)),
        udp: section.udp,
        udp_allow: section.udp_allow,
    })
}

/// Returns the default state file: `intake-state.json` next to the users file, which lies on
/// the data partition that survives firmware updates.
fn default_intake_state(users_file: &Path) -> PathBuf {
    let dir = users_file.parent().unwrap_or(Path::new("."));
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    dir.join("intake-state.json")
}

/// Loopback only: a local fail2ban reads the list, and nothing else should see it unasked.
fn default_fail2ban_allow() -> Vec<IpNet> {
    vec![
        "127.0.0.1".parse().expect("loopback parses"),
        "::1".parse().expect("loopback parses"),
    ]
}

/// Deserializes `[server] listen`, so that a bad entry gets the message of [`parse_listen_addr`].
fn listen_addrs<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<SocketAddr>>, D::Error> {
    let texts = Vec::<String>::deserialize(deserializer)?;
    let addrs = texts
        .iter()
        .map(|text| parse_listen_addr(text).map_err(serde::de::Error::custom))
        .collect::<Result<_, _>>()?;
    Ok(Some(addrs))
}

/// Reads and parses the configuration file at `path`, with its relative paths resolved
/// against the folder that contains it.
fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;

    let mut file: FileConfig = toml::from_str(&text).map_err(|error| ConfigError::Parse {
        path: path.to_path_buf(),
        message: error.to_string(),
    })?;
    if let Some(folder) = path.parent() {
        file.resolve_paths(folder);
    }
    Ok(file)
}

impl FileConfig {
    /// Joins every relative path of the file to `folder`, so that a file means the same
    /// wherever the viewer starts, as the sensor's does. Paths given as flags stay relative
    /// to the working directory.
    fn resolve_paths(&mut self, folder: &Path) {
        let resolve = |path: &mut Option<PathBuf>| {
            // An empty path stays empty, so that its own check rejects it.
            let relative = |path: &&mut PathBuf| path.is_relative() && !path.as_os_str().is_empty();
            if let Some(path) = path.as_mut().filter(relative) {
                *path = folder.join(&*path);
            }
        };

        resolve(&mut self.server.tls_cert);
        resolve(&mut self.server.tls_key);
        resolve(&mut self.data.log_dir);
        resolve(&mut self.data.users);
        resolve(&mut self.data.setup_code);
        resolve(&mut self.intake.secret_file);
        resolve(&mut self.intake.state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("viewer.toml");
        fs::write(&path, text).unwrap();
        Config::load(Some(&path), &Overrides::default())
    }

    #[test]
    fn example_file_loads() {
        let text = include_str!("../trailwatch-viewer.example.toml");
        let config = load_text(text).unwrap();

        assert_eq!(config.session_lifetime, Duration::from_secs(720 * 60));
        assert!(!config.listen.is_empty());
    }

    #[test]
    fn defaults_without_file() {
        let config = Config::load(None, &Overrides::default()).unwrap();

        assert_eq!(config.listen, vec![DEFAULT_LISTEN.parse().unwrap()]);
        assert_eq!(config.log_dir, PathBuf::from(DEFAULT_LOG_DIR));
        assert_eq!(config.users_file, PathBuf::from(DEFAULT_USERS_FILE));
    }

    #[test]
    fn unknown_key_named_in_error() {
        let error = load_text("[server]\nlisten_on = [\"127.0.0.1:1\"]\n").unwrap_err();

        assert!(error.to_string().contains("listen_on"), "{error}");
    }

    #[test]
    fn host_name_listen_shows_form() {
        let error = load_text("[server]\nlisten = [\"localhost:8338\"]\n").unwrap_err();
        let message = error.to_string();

        assert!(message.contains("\"localhost:8338\""), "{message}");
        assert!(message.contains("IP:PORT"), "{message}");
        assert!(message.contains("0.0.0.0:8338"), "{message}");
        assert!(message.contains("[::]:8338"), "{message}");
    }

    #[test]
    fn overrides_replace_file_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("viewer.toml");
        fs::write(
            &path,
            "[server]\nlisten = [\"127.0.0.1:9000\"]\n[data]\nlog_dir = \"/a\"\n",
        )
        .unwrap();
        let overrides = Overrides {
            listen: vec!["[::1]:9001".parse().unwrap()],
            log_dir: Some(PathBuf::from("/b")),
            users_file: None,
        };
        let config = Config::load(Some(&path), &overrides).unwrap();

        assert_eq!(config.listen, vec!["[::1]:9001".parse().unwrap()]);
        assert_eq!(config.log_dir, PathBuf::from("/b"));
    }

    #[test]
    fn tls_needs_cert_and_key() {
        let error = load_text("[server]\ntls_cert = \"/c.pem\"\n").unwrap_err();

        assert!(error.to_string().contains("server.tls_key"), "{error}");
    }

    #[test]
    fn intake_keys_load() {
        let config = load_text(
            "[data]\nusers = \"/d/users.toml\"\n[intake]\nsecret_file = \"/d/s\"\n\
             udp = \"127.0.0.1:8337\"\nudp_allow = [\"10.0.0.0/8\"]\n",
        )
        .unwrap();

        assert_eq!(config.intake.secret_file, Some(PathBuf::from("/d/s")));
        assert_eq!(
            config.intake.state_file,
            PathBuf::from("/d/intake-state.json")
        );
        assert_eq!(config.intake.udp, Some("127.0.0.1:8337".parse().unwrap()));
        assert_eq!(config.intake.udp_allow.unwrap().len(), 1);
    }

    #[test]
    fn intake_key_conflicts_named() {
        for (text, key) in [
            ("[intake]\nstate = \"/d/x.json\"\n", "intake.state"),
            (
                "[intake]\nudp_allow = [\"10.0.0.0/8\"]\n",
                "intake.udp_allow",
            ),
            (
                "[intake]\nudp = \"127.0.0.1:1\"\nudp_allow = []\n",
                "intake.udp_allow",
            ),
            ("[intake]\nsecret_file = \"\"\n", "intake.secret_file"),
            ("[intake]\nudp_allow = [\"10.0.0.0/33\"]\n", "10.0.0.0/33"),
        ] {
            let error = load_text(text).unwrap_err();
            assert!(error.to_string().contains(key), "{text:?}: {error}");
        }
    }

    #[test]
    fn setup_code_key_loads() {
        let config = load_text("[data]\nsetup_code = \"/d/setup-code\"\n").unwrap();
        let empty = load_text("[data]\nsetup_code = \"\"\n").unwrap_err();

        assert_eq!(config.setup_code_file, Some(PathBuf::from("/d/setup-code")));
        assert!(empty.to_string().contains("data.setup_code"), "{empty}");
    }

    #[test]
    fn relative_paths_follow_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("viewer.toml");
        let text = "[server]\ntls_cert = \"tls/cert.pem\"\ntls_key = \"/etc/key.pem\"\n\
                    [data]\nlog_dir = \"log\"\nusers = \"users.toml\"\n\
                    setup_code = \"code.txt\"\n\
                    [intake]\nsecret_file = \"intake.key\"\nstate = \"state.json\"\n";
        fs::write(&path, text).unwrap();
        let overrides = Overrides {
            listen: vec![],
            log_dir: None,
            users_file: Some(PathBuf::from("flag-users.toml")),
        };
        let config = Config::load(Some(&path), &overrides).unwrap();
        let tls = config.tls.unwrap();

        assert_eq!(tls.cert, dir.path().join("tls/cert.pem"));
        assert_eq!(tls.key, PathBuf::from("/etc/key.pem"));
        assert_eq!(config.log_dir, dir.path().join("log"));
        assert_eq!(config.setup_code_file, Some(dir.path().join("code.txt")));
        // A flag stays relative to the working directory.
        assert_eq!(config.users_file, PathBuf::from("flag-users.toml"));
        assert_eq!(
            config.intake.secret_file,
            Some(dir.path().join("intake.key"))
        );
        assert_eq!(config.intake.state_file, dir.path().join("state.json"));
    }

    #[test]
    fn zero_session_minutes_rejected() {
        let error = load_text("[server]\nsession_minutes = 0\n").unwrap_err();

        assert!(error.to_string().contains("session_minutes"), "{error}");
    }
}
