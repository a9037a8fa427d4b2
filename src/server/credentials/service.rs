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
use kube::{Client, ResourceExt};
use tokio::sync::watch;

use super::events::{self, Severity};
use super::ownership::{CREDENTIAL_LABEL, MANAGED_BY, managed_for, ownership_patch};
use super::resource::{Credential, CredentialSpec, SecretRef};
use super::usage::{Usage, UsageIndex};
use crate::server::auth::access::Access;
use crate::server::projects::ProjectsService;
use crate::server::watching::counted;
use crate::domain::cluster::ALL_CLUSTERS;
use super::controller::LET_GO;
use crate::domain::credential::{CredentialType, FieldError, Phase, RESOURCE_LABEL, Scope, ScopeLevel, check_display_name, is_object_name, labels_that_offer, object_name_from, offers};
use crate::domain::AppError;
use crate::domain::identity::Identity;
use crate::domain::lifecycle::{Expiry, Rollout, ValuesReplaced};
use crate::domain::new_credential::{ExistingSecretCredential, ExistingSecrets, NewCredential, Rename, SecretValues, given};
use crate::domain::query::{Column, CredentialRow, FilterKind, ListQuery, Listing, Prepared, TargetStatus, Visible};
use crate::domain::scope_tree::ScopeNode;

pub const CREATED_BY: &str = "keyhold.dev/created-by";
pub const UPDATED_BY: &str = "keyhold.dev/updated-by";
/// When a person last asked for propagation again (RFC 3339).
pub const RETRY_AT: &str = "keyhold.dev/retry-at";
/// When a person last changed a credential (RFC 3339): its "Last changed".
pub const UPDATED_AT: &str = "keyhold.dev/updated-at";

/// The annotations a change by `who` leaves on a credential.
pub fn changed_by(who: &Identity) -> serde_json::Value {
    serde_json::json!({UPDATED_BY: who.user, UPDATED_AT: jiff::Timestamp::now().to_string()})
}

/// Where Keyhold runs and keeps the wider-scoped credentials.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The Cluster column's value for this cluster.
    pub cluster_name: String,
    pub system_namespace: String,
    /// How long a permission answer (a SubjectAccessReview) is reused.
    pub permission_cache: std::time::Duration,
    /// The Secret each project's secrets are kept in, which no credential may take.
    pub project_secret_name: String,
    /// Signs what the service writes of a personal credential's owner and projects, so the
    /// controller believes no one else's edit of them; without it, no personal credentials.
    pub seal: Option<super::personal::SealKey>,
    /// Where "Test connection" may send values, and what it trusts.
    pub connection_tests: super::connection::ConnectionTests,
    /// The member clusters Account-scope credentials reach.
    pub members: crate::server::clusters::Members,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            cluster_name: "local".into(),
            system_namespace: "keyhold-system".into(),
            permission_cache: std::time::Duration::from_secs(5),
            project_secret_name: "keyhold-project-secrets".into(),
            seal: None,
            connection_tests: Default::default(),
            members: Default::default(),
        }
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
    /// The person may not change that workload themselves, so Keyhold does not either.
    #[error("you may not change that workload in {0}")]
    WorkloadForbidden(String),
    #[error("you may not make PodDefaults in any project this credential reaches")]
    NotebooksForbidden,
    #[error("credential {0} not found")]
    NotFound(String),
    #[error("the credential is still used by {}", .0.join(", "))]
    InUse(Vec<String>),
    #[error("this credential's Secret was not made by Keyhold for it; change its values where the Secret is kept")]
    NotManaged,
    #[error("the Kubernetes API failed: {0}")]
    Kube(#[from] kube::Error),
}

impl From<ServiceError> for AppError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(mut fields) if !fields.is_empty() => fields.swap_remove(0).into(),
            ServiceError::Invalid(_) => AppError::Invalid { field: String::new(), message: "invalid request".into() },
            ServiceError::Conflict(field) => field.into(),
            e @ (ServiceError::Forbidden { .. } | ServiceError::WorkloadForbidden(_) | ServiceError::NotebooksForbidden) => AppError::Forbidden(e.to_string()),
            e @ ServiceError::NotFound(_) => AppError::NotFound(e.to_string()),
            e @ (ServiceError::InUse(_) | ServiceError::NotManaged) => AppError::Conflict(e.to_string()),
            ServiceError::Kube(e) => crate::server::kube_errors::app_error(e),
        }
    }
}

#[derive(Clone)]
pub struct CredentialsService {
    pub(super) client: Client,
    pub(super) cache: Store<Credential>,
    pub(super) usage: UsageIndex,
    pub(super) projects: ProjectsService,
    pub(super) access: Access,
    pub(super) settings: Settings,
    pub(super) changes: watch::Sender<u64>,
    /// Every credential as a row, and the change count and day it was built at.
    pub(super) rows: Arc<Mutex<Option<((u64, i64), Arc<Prepared>)>>>,
    /// Held from a create's name check until the cache holds what it made, so two creates with one
    /// name (a button pressed twice) make one credential.
    pub(super) creating: Arc<tokio::sync::Mutex<()>>,
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

    /// The workloads that use a credential's Secret, in its namespace or where it was copied in
    /// this cluster (`home`).
    fn users(usage: &Usage, credential: &Credential, home: &str) -> Vec<String> {
        let mut namespaces = vec![credential.namespace().unwrap_or_default()];
        if let Some(status) = &credential.status {
            namespaces.extend(status.targets.iter().filter(|t| t.cluster == home).map(|t| t.namespace.clone()));
        }
        usage.users_of(&credential.spec.secret_ref.name, &namespaces)
    }

    /// Whether `who` may `verb` credentials in `namespace` ("" for every namespace).
    async fn may(&self, who: &Identity, verb: &str, namespace: &str) -> Result<bool, ServiceError> {
        Ok(self.access.may(who, verb, "credentials", namespace).await?)
    }

    /// The department whose administrators govern a credential besides the RBAC of its namespace:
    /// a project's department, or the department of a Department-scope credential where such
    /// credentials live. What a credential claims elsewhere gives nobody anything.
    fn governing_department(&self, namespace: &str, scope: &Scope) -> Option<String> {
        match scope.level {
            // A member's departments are not this cluster's: only administrators govern its scopes.
            _ if scope.cluster.is_some() => None,
            ScopeLevel::Department if namespace == self.settings.system_namespace => scope.department.clone(),
            ScopeLevel::Project => self.projects.department_of(namespace),
            _ => None,
        }
    }

    /// Whether `who` may `verb` credentials in `namespace`, by their roles there or as an
    /// administrator of `department`.
    async fn may_at(&self, who: &Identity, verb: &str, namespace: &str, department: Option<&str>) -> Result<bool, ServiceError> {
        Ok(self.access.may_here_or_in_department(who, verb, "credentials", namespace, department).await?)
    }

    async fn require_at(&self, who: &Identity, verb: &'static str, namespace: &str, department: Option<&str>) -> Result<(), ServiceError> {
        if self.may_at(who, verb, namespace, department).await? {
            Ok(())
        } else {
            Err(ServiceError::Forbidden { verb, namespace: namespace.to_string() })
        }
    }

    /// Whether `who` may `verb` some credentials: in some namespace, or in some department.
    pub async fn may_somewhere(&self, who: &Identity, verb: &str) -> Result<bool, ServiceError> {
        // Asked on every page view: someone allowed in every namespace is answered before the
        // projects (thousands, at scale) are looked at.
        for namespace in ["", &self.settings.system_namespace] {
            if self.access.may(who, verb, "credentials", namespace).await? {
                return Ok(true);
            }
        }
        let projects = self.projects.list().projects;
        for project in &projects {
            if self.access.may(who, verb, "credentials", &project.namespace).await? {
                return Ok(true);
            }
        }
        let mut departments: Vec<&str> = projects.iter().filter_map(|p| p.department.as_deref()).collect();
        departments.sort();
        departments.dedup();
        for department in departments {
            if self.access.may_in_department(who, verb, department).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The credential `who` names, once they may `verb` it. Who may not is refused whether or not
    /// it exists, so the answer does not reveal that.
    pub(super) async fn authorized(&self, who: &Identity, verb: &'static str, namespace: &str, name: &str) -> Result<Credential, ServiceError> {
        // Names go into URLs Keyhold's account calls: only real object names get that far.
        if !is_object_name(namespace) || !is_object_name(name) {
            return Err(ServiceError::NotFound(format!("{namespace}/{name}")));
        }
        let found = Api::<Credential>::namespaced(self.client.clone(), namespace).get_opt(name).await?;
        // A personal credential is its owner's to change, and nobody else's, whatever their roles.
        if let Some(credential) = found.as_ref().filter(|c| c.is_personal(&self.settings.system_namespace)) {
            if credential.personal(&self.settings.system_namespace).is_some_and(|p| p.owner == who.user) {
                return Ok(credential.clone());
            }
            // Answered as if it did not exist: refused to whoever may not act there at all.
            self.require_at(who, verb, namespace, None).await?;
            return Err(ServiceError::NotFound(format!("{namespace}/{name}")));
        }
        let department = match &found {
            Some(credential) => self.governing_department(namespace, &credential.spec.scope),
            None => self.projects.department_of(namespace),
        };
        self.require_at(who, verb, namespace, department.as_deref()).await?;
        found.ok_or_else(|| ServiceError::NotFound(format!("{namespace}/{name}")))
    }

    /// The permission checks this service makes, for pages that decide what to offer.
    pub fn access(&self) -> &Access {
        &self.access
    }

    /// The credentials `who` may list, as table rows, filtered, sorted and cut to one page. A
    /// credential is listed to those who may list credentials where it lives or in a namespace it
    /// reaches: a project's people see the department and cluster credentials their project gets.
    pub async fn list(&self, who: &Identity, query: &ListQuery) -> Result<Listing, ServiceError> {
        let read_at = jiff::Timestamp::now().to_string();
        let mut page = self.listable(who, |rows, visible| rows.select(visible, query)).await?;
        // Whether the reader may change a row matters only for the rows shown.
        let mut may_update = NamespaceAccess::new(self, who, "update").await?;
        for row in &mut page.rows {
            row.may_change = may_update.governs(row).await?;
        }
        Ok(Listing { page, read_at })
    }

    /// The values the filter picker of `column` offers `who`: those of the credentials `list` shows
    /// them, whatever the query. A column filtered by text has no picker.
    pub async fn choices(&self, who: &Identity, column: Column) -> Result<Vec<String>, ServiceError> {
        if column.filter_kind() != Some(FilterKind::Pick) {
            return Err(ServiceError::Invalid(vec![FieldError::new("column", "Pick type, status, scope, cluster, created_by or expires.")]));
        }
        self.listable(who, |rows, visible| rows.choices(visible, column)).await
    }

    /// Every row of the view `query` describes, by the same rule as `list` but not cut into pages:
    /// what Download CSV writes. `may_change` is left unset: no column shows it.
    pub async fn export(&self, who: &Identity, query: &ListQuery) -> Result<Vec<CredentialRow>, ServiceError> {
        self.listable(who, |rows, visible| rows.matching(visible, query).into_iter().cloned().collect()).await
    }

    /// `take` applied to the rows `who` may list. Workloads they may not see are taken out first,
    /// so searching and sorting never see those.
    async fn listable<T>(&self, who: &Identity, take: impl FnOnce(&Prepared, &Visible) -> T) -> Result<T, ServiceError> {
        let all = self.all_rows();
        let mut may_list = NamespaceAccess::new(self, who, "list").await?;
        if may_list.everywhere {
            return Ok(take(&all, &Visible::all()));
        }
        let mut visible = Visible::none_of(all.rows().len());
        for (i, row) in all.rows().iter().enumerate() {
            if may_list.reaches(row).await? {
                visible.show(i, match may_list.without_unseen_users(row).await? {
                    std::borrow::Cow::Owned(trimmed) => Some(trimmed),
                    std::borrow::Cow::Borrowed(_) => None,
                });
            }
        }
        Ok(take(&all, &visible))
    }

    /// How many of the credentials `who` may list reach each namespace (where they live or are
    /// copied to), for the Projects page's counts.
    pub async fn count_by_namespace(&self, who: &Identity) -> Result<HashMap<String, usize>, ServiceError> {
        let mut may_list = NamespaceAccess::new(self, who, "list").await?;
        let mut counts = HashMap::new();
        for row in self.all_rows().rows() {
            if may_list.reaches(row).await? {
                let mut reached: Vec<&String> = std::iter::once(&row.namespace).chain(row.home_targets().map(|t| &t.namespace)).collect();
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
        let Some(row) = all.rows().iter().find(|r| r.namespace == namespace && r.name == name) else {
            return self.own_personal(who, namespace, name).await?.ok_or_else(not_found);
        };
        let mut may_get = NamespaceAccess::new(self, who, "get").await?;
        if !may_get.reaches(row).await? {
            return Err(not_found());
        }
        let mut row = may_get.without_unseen_users(row).await?.into_owned();
        row.may_change = NamespaceAccess::new(self, who, "update").await?.governs(&row).await?;
        Ok(row)
    }

    /// Every credential as a table row, before anyone's permissions are applied. Rebuilt only when
    /// a watched credential, workload or project changed since the last build.
    fn all_rows(&self) -> Arc<Prepared> {
        // The count is read before the caches, so a change during the build forces the next one.
        // Rows say how many days a credential has left, so a new day (UTC) rebuilds them too.
        let version = (*self.changes.borrow(), jiff::Timestamp::now().as_second().div_euclid(86_400));
        if let Some((built, rows)) = &*self.rows.lock().expect("not poisoned")
            && *built == version
        {
            return rows.clone();
        }
        let usage = self.usage.snapshot();
        // Personal credentials are their owners' alone: no shared listing ever holds one.
        let rows = Arc::new(Prepared::new(self.cache.state().iter().filter(|c| !c.is_personal(&self.settings.system_namespace)).map(|c| self.row(c, &usage, false)).collect()));
        *self.rows.lock().expect("not poisoned") = Some((version, rows.clone()));
        rows
    }

    /// The `/metrics` exposition, from every shared credential as the cache holds it now.
    pub fn metrics(&self) -> ([(axum::http::HeaderName, &'static str); 1], String) {
        let text = crate::server::metrics::render(self.all_rows().rows(), jiff::Timestamp::now().as_second());
        ([(axum::http::header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text)
    }

    /// A counter that moves whenever a credential or a workload using one changes: the table's
    /// live updates wait on it.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    pub(super) fn row(&self, credential: &Credential, usage: &Usage, may_change: bool) -> CredentialRow {
        let spec = &credential.spec;
        // No status yet: the controller has not seen it, so it is still being created.
        let status = credential.status.clone().unwrap_or_else(|| super::resource::CredentialStatus { phase: Phase::Creating, ..Default::default() });
        let namespace = credential.namespace().unwrap_or_default();
        let governing_department = self.governing_department(&namespace, &spec.scope);
        let created_at = credential.metadata.creation_timestamp.as_ref().map(|t| t.0.to_string()).unwrap_or_default();
        // A project's department is its namespace's label (in its cluster), not part of the credential's scope.
        let department_of = |p: &str| match &spec.scope.cluster {
            Some(cluster) => self.settings.members.department_of(cluster, p),
            None => self.projects.department_of(p),
        };
        let department = spec.scope.department.clone().or_else(|| spec.scope.project.as_deref().and_then(department_of));
        let cluster = spec.scope.cluster.clone().unwrap_or_else(|| self.settings.cluster_name.clone());
        let personal = credential.personal(&self.settings.system_namespace);
        let scope_path = match personal {
            Some(personal) => format!("Personal ({})", personal.owner),
            None if spec.scope.level == ScopeLevel::Account => ALL_CLUSTERS.to_string(),
            None => [Some(cluster.clone()), department, spec.scope.project.clone()].into_iter().flatten().collect::<Vec<_>>().join(" › "),
        };
        CredentialRow {
            namespace,
            governing_department,
            name: credential.name_any(),
            secret_name: spec.secret_ref.name.clone(),
            display_name: spec.display_name.clone(),
            description: spec.description.clone().unwrap_or_default(),
            credential_type: spec.credential_type,
            phase: status.phase,
            targets: status
                .targets
                .into_iter()
                .map(|t| TargetStatus { member: t.cluster != self.settings.cluster_name, cluster: t.cluster, namespace: t.namespace, phase: t.state, message: t.message, version: t.version })
                .collect(),
            used_by: Self::users(usage, credential, &self.settings.cluster_name),
            unseen_users: 0,
            created_by: credential.annotations().get(CREATED_BY).cloned().unwrap_or_default(),
            scope_level: spec.scope.level,
            projects: personal.map(|p| p.projects.clone()).unwrap_or_default(),
            scope_path,
            created_at: created_at.clone(),
            changed_at: credential.annotations().get(UPDATED_AT).cloned().unwrap_or(created_at),
            cluster: if spec.scope.level == ScopeLevel::Account { ALL_CLUSTERS.to_string() } else { cluster },
            keys: status.keys,
            managed_secret: spec.secret_ref.managed,
            may_change,
            expires_on: spec.expires_on.clone(),
            expiry: Expiry::of(spec.expires_on.as_deref(), jiff::Timestamp::now().as_second()),
            last_test: super::connection::last_test(credential),
        }
    }

    /// Where a credential of this scope lives, once `who` may `verb` credentials there.
    async fn authorized_home(&self, who: &Identity, verb: &'static str, scope: &Scope) -> Result<String, ServiceError> {
        if scope.level == ScopeLevel::Personal {
            return Err(ServiceError::Invalid(vec![FieldError::new("scope", "Personal credentials are made under My credentials")]));
        }
        let namespace = scope.home(&self.settings.system_namespace).map_err(|problem| ServiceError::Invalid(vec![problem]))?;
        if let Some(cluster) = &scope.cluster {
            // A member's scopes are for administrators, asked before anything of the members is told.
            self.require_at(who, verb, &namespace, None).await?;
            let projects = self.settings.members.projects().into_iter().find(|(name, _)| name == cluster).map(|(_, projects)| projects);
            let Some(projects) = projects else { return Err(ServiceError::Invalid(vec![FieldError::new("scope", "Pick a member cluster Keyhold knows")])) };
            if scope.level == ScopeLevel::Project && !projects.iter().any(|p| scope.project.as_ref() == Some(&p.name)) {
                return Err(ServiceError::Invalid(vec![FieldError::new("scope", "Pick a project")]));
            }
            return Ok(namespace);
        }
        // A Project scope names a project, not any namespace Keyhold's account may write in.
        if scope.level == ScopeLevel::Project && !self.projects.contains(&namespace) {
            return Err(ServiceError::Invalid(vec![FieldError::new("scope", "Pick a project")]));
        }
        self.require_at(who, verb, &namespace, self.governing_department(&namespace, scope).as_deref()).await?;
        Ok(namespace)
    }

    fn name_taken_field(display_name: &str) -> FieldError {
        FieldError::new("displayName", format!("A credential named {} already exists", display_name.trim()))
    }

    fn name_taken(display_name: &str) -> ServiceError {
        ServiceError::Conflict(Self::name_taken_field(display_name))
    }

    /// Admits a create request: the caller may create where its scope lands (asked before the
    /// request's other rules are checked, so a request from someone who may not costs nothing),
    /// and no rule is broken. Returns that namespace.
    async fn admit(&self, who: &Identity, scope: &Scope, problems: impl FnOnce() -> Vec<FieldError>) -> Result<String, ServiceError> {
        let namespace = self.authorized_home(who, "create", scope).await?;
        let problems = problems();
        if !problems.is_empty() {
            return Err(ServiceError::Invalid(problems));
        }
        Ok(namespace)
    }

    /// Refuses a display name another credential has. Called with the create lock held.
    fn name_free(&self, display_name: &str) -> Result<(), ServiceError> {
        if self.display_name_taken(display_name, None, None) { Err(Self::name_taken(display_name)) } else { Ok(()) }
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
        let namespace = self.authorized_home(who, "create", scope).await?;
        let secrets = Api::<Secret>::namespaced(self.client.clone(), &namespace)
            .list_metadata(&ListParams::default().labels(&format!("{RESOURCE_LABEL}={}", credential_type.resource_label())))
            .await?;
        let mut names: Vec<String> = secrets
            .items
            .iter()
            .filter(|s| offered(&s.metadata, &self.settings, credential_type, scope) && self.backed_by(&namespace, &s.name_any()).is_none())
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
        let (mut in_projects, mut in_departments) = (std::collections::HashSet::new(), std::collections::HashSet::new());
        for project in &projects {
            if may_create.allows(&project.namespace).await? {
                in_projects.insert(project.namespace.as_str());
            }
            if let Some(department) = project.department.as_deref()
                && (wide || self.access.may_in_department(who, "create", department).await?)
            {
                in_departments.insert(department);
            }
        }
        let tree = ScopeNode::build(&self.settings.cluster_name, &projects, wide, |d| in_departments.contains(d), |ns| in_projects.contains(ns));
        if !self.settings.members.any() {
            return Ok(tree);
        }
        // The members' scopes are administrators' only (see `authorized_home`).
        let members = self.settings.members.projects().into_iter().filter(|_| wide);
        let members = members.filter_map(|(name, projects)| ScopeNode::build(&name, &projects, true, |_| true, |_| true).map(|tree| tree.in_member(&name))).collect();
        Ok(tree.map(|tree| tree.under_account(wide, members)))
    }

    /// What is wrong with a display name for a new credential, if anything: its rules, or that a
    /// credential has it already (display names are unique per cluster). Asked only by those who
    /// may create credentials somewhere: to others, which names exist is not told.
    pub async fn name_problem(&self, who: &Identity, display_name: &str) -> Result<Option<FieldError>, ServiceError> {
        if !self.may_somewhere(who, "create").await? {
            return Err(ServiceError::Forbidden { verb: "create", namespace: "any project".into() });
        }
        Ok(match check_display_name(display_name) {
            Err(e) => Some(e),
            Ok(()) if self.display_name_taken(display_name, None, None) => Some(Self::name_taken_field(display_name)),
            Ok(()) => None,
        })
    }

    /// Waits, briefly, until this replica's cache shows what a write made, so the next read sees
    /// it: the page the wizard opens, a `GET` after a `POST`, the next create's name check.
    pub(super) async fn cached(&self, written: &Credential, shows: impl Fn(&Credential) -> bool) {
        if !self.cached_within(written, shows, std::time::Duration::from_secs(5)).await {
            tracing::warn!(credential = %written.name_any(), "the watch cache did not show a write within 5 s");
        }
    }

    /// Whether the cache came to show the credential as `shows` wants within `limit`.
    pub(super) async fn cached_within(&self, written: &Credential, shows: impl Fn(&Credential) -> bool, limit: std::time::Duration) -> bool {
        let key = reflector::ObjectRef::from_obj(written);
        let mut changes = self.changes.subscribe();
        let seen = async {
            while !self.cache.get(&key).is_some_and(|c| shows(&c)) {
                if changes.changed().await.is_err() {
                    return;
                }
            }
        };
        tokio::time::timeout(limit, seen).await.is_ok()
    }

    /// Creates a credential for an existing Secret that is labelled for its type and scope and
    /// backs no other credential. The Secret is left as it is; deleting the credential keeps it.
    pub async fn create_from_existing(&self, who: &Identity, request: &ExistingSecretCredential) -> Result<CredentialRow, ServiceError> {
        let namespace = self.admit(who, &request.scope, || request.problems()).await?;
        let _creating = self.creating.lock().await;
        self.name_free(&request.display_name)?;
        let secret_field = |message: String| ServiceError::Invalid(vec![FieldError::new("secretName", message)]);
        let secret = Api::<Secret>::namespaced(self.client.clone(), &namespace).get_metadata_opt(&request.secret_name).await?;
        // One answer whether the Secret is missing or not offered: which Secrets exist is not told.
        if !secret.is_some_and(|secret| offered(&secret.metadata, &self.settings, request.credential_type, &request.scope)) {
            let needed: Vec<String> = labels_that_offer(request.credential_type, &request.scope).into_iter().map(|(k, v)| format!("{k}={v}")).collect();
            return Err(secret_field(format!("No Secret of that name in {namespace} is offered for this type and scope; it needs the labels {}", needed.join(", "))));
        }
        if let Some(other) = self.backed_by(&namespace, &request.secret_name) {
            return Err(ServiceError::Conflict(FieldError::new("secretName", format!("That Secret already backs the credential {other}"))));
        }
        let name = self.free_name(&namespace, &request.scope, &request.display_name).await?;
        let description = request.description.trim();
        let spec = CredentialSpec {
            display_name: request.display_name.trim().to_string(),
            description: (!description.is_empty()).then(|| description.to_string()),
            credential_type: request.credential_type,
            scope: request.scope.clone(),
            secret_ref: SecretRef { name: request.secret_name.clone(), managed: false },
            registry: None,
            expires_on: given(&request.expires_on),
            personal: None,
        };
        let created = self.create_credential(who, &namespace, &name, spec, []).await?;
        Ok(self.created(who, &created).await)
    }

    /// Writes a new Credential object, recorded as made by `who`.
    async fn create_credential(&self, who: &Identity, namespace: &str, name: &str, spec: CredentialSpec, annotations: impl IntoIterator<Item = (String, String)>) -> Result<Credential, kube::Error> {
        let mut credential = Credential::new(name, spec);
        credential.metadata.namespace = Some(namespace.to_string());
        let mut all = BTreeMap::from([(CREATED_BY.to_string(), who.user.clone())]);
        all.extend(annotations);
        credential.metadata.annotations = Some(all);
        let params = PostParams { field_manager: Some("keyhold".into()), ..Default::default() };
        Api::<Credential>::namespaced(self.client.clone(), namespace).create(&params, &credential).await
    }

    /// Records a new credential and waits until reads show it; its row.
    pub(super) async fn created(&self, who: &Identity, created: &Credential) -> CredentialRow {
        self.record(who, created, "Created", "created").await;
        self.cached(created, |_| true).await;
        self.row(created, &self.usage.snapshot(), true)
    }

    /// Whether another credential has this name: among the shared ones (`owner` `None`), or among
    /// one person's own. Names are unique per cluster for shared credentials and per owner for
    /// personal ones, so nobody learns another person's names by trying them.
    pub(super) fn display_name_taken(&self, display_name: &str, except: Option<(&str, &str)>, owner: Option<&str>) -> bool {
        let wanted = display_name.trim().to_lowercase();
        self.cache.state().iter().any(|c| {
            let system = &self.settings.system_namespace;
            c.personal(system).map(|p| p.owner.as_str()) == owner
                && (owner.is_some() || !c.is_personal(system))
                && c.spec.display_name.trim().to_lowercase() == wanted
                && except.is_none_or(|(ns, name)| c.namespace().as_deref() != Some(ns) || c.name_any() != name)
        })
    }

    /// A Kubernetes name for a new credential and its Secret, free in `namespace` and, for a
    /// Department or Cluster scope, in every project the copies go to; a project's credential
    /// never takes the Secret name of a wider one (its copy may not be made yet). Otherwise the
    /// two would meet in a project and the copy would be blocked there. Keyhold finds its own Secrets by name
    /// (accounts, the session key, Redis's password, project secrets), so a credential never gets a
    /// `keyhold-` name or the project secrets' name.
    pub(super) async fn free_name(&self, namespace: &str, scope: &Scope, display_name: &str) -> Result<String, ServiceError> {
        let base = match object_name_from(display_name) {
            name if name.is_empty() => "credential".to_string(),
            name if name.starts_with("keyhold-") || name == self.settings.project_secret_name => format!("credential-{name}"),
            name => name,
        };
        let reach: Vec<String> = match scope.level {
            // A scope in a member has no copies here.
            _ if scope.cluster.is_some() => Vec::new(),
            ScopeLevel::Department | ScopeLevel::Cluster | ScopeLevel::Account => self
                .projects
                .list()
                .projects
                .into_iter()
                .filter(|p| scope.level != ScopeLevel::Department || p.department == scope.department)
                .map(|p| p.namespace)
                .collect(),
            _ => Vec::new(),
        };
        let credentials: Api<Credential> = Api::namespaced(self.client.clone(), namespace);
        for n in 1.. {
            let name = if n == 1 { base.clone() } else { format!("{base}-{n}") };
            // One question for every namespace: the Secrets of that name anywhere.
            let named = Api::<Secret>::all(self.client.clone()).list_metadata(&ListParams::default().fields(&format!("metadata.name={name}"))).await?;
            let clash = named.items.iter().any(|s| s.metadata.namespace.as_deref().is_some_and(|ns| ns == namespace || reach.iter().any(|r| r == ns)))
                // A wider credential reaching here whose copy is not made yet would meet this
                // one's Secret. Only those reaching here: another department's names stay unsaid.
                || (namespace != self.settings.system_namespace && self.cache.state().iter().any(|c| c.spec.secret_ref.name == name && self.reaches(c, namespace)));
            if !clash && credentials.get_opt(&name).await?.is_none() {
                return Ok(name);
            }
        }
        unreachable!("some suffix is free")
    }

    /// Whether a Department-, Cluster- or Account-scope credential is copied into project `namespace`.
    fn reaches(&self, credential: &Credential, namespace: &str) -> bool {
        let scope = &credential.spec.scope;
        credential.namespace().as_deref() == Some(self.settings.system_namespace.as_str())
            && scope.cluster.is_none()
            && match scope.level {
                ScopeLevel::Cluster | ScopeLevel::Account => true,
                ScopeLevel::Department => scope.department.is_some() && scope.department == self.projects.department_of(namespace),
                _ => false,
            }
    }

    /// Creates a credential with a new secret. The Secret is made first and removed again if the
    /// Credential cannot be, so a failure leaves nothing half-made.
    pub async fn create(&self, who: &Identity, request: &NewCredential) -> Result<CredentialRow, ServiceError> {
        let namespace = self.admit(who, &request.scope, || request.problems()).await?;
        let _creating = self.creating.lock().await;
        self.name_free(&request.display_name)?;
        let name = self.free_name(&namespace, &request.scope, &request.display_name).await?;
        let description = request.description.trim();
        let spec = CredentialSpec {
            display_name: request.display_name.trim().to_string(),
            description: (!description.is_empty()).then(|| description.to_string()),
            credential_type: request.values.credential_type(),
            scope: request.scope.clone(),
            secret_ref: SecretRef { name: name.clone(), managed: true },
            registry: request.values.registry().map(str::to_string),
            expires_on: given(&request.expires_on),
            personal: None,
        };
        let created = self.make_with_secret(who, &namespace, spec, [], &request.values).await?;
        Ok(self.created(who, &created).await)
    }

    /// Makes a credential and the Secret that holds its values (named `spec.secret_ref.name`, as
    /// the credential is). The Secret is made first and removed again if the Credential cannot be,
    /// so a failure leaves nothing half-made. Called with the create lock held.
    pub(super) async fn make_with_secret<const N: usize>(&self, who: &Identity, namespace: &str, spec: CredentialSpec, annotations: [(String, String); N], values: &SecretValues) -> Result<Credential, ServiceError> {
        let name = spec.secret_ref.name.clone();
        let credential_type = values.credential_type();
        let secret = Secret {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(namespace.to_string()),
                labels: Some(BTreeMap::from([
                    (MANAGED_BY.to_string(), "keyhold".to_string()),
                    // Made for a credential not yet written: the uid comes with the ownerReference.
                    (CREDENTIAL_LABEL.to_string(), String::new()),
                    (RESOURCE_LABEL.to_string(), credential_type.resource_label().to_string()),
                ])),
                annotations: Some(BTreeMap::from([(CREATED_BY.to_string(), who.user.clone())])),
                ..Default::default()
            },
            type_: Some(credential_type.secret_type().to_string()),
            data: Some(values.data().into_iter().map(|(k, v)| (k, ByteString(v))).collect()),
            ..Default::default()
        };
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        let params = PostParams { field_manager: Some("keyhold".into()), ..Default::default() };
        secrets.create(&params, &secret).await?;

        let created = match self.create_credential(who, namespace, &name, spec, annotations).await {
            Ok(created) => created,
            Err(e) => {
                if let Err(cleanup) = secrets.delete(&name, &DeleteParams::default()).await {
                    tracing::error!(namespace, name, error = %cleanup, "could not remove the Secret of a credential that failed");
                }
                return Err(e.into());
            }
        };
        // The Secret's proof that Keyhold made it for this credential (see `managed_for`).
        if let Err(e) = secrets.patch(&name, &PatchParams::default(), &Patch::Merge(&ownership_patch(&created))).await {
            let credentials: Api<Credential> = Api::namespaced(self.client.clone(), namespace);
            for result in [credentials.delete(&name, &DeleteParams::default()).await.map(|_| ()), secrets.delete(&name, &DeleteParams::default()).await.map(|_| ())] {
                if let Err(cleanup) = result {
                    tracing::error!(namespace, name, error = %cleanup, "could not remove what a failed create made");
                }
            }
            return Err(e.into());
        }
        Ok(created)
    }

    /// A changed credential's row for the person who changed it: workloads where they may not
    /// look are counted, not named, as in every other answer.
    async fn answer_row(&self, who: &Identity, credential: &Credential) -> Result<CredentialRow, ServiceError> {
        let row = self.row(credential, &self.usage.snapshot(), true);
        Ok(NamespaceAccess::new(self, who, "list").await?.without_unseen_users(&row).await?.into_owned())
    }

    /// Changes a credential's display name and description; the Kubernetes names never change.
    pub async fn rename(&self, who: &Identity, namespace: &str, name: &str, rename: &Rename) -> Result<CredentialRow, ServiceError> {
        let credential = self.authorized(who, "update", namespace, name).await?;
        let problems = rename.problems();
        let (display_name, description) = (rename.display_name.as_str(), rename.description.as_str());
        if !problems.is_empty() {
            return Err(ServiceError::Invalid(problems));
        }
        if self.display_name_taken(display_name, Some((namespace, name)), credential.personal(&self.settings.system_namespace).map(|p| p.owner.as_str())) {
            return Err(Self::name_taken(display_name));
        }
        let credentials: Api<Credential> = Api::namespaced(self.client.clone(), namespace);
        let description = description.trim();
        let mut patch = serde_json::json!({
            "metadata": {"annotations": changed_by(who)},
            "spec": {"displayName": display_name.trim(), "description": if description.is_empty() { None } else { Some(description) }},
        });
        // Left out, the expiry stays; empty, it goes (a merge patch's null).
        if let Some(expires_on) = &rename.expires_on {
            patch["spec"]["expiresOn"] = serde_json::json!(given(expires_on));
        }
        let renamed = credentials.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await.map_err(|e| not_found(e, namespace, name))?;
        self.record(who, &renamed, "Renamed", "renamed").await;
        self.cached(&renamed, |c| c.spec.display_name == renamed.spec.display_name && c.spec.description == renamed.spec.description && c.spec.expires_on == renamed.spec.expires_on).await;
        self.answer_row(who, &renamed).await
    }

    /// Replaces the values of a credential's Secret (write-only: nothing is returned but the row).
    /// The type cannot change; the controller re-syncs the copies. Only a Secret Keyhold made for
    /// this credential is written: what `secretRef` names is whatever its editor wrote there.
    /// With `Rollout::Restart`, the workloads using it are restarted once every copy holds the new
    /// values (see `rollout`).
    pub async fn replace_values(&self, who: &Identity, namespace: &str, name: &str, values: &SecretValues, rollout: Rollout) -> Result<ValuesReplaced, ServiceError> {
        let credential = self.authorized(who, "update", namespace, name).await?;
        let problems = values.problems();
        if !problems.is_empty() {
            return Err(ServiceError::Invalid(problems));
        }
        let credentials: Api<Credential> = Api::namespaced(self.client.clone(), namespace);
        if values.credential_type() != credential.spec.credential_type {
            let message = format!("This credential holds a {}; its type cannot change", credential.spec.credential_type.label());
            return Err(ServiceError::Invalid(vec![FieldError::new("type", message)]));
        }
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        let data: BTreeMap<String, ByteString> = values.data().into_iter().map(|(k, v)| (k, ByteString(v))).collect();
        // The whole data map is replaced (a merge would keep keys the new values dropped); the
        // resourceVersion read with it makes the replace safe against a concurrent change.
        let mut secret = secrets.get_opt(&credential.spec.secret_ref.name).await?.ok_or(ServiceError::NotManaged)?;
        if !managed_for(&secret.metadata, &credential) {
            return Err(ServiceError::NotManaged);
        }
        secret.data = Some(data);
        secret.annotations_mut().insert(UPDATED_BY.to_string(), who.user.clone());
        let written = secrets.replace(&credential.spec.secret_ref.name, &PostParams { field_manager: Some("keyhold".into()), ..Default::default() }, &secret).await?;
        let mut patch = serde_json::json!({"metadata": {"annotations": changed_by(who)}});
        if let Some(registry) = values.registry() {
            patch["spec"] = serde_json::json!({"registry": registry});
        }
        let updated = credentials.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
        let message = self.announce(who, &updated, "ValuesReplaced", "given new values").await;
        let latest = |written: &Credential| self.cache.get(&reflector::ObjectRef::from_obj(written)).map(|c| (*c).clone()).unwrap_or_else(|| written.clone());
        let plan = match rollout {
            Rollout::Nothing => None,
            Rollout::Restart => {
                // A pod restarted before its namespace's copy has the new values would start with the old.
                let version = written.resource_version().unwrap_or_default();
                // Only this cluster's: its workloads are the ones restarted.
                let home = &self.settings.cluster_name;
                let copied = |c: &Credential| c.status.as_ref().is_some_and(|s| s.targets.iter().filter(|t| t.cluster == *home).all(|t| t.state == Phase::Ready && t.version == version));
                if !self.cached_within(&updated, copied, std::time::Duration::from_secs(20)).await {
                    tracing::warn!(namespace, credential = name, "not every copy showed the new values within 20 s");
                }
                let now = latest(&updated);
                let current: std::collections::HashSet<String> =
                    now.status.iter().flat_map(|s| &s.targets).filter(|t| t.cluster == *home && t.state == Phase::Ready && t.version == version).map(|t| t.namespace.clone()).collect();
                let mut plan = self.rollout_plan(who, &now).await?;
                let (ready, waiting) = std::mem::take(&mut plan.restart).into_iter().partition(|w: &String| w.split('/').nth(1).is_some_and(|ns| current.contains(ns)));
                (plan.restart, plan.not_updated) = (ready, waiting);
                Some(self.restart(who, plan).await)
            }
        };
        let rolled_out = plan.as_ref().map(|p| format!("; rollout: {}", p.described())).unwrap_or_default();
        self.record_activity(&updated, "ValuesReplaced", &who.user, format!("{message}{rolled_out}")).await;
        // The row as the cache now holds it (after a rollout, with the copies' new versions).
        Ok(ValuesReplaced { credential: self.answer_row(who, &latest(&updated)).await?, rollout: plan })
    }

    /// Asks the controller to propagate again now (after a namespace failed), for someone who may
    /// change the credential: a change of its annotation starts a reconcile.
    pub async fn retry(&self, who: &Identity, namespace: &str, name: &str) -> Result<(), ServiceError> {
        self.authorized(who, "update", namespace, name).await?;
        let patch = serde_json::json!({"metadata": {"annotations": {RETRY_AT: jiff::Timestamp::now().to_string()}}});
        Api::<Credential>::namespaced(self.client.clone(), namespace).patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
        Ok(())
    }

    /// Lets the deletion of an Account-scope credential stop waiting for a member cluster Keyhold
    /// cannot reach (its copies there stay), for someone who may change the credential. Only a
    /// cluster the deletion waits for can be let go of.
    pub async fn let_go(&self, who: &Identity, namespace: &str, name: &str, cluster: &str) -> Result<(), ServiceError> {
        let credential = self.authorized(who, "update", namespace, name).await?;
        let waits_for = credential.status.as_ref().is_some_and(|s| s.targets.iter().any(|t| t.cluster == cluster && t.state == Phase::Deleting));
        if credential.metadata.deletion_timestamp.is_none() || !waits_for {
            return Err(ServiceError::Conflict(FieldError::new("cluster", "The credential's deletion is not waiting for that cluster")));
        }
        let mut let_go: Vec<&str> = credential.annotations().get(LET_GO).map(|v| v.split(',').collect()).unwrap_or_default();
        let_go.push(cluster);
        // Against the version read: two let-gos at once must not lose one (the second gets a 409).
        let patch = serde_json::json!({"metadata": {"resourceVersion": credential.resource_version(), "annotations": {LET_GO: let_go.join(",")}}});
        Api::<Credential>::namespaced(self.client.clone(), namespace).patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
        self.announce(who, &credential, "LetGo", &format!("let go of its copies in {cluster}")).await;
        Ok(())
    }

    /// Deletes a credential. The controller's finalizer then removes its copies and, when Keyhold
    /// made it, its Secret; an existing secret is kept.
    pub async fn delete(&self, who: &Identity, namespace: &str, name: &str) -> Result<(), ServiceError> {
        let credential = self.authorized(who, "delete", namespace, name).await?;
        let credentials: Api<Credential> = Api::namespaced(self.client.clone(), namespace);
        let row = self.row(&credential, &self.usage.snapshot(), true);
        if row.in_use() {
            // The refusal names only the workloads the person may see.
            let row = NamespaceAccess::new(self, who, "list").await?.without_unseen_users(&row).await?.into_owned();
            return Err(ServiceError::InUse(row.users_described()));
        }
        credentials.delete(name, &DeleteParams::default()).await?;
        self.announce(who, &credential, "Deleted", "deleted").await;
        Ok(())
    }

    /// Records a change: a Kubernetes Event on the credential and an audit log line. Neither
    /// carries a value.
    pub(super) async fn record(&self, who: &Identity, credential: &Credential, reason: &str, verb: &str) {
        let message = self.announce(who, credential, reason, verb).await;
        self.record_activity(credential, reason, &who.user, message).await;
    }

    /// The Event and audit line of a change, without an Activity entry (a deleted credential's
    /// activity goes with it); the message they carry.
    async fn announce(&self, who: &Identity, credential: &Credential, reason: &str, verb: &str) -> String {
        let namespace = credential.namespace().unwrap_or_default();
        tracing::info!(target: "audit", user = %who.user, action = verb, namespace, credential = %credential.name_any(), "credential {verb}");
        let message = format!("{} {verb} by {}", super::personal::described(credential, &self.settings.system_namespace), who.user);
        events::publish(&self.client, events::reference(credential), Severity::Normal, reason, message.clone()).await;
        message
    }

    /// Adds an entry to a credential's Activity; a failure is logged, never the change's undoing.
    pub(super) async fn record_activity(&self, credential: &Credential, action: &str, by: &str, detail: String) {
        super::activity::append(&self.client, &self.settings.system_namespace, credential, action, by, detail).await;
    }
}

/// Whether an existing Secret may back a credential of this type and scope: offered by its labels,
/// and not one Keyhold made (those belong to their credential). The one rule for the wizard's
/// choice and the controller alike.
pub fn offered(secret: &ObjectMeta, settings: &Settings, credential_type: CredentialType, scope: &Scope) -> bool {
    let none = BTreeMap::new();
    let labels = secret.labels.as_ref().unwrap_or(&none);
    let in_system = secret.namespace.as_deref() == Some(settings.system_namespace.as_str());
    labels.get(MANAGED_BY).map(String::as_str) != Some("keyhold") && offers(labels, in_system, credential_type, scope)
}

fn not_found(e: kube::Error, namespace: &str, name: &str) -> ServiceError {
    match &e {
        kube::Error::Api(status) if status.code == 404 => ServiceError::NotFound(format!("{namespace}/{name}")),
        _ => e.into(),
    }
}

/// One person's answers for one verb on credentials, per namespace and per department, asked once
/// per listing (and not at all when the answer holds everywhere).
pub(super) struct NamespaceAccess<'a> {
    service: &'a CredentialsService,
    who: &'a Identity,
    verb: &'static str,
    everywhere: bool,
    namespaces: HashMap<String, bool>,
    /// For the Department-scope credentials, which live in the system namespace.
    departments: HashMap<String, bool>,
}

impl<'a> NamespaceAccess<'a> {
    pub(super) async fn new(service: &'a CredentialsService, who: &'a Identity, verb: &'static str) -> Result<Self, ServiceError> {
        let everywhere = service.may(who, verb, "").await?;
        Ok(NamespaceAccess { service, who, verb, everywhere, namespaces: HashMap::new(), departments: HashMap::new() })
    }

    /// Whether the verb is allowed on the row itself: where it lives, or as its department's
    /// administrator.
    async fn governs(&mut self, row: &CredentialRow) -> Result<bool, ServiceError> {
        if self.allows(&row.namespace).await? {
            return Ok(true);
        }
        let Some(department) = &row.governing_department else { return Ok(false) };
        if let Some(allowed) = self.departments.get(department) {
            return Ok(*allowed);
        }
        let allowed = self.service.access.may_in_department(self.who, self.verb, department).await?;
        self.departments.insert(department.clone(), allowed);
        Ok(allowed)
    }

    /// Whether the verb is allowed on the row or in a namespace it reaches.
    async fn reaches(&mut self, row: &CredentialRow) -> Result<bool, ServiceError> {
        if self.governs(row).await? {
            return Ok(true);
        }
        for target in row.home_targets() {
            if self.allows(&target.namespace).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The row as this person may see it: workloads in namespaces they may not see are counted,
    /// not named.
    pub(super) async fn without_unseen_users<'r>(&mut self, row: &'r CredentialRow) -> Result<std::borrow::Cow<'r, CredentialRow>, ServiceError> {
        if self.everywhere || row.used_by.is_empty() {
            return Ok(std::borrow::Cow::Borrowed(row));
        }
        let mut seen = Vec::with_capacity(row.used_by.len());
        for user in &row.used_by {
            // `kind/namespace/name`
            let namespace = user.split('/').nth(1).unwrap_or_default();
            if self.allows(namespace).await? {
                seen.push(user.clone());
            }
        }
        if seen.len() == row.used_by.len() {
            return Ok(std::borrow::Cow::Borrowed(row));
        }
        let mut row = row.clone();
        row.unseen_users = row.used_by.len() - seen.len();
        row.used_by = seen;
        Ok(std::borrow::Cow::Owned(row))
    }

    /// By the person's roles in `namespace`, or as an administrator of its project's department.
    async fn allows(&mut self, namespace: &str) -> Result<bool, ServiceError> {
        if self.everywhere {
            return Ok(true);
        }
        if let Some(allowed) = self.namespaces.get(namespace) {
            return Ok(*allowed);
        }
        let department = self.service.projects.department_of(namespace);
        let allowed = self.service.may_at(self.who, self.verb, namespace, department.as_deref()).await?;
        self.namespaces.insert(namespace.to_string(), allowed);
        Ok(allowed)
    }
}
