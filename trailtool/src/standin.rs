//! Temporary stand-ins for the feed parsers (`crate::feeds`) and the compiled store of
//! `trailwatch-trailset`, with the same names and signatures, so that downloads, updates and
//! pulls compile and run before both land.
//!
//! TODO: delete this module and import `crate::feeds` and the `trailwatch_trailset` store
//! API in its place once both are committed.

pub mod feeds {
    use std::path::{Path, PathBuf};

    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Catalogue {
        #[serde(rename = "feed", default)]
        pub feeds: Vec<Feed>,
    }

    #[derive(Clone, Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Feed {
        pub name: String,
        pub url: String,
        pub format: String,
        pub info: String,
        pub reference: String,
        #[serde(default = "enabled_by_default")]
        pub enabled: bool,
        #[serde(default)]
        pub min_entries: Option<usize>,
    }

    fn enabled_by_default() -> bool {
        true
    }

    #[derive(Debug, thiserror::Error)]
    #[error("invalid feed catalogue {}: {message}", path.display())]
    pub struct CatalogueError {
        path: PathBuf,
        message: String,
    }

    impl Catalogue {
        pub fn load(path: &Path) -> Result<Catalogue, CatalogueError> {
            let error = |message: String| CatalogueError {
                path: path.to_path_buf(),
                message,
            };
            let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
            toml::from_str(&text).map_err(|e| error(e.to_string()))
        }
    }

    #[derive(Clone, Debug, Default)]
    pub struct Parsed {
        pub indicators: Vec<String>,
        pub skipped: usize,
        pub first_skipped: Vec<(usize, String)>,
    }

    #[derive(Debug, thiserror::Error)]
    pub enum FeedError {
        #[error("the body is not in the {format} format: {reason}")]
        WrongFormat { format: String, reason: String },
    }

    /// Parses the `plain` format: one indicator per line, `#` comments.
    pub fn parse(feed: &Feed, body: &str) -> Result<Parsed, FeedError> {
        let wrong = |reason: &str| FeedError::WrongFormat {
            format: feed.format.clone(),
            reason: reason.to_owned(),
        };
        if body.trim_start().starts_with('<') {
            return Err(wrong("the body is an HTML or XML document"));
        }

        let mut parsed = Parsed::default();
        for line in body.lines() {
            let text = line.split('#').next().unwrap_or("").trim();
            if text.is_empty() {
                continue;
            }
            if text.contains(char::is_whitespace) {
                parsed.skipped += 1;
                continue;
            }
            parsed.indicators.push(text.to_ascii_lowercase());
        }
        if parsed.indicators.is_empty() && !body.trim().is_empty() {
            return Err(wrong("no indicators in a non-empty body"));
        }
        Ok(parsed)
    }
}

pub mod store {
    use std::fs::{self, File};
    use std::io::Write;
    use std::net::IpAddr;
    use std::path::{Path, PathBuf};

    use trailwatch_trailset::{LoadReport, SourceId, TrailDir, TrailError, TrailSet, Whitelist};

    const MAGIC: &[u8; 8] = b"TWSTAND1";

    #[derive(Debug, thiserror::Error)]
    pub enum StoreError {
        #[error("failed to read or write {}: {source}", path.display())]
        Io {
            path: PathBuf,
            source: std::io::Error,
        },
        #[error("{} is not a trailwatch trail store", path.display())]
        NotAStore { path: PathBuf },
        #[error("{} is corrupt: checksum mismatch", path.display())]
        Corrupt { path: PathBuf },
        #[error(transparent)]
        Trails(#[from] TrailError),
    }

    #[derive(Default)]
    pub struct StoreBuilder {
        files: Vec<(String, String, bool)>,
    }

    impl StoreBuilder {
        pub fn new() -> StoreBuilder {
            StoreBuilder::default()
        }

        pub fn add_tree(&mut self, dir: &TrailDir) -> Result<(), TrailError> {
            let root_custom = dir.path.file_name().is_some_and(|name| name == "custom");
            let mut stack = vec![dir.path.clone()];
            let mut found = Vec::new();
            while let Some(folder) = stack.pop() {
                let entries = fs::read_dir(&folder).map_err(|source| TrailError::Io {
                    path: folder.clone(),
                    source,
                })?;
                for entry in entries.flatten() {
                    let path = entry.path();
                    if path.is_dir() {
                        stack.push(path);
                    } else if path.extension().is_some_and(|ext| ext == "txt") {
                        found.push(path);
                    }
                }
            }
            found.sort();
            for path in found {
                let contents = fs::read_to_string(&path).map_err(|source| TrailError::Io {
                    path: path.clone(),
                    source,
                })?;
                let relative = path.strip_prefix(&dir.path).unwrap_or(&path);
                let custom = root_custom
                    || relative
                        .parent()
                        .is_some_and(|p| p.components().any(|c| c.as_os_str() == "custom"));
                let relative = relative.to_string_lossy().into_owned();
                self.files.push((relative, contents, custom));
            }
            Ok(())
        }

        pub fn add_indicators<'a>(
            &mut self,
            _origin: &str,
            info: &str,
            _reference: &str,
            lines: impl IntoIterator<Item = &'a str>,
        ) -> Result<(), TrailError> {
            let relative = match info.rsplit_once(" (") {
                Some((name, category)) => format!(
                    "{}/{}.txt",
                    category.trim_end_matches(')'),
                    name.replace(' ', "_")
                ),
                None => format!("{}.txt", info.replace(' ', "_")),
            };
            let mut contents = String::new();
            for line in lines {
                contents.push_str(line);
                contents.push('\n');
            }
            self.files.push((relative, contents, false));
            Ok(())
        }

        pub fn finish(
            mut self,
            whitelist: Option<&Whitelist>,
        ) -> Result<(Vec<u8>, LoadReport), TrailError> {
            if let Some(whitelist) = whitelist {
                for (_, contents, _) in &mut self.files {
                    *contents = contents
                        .lines()
                        .filter(|line| !whitelisted(whitelist, line))
                        .map(|line| format!("{line}\n"))
                        .collect();
                }
            }
            let borrowed: Vec<(&str, &str, bool)> = self
                .files
                .iter()
                .map(|(r, c, custom)| (r.as_str(), c.as_str(), *custom))
                .collect();
            let (_, report) = TrailSet::from_text(&borrowed, None)?;

            let body = serde_json::to_vec(&self.files).map_err(|e| TrailError::Io {
                path: PathBuf::from("store"),
                source: std::io::Error::other(e),
            })?;
            let mut bytes = MAGIC.to_vec();
            bytes.extend_from_slice(&checksum(&body).to_le_bytes());
            bytes.extend_from_slice(&body);
            Ok((bytes, report))
        }
    }

    fn whitelisted(whitelist: &Whitelist, line: &str) -> bool {
        let text = line.split('#').next().unwrap_or("").trim();
        match text.parse::<IpAddr>() {
            Ok(ip) => whitelist.contains_ip(ip),
            Err(_) => !text.contains('/') && whitelist.contains_domain(text),
        }
    }

    fn checksum(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf29ce484222325, |hash, &byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x100000001b3)
        })
    }

    pub fn write_store_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
        let io = |source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut temporary = path.as_os_str().to_owned();
        temporary.push(".tmp");
        let mut file = File::create(&temporary).map_err(io)?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .map_err(io)?;
        fs::rename(&temporary, path).map_err(io)?;
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
        File::open(dir.unwrap_or(Path::new(".")))
            .and_then(|dir| dir.sync_all())
            .map_err(io)
    }

    /// Stand-in for `TrailSet::open`, `TrailSet::sources` and `TrailSet::source_counts`.
    pub trait StoreView: Sized {
        fn open(path: &Path) -> Result<Self, StoreError>;
        fn sources(&self, primary: SourceId) -> Vec<SourceId>;
        fn source_counts(&self) -> Vec<(SourceId, usize)>;
    }

    impl StoreView for TrailSet {
        fn open(path: &Path) -> Result<TrailSet, StoreError> {
            let bytes = fs::read(path).map_err(|source| StoreError::Io {
                path: path.to_path_buf(),
                source,
            })?;
            if bytes.len() < 16 || &bytes[..8] != MAGIC {
                return Err(StoreError::NotAStore {
                    path: path.to_path_buf(),
                });
            }
            let expected = u64::from_le_bytes(bytes[8..16].try_into().unwrap_or_default());
            let body = &bytes[16..];
            if checksum(body) != expected {
                return Err(StoreError::Corrupt {
                    path: path.to_path_buf(),
                });
            }
            let files: Vec<(String, String, bool)> =
                serde_json::from_slice(body).map_err(|_| StoreError::Corrupt {
                    path: path.to_path_buf(),
                })?;
            let borrowed: Vec<(&str, &str, bool)> = files
                .iter()
                .map(|(r, c, custom)| (r.as_str(), c.as_str(), *custom))
                .collect();
            Ok(TrailSet::from_text(&borrowed, None)?.0)
        }

        fn sources(&self, primary: SourceId) -> Vec<SourceId> {
            vec![primary]
        }

        fn source_counts(&self) -> Vec<(SourceId, usize)> {
            Vec::new()
        }
    }
}
