//! What the server writes into objects: system metadata, defaults and managed fields
//! (k8s-api-contract.md §4).

use serde_json::{Value, json};

use super::resources::ResourceType;

/// Characters Kubernetes uses for generated name suffixes (no vowels, no look-alikes).
const NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// The current time as Kubernetes writes `creationTimestamp`: RFC 3339, UTC, whole seconds.
pub fn now_seconds() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `prefix` (cut to 58 characters) plus five random characters.
pub fn generate_name(prefix: &str) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    let prefix: String = prefix.chars().take(58).collect();
    let suffix: String = (0..5).map(|_| NAME_ALPHABET[rng.random_range(0..NAME_ALPHABET.len())] as char).collect();
    format!("{prefix}{suffix}")
}

/// Kinds whose `metadata.generation` tracks changes to their desired state.
pub fn tracks_generation(rt: &ResourceType) -> bool {
    matches!(rt.group.as_str(), "apps" | "batch" | "apiextensions.k8s.io") || rt.custom.is_some()
}

/// Whether anything but metadata and status changed: what bumps `generation`.
pub fn desired_state_differs(a: &Value, b: &Value) -> bool {
    let desired = |v: &Value| {
        let mut v = v.clone();
        if let Some(map) = v.as_object_mut() {
            map.remove("metadata");
            map.remove("status");
        }
        v
    };
    desired(a) != desired(b)
}

/// Fills the defaults the API server applies on create.
pub fn apply_defaults(rt: &ResourceType, object: &mut Value) {
    match (rt.group.as_str(), rt.plural.as_str()) {
        ("", "secrets") => {
            if object["type"].as_str().is_none_or(str::is_empty) {
                object["type"] = json!("Opaque");
            }
        }
        ("", "namespaces") => {
            let name = object["metadata"]["name"].clone();
            object["metadata"]["labels"]["kubernetes.io/metadata.name"] = name;
            if object["spec"]["finalizers"].is_null() {
                object["spec"]["finalizers"] = json!(["kubernetes"]);
            }
            object["status"] = json!({"phase": "Active"});
        }
        ("apiextensions.k8s.io", "customresourcedefinitions") => {
            object["status"] = super::crd::accepted_status(object);
        }
        ("rbac.authorization.k8s.io", "rolebindings" | "clusterrolebindings") => {
            if object["roleRef"]["apiGroup"].as_str().is_none_or(str::is_empty) {
                object["roleRef"]["apiGroup"] = json!("rbac.authorization.k8s.io");
            }
            if let Some(subjects) = object["subjects"].as_array_mut() {
                for subject in subjects {
                    let group = if subject["kind"] == "ServiceAccount" { "" } else { "rbac.authorization.k8s.io" };
                    if subject["apiGroup"].is_null() {
                        subject["apiGroup"] = json!(group);
                    }
                }
            }
        }
        _ => {}
    }
}

/// Merges a Secret's `stringData` into `data` (stringData wins) and removes it: it is write-only.
pub fn fold_string_data(object: &mut Value) {
    use base64::Engine;
    let Some(Value::Object(string_data)) = object.as_object_mut().and_then(|o| o.remove("stringData")) else { return };
    if !object["data"].is_object() {
        object["data"] = json!({});
    }
    for (key, value) in string_data {
        let text = value.as_str().unwrap_or_default();
        object["data"][key] = json!(base64::engine::general_purpose::STANDARD.encode(text));
    }
}

/// The field manager of a write: `?fieldManager=`, else the User-Agent's product name.
pub fn manager_name(field_manager: Option<&str>, user_agent: Option<&str>) -> String {
    let name = match field_manager {
        Some(m) if !m.is_empty() => m.to_string(),
        _ => user_agent.and_then(|ua| ua.split('/').next()).unwrap_or("unknown").to_string(),
    };
    name.chars().take(128).collect()
}

/// Whether two states differ in anything but bookkeeping (resourceVersion, managed-field times).
pub fn differs(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(meta) = v["metadata"].as_object_mut() {
            meta.remove("resourceVersion");
            meta.remove("managedFields");
        }
        v
    };
    strip(a) != strip(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_use_the_kubernetes_alphabet() {
        let name = generate_name("app-");
        assert_eq!(name.len(), 9);
        assert!(name[4..].bytes().all(|b| NAME_ALPHABET.contains(&b)), "{name}");
    }

    #[test]
    fn string_data_is_folded_into_data() {
        let mut secret = json!({"data": {"b": "eQ=="}, "stringData": {"b": "x", "c": "z"}});
        fold_string_data(&mut secret);
        assert_eq!(secret, json!({"data": {"b": "eA==", "c": "eg=="}}));
    }

    #[test]
    fn timestamps_have_whole_seconds() {
        let t = now_seconds();
        assert_eq!(t.len(), 20, "{t}");
        assert!(t.ends_with('Z'));
    }
}
