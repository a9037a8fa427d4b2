//! Managed fields and server-side apply: which manager owns which field, conflicts between
//! appliers, and the fields an applier stops applying (k8s-api-contract.md §4.4, §7.5).
//!
//! Fields are leaf paths (`.data.k`); lists are atomic, as they are for every kind served here.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::resources::ResourceType;
use super::status::ApiError;

type Path = Vec<String>;

/// The leaf paths an object (or apply configuration) sets, leaving out what the server owns.
pub fn leaves(object: &Value) -> BTreeSet<Path> {
    fn walk(value: &Value, prefix: &mut Path, out: &mut BTreeSet<Path>) {
        match value {
            Value::Object(map) if !map.is_empty() => {
                for (k, v) in map {
                    prefix.push(k.clone());
                    walk(v, prefix, out);
                    prefix.pop();
                }
            }
            _ => {
                out.insert(prefix.clone());
            }
        }
    }
    let mut out = BTreeSet::new();
    for (key, value) in object.as_object().into_iter().flatten() {
        match key.as_str() {
            "apiVersion" | "kind" | "status" => {}
            "metadata" => {
                for field in ["labels", "annotations", "finalizers"] {
                    if let Some(v) = value.get(field) {
                        walk(v, &mut vec!["metadata".into(), field.into()], &mut out);
                    }
                }
            }
            _ => walk(value, &mut vec![key.clone()], &mut out),
        }
    }
    out
}

/// The FieldsV1 form of a set of paths: `{"f:data": {".": {}, "f:k": {}}}`.
fn to_fields_v1(paths: &BTreeSet<Path>) -> Value {
    let mut root = Map::new();
    for path in paths {
        let mut node = &mut root;
        for (i, part) in path.iter().enumerate() {
            let entry = node.entry(format!("f:{part}")).or_insert_with(|| json!({}));
            let map = entry.as_object_mut().expect("fields are objects");
            if i + 1 < path.len() {
                map.entry(".").or_insert_with(|| json!({}));
            }
            node = map;
        }
    }
    Value::Object(root)
}

fn from_fields_v1(fields: &Value) -> BTreeSet<Path> {
    fn walk(value: &Value, prefix: &mut Path, out: &mut BTreeSet<Path>) {
        let children: Vec<(&String, &Value)> = value.as_object().into_iter().flatten().filter(|(k, _)| k.starts_with("f:")).collect();
        if children.is_empty() {
            if !prefix.is_empty() {
                out.insert(prefix.clone());
            }
            return;
        }
        for (k, v) in children {
            prefix.push(k[2..].to_string());
            walk(v, prefix, out);
            prefix.pop();
        }
    }
    let mut out = BTreeSet::new();
    walk(fields, &mut Vec::new(), &mut out);
    out
}

fn dotted(path: &Path) -> String {
    path.iter().map(|p| format!(".{p}")).collect()
}

fn value_at<'a>(object: &'a Value, path: &Path) -> &'a Value {
    path.iter().fold(object, |v, p| &v[p.as_str()])
}

fn remove_at(object: &mut Value, path: &Path) {
    let Some((last, parents)) = path.split_last() else { return };
    let mut node = object;
    for p in parents {
        match node.get_mut(p.as_str()) {
            Some(next) => node = next,
            None => return,
        }
    }
    if let Some(map) = node.as_object_mut() {
        map.remove(last.as_str());
    }
}

struct Entry {
    manager: String,
    operation: String,
    api_version: String,
    fields: BTreeSet<Path>,
}

fn entries(object: &Value) -> Vec<Entry> {
    object["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| Entry {
            manager: e["manager"].as_str().unwrap_or_default().to_string(),
            operation: e["operation"].as_str().unwrap_or_default().to_string(),
            api_version: e["apiVersion"].as_str().unwrap_or_default().to_string(),
            fields: from_fields_v1(&e["fieldsV1"]),
        })
        .collect()
}

fn store_entries(object: &mut Value, entries: Vec<Entry>) {
    let now = super::objects::now_seconds();
    let list: Vec<Value> = entries
        .into_iter()
        .filter(|e| !e.fields.is_empty())
        .map(|e| {
            json!({"manager": e.manager, "operation": e.operation, "apiVersion": e.api_version, "time": now, "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(&e.fields)})
        })
        .collect();
    object["metadata"]["managedFields"] = Value::Array(list);
}

/// Records a create or update by `manager`: it owns the fields it set or changed, which other
/// managers no longer own.
pub fn record_update(rt: &ResourceType, previous: Option<&Value>, next: &mut Value, manager: &str) {
    let now = leaves(next);
    let changed: BTreeSet<Path> = match previous {
        None => now,
        Some(previous) => {
            let before = leaves(previous);
            now.iter().filter(|p| value_at(previous, p) != value_at(next, p)).cloned().chain(before.difference(&now).cloned()).collect()
        }
    };
    let mut list = previous.map(entries).unwrap_or_default();
    for entry in &mut list {
        entry.fields.retain(|p| !changed.contains(p));
    }
    let live = leaves(next);
    match list.iter_mut().find(|e| e.manager == manager && e.operation == "Update") {
        Some(entry) => entry.fields.extend(changed.into_iter().filter(|p| live.contains(p))),
        None => list.push(Entry { manager: manager.into(), operation: "Update".into(), api_version: rt.api_version(), fields: changed.into_iter().filter(|p| live.contains(p)).collect() }),
    }
    store_entries(next, list);
}

/// Records the creation of an object by an apply: the applier owns every field it set.
pub fn record_apply_create(rt: &ResourceType, object: &mut Value, manager: &str) {
    let fields = leaves(object);
    store_entries(object, vec![Entry { manager: manager.into(), operation: "Apply".into(), api_version: rt.api_version(), fields }]);
}

/// Applies `config` for `manager` onto `current`: conflicts with other managers are refused
/// unless `force`; fields the manager applied before and no longer does are removed when no one
/// else owns them.
pub fn apply(rt: &ResourceType, current: &Value, config: &Value, manager: &str, force: bool) -> Result<Value, ApiError> {
    let applied = leaves(config);
    let mut list = entries(current);
    let conflicts: Vec<(String, String)> = list
        .iter()
        .filter(|e| e.manager != manager)
        .flat_map(|e| {
            let who = if e.operation == "Apply" { format!("{:?}", e.manager) } else { format!("{:?} using {}", e.manager, e.api_version) };
            e.fields.iter().filter(|p| applied.contains(*p) && value_at(current, p) != value_at(config, p)).map(move |p| (who.clone(), dotted(p)))
        })
        .collect();
    if !conflicts.is_empty() && !force {
        return Err(conflict_error(rt, current, &conflicts));
    }
    let previously: BTreeSet<Path> = list.iter().filter(|e| e.manager == manager && e.operation == "Apply").flat_map(|e| e.fields.clone()).collect();
    for entry in &mut list {
        if entry.manager != manager {
            // Forced: the applier takes the conflicting fields over.
            entry.fields.retain(|p| !(applied.contains(p) && value_at(current, p) != value_at(config, p)));
        }
    }
    let mut next = current.clone();
    json_patch::merge(&mut next, &strip_nulls(config));
    for stale in previously.difference(&applied) {
        if !list.iter().any(|e| e.manager != manager && e.fields.contains(stale)) {
            remove_at(&mut next, stale);
        }
    }
    list.retain(|e| !(e.manager == manager && e.operation == "Apply"));
    list.push(Entry { manager: manager.into(), operation: "Apply".into(), api_version: rt.api_version(), fields: applied });
    store_entries(&mut next, list);
    Ok(next)
}

/// An apply configuration's explicit nulls are values to set, not deletions as in a merge patch;
/// dropping them keeps the merge from deleting fields.
fn strip_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(map.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), strip_nulls(v))).collect()),
        other => other.clone(),
    }
}

fn conflict_error(rt: &ResourceType, current: &Value, conflicts: &[(String, String)]) -> ApiError {
    let name = current["metadata"]["name"].as_str().unwrap_or_default();
    let message = match conflicts {
        [(who, field)] => format!("Apply failed with 1 conflict: conflict with {who}: {field}"),
        many => {
            let fields: Vec<String> = many.iter().map(|(who, field)| format!("conflict with {who}: {field}")).collect();
            format!("Apply failed with {} conflicts: {}", many.len(), fields.join("\n"))
        }
    };
    let causes: Vec<Value> = conflicts.iter().map(|(who, field)| json!({"reason": "FieldManagerConflict", "message": format!("conflict with {who}"), "field": field})).collect();
    let mut err = ApiError::conflict(rt, name, "").with_message(message);
    if let Some(details) = err.details.as_mut() {
        details["causes"] = Value::Array(causes);
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> ResourceType {
        super::super::resources::builtin_types().into_iter().find(|t| t.plural == "secrets").unwrap()
    }

    #[test]
    fn fields_round_trip_through_fields_v1() {
        let object = json!({"kind": "Secret", "metadata": {"name": "x", "labels": {"a": "b"}}, "data": {"k": "dg==", "j": "dg=="}, "type": "Opaque"});
        let paths = leaves(&object);
        assert_eq!(from_fields_v1(&to_fields_v1(&paths)), paths);
        assert_eq!(to_fields_v1(&paths)["f:data"], json!({".": {}, "f:j": {}, "f:k": {}}));
    }

    #[test]
    fn a_second_applier_conflicts_until_it_forces() {
        let rt = secrets();
        let empty = json!({"metadata": {"name": "s"}});
        let a = apply(&rt, &empty, &json!({"data": {"k": "YQ=="}}), "a", false).unwrap();
        let err = apply(&rt, &a, &json!({"data": {"k": "Yg=="}}), "b", false).unwrap_err();
        assert_eq!(err.message, "Apply failed with 1 conflict: conflict with \"a\": .data.k");
        assert_eq!(err.details.as_ref().unwrap()["causes"][0]["reason"], "FieldManagerConflict");
        let forced = apply(&rt, &a, &json!({"data": {"k": "Yg=="}}), "b", true).unwrap();
        assert_eq!(forced["data"]["k"], "Yg==");
        // The same value is shared ownership, not a conflict.
        assert!(apply(&rt, &a, &json!({"data": {"k": "YQ=="}}), "c", false).is_ok());
    }

    #[test]
    fn fields_no_longer_applied_are_removed() {
        let rt = secrets();
        let empty = json!({"metadata": {"name": "s"}});
        let first = apply(&rt, &empty, &json!({"data": {"k": "YQ==", "j": "YQ=="}}), "a", false).unwrap();
        let second = apply(&rt, &first, &json!({"data": {"k": "YQ=="}}), "a", false).unwrap();
        assert_eq!(second["data"], json!({"k": "YQ=="}));
    }

    #[test]
    fn updates_take_ownership_of_what_they_change() {
        let rt = secrets();
        let mut created = json!({"metadata": {"name": "s"}, "data": {"k": "YQ=="}});
        record_update(&rt, None, &mut created, "kubectl-create");
        let mut labelled = created.clone();
        labelled["metadata"]["labels"] = json!({"x": "y"});
        record_update(&rt, Some(&created), &mut labelled, "kubectl-label");
        let managers: Vec<_> = labelled["metadata"]["managedFields"].as_array().unwrap().iter().map(|e| e["manager"].as_str().unwrap().to_string()).collect();
        assert_eq!(managers, ["kubectl-create", "kubectl-label"]);
        let err = apply(&rt, &labelled, &json!({"data": {"k": "Yg=="}}), "mine", false).unwrap_err();
        assert_eq!(err.message, "Apply failed with 1 conflict: conflict with \"kubectl-create\" using v1: .data.k");
    }
}
