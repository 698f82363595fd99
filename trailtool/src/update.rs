//! Feed updates: `trailwatch-trails update`.
//!
//! Each enabled feed of the catalogue is downloaded with a conditional GET, parsed and
//! checked, and its last good parse is kept in the cache. A feed that fails keeps its cached
//! entries, so a broken download does not remove what the feed listed before. The static and custom trees and every
//! feed are then compiled into one store, which is written atomically even when feeds failed.
//!
//! When every enabled feed failed and none had cached entries, the store is still written,
//! because the static and custom trees are worth having, but [`UpdateReport::no_feed_data`]
//! is true and the command exits with status 3.

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use trailwatch_trailset::{LoadReport, StoreBuilder, TrailDir, TrailError};

use crate::cache::{unix_now, CacheError, CacheMeta, CachedFeed, FeedCache};
use crate::compile::{load_whitelist, write_store, CompileError};
use crate::config::Config;
use crate::feeds::{self, Catalogue, CatalogueError, Feed, FeedError};
use crate::fetch::{fetch_to_vec, FetchError, Fetched};

/// The reason a feed's new download was not used.
#[derive(Debug, thiserror::Error)]
pub enum FeedFailure {
    #[error(transparent)]
    Fetch(#[from] FetchError),

    /// The body is not in the feed's format, or gave fewer entries than `min_entries`.
    #[error(transparent)]
    Parse(#[from] FeedError),

    /// Fewer than half the entries of the last good parse, which is taken for a partial or
    /// broken list rather than a real change.
    #[error("{entries} entries, fewer than half of the {previous} of the last good download")]
    Shrunk { entries: usize, previous: usize },

    #[error(transparent)]
    Cache(#[from] CacheError),
}

/// The status of one feed after an update.
#[derive(Debug)]
pub enum FeedStatus {
    /// A new download was parsed, checked and cached.
    Updated { entries: usize, skipped: usize },
    /// The server returned 304 Not Modified, so the cached entries were used.
    Unchanged { entries: usize },
    /// The download was not used. `kept` is the number of cached entries used in its place,
    /// `None` when the feed had no cache.
    Failed {
        reason: FeedFailure,
        kept: Option<usize>,
    },
}

/// The outcome of one feed, printed as one line.
#[derive(Debug)]
pub struct FeedReport {
    pub name: String,
    pub status: FeedStatus,
    /// Time to download, parse and cache the feed.
    pub elapsed: Duration,
}

impl FeedReport {
    pub fn failed(&self) -> bool {
        matches!(self.status, FeedStatus::Failed { .. })
    }
}

impl fmt::Display for FeedReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.elapsed.as_secs_f64();
        match &self.status {
            FeedStatus::Updated { entries, skipped } => write!(
                f,
                "{:<28} {entries:>9} entries {seconds:>7.2} s  updated ({skipped} lines skipped)",
                self.name
            ),
            FeedStatus::Unchanged { entries } => write!(
                f,
                "{:<28} {entries:>9} entries {seconds:>7.2} s  unchanged",
                self.name
            ),
            FeedStatus::Failed { reason, kept } => {
                let kept = match kept {
                    Some(entries) => format!("kept {entries} cached entries"),
                    None => "no cached entries".to_owned(),
                };
                write!(
                    f,
                    "{:<28} {:>9} {seconds:>15.2} s  FAILED: {reason}; {kept}",
                    self.name, "-"
                )
            }
        }
    }
}

/// The outcome of a whole update.
#[derive(Debug)]
pub struct UpdateReport {
    /// One report per enabled feed, in catalogue order.
    pub feeds: Vec<FeedReport>,
    /// The store build: counts, duplicates, bad lines.
    pub load: LoadReport,
    pub store: PathBuf,
    /// Size of the store file in bytes.
    pub store_bytes: usize,
    pub elapsed: Duration,
}

impl UpdateReport {
    /// Number of feeds whose download was not used.
    pub fn failed(&self) -> usize {
        self.feeds.iter().filter(|feed| feed.failed()).count()
    }

    /// Tells whether enabled feeds exist, every one failed and none had cached entries, so
    /// the store contains only the trail trees.
    pub fn no_feed_data(&self) -> bool {
        !self.feeds.is_empty()
            && self.feeds.iter().all(|feed| {
                matches!(
                    feed.status,
                    FeedStatus::Failed {
                        kept: None | Some(0),
                        ..
                    }
                )
            })
    }
}

impl fmt::Display for UpdateReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let updated = self
            .feeds
            .iter()
            .filter(|feed| matches!(feed.status, FeedStatus::Updated { .. }))
            .count();
        let unchanged = self
            .feeds
            .iter()
            .filter(|feed| matches!(feed.status, FeedStatus::Unchanged { .. }))
            .count();
        write!(
            f,
            "{}: {} indicators ({}), {} bytes, in {:.2} s; feeds: {updated} updated, \
             {unchanged} unchanged, {} failed; {} bad lines skipped",
            self.store.display(),
            self.load.counts.total(),
            self.load.counts,
            self.store_bytes,
            self.elapsed.as_secs_f64(),
            self.failed(),
            self.load.bad_line_total
        )
    }
}

/// A failure that stops the whole update, so the store is not written.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),

    #[error(transparent)]
    Cache(#[from] CacheError),

    /// The whitelist or a trail tree could not be read.
    #[error(transparent)]
    Trails(#[from] TrailError),

    #[error(transparent)]
    Store(#[from] CompileError),
}

/// Runs one update and writes the store. `on_feed` is called after each feed, for progress
/// output.
pub fn run_update(
    config: &Config,
    on_feed: &mut dyn FnMut(&FeedReport),
) -> Result<UpdateReport, UpdateError> {
    let started = Instant::now();
    let catalogue = Catalogue::load(&config.catalogue_path())?;
    let whitelist = load_whitelist(config.whitelist.as_deref())?;
    let cache = FeedCache::open(&config.cache_dir)?;

    let mut builder = StoreBuilder::new();
    for tree in config.trail_dirs() {
        builder.add_tree(&TrailDir::new(tree))?;
    }

    let mut feeds = Vec::new();
    for feed in catalogue.feeds.iter().filter(|feed| feed.enabled) {
        let (report, indicators) = refresh_feed(feed, &cache, config);
        on_feed(&report);
        log::debug!("feed {}: {:?}", feed.name, report.status);

        let origin = format!("feed {}", feed.name);
        builder.add_indicators(
            &origin,
            &feed.info,
            &feed.reference,
            indicators.iter().map(String::as_str),
        )?;
        feeds.push(report);
    }

    let compiled = write_store(builder, whitelist.as_ref(), &config.store, started)?;
    Ok(UpdateReport {
        feeds,
        load: compiled.report,
        store: config.store.clone(),
        store_bytes: compiled.bytes,
        elapsed: compiled.elapsed,
    })
}

/// Downloads and checks one feed. Returns its report and the indicators to compile: the new
/// ones, or the cached ones when the download failed or did not change.
fn refresh_feed(feed: &Feed, cache: &FeedCache, config: &Config) -> (FeedReport, Vec<String>) {
    let started = Instant::now();
    let (status, indicators) = match download_feed(feed, cache, config) {
        Ok(Refreshed::Updated {
            indicators,
            skipped,
        }) => {
            let entries = indicators.len();
            (FeedStatus::Updated { entries, skipped }, indicators)
        }
        Ok(Refreshed::Unchanged { indicators }) => {
            let entries = indicators.len();
            (FeedStatus::Unchanged { entries }, indicators)
        }
        Err(reason) => {
            let cached = cache.load(&feed.name).ok().flatten();
            let kept = cached.as_ref().map(|cached| cached.indicators.len());
            let indicators = cached.map(|cached| cached.indicators).unwrap_or_default();
            (FeedStatus::Failed { reason, kept }, indicators)
        }
    };

    let report = FeedReport {
        name: feed.name.clone(),
        status,
        elapsed: started.elapsed(),
    };
    (report, indicators)
}

enum Refreshed {
    Updated {
        indicators: Vec<String>,
        skipped: usize,
    },
    Unchanged {
        indicators: Vec<String>,
    },
}

fn download_feed(
    feed: &Feed,
    cache: &FeedCache,
    config: &Config,
) -> Result<Refreshed, FeedFailure> {
    // Validators and the shrink check only apply to a cache of the same URL, so that a
    // catalogue edit pointing a feed elsewhere starts afresh.
    let previous = cache.meta(&feed.name)?.filter(|meta| meta.url == feed.url);
    let validators = previous
        .as_ref()
        .map(|meta| meta.validators.clone())
        .unwrap_or_default();

    let options = &config.download;
    let (fetched, body) = fetch_to_vec(&feed.url, &validators, options, options.max_bytes)?;
    let (validators, length_checked) = match fetched {
        Fetched::NotModified => {
            let cached = cache.load(&feed.name)?.ok_or_else(|| {
                FeedFailure::Fetch(FetchError::Request {
                    url: feed.url.clone(),
                    message: "304 Not Modified without a cached copy".to_owned(),
                })
            })?;
            return Ok(Refreshed::Unchanged {
                indicators: cached.indicators,
            });
        }
        Fetched::Body {
            validators,
            length_checked,
            ..
        } => (validators, length_checked),
    };

    // A body whose end cannot be checked may have been cut anywhere, and a cut last line
    // (`198.51.100.1` of `198.51.100.159`) would become a wrong indicator, so an unterminated
    // last line of such a body is dropped. That costs one entry of a feed that is served
    // without a length and does not end in a newline.
    let body = match (length_checked, body.iter().rposition(|&byte| byte == b'\n')) {
        (false, Some(last_newline)) => &body[..=last_newline],
        _ => &body[..],
    };
    let body = String::from_utf8_lossy(body);
    let parsed = feeds::parse(feed, &body)?;
    drop(body);

    let entries = parsed.indicators.len();
    if let Some(previous) = previous.as_ref().map(|meta| meta.count) {
        if entries.saturating_mul(2) < previous {
            return Err(FeedFailure::Shrunk { entries, previous });
        }
    }

    let cached = CachedFeed {
        meta: CacheMeta {
            url: feed.url.clone(),
            validators,
            count: entries,
            fetched_at: unix_now(),
        },
        indicators: parsed.indicators,
    };
    cache.store(&feed.name, &cached)?;
    Ok(Refreshed::Updated {
        indicators: cached.indicators,
        skipped: parsed.skipped,
    })
}
