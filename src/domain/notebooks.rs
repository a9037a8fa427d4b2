//! "Offer to notebooks": what happened in each project namespace a credential reaches.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct Offer {
    pub namespace: String,
    pub offered: bool,
    /// Why not, when not.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct Offered {
    pub offers: Vec<Offer>,
}
