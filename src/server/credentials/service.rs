//! The credentials service: every business rule about credentials, called by the server functions
//! and the REST API alike. Each call takes the acting identity and asks Kubernetes (a
//! SubjectAccessReview) before it reads or writes; writes are made by Keyhold's own account and
//! recorded (annotations, an Event, an audit log line), never with a value.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher;
use kube::core::PartialObjectMeta;
use kube::{Client, ResourceExt};
use tokio::sync::watch;

use super::events::{self, Severity};
use super::resource::{Credential, CredentialSpec, SecretRef};
use super::usage::{Usage, UsageIndex};
use crate::server::auth::access::Access;
use crate::server::projects::ProjectsService;
use crate::server::watching::counted;
use crate::domain::credential::{CredentialType, FieldError, Phase, RESOURCE_LABEL, Scope, ScopeLevel, check_display_name, labels_that_offer, object_name_from, offers};
use crate::domain::AppError;
use crate::domain::identity::Identity;
use crate::domain::new_credential::{ExistingSecretCredential, ExistingSecrets, NewCredential, Rename, SecretValues};
use crate::domain::query::{CredentialRow, ListQuery, Listing, TargetStatus, select};
use crate::domain::scope_tree::ScopeNode;

pub const CREATED_BY: &str = "keyhold.dev/created-by";
pub const UPDATED_BY: &str = "keyhold.dev/updated-by";
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const CREDENTIAL_LABEL: &str = "keyhold.dev/credential";

/// Where Keyhold runs and keeps the wider-scoped credentials.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The Cluster column's value for this cluster.
    pub cluster_name: String,
    pub system_namespace: String,
    /// How long a permission answer (a SubjectAccessReview) is reused.
    pub permission_cache: std::time::Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { cluster_name: "local".into(), system_namespace: "keyhold-system".into(), permission_cache: std::time::Duration::from_secs(5) }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{}", .0.first().map(ToString::to_string).unwrap_or_default())]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    Conflict(FieldError),
    #[error("you may not {verb} credentials in {namespace}")]
    Forbidden { verb: &'static str, namespace: String },
    #[error("credential {0} not found")]
    NotFound(String),
    #[error("the credential is still used by {}", .0.join(", "))]
    InUse(Vec<String>),
    #[error("the Kubernetes API failed: {0}")]
    Kube(#[from] kube::Error),
}

impl From<ServiceError> for AppError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(mut fields) if !fields.is_empty() => {
                let first = fields.swap_remove(0);
                AppError::Invalid { field: first.field, message: first.message }
            }
            ServiceError::Invalid(_) => AppError::Invalid { field: String::new(), message: "invalid request".into() },
            ServiceError::Conflict(field) => AppError::Invalid { field: field.field, message: field.message },
            e @ ServiceError::Forbidden { .. } => AppError::Forbidden(e.to_string()),
            e @ ServiceError::NotFound(_) => AppError::NotFound(e.to_string()),
            e @ ServiceError::InUse(_) => AppError::Conflict(e.to_string()),
            ServiceError::Kube(e) => crate::server::unavailable(e),
        }
    }
}

#[derive(Clone)]
pub struct CredentialsService {
    client: Client,
    cache: Store<Credential>,
    usage: UsageIndex,
    projects: ProjectsService,
    access: Access,
    settings: Settings,
    changes: watch::Sender<u64>,
    /// Every credential as a row, and the change count it was built at.
    rows: Arc<Mutex<Option<(u64, Arc<Vec<CredentialRow>>)>>>,
    /// Held from a create's name check until the cache holds what it made, so two creates with one
    /// name (a button pressed twice) make one credential.
    creating: Arc<tokio::sync::Mutex<()>>,
}

impl CredentialsService {
    /// Starts the watch-fed caches (Credentials, and the workloads that use them); the returned
    /// future drives them.
    pub fn start(client: Client, settings: Settings) -> (Self, impl Future<Output = ()> + Send + 'static) {
        let changes = watch::Sender::new(0);
        let (usage, usage_driver) = UsageIndex::start(client.clone(), changes.clone());
        let (cache, writer) = reflector::store();
        let stream = counted(writer, Api::<Credential>::all(client.clone()), watcher::Config::default(), changes.clone(), "Credential");
        let (projects, projects_driver) = ProjectsService::start(client.clone(), changes.clone());
        let access = Access::new(client.clone(), settings.permission_cache);
        let service = CredentialsService { client, cache, usage, projects, access, settings, changes, rows: Arc::default(), creating: Arc::default() };
        (service, futures::future::join3(stream, usage_driver, projects_driver).map(|_| ()))
    }

    /// Resolves once the caches hold the cluster's state.
    pub async fn synced(&self) {
        let _ = self.cache.wait_until_ready().await;
        self.usage.synced().await;
        self.projects.synced().await;
    }

    /// The projects (namespaces) this service places credentials in.
    pub fn projects(&self) -> &ProjectsService {
        &self.projects
    }

    /// The workloads that use a credential's Secret, in its namespace or where it was copied.
    fn users(usage: &Usage, credential: &Credential) -> Vec<String> {
        let mut namespaces = vec![credential.namespace().unwrap_or_default()];
        if let Some(status) = &credential.status {
            namespaces.extend(status.targets.iter().map(|t| t.namespace.clone()));
        }
        usage.users_of(&credential.spec.secret_ref.name, &namespaces)
    }

    /// Whether `who` may `verb` credentials in `namespace` ("" for every namespace).
    async fn may(&self, who: &Identity, verb: &str, namespace: &str) -> Result<bool, ServiceError> {
        Ok(self.access.may(who, verb, "credentials", namespace).await?)
    }

    /// The permission checks this service makes, for pages that decide what to offer.
    pub fn access(&self) -> &Access {
        &self.access
    }

    async fn require(&self, who: &Identity, verb: &'static str, namespace: &str) -> Result<(), ServiceError> {
        if self.may(who, verb, namespace).await? { Ok(()) } else { Err(ServiceError::Forbidden { verb, namespace: namespace.to_string() }) }
    }

    /// The credentials `who` may list, as table rows, filtered, sorted and cut to one page. A
    /// credential is listed to those who may list credentials where it lives or in a namespace it
    /// reaches: a project's people see the department and cluster credentials their project gets.
    pub async fn list(&self, who: &Identity, query: &ListQuery) -> Result<Listing, ServiceError> {
        let read_at = jiff::Timestamp::now().to_string();
        let all = self.all_rows();
        let mut may_list = NamespaceAccess::new(self, who, "list").await?;
        let mut visible = Vec::with_capacity(all.len());
        for row in all.iter() {
            if may_list.reaches(row).await? {
                visible.push(row);
            }
        }
        let mut page = select(visible, query);
        // Whether the reader may change a row matters only for the rows shown.
        let mut may_update = NamespaceAccess::new(self, who, "update").await?;
        for row in &mut page.rows {
            row.may_change = may_update.allows(&row.namespace).await?;
        }
        Ok(Listing { page, read_at })
    }

    /// How many of the credentials `who` may list reach each namespace (where they live or are
    /// copied to), for the Projects page's counts.
    pub async fn count_by_namespace(&self, who: &Identity) -> Result<HashMap<String, usize>, ServiceError> {
        let mut may_list = NamespaceAccess::new(self, who, "list").await?;
        let mut counts = HashMap::new();
        for row in self.all_rows().iter() {
            if may_list.reaches(row).await? {
                let mut reached: Vec<&String> = std::iter::once(&row.namespace).chain(row.targets.iter().map(|t| &t.namespace)).collect();
                reached.sort();
                reached.dedup();
                for namespace in reached {
                    *counts.entry(namespace.clone()).or_default() += 1;
                }
            }
        }
        Ok(counts)
    }

    /// One credential as a row, to those who may get it (by the same rule as `list`); `NotFound`
    /// to everyone else, so its existence is not revealed.
    pub async fn get(&self, who: &Identity, namespace: &str, name: &str) -> Result<CredentialRow, ServiceError> {
        let all = self.all_rows();
        let not_found = || ServiceError::NotFound(format!("{namespace}/{name}"));
        let row = all.iter().find(|r| r.namespace == namespace && r.name == name).ok_or_else(not_found)?;
        if !NamespaceAccess::new(self, who, "get").await?.reaches(row).await? {
            return Err(not_found());
        }
        let mut row = row.clone();
        row.may_change = self.may(who, "update", namespace).await?;
        Ok(row)
    }

    /// Every credential as a table row, before anyone's permissions are applied. Rebuilt only when
    /// a watched credential, workload or project changed since the last build.
    fn all_rows(&self) -> Arc<Vec<CredentialRow>> {
        // The count is read before the caches, so a change during the build forces the next one.
        let version = *self.changes.borrow();
        if let Some((built, rows)) = &*self.rows.lock().expect("not poisoned")
            && *built == version
        {
            return rows.clone();
        }
        let usage = self.usage.snapshot();
        let rows: Arc<Vec<CredentialRow>> = Arc::new(self.cache.state().iter().map(|c| self.row(c, &usage, false)).collect());
        *self.rows.lock().expect("not poisoned") = Some((version, rows.clone()));
        rows
    }

    /// A counter that moves whenever a credential or a workload using one changes: the table's
    /// live updates wait on it.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    fn row(&self, credential: &Credential, usage: &Usage, may_change: bool) -> CredentialRow {
        let spec = &credential.spec;
        // No status yet: the controller has not seen it, so it is still being created.
        let status = credential.status.clone().unwrap_or_else(|| super::resource::CredentialStatus { phase: Phase::Creating, ..Default::default() });
        // A project's department is its namespace's label, not part of the credential's scope.
        let department = spec.scope.department.clone().or_else(|| spec.scope.project.as_deref().and_then(|p| self.projects.department_of(p)));
        let scope_path = [Some(self.settings.cluster_name.clone()), department, spec.scope.project.clone()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" › ");
        CredentialRow {
            namespace: credential.namespace().unwrap_or_default(),
            name: credential.name_any(),
            secret_name: spec.secret_ref.name.clone(),
            display_name: spec.display_name.clone(),
            description: spec.description.clone().unwrap_or_default(),
            credential_type: spec.credential_type,
            phase: status.phase,
            targets: status.targets.into_iter().map(|t| TargetStatus { namespace: t.namespace, phase: t.state, message: t.message }).collect(),
            used_by: Self::users(usage, credential),
            created_by: credential.annotations().get(CREATED_BY).cloned().unwrap_or_default(),
            scope_level: spec.scope.level,
            scope_path,
            created_at: credential.metadata.creation_timestamp.as_ref().map(|t| t.0.to_string()).unwrap_or_default(),
            cluster: self.settings.cluster_name.clone(),
            keys: status.keys,
            may_change,
        }
    }

    /// The namespace a credential of this scope lives in.
    fn home(&self, scope: &Scope) -> String {
        match scope.level {
            ScopeLevel::Project => scope.project.clone().unwrap_or_default(),
            _ => self.settings.system_namespace.clone(),
        }
    }

    fn name_taken_field(display_name: &str) -> FieldError {
        FieldError::new("displayName", format!("A credential named {} already exists", display_name.trim()))
    }

    fn name_taken(display_name: &str) -> ServiceError {
        ServiceError::Conflict(Self::name_taken_field(display_name))
    }

    /// Whether an existing Secret may back a new credential of this type and scope: offered by its
    /// labels, and not one Keyhold made (those belong to their credential).
    fn offered(&self, secret: &PartialObjectMeta<Secret>, credential_type: CredentialType, scope: &Scope) -> bool {
        let in_system = secret.namespace().as_deref() == Some(self.settings.system_namespace.as_str());
        secret.labels().get(MANAGED_BY).map(String::as_str) != Some("keyhold") && offers(secret.labels(), in_system, credential_type, scope)
    }

    /// Admits a create request: no broken rule, the caller may create where its scope lands, the
    /// display name is free. Returns that namespace.
    async fn admit(&self, who: &Identity, problems: Vec<FieldError>, scope: &Scope, display_name: &str) -> Result<String, ServiceError> {
        if !problems.is_empty() {
            return Err(ServiceError::Invalid(problems));
        }
        let namespace = self.home(scope);
        self.require(who, "create", &namespace).await?;
        if self.display_name_taken(display_name, None) {
            return Err(Self::name_taken(display_name));
        }
        Ok(namespace)
    }

    /// The credential an existing Secret already backs, if any (it may back only one).
    fn backed_by(&self, namespace: &str, secret: &str) -> Option<String> {
        self.cache
            .state()
            .iter()
            .find(|c| c.namespace().as_deref() == Some(namespace) && !c.spec.secret_ref.managed && c.spec.secret_ref.name == secret)
            .map(|c| c.spec.display_name.clone())
    }

    /// The Secrets a credential of this type and scope may be made from: labelled for it and not
    /// yet backing a credential. Read as metadata only, so no value is fetched.
    pub async fn existing_secrets(&self, who: &Identity, scope: &Scope, credential_type: CredentialType) -> Result<ExistingSecrets, ServiceError> {
        let namespace = self.home(scope);
        self.require(who, "create", &namespace).await?;
        let secrets = Api::<Secret>::namespaced(self.client.clone(), &namespace)
            .list_metadata(&ListParams::default().labels(&format!("{RESOURCE_LABEL}={}", credential_type.resource_label())))
            .await?;
        let mut names: Vec<String> = secrets
            .items
            .iter()
            .filter(|s| self.offered(s, credential_type, scope) && self.backed_by(&namespace, &s.name_any()).is_none())
            .map(|s| s.name_any())
            .collect();
        names.sort();
        Ok(ExistingSecrets { names, namespace, labels: labels_that_offer(credential_type, scope) })
    }

    /// The scopes `who` may create credentials in, as the wizard's tree; `None` when there are none.
    pub async fn creation_scopes(&self, who: &Identity) -> Result<Option<ScopeNode>, ServiceError> {
        let wide = self.may(who, "create", &self.settings.system_namespace).await?;
        let projects = self.projects.list().projects;
        let mut may_create = NamespaceAccess::new(self, who, "create").await?;
        let mut allowed = std::collections::HashSet::new();
        for project in &projects {
            if may_create.allows(&project.namespace).await? {
                allowed.insert(project.namespace.as_str());
            }
        }
        Ok(ScopeNode::build(&self.settings.cluster_name, &projects, wide, |ns| allowed.contains(ns)))
    }

    /// What is wrong with a display name for a new credential, if anything: its rules, or that a
    /// credential has it already (display names are unique per cluster).
    pub fn name_problem(&self, display_name: &str) -> Option<FieldError> {
        match check_display_name(display_name) {
            Err(e) => Some(e),
            Ok(()) if self.display_name_taken(display_name, None) => Some(Self::name_taken_field(display_name)),
            Ok(()) => None,
        }
    }

    /// Waits, briefly, until this replica's cache shows what a write made, so the next read sees
    /// it: the page the wizard opens, a `GET` after a `POST`, the next create's name check.
    async fn cached(&self, written: &Credential, shows: impl Fn(&Credential) -> bool) {
        let key = reflector::ObjectRef::from_obj(written);
        let mut changes = self.changes.subscribe();
        let seen = async {
            while !self.cache.get(&key).is_some_and(|c| shows(&c)) {
                if changes.changed().await.is_err() {
                    return;
                }
            }
        };
        if tokio::time::timeout(std::time::Duration::from_secs(5), seen).await.is_err() {
            tracing::warn!(credential = %key, "the watch cache did not show a write within 5 s");
        }
    }

    /// Creates a credential for an existing Secret that is labelled for its type and scope and
    /// backs no other credential. The Secret is left as it is; deleting the credential keeps it.
    pub async fn create_from_existing(&self, who: &Identity, request: &ExistingSecretCredential) -> Result<CredentialRow, ServiceError> {
        let _creating = self.creating.lock().await;
        let namespace = self.admit(who, request.problems(), &request.scope, &request.display_name).await?;
        let secret_field = |message: String| ServiceError::Invalid(vec![FieldError::new("secretName", message)]);
        let secret = Api::<Secret>::namespaced(self.client.clone(), &namespace).get_metadata_opt(&request.secret_name).await?;
        let Some(secret) = secret else { return Err(secret_field(format!("There is no Secret {} in {namespace}", request.secret_name))) };
        if !self.offered(&secret, request.credential_type, &request.scope) {
            let needed: Vec<String> = labels_that_offer(request.credential_type, &request.scope).into_iter().map(|(k, v)| format!("{k}={v}")).collect();
            return Err(secret_field(format!("The Secret {} is not offered for this type and scope; it needs the labels {}", request.secret_name, needed.join(", "))));
        }
        if let Some(other) = self.backed_by(&namespace, &request.secret_name) {
            return Err(ServiceError::Conflict(FieldError::new("secretName", format!("The Secret {} already backs the credential {other}", request.secret_name))));
        }
        let name = self.free_name(&namespace, &request.display_name).await?;
        let description = request.description.trim();
        let spec = CredentialSpec {
            display_name: request.display_name.trim().to_string(),
            description: (!description.is_empty()).then(|| description.to_string()),
            credential_type: request.credential_type,
            scope: request.scope.clone(),
            secret_ref: SecretRef { name: request.secret_name.clone(), managed: false },
            registry: None,
        };
        let created = self.create_credential(who, &namespace, &name, spec).await?;
        Ok(self.created(who, &created).await)
    }

    /// Writes a new Credential object, recorded as made by `who`.
    async fn create_credential(&self, who: &Identity, namespace: &str, name: &str, spec: CredentialSpec) -> Result<Credential, kube::Error> {
        let mut credential = Credential::new(name, spec);
        credential.metadata.namespace = Some(namespace.to_string());
        credential.metadata.annotations = Some(BTreeMap::from([(CREATED_BY.to_string(), who.user.clone())]));
        let params = PostParams { field_manager: Some("keyhold".into()), ..Default::default() };
        Api::<Credential>::namespaced(self.client.clone(), namespace).create(&params, &credential).await
    }

    /// Records a new credential and waits until reads show it; its row.
    async fn created(&self, who: &Identity, created: &Credential) -> CredentialRow {
        self.record(who, created, "Created", "created").await;
        self.cached(created, |_| true).await;
        self.row(created, &self.usage.snapshot(), true)
    }

    fn display_name_taken(&self, display_name: &str, except: Option<(&str, &str)>) -> bool {
        let wanted = display_name.trim().to_lowercase();
        self.cache.state().iter().any(|c| {
            c.spec.display_name.trim().to_lowercase() == wanted
                && except.is_none_or(|(ns, name)| c.namespace().as_deref() != Some(ns) || c.name_any() != name)
        })
    }

    /// A Kubernetes name for a new credential and its Secret, free in `namespace`.
    async fn free_name(&self, namespace: &str, display_name: &str) -> Result<String, ServiceError> {
        let base = match object_name_from(display_name) {
            name if name.is_empty() => "credential".to_string(),
            name => name,
        };
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        let credentials: Api<Credential> = Api::namespaced(self.client.clone(), namespace);
        for n in 1.. {
            let name = if n == 1 { base.clone() } else { format!("{base}-{n}") };
            if secrets.get_opt(&name).await?.is_none() && credentials.get_opt(&name).await?.is_none() {
                return Ok(name);
            }
        }
        unreachable!("some suffix is free")
    }

    /// Creates a credential with a new secret. The Secret is made first and removed again if the
    /// Credential cannot be, so a failure leaves nothing half-made.
    pub async fn create(&self, who: &Identity, request: &NewCredential) -> Result<CredentialRow, ServiceError> {
        let _creating = self.creating.lock().await;
        let namespace = self.admit(who, request.problems(), &request.scope, &request.display_name).await?;
        let name = self.free_name(&namespace, &request.display_name).await?;
        let credential_type = request.values.credential_type();
        let owner = format!("{namespace}.{name}");
        let secret = Secret {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(namespace.clone()),
                labels: Some(BTreeMap::from([
                    (MANAGED_BY.to_string(), "keyhold".to_string()),
                    (CREDENTIAL_LABEL.to_string(), owner.clone()),
                    (RESOURCE_LABEL.to_string(), credential_type.resource_label().to_string()),
                ])),
                annotations: Some(BTreeMap::from([(CREATED_BY.to_string(), who.user.clone())])),
                ..Default::default()
            },
            type_: Some(credential_type.secret_type().to_string()),
            data: Some(request.values.data().into_iter().map(|(k, v)| (k, ByteString(v))).collect()),
            ..Default::default()
        };
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &namespace);
        let params = PostParams { field_manager: Some("keyhold".into()), ..Default::default() };
        secrets.create(&params, &secret).await?;

        let registry = match &request.values {
            SecretValues::DockerRegistry { registry, .. } => Some(registry.trim().to_string()),
            _ => None,
        };
        let description = request.description.trim();
        let spec = CredentialSpec {
            display_name: request.display_name.trim().to_string(),
            description: (!description.is_empty()).then(|| description.to_string()),
            credential_type,
            scope: request.scope.clone(),
            secret_ref: SecretRef { name: name.clone(), managed: true },
            registry,
        };
        let created = match self.create_credential(who, &namespace, &name, spec).await {
            Ok(created) => created,
            Err(e) => {
                if let Err(cleanup) = secrets.delete(&name, &DeleteParams::default()).await {
                    tracing::error!(namespace, name, error = %cleanup, "could not remove the Secret of a credential that failed");
                }
                return Err(e.into());
            }
        };
        Ok(self.created(who, &created).await)
    }

    /// Changes a credential's display name and description; the Kubernetes names never change.
    pub async fn rename(&self, who: &Identity, namespace: &str, name: &str, rename: &Rename) -> Result<CredentialRow, ServiceError> {
        let problems = rename.problems();
        let (display_name, description) = (rename.display_name.as_str(), rename.description.as_str());
        if !problems.is_empty() {
            return Err(ServiceError::Invalid(problems));
        }
        self.require(who, "update", namespace).await?;
        if self.display_name_taken(display_name, Some((namespace, name))) {
            return Err(Self::name_taken(display_name));
        }
        let credentials: Api<Credential> = Api::namespaced(self.client.clone(), namespace);
        let description = description.trim();
        let patch = serde_json::json!({
            "metadata": {"annotations": {UPDATED_BY: who.user}},
            "spec": {"displayName": display_name.trim(), "description": if description.is_empty() { None } else { Some(description) }},
        });
        let renamed = credentials.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await.map_err(|e| not_found(e, namespace, name))?;
        self.record(who, &renamed, "Renamed", "renamed").await;
        self.cached(&renamed, |c| c.spec.display_name == renamed.spec.display_name && c.spec.description == renamed.spec.description).await;
        Ok(self.row(&renamed, &self.usage.snapshot(), true))
    }

    /// Replaces the values of a credential's Secret (write-only: nothing is returned but the row).
    /// The type cannot change; the controller re-syncs the copies.
    pub async fn replace_values(&self, who: &Identity, namespace: &str, name: &str, values: &SecretValues) -> Result<CredentialRow, ServiceError> {
        let problems = values.problems();
        if !problems.is_empty() {
            return Err(ServiceError::Invalid(problems));
        }
        self.require(who, "update", namespace).await?;
        let credentials: Api<Credential> = Api::namespaced(self.client.clone(), namespace);
        let credential = credentials.get(name).await.map_err(|e| not_found(e, namespace, name))?;
        if values.credential_type() != credential.spec.credential_type {
            let message = format!("This credential holds a {}; its type cannot change", credential.spec.credential_type.label());
            return Err(ServiceError::Invalid(vec![FieldError::new("type", message)]));
        }
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        let data: BTreeMap<String, ByteString> = values.data().into_iter().map(|(k, v)| (k, ByteString(v))).collect();
        // The whole data map is replaced (a merge would keep keys the new values dropped); the
        // resourceVersion read with it makes the replace safe against a concurrent change.
        let mut secret = secrets.get(&credential.spec.secret_ref.name).await?;
        secret.data = Some(data);
        secret.annotations_mut().insert(UPDATED_BY.to_string(), who.user.clone());
        secrets.replace(&credential.spec.secret_ref.name, &PostParams { field_manager: Some("keyhold".into()), ..Default::default() }, &secret).await?;
        let mut patch = serde_json::json!({"metadata": {"annotations": {UPDATED_BY: who.user}}});
        if let SecretValues::DockerRegistry { registry, .. } = values {
            // The registry server is not secret: the credential shows it.
            patch["spec"] = serde_json::json!({"registry": registry.trim()});
        }
        let updated = credentials.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
        self.record(who, &updated, "ValuesReplaced", "given new values").await;
        Ok(self.row(&updated, &self.usage.snapshot(), true))
    }

    /// Deletes a credential. The controller's finalizer then removes its copies and, when Keyhold
    /// made it, its Secret; an existing secret is kept.
    pub async fn delete(&self, who: &Identity, namespace: &str, name: &str) -> Result<(), ServiceError> {
        self.require(who, "delete", namespace).await?;
        let credentials: Api<Credential> = Api::namespaced(self.client.clone(), namespace);
        let credential = credentials.get(name).await.map_err(|e| not_found(e, namespace, name))?;
        let users = Self::users(&self.usage.snapshot(), &credential);
        if !users.is_empty() {
            return Err(ServiceError::InUse(users));
        }
        credentials.delete(name, &DeleteParams::default()).await?;
        self.record(who, &credential, "Deleted", "deleted").await;
        Ok(())
    }

    /// Records a change: a Kubernetes Event on the credential and an audit log line. Neither
    /// carries a value.
    async fn record(&self, who: &Identity, credential: &Credential, reason: &str, verb: &str) {
        let namespace = credential.namespace().unwrap_or_default();
        tracing::info!(target: "audit", user = %who.user, action = verb, namespace, credential = %credential.name_any(), "credential {verb}");
        let message = format!("Credential {:?} {verb} by {}", credential.spec.display_name, who.user);
        events::publish(&self.client, events::reference(credential), Severity::Normal, reason, message).await;
    }
}

fn not_found(e: kube::Error, namespace: &str, name: &str) -> ServiceError {
    match &e {
        kube::Error::Api(status) if status.code == 404 => ServiceError::NotFound(format!("{namespace}/{name}")),
        _ => e.into(),
    }
}

/// One person's answers for one verb on credentials, per namespace, asked once per listing (and
/// not at all per namespace when the answer holds everywhere).
struct NamespaceAccess<'a> {
    service: &'a CredentialsService,
    who: &'a Identity,
    verb: &'static str,
    everywhere: bool,
    known: HashMap<String, bool>,
}

impl<'a> NamespaceAccess<'a> {
    async fn new(service: &'a CredentialsService, who: &'a Identity, verb: &'static str) -> Result<Self, ServiceError> {
        let everywhere = service.may(who, verb, "").await?;
        Ok(NamespaceAccess { service, who, verb, everywhere, known: HashMap::new() })
    }

    /// Whether the verb is allowed where the row lives or in a namespace it reaches.
    async fn reaches(&mut self, row: &CredentialRow) -> Result<bool, ServiceError> {
        for namespace in std::iter::once(&row.namespace).chain(row.targets.iter().map(|t| &t.namespace)) {
            if self.allows(namespace).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn allows(&mut self, namespace: &str) -> Result<bool, ServiceError> {
        if self.everywhere {
            return Ok(true);
        }
        if let Some(allowed) = self.known.get(namespace) {
            return Ok(*allowed);
        }
        let allowed = self.service.may(self.who, self.verb, namespace).await?;
        self.known.insert(namespace.to_string(), allowed);
        Ok(allowed)
    }
}
