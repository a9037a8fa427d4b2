//! A minimal OpenAPI v3 for kubectl. `kubectl create -f` and `apply -f` validate strictly by
//! default and first check, in `/openapi/v3`, that the server supports field validation: each
//! group/version document lists, per kind, a PATCH operation tagged with its group/version/kind and
//! a `fieldValidation` query parameter (k8s-api-contract.md §3.4).

use serde_json::{Map, Value, json};

use super::resources::ResourceType;

/// The path of a group/version's document, as `/openapi/v3` names it: `api/v1` or `apis/apps/v1`.
pub fn group_version_path(rt: &ResourceType) -> String {
    if rt.group.is_empty() { format!("api/{}", rt.version) } else { format!("apis/{}/{}", rt.group, rt.version) }
}

/// `/openapi/v3`: one entry per group/version.
pub fn index(types: &[ResourceType]) -> Value {
    let mut paths = Map::new();
    for rt in types {
        let path = group_version_path(rt);
        let url = format!("/openapi/v3/{path}?hash={}", crate_hash());
        paths.insert(path, json!({"serverRelativeURL": url}));
    }
    json!({"paths": paths})
}

/// The document of one group/version (`api/v1`, `apis/apps/v1`), or None when none is served.
pub fn document(types: &[ResourceType], path: &str) -> Option<Value> {
    let served: Vec<&ResourceType> = types.iter().filter(|rt| group_version_path(rt) == path).collect();
    if served.is_empty() {
        return None;
    }
    let mut paths = Map::new();
    for rt in served {
        let prefix = format!("/{}", group_version_path(rt));
        let item = if rt.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", rt.plural)
        } else {
            format!("{prefix}/{}/{{name}}", rt.plural)
        };
        let query = |name: &str| json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}});
        paths.insert(
            item,
            json!({"patch": {
                "x-kubernetes-group-version-kind": {"group": rt.group, "kind": rt.kind, "version": rt.version},
                "parameters": [query("dryRun"), query("fieldManager"), query("fieldValidation"), query("force")],
                "responses": {"200": {"description": "OK"}},
            }}),
        );
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.34.0"},
        "paths": paths,
        "components": {"schemas": {}},
    }))
}

/// A stable hash for the documents' URLs: they change only with Keyhold's version.
fn crate_hash() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_patch_operation_offers_field_validation() {
        let types = super::super::resources::builtin_types();
        assert!(index(&types)["paths"]["apis/apps/v1"]["serverRelativeURL"].as_str().unwrap().starts_with("/openapi/v3/apis/apps/v1"));
        let doc = document(&types, "api/v1").unwrap();
        let patch = &doc["paths"]["/api/v1/namespaces/{namespace}/secrets/{name}"]["patch"];
        assert_eq!(patch["x-kubernetes-group-version-kind"], json!({"group": "", "kind": "Secret", "version": "v1"}));
        assert!(patch["parameters"].as_array().unwrap().iter().any(|p| p["name"] == "fieldValidation"));
        assert!(document(&types, "apis/nothing/v1").is_none());
    }
}
