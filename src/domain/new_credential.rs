//! What a person submits to create a credential with a new secret, its validation, and the Secret
//! data it becomes (DESIGN.md §1, "Credential types and their Secrets"). The browser runs the same
//! validation as the server, field by field.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use super::credential::{CredentialType, FieldError, MAX_SECRET_BYTES, Scope, check_description, check_display_name, check_key};

/// The values of a new secret, by type. Write-only: they travel from the browser to the server and
/// on to the Kubernetes API, never back; `Debug` shows key names only, so a log line cannot leak one.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all_fields = "camelCase")]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub enum SecretValues {
    DockerRegistry { registry: String, username: String, password: String },
    AccessKey { access_key_id: String, secret_access_key: String },
    Password { username: String, password: String },
    Generic { entries: Vec<(String, String)> },
    #[serde(rename = "TLS")]
    Tls { certificate: String, private_key: String },
    NgcApiKey { api_key: String },
}

/// NVIDIA NGC's registry, and the user name it takes with an API key as the password.
pub const NGC_REGISTRY: &str = "nvcr.io";
const NGC_USER: &str = "$oauthtoken";

impl std::fmt::Debug for SecretValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretValues").field("type", &self.credential_type()).field("keys", &self.data().keys().collect::<Vec<_>>()).finish()
    }
}

impl SecretValues {
    pub fn credential_type(&self) -> CredentialType {
        match self {
            SecretValues::DockerRegistry { .. } => CredentialType::DockerRegistry,
            SecretValues::AccessKey { .. } => CredentialType::AccessKey,
            SecretValues::Password { .. } => CredentialType::Password,
            SecretValues::Generic { .. } => CredentialType::Generic,
            SecretValues::Tls { .. } => CredentialType::Tls,
            SecretValues::NgcApiKey { .. } => CredentialType::NgcApiKey,
        }
    }

    /// The registry server the values log in to, if any: not secret, the credential shows it.
    pub fn registry(&self) -> Option<&str> {
        match self {
            SecretValues::DockerRegistry { registry, .. } => Some(registry.trim()),
            SecretValues::NgcApiKey { .. } => Some(NGC_REGISTRY),
            _ => None,
        }
    }

    /// The fields a type's values have, as the API names them, and whether each is a secret; a
    /// generic secret's fields are its own keys.
    pub fn fields(credential_type: CredentialType) -> &'static [(&'static str, bool)] {
        match credential_type {
            CredentialType::DockerRegistry => &[("registry", false), ("username", false), ("password", true)],
            CredentialType::AccessKey => &[("accessKeyId", false), ("secretAccessKey", true)],
            CredentialType::Password => &[("username", false), ("password", true)],
            CredentialType::Generic => &[],
            CredentialType::Tls => &[("certificate", false), ("privateKey", true)],
            CredentialType::NgcApiKey => &[("apiKey", true)],
        }
    }

    /// A type's values from named fields (`fields`), as a command line gathers them; a field the
    /// type does not have is refused by its position, since its name may be a mistyped value.
    pub fn from_fields(credential_type: CredentialType, pairs: Vec<(String, String)>) -> Result<SecretValues, FieldError> {
        use serde_json::{Map, Value, json};
        let known = Self::fields(credential_type);
        let mut object = Map::from_iter([("type".to_string(), json!(credential_type))]);
        if credential_type == CredentialType::Generic {
            object.insert("entries".into(), json!(pairs));
        } else {
            if let Some(i) = pairs.iter().position(|(name, _)| !known.iter().any(|(k, _)| k == name)) {
                let names: Vec<&str> = known.iter().map(|(k, _)| *k).collect();
                return Err(FieldError::new(format!("values[{i}]"), format!("not a field of this type, which takes {}", names.join(", "))));
            }
            object.extend(known.iter().map(|(k, _)| (k.to_string(), json!(""))));
            object.extend(pairs.into_iter().map(|(k, v)| (k, Value::String(v))));
        }
        serde_json::from_value(Value::Object(object)).map_err(|_| FieldError::new("values", "These values do not make a credential of this type"))
    }

    /// Every rule the values break, each naming its form field.
    pub fn problems(&self) -> Vec<FieldError> {
        let required = |field: &str, value: &str, what: &str| (value.is_empty()).then(|| FieldError::new(field, format!("Enter {what}")));
        let mut problems: Vec<FieldError> = match self {
            SecretValues::DockerRegistry { registry, username, password } => [
                required("registry", registry.trim(), "the registry URL"),
                (!registry.trim().is_empty() && registry.trim().contains(char::is_whitespace))
                    .then(|| FieldError::new("registry", "A registry URL has no spaces")),
                required("username", username, "a username"),
                required("password", password, "a password"),
            ]
            .into_iter()
            .flatten()
            .collect(),
            SecretValues::AccessKey { access_key_id, secret_access_key } => [
                required("accessKeyId", access_key_id, "the access key ID"),
                required("secretAccessKey", secret_access_key, "the secret access key"),
            ]
            .into_iter()
            .flatten()
            .collect(),
            SecretValues::Password { username, password } => {
                [required("username", username, "a username"), required("password", password, "a password")].into_iter().flatten().collect()
            }
            SecretValues::Generic { entries } => generic_problems(entries),
            SecretValues::Tls { certificate, private_key } => super::tls::tls_problems(certificate, private_key),
            SecretValues::NgcApiKey { api_key } => [
                required("apiKey", api_key.trim(), "the NGC API key"),
                api_key.trim().contains(char::is_whitespace).then(|| FieldError::new("apiKey", "An NGC API key has no spaces")),
            ]
            .into_iter()
            .flatten()
            .collect(),
        };
        let size: usize = self.data().values().map(Vec::len).sum();
        if size > MAX_SECRET_BYTES {
            problems.push(FieldError::new("values", "The values together exceed Kubernetes' limit of 1 MiB"));
        }
        problems
    }

    /// The Secret data these values become.
    pub fn data(&self) -> BTreeMap<String, Vec<u8>> {
        let pairs: Vec<(String, Vec<u8>)> = match self {
            SecretValues::DockerRegistry { registry, username, password } => vec![docker_config(registry.trim(), username, password)],
            SecretValues::NgcApiKey { api_key } => {
                let api_key = api_key.trim();
                vec![("NGC_API_KEY".into(), api_key.as_bytes().to_vec()), docker_config(NGC_REGISTRY, NGC_USER, api_key)]
            }
            SecretValues::AccessKey { access_key_id, secret_access_key } => vec![
                ("AWS_ACCESS_KEY_ID".into(), access_key_id.clone().into_bytes()),
                ("AWS_SECRET_ACCESS_KEY".into(), secret_access_key.clone().into_bytes()),
            ],
            SecretValues::Password { username, password } => {
                vec![("username".into(), username.clone().into_bytes()), ("password".into(), password.clone().into_bytes())]
            }
            SecretValues::Generic { entries } => entries.iter().map(|(k, v)| (k.clone(), v.clone().into_bytes())).collect(),
            SecretValues::Tls { certificate, private_key } => {
                vec![("tls.crt".into(), certificate.clone().into_bytes()), ("tls.key".into(), private_key.clone().into_bytes())]
            }
        };
        pairs.into_iter().collect()
    }
}

/// A `.dockerconfigjson` entry that logs in to one registry.
fn docker_config(registry: &str, username: &str, password: &str) -> (String, Vec<u8>) {
    let auth = super::base64::encode(format!("{username}:{password}").as_bytes());
    let config = serde_json::json!({"auths": {registry: {"username": username, "password": password, "auth": auth}}});
    (".dockerconfigjson".into(), config.to_string().into_bytes())
}

/// The rows of a generic secret: each key by Kubernetes' rule and used once. Linear (a set of the
/// keys seen), and messages name the row, never its key: a value typed into a key field would be
/// repeated otherwise.
fn generic_problems(entries: &[(String, String)]) -> Vec<FieldError> {
    let mut problems = Vec::new();
    if entries.is_empty() {
        problems.push(FieldError::new("entries", "Add at least one key"));
    }
    let mut seen: HashSet<&str> = HashSet::with_capacity(entries.len());
    for (i, (key, _)) in entries.iter().enumerate() {
        let field = format!("entries[{i}].key");
        if let Err(e) = check_key(&field, key) {
            problems.push(e);
        } else if !seen.insert(key) {
            problems.push(FieldError::new(field, "This key is already used in an earlier row"));
        }
    }
    problems
}

/// A new display name and description for a credential; its Kubernetes names never change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct Rename {
    pub display_name: String,
    #[serde(default)]
    pub description: String,
    /// A new "Expires on" (`YYYY-MM-DD`), or empty to have none; left out, it stays as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<String>,
}

impl Rename {
    /// Every rule the new name, description and expiry break.
    pub fn problems(&self) -> Vec<FieldError> {
        let mut problems = named_problems(&self.display_name, &self.description);
        problems.extend(expiry_problem(self.expires_on.as_deref().unwrap_or_default()));
        problems
    }
}

/// An "Expires on" is optional; given, it is a real day.
fn expiry_problem(expires_on: &str) -> Option<FieldError> {
    (!expires_on.is_empty()).then(|| super::lifecycle::check_expires_on(expires_on).err()).flatten()
}

/// Optional text: `None` when empty.
pub fn given(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// A request to create a credential with a new secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct NewCredential {
    pub display_name: String,
    /// Optional.
    #[serde(default)]
    pub description: String,
    pub scope: Scope,
    pub values: SecretValues,
    /// Optional `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub expires_on: String,
}

impl NewCredential {
    /// Every rule the request breaks; empty when it may be submitted.
    pub fn problems(&self) -> Vec<FieldError> {
        let mut problems = described_problems(&self.display_name, &self.description, &self.scope);
        problems.extend(self.values.problems());
        problems.extend(expiry_problem(&self.expires_on));
        problems
    }
}

/// A request to create a credential for a Secret that already exists, one an administrator
/// labelled for this type and scope (DESIGN.md §1, Labels). Keyhold never deletes that Secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct ExistingSecretCredential {
    pub display_name: String,
    /// Optional.
    #[serde(default)]
    pub description: String,
    pub scope: Scope,
    #[serde(rename = "type")]
    pub credential_type: CredentialType,
    pub secret_name: String,
    /// Optional `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub expires_on: String,
}

impl ExistingSecretCredential {
    /// Every rule the request breaks that can be seen without the cluster.
    pub fn problems(&self) -> Vec<FieldError> {
        let mut problems = described_problems(&self.display_name, &self.description, &self.scope);
        problems.extend(expiry_problem(&self.expires_on));
        if !super::credential::is_object_name(&self.secret_name) {
            problems.push(FieldError::new("secretName", "Pick one of the secrets offered"));
        }
        problems
    }
}

/// The existing secrets a scope offers for one type, and what makes a Secret appear among them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct ExistingSecrets {
    pub names: Vec<String>,
    /// Where such a Secret must be.
    pub namespace: String,
    /// The labels an administrator puts on it.
    pub labels: Vec<(String, String)>,
}

/// The rules a credential's display name and description follow.
/// A request to create a personal credential: its owner is whoever asks, and it is copied into
/// the `projects` they pick (those where their roles let them; the service checks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct NewPersonalCredential {
    pub display_name: String,
    /// Optional.
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub projects: Vec<String>,
    pub values: SecretValues,
}

impl NewPersonalCredential {
    /// Every rule the request breaks; empty when it may be submitted.
    pub fn problems(&self) -> Vec<FieldError> {
        let mut problems = named_problems(&self.display_name, &self.description);
        if !self.values.credential_type().personal() {
            problems.push(FieldError::new("type", "A personal credential is a Docker registry login, a generic secret or an NGC API key"));
        }
        problems.extend(self.values.problems());
        problems.extend(project_problems(&self.projects));
        problems
    }
}

/// The projects a personal credential is copied into.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct PersonalProjects {
    pub projects: Vec<String>,
}

impl PersonalProjects {
    pub fn problems(&self) -> Vec<FieldError> {
        project_problems(&self.projects)
    }
}

/// Projects are namespaces: each named once, by a name Kubernetes allows.
fn project_problems(projects: &[String]) -> Vec<FieldError> {
    let mut seen = HashSet::with_capacity(projects.len());
    if projects.iter().any(|p| !super::credential::is_object_name(p) || p.contains('.') || !seen.insert(p)) {
        return vec![FieldError::new("projects", "Pick projects from the list")];
    }
    Vec::new()
}

fn named_problems(display_name: &str, description: &str) -> Vec<FieldError> {
    [check_display_name(display_name).err(), check_description(description).err()].into_iter().flatten().collect()
}

/// The rules every create request follows: its name, description and scope.
fn described_problems(display_name: &str, description: &str, scope: &Scope) -> Vec<FieldError> {
    let mut problems = named_problems(display_name, description);
    problems.extend(scope_problems(scope));
    problems
}

fn scope_problems(scope: &Scope) -> Vec<FieldError> {
    // Where it would live does not matter here, only whether it can live anywhere.
    scope.home("").err().into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_made_from_named_fields() {
        for credential_type in CredentialType::ALL {
            let pairs: Vec<(String, String)> = match credential_type {
                CredentialType::Generic => vec![("TOKEN".into(), "t".into())],
                _ => SecretValues::fields(credential_type).iter().map(|(name, _)| (name.to_string(), format!("v-{name}"))).collect(),
            };
            let values = SecretValues::from_fields(credential_type, pairs).unwrap();
            assert_eq!(values.credential_type(), credential_type);
            assert!(SecretValues::fields(credential_type).iter().all(|(_, secret)| !secret) || !values.data().is_empty());
        }
        let password = SecretValues::from_fields(CredentialType::Password, vec![("password".into(), "p".into())]).unwrap();
        assert_eq!(password, SecretValues::Password { username: String::new(), password: "p".into() });
        let wrong = SecretValues::from_fields(CredentialType::AccessKey, vec![("accessKeyId".into(), "a".into()), ("hunter2".into(), "x".into())]).unwrap_err();
        assert_eq!(wrong.field, "values[1]");
        assert!(!wrong.message.contains("hunter2"), "{}", wrong.message);
    }
    use crate::domain::credential::ScopeLevel;

    fn project_scope() -> Scope {
        Scope { level: ScopeLevel::Project, department: None, project: Some("vision".into()), cluster: None }
    }

    #[test]
    fn an_ngc_api_key_is_an_environment_variable_and_a_pull_secret_for_nvcr_io() {
        let values = SecretValues::NgcApiKey { api_key: " nvapi-key ".into() };
        assert!(values.problems().is_empty());
        assert_eq!(values.credential_type().secret_type(), "kubernetes.io/dockerconfigjson");
        assert_eq!(values.registry(), Some("nvcr.io"));
        let data = values.data();
        assert_eq!(data["NGC_API_KEY"], b"nvapi-key");
        let config: serde_json::Value = serde_json::from_slice(&data[".dockerconfigjson"]).unwrap();
        let login = &config["auths"]["nvcr.io"];
        assert_eq!((login["username"].as_str(), login["password"].as_str()), (Some("$oauthtoken"), Some("nvapi-key")));
        let auth = crate::domain::base64::decode(login["auth"].as_str().unwrap()).unwrap();
        assert_eq!(auth, b"$oauthtoken:nvapi-key");
        assert_eq!(SecretValues::NgcApiKey { api_key: " ".into() }.problems()[0].field, "apiKey");
        // The Secret it makes reads back, from a kubectl file, as the same type.
        let file = serde_json::json!({"kind": "Secret", "type": "kubernetes.io/dockerconfigjson", "stringData": {
            "NGC_API_KEY": "nvapi-key", ".dockerconfigjson": String::from_utf8(data[".dockerconfigjson"].clone()).unwrap()}});
        assert_eq!(crate::domain::secret_file::read_secret_file(&file.to_string()).unwrap().values, SecretValues::NgcApiKey { api_key: "nvapi-key".into() });
        // A key beside a login for another registry does not make an NGC credential of it.
        let other = SecretValues::DockerRegistry { registry: "ghcr.io".into(), username: "ada".into(), password: "pw".into() }.data();
        let file = serde_json::json!({"kind": "Secret", "type": "kubernetes.io/dockerconfigjson", "stringData": {
            "NGC_API_KEY": "nvapi-key", ".dockerconfigjson": String::from_utf8(other[".dockerconfigjson"].clone()).unwrap()}});
        assert_eq!(crate::domain::secret_file::read_secret_file(&file.to_string()).unwrap().values.credential_type(), CredentialType::DockerRegistry);
    }

    #[test]
    fn docker_registry_values_become_a_dockerconfigjson() {
        let values = SecretValues::DockerRegistry { registry: "https://index.docker.io/v1/".into(), username: "ada".into(), password: "pw".into() };
        assert!(values.problems().is_empty());
        let data = values.data();
        let config: serde_json::Value = serde_json::from_slice(&data[".dockerconfigjson"]).unwrap();
        let auth = &config["auths"]["https://index.docker.io/v1/"];
        assert_eq!(auth["username"], "ada");
        assert_eq!(auth["auth"], "YWRhOnB3");
    }

    #[test]
    fn access_keys_use_the_aws_names() {
        let values = SecretValues::AccessKey { access_key_id: "AKIA".into(), secret_access_key: "s".into() };
        assert_eq!(values.data().keys().collect::<Vec<_>>(), ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]);
    }

    #[test]
    fn generic_rows_are_checked_for_rules_and_duplicates() {
        let values = SecretValues::Generic { entries: vec![("API_KEY".into(), "1".into()), ("bad key".into(), "2".into()), ("API_KEY".into(), "3".into())] };
        let fields: Vec<_> = values.problems().into_iter().map(|p| p.field).collect();
        assert_eq!(fields, ["entries[1].key", "entries[2].key"]);
        assert_eq!(SecretValues::Generic { entries: vec![] }.problems()[0].field, "entries");
    }

    /// Keys typed wrongly (a value in a key field, the same key twice) are named by row only.
    #[test]
    fn no_message_repeats_a_key_or_value() {
        const CANARY: &str = "S3cr3tCanary";
        let rows = |keys: &[&str]| SecretValues::Generic { entries: keys.iter().map(|k| (k.to_string(), CANARY.to_string())).collect() };
        let values = [
            rows(&[CANARY, CANARY]),
            rows(&["postgres://app:S3cr3tCanary@db"]),
            rows(&[&format!("..{CANARY}")]),
            rows(&[&CANARY.repeat(30)]),
            SecretValues::Generic { entries: vec![("big".into(), CANARY.repeat(MAX_SECRET_BYTES / CANARY.len() + 1))] },
            SecretValues::DockerRegistry { registry: format!("{CANARY} x"), username: CANARY.into(), password: String::new() },
            SecretValues::Tls { certificate: CANARY.into(), private_key: CANARY.into() },
        ];
        for values in values {
            let problems = values.problems();
            assert!(!problems.is_empty());
            for problem in problems {
                assert!(!problem.to_string().contains(CANARY), "{problem}");
            }
        }
    }

    #[test]
    fn requests_name_every_broken_field() {
        let request = NewCredential {
            display_name: " ".into(),
            description: "x".repeat(251),
            scope: Scope { level: ScopeLevel::Department, department: None, project: None, cluster: None },
            values: SecretValues::Password { username: "".into(), password: "p".into() },
            expires_on: "2027-02-30".into(),
        };
        let fields: Vec<_> = request.problems().into_iter().map(|p| p.field).collect();
        assert_eq!(fields, ["displayName", "description", "scope", "username", "expiresOn"]);
        let good = NewCredential { display_name: "DB".into(), description: String::new(), scope: project_scope(), values: SecretValues::Password { username: "u".into(), password: "p".into() }, expires_on: "2027-02-28".into() };
        assert!(good.problems().is_empty());
    }

    #[test]
    fn more_than_a_mebibyte_is_refused() {
        let values = SecretValues::Generic { entries: vec![("big".into(), "x".repeat(MAX_SECRET_BYTES + 1))] };
        assert_eq!(values.problems()[0].field, "values");
    }

    #[test]
    fn debug_output_never_shows_a_value() {
        let values = SecretValues::Password { username: "ada".into(), password: "canary-7f3a".into() };
        let shown = format!("{values:?}");
        assert!(!shown.contains("canary-7f3a") && !shown.contains("ada"), "{shown}");
        assert!(shown.contains("password"), "{shown}");
    }
}
