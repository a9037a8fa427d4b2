//! (attacks on sign_in: filled in by its owner)
