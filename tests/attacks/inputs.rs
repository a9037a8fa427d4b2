//! (attacks on inputs: filled in by its owner)
