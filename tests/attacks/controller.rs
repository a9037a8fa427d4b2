//! (attacks on controller: filled in by its owner)
