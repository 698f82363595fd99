//! The compiled trail store: one binary file holding every table of a trail set, which the
//! sensor maps read-only and looks up in place.
//!
//! `FORMAT.md` in the crate root describes the layout. The writer ([`writer`]) turns a
//! finished builder into store bytes. The view ([`view`]) checks the bytes once, when a set is
//! built from them, and afterwards reads them with bounds-checked accessors only.

pub(crate) mod bytes;
pub(crate) mod cidr;
pub(crate) mod error;
pub(crate) mod file;
pub(crate) mod filter;
pub(crate) mod header;
pub(crate) mod layout;
pub(crate) mod patterns;
pub(crate) mod section;
pub(crate) mod sorted;
pub(crate) mod sources;
pub(crate) mod text;
pub(crate) mod view;
pub(crate) mod writer;

use std::fmt;

use memmap2::Mmap;

/// The bytes of a store: owned, or a read-only mapping of a store file.
pub(crate) enum StoreBytes {
    Owned(Vec<u8>),
    Mapped(Mmap),
}

impl StoreBytes {
    #[inline]
    pub(crate) fn as_slice(&self) -> &[u8] {
        match self {
            StoreBytes::Owned(bytes) => bytes,
            StoreBytes::Mapped(map) => map,
        }
    }
}

impl fmt::Debug for StoreBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            StoreBytes::Owned(_) => "owned",
            StoreBytes::Mapped(_) => "mapped",
        };
        write!(f, "StoreBytes({kind}, {} bytes)", self.as_slice().len())
    }
}
