//! The resource types the embedded API serves, as discovery describes them (k8s-api-contract.md §2).

use std::sync::Arc;

use serde_json::{Value, json};

/// What a CustomResourceDefinition adds to a type it defines.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomInfo {
    /// The version's `openAPIV3Schema`.
    pub schema: Value,
    pub printer_columns: Vec<PrinterColumn>,
    pub categories: Vec<String>,
}

/// One `additionalPrinterColumns` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct PrinterColumn {
    pub name: String,
    pub kind: String,
    pub format: String,
    pub description: String,
    pub priority: i64,
    pub json_path: String,
}

/// One served resource type.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceType {
    /// API group; empty for the core group.
    pub group: String,
    pub version: String,
    /// The plural name used in paths, e.g. `secrets`.
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub verbs: Vec<&'static str>,
    /// Whether `status` is a subresource: writes to the object leave it alone, and `/status`
    /// writes change nothing else.
    pub has_status: bool,
    /// Set for types defined by a CustomResourceDefinition.
    pub custom: Option<Arc<CustomInfo>>,
}

/// Verbs of a fully writable type.
const CRUD: &[&str] = &["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
/// The review kinds are answered, not stored.
const REVIEW: &[&str] = &["create"];
/// Namespaces have no deletecollection upstream.
const NAMESPACE_VERBS: &[&str] = &["create", "delete", "get", "list", "patch", "update", "watch"];

impl ResourceType {
    fn builtin(group: &str, plural: &str, kind: &str, namespaced: bool, short: &[&str], verbs: &[&'static str]) -> Self {
        ResourceType {
            group: group.to_string(),
            version: "v1".to_string(),
            plural: plural.to_string(),
            singular: kind.to_lowercase(),
            kind: kind.to_string(),
            namespaced,
            short_names: short.iter().map(|s| s.to_string()).collect(),
            verbs: verbs.to_vec(),
            has_status: false,
            custom: None,
        }
    }

    fn with_status(mut self) -> Self {
        self.has_status = true;
        self
    }

    /// `v1` for the core group, `group/version` otherwise.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.clone() } else { format!("{}/{}", self.group, self.version) }
    }

    /// `secrets` or `leases.coordination.k8s.io`: how error messages name the resource.
    pub fn group_resource(&self) -> String {
        if self.group.is_empty() { self.plural.clone() } else { format!("{}.{}", self.plural, self.group) }
    }

    /// `Secret` or `Lease.coordination.k8s.io`: how `Invalid` errors name the kind.
    pub fn qualified_kind(&self) -> String {
        if self.group.is_empty() { self.kind.clone() } else { format!("{}.{}", self.kind, self.group) }
    }

    /// The key under which objects of this type are stored.
    pub fn storage_id(&self) -> String {
        format!("{}/{}", self.group, self.plural)
    }

    /// Whether this is one of the review kinds, which are answered rather than stored.
    pub fn is_review(&self) -> bool {
        matches!(self.group.as_str(), "authorization.k8s.io" | "authentication.k8s.io")
    }

    pub fn allows(&self, verb: &str) -> bool {
        self.verbs.contains(&verb)
    }

    /// The entry of this type in an APIResourceList.
    pub fn discovery_entry(&self) -> Value {
        let mut entry = json!({
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": self.verbs,
        });
        if !self.short_names.is_empty() {
            entry["shortNames"] = json!(self.short_names);
        }
        if let Some(custom) = self.custom.as_ref().filter(|c| !c.categories.is_empty()) {
            entry["categories"] = json!(custom.categories);
        }
        entry
    }
}

/// The built-in types, in discovery order.
pub fn builtin_types() -> Vec<ResourceType> {
    use ResourceType as R;
    vec![
        R::builtin("", "namespaces", "Namespace", false, &["ns"], NAMESPACE_VERBS).with_status(),
        R::builtin("", "secrets", "Secret", true, &[], CRUD),
        R::builtin("", "configmaps", "ConfigMap", true, &["cm"], CRUD),
        R::builtin("", "pods", "Pod", true, &["po"], CRUD).with_status(),
        R::builtin("", "serviceaccounts", "ServiceAccount", true, &["sa"], CRUD),
        R::builtin("", "services", "Service", true, &["svc"], CRUD).with_status(),
        R::builtin("", "replicationcontrollers", "ReplicationController", true, &["rc"], CRUD).with_status(),
        R::builtin("", "events", "Event", true, &["ev"], CRUD),
        R::builtin("apps", "deployments", "Deployment", true, &["deploy"], CRUD).with_status(),
        R::builtin("apps", "statefulsets", "StatefulSet", true, &["sts"], CRUD).with_status(),
        R::builtin("apps", "daemonsets", "DaemonSet", true, &["ds"], CRUD).with_status(),
        R::builtin("batch", "jobs", "Job", true, &[], CRUD).with_status(),
        R::builtin("batch", "cronjobs", "CronJob", true, &["cj"], CRUD).with_status(),
        R::builtin("coordination.k8s.io", "leases", "Lease", true, &[], CRUD),
        R::builtin("networking.k8s.io", "networkpolicies", "NetworkPolicy", true, &["netpol"], CRUD),
        R::builtin("rbac.authorization.k8s.io", "roles", "Role", true, &[], CRUD),
        R::builtin("rbac.authorization.k8s.io", "rolebindings", "RoleBinding", true, &[], CRUD),
        R::builtin("rbac.authorization.k8s.io", "clusterroles", "ClusterRole", false, &[], CRUD),
        R::builtin("rbac.authorization.k8s.io", "clusterrolebindings", "ClusterRoleBinding", false, &[], CRUD),
        R::builtin("authorization.k8s.io", "subjectaccessreviews", "SubjectAccessReview", false, &[], REVIEW),
        R::builtin("authorization.k8s.io", "selfsubjectaccessreviews", "SelfSubjectAccessReview", false, &[], REVIEW),
        R::builtin("authorization.k8s.io", "localsubjectaccessreviews", "LocalSubjectAccessReview", true, &[], REVIEW),
        R::builtin("authentication.k8s.io", "tokenreviews", "TokenReview", false, &[], REVIEW),
        R::builtin("authentication.k8s.io", "selfsubjectreviews", "SelfSubjectReview", false, &[], REVIEW),
        R::builtin("apiextensions.k8s.io", "customresourcedefinitions", "CustomResourceDefinition", false, &["crd", "crds"], CRUD)
            .with_status(),
        R::builtin("apiregistration.k8s.io", "apiservices", "APIService", false, &[], CRUD).with_status(),
    ]
}

/// Finds a type by its group, version and plural name.
pub fn find<'a>(types: &'a [ResourceType], group: &str, version: &str, plural: &str) -> Option<&'a ResourceType> {
    types.iter().find(|t| t.group == group && t.version == version && t.plural == plural)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_kubernetes_conventions() {
        let types = builtin_types();
        let lease = find(&types, "coordination.k8s.io", "v1", "leases").unwrap();
        assert_eq!(lease.api_version(), "coordination.k8s.io/v1");
        assert_eq!(lease.group_resource(), "leases.coordination.k8s.io");
        assert_eq!(lease.qualified_kind(), "Lease.coordination.k8s.io");
        let secret = find(&types, "", "v1", "secrets").unwrap();
        assert_eq!((secret.api_version().as_str(), secret.group_resource().as_str()), ("v1", "secrets"));
        assert!(find(&types, "", "v1", "nothings").is_none());
    }
}
