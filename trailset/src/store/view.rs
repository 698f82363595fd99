//! The checked view of a whole store: every section parsed once, ready for lookups.

use crate::report::KindCounts;
use crate::store::cidr::CidrView;
use crate::store::error::FormatError;
use crate::store::filter::{parse_filter_section, FilterView};
use crate::store::header::{check_header, checksum, parse_sections, Sections};
use crate::store::layout::{SectionKind, HEADER_LEN};
use crate::store::patterns::read_patterns;
use crate::store::sorted::SortedView;
use crate::store::sources::SourcesView;
use crate::store::text::TextView;
use crate::url_table::UrlView;

/// The position and parsed header of each table of a store.
///
/// The view stores offsets rather than slices, so the owner of the bytes can own the view
/// too. Every lookup passes the same bytes back in.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct StoreView {
    pub(crate) sources: SourcesView,
    pub(crate) ipv4: SortedView,
    pub(crate) ipv6: SortedView,
    pub(crate) ipv4_port: SortedView,
    pub(crate) ipv6_port: SortedView,
    pub(crate) cidr_v4: CidrView,
    pub(crate) cidr_v6: CidrView,
    /// Addresses of every IPv4 exact and `address:port` trail.
    pub(crate) v4_endpoints: FilterView,
    pub(crate) domains: TextView,
    /// Leading-dot trails, stored without the dot.
    pub(crate) tlds: TextView,
    pub(crate) urls: UrlView,
    pub(crate) pattern_count: usize,
}

/// Whether [`StoreView::parse`] verifies the checksum, or the caller already has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Checksum {
    Verify,
    AlreadyVerified,
}

impl StoreView {
    /// Checks the header, the checksum if asked, the section table and every section's
    /// layout, and returns the view with the patterns as written and their references.
    pub(crate) fn parse(
        bytes: &[u8],
        verify: Checksum,
    ) -> Result<(StoreView, Vec<(String, u32)>), FormatError> {
        let start = bytes.get(..HEADER_LEN).unwrap_or(bytes);
        let header = check_header(start, bytes.len() as u64)?;
        if verify == Checksum::Verify {
            let computed = checksum(bytes.get(HEADER_LEN..).unwrap_or_default());
            if computed != header.checksum {
                return Err(FormatError::ChecksumMismatch {
                    stored: header.checksum,
                    computed,
                });
            }
        }
        let sections = parse_sections(bytes, &header)?;
        let span = |kind| sections.get(kind);

        let sources = SourcesView::parse(
            bytes,
            span(SectionKind::Strings),
            span(SectionKind::Sources),
            span(SectionKind::Lists),
        )?;
        let view = StoreView {
            sources,
            ipv4: sorted(bytes, &sections, SectionKind::Ipv4, 4)?,
            ipv6: sorted(bytes, &sections, SectionKind::Ipv6, 16)?,
            ipv4_port: sorted(bytes, &sections, SectionKind::Ipv4Port, 6)?,
            ipv6_port: sorted(bytes, &sections, SectionKind::Ipv6Port, 18)?,
            cidr_v4: cidr(bytes, &sections, SectionKind::CidrV4, 4)?,
            cidr_v6: cidr(bytes, &sections, SectionKind::CidrV6, 16)?,
            v4_endpoints: filter(bytes, &sections, SectionKind::V4EndpointFilter)?,
            domains: text(bytes, &sections, SectionKind::Domains)?,
            tlds: text(bytes, &sections, SectionKind::Tlds)?,
            urls: UrlView {
                keys: text(bytes, &sections, SectionKind::Urls)?,
                gates: filter(bytes, &sections, SectionKind::UrlGates)?,
            },
            pattern_count: 0,
        };

        let patterns = read_patterns(
            bytes,
            span(SectionKind::Patterns),
            span(SectionKind::Strings),
        )?;
        Ok((
            StoreView {
                pattern_count: patterns.len(),
                ..view
            },
            patterns,
        ))
    }

    /// Distinct indicators per kind, from the table headers.
    pub(crate) fn counts(&self) -> KindCounts {
        KindCounts {
            ip: self.ipv4.len() + self.ipv6.len(),
            ip_port: self.ipv4_port.len() + self.ipv6_port.len(),
            cidr: self.cidr_v4.len() + self.cidr_v6.len(),
            domain: self.domains.len(),
            tld: self.tlds.len(),
            url: self.urls.keys.len() - self.urls.keys.path_len(),
            path: self.urls.keys.path_len(),
            pattern: self.pattern_count,
        }
    }
}

fn sorted(
    bytes: &[u8],
    sections: &Sections,
    kind: SectionKind,
    key_len: usize,
) -> Result<SortedView, FormatError> {
    SortedView::parse(kind.name(), bytes, sections.get(kind), key_len)
}

fn cidr(
    bytes: &[u8],
    sections: &Sections,
    kind: SectionKind,
    key_len: usize,
) -> Result<CidrView, FormatError> {
    CidrView::parse(kind.name(), bytes, sections.get(kind), key_len)
}

fn filter(bytes: &[u8], sections: &Sections, kind: SectionKind) -> Result<FilterView, FormatError> {
    parse_filter_section(kind.name(), bytes, sections.get(kind))
}

fn text(bytes: &[u8], sections: &Sections, kind: SectionKind) -> Result<TextView, FormatError> {
    TextView::parse(kind.name(), bytes, sections.get(kind))
}
