//! The `meta.k8s.io/v1` Table form that `kubectl get` asks for (k8s-api-contract.md §15).

use serde_json::{Value, json};

use super::resources::ResourceType;
use super::status::ApiError;

/// What a Table row carries besides its cells (`?includeObject=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncludeObject {
    None,
    Metadata,
    Object,
}

impl IncludeObject {
    pub fn parse(value: Option<&str>) -> Result<Self, ApiError> {
        match value {
            None | Some("") | Some("Metadata") => Ok(IncludeObject::Metadata),
            Some("None") => Ok(IncludeObject::None),
            Some("Object") => Ok(IncludeObject::Object),
            Some(other) => Err(ApiError::bad_request(format!("unrecognized includeObject value: {other:?}"))),
        }
    }
}

/// The form a client asks for in its Accept header: the objects, a Table (`kubectl get`), or only
/// their metadata (`PartialObjectMetadata`, what metadata-only watches ask for).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Object,
    Table(IncludeObject),
    Metadata,
}

impl View {
    pub fn from_request(accept: Option<&str>, include_object: Option<&str>) -> Result<Self, ApiError> {
        let asks = |what: &str| accept.is_some_and(|a| a.split(',').next().is_some_and(|first| first.contains(what) && first.contains("g=meta.k8s.io")));
        if asks("as=Table") {
            Ok(View::Table(IncludeObject::parse(include_object)?))
        } else if asks("as=PartialObjectMetadata") {
            Ok(View::Metadata)
        } else {
            Ok(View::Object)
        }
    }
}

/// An object reduced to its metadata.
pub fn metadata_only(object: &Value) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": object["metadata"]})
}

/// How a column computes its cell.
enum Cell {
    Computed(fn(&Value) -> Value),
    /// A CRD printer column's JSONPath.
    Path(String),
}

/// One column: its definition and how to compute its cell.
struct Column {
    name: String,
    kind: String,
    format: String,
    description: String,
    priority: i64,
    cell: Cell,
}

impl Column {
    fn new(name: &str, kind: &str, description: &str, cell: fn(&Value) -> Value) -> Self {
        let format = if name == "Name" { "name" } else { "" };
        Column { name: name.into(), kind: kind.into(), format: format.into(), description: description.into(), priority: 0, cell: Cell::Computed(cell) }
    }

    fn cell(&self, object: &Value) -> Value {
        match &self.cell {
            Cell::Computed(f) => f(object),
            // The server shows `date` columns as ages, as kube-apiserver's table convertor does.
            Cell::Path(path) if self.kind == "date" => age_of(&super::crd::cell(object, path)),
            Cell::Path(path) => super::crd::cell(object, path),
        }
    }
}

fn name_cell(o: &Value) -> Value {
    o["metadata"]["name"].clone()
}

fn age_cell(o: &Value) -> Value {
    age_of(&o["metadata"]["creationTimestamp"])
}

fn age_of(timestamp: &Value) -> Value {
    let age = timestamp
        .as_str()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map(|t| human_duration(jiff::Timestamp::now().as_second() - t.as_second()))
        .unwrap_or_else(|| "<unknown>".to_string());
    json!(age)
}

fn count(v: &Value) -> Value {
    json!(v.as_object().map_or(0, serde_json::Map::len))
}

fn columns(rt: &ResourceType) -> Vec<Column> {
    let name = Column::new("Name", "string", "Name must be unique within a namespace.", name_cell);
    let age = || Column::new("Age", "string", "CreationTimestamp is a timestamp representing the server time when this object was created.", age_cell);
    if let Some(custom) = &rt.custom {
        // A CRD with printer columns shows exactly those after the name; without, the name and age.
        if custom.printer_columns.is_empty() {
            return vec![name, age()];
        }
        let mut all = vec![name];
        all.extend(custom.printer_columns.iter().map(|c| Column {
            name: c.name.clone(),
            kind: c.kind.clone(),
            format: c.format.clone(),
            description: c.description.clone(),
            priority: c.priority,
            cell: Cell::Path(c.json_path.clone()),
        }));
        return all;
    }
    let extra: Vec<Column> = match (rt.group.as_str(), rt.plural.as_str()) {
        ("", "secrets") => vec![
            Column::new("Type", "string", "The type of the secret", |o| o["type"].clone()),
            Column::new("Data", "integer", "The number of keys in the secret", |o| count(&o["data"])),
        ],
        ("", "configmaps") => vec![Column::new("Data", "integer", "The number of keys", |o| count(&o["data"]))],
        ("apiextensions.k8s.io", "customresourcedefinitions") => {
            return vec![name, Column::new("Created At", "date", "", |o| o["metadata"]["creationTimestamp"].clone())];
        }
        ("", "namespaces") => vec![Column::new("Status", "string", "The status of the namespace", |o| o["status"]["phase"].clone())],
        ("", "pods") => vec![Column::new("Status", "string", "The aggregate status of the containers in this pod.", |o| {
            json!(o["status"]["phase"].as_str().unwrap_or("Pending"))
        })],
        _ => Vec::new(),
    };
    let mut all = vec![name];
    all.extend(extra);
    all.push(age());
    all
}

fn row(object: &Value, columns: &[Column], include: IncludeObject) -> Value {
    let cells: Vec<Value> = columns.iter().map(|c| c.cell(object)).collect();
    let mut row = json!({"cells": cells});
    match include {
        IncludeObject::None => {}
        IncludeObject::Metadata => {
            row["object"] = json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": object["metadata"]});
        }
        IncludeObject::Object => row["object"] = object.clone(),
    }
    row
}

/// A Table of `items`; `with_columns` is false for the watch events after the first, as upstream.
pub fn table(rt: &ResourceType, items: &[&Value], metadata: Value, include: IncludeObject, with_columns: bool) -> Value {
    let columns = columns(rt);
    let definitions: Vec<Value> = if with_columns {
        columns
            .iter()
            .map(|c| json!({"name": c.name, "type": c.kind, "format": c.format, "description": c.description, "priority": c.priority}))
            .collect()
    } else {
        Vec::new()
    };
    let rows: Vec<Value> = items.iter().map(|o| row(o, &columns, include)).collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata, "columnDefinitions": definitions, "rows": rows})
}

/// `5m30s`, or `5m` when the smaller unit is zero.
fn two_units(big: i64, big_unit: &str, small: i64, small_unit: &str) -> String {
    if small == 0 { format!("{big}{big_unit}") } else { format!("{big}{big_unit}{small}{small_unit}") }
}

/// Kubernetes' HumanDuration: `45s`, `5m30s`, `3h10m`, `3d4h`, `2y`.
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".into();
    }
    let seconds = seconds.max(0);
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        return two_units(minutes, "m", seconds % 60, "s");
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        return two_units(hours, "h", minutes % 60, "m");
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        return two_units(hours / 24, "d", hours % 24, "h");
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        return two_units(hours / 24 / 365, "y", (hours / 24) % 365, "d");
    }
    format!("{}y", hours / 24 / 365)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_kubectl() {
        let cases = [(45, "45s"), (119, "119s"), (120, "2m"), (330, "5m30s"), (11400, "3h10m"), (32400, "9h"), (273600, "3d4h"), (1036800, "12d"), (63072000, "2y")];
        for (seconds, text) in cases {
            assert_eq!(human_duration(seconds), text, "{seconds}");
        }
    }

    #[test]
    fn secrets_have_type_and_data_columns() {
        let types = super::super::resources::builtin_types();
        let secrets = super::super::resources::find(&types, "", "v1", "secrets").unwrap();
        let secret = json!({"metadata": {"name": "s1", "creationTimestamp": "2020-01-01T00:00:00Z"}, "type": "Opaque", "data": {"a": "YQ=="}});
        let t = table(secrets, &[&secret], json!({}), IncludeObject::Metadata, true);
        let names: Vec<_> = t["columnDefinitions"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Name", "Type", "Data", "Age"]);
        assert_eq!(t["rows"][0]["cells"], json!(["s1", "Opaque", 1, human_duration(jiff::Timestamp::now().as_second() - 1577836800)]));
        assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    }
}
