//! Placeholder: the feed catalogue and parsers.
