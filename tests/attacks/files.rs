//! (attacks on files: filled in by its owner)
