//! Constants of the store layout: the header fields and the section kinds. `FORMAT.md` in the
//! crate root describes the whole layout.

/// The first eight bytes of every store.
pub(crate) const MAGIC: [u8; 8] = *b"TWTRAIL\0";

/// The format version this build writes and reads.
pub const STORE_FORMAT_VERSION: u32 = 1;

/// Length of the fixed header, which the checksum does not cover.
pub(crate) const HEADER_LEN: usize = 40;

/// Length of one entry of the section table.
pub(crate) const SECTION_ENTRY_LEN: usize = 24;

/// Byte offsets of the header fields.
pub(crate) const VERSION_AT: usize = 8;
pub(crate) const FLAGS_AT: usize = 12;
pub(crate) const TOTAL_LEN_AT: usize = 16;
pub(crate) const CHECKSUM_AT: usize = 24;
pub(crate) const SECTION_COUNT_AT: usize = 32;
pub(crate) const RESERVED_AT: usize = 36;

/// Every section starts at a multiple of this.
pub(crate) const SECTION_ALIGN: usize = 8;

/// The number of sections of a version-1 store: one per kind.
pub(crate) const MAX_SECTIONS: usize = SectionKind::ALL.len();

/// The content type of a section. The discriminant is the kind number in the section table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum SectionKind {
    Strings = 1,
    Sources = 2,
    Lists = 3,
    Ipv4 = 4,
    Ipv6 = 5,
    Ipv4Port = 6,
    Ipv6Port = 7,
    CidrV4 = 8,
    CidrV6 = 9,
    V4EndpointFilter = 10,
    Domains = 11,
    Tlds = 12,
    Urls = 13,
    UrlGates = 14,
    Patterns = 15,
}

impl SectionKind {
    pub(crate) const ALL: [SectionKind; 15] = [
        SectionKind::Strings,
        SectionKind::Sources,
        SectionKind::Lists,
        SectionKind::Ipv4,
        SectionKind::Ipv6,
        SectionKind::Ipv4Port,
        SectionKind::Ipv6Port,
        SectionKind::CidrV4,
        SectionKind::CidrV6,
        SectionKind::V4EndpointFilter,
        SectionKind::Domains,
        SectionKind::Tlds,
        SectionKind::Urls,
        SectionKind::UrlGates,
        SectionKind::Patterns,
    ];

    pub(crate) fn from_number(number: u32) -> Option<SectionKind> {
        SectionKind::ALL
            .into_iter()
            .find(|kind| *kind as u32 == number)
    }

    /// Returns the name used in error messages and in `FORMAT.md`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            SectionKind::Strings => "strings",
            SectionKind::Sources => "sources",
            SectionKind::Lists => "source lists",
            SectionKind::Ipv4 => "IPv4 addresses",
            SectionKind::Ipv6 => "IPv6 addresses",
            SectionKind::Ipv4Port => "IPv4 endpoints",
            SectionKind::Ipv6Port => "IPv6 endpoints",
            SectionKind::CidrV4 => "IPv4 CIDR blocks",
            SectionKind::CidrV6 => "IPv6 CIDR blocks",
            SectionKind::V4EndpointFilter => "IPv4 endpoint filter",
            SectionKind::Domains => "domains",
            SectionKind::Tlds => "TLDs",
            SectionKind::Urls => "URLs",
            SectionKind::UrlGates => "URL gate filter",
            SectionKind::Patterns => "patterns",
        }
    }
}

/// Rounds `len` up to the next section boundary.
pub(crate) fn align_section(len: usize) -> usize {
    len.div_ceil(SECTION_ALIGN) * SECTION_ALIGN
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_numbers_round_trip() {
        for kind in SectionKind::ALL {
            assert_eq!(SectionKind::from_number(kind as u32), Some(kind));
        }
    }

    #[test]
    fn unknown_kind_number_is_none() {
        assert_eq!(SectionKind::from_number(0), None);
        assert_eq!(SectionKind::from_number(16), None);
    }
}
