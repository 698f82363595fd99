//! Compiling trail trees and feeds into store bytes.

use std::time::Instant;

use crate::builder::Builder;
use crate::error::TrailError;
use crate::report::LoadReport;
use crate::source::describe_file;
use crate::store::writer::write_store;
use crate::trail_set::{read_file, TrailDir};
use crate::walk::list_trail_files;
use crate::whitelist::Whitelist;

/// Collects trail trees and feeds and writes them as one compiled store.
///
/// When several sources list the same indicator, the store keeps them all. The primary
/// source, which lookups report, is the first custom source if any lists it, and otherwise
/// the first source added. Add static trees first and feeds after them, so that a feed
/// never takes precedence over the shipped trails.
///
/// ```
/// use trailwatch_trailset::{StoreBuilder, TrailSet};
///
/// let mut builder = StoreBuilder::new();
/// let lines = ["1.2.3.4", "5.6.7.8:443"];
/// builder
///     .add_indicators("feodo.csv", "feodotracker (malware)", "feodotracker.abuse.ch", lines)
///     .unwrap();
/// let (bytes, _report) = builder.finish(None).unwrap();
///
/// let set = TrailSet::from_store_bytes(bytes).unwrap();
/// let source = set.lookup_ip("1.2.3.4".parse().unwrap()).unwrap().source;
/// assert_eq!(set.reference(source), "feodotracker.abuse.ch");
/// ```
#[derive(Debug)]
pub struct StoreBuilder {
    builder: Builder,
    started: Instant,
}

impl Default for StoreBuilder {
    fn default() -> StoreBuilder {
        StoreBuilder::new()
    }
}

impl StoreBuilder {
    pub fn new() -> StoreBuilder {
        StoreBuilder {
            builder: Builder::default(),
            started: Instant::now(),
        }
    }

    /// Adds every `*.txt` file below the tree, sorted by path, as [`crate::TrailSet::load`]
    /// does. Fails when a folder or file cannot be read.
    pub fn add_tree(&mut self, dir: &TrailDir) -> Result<(), TrailError> {
        let root_is_custom = dir.path.file_name().is_some_and(|name| name == "custom");
        let mut contents = Vec::new();

        for file in list_trail_files(&dir.path)? {
            contents.clear();
            read_file(&file.path, &mut contents)?;

            let (info, custom) = describe_file(&file.relative, root_is_custom);
            self.builder
                .add_file(&file.path, &info, custom, &contents)?;
            log::debug!("read trail file {}", file.path.display());
        }
        Ok(())
    }

    /// Adds the indicators of a feed, one trail-file line each (`1.2.3.4`, `evil.com`,
    /// `1.2.3.4:443`, `host/path`, a CIDR block...), all with the feed's info and reference
    /// texts, such as "feodotracker (malware)" and "feodotracker.abuse.ch". Blank lines and
    /// `#` comments are skipped.
    ///
    /// Bad lines are reported like bad trail-file lines, with `origin` in place of the file
    /// name and the 1-based position in `lines` as the line number. Fails only when a table
    /// limit is reached.
    pub fn add_indicators<'a>(
        &mut self,
        origin: &str,
        info: &str,
        reference: &str,
        lines: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), TrailError> {
        self.builder.add_feed(origin, info, reference, lines)
    }

    /// Writes the store and returns its bytes with the report of everything added.
    ///
    /// Indicators the whitelist covers are left out: addresses and endpoints on whitelisted
    /// addresses, CIDR blocks that whitelisted blocks cover whole, and domains and TLD
    /// trails at or under a whitelisted name. URL trails and patterns stay, as the lookups
    /// do not apply the whitelist to them or cannot know in advance what they match.
    pub fn finish(
        self,
        whitelist: Option<&Whitelist>,
    ) -> Result<(Vec<u8>, LoadReport), TrailError> {
        let (bytes, mut report) = write_store(self.builder, whitelist)?;
        report.elapsed = self.started.elapsed();
        Ok((bytes, report))
    }
}
