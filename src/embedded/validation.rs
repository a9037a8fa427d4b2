//! Object validation with kube-apiserver's rules and messages (k8s-api-contract.md §14).

use base64::Engine;
use serde_json::Value;

use super::resources::ResourceType;
use crate::domain::credential::is_object_name;
use super::status::Cause;

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const CONFIG_KEY_MSG: &str = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";
const QUALIFIED_NAME_MSG: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

/// The most bytes of decoded data a Secret or ConfigMap may hold.
pub const MAX_SECRET_SIZE: usize = 1024 * 1024;
const MAX_ANNOTATIONS_SIZE: usize = 256 * 1024;

fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

fn is_qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter().all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(c))
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
}

/// Checks an object's name by the rule of its type.
pub fn name(rt: &ResourceType, name: &str) -> Vec<Cause> {
    let field = "metadata.name";
    match (rt.group.as_str(), rt.plural.as_str()) {
        ("", "namespaces") => {
            let mut causes = Vec::new();
            if name.len() > 63 {
                causes.push(Cause::invalid(field, name, "must be no more than 63 characters"));
            }
            if !is_dns_label(&name[..name.len().min(63)]) || name.contains('.') {
                causes.push(Cause::invalid(field, name, LABEL_MSG));
            }
            causes
        }
        ("rbac.authorization.k8s.io", _) => {
            if name == "." || name == ".." || name.contains('/') || name.contains('%') {
                vec![Cause::invalid(field, name, "may not contain '/' or '%', and may not be '.' or '..'")]
            } else {
                Vec::new()
            }
        }
        _ => {
            let mut causes = Vec::new();
            if name.len() > 253 {
                causes.push(Cause::invalid(field, name, "must be no more than 253 characters"));
            }
            if !name.split('.').all(is_dns_label) {
                causes.push(Cause::invalid(field, name, SUBDOMAIN_MSG));
            }
            causes
        }
    }
}

/// Label keys and values, and the total size of annotations.
pub fn metadata(object: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    if let Some(labels) = object["metadata"]["labels"].as_object() {
        for (key, value) in labels {
            causes.extend(qualified_key("metadata.labels", key));
            let value = value.as_str().unwrap_or_default();
            if value.len() > 63 {
                causes.push(Cause::invalid("metadata.labels", value, "must be no more than 63 characters"));
            }
            if !value.is_empty() && !is_qualified_name_part(value) {
                causes.push(Cause::invalid("metadata.labels", value, LABEL_VALUE_MSG));
            }
        }
    }
    if let Some(annotations) = object["metadata"]["annotations"].as_object() {
        let mut total = 0;
        for (key, value) in annotations {
            causes.extend(qualified_key("metadata.annotations", &key.to_lowercase()));
            total += key.len() + value.as_str().map_or(0, str::len);
        }
        if total > MAX_ANNOTATIONS_SIZE {
            causes.push(Cause::too_long("metadata.annotations", MAX_ANNOTATIONS_SIZE));
        }
    }
    causes
}

fn qualified_key(field: &str, key: &str) -> Vec<Cause> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    let mut causes = Vec::new();
    if let Some(prefix) = prefix
        && !is_object_name(prefix)
    {
        causes.push(Cause::invalid(field, key, &format!("prefix part {SUBDOMAIN_MSG}")));
    }
    if name.len() > 63 {
        causes.push(Cause::invalid(field, key, "name part must be no more than 63 characters"));
    } else if !is_qualified_name_part(name) {
        causes.push(Cause::invalid(field, key, QUALIFIED_NAME_MSG));
    }
    causes
}

/// Checks a config key (Secret and ConfigMap data keys).
pub fn config_key(field: &str, key: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    if key.len() > 253 {
        causes.push(Cause::invalid(field, key, "must be no more than 253 characters"));
    }
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || "-._".contains(c)) {
        causes.push(Cause::invalid(field, key, CONFIG_KEY_MSG));
    }
    if key == "." {
        causes.push(Cause::invalid(field, key, "must not be '.'"));
    } else if key == ".." {
        causes.push(Cause::invalid(field, key, "must not be '..'"));
    } else if key.starts_with("..") {
        causes.push(Cause::invalid(field, key, "must not start with '..'"));
    }
    causes
}

/// Decodes a Secret's `data` values; a bad value is a decode error of the whole body (400).
pub fn decode_data(object: &Value) -> Result<Vec<(String, Vec<u8>)>, String> {
    let Some(data) = object.get("data").and_then(Value::as_object) else { return Ok(Vec::new()) };
    data.iter()
        .map(|(k, v)| {
            let text = v.as_str().ok_or_else(|| format!("data[{k}]: expected a base64 string"))?;
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map(|bytes| (k.clone(), bytes))
                .map_err(|e| format!("illegal base64 data at input byte {}", base64_error_offset(&e)))
        })
        .collect()
}

fn base64_error_offset(e: &base64::DecodeError) -> usize {
    match e {
        base64::DecodeError::InvalidByte(offset, _) | base64::DecodeError::InvalidLastSymbol(offset, _) => *offset,
        _ => 0,
    }
}

/// Secret rules: key names, total size, and the keys each type requires.
pub fn secret(object: &Value, data: &[(String, Vec<u8>)]) -> Vec<Cause> {
    let mut causes = Vec::new();
    let mut total = 0;
    for (key, value) in data {
        causes.extend(config_key(&format!("data[{key}]"), key));
        total += value.len();
    }
    if total > MAX_SECRET_SIZE {
        causes.push(Cause::too_long("data", MAX_SECRET_SIZE));
    }
    let value_of = |key: &str| data.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_slice());
    match object["type"].as_str().unwrap_or("Opaque") {
        "kubernetes.io/service-account-token" => {
            if object["metadata"]["annotations"]["kubernetes.io/service-account.name"].as_str().is_none() {
                causes.push(Cause::required("metadata.annotations[kubernetes.io/service-account.name]", None));
            }
        }
        kind @ ("kubernetes.io/dockercfg" | "kubernetes.io/dockerconfigjson") => {
            let key = if kind.ends_with("json") { ".dockerconfigjson" } else { ".dockercfg" };
            let field = format!("data[{key}]");
            match value_of(key) {
                None => causes.push(Cause::required(field, None)),
                Some(bytes) => {
                    if let Err(e) = serde_json::from_slice::<serde_json::Map<String, Value>>(bytes) {
                        causes.push(Cause::invalid(field, "<secret contents redacted>", &go_json_error(bytes, &e)));
                    }
                }
            }
        }
        "kubernetes.io/basic-auth" => {
            if value_of("username").is_none() && value_of("password").is_none() {
                causes.push(Cause::required("data[username]", None));
                causes.push(Cause::required("data[password]", None));
            }
        }
        "kubernetes.io/ssh-auth" => {
            if value_of("ssh-privatekey").is_none_or(<[u8]>::is_empty) {
                causes.push(Cause::required("data[ssh-privatekey]", None));
            }
        }
        "kubernetes.io/tls" => {
            for key in ["tls.crt", "tls.key"] {
                if value_of(key).is_none() {
                    causes.push(Cause::required(format!("data[{key}]"), None));
                }
            }
        }
        _ => {}
    }
    causes
}

/// The wording Go's encoding/json uses for a bad start of a document, which kubectl users see.
fn go_json_error(bytes: &[u8], e: &serde_json::Error) -> String {
    let text = String::from_utf8_lossy(bytes);
    let trimmed = text.trim_start();
    let Some(first) = trimmed.chars().next() else { return "unexpected end of JSON input".to_string() };
    for word in ["true", "false", "null"] {
        if first == word.chars().next().unwrap_or_default() {
            let mismatch = trimmed.chars().zip(word.chars()).skip(1).find(|(got, want)| got != want);
            if let Some((got, want)) = mismatch {
                return format!("invalid character '{got}' in literal {word} (expecting '{want}')");
            }
        }
    }
    if !"{[\"-0123456789tfn".contains(first) {
        return format!("invalid character '{first}' looking for beginning of value");
    }
    e.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn config_keys_follow_kubernetes_rules() {
        assert!(config_key("data[a]", "a.b-C_d").is_empty());
        assert!(config_key("data[a b]", "a b")[0].message.starts_with("Invalid value: \"a b\": a valid config key"));
        assert!(config_key("data[..]", "..").iter().any(|c| c.message.contains("must not be '..'")));
        assert!(config_key("k", &"k".repeat(254))[0].message.contains("must be no more than 253 characters"));
    }

    #[test]
    fn secret_types_require_their_keys() {
        let basic = secret(&json!({"type": "kubernetes.io/basic-auth"}), &[]);
        assert_eq!(basic.iter().map(|c| c.field.as_str()).collect::<Vec<_>>(), ["data[username]", "data[password]"]);
        let tls = secret(&json!({"type": "kubernetes.io/tls"}), &[("tls.crt".into(), b"x".to_vec())]);
        assert_eq!(tls, vec![Cause::required("data[tls.key]", None)]);
        let docker = secret(&json!({"type": "kubernetes.io/dockerconfigjson"}), &[(".dockerconfigjson".into(), b"nope".to_vec())]);
        assert!(docker[0].message.starts_with("Invalid value: \"<secret contents redacted>\": invalid character"));
    }

    #[test]
    fn secret_size_is_limited_to_one_mebibyte() {
        let at_limit = [("a".to_string(), vec![0u8; MAX_SECRET_SIZE])];
        assert!(secret(&json!({}), &at_limit).is_empty());
        let over = [("a".to_string(), vec![0u8; MAX_SECRET_SIZE + 1])];
        assert_eq!(secret(&json!({}), &over), vec![Cause::too_long("data", MAX_SECRET_SIZE)]);
    }

    #[test]
    fn names_and_labels_are_checked() {
        let types = super::super::resources::builtin_types();
        let secrets = super::super::resources::find(&types, "", "v1", "secrets").unwrap();
        assert!(name(secrets, "good.name-1").is_empty());
        assert!(name(secrets, "Bad_Name")[0].message.contains("a lowercase RFC 1123 subdomain"));
        let bad = metadata(&json!({"metadata": {"labels": {"a": "bad value!"}}}));
        assert!(bad[0].message.contains("a valid label must be an empty string or consist of"));
    }
}
