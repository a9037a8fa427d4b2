//! Who is acting. Every service call takes one and asks Kubernetes (a SubjectAccessReview) whether
//! it may proceed. Sign-in (local accounts, bearer tokens, a trusted proxy, later OpenID Connect)
//! produces it; it never carries a credential of its own.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct Identity {
    /// The Kubernetes user name RBAC bindings refer to.
    pub user: String,
    /// The Kubernetes groups RBAC bindings refer to.
    pub groups: Vec<String>,
}

impl Identity {
    pub fn new(user: impl Into<String>, groups: &[&str]) -> Self {
        Identity { user: user.into(), groups: groups.iter().map(|g| g.to_string()).collect() }
    }

    /// Adds `system:authenticated`, which Kubernetes gives every authenticated user, so bindings to
    /// that group apply to Keyhold's users too.
    pub fn authenticated(mut self) -> Self {
        if !self.groups.iter().any(|g| g == AUTHENTICATED) {
            self.groups.push(AUTHENTICATED.into());
        }
        self
    }
}

pub const AUTHENTICATED: &str = "system:authenticated";
