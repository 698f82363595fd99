//! Trail sources: the (info, reference) pair shared by every indicator of one file or feed.

use std::path::{Component, Path};

use crate::error::TrailError;
use crate::ip_table::FxHashMap;

/// The reference of trails from a folder named `custom`.
pub const CUSTOM_REFERENCE: &str = "(custom)";

/// The reference of all other trails.
pub const STATIC_REFERENCE: &str = "(static)";

/// Number of distinct sources a trail set can have.
pub(crate) const MAX_SOURCES: usize = 1 << 20;

/// An interned (info, reference) pair, resolved by `TrailSet::info` and
/// `TrailSet::reference`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceId(pub(crate) u32);

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Source {
    pub(crate) info: Box<str>,
    pub(crate) reference: Box<str>,
    pub(crate) custom: bool,
}

/// The sources of one trail set being built, each stored once.
#[derive(Clone, Debug, Default)]
pub(crate) struct Sources {
    list: Vec<Source>,
    index: FxHashMap<(Box<str>, Box<str>, bool), SourceId>,
}

impl Sources {
    /// Returns the id of `(info, reference, custom)`, adding it on first use.
    pub(crate) fn intern(
        &mut self,
        info: &str,
        reference: &str,
        custom: bool,
    ) -> Result<SourceId, TrailError> {
        let key = (Box::from(info), Box::from(reference), custom);
        if let Some(id) = self.index.get(&key) {
            return Ok(*id);
        }

        if self.list.len() >= MAX_SOURCES {
            return Err(TrailError::TooManySources { max: MAX_SOURCES });
        }
        let id = SourceId(self.list.len() as u32);
        self.list.push(Source {
            info: info.into(),
            reference: reference.into(),
            custom,
        });
        self.index.insert(key, id);
        Ok(id)
    }

    pub(crate) fn is_custom(&self, id: SourceId) -> bool {
        self.list
            .get(id.0 as usize)
            .is_some_and(|source| source.custom)
    }

    pub(crate) fn list(&self) -> &[Source] {
        &self.list
    }
}

/// Returns the reference text of a trail file.
pub(crate) fn file_reference(custom: bool) -> &'static str {
    if custom {
        CUSTOM_REFERENCE
    } else {
        STATIC_REFERENCE
    }
}

/// Derives the info text and custom flag of a trail file from its path below the tree root.
///
/// The info text is the file stem with underscores read as spaces, followed by the name of
/// the folder containing the file in brackets: `malware/apt_lazarus.txt` gives
/// `apt lazarus (malware)`. A file directly in the tree root gives the stem alone. The file is
/// custom when a folder on its relative path, or the tree root itself, is named `custom`.
pub(crate) fn describe_file(relative: &Path, root_is_custom: bool) -> (String, bool) {
    let stem = relative
        .file_stem()
        .map(|stem| stem.to_string_lossy())
        .unwrap_or_default();
    let stem = stem.replace('_', " ");

    let folders: Vec<String> = match relative.parent() {
        Some(parent) => parent
            .components()
            .filter_map(|component| match component {
                Component::Normal(name) => Some(name.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect(),
        None => Vec::new(),
    };

    let custom = root_is_custom || folders.iter().any(|folder| folder == "custom");
    let info = match folders.last() {
        Some(category) => format!("{stem} ({category})"),
        None => stem,
    };
    (info, custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_file_gets_bracketed_folder() {
        let (info, _) = describe_file(Path::new("malware/asyncrat.txt"), false);

        assert_eq!(info, "asyncrat (malware)");
    }

    #[test]
    fn underscores_become_spaces() {
        let (info, _) = describe_file(Path::new("malware/apt_lazarus.txt"), false);

        assert_eq!(info, "apt lazarus (malware)");
    }

    #[test]
    fn root_file_gets_stem_only() {
        let (info, _) = describe_file(Path::new("mass_scanner.txt"), false);

        assert_eq!(info, "mass scanner");
    }

    #[test]
    fn nested_file_uses_nearest_folder() {
        let (info, _) = describe_file(Path::new("feeds/malware/x_y.txt"), false);

        assert_eq!(info, "x y (malware)");
    }

    #[test]
    fn static_file_is_not_custom() {
        let (_, custom) = describe_file(Path::new("malware/asyncrat.txt"), false);

        assert!(!custom);
    }

    #[test]
    fn file_under_custom_folder_is_custom() {
        let (_, custom) = describe_file(Path::new("custom/mine.txt"), false);

        assert!(custom);
    }

    #[test]
    fn file_in_custom_root_is_custom() {
        let (_, custom) = describe_file(Path::new("mine.txt"), true);

        assert!(custom);
    }

    #[test]
    fn folder_merely_containing_custom_is_static() {
        let (_, custom) = describe_file(Path::new("customers/list.txt"), false);

        assert!(!custom);
    }

    #[test]
    fn interning_reuses_ids() {
        let mut sources = Sources::default();
        let first = sources
            .intern("asyncrat (malware)", STATIC_REFERENCE, false)
            .unwrap();

        assert_eq!(
            sources
                .intern("asyncrat (malware)", STATIC_REFERENCE, false)
                .unwrap(),
            first
        );
    }

    #[test]
    fn custom_flag_makes_distinct_source() {
        let mut sources = Sources::default();
        let stored = sources.intern("x", STATIC_REFERENCE, false).unwrap();

        assert_ne!(sources.intern("x", STATIC_REFERENCE, true).unwrap(), stored);
    }

    #[test]
    fn reference_makes_distinct_source() {
        let mut sources = Sources::default();
        let stored = sources.intern("x", "a.example", false).unwrap();

        assert_ne!(sources.intern("x", "b.example", false).unwrap(), stored);
    }
}
