//! Validation of custom resources against their CRD's structural schema: types, required fields,
//! enums and lengths, with unknown fields pruned as the API server prunes them.

use serde_json::{Map, Value};

use super::status::Cause;

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn display(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

/// What checking an object against its schema found.
#[derive(Debug, Default)]
pub struct Outcome {
    pub causes: Vec<Cause>,
    /// Paths of the fields the schema does not declare, which were pruned.
    pub unknown_fields: Vec<String>,
}

/// Checks `value` against `schema`, pruning fields the schema does not declare.
pub fn validate(value: &mut Value, schema: &Value) -> Outcome {
    let mut outcome = Outcome::default();
    check(value, schema, "", &mut outcome);
    outcome
}

fn check(value: &mut Value, schema: &Value, path: &str, outcome: &mut Outcome) {
    let causes = &mut outcome.causes;
    if value.is_null() {
        if schema["nullable"] != Value::Bool(true) && schema.get("type").is_some() {
            causes.push(Cause::invalid_raw(path, "null", &format!("{path} in body must be of type {}: \"null\"", schema["type"].as_str().unwrap_or("object"))));
        }
        return;
    }
    let int_or_string = schema["x-kubernetes-int-or-string"] == Value::Bool(true);
    if let Some(expected) = schema["type"].as_str()
        && !int_or_string
    {
        let actual = type_name(value);
        let fits = actual == expected || (expected == "number" && actual == "integer");
        if !fits {
            let shown = display(value);
            causes.push(Cause::invalid(path, &shown, &format!("{path} in body must be of type {expected}: \"{actual}\"")));
            return;
        }
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        let names: Vec<String> = allowed.iter().map(display).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        causes.push(Cause::not_supported(path, &display(value), &names));
    }
    if let (Some(max), Some(text)) = (schema["maxLength"].as_u64(), value.as_str())
        && text.chars().count() as u64 > max
    {
        causes.push(Cause { reason: "FieldValueTooLong", field: path.to_string(), message: format!("Too long: may not be more than {max} bytes") });
    }
    match value {
        Value::Object(map) => check_object(map, schema, path, outcome),
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    check(item, item_schema, &format!("{path}[{i}]"), outcome);
                }
            }
        }
        _ => {}
    }
}

fn check_object(map: &mut Map<String, Value>, schema: &Value, path: &str, outcome: &mut Outcome) {
    for required in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        if !map.contains_key(required) {
            outcome.causes.push(Cause::required(join(path, required), None));
        }
    }
    let preserve = schema["x-kubernetes-preserve-unknown-fields"] == Value::Bool(true);
    let properties = schema["properties"].as_object();
    let additional = schema.get("additionalProperties").filter(|a| a.is_object());
    // metadata, apiVersion and kind of the root are the server's, not the schema's.
    let is_root = path.is_empty();
    map.retain(|key, _| {
        let known = is_root && matches!(key.as_str(), "apiVersion" | "kind" | "metadata")
            || preserve
            || additional.is_some()
            || properties.is_some_and(|p| p.contains_key(key))
            || (properties.is_none() && schema.get("type").is_none());
        if !known {
            outcome.unknown_fields.push(join(path, key));
        }
        known
    });
    for (key, child) in map.iter_mut() {
        if is_root && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
            continue;
        }
        let child_schema = properties.and_then(|p| p.get(key)).or(additional);
        if let Some(child_schema) = child_schema {
            check(child, child_schema, &join(path, key), outcome);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "required": ["displayName"],
                    "properties": {
                        "displayName": {"type": "string", "maxLength": 10},
                        "replicas": {"type": "integer"},
                        "level": {"type": "string", "enum": ["Project", "Cluster"]},
                        "note": {"type": "string", "nullable": true},
                        "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                    }
                }
            }
        })
    }

    #[test]
    fn valid_objects_pass_and_unknown_fields_are_pruned() {
        let mut object = json!({"apiVersion": "x/v1", "kind": "X", "metadata": {"name": "a"}, "spec": {"displayName": "ok", "bogus": 1, "note": null, "extra": {"free": true}}, "junk": 1});
        let outcome = validate(&mut object, &schema());
        assert!(outcome.causes.is_empty(), "{:?}", outcome.causes);
        assert_eq!(outcome.unknown_fields, ["junk", "spec.bogus"]);
        assert_eq!(object, json!({"apiVersion": "x/v1", "kind": "X", "metadata": {"name": "a"}, "spec": {"displayName": "ok", "note": null, "extra": {"free": true}}}));
    }

    #[test]
    fn wrong_types_missing_fields_and_bad_enums_are_named() {
        let mut object = json!({"spec": {"replicas": "three", "level": "Galaxy"}});
        let causes = validate(&mut object, &schema()).causes;
        let fields: Vec<_> = causes.iter().map(|c| c.field.as_str()).collect();
        // Required fields first, then the others in the order the document gives them.
        assert_eq!(fields, ["spec.displayName", "spec.replicas", "spec.level"]);
        assert_eq!(causes[1].message, "Invalid value: \"three\": spec.replicas in body must be of type integer: \"string\"");
        assert!(causes[2].message.starts_with("Unsupported value: \"Galaxy\""));
    }
}
