//! Member clusters (issue 20): clusters besides the one Keyhold runs in, registered by an
//! administrator, and what Keyhold last found of each. Pure and shared.

use serde::{Deserialize, Serialize};

use super::credential::FieldError;

/// On a Secret of the system namespace: the member cluster whose kubeconfig it holds.
pub const CLUSTER_LABEL: &str = "keyhold.dev/cluster";
/// The Secret key holding the member's kubeconfig (one context, credentials inline).
pub const KUBECONFIG_KEY: &str = "kubeconfig";

/// The Scope and Cluster columns' words for an Account-scope credential.
pub const ALL_CLUSTERS: &str = "All clusters";

/// The Secret a member's kubeconfig is kept in.
pub fn secret_name(cluster: &str) -> String {
    format!("keyhold-cluster-{cluster}")
}

/// A member's name: a DNS label (it names a Secret and shows in every scope path).
pub fn check_cluster_name(name: &str) -> Result<(), FieldError> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok { Ok(()) } else { Err(FieldError::new("name", "Use up to 40 lower-case letters, digits and '-', starting and ending with a letter or digit")) }
}

/// One cluster as the Clusters page shows it. Never a credential of its kubeconfig.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct MemberCluster {
    pub name: String,
    /// The API server's URL; "this cluster" for the one Keyhold runs in.
    pub server: String,
    /// Whether the last probe reached it.
    pub reachable: bool,
    /// RFC 3339: since when it has been reachable (or not); empty before the first probe.
    pub since: String,
    /// Its Kubernetes version (`v1.34.0`), as last seen.
    pub version: String,
    /// Its projects (namespaces labelled as projects), as last seen.
    pub projects: Vec<String>,
    /// Why it was not reached (a timeout, a refused connection, a refused login).
    #[serde(default)]
    pub message: String,
    /// The cluster Keyhold runs in.
    #[serde(default)]
    pub home: bool,
}

/// Which member cluster a credential's deletion should stop waiting for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct LetGo {
    pub cluster: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names_are_dns_labels() {
        for good in ["east", "gpu-cluster-2"] {
            assert!(check_cluster_name(good).is_ok(), "{good}");
        }
        for bad in ["", "East", "-a", "a-", "a_b", "a.b", &"x".repeat(41)] {
            assert_eq!(check_cluster_name(bad).unwrap_err().field, "name", "{bad}");
        }
        assert_eq!(secret_name("east"), "keyhold-cluster-east");
    }
}
