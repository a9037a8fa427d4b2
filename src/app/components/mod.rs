//! Parts several pages use.

pub mod connection;
pub mod form;
pub mod modal;
pub mod values;
