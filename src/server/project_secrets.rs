//! The project secrets service: one Secret per project (`keyhold-project-secrets` unless
//! configured) with many keys, for the Settings > Secrets tab and the REST API alike. Access is
//! the virtual resource `projectsecrets.keyhold.dev` (DESIGN.md §2): `list` shows key names,
//! `update` changes keys. Every write is one patch of the keys it touches, so two people changing
//! different keys at once both succeed; replacing or deleting a key that is gone says so.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ObjectReference, Secret};
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};

use crate::domain::AppError;
use crate::domain::credential::FieldError;
use crate::domain::identity::Identity;
use crate::domain::project_secrets::{ProjectSecretKeys, SecretEntry, parse_env_file};
use crate::server::auth::access::Access;
use crate::server::credentials::events::{self, Severity};
use crate::server::credentials::ownership::MANAGED_BY;
use crate::server::credentials::service::UPDATED_BY;
use crate::server::projects::ProjectsService;

/// Marks the Secret that holds a project's secrets.
pub const PROJECT_SECRETS_LABEL: &str = "keyhold.dev/project-secrets";

#[derive(Debug, thiserror::Error)]
pub enum ProjectSecretsError {
    #[error("{0}")]
    Invalid(FieldError),
    #[error("you may not {verb} the secrets of project {project}")]
    Forbidden { verb: &'static str, project: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(FieldError),
    #[error("the Kubernetes API failed: {0}")]
    Kube(#[from] kube::Error),
}

impl From<ProjectSecretsError> for AppError {
    fn from(e: ProjectSecretsError) -> Self {
        match e {
            ProjectSecretsError::Invalid(f) | ProjectSecretsError::Conflict(f) => f.into(),
            e @ ProjectSecretsError::Forbidden { .. } => AppError::Forbidden(e.to_string()),
            ProjectSecretsError::NotFound(message) => AppError::NotFound(message),
            ProjectSecretsError::Kube(e) => crate::server::kube_errors::app_error(e),
        }
    }
}

#[derive(Clone)]
pub struct ProjectSecretsService {
    client: Client,
    access: Access,
    projects: ProjectsService,
    secret_name: String,
}

type Result<T> = std::result::Result<T, ProjectSecretsError>;

impl ProjectSecretsService {
    pub fn new(client: Client, access: Access, projects: ProjectsService, secret_name: String) -> Self {
        ProjectSecretsService { client, access, projects, secret_name }
    }

    /// The namespace of `project`, after checking `who` may `verb` its secrets. A project the
    /// person has no role in is "not found", as if it did not exist.
    async fn authorize(&self, who: &Identity, verb: &'static str, project: &str) -> Result<String> {
        let not_found = || ProjectSecretsError::NotFound(format!("project {project} not found"));
        let namespace = self.projects.list().projects.into_iter().find(|p| p.name == project).map(|p| p.namespace).ok_or_else(not_found)?;
        if self.access.may(who, verb, "projectsecrets", &namespace).await? {
            return Ok(namespace);
        }
        if verb != "list" && self.access.may(who, "list", "projectsecrets", &namespace).await? {
            return Err(ProjectSecretsError::Forbidden { verb, project: project.to_string() });
        }
        Err(not_found())
    }

    fn api(&self, namespace: &str) -> Api<Secret> {
        Api::namespaced(self.client.clone(), namespace)
    }

    /// The key names of the project's secret, and whether `who` may change them.
    pub async fn keys(&self, who: &Identity, project: &str) -> Result<ProjectSecretKeys> {
        let namespace = self.authorize(who, "list", project).await?;
        // Read by Keyhold's account; only the key names leave this function.
        let secret = self.api(&namespace).get_opt(&self.secret_name).await?;
        let keys = secret.and_then(|s| s.data).map(|d| d.into_keys().collect()).unwrap_or_default();
        let may_change = self.access.may(who, "update", "projectsecrets", &namespace).await?;
        Ok(ProjectSecretKeys { project: project.to_string(), keys, may_change })
    }

    /// Adds a key that is not there yet.
    pub async fn add(&self, who: &Identity, project: &str, entry: &SecretEntry) -> Result<ProjectSecretKeys> {
        let namespace = self.authorize(who, "update", project).await?;
        check(std::slice::from_ref(entry))?;
        let current = self.api(&namespace).get_opt(&self.secret_name).await?;
        if current.and_then(|s| s.data).is_some_and(|d| d.contains_key(&entry.key)) {
            return Err(ProjectSecretsError::Conflict(FieldError::new("key", "This key already exists; replace its value instead")));
        }
        self.write(who, project, &namespace, std::slice::from_ref(entry), "added").await
    }

    /// Sets keys, adding or replacing each, in one write (the REST `PUT` and the import).
    pub async fn put(&self, who: &Identity, project: &str, entries: &[SecretEntry]) -> Result<ProjectSecretKeys> {
        let namespace = self.authorize(who, "update", project).await?;
        self.put_authorized(who, project, &namespace, entries).await
    }

    /// Imports `.env` text (see `parse_env_file`): a bad line writes nothing and is named. The
    /// text is read only once `who` may change the project's secrets, so a person without that
    /// right costs one SubjectAccessReview whatever they send.
    pub async fn import(&self, who: &Identity, project: &str, text: &str) -> Result<ProjectSecretKeys> {
        let namespace = self.authorize(who, "update", project).await?;
        let entries = parse_env_file(text).map_err(ProjectSecretsError::Invalid)?;
        self.put_authorized(who, project, &namespace, &entries).await
    }

    async fn put_authorized(&self, who: &Identity, project: &str, namespace: &str, entries: &[SecretEntry]) -> Result<ProjectSecretKeys> {
        check(entries)?;
        self.write(who, project, namespace, entries, if entries.len() == 1 { "set" } else { "imported" }).await
    }

    /// Replaces the value of a key that exists; if someone deleted it meanwhile, says so.
    pub async fn replace(&self, who: &Identity, project: &str, entry: &SecretEntry) -> Result<ProjectSecretKeys> {
        let namespace = self.authorize(who, "update", project).await?;
        check(std::slice::from_ref(entry))?;
        let value = crate::domain::base64::encode(entry.value.as_bytes());
        self.change_key(who, project, &namespace, &entry.key, serde_json::json!({"op": "replace", "path": pointer(&entry.key), "value": value}), "replaced").await
    }

    /// Deletes a key.
    pub async fn delete(&self, who: &Identity, project: &str, key: &str) -> Result<ProjectSecretKeys> {
        let namespace = self.authorize(who, "update", project).await?;
        self.change_key(who, project, &namespace, key, serde_json::json!({"op": "remove", "path": pointer(key)}), "deleted").await
    }

    /// One JSON-patch operation on an existing key: the API applies it only if the key is still
    /// there, so a key deleted a moment ago is reported, not silently re-made.
    async fn change_key(&self, who: &Identity, project: &str, namespace: &str, key: &str, op: serde_json::Value, verb: &str) -> Result<ProjectSecretKeys> {
        let patch: json_patch::Patch = serde_json::from_value(serde_json::json!([op])).expect("a well-formed JSON patch");
        let api = self.api(namespace);
        match api.patch(&self.secret_name, &PatchParams::default(), &Patch::Json::<()>(patch)).await {
            Ok(_) => {
                let annotate = serde_json::json!({"metadata": {"annotations": {UPDATED_BY: who.user}}});
                let secret = api.patch(&self.secret_name, &PatchParams::default(), &Patch::Merge(&annotate)).await?;
                Ok(self.recorded(who, project, &secret, &[key], verb).await)
            }
            Err(kube::Error::Api(status)) if matches!(status.code, 404 | 422) => {
                Err(ProjectSecretsError::NotFound("This key is not there any more: someone deleted it. Add it again if it is still needed.".into()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Merges `entries` into the project's Secret, making the Secret if it is missing.
    async fn write(&self, who: &Identity, project: &str, namespace: &str, entries: &[SecretEntry], verb: &str) -> Result<ProjectSecretKeys> {
        let data: BTreeMap<&str, String> = entries.iter().map(|e| (e.key.as_str(), crate::domain::base64::encode(e.value.as_bytes()))).collect();
        let patch = serde_json::json!({"metadata": {"annotations": {UPDATED_BY: who.user}}, "data": data});
        let api = self.api(namespace);
        let written = match api.patch(&self.secret_name, &PatchParams::default(), &Patch::Merge(&patch)).await {
            Err(kube::Error::Api(status)) if status.code == 404 => {
                let secret = Secret {
                    metadata: ObjectMeta {
                        name: Some(self.secret_name.clone()),
                        labels: Some(BTreeMap::from([(MANAGED_BY.to_string(), "keyhold".to_string()), (PROJECT_SECRETS_LABEL.to_string(), "true".to_string())])),
                        annotations: Some(BTreeMap::from([(UPDATED_BY.to_string(), who.user.clone())])),
                        ..Default::default()
                    },
                    data: Some(entries.iter().map(|e| (e.key.clone(), k8s_openapi::ByteString(e.value.clone().into_bytes()))).collect()),
                    ..Default::default()
                };
                match api.create(&PostParams::default(), &secret).await {
                    // Someone made it first: merge into theirs.
                    Err(kube::Error::Api(status)) if status.code == 409 => api.patch(&self.secret_name, &PatchParams::default(), &Patch::Merge(&patch)).await?,
                    other => other?,
                }
            }
            other => other?,
        };
        let keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
        Ok(self.recorded(who, project, &written, &keys, verb).await)
    }

    /// Records a change (an audit line and an Event naming the keys, never a value) and answers
    /// with the keys as written.
    async fn recorded(&self, who: &Identity, project: &str, secret: &Secret, keys: &[&str], verb: &str) -> ProjectSecretKeys {
        let namespace = secret.namespace().unwrap_or_default();
        let keys_changed = keys.join(", ");
        tracing::info!(target: "audit", user = %who.user, action = verb, namespace, project, keys = %keys_changed, "project secret keys {verb}");
        let object = ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Secret".into()),
            name: Some(secret.name_any()),
            namespace: Some(namespace),
            uid: secret.metadata.uid.clone(),
            ..Default::default()
        };
        events::publish(&self.client, object, Severity::Normal, "ProjectSecretsChanged", format!("{keys_changed} {verb} by {}", who.user)).await;
        let keys = secret.data.as_ref().map(|d| d.keys().cloned().collect()).unwrap_or_default();
        ProjectSecretKeys { project: project.to_string(), keys, may_change: true }
    }
}

/// Every entry's rules, before anything is written: the first broken one is the answer.
fn check(entries: &[SecretEntry]) -> Result<()> {
    match entries.iter().flat_map(SecretEntry::problems).next() {
        Some(problem) => Err(ProjectSecretsError::Invalid(problem)),
        None if entries.is_empty() => Err(ProjectSecretsError::Invalid(FieldError::new("entries", "Give at least one key"))),
        None => Ok(()),
    }
}

/// The JSON pointer to a key of the Secret's data.
fn pointer(key: &str) -> String {
    format!("/data/{}", key.replace('~', "~0").replace('/', "~1"))
}
