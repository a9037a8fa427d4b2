//! "Use in a workload": how a credential's Secret can reach a workload's pods, and the exact
//! change (a JSON Patch) that makes it reach them. Pure: the server reads the workload and applies
//! the patch; the page shows it first.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::credential::{CredentialType, FieldError};

/// A way a credential's Secret reaches a workload's pods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub enum Use {
    /// `imagePullSecrets`: the kubelet logs in to pull.
    Pulls,
    /// One environment variable per key (`secretKeyRef`).
    Env,
    /// Every key as an environment variable (`envFrom`).
    EnvFrom,
    /// Every key as a file under `path`.
    Volume { path: String },
}

impl Use {
    /// The short name a command line writes (`--as`, `--snippet`).
    pub fn name(&self) -> &'static str {
        match self {
            Use::Pulls => "pull",
            Use::Env => "env",
            Use::EnvFrom => "envFrom",
            Use::Volume { .. } => "volume",
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Use::Pulls => "Pulling images (imagePullSecrets)",
            Use::Env => "Environment variables (secretKeyRef)",
            Use::EnvFrom => "Every key as an environment variable (envFrom)",
            Use::Volume { .. } => "Files in a volume",
        }
    }
}

/// A type's uses, the way it is used most first.
pub fn uses(credential_type: CredentialType) -> Vec<Use> {
    use CredentialType::*;
    let volume = || Use::Volume { path: String::new() };
    match credential_type {
        DockerRegistry => vec![Use::Pulls],
        NgcApiKey => vec![Use::Pulls, Use::Env],
        AccessKey => vec![Use::EnvFrom, Use::Env],
        Password => vec![Use::Env, Use::EnvFrom],
        Generic => vec![Use::Env, Use::EnvFrom, volume()],
        Tls => vec![volume()],
    }
}

/// The workload kinds whose pod template Keyhold changes. A Job's template cannot change once it
/// is made, so Jobs are not among them (their CronJob is).
pub const KINDS: [&str; 4] = ["Deployment", "StatefulSet", "DaemonSet", "CronJob"];

/// A workload a credential may be attached to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct Workload {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// Its containers' names, in order.
    pub containers: Vec<String>,
}

impl Workload {
    pub fn label(&self) -> String {
        format!("{}/{}/{}", self.kind, self.namespace, self.name)
    }
}

/// What a person asks: this use of the credential in this container of this workload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct Attachment {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// The container, by name; the first when empty.
    #[serde(default)]
    pub container: String,
    #[serde(rename = "use")]
    pub how: Use,
    /// The workload's resourceVersion when the change was shown: if it has changed since, the
    /// change is refused (409) rather than made to something the person did not see.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
}

/// Which credential should take another's place in every workload that uses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct ReplaceWith {
    pub namespace: String,
    pub name: String,
}

/// One workload of a replacement: its change, or why it cannot be changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct Repointing {
    /// `Kind/namespace/name`.
    pub workload: String,
    /// The JSON Patch, pretty-printed; empty when it cannot be changed.
    pub patch: String,
    /// Why not, when not.
    pub reason: String,
}

/// What replacing a credential changes (or changed), and whether the old one was then deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct Replacement {
    pub changes: Vec<Repointing>,
    /// Workloads in namespaces the person cannot see, which keep using the old one.
    pub unseen: usize,
    pub deleted: bool,
}

/// The change, and whether it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Attached {
    /// The JSON Patch, pretty-printed, exactly as sent (or to be sent).
    pub patch: String,
    pub applied: bool,
    /// The workload's resourceVersion the patch was made for.
    pub resource_version: String,
}

/// Where the pod template's spec sits in a workload kind, as a JSON Pointer.
pub fn pod_spec_pointer(kind: &str) -> Option<&'static str> {
    match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" => Some("/spec/template/spec"),
        "CronJob" => Some("/spec/jobTemplate/spec/template/spec"),
        _ => None,
    }
}

/// Where the Secret references of a kind sit (a PodDefault's spec holds them at its top level),
/// for the kinds whose references can be changed: a Pod's and a Job's cannot.
pub fn references_pointer(kind: &str) -> Option<&'static str> {
    if kind == "PodDefault" { Some("/spec") } else { pod_spec_pointer(kind) }
}

/// The JSON Patch that makes `object` (of `kind`, as read) use the Secret `new` wherever it uses
/// `old`, guarded by its resourceVersion; `None` when it does not use `old`.
pub fn repoint(kind: &str, object: &Value, old: &str, new: &str) -> Result<Option<Vec<Value>>, FieldError> {
    let base = references_pointer(kind).ok_or_else(|| FieldError::new("replacement", format!("A {kind}'s pods cannot change; it must end before the credential can go")))?;
    let Some(spec) = object.pointer(base) else { return Ok(None) };
    let mut ops = vec![json!({"op": "test", "path": "/metadata/resourceVersion", "value": object["metadata"]["resourceVersion"]})];
    ops.extend(super::usage::references(spec).into_iter().filter(|(_, name)| name == old).map(|(at, _)| json!({"op": "replace", "path": format!("{base}{at}"), "value": new})));
    Ok((ops.len() > 1).then_some(ops))
}

/// An environment variable name for a key: upper case, other characters as `_`.
pub fn env_name(key: &str) -> String {
    let name: String = key.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    let name = name.trim_start_matches('_').to_string();
    if name.starts_with(|c: char| c.is_ascii_digit()) || name.is_empty() { format!("KEY_{name}") } else { name }
}

/// The keys that can be environment variables: a `.dockerconfigjson` is for pulls only.
pub fn env_keys(keys: &[String]) -> impl Iterator<Item = &String> {
    keys.iter().filter(|k| !k.starts_with('.'))
}

/// The JSON Patch that makes `object` (a workload of `kind`, as read, with its resourceVersion)
/// use `secret` (holding `keys`) as `how` asks, in `container`. It first tests the
/// resourceVersion, so a workload changed meanwhile is refused rather than overwritten; what is
/// there already is never changed, only added to.
pub fn patch(kind: &str, object: &Value, secret: &str, keys: &[String], container: &str, how: &Use) -> Result<Vec<Value>, FieldError> {
    let base = pod_spec_pointer(kind).ok_or_else(|| FieldError::new("kind", "Pick a Deployment, StatefulSet, DaemonSet or CronJob"))?;
    let spec = object.pointer(base).ok_or_else(|| FieldError::new("name", "This workload has no pod template"))?;
    let containers = spec["containers"].as_array().map(Vec::as_slice).unwrap_or_default();
    let index = if container.is_empty() { Some(0).filter(|_| !containers.is_empty()) } else { containers.iter().position(|c| c["name"] == container) };
    let index = index.ok_or_else(|| FieldError::new("container", "Pick one of the workload's containers"))?;
    let here = &containers[index];
    let at = format!("{base}/containers/{index}");
    let version = object["metadata"]["resourceVersion"].clone();
    let mut ops = vec![json!({"op": "test", "path": "/metadata/resourceVersion", "value": version})];
    // Appends to a list, making it when the workload has none.
    let mut append = |list: &Value, path: String, item: Value| {
        if list.is_array() {
            ops.push(json!({"op": "add", "path": format!("{path}/-"), "value": item}));
        } else {
            ops.push(json!({"op": "add", "path": path, "value": [item]}));
        }
    };
    let names = |list: &Value, field: &str| -> Vec<String> { list.as_array().into_iter().flatten().filter_map(|v| v[field].as_str().map(str::to_string)).collect() };
    let already = || FieldError::new("use", "The workload already uses this credential that way");
    match how {
        Use::Pulls => {
            if names(&spec["imagePullSecrets"], "name").iter().any(|n| n == secret) {
                return Err(already());
            }
            append(&spec["imagePullSecrets"], format!("{base}/imagePullSecrets"), json!({"name": secret}));
        }
        Use::EnvFrom => {
            if here["envFrom"].as_array().into_iter().flatten().any(|f| f["secretRef"]["name"] == secret) {
                return Err(already());
            }
            append(&here["envFrom"], format!("{at}/envFrom"), json!({"secretRef": {"name": secret}}));
        }
        Use::Env => {
            let taken = names(&here["env"], "name");
            let wanted: Vec<&String> = env_keys(keys).collect();
            if wanted.is_empty() {
                return Err(FieldError::new("use", "This credential has no keys to give as environment variables yet"));
            }
            if let Some(clash) = wanted.iter().map(|k| env_name(k)).find(|n| taken.contains(n)) {
                return Err(FieldError::new("use", format!("The container already sets {clash}")));
            }
            let mut names: Vec<String> = wanted.iter().map(|k| env_name(k)).collect();
            names.sort();
            if names.windows(2).any(|w| w[0] == w[1]) {
                return Err(FieldError::new("use", "Two keys would become the same variable; use envFrom or files instead"));
            }
            // One add per variable, after the list exists.
            let mut list = here["env"].clone();
            for key in wanted {
                let item = json!({"name": env_name(key), "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}});
                append(&list, format!("{at}/env"), item);
                list = json!([]);
            }
        }
        Use::Volume { path } => {
            let path = path.trim();
            if !path.starts_with('/') || path.contains(':') || path.contains("..") {
                return Err(FieldError::new("path", "Give an absolute path, such as /var/run/secrets/credential"));
            }
            if names(&here["volumeMounts"], "mountPath").iter().any(|p| p == path) {
                return Err(FieldError::new("path", "Something is mounted there already"));
            }
            // A volume name is a DNS label: no dots, at most 63 characters.
            let volume: String = format!("keyhold-{}", secret.replace('.', "-")).chars().take(63).collect();
            let volume = volume.trim_end_matches('-').to_string();
            if names(&spec["volumes"], "name").contains(&volume) {
                return Err(already());
            }
            append(&spec["volumes"], format!("{base}/volumes"), json!({"name": volume, "secret": {"secretName": secret}}));
            append(&here["volumeMounts"], format!("{at}/volumeMounts"), json!({"name": volume, "mountPath": path, "readOnly": true}));
        }
    }
    Ok(ops)
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    fn deployment(container: Value, spec: Value) -> Value {
        let mut pod = spec;
        pod["containers"] = json!([{"name": "sidecar"}, container]);
        json!({"metadata": {"resourceVersion": "42"}, "spec": {"template": {"spec": pod}}})
    }

    fn applied(object: &Value, ops: Vec<Value>) -> Value {
        let mut patched = object.clone();
        json_patch::patch(&mut patched, &serde_json::from_value::<json_patch::Patch>(Value::Array(ops)).unwrap()).unwrap();
        patched
    }

    #[test]
    fn each_use_adds_without_touching_what_is_there() {
        let keys = ["AWS_ACCESS_KEY_ID".to_string(), "AWS_SECRET_ACCESS_KEY".to_string()];
        let object = deployment(json!({"name": "main", "envFrom": [{"configMapRef": {"name": "settings"}}]}), json!({}));
        let ops = patch("Deployment", &object, "s3", &keys, "main", &Use::EnvFrom).unwrap();
        assert_eq!(ops[0], json!({"op": "test", "path": "/metadata/resourceVersion", "value": "42"}));
        let patched = applied(&object, ops);
        assert_eq!(patched.pointer("/spec/template/spec/containers/1/envFrom").unwrap(), &json!([{"configMapRef": {"name": "settings"}}, {"secretRef": {"name": "s3"}}]));
        let patched = applied(&object, patch("Deployment", &object, "s3", &keys, "main", &Use::Env).unwrap());
        let names: Vec<&str> = patched.pointer("/spec/template/spec/containers/1/env").unwrap().as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]);
        let patched = applied(&object, patch("Deployment", &object, "s3", &keys, "", &Use::Volume { path: "/etc/s3".into() }).unwrap());
        assert_eq!(patched.pointer("/spec/template/spec/containers/0/volumeMounts/0/mountPath").unwrap(), "/etc/s3");
        assert_eq!(patched.pointer("/spec/template/spec/volumes/0/secret/secretName").unwrap(), "s3");
        // A workload changed since it was read is refused, not overwritten.
        let mut newer = object.clone();
        newer["metadata"]["resourceVersion"] = json!("43");
        let ops = patch("Deployment", &object, "s3", &keys, "main", &Use::EnvFrom).unwrap();
        assert!(json_patch::patch(&mut newer, &serde_json::from_value::<json_patch::Patch>(Value::Array(ops)).unwrap()).is_err());
    }

    #[test]
    fn repointing_replaces_every_reference_and_nothing_else() {
        let object = deployment(
            json!({"name": "main", "env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "old", "key": "k"}}}], "envFrom": [{"secretRef": {"name": "other"}}]}),
            json!({"imagePullSecrets": [{"name": "old"}], "volumes": [{"name": "v", "secret": {"secretName": "old"}}]}),
        );
        let patched = applied(&object, repoint("Deployment", &object, "old", "new").unwrap().unwrap());
        let spec = patched.pointer("/spec/template/spec").unwrap();
        assert_eq!(crate::domain::usage::secret_names(spec).into_iter().collect::<Vec<_>>(), ["new", "other"]);
        assert_eq!(repoint("Deployment", &object, "unused", "new").unwrap(), None);
        assert_eq!(repoint("Job", &object, "old", "new").unwrap_err().field, "replacement");
    }

    #[test]
    fn what_kubernetes_would_refuse_or_ignore_is_refused_here() {
        let object = deployment(json!({"name": "main", "env": [{"name": "TOKEN", "value": "x"}]}), json!({"imagePullSecrets": [{"name": "reg"}]}));
        assert_eq!(patch("Deployment", &object, "reg", &[], "main", &Use::Pulls).unwrap_err().field, "use");
        assert_eq!(patch("Deployment", &object, "gen", &["TOKEN".into()], "main", &Use::Env).unwrap_err().field, "use");
        assert_eq!(patch("Deployment", &object, "gen", &[".dockerconfigjson".into()], "main", &Use::Env).unwrap_err().field, "use");
        assert_eq!(patch("Deployment", &object, "gen", &[], "main", &Use::Volume { path: "relative".into() }).unwrap_err().field, "path");
        assert_eq!(patch("Job", &object, "gen", &[], "main", &Use::EnvFrom).unwrap_err().field, "kind");
        assert_eq!(patch("Deployment", &object, "gen", &[], "nope", &Use::EnvFrom).unwrap_err().field, "container");
    }
}
