//! Parts several pages use.

pub mod form;
pub mod modal;
pub mod values;
