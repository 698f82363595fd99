//! The builder's source lists: every source of an indicator, in precedence order.
//!
//! While loading, each table entry contains a value naming either one source or an interned
//! list of several. Custom sources come first, in the order they listed the indicator, and
//! the other sources follow in the same order, so the first member is the primary source
//! that lookups report. Lists are interned because few distinct combinations exist: most
//! duplicates are the same pair of files overlapping many times.

use crate::ip_table::FxHashMap;
use crate::source::Sources;
use crate::SourceId;

/// Set in a value that names a list; the other bits are the list number.
const LIST_FLAG: u32 = 1 << 31;

/// The interned lists of a set being built.
#[derive(Debug, Default)]
pub(crate) struct SourceLists {
    lists: Vec<Box<[SourceId]>>,
    index: FxHashMap<Box<[SourceId]>, u32>,
    /// Memo of `add`: (stored value, added source) to the resulting value.
    added: FxHashMap<(u32, SourceId), u32>,
}

/// The sources a builder value names.
pub(crate) enum Value<'a> {
    Single(SourceId),
    List(u32, &'a [SourceId]),
}

impl SourceLists {
    /// Returns the value for a source alone.
    pub(crate) fn single(source: SourceId) -> u32 {
        source.0
    }

    /// Returns the value for the sources of `stored` plus `source`, which listed the
    /// indicator again. A source already present changes nothing.
    pub(crate) fn add(&mut self, stored: u32, source: SourceId, sources: &Sources) -> u32 {
        if let Some(&value) = self.added.get(&(stored, source)) {
            return value;
        }

        let mut members: Vec<SourceId> = match self.value(stored) {
            Value::Single(first) => vec![first],
            Value::List(_, members) => members.to_vec(),
        };
        let value = if members.contains(&source) {
            stored
        } else {
            let position = match sources.is_custom(source) {
                true => members
                    .iter()
                    .position(|member| !sources.is_custom(*member))
                    .unwrap_or(members.len()),
                false => members.len(),
            };
            members.insert(position, source);
            self.intern(members)
        };

        self.added.insert((stored, source), value);
        value
    }

    fn intern(&mut self, members: Vec<SourceId>) -> u32 {
        let members = members.into_boxed_slice();
        if let Some(&number) = self.index.get(&members) {
            return number | LIST_FLAG;
        }
        let number = self.lists.len() as u32;
        self.lists.push(members.clone());
        self.index.insert(members, number);
        number | LIST_FLAG
    }

    /// Resolves a value. A list number this builder did not issue reads as an empty list.
    pub(crate) fn value(&self, value: u32) -> Value<'_> {
        if value & LIST_FLAG == 0 {
            return Value::Single(SourceId(value));
        }
        let number = value & !LIST_FLAG;
        let members = self.lists.get(number as usize).map_or(&[][..], |list| list);
        Value::List(number, members)
    }

    /// Returns the number of lists, including those no entry names any more.
    pub(crate) fn len(&self) -> usize {
        self.lists.len()
    }

    pub(crate) fn list(&self, number: usize) -> &[SourceId] {
        self.lists.get(number).map_or(&[], |list| list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::STATIC_REFERENCE;

    fn members(lists: &SourceLists, value: u32) -> Vec<SourceId> {
        match lists.value(value) {
            Value::Single(source) => vec![source],
            Value::List(_, members) => members.to_vec(),
        }
    }

    fn sources(custom: &[bool]) -> (Sources, Vec<SourceId>) {
        let mut sources = Sources::default();
        let ids = custom
            .iter()
            .enumerate()
            .map(|(i, &custom)| {
                sources
                    .intern(&i.to_string(), STATIC_REFERENCE, custom)
                    .unwrap()
            })
            .collect();
        (sources, ids)
    }

    #[test]
    fn later_static_source_is_appended() {
        let (sources, ids) = sources(&[false, false]);
        let mut lists = SourceLists::default();
        let value = lists.add(SourceLists::single(ids[0]), ids[1], &sources);

        assert_eq!(members(&lists, value), [ids[0], ids[1]]);
    }

    #[test]
    fn custom_source_goes_first() {
        let (sources, ids) = sources(&[false, false, true]);
        let mut lists = SourceLists::default();
        let value = lists.add(SourceLists::single(ids[0]), ids[1], &sources);
        let value = lists.add(value, ids[2], &sources);

        assert_eq!(members(&lists, value), [ids[2], ids[0], ids[1]]);
    }

    #[test]
    fn second_custom_follows_first_custom() {
        let (sources, ids) = sources(&[true, false, true]);
        let mut lists = SourceLists::default();
        let value = lists.add(SourceLists::single(ids[0]), ids[1], &sources);
        let value = lists.add(value, ids[2], &sources);

        assert_eq!(members(&lists, value), [ids[0], ids[2], ids[1]]);
    }

    #[test]
    fn repeated_source_changes_nothing() {
        let (sources, ids) = sources(&[false]);
        let mut lists = SourceLists::default();
        let single = SourceLists::single(ids[0]);

        assert_eq!(lists.add(single, ids[0], &sources), single);
        assert_eq!(lists.len(), 0);
    }

    #[test]
    fn same_combination_shares_list() {
        let (sources, ids) = sources(&[false, false]);
        let mut lists = SourceLists::default();
        let first = lists.add(SourceLists::single(ids[0]), ids[1], &sources);
        lists.added.clear();
        let second = lists.add(SourceLists::single(ids[0]), ids[1], &sources);

        assert_eq!(first, second);
        assert_eq!(lists.len(), 1);
    }
}
