//! The trail set: a checked view over store bytes, owned or mapped, and its construction.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crate::builder::Builder;
use crate::error::TrailError;
use crate::pattern::{error_summary, PatternSet};
use crate::report::{KindCounts, LoadReport};
use crate::source::describe_file;
use crate::store::error::{FormatError, StoreError};
use crate::store::file::map_store;
use crate::store::view::{Checksum, StoreView};
use crate::store::writer::write_store;
use crate::store::StoreBytes;
use crate::store_builder::StoreBuilder;
use crate::whitelist::Whitelist;
use crate::SourceId;

/// A trail tree to load, laid out as `<tree>/<category>/<name>.txt` plus files in the root.
///
/// Trails get the reference `(custom)` when the tree root or a folder below it is named
/// `custom`, and `(static)` otherwise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrailDir {
    pub path: PathBuf,
}

impl TrailDir {
    pub fn new(path: impl Into<PathBuf>) -> TrailDir {
        TrailDir { path: path.into() }
    }
}

/// Every loaded indicator, ready for lookups from the packet path.
///
/// A set is a view over the bytes of a compiled store (see `FORMAT.md`), which it owns
/// ([`TrailSet::load`], [`TrailSet::from_store_bytes`]) or maps read-only from a file
/// ([`TrailSet::open`]). The bytes are checked once when the set is made. Clones share the
/// bytes, and a set can be shared between threads.
#[derive(Clone, Debug)]
pub struct TrailSet {
    store: Arc<StoreBytes>,
    pub(crate) view: StoreView,
    pub(crate) patterns: Option<PatternSet>,
    pub(crate) whitelist: Whitelist,
}

impl Default for TrailSet {
    fn default() -> TrailSet {
        TrailSet::empty()
    }
}

impl TrailSet {
    /// Returns a set without trails, which matches nothing.
    pub fn empty() -> TrailSet {
        let built = StoreBuilder::new().finish(None);
        match built.map(|(bytes, _)| TrailSet::from_store_bytes(bytes)) {
            Ok(Ok(set)) => set,
            // Unreachable: the writer's output for no trails always passes the checks. A
            // view without bytes matches nothing all the same.
            _ => TrailSet {
                store: Arc::new(StoreBytes::Owned(Vec::new())),
                view: StoreView::default(),
                patterns: None,
                whitelist: Whitelist::default(),
            },
        }
    }

    /// Loads every `*.txt` file below each folder, in the order given and sorted within each
    /// folder, compiles them into an owned store, and attaches a copy of the whitelist.
    ///
    /// Indicators the whitelist covers are left out of the store (see
    /// [`LoadReport::whitelisted`]), and lookups still check the whitelist. Bad lines are
    /// reported and skipped. Fails when a folder or file cannot be read, or when the set
    /// outgrows a table limit.
    pub fn load(
        dirs: &[TrailDir],
        whitelist: Option<&Whitelist>,
    ) -> Result<(TrailSet, LoadReport), TrailError> {
        let started = Instant::now();
        let mut builder = StoreBuilder::new();
        for dir in dirs {
            builder.add_tree(dir)?;
        }
        let (bytes, report) = builder.finish(whitelist)?;
        finish_load(bytes, report, whitelist, started)
    }

    /// Builds a set from in-memory files, for tests: each entry is a path below a tree root
    /// (`"malware/x.txt"`, which sets the info text), the contents, and whether the file is
    /// custom. The custom flag replaces the folder-name rule.
    pub fn from_text(
        files: &[(&str, &str, bool)],
        whitelist: Option<&Whitelist>,
    ) -> Result<(TrailSet, LoadReport), TrailError> {
        let started = Instant::now();
        let mut builder = Builder::default();

        for (relative, contents, custom) in files {
            let (info, _) = describe_file(Path::new(relative), false);
            builder.add_file(Path::new(relative), &info, *custom, contents.as_bytes())?;
        }

        let (bytes, report) = write_store(builder, whitelist)?;
        finish_load(bytes, report, whitelist, started)
    }

    /// Opens a store file: verifies its header and checksum with a streaming read, so the
    /// file's pages do not count against this process's resident set, then maps it read-only
    /// and checks its section table and section layouts.
    ///
    /// The set has an empty whitelist; attach one with [`TrailSet::with_whitelist`]. Errors
    /// name the path and the fix.
    ///
    /// NOTE: a store written by [`write_store_atomic`](crate::write_store_atomic) leaves the
    /// page cache, so lookups map it 64 KiB at a time. A store copied into place by other
    /// tools may stay cached in 2 MiB folios (Linux 6.x), and then each page a lookup touches
    /// maps 2 MiB into the resident set until the kernel evicts those pages.
    pub fn open(path: &Path) -> Result<TrailSet, StoreError> {
        let map = map_store(path)?;
        TrailSet::from_store(StoreBytes::Mapped(map), Checksum::AlreadyVerified).map_err(
            |problem| StoreError::Invalid {
                path: Some(path.to_path_buf()),
                problem,
            },
        )
    }

    /// Makes a set from store bytes in memory, after verifying them as [`TrailSet::open`]
    /// does. The set has an empty whitelist.
    pub fn from_store_bytes(bytes: Vec<u8>) -> Result<TrailSet, StoreError> {
        Ok(TrailSet::from_store(
            StoreBytes::Owned(bytes),
            Checksum::Verify,
        )?)
    }

    fn from_store(store: StoreBytes, checksum: Checksum) -> Result<TrailSet, FormatError> {
        let (view, patterns) = StoreView::parse(store.as_slice(), checksum)?;
        let compiled = PatternSet::compile(patterns.iter().map(|(text, r)| (text.as_str(), *r)))
            .map_err(|error| invalid_pattern(&patterns, &error))?;
        Ok(TrailSet {
            store: Arc::new(store),
            view,
            patterns: compiled,
            whitelist: Whitelist::default(),
        })
    }

    /// Replaces the whitelist that lookups apply.
    pub fn with_whitelist(mut self, whitelist: Whitelist) -> TrailSet {
        self.whitelist = whitelist;
        self
    }

    /// Returns the store bytes the set reads, for writing to a file.
    pub fn store_bytes(&self) -> &[u8] {
        self.store.as_slice()
    }

    #[inline]
    pub(crate) fn bytes(&self) -> &[u8] {
        self.store.as_slice()
    }

    /// Returns the number of distinct indicators.
    pub fn len(&self) -> usize {
        self.counts().total()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Distinct indicators per kind.
    pub fn counts(&self) -> KindCounts {
        self.view.counts()
    }

    /// Returns the info text of a source, such as `asyncrat (malware)`, or `""` for an id this set did
    /// not issue.
    pub fn info(&self, id: SourceId) -> &str {
        self.view.sources.info(self.bytes(), id)
    }

    /// Returns the reference text of a source: `(custom)` or `(static)` for trail files, the
    /// feed's reference for a feed, or `""` for an id this set did not issue.
    pub fn reference(&self, id: SourceId) -> &str {
        self.view.sources.reference(self.bytes(), id)
    }

    /// Returns every source with the number of indicators it lists, in source order.
    pub fn source_counts(&self) -> Vec<(SourceId, usize)> {
        let bytes = self.bytes();
        (0..self.view.sources.len() as u32)
            .map(SourceId)
            .map(|id| (id, self.view.sources.indicators(bytes, id)))
            .collect()
    }

    pub fn whitelist(&self) -> &Whitelist {
        &self.whitelist
    }

    /// Estimates the bytes the set occupies: the store (heap for an owned store, the mapped
    /// file for an opened one, of which only the pages lookups touch become resident) plus a
    /// guess for the compiled patterns. Not included is the regex crate's lazy DFA cache,
    /// which each thread matching patterns grows on demand, up to 2 MiB by default.
    pub fn memory_bytes(&self) -> usize {
        let patterns = self.patterns.as_ref().map_or(0, PatternSet::memory_bytes);
        self.bytes().len() + patterns
    }
}

fn finish_load(
    bytes: Vec<u8>,
    mut report: LoadReport,
    whitelist: Option<&Whitelist>,
    started: Instant,
) -> Result<(TrailSet, LoadReport), TrailError> {
    let set = TrailSet::from_store(StoreBytes::Owned(bytes), Checksum::Verify)
        .map_err(TrailError::Store)?;
    let set = set.with_whitelist(whitelist.cloned().unwrap_or_default());
    report.elapsed = started.elapsed();
    Ok((set, report))
}

/// Names the first stored pattern that does not compile alone, or the set's error when each
/// compiles but not all together.
fn invalid_pattern(patterns: &[(String, u32)], error: &regex::Error) -> FormatError {
    for (text, reference) in patterns {
        if let Err(error) = PatternSet::compile(std::iter::once((text.as_str(), *reference))) {
            return FormatError::InvalidPattern {
                pattern: text.clone(),
                reason: error_summary(&error.to_string()),
            };
        }
    }
    FormatError::InvalidPattern {
        pattern: String::new(),
        reason: error_summary(&error.to_string()),
    }
}

/// Appends a file's contents to `contents`.
pub(crate) fn read_file(path: &Path, contents: &mut Vec<u8>) -> Result<(), TrailError> {
    File::open(path)
        .and_then(|mut file| file.read_to_end(contents))
        .map(|_| ())
        .map_err(|source| TrailError::Io {
            path: path.to_path_buf(),
            source,
        })
}
