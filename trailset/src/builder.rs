//! Collecting indicators from trail files and feeds, deduplicated, before they are written
//! to a store.

use std::borrow::Cow;
use std::path::Path;

use crate::error::TrailError;
use crate::indicator::{classify, Indicator, LineError};
use crate::ip_table::IpTable;
use crate::line::{indicator_text, numbered_lines};
use crate::pattern::PatternBuilder;
use crate::port_table::PortTable;
use crate::report::LoadReport;
use crate::source::{file_reference, Sources};
use crate::source_list::SourceLists;
use crate::text_table::TextTable;
use crate::SourceId;

/// The tables of a trail set under construction, and the report so far.
///
/// Each entry's value names its sources (see [`SourceLists`]).
#[derive(Debug, Default)]
pub(crate) struct Builder {
    pub(crate) sources: Sources,
    pub(crate) lists: SourceLists,
    pub(crate) ips: IpTable<u32>,
    pub(crate) ports: PortTable,
    pub(crate) domains: TextTable,
    pub(crate) tlds: TextTable,
    pub(crate) urls: TextTable,
    pub(crate) patterns: PatternBuilder,
    pub(crate) report: LoadReport,
}

impl Builder {
    /// Adds every indicator line of one trail file and reports the bad lines.
    ///
    /// `path` is the name used in the report. Fails only when a table limit is reached.
    pub(crate) fn add_file(
        &mut self,
        path: &Path,
        info: &str,
        custom: bool,
        contents: &[u8],
    ) -> Result<(), TrailError> {
        let source = self.sources.intern(info, file_reference(custom), custom)?;
        self.report.files += 1;

        // Most files are valid UTF-8 throughout, and checking a file once is much cheaper than
        // checking each line.
        if let Ok(text) = std::str::from_utf8(contents) {
            return self.add_lines(path, source, text.split('\n'));
        }

        for (number, raw) in numbered_lines(contents) {
            let line = String::from_utf8_lossy(raw);
            let Some(text) = indicator_text(&line) else {
                continue;
            };
            match line {
                Cow::Borrowed(_) => self.add_line(path, number, text, source)?,
                Cow::Owned(_) => {
                    let reason = LineError::InvalidUtf8.to_string();
                    self.report.record_bad_line(path, number, text, &reason);
                }
            }
        }
        Ok(())
    }

    /// Adds the indicator lines of one feed, which has its own info and reference texts and
    /// is never custom. Bad lines are reported with `origin` as the file name.
    pub(crate) fn add_feed<'a>(
        &mut self,
        origin: &str,
        info: &str,
        reference: &str,
        lines: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), TrailError> {
        let source = self.sources.intern(info, reference, false)?;
        self.report.feeds += 1;
        self.add_lines(Path::new(origin), source, lines)
    }

    fn add_lines<'a>(
        &mut self,
        path: &Path,
        source: SourceId,
        lines: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), TrailError> {
        for (index, line) in lines.into_iter().enumerate() {
            if let Some(text) = indicator_text(line) {
                self.add_line(path, index + 1, text, source)?;
            }
        }
        Ok(())
    }

    fn add_line(
        &mut self,
        path: &Path,
        number: usize,
        text: &str,
        source: SourceId,
    ) -> Result<(), TrailError> {
        let added = match classify(text) {
            Ok(indicator) => self.add_indicator(indicator, source)?,
            Err(reason) => Err(reason),
        };

        match added {
            Ok(true) => {}
            Ok(false) => self.report.duplicates += 1,
            Err(reason) => self
                .report
                .record_bad_line(path, number, text, &reason.to_string()),
        }
        Ok(())
    }

    /// Inserts one indicator. The inner result is `Ok(true)` for a new indicator, `Ok(false)`
    /// for a duplicate, and `Err` for a pattern that does not compile.
    fn add_indicator(
        &mut self,
        indicator: Indicator<'_>,
        source: SourceId,
    ) -> Result<Result<bool, LineError>, TrailError> {
        let value = SourceLists::single(source);
        let (lists, sources) = (&mut self.lists, &self.sources);
        let resolve = |stored| lists.add(stored, source, sources);
        let counts = &mut self.report.counts;

        let (added, count) = match indicator {
            Indicator::Ip(ip) => (self.ips.insert_ip(ip, value, resolve), &mut counts.ip),
            Indicator::IpPort(ip, port) => (
                self.ports.insert(ip, port, value, resolve),
                &mut counts.ip_port,
            ),
            Indicator::Cidr(ip, prefix) => (
                self.ips.insert_cidr(ip, prefix, value, resolve),
                &mut counts.cidr,
            ),
            Indicator::Domain(name) => (
                self.domains.insert(name.as_bytes(), value, resolve)?,
                &mut counts.domain,
            ),
            Indicator::Tld(name) => (
                self.tlds.insert(name.as_bytes(), value, resolve)?,
                &mut counts.tld,
            ),
            Indicator::Url(key) => (
                self.urls.insert(key.as_bytes(), value, resolve)?,
                &mut counts.url,
            ),
            Indicator::Path(path) => (
                self.urls.insert(path.as_bytes(), value, resolve)?,
                &mut counts.path,
            ),
            Indicator::Pattern(text) => match self.patterns.insert(text, value, resolve) {
                Ok(added) => (added, &mut counts.pattern),
                Err(reason) => return Ok(Err(reason)),
            },
        };

        if added {
            *count += 1;
        }
        Ok(Ok(added))
    }
}
