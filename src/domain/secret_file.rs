//! "Create from file": a Secret as `kubectl create secret … --dry-run=client -o json` (or `-o
//! yaml`) prints it, read into the values of a new credential. Runs in the browser, so the file's
//! values go to the server only with the wizard's request. Messages say where in the file the
//! problem is (`data`, the n-th key), never what the file holds: a key, a kind or a type may be a
//! value pasted in the wrong place.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::base64;
use super::credential::{CredentialType, FieldError};
use super::new_credential::SecretValues;

/// What a Secret file holds, as the wizard needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretFile {
    /// `metadata.name`, to suggest as the credential's name.
    pub name: String,
    /// The Secret's `type` as written (`Opaque` when it has none).
    pub secret_type: String,
    pub values: SecretValues,
}

impl SecretFile {
    pub fn credential_type(&self) -> CredentialType {
        self.values.credential_type()
    }
}

fn problem(message: impl Into<String>) -> FieldError {
    FieldError::new("file", message)
}

/// Reads a Secret printed by kubectl as JSON or YAML.
pub fn read_secret_file(text: &str) -> Result<SecretFile, FieldError> {
    let document = match text.trim_start().starts_with('{') {
        true => serde_json::from_str::<Value>(text).map_err(|_| problem("This is not valid JSON"))?,
        false => yaml_document(text).ok_or_else(|| problem("This is neither JSON nor YAML as kubectl prints it"))?,
    };
    let kind = document.get("kind").and_then(Value::as_str).unwrap_or("Secret");
    if kind != "Secret" {
        return Err(problem("This is not a Secret (its kind is something else)"));
    }
    let name = document.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_string();
    let secret_type = document.get("type").and_then(Value::as_str).unwrap_or("Opaque").to_string();
    let mut data = BTreeMap::new();
    for (index, (key, value)) in document.get("data").and_then(Value::as_object).into_iter().flatten().enumerate() {
        let which = index + 1;
        let bytes = value.as_str().and_then(base64::decode).ok_or_else(|| problem(format!("The value of key {which} under data is not base64")))?;
        let text = String::from_utf8(bytes).map_err(|_| problem(format!("The value of key {which} under data is not text")))?;
        data.insert(key.clone(), text);
    }
    for (key, value) in document.get("stringData").and_then(Value::as_object).into_iter().flatten() {
        data.insert(key.clone(), value.as_str().unwrap_or_default().to_string());
    }
    if data.is_empty() {
        return Err(problem("The Secret holds no data"));
    }
    let values = values_of(&secret_type, data)?;
    Ok(SecretFile { name, secret_type, values })
}

/// The credential values a Secret's data makes, by its type.
pub fn values_of(secret_type: &str, mut data: BTreeMap<String, String>) -> Result<SecretValues, FieldError> {
    // The Secret an NGC API key credential makes (its login is for nvcr.io): its key is all it
    // takes. A login for another registry is read as a Docker registry credential instead.
    let logs_in_to_ngc = |config: &str| serde_json::from_str::<Value>(config).ok().is_some_and(|c| c.pointer("/auths/nvcr.io").is_some());
    if secret_type == "kubernetes.io/dockerconfigjson"
        && data.get(".dockerconfigjson").is_some_and(|config| logs_in_to_ngc(config))
        && let Some(api_key) = data.remove("NGC_API_KEY")
    {
        return Ok(SecretValues::NgcApiKey { api_key });
    }
    let mut take = |key: &str| data.remove(key).unwrap_or_default();
    match secret_type {
        "kubernetes.io/dockerconfigjson" => docker_login(&take(".dockerconfigjson")),
        "kubernetes.io/basic-auth" => Ok(SecretValues::Password { username: take("username"), password: take("password") }),
        "kubernetes.io/tls" => Ok(SecretValues::Tls { certificate: take("tls.crt"), private_key: take("tls.key") }),
        "Opaque" if data.len() == 2 && data.contains_key("AWS_ACCESS_KEY_ID") && data.contains_key("AWS_SECRET_ACCESS_KEY") => {
            let mut take = |key: &str| data.remove(key).unwrap_or_default();
            Ok(SecretValues::AccessKey { access_key_id: take("AWS_ACCESS_KEY_ID"), secret_access_key: take("AWS_SECRET_ACCESS_KEY") })
        }
        "Opaque" => Ok(SecretValues::Generic { entries: data.into_iter().collect() }),
        _ => Err(problem("Only Secrets of type Opaque, kubernetes.io/dockerconfigjson, kubernetes.io/basic-auth and kubernetes.io/tls can be made into a credential here")),
    }
}

/// The first registry login of a `.dockerconfigjson`.
fn docker_login(config: &str) -> Result<SecretValues, FieldError> {
    let unreadable = || problem("The .dockerconfigjson holds no registry login");
    let config: Value = serde_json::from_str(config).map_err(|_| unreadable())?;
    let (registry, login) = config.get("auths").and_then(Value::as_object).and_then(|auths| auths.iter().next()).ok_or_else(unreadable)?;
    let field = |name: &str| login.get(name).and_then(Value::as_str).map(str::to_string);
    let (username, password) = match (field("username"), field("password")) {
        (Some(username), Some(password)) => (username, password),
        // kubectl always writes `auth`; some tools write only that.
        _ => {
            let auth = field("auth").and_then(|a| base64::decode(&a)).and_then(|a| String::from_utf8(a).ok()).ok_or_else(unreadable)?;
            let (username, password) = auth.split_once(':').ok_or_else(unreadable)?;
            (username.to_string(), password.to_string())
        }
    };
    Ok(SecretValues::DockerRegistry { registry: registry.clone(), username, password })
}

/// The YAML kubectl prints for one object: nested maps by indentation, plain, quoted and literal
/// (`|`) scalars. Enough for a Secret; anything else (lists, anchors) is refused with `None`.
fn yaml_document(text: &str) -> Option<Value> {
    let mut root = Map::new();
    // The keys of the maps the next line may belong to, with the indentation of each.
    let mut open: Vec<(usize, String)> = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let content = line.trim();
        if content.is_empty() || content.starts_with('#') || content == "---" {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let (key, rest) = content.split_once(':')?;
        if key.starts_with('-') || !(rest.is_empty() || rest.starts_with(' ')) {
            return None;
        }
        while open.last().is_some_and(|(i, _)| *i >= indent) {
            open.pop();
        }
        let mut map = &mut root;
        for (_, k) in &open {
            map = map.get_mut(k)?.as_object_mut()?;
        }
        let key = unquote(key.trim())?;
        let value = match rest.trim() {
            "" => {
                open.push((indent, key.clone()));
                Value::Object(Map::new())
            }
            block @ ("|" | "|-") => {
                let mut lines_of_block = Vec::new();
                while let Some(next) = lines.next_if(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > indent) {
                    lines_of_block.push(next);
                }
                let margin = lines_of_block.iter().filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min().unwrap_or(0);
                let mut joined = lines_of_block.iter().map(|l| l.get(margin..).unwrap_or_default()).collect::<Vec<_>>().join("\n");
                if block == "|" {
                    joined.push('\n');
                }
                Value::String(joined)
            }
            "null" | "~" => Value::Null,
            scalar => Value::String(unquote(scalar)?),
        };
        map.insert(key, value);
    }
    Some(Value::Object(root))
}

fn unquote(scalar: &str) -> Option<String> {
    if scalar.starts_with('"') {
        serde_json::from_str(scalar).ok()
    } else if let Some(inner) = scalar.strip_prefix('\'') {
        Some(inner.strip_suffix('\'')?.replace("''", "'"))
    } else if scalar.starts_with(['[', '{', '&', '*', '!', '>']) {
        None
    } else {
        Some(scalar.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // As `kubectl create secret docker-registry ghcr --docker-server=ghcr.io --docker-username=bot
    // --docker-password=s3cret --dry-run=client -o json` prints it.
    const DOCKER_JSON: &str = r#"{
    "kind": "Secret",
    "apiVersion": "v1",
    "metadata": {
        "name": "ghcr",
        "creationTimestamp": null
    },
    "type": "kubernetes.io/dockerconfigjson",
    "data": {
        ".dockerconfigjson": "eyJhdXRocyI6eyJnaGNyLmlvIjp7InVzZXJuYW1lIjoiYm90IiwicGFzc3dvcmQiOiJzM2NyZXQiLCJhdXRoIjoiWW05ME9uTXpZM0psZEE9PSJ9fX0="
    }
}"#;

    // As `kubectl create secret generic tokens --from-literal=API_TOKEN=abc --from-literal=
    // WEBHOOK=x:y --dry-run=client -o yaml` prints it.
    const GENERIC_YAML: &str = "apiVersion: v1\ndata:\n  API_TOKEN: YWJj\n  WEBHOOK: eDp5\nkind: Secret\nmetadata:\n  creationTimestamp: null\n  name: tokens\n";

    #[test]
    fn a_docker_registry_secret_from_json() {
        let file = read_secret_file(DOCKER_JSON).unwrap();
        assert_eq!((file.name.as_str(), file.secret_type.as_str()), ("ghcr", "kubernetes.io/dockerconfigjson"));
        assert_eq!(file.values, SecretValues::DockerRegistry { registry: "ghcr.io".into(), username: "bot".into(), password: "s3cret".into() });
    }

    #[test]
    fn a_generic_secret_from_yaml() {
        let file = read_secret_file(GENERIC_YAML).unwrap();
        assert_eq!((file.name.as_str(), file.secret_type.as_str()), ("tokens", "Opaque"));
        assert_eq!(file.values, SecretValues::Generic { entries: vec![("API_TOKEN".into(), "abc".into()), ("WEBHOOK".into(), "x:y".into())] });
    }

    #[test]
    fn access_keys_basic_auth_and_string_data_are_recognised() {
        let access = "kind: Secret\ndata:\n  AWS_ACCESS_KEY_ID: QUtJQQ==\n  AWS_SECRET_ACCESS_KEY: c2VjcmV0\n";
        assert_eq!(read_secret_file(access).unwrap().credential_type(), CredentialType::AccessKey);
        let basic = "kind: Secret\ntype: kubernetes.io/basic-auth\nmetadata:\n  name: 'db'\nstringData:\n  username: \"ada\"\n  password: |\n    two\n    lines\n";
        let file = read_secret_file(basic).unwrap();
        assert_eq!(file.name, "db");
        assert_eq!(file.values, SecretValues::Password { username: "ada".into(), password: "two\nlines\n".into() });
    }

    #[test]
    fn what_cannot_be_read_is_named_without_its_values() {
        let message = |text: &str| read_secret_file(text).unwrap_err().message;
        assert_eq!(message("{ not json"), "This is not valid JSON");
        assert_eq!(message("kind: ConfigMap\ndata:\n  a: b\n"), "This is not a Secret (its kind is something else)");
        assert_eq!(message("kind: Secret\ndata:\n  A: YQ==\n  TOKEN: not-base64-canary!\n"), "The value of key 2 under data is not base64");
        assert_eq!(message("kind: Secret\nmetadata:\n  name: empty\n"), "The Secret holds no data");
        assert_eq!(message("items:\n- a\n"), "This is neither JSON nor YAML as kubectl prints it");
        assert_eq!(read_secret_file("kind: Secret\ntype: kubernetes.io/tls\ndata:\n  tls.crt: YQ==\n  tls.key: Yg==\n").unwrap().credential_type(), CredentialType::Tls);
        assert!(message("kind: Secret\ntype: kubernetes.io/ssh-auth\ndata:\n  ssh-privatekey: YQ==\n").starts_with("Only Secrets of type Opaque"));
    }

    /// Whatever field of the file holds a pasted value, the message does not repeat it.
    #[test]
    fn no_message_repeats_the_file() {
        const CANARY: &str = "S3cr3tCanary";
        for text in [
            format!("kind: {CANARY}\n"),
            format!("{{\"kind\": \"{CANARY}\"}}"),
            format!("kind: Secret\ndata:\n  {CANARY}: not-base64!\n"),
            format!("kind: Secret\ndata:\n  {CANARY}: //79\n"),
            format!("kind: Secret\ntype: {CANARY}\ndata:\n  a: YQ==\n"),
            format!("kind: Secret\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: {}\n", base64::encode(CANARY.as_bytes())),
            format!("{{ {CANARY}"),
            format!("{CANARY}\n- {CANARY}\n"),
        ] {
            let message = read_secret_file(&text).unwrap_err().to_string();
            assert!(!message.contains(CANARY), "{message}");
        }
    }
}
