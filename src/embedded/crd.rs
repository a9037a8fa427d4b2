//! CustomResourceDefinitions: the types they define, their validation and the status the API
//! server gives them.

use std::sync::Arc;

use serde_json::{Value, json};

use super::resources::{CustomInfo, PrinterColumn, ResourceType};
use super::status::Cause;

/// Verbs of a custom resource.
const VERBS: &[&str] = &["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

fn strings(value: &Value) -> Vec<String> {
    value.as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect()
}

/// The types a CRD serves: one per served version.
pub fn types_of(crd: &Value) -> Vec<ResourceType> {
    let spec = &crd["spec"];
    let names = &spec["names"];
    let (Some(group), Some(plural), Some(kind)) = (spec["group"].as_str(), names["plural"].as_str(), names["kind"].as_str()) else {
        return Vec::new();
    };
    let versions = spec["versions"].as_array().into_iter().flatten().filter(|v| v["served"] == json!(true));
    versions
        .filter_map(|version| {
            let name = version["name"].as_str()?;
            let printer_columns = version["additionalPrinterColumns"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| PrinterColumn {
                    name: c["name"].as_str().unwrap_or_default().to_string(),
                    kind: c["type"].as_str().unwrap_or("string").to_string(),
                    format: c["format"].as_str().unwrap_or_default().to_string(),
                    description: c["description"].as_str().unwrap_or_default().to_string(),
                    priority: c["priority"].as_i64().unwrap_or(0),
                    json_path: c["jsonPath"].as_str().unwrap_or_default().to_string(),
                })
                .collect();
            let custom = CustomInfo {
                schema: version["schema"]["openAPIV3Schema"].clone(),
                printer_columns,
                categories: strings(&names["categories"]),
            };
            Some(ResourceType {
                group: group.to_string(),
                version: name.to_string(),
                plural: plural.to_string(),
                singular: names["singular"].as_str().map_or_else(|| kind.to_lowercase(), str::to_string),
                kind: kind.to_string(),
                namespaced: spec["scope"] != "Cluster",
                short_names: strings(&names["shortNames"]),
                verbs: VERBS.to_vec(),
                has_status: version["subresources"]["status"].is_object(),
                custom: Some(Arc::new(custom)),
            })
        })
        .collect()
}

/// The checks kube-apiserver makes of a CRD that matter to serving it.
pub fn validate(crd: &Value) -> Vec<Cause> {
    let spec = &crd["spec"];
    let mut causes = Vec::new();
    for (field, value) in [("spec.group", &spec["group"]), ("spec.names.plural", &spec["names"]["plural"]), ("spec.names.kind", &spec["names"]["kind"])] {
        if value.as_str().is_none_or(str::is_empty) {
            causes.push(Cause::required(field, None));
        }
    }
    match spec["scope"].as_str() {
        Some("Namespaced" | "Cluster") => {}
        Some(other) => causes.push(Cause::not_supported("spec.scope", other, &["Cluster", "Namespaced"])),
        None => causes.push(Cause::required("spec.scope", None)),
    }
    let versions = spec["versions"].as_array().cloned().unwrap_or_default();
    if versions.is_empty() {
        causes.push(Cause::invalid_raw("spec.versions", "null", "must have exactly one version marked as storage version"));
    } else if versions.iter().filter(|v| v["storage"] == json!(true)).count() != 1 {
        causes.push(Cause::invalid_raw("spec.versions", &Value::Array(versions.clone()).to_string(), "must have exactly one version marked as storage version"));
    }
    if let (Some(plural), Some(group), Some(name)) = (spec["names"]["plural"].as_str(), spec["group"].as_str(), crd["metadata"]["name"].as_str())
        && name != format!("{plural}.{group}")
    {
        causes.push(Cause::invalid("metadata.name", name, "must be spec.names.plural+\".\"+spec.group"));
    }
    causes
}

/// The status an accepted CRD has: its names accepted and established.
pub fn accepted_status(crd: &Value) -> Value {
    let now = super::objects::now_seconds();
    let condition = |kind: &str, reason: &str, message: &str| {
        json!({"type": kind, "status": "True", "lastTransitionTime": now, "reason": reason, "message": message})
    };
    let stored: Vec<Value> = crd["spec"]["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["storage"] == json!(true))
        .map(|v| v["name"].clone())
        .collect();
    json!({
        "acceptedNames": crd["spec"]["names"],
        "conditions": [
            condition("NamesAccepted", "NoConflicts", "no conflicts found"),
            condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ],
        "storedVersions": stored,
    })
}

/// A printer column's cell: a simple JSONPath (`.spec.a.b`, `.items[0]`) into the object.
pub fn cell(object: &Value, json_path: &str) -> Value {
    let mut current = object;
    for part in json_path.trim_start_matches('.').split('.').filter(|p| !p.is_empty()) {
        let (key, index) = match part.split_once('[') {
            Some((key, rest)) => (key, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        current = &current[key];
        if let Some(i) = index {
            current = &current[i];
        }
    }
    current.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd() -> Value {
        json!({
            "metadata": {"name": "credentials.keyhold.dev"},
            "spec": {
                "group": "keyhold.dev",
                "scope": "Namespaced",
                "names": {"plural": "credentials", "singular": "credential", "kind": "Credential", "shortNames": ["cred", "creds"]},
                "versions": [{
                    "name": "v1", "served": true, "storage": true,
                    "subresources": {"status": {}},
                    "schema": {"openAPIV3Schema": {"type": "object"}},
                    "additionalPrinterColumns": [{"name": "Type", "type": "string", "jsonPath": ".spec.type"}]
                }]
            }
        })
    }

    #[test]
    fn a_crd_defines_one_type_per_served_version() {
        let types = types_of(&crd());
        assert_eq!(types.len(), 1);
        let rt = &types[0];
        assert_eq!((rt.api_version().as_str(), rt.kind.as_str(), rt.namespaced, rt.has_status), ("keyhold.dev/v1", "Credential", true, true));
        assert_eq!(rt.short_names, ["cred", "creds"]);
        assert_eq!(rt.custom.as_ref().unwrap().printer_columns[0].json_path, ".spec.type");
        assert!(validate(&crd()).is_empty());
    }

    #[test]
    fn a_crd_must_be_named_after_its_plural_and_group() {
        let mut bad = crd();
        bad["metadata"]["name"] = json!("creds.keyhold.dev");
        assert_eq!(validate(&bad)[0].field, "metadata.name");
    }

    #[test]
    fn printer_cells_follow_simple_json_paths() {
        let object = json!({"spec": {"scope": {"level": "Project"}}, "status": {"targets": [{"state": "Ready"}]}});
        assert_eq!(cell(&object, ".spec.scope.level"), json!("Project"));
        assert_eq!(cell(&object, ".status.targets[0].state"), json!("Ready"));
        assert_eq!(cell(&object, ".spec.missing"), Value::Null);
    }
}
