//! The feed catalogue: a TOML file with one `[[feed]]` table per public blocklist.
//!
//! ```toml
//! [[feed]]
//! name = "feodotracker"
//! url = "https://feodotracker.abuse.ch/downloads/ipblocklist.csv"
//! format = "csv"
//! column = "dst_ip"
//! port_column = "dst_port"
//! header = "row"
//! info = "feodotracker (malware)"
//! reference = "feodotracker.abuse.ch"
//! enabled = true
//! min_entries = 1
//! ```
//!
//! `enabled` defaults to `true` and `min_entries` is optional. The other keys besides
//! `format` and its options are required. See [`Format`] for the formats and their options.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::error::CatalogueError;
use super::format::Format;
use super::validate;

/// Keys of a feed table that do not belong to its format.
const FEED_KEYS: &[&str] = &["name", "url", "info", "reference", "enabled", "min_entries"];

/// The feeds of one catalogue file, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Catalogue {
    pub feeds: Vec<Feed>,
}

/// One public blocklist: where to download it, how to parse it, and how its events read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Feed {
    /// A unique name of `[a-z0-9_]` characters.
    pub name: String,
    /// The download URL, `http://` or `https://`.
    pub url: String,
    pub format: Format,
    /// The event info text, `<name> (<category>)` as in `feodotracker (malware)`.
    pub info: String,
    /// The event reference, naming the origin (`feodotracker.abuse.ch`).
    pub reference: String,
    /// Whether updates download this feed.
    pub enabled: bool,
    /// The minimum number of indicators in a good download. [`parse`](super::parse) fails
    /// with [`FeedError::TooFewEntries`](super::FeedError::TooFewEntries) below it.
    pub min_entries: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalogue {
    #[serde(default)]
    feed: Vec<toml::Spanned<toml::Table>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedKeys {
    name: String,
    url: String,
    info: String,
    reference: String,
    #[serde(default = "enabled_by_default")]
    enabled: bool,
    min_entries: Option<usize>,
}

fn enabled_by_default() -> bool {
    true
}

/// The position of a feed in the catalogue, for error messages.
struct Place<'a> {
    origin: &'a str,
    line: usize,
    feed: String,
}

impl Place<'_> {
    fn error(&self, message: String) -> CatalogueError {
        CatalogueError::Feed {
            origin: self.origin.to_owned(),
            line: self.line,
            feed: self.feed.clone(),
            message,
        }
    }

    fn key_error(&self, key: &str, reason: String) -> CatalogueError {
        CatalogueError::InvalidKey {
            origin: self.origin.to_owned(),
            line: self.line,
            feed: self.feed.clone(),
            key: key.to_owned(),
            reason,
        }
    }
}

impl Catalogue {
    /// Reads and validates the catalogue file at `path`.
    pub fn load(path: &Path) -> Result<Catalogue, CatalogueError> {
        let text = std::fs::read_to_string(path).map_err(|source| CatalogueError::Read {
            path: path.to_owned(),
            source,
        })?;
        Catalogue::parse(&text, &path.display().to_string())
    }

    /// Parses and validates catalogue text. `origin` names the text in errors, usually its
    /// path.
    ///
    /// Every feed must have the required keys with values of the right type, no unknown key,
    /// a unique valid name and consistent format options (see [`Format`]). The first problem
    /// found is returned.
    pub fn parse(text: &str, origin: &str) -> Result<Catalogue, CatalogueError> {
        let raw: RawCatalogue = toml::from_str(text).map_err(|error| CatalogueError::Syntax {
            origin: origin.to_owned(),
            message: error.to_string().trim_end().to_owned(),
        })?;

        let mut feeds: Vec<Feed> = Vec::with_capacity(raw.feed.len());
        for (index, spanned) in raw.feed.into_iter().enumerate() {
            let line = line_of(text, spanned.span().start);
            let table = spanned.into_inner();
            let feed_label = match table.get("name").and_then(toml::Value::as_str) {
                Some(name) => format!("{name:?}"),
                None => format!("#{}", index + 1),
            };
            let place = Place {
                origin,
                line,
                feed: feed_label,
            };

            let feed = parse_feed(table, &place)?;
            if feeds.iter().any(|earlier| earlier.name == feed.name) {
                let reason = "repeats the name of an earlier feed".to_owned();
                return Err(place.key_error("name", reason));
            }
            feeds.push(feed);
        }

        Ok(Catalogue { feeds })
    }
}

fn parse_feed(table: toml::Table, place: &Place<'_>) -> Result<Feed, CatalogueError> {
    let (common, format_table): (toml::Table, toml::Table) = table
        .into_iter()
        .partition(|(key, _)| FEED_KEYS.contains(&key.as_str()));

    let keys: FeedKeys = deserialize(common, place)?;
    let format: Format = deserialize(format_table.clone(), place)?;
    if !format.has_options() {
        if let Some(key) = format_table.keys().find(|key| key.as_str() != "format") {
            let reason = format!("is not an option of format {:?}", format.name());
            return Err(place.key_error(key, reason));
        }
    }

    let feed = Feed {
        name: keys.name,
        url: keys.url,
        format,
        info: keys.info,
        reference: keys.reference,
        enabled: keys.enabled,
        min_entries: keys.min_entries,
    };
    validate::feed(&feed).map_err(|(key, reason)| place.key_error(key, reason))?;
    Ok(feed)
}

/// Deserializes a table, naming the key at fault when serde's message does not.
fn deserialize<T: DeserializeOwned>(
    table: toml::Table,
    place: &Place<'_>,
) -> Result<T, CatalogueError> {
    let error = match toml::Value::Table(table.clone()).try_into::<T>() {
        Ok(value) => return Ok(value),
        Err(error) => error.message().trim_end().to_owned(),
    };

    match find_bad_key::<T>(&table, &error) {
        Some(key) => Err(place.key_error(key, error)),
        None => Err(place.error(error)),
    }
}

/// Finds the key whose value alone raises `error`.
///
/// serde reports a value of the wrong type ("invalid type: string \"x\", expected usize")
/// as soon as it reads the key, before it checks for missing keys. So a table with only
/// that key (and the `format` tag) raises the same message, and a table with a good key
/// raises another one, usually a missing key.
fn find_bad_key<'a, T: DeserializeOwned>(table: &'a toml::Table, error: &str) -> Option<&'a str> {
    if error.starts_with("missing field") || error.starts_with("unknown field") {
        return None;
    }

    table
        .iter()
        .filter(|(key, _)| key.as_str() != "format")
        .find(|(key, value)| {
            let mut alone = toml::Table::new();
            if let Some(tag) = table.get("format") {
                alone.insert("format".to_owned(), tag.clone());
            }
            alone.insert((*key).clone(), (*value).clone());

            match toml::Value::Table(alone).try_into::<T>() {
                Ok(_) => false,
                Err(other) => other.message().trim_end() == error,
            }
        })
        .map(|(key, _)| key.as_str())
}

/// Returns the line number, from 1, of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&byte| byte == b'\n')
        .count()
        + 1
}
