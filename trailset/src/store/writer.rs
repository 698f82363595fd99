//! Serialising a finished builder into store bytes.
//!
//! The writer plans every section's length first, allocates the store once, and then writes
//! the sections one after another, dropping each builder table as soon as its section is
//! written. Peak memory is so the builder plus the part of the store written so far, never
//! two copies of the store.

use crate::builder::Builder;
use crate::error::TrailError;
use crate::hash::{hash_key, hash_v4_address};
use crate::pattern::PatternSet;
use crate::report::LoadReport;
use crate::source_list::Value;
use crate::store::bytes::{put_u32, put_u64};
use crate::store::cidr::{cidr_len, write_cidr, CidrAddress};
use crate::store::filter::{filter_section_len, write_filter_section, FilterBuilder};
use crate::store::header::checksum;
use crate::store::layout::{
    align_section, SectionKind, CHECKSUM_AT, HEADER_LEN, MAGIC, SECTION_ENTRY_LEN,
    STORE_FORMAT_VERSION,
};
use crate::store::patterns::{patterns_len, write_patterns};
use crate::store::sorted::{sorted_len, write_sorted};
use crate::store::sources::{
    lists_len, sources_len, write_lists, write_sources, SourceRecord, StringsBuilder,
};
use crate::store::text::{write_text, TextStats};
use crate::url_table::gate;
use crate::whitelist::Whitelist;
use crate::SourceId;

/// Writes the store of everything `builder` collected, leaving out what `whitelist` covers,
/// and returns it with the final report (without the elapsed time, which the caller sets).
pub(crate) fn write_store(
    mut builder: Builder,
    whitelist: Option<&Whitelist>,
) -> Result<(Vec<u8>, LoadReport), TrailError> {
    // The patterns compile one by one as they are added, but the set can still exceed the
    // regex size limits together. Fail here rather than when the store is opened.
    PatternSet::compile(builder.patterns.entries())?;

    if let Some(whitelist) = whitelist.filter(|whitelist| !whitelist.is_empty()) {
        drop_whitelisted(&mut builder, whitelist);
    }
    let references = References::count(&builder);
    references.translate(&mut builder);

    let Builder {
        sources,
        lists,
        ips,
        ports,
        domains,
        tlds,
        urls,
        patterns,
        report,
    } = builder;
    let width = references.width;

    // Only the records are needed from here on, so the text hash tables go before the store
    // is allocated.
    let (domains, tlds, urls) = (
        domains.into_records(),
        tlds.into_records(),
        urls.into_records(),
    );

    let mut strings = StringsBuilder::default();
    let source_records: Vec<SourceRecord> = sources
        .list()
        .iter()
        .zip(&references.indicators)
        .map(|(source, &indicators)| SourceRecord {
            info: strings.intern(&source.info),
            reference: strings.intern(&source.reference),
            custom: source.custom,
            indicators,
        })
        .collect();
    let pattern_rows: Vec<(u32, (u32, u32))> = patterns
        .entries()
        .map(|(text, reference)| (reference, strings.intern(text)))
        .collect();
    let strings = strings.into_bytes();
    let used_lists: Vec<&[SourceId]> = references.used.iter().map(|&n| lists.list(n)).collect();
    let list_items: usize = used_lists.iter().map(|list| list.len()).sum();

    let ipv4: Vec<(u32, u32)> = ips.v4_entries().collect();
    let ipv6: Vec<(u128, u32)> = ips.v6_entries().collect();
    let cidr_v4: Vec<(u32, u8, u32)> = ips.cidr_v4_entries().collect();
    let cidr_v6: Vec<(u128, u8, u32)> = ips.cidr_v6_entries().collect();
    drop(ips);
    let ports_v4: Vec<((u32, u16), u32)> = ports.v4_entries().collect();
    let ports_v6: Vec<((u128, u16), u32)> = ports.v6_entries().collect();
    drop(ports);

    let endpoint_keys = ipv4.len() + ports_v4.len();
    let mut endpoints = FilterBuilder::new(endpoint_keys);
    let endpoint_addresses = ipv4
        .iter()
        .map(|e| e.0)
        .chain(ports_v4.iter().map(|e| e.0 .0));
    for address in endpoint_addresses {
        endpoints.insert(hash_v4_address(address));
    }
    let mut gates = FilterBuilder::new(urls.len());
    for (key, _) in urls.entries() {
        gates.insert(hash_key(gate(key)));
    }

    let domain_stats = TextStats::of(domains.entries().map(|(key, _)| key));
    let tld_stats = TextStats::of(tlds.entries().map(|(key, _)| key));
    let url_stats = TextStats::of(urls.entries().map(|(key, _)| key));
    if ![domain_stats, tld_stats, url_stats]
        .iter()
        .all(|stats| stats.fits(width))
    {
        return Err(TrailError::TextTooLarge);
    }

    let plan = [
        (SectionKind::Domains, domain_stats.section_len(width)),
        (SectionKind::Urls, url_stats.section_len(width)),
        (SectionKind::UrlGates, filter_section_len(urls.len())),
        (SectionKind::Tlds, tld_stats.section_len(width)),
        (SectionKind::Ipv4, sorted_len::<u32>(ipv4.len(), width)),
        (
            SectionKind::V4EndpointFilter,
            filter_section_len(endpoint_keys),
        ),
        (
            SectionKind::Ipv4Port,
            sorted_len::<(u32, u16)>(ports_v4.len(), width),
        ),
        (SectionKind::Ipv6, sorted_len::<u128>(ipv6.len(), width)),
        (
            SectionKind::Ipv6Port,
            sorted_len::<(u128, u16)>(ports_v6.len(), width),
        ),
        (SectionKind::CidrV4, cidr_section_len(&cidr_v4, width)),
        (SectionKind::CidrV6, cidr_section_len(&cidr_v6, width)),
        (SectionKind::Strings, strings.len()),
        (SectionKind::Sources, sources_len(source_records.len())),
        (SectionKind::Lists, lists_len(used_lists.len(), list_items)),
        (SectionKind::Patterns, patterns_len(pattern_rows.len())),
    ];
    let mut writer = SectionWriter::new(&plan);

    writer.section(SectionKind::Domains, |out| {
        write_text(out, &domain_stats, width, || domains.entries())
    });
    drop(domains);
    writer.section(SectionKind::Urls, |out| {
        write_text(out, &url_stats, width, || urls.entries())
    });
    let url_keys = urls.len();
    drop(urls);
    writer.section(SectionKind::UrlGates, |out| {
        write_filter_section(out, gates, url_keys)
    });
    writer.section(SectionKind::Tlds, |out| {
        write_text(out, &tld_stats, width, || tlds.entries())
    });
    drop(tlds);
    writer.section(SectionKind::Ipv4, |out| write_sorted(out, ipv4, width));
    writer.section(SectionKind::V4EndpointFilter, |out| {
        write_filter_section(out, endpoints, endpoint_keys)
    });
    writer.section(SectionKind::Ipv4Port, |out| {
        write_sorted(out, ports_v4, width)
    });
    writer.section(SectionKind::Ipv6, |out| write_sorted(out, ipv6, width));
    writer.section(SectionKind::Ipv6Port, |out| {
        write_sorted(out, ports_v6, width)
    });
    writer.section(SectionKind::CidrV4, |out| write_cidr(out, cidr_v4, width));
    writer.section(SectionKind::CidrV6, |out| write_cidr(out, cidr_v6, width));
    writer.section(SectionKind::Strings, |out| out.extend_from_slice(&strings));
    writer.section(SectionKind::Sources, |out| {
        write_sources(out, &source_records)
    });
    writer.section(SectionKind::Lists, |out| {
        write_lists(out, used_lists.iter().copied())
    });
    writer.section(SectionKind::Patterns, |out| {
        write_patterns(out, &pattern_rows)
    });

    Ok((writer.finish(), report))
}

fn cidr_section_len<K: CidrAddress>(blocks: &[(K, u8, u32)], width: usize) -> usize {
    let mut prefixes: Vec<u8> = blocks.iter().map(|block| block.1).collect();
    prefixes.sort_unstable();
    prefixes.dedup();
    cidr_len::<K>(prefixes.len(), blocks.len(), width)
}

/// Removes every indicator the whitelist covers: addresses, endpoints on those addresses,
/// blocks it covers whole, and domains and TLD trails at or under a whitelisted name. URL
/// trails and patterns stay, because the whitelist does not apply to them.
fn drop_whitelisted(builder: &mut Builder, whitelist: &Whitelist) {
    let counts = &mut builder.report.counts;

    let ips = builder
        .ips
        .remove_exact_where(|ip| whitelist.contains_ip(ip));
    let ports = builder.ports.remove_where(|ip| whitelist.contains_ip(ip));
    let blocks = builder
        .ips
        .remove_cidr_where(|ip, prefix| whitelist.covers_block(ip, prefix));
    let listed =
        |key: &[u8]| std::str::from_utf8(key).is_ok_and(|name| whitelist.contains_domain(name));
    let domains = builder.domains.remove_where(listed);
    let tlds = builder.tlds.remove_where(listed);

    counts.ip -= ips;
    counts.ip_port -= ports;
    counts.cidr -= blocks;
    counts.domain -= domains;
    counts.tld -= tlds;
    builder.report.whitelisted += ips + ports + blocks + domains + tlds;
}

/// The store reference of each builder value, and the indicator count of each source.
struct References {
    source_count: usize,
    /// The store list number of each builder list, or `u32::MAX` for a list no entry uses.
    list_numbers: Vec<u32>,
    /// The builder lists in use, in store order.
    used: Vec<usize>,
    /// Indicators per source.
    indicators: Vec<u32>,
    /// Bytes per stored reference: 2 when every reference fits.
    width: usize,
}

impl References {
    fn count(builder: &Builder) -> References {
        let source_count = builder.sources.list().len();
        let mut singles = vec![0u32; source_count];
        let mut per_list = vec![0u32; builder.lists.len()];
        let mut tally = |value: u32| match builder.lists.value(value) {
            Value::Single(source) => {
                if let Some(count) = singles.get_mut(source.0 as usize) {
                    *count += 1;
                }
            }
            Value::List(number, _) => {
                if let Some(count) = per_list.get_mut(number as usize) {
                    *count += 1;
                }
            }
        };
        for value in all_values(builder) {
            tally(value);
        }

        let mut indicators = singles;
        let mut list_numbers = vec![u32::MAX; per_list.len()];
        let mut used = Vec::new();
        for (number, &count) in per_list.iter().enumerate() {
            if count == 0 {
                continue;
            }
            list_numbers[number] = used.len() as u32;
            used.push(number);
            for member in builder.lists.list(number) {
                if let Some(total) = indicators.get_mut(member.0 as usize) {
                    *total += count;
                }
            }
        }

        let width = if source_count + used.len() <= usize::from(u16::MAX) + 1 {
            2
        } else {
            4
        };
        References {
            source_count,
            list_numbers,
            used,
            indicators,
            width,
        }
    }

    fn store_reference(&self, value: u32, builder_lists: &crate::source_list::SourceLists) -> u32 {
        match builder_lists.value(value) {
            Value::Single(source) => source.0,
            Value::List(number, _) => {
                let store_number = self.list_numbers.get(number as usize).copied();
                self.source_count as u32
                    + store_number.unwrap_or(u32::MAX - self.source_count as u32)
            }
        }
    }

    /// Replaces every builder value by its store reference.
    fn translate(&self, builder: &mut Builder) {
        let lists = &builder.lists;
        let translate = |value: &mut u32| *value = self.store_reference(*value, lists);
        builder.ips.values_mut().for_each(translate);
        builder.ports.values_mut().for_each(translate);
        let map = |value: u32| self.store_reference(value, lists);
        builder.domains.map_values(map);
        builder.tlds.map_values(map);
        builder.urls.map_values(map);
        builder.patterns.values_mut().for_each(translate);
    }
}

fn all_values(builder: &Builder) -> impl Iterator<Item = u32> + '_ {
    let ips = builder.ips.v4_entries().map(|(_, v)| v);
    let ips = ips.chain(builder.ips.v6_entries().map(|(_, v)| v));
    let cidrs = builder.ips.cidr_v4_entries().map(|(_, _, v)| v);
    let cidrs = cidrs.chain(builder.ips.cidr_v6_entries().map(|(_, _, v)| v));
    let ports = builder.ports.v4_entries().map(|(_, v)| v);
    let ports = ports.chain(builder.ports.v6_entries().map(|(_, v)| v));
    let texts = builder.domains.entries().map(|(_, v)| v);
    let texts = texts.chain(builder.tlds.entries().map(|(_, v)| v));
    let texts = texts.chain(builder.urls.entries().map(|(_, v)| v));
    let patterns = builder.patterns.entries().map(|(_, v)| v);
    ips.chain(cidrs).chain(ports).chain(texts).chain(patterns)
}

/// Writes sections at the offsets a plan gives, then the header.
struct SectionWriter {
    out: Vec<u8>,
    /// (kind, offset, length) in write order.
    planned: Vec<(SectionKind, usize, usize)>,
    next: usize,
}

impl SectionWriter {
    fn new(plan: &[(SectionKind, usize)]) -> SectionWriter {
        let mut offset = HEADER_LEN + plan.len() * SECTION_ENTRY_LEN;
        let mut planned = Vec::with_capacity(plan.len());
        for &(kind, len) in plan {
            offset = align_section(offset);
            planned.push((kind, offset, len));
            offset += len;
        }

        let mut out = Vec::with_capacity(offset);
        out.extend_from_slice(&MAGIC);
        put_u32(&mut out, STORE_FORMAT_VERSION);
        put_u32(&mut out, 0);
        put_u64(&mut out, offset as u64);
        put_u64(&mut out, 0);
        put_u32(&mut out, plan.len() as u32);
        put_u32(&mut out, 0);
        for &(kind, offset, len) in &planned {
            put_u32(&mut out, kind as u32);
            put_u32(&mut out, 0);
            put_u64(&mut out, offset as u64);
            put_u64(&mut out, len as u64);
        }
        SectionWriter {
            out,
            planned,
            next: 0,
        }
    }

    fn section(&mut self, kind: SectionKind, write: impl FnOnce(&mut Vec<u8>)) {
        let Some(&(planned_kind, offset, len)) = self.planned.get(self.next) else {
            debug_assert!(false, "section {kind:?} was not planned");
            return;
        };
        debug_assert_eq!(planned_kind, kind, "sections written out of plan order");
        self.out.resize(offset, 0);
        write(&mut self.out);
        debug_assert_eq!(self.out.len() - offset, len, "section {kind:?} length");
        self.next += 1;
    }

    fn finish(mut self) -> Vec<u8> {
        let sum = checksum(self.out.get(HEADER_LEN..).unwrap_or_default());
        if let Some(field) = self.out.get_mut(CHECKSUM_AT..CHECKSUM_AT + 8) {
            field.copy_from_slice(&sum.to_le_bytes());
        }
        self.out
    }
}
