//! The loaded trail set: construction and metadata.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::builder::Builder;
use crate::error::TrailError;
use crate::ip_table::IpTable;
use crate::pattern::PatternSet;
use crate::port_table::PortTable;
use crate::presence::PresenceFilter;
use crate::report::{KindCounts, LoadReport};
use crate::source::{describe_file, Source, CUSTOM_REFERENCE, STATIC_REFERENCE};
use crate::text_table::TextTable;
use crate::url_table::UrlTable;
use crate::walk::list_trail_files;
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
/// Built once and then only read, so it can be shared between threads behind an `Arc`.
#[derive(Clone, Debug, Default)]
pub struct TrailSet {
    pub(crate) sources: Vec<Source>,
    pub(crate) ips: IpTable<SourceId>,
    pub(crate) ports: PortTable,
    /// Every IPv4 address that has an exact or `address:port` trail, so that one probe rules
    /// out both lookups of most packet endpoints. `None` for a set still being built.
    pub(crate) v4_endpoints: Option<PresenceFilter>,
    pub(crate) domains: TextTable,
    /// Leading-dot trails, stored without the dot.
    pub(crate) tlds: TextTable,
    pub(crate) urls: UrlTable,
    pub(crate) patterns: Option<PatternSet>,
    pub(crate) whitelist: Whitelist,
    pub(crate) counts: KindCounts,
}

impl TrailSet {
    /// Returns a set without trails, which matches nothing.
    pub fn empty() -> TrailSet {
        TrailSet::default()
    }

    /// Loads every `*.txt` file below each folder, in the order given and sorted within each
    /// folder, and attaches a copy of the whitelist.
    ///
    /// Bad lines are reported and skipped. Fails when a folder or file cannot be read, or
    /// when the set outgrows a table limit.
    pub fn load(
        dirs: &[TrailDir],
        whitelist: Option<&Whitelist>,
    ) -> Result<(TrailSet, LoadReport), TrailError> {
        let started = Instant::now();
        let mut builder = Builder::default();
        let mut contents = Vec::new();

        for dir in dirs {
            let root_is_custom = dir.path.file_name().is_some_and(|name| name == "custom");

            for file in list_trail_files(&dir.path)? {
                contents.clear();
                read_file(&file.path, &mut contents)?;

                let (info, custom) = describe_file(&file.relative, root_is_custom);
                builder.add_file(&file.path, &info, custom, &contents)?;
                log::debug!("read trail file {}", file.path.display());
            }
        }

        builder.finish(whitelist, started)
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

        builder.finish(whitelist, started)
    }

    /// Returns the number of distinct indicators.
    pub fn len(&self) -> usize {
        self.counts.total()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Distinct indicators per kind.
    pub fn counts(&self) -> KindCounts {
        self.counts
    }

    /// Returns the info text of a source, such as `asyncrat (malware)`, or `""` for an id this set did
    /// not issue.
    pub fn info(&self, id: SourceId) -> &str {
        self.sources
            .get(id.0 as usize)
            .map_or("", |source| &source.info)
    }

    /// `(custom)` or `(static)`, or `""` for an id this set did not issue.
    pub fn reference(&self, id: SourceId) -> &str {
        match self.sources.get(id.0 as usize) {
            Some(source) if source.custom => CUSTOM_REFERENCE,
            Some(_) => STATIC_REFERENCE,
            None => "",
        }
    }

    pub fn whitelist(&self) -> &Whitelist {
        &self.whitelist
    }

    /// Estimates the heap bytes of the set: exact for the hash tables and text arenas, a
    /// guess for the compiled patterns. Not included is the regex crate's lazy DFA cache,
    /// which each thread matching patterns grows on demand, up to 2 MiB by default.
    pub fn memory_bytes(&self) -> usize {
        let sources: usize = self
            .sources
            .iter()
            .map(|source| size_of::<Source>() + source.info.len())
            .sum();
        let patterns = self.patterns.as_ref().map_or(0, PatternSet::memory_bytes);

        sources
            + self.ips.memory_bytes()
            + self.ports.memory_bytes()
            + self.domains.memory_bytes()
            + self.tlds.memory_bytes()
            + self.urls.memory_bytes()
            + patterns
    }
}

fn read_file(path: &Path, contents: &mut Vec<u8>) -> Result<(), TrailError> {
    File::open(path)
        .and_then(|mut file| file.read_to_end(contents))
        .map(|_| ())
        .map_err(|source| TrailError::Io {
            path: path.to_path_buf(),
            source,
        })
}
