//! The RBAC authorizer: the same engine answers every request and every SubjectAccessReview
//! (k8s-api-contract.md §16.2).

use serde_json::{Value, json};

use super::store::Store;

/// Members of this group may do everything, before RBAC is consulted.
pub const MASTERS: &str = "system:masters";

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user: String,
    pub groups: Vec<String>,
}

/// What is being asked: a resource request or a non-resource path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes {
    pub verb: String,
    pub group: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
    pub name: String,
    /// Set for non-resource requests (`/version`, `/apis`).
    pub path: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub reason: String,
}

fn strings(value: &Value) -> impl Iterator<Item = &str> {
    value.as_array().into_iter().flatten().filter_map(Value::as_str)
}

fn has(list: &Value, wanted: &str) -> bool {
    strings(list).any(|s| s == "*" || s == wanted)
}

fn rule_allows(rule: &Value, attrs: &Attributes) -> bool {
    if !has(&rule["verbs"], &attrs.verb) {
        return false;
    }
    if let Some(path) = &attrs.path {
        return strings(&rule["nonResourceURLs"]).any(|u| u == "*" || u == path || u.strip_suffix('*').is_some_and(|p| path.starts_with(p)));
    }
    if !has(&rule["apiGroups"], &attrs.group) {
        return false;
    }
    let combined = if attrs.subresource.is_empty() { attrs.resource.clone() } else { format!("{}/{}", attrs.resource, attrs.subresource) };
    let resource_matches = strings(&rule["resources"]).any(|r| {
        r == "*" || r == combined || (!attrs.subresource.is_empty() && r.strip_prefix("*/").is_some_and(|sub| sub == attrs.subresource))
    });
    if !resource_matches {
        return false;
    }
    let names: Vec<&str> = strings(&rule["resourceNames"]).collect();
    names.is_empty() || (!attrs.name.is_empty() && names.contains(&attrs.name.as_str()))
}

/// How a subject of a binding names who it admits, for the reason text.
fn subject_matches(subject: &Value, who: &Identity, binding_namespace: &str) -> Option<String> {
    let name = subject["name"].as_str().unwrap_or_default();
    match subject["kind"].as_str() {
        Some("User") if who.user == name => Some(format!("User {name:?}")),
        Some("Group") if who.groups.iter().any(|g| g == name) => Some(format!("Group {name:?}")),
        Some("ServiceAccount") => {
            let namespace = subject["namespace"].as_str().filter(|n| !n.is_empty()).unwrap_or(binding_namespace);
            (who.user == format!("system:serviceaccount:{namespace}:{name}")).then(|| format!("ServiceAccount \"{name}/{namespace}\""))
        }
        _ => None,
    }
}

/// What a decision reads of a binding: read for every request, so the rest of it (managedFields)
/// is skipped rather than parsed.
#[derive(serde::Deserialize)]
struct Binding {
    metadata: Named,
    #[serde(default)]
    subjects: Vec<Value>,
    #[serde(rename = "roleRef", default)]
    role_ref: Named,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Named {
    name: String,
    namespace: String,
    kind: String,
}

/// Decides whether `who` may do `attrs`.
pub fn authorize(store: &Store, who: &Identity, attrs: &Attributes) -> Decision {
    if who.groups.iter().any(|g| g == MASTERS) {
        return Decision { allowed: true, reason: String::new() };
    }
    let role = |kind: &str, namespace: &str, name: &str| -> Option<Value> {
        let (resource, namespace) = if kind == "ClusterRole" { ("clusterroles", "") } else { ("roles", namespace) };
        store.get(&super::store::ObjectKey::new(format!("rbac.authorization.k8s.io/{resource}"), namespace, name))
    };
    let (_, cluster_bindings) = store.list("rbac.authorization.k8s.io/clusterrolebindings", None, None);
    let namespaced = if attrs.namespace.is_empty() || attrs.path.is_some() {
        Vec::new()
    } else {
        store.list("rbac.authorization.k8s.io/rolebindings", Some(&attrs.namespace), None).1
    };
    for binding in cluster_bindings.iter().chain(namespaced.iter()).filter_map(|b| b.read::<Binding>()) {
        let binding_namespace = binding.metadata.namespace.as_str();
        let Some(subject) = binding.subjects.iter().find_map(|s| subject_matches(s, who, binding_namespace)) else {
            continue;
        };
        let (role_kind, role_name) = (binding.role_ref.kind.as_str(), binding.role_ref.name.as_str());
        let Some(role) = role(role_kind, binding_namespace, role_name) else { continue };
        if role["rules"].as_array().into_iter().flatten().any(|rule| rule_allows(rule, attrs)) {
            let binding_name = binding.metadata.name.as_str();
            let binding = if binding_namespace.is_empty() {
                format!("ClusterRoleBinding {binding_name:?}")
            } else {
                format!("RoleBinding \"{binding_name}/{binding_namespace}\"")
            };
            return Decision { allowed: true, reason: format!("RBAC: allowed by {binding} of {role_kind} {role_name:?} to {subject}") };
        }
    }
    Decision { allowed: false, reason: String::new() }
}

/// Kubernetes' wording of a denial, after `<resource> [<name>] is forbidden: `.
pub fn denial(who: &Identity, attrs: &Attributes) -> String {
    if let Some(path) = &attrs.path {
        return format!("User {:?} cannot {} path {path:?}", who.user, attrs.verb);
    }
    let resource = if attrs.subresource.is_empty() { attrs.resource.clone() } else { format!("{}/{}", attrs.resource, attrs.subresource) };
    let scope = if attrs.namespace.is_empty() { "at the cluster scope".to_string() } else { format!("in the namespace {:?}", attrs.namespace) };
    format!("User {:?} cannot {} resource {resource:?} in API group {:?} {scope}", who.user, attrs.verb, attrs.group)
}

/// The roles and bindings every cluster starts with (kube-apiserver's bootstrap policy, in short).
pub fn bootstrap_objects() -> Vec<(&'static str, Value)> {
    let cluster_role = |name: &str, rules: Value| json!({"metadata": {"name": name}, "rules": rules});
    let binding = |name: &str, role: &str, group: &str| {
        json!({
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": group}],
        })
    };
    vec![
        (
            "clusterroles",
            cluster_role("cluster-admin", json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, {"nonResourceURLs": ["*"], "verbs": ["*"]}])),
        ),
        (
            "clusterroles",
            cluster_role(
                "system:discovery",
                json!([{"nonResourceURLs": ["/livez", "/readyz", "/healthz", "/version", "/version/", "/openapi", "/openapi/*", "/api", "/api/*", "/apis", "/apis/*"], "verbs": ["get"]}]),
            ),
        ),
        (
            "clusterroles",
            cluster_role(
                "system:basic-user",
                json!([
                    {"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"], "verbs": ["create"]},
                    {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"], "verbs": ["create"]}
                ]),
            ),
        ),
        ("clusterrolebindings", binding("cluster-admin", "cluster-admin", MASTERS)),
        ("clusterrolebindings", binding("system:discovery", "system:discovery", "system:authenticated")),
        ("clusterrolebindings", binding("system:basic-user", "system:basic-user", "system:authenticated")),
    ]
}
