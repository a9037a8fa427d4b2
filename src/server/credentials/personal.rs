//! Personal credentials: a person's own registry logins, generic secrets and NGC API keys, seen
//! and changed by them alone (whatever anyone's roles), kept in the system namespace and copied by
//! the controller only into the projects they pick where their roles let them
//! (`create` on `personalcredentials.keyhold.dev`). Rename, new values and delete are the shared
//! credentials' calls (`authorized` lets only the owner through); this module adds what differs.

use std::collections::BTreeMap;

use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};

use super::resource::{Credential, CredentialSpec, PersonalSpec, SecretRef};
use super::service::{CredentialsService, NamespaceAccess, ServiceError, changed_by};
use crate::domain::credential::{FieldError, Scope, ScopeLevel};
use crate::domain::identity::Identity;
use crate::domain::new_credential::{NewPersonalCredential, PersonalProjects};
use crate::domain::query::CredentialRow;

/// The virtual resource whose `create` in a project lets a person copy their own credentials there.
pub const RESOURCE: &str = "personalcredentials";

fn owned_by(credential: &Credential, who: &Identity) -> bool {
    credential.personal().is_some_and(|p| p.owner == who.user)
}

fn not_allowed() -> ServiceError {
    ServiceError::Invalid(vec![FieldError::new("projects", "Pick projects from the list: your roles let you keep personal credentials only there")])
}

impl CredentialsService {
    /// `who`'s own credentials, by name; "Used by" names only workloads they may see.
    pub async fn mine(&self, who: &Identity) -> Result<Vec<CredentialRow>, ServiceError> {
        let usage = self.usage.snapshot();
        let mut may_list = NamespaceAccess::new(self, who, "list").await?;
        let mut rows = Vec::new();
        for credential in self.cache.state().iter().filter(|c| owned_by(c, who)) {
            let row = self.row(credential, &usage, true);
            rows.push(may_list.without_unseen_users(&row).await?.into_owned());
        }
        rows.sort_by_key(|r| r.display_name.to_lowercase());
        Ok(rows)
    }

    /// Where personal credentials live.
    pub fn personal_namespace(&self) -> &str {
        &self.settings.system_namespace
    }

    /// Whether `name` (in the system namespace) is one of `who`'s own credentials.
    pub fn owns(&self, who: &Identity, name: &str) -> bool {
        self.cache.get(&kube::runtime::reflector::ObjectRef::new(name).within(self.personal_namespace())).is_some_and(|c| owned_by(&c, who))
    }

    /// One of `who`'s own credentials as a row, if it is theirs.
    pub(super) async fn own_personal(&self, who: &Identity, namespace: &str, name: &str) -> Result<Option<CredentialRow>, ServiceError> {
        Ok(self.mine(who).await?.into_iter().find(|r| r.namespace == namespace && r.name == name))
    }

    /// The projects `who` may copy their own credentials into, for the form's choice.
    pub async fn personal_projects(&self, who: &Identity) -> Result<Vec<String>, ServiceError> {
        let mut allowed = Vec::new();
        for project in self.projects().list().projects {
            if self.access().may(who, "create", RESOURCE, &project.namespace).await? {
                allowed.push(project.namespace);
            }
        }
        Ok(allowed)
    }

    /// Refuses projects `who` may not copy into, among `added` (a project already picked stays
    /// pickable: the controller keeps no copy there while the roles say no).
    async fn require_personal_projects(&self, who: &Identity, added: &[&String]) -> Result<(), ServiceError> {
        let allowed = self.personal_projects(who).await?;
        if added.iter().all(|p| allowed.contains(p)) { Ok(()) } else { Err(not_allowed()) }
    }

    /// Creates a personal credential for `who`, copied into the projects they picked.
    pub async fn create_personal(&self, who: &Identity, request: &NewPersonalCredential) -> Result<CredentialRow, ServiceError> {
        // Asked before anything else, so a request from someone who may not costs nothing.
        if self.personal_projects(who).await?.is_empty() {
            return Err(ServiceError::Forbidden { verb: "keep personal", namespace: "any project".into() });
        }
        let problems = request.problems();
        if !problems.is_empty() {
            return Err(ServiceError::Invalid(problems));
        }
        self.require_personal_projects(who, &request.projects.iter().collect::<Vec<_>>()).await?;
        let _creating = self.creating.lock().await;
        if self.display_name_taken(&request.display_name, None, Some(&who.user)) {
            return Err(ServiceError::Conflict(FieldError::new("displayName", "You already have a credential of that name")));
        }
        let namespace = self.settings.system_namespace.clone();
        // Named after its owner, so a copy in a project says whose it is.
        let name = self.free_name(&namespace, &format!("{} {}", who.user, request.display_name)).await?;
        let description = request.description.trim();
        let spec = CredentialSpec {
            display_name: request.display_name.trim().to_string(),
            description: (!description.is_empty()).then(|| description.to_string()),
            credential_type: request.values.credential_type(),
            scope: Scope { level: ScopeLevel::Personal, department: None, project: None },
            secret_ref: SecretRef { name, managed: true },
            registry: request.values.registry().map(str::to_string),
            personal: Some(PersonalSpec { owner: who.user.clone(), groups: who.groups.clone(), projects: request.projects.clone() }),
        };
        let created = self.make_with_secret(who, &namespace, spec, &request.values).await?;
        Ok(self.created(who, &created).await)
    }

    /// Changes the projects a personal credential is copied into: the controller makes the new
    /// copies and removes the ones no longer wanted. The owner's groups are taken afresh.
    pub async fn set_personal_projects(&self, who: &Identity, name: &str, request: &PersonalProjects) -> Result<CredentialRow, ServiceError> {
        let namespace = self.settings.system_namespace.clone();
        let credential = self.authorized(who, "update", &namespace, name).await?;
        let Some(personal) = credential.personal() else { return Err(ServiceError::NotFound(format!("{namespace}/{name}"))) };
        let problems = request.problems();
        if !problems.is_empty() {
            return Err(ServiceError::Invalid(problems));
        }
        let added: Vec<&String> = request.projects.iter().filter(|p| !personal.projects.contains(p)).collect();
        self.require_personal_projects(who, &added).await?;
        let patch = serde_json::json!({
            "metadata": {"annotations": changed_by(who)},
            "spec": {"personal": PersonalSpec { owner: who.user.clone(), groups: who.groups.clone(), projects: request.projects.clone() }},
        });
        let credentials: Api<Credential> = Api::namespaced(self.client.clone(), &namespace);
        let changed = credentials.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
        self.record(who, &changed, "ProjectsChanged", "given new projects").await;
        self.cached(&changed, |c| c.personal().map(|p| &p.projects) == Some(&request.projects)).await;
        Ok(self.row(&changed, &self.usage.snapshot(), true))
    }

    /// How many personal credentials each person keeps, for those who may list credentials
    /// everywhere (administrators): counts, never names or keys. `None` for everyone else.
    pub async fn personal_counts(&self, who: &Identity) -> Result<Option<BTreeMap<String, usize>>, ServiceError> {
        if !self.access().may(who, "list", "credentials", "").await? {
            return Ok(None);
        }
        let mut counts = BTreeMap::new();
        for credential in self.cache.state().iter() {
            if let Some(personal) = credential.personal() {
                *counts.entry(personal.owner.clone()).or_default() += 1;
            }
        }
        Ok(Some(counts))
    }
}

/// For logs and Events: a personal credential is named by its Kubernetes name only.
pub fn described(credential: &Credential) -> String {
    if credential.is_personal() { format!("Personal credential {}", credential.name_any()) } else { format!("Credential {:?}", credential.spec.display_name) }
}
