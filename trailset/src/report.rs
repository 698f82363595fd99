//! The outcome of a load: indicator counts, duplicates and unusable lines.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Maximum number of bad lines a report keeps. `LoadReport::bad_line_total` counts them all.
pub const MAX_REPORTED_BAD_LINES: usize = 100;

/// Maximum number of characters of a bad line's text that a report keeps, so one huge line
/// cannot flood a log.
const MAX_BAD_TEXT_CHARS: usize = 200;

/// Distinct indicators per kind, after duplicates are merged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KindCounts {
    /// Exact IPv4 and IPv6 addresses.
    pub ip: usize,
    /// `address:port` endpoints.
    pub ip_port: usize,
    /// CIDR blocks.
    pub cidr: usize,
    /// Domain names, each matching its subdomains too.
    pub domain: usize,
    /// Leading-dot trails such as `.cc`, matching every name under them.
    pub tld: usize,
    /// `host/path` trails.
    pub url: usize,
    /// Bare `/path` trails.
    pub path: usize,
    /// Regular expressions over whole domain names.
    pub pattern: usize,
}

impl KindCounts {
    pub fn total(&self) -> usize {
        self.ip
            + self.ip_port
            + self.cidr
            + self.domain
            + self.tld
            + self.url
            + self.path
            + self.pattern
    }
}

impl fmt::Display for KindCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} domains, {} TLDs, {} IPs, {} IP:ports, {} CIDRs, {} URLs, {} paths, {} patterns",
            self.domain,
            self.tld,
            self.ip,
            self.ip_port,
            self.cidr,
            self.url,
            self.path,
            self.pattern
        )
    }
}

/// One trail line that could not be used. The rest of its file still loads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadLine {
    pub file: PathBuf,
    /// The 1-based line number.
    pub line: usize,
    /// The indicator text without its comment, cut to 200 characters.
    pub text: String,
    /// Why the line was rejected, phrased to follow the text: "contains whitespace".
    pub reason: String,
}

impl fmt::Display for BadLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {:?} {}",
            self.file.display(),
            self.line,
            self.text,
            self.reason
        )
    }
}

/// The outcome of one load, for the sensor's startup log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Trail files read.
    pub files: usize,
    /// Feeds added with `StoreBuilder::add_indicators`.
    pub feeds: usize,
    pub counts: KindCounts,
    /// Indicator lines whose indicator an earlier line already listed.
    pub duplicates: usize,
    /// Distinct indicators left out of the store because the whitelist covers them.
    pub whitelisted: usize,
    /// The first [`MAX_REPORTED_BAD_LINES`] bad lines, in load order.
    pub bad_lines: Vec<BadLine>,
    /// All bad lines, including those not kept in `bad_lines`.
    pub bad_line_total: usize,
    /// Wall-clock time of the whole load.
    pub elapsed: Duration,
}

impl LoadReport {
    pub(crate) fn record_bad_line(&mut self, file: &Path, line: usize, text: &str, reason: &str) {
        self.bad_line_total += 1;
        if self.bad_lines.len() >= MAX_REPORTED_BAD_LINES {
            return;
        }

        self.bad_lines.push(BadLine {
            file: file.to_path_buf(),
            line,
            text: text.chars().take(MAX_BAD_TEXT_CHARS).collect(),
            reason: reason.to_owned(),
        });
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} indicators from {} files",
            self.counts.total(),
            self.files
        )?;
        match self.feeds {
            0 => {}
            1 => write!(f, " and 1 feed")?,
            feeds => write!(f, " and {feeds} feeds")?,
        }
        write!(
            f,
            " in {:.2} s ({}), {} duplicates, {} bad lines",
            self.elapsed.as_secs_f64(),
            self.counts,
            self.duplicates,
            self.bad_line_total
        )?;
        if self.whitelisted > 0 {
            write!(f, ", {} whitelisted", self.whitelisted)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_keeps_bounded_bad_lines() {
        let mut report = LoadReport::default();
        for line in 0..MAX_REPORTED_BAD_LINES + 5 {
            report.record_bad_line(Path::new("x.txt"), line, "bad", "is bad");
        }

        assert_eq!(report.bad_lines.len(), MAX_REPORTED_BAD_LINES);
    }

    #[test]
    fn report_counts_every_bad_line() {
        let mut report = LoadReport::default();
        for line in 0..MAX_REPORTED_BAD_LINES + 5 {
            report.record_bad_line(Path::new("x.txt"), line, "bad", "is bad");
        }

        assert_eq!(report.bad_line_total, MAX_REPORTED_BAD_LINES + 5);
    }

    #[test]
    fn bad_line_text_is_cut() {
        let mut report = LoadReport::default();
        report.record_bad_line(Path::new("x.txt"), 1, &"a".repeat(1000), "is bad");

        assert_eq!(report.bad_lines[0].text.len(), MAX_BAD_TEXT_CHARS);
    }

    #[test]
    fn bad_line_shows_file_and_line() {
        let bad = BadLine {
            file: PathBuf::from("malware/apt_darkhotel.txt"),
            line: 250,
            text: "support¬forum.org".to_owned(),
            reason: "contains '¬', which is not valid in a host name".to_owned(),
        };

        let expected = "malware/apt_darkhotel.txt:250: \"support¬forum.org\" contains '¬', \
                        which is not valid in a host name";
        assert_eq!(bad.to_string(), expected);
    }

    #[test]
    fn summary_names_one_feed() {
        let report = LoadReport {
            files: 2,
            feeds: 1,
            ..LoadReport::default()
        };

        assert!(report
            .to_string()
            .starts_with("0 indicators from 2 files and 1 feed in"));
    }

    #[test]
    fn counts_total_sums_kinds() {
        let counts = KindCounts {
            ip: 1,
            ip_port: 2,
            cidr: 3,
            domain: 4,
            tld: 5,
            url: 6,
            path: 7,
            pattern: 8,
        };

        assert_eq!(counts.total(), 36);
    }
}
