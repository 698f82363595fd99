//! The per-feed cache: the last good parse of each feed and the validators of its download.
//!
//! `<cache_dir>/<name>.txt` contains one indicator per line, `<cache_dir>/<name>.json` the
//! [`CacheMeta`]. Both are replaced atomically (temporary file, fsync, rename), the
//! indicators first, so a crash leaves either the old pair, or new indicators with old
//! metadata. In the second case the next download sends outdated validators, so the server
//! sends the full body again.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::fetch::Validators;

/// Metadata of the cached parse of one feed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheMeta {
    /// The URL the indicators came from. Validators of another URL are not sent.
    pub url: String,
    #[serde(flatten)]
    pub validators: Validators,
    /// Number of indicators in the text file.
    pub count: usize,
    /// Download time of the indicators, in seconds since the Unix epoch.
    pub fetched_at: u64,
}

/// A failure to read or write a cache entry.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("failed to read the feed cache {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },

    #[error("failed to write the feed cache {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },

    /// A feed name that would escape the cache folder or hide its file.
    #[error("feed name {0:?} cannot be a cache file name")]
    Name(String),
}

/// The cache folder.
#[derive(Clone, Debug)]
pub struct FeedCache {
    dir: PathBuf,
}

/// The cached parse of one feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedFeed {
    pub meta: CacheMeta,
    pub indicators: Vec<String>,
}

impl FeedCache {
    /// Opens the cache folder, creating it when missing.
    pub fn open(dir: &Path) -> Result<FeedCache, CacheError> {
        fs::create_dir_all(dir).map_err(|source| CacheError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
        Ok(FeedCache {
            dir: dir.to_path_buf(),
        })
    }

    /// Reads the metadata of a feed. `None` when the feed was never cached, or when the
    /// indicator file is missing, because validators without the body they describe would
    /// turn a 304 into an empty feed. An unreadable metadata file also gives `None`.
    pub fn meta(&self, name: &str) -> Result<Option<CacheMeta>, CacheError> {
        let (text_path, meta_path) = self.paths(name)?;
        if !text_path.is_file() {
            return Ok(None);
        }

        let meta = match fs::read(&meta_path) {
            Ok(bytes) => serde_json::from_slice(&bytes).ok(),
            Err(error) if error.kind() == io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(CacheError::Read {
                    path: meta_path,
                    source,
                })
            }
        };
        Ok(meta)
    }

    /// Reads the cached indicators of a feed, or `None` when there are none.
    pub fn load(&self, name: &str) -> Result<Option<CachedFeed>, CacheError> {
        let Some(meta) = self.meta(name)? else {
            return Ok(None);
        };

        let (text_path, _) = self.paths(name)?;
        let text = fs::read_to_string(&text_path).map_err(|source| CacheError::Read {
            path: text_path,
            source,
        })?;
        let indicators = text.lines().map(str::to_owned).collect();
        Ok(Some(CachedFeed { meta, indicators }))
    }

    /// Replaces the cached parse of a feed.
    pub fn store(&self, name: &str, feed: &CachedFeed) -> Result<(), CacheError> {
        let (text_path, meta_path) = self.paths(name)?;

        let mut text = String::new();
        for indicator in &feed.indicators {
            text.push_str(indicator);
            text.push('\n');
        }
        replace_file(&text_path, text.as_bytes())?;

        let meta = serde_json::to_vec_pretty(&feed.meta).map_err(|error| CacheError::Write {
            path: meta_path.clone(),
            source: io::Error::other(error),
        })?;
        replace_file(&meta_path, &meta)
    }

    fn paths(&self, name: &str) -> Result<(PathBuf, PathBuf), CacheError> {
        let valid = !name.is_empty()
            && !name.starts_with('.')
            && name
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b"_-.".contains(&byte));
        if !valid {
            return Err(CacheError::Name(name.to_owned()));
        }
        Ok((
            self.dir.join(format!("{name}.txt")),
            self.dir.join(format!("{name}.json")),
        ))
    }
}

/// Returns the current time in seconds since the Unix epoch, or 0 for a clock before it.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// Writes `bytes` to a temporary file beside `path`, fsyncs it and renames it over `path`.
fn replace_file(path: &Path, bytes: &[u8]) -> Result<(), CacheError> {
    let write_error = |source| CacheError::Write {
        path: path.to_path_buf(),
        source,
    };

    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);

    let mut file = File::create(&temporary).map_err(write_error)?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(write_error)?;
    fs::rename(&temporary, path).map_err(write_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CachedFeed {
        CachedFeed {
            meta: CacheMeta {
                url: "http://127.0.0.1/feed.txt".to_owned(),
                validators: Validators {
                    etag: Some("\"v1\"".to_owned()),
                    last_modified: None,
                },
                count: 2,
                fetched_at: 1_700_000_000,
            },
            indicators: vec!["192.0.2.1".to_owned(), "example.com".to_owned()],
        }
    }

    #[test]
    fn stored_feed_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let cache = FeedCache::open(dir.path()).unwrap();
        cache.store("demo", &sample()).unwrap();

        assert_eq!(cache.load("demo").unwrap(), Some(sample()));
    }

    #[test]
    fn uncached_feed_has_no_meta() {
        let dir = tempfile::tempdir().unwrap();
        let cache = FeedCache::open(dir.path()).unwrap();

        assert_eq!(cache.meta("demo").unwrap(), None);
    }

    #[test]
    fn meta_without_text_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let cache = FeedCache::open(dir.path()).unwrap();
        cache.store("demo", &sample()).unwrap();
        fs::remove_file(dir.path().join("demo.txt")).unwrap();

        assert_eq!(cache.meta("demo").unwrap(), None);
    }

    #[test]
    fn path_like_name_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let cache = FeedCache::open(dir.path()).unwrap();

        assert!(matches!(
            cache.store("../x", &sample()),
            Err(CacheError::Name(_))
        ));
    }
}
