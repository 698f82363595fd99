//! Building a trail set from file contents.

use std::borrow::Cow;
use std::path::Path;
use std::time::Instant;

use crate::error::TrailError;
use crate::indicator::{classify, Indicator, LineError};
use crate::ip_table::IpTable;
use crate::line::{indicator_text, numbered_lines};
use crate::pattern::PatternBuilder;
use crate::port_table::PortTable;
use crate::presence::{hash_v4_address, PresenceFilter};
use crate::report::LoadReport;
use crate::source::Sources;
use crate::text_table::TextTable;
use crate::trail_set::TrailSet;
use crate::url_table::UrlTable;
use crate::whitelist::Whitelist;
use crate::SourceId;

/// The tables of a trail set under construction, and the report so far.
#[derive(Debug, Default)]
pub(crate) struct Builder {
    sources: Sources,
    ips: IpTable<SourceId>,
    ports: PortTable,
    domains: TextTable,
    tlds: TextTable,
    urls: UrlTable,
    patterns: PatternBuilder,
    report: LoadReport,
}

impl Builder {
    /// Adds every indicator line of one file and reports the bad lines.
    ///
    /// `path` is the name used in the report. Fails only when a table limit is reached.
    pub(crate) fn add_file(
        &mut self,
        path: &Path,
        info: &str,
        custom: bool,
        contents: &[u8],
    ) -> Result<(), TrailError> {
        let source = self.sources.intern(info, custom)?;
        self.report.files += 1;

        // Most files are valid UTF-8 throughout, and checking a file once is much cheaper than
        // checking each line.
        if let Ok(text) = std::str::from_utf8(contents) {
            for (index, line) in text.split('\n').enumerate() {
                if let Some(text) = indicator_text(line) {
                    self.add_line(path, index + 1, text, source)?;
                }
            }
            return Ok(());
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
        let sources = &self.sources;
        let resolve = |stored: SourceId| sources.preferred(stored, source);
        let counts = &mut self.report.counts;

        let (added, count) = match indicator {
            Indicator::Ip(ip) => (self.ips.insert_ip(ip, source, resolve), &mut counts.ip),
            Indicator::IpPort(ip, port) => (
                self.ports.insert(ip, port, source, resolve),
                &mut counts.ip_port,
            ),
            Indicator::Cidr(ip, prefix) => (
                self.ips.insert_cidr(ip, prefix, source, resolve),
                &mut counts.cidr,
            ),
            Indicator::Domain(name) => (
                self.domains.insert(name.as_bytes(), source, resolve)?,
                &mut counts.domain,
            ),
            Indicator::Tld(name) => (
                self.tlds.insert(name.as_bytes(), source, resolve)?,
                &mut counts.tld,
            ),
            Indicator::Url(key) => (
                self.urls.insert(key.as_bytes(), source, resolve)?,
                &mut counts.url,
            ),
            Indicator::Path(path) => (
                self.urls.insert(path.as_bytes(), source, resolve)?,
                &mut counts.path,
            ),
            Indicator::Pattern(text) => match self.patterns.insert(text, source, resolve) {
                Ok(added) => (added, &mut counts.pattern),
                Err(reason) => return Ok(Err(reason)),
            },
        };

        if added {
            *count += 1;
        }
        Ok(Ok(added))
    }

    /// Compiles the patterns, trims every table to its final size and attaches the whitelist.
    pub(crate) fn finish(
        self,
        whitelist: Option<&Whitelist>,
        started: Instant,
    ) -> Result<(TrailSet, LoadReport), TrailError> {
        let Builder {
            sources,
            mut ips,
            mut ports,
            mut domains,
            mut tlds,
            mut urls,
            patterns,
            mut report,
        } = self;

        let patterns = patterns.build()?;
        ips.shrink_to_fit();
        ports.shrink_to_fit();
        domains.shrink_to_fit();
        tlds.shrink_to_fit();
        urls.finish();

        let endpoint_count = ips.v4_addresses().count() + ports.v4_len();
        let endpoint_hashes = ips
            .v4_addresses()
            .chain(ports.v4_addresses())
            .map(hash_v4_address);
        let v4_endpoints = PresenceFilter::from_hashes(endpoint_count, endpoint_hashes);

        let set = TrailSet {
            sources: sources.into_list(),
            ips,
            ports,
            v4_endpoints: Some(v4_endpoints),
            domains,
            tlds,
            urls,
            patterns,
            whitelist: whitelist.cloned().unwrap_or_default(),
            counts: report.counts,
        };
        report.elapsed = started.elapsed();
        Ok((set, report))
    }
}
