//! Attacks on Keyhold by people with only the roles the README documents (and by anyone who can
//! reach its listeners), each performed through the real binary and shown refused: nothing copied,
//! overwritten or leaked. Grouped by what is attacked; each module says which rule it holds.

#[path = "../support/mod.rs"]
mod support;

mod controller;
mod files;
mod inputs;
mod sign_in;
