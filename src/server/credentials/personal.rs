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
use crate::domain::credential::{FieldError, Scope, ScopeLevel, object_name_from};
use crate::domain::identity::Identity;
use crate::domain::new_credential::{NewPersonalCredential, PersonalProjects};
use crate::domain::query::CredentialRow;

/// The virtual resource whose `create` in a project lets a person copy their own credentials there.
pub const RESOURCE: &str = "personalcredentials";
/// On a personal credential: the service's signature over its name, Secret, owner, groups and
/// projects (hex HMAC-SHA256).
pub const SEAL: &str = "keyhold.dev/seal";

/// The key that signs personal credentials' owners and projects (derived from the session key,
/// which only Keyhold reads).
#[derive(Clone)]
pub struct SealKey(ring::hmac::Key);

impl SealKey {
    pub fn new(secret: &[u8]) -> Self {
        // Its own key, so a seal is never a valid session signature or the reverse.
        let derived = ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret), b"keyhold personal credentials");
        SealKey(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, derived.as_ref()))
    }

    fn message(name: &str, secret: &str, personal: &PersonalSpec) -> Vec<u8> {
        serde_json::to_vec(&(name, secret, &personal.owner, &personal.groups, &personal.projects)).expect("serialisable")
    }

    /// The seal of what the service writes for credential `name`.
    pub fn seal(&self, name: &str, secret: &str, personal: &PersonalSpec) -> String {
        ring::hmac::sign(&self.0, &Self::message(name, secret, personal)).as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Whether the credential's owner, groups and projects are what the service wrote: anyone
    /// who may edit Credentials in the system namespace could otherwise add a project of theirs
    /// or a group that lets one, and have the owner's values copied there.
    pub fn sealed(&self, credential: &Credential, personal: &PersonalSpec) -> bool {
        use kube::ResourceExt;
        let Some(seal) = credential.annotations().get(SEAL) else { return false };
        let Some(tag) = (0..seal.len()).step_by(2).map(|i| seal.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect::<Option<Vec<u8>>>() else { return false };
        ring::hmac::verify(&self.0, &Self::message(&credential.name_any(), &credential.spec.secret_ref.name, personal), &tag).is_ok()
    }
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(…)")
    }
}

fn owned_by(credential: &Credential, who: &Identity, system_namespace: &str) -> bool {
    credential.personal(system_namespace).is_some_and(|p| p.owner == who.user)
}

/// A Kubernetes name for a personal credential: its owner's and a random part, never its display
/// name, which Events, logs and the copies' names would show to others.
fn personal_name(owner: &str) -> String {
    use rand::Rng;
    // At most 48 characters in all, within the 50 a derived name keeps.
    let owner: String = object_name_from(owner).chars().take(30).collect();
    let random: String = rand::rng().sample_iter(rand::distr::Alphanumeric).take(8).map(|c| char::from(c).to_ascii_lowercase()).collect();
    format!("personal-{}-{random}", owner.trim_end_matches('-')).replace("--", "-")
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
        for credential in self.cache.state().iter().filter(|c| owned_by(c, who, &self.settings.system_namespace)) {
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
        self.cache.get(&kube::runtime::reflector::ObjectRef::new(name).within(self.personal_namespace())).is_some_and(|c| owned_by(&c, who, self.personal_namespace()))
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
        let Some(seal) = self.settings.seal.clone() else { return Err(ServiceError::Forbidden { verb: "keep personal", namespace: "this Keyhold".into() }) };
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
        // A random name of the owner's: its copies' names are checked where they go, not here.
        let personal = Scope { level: ScopeLevel::Personal, department: None, project: None, cluster: None };
        let name = self.free_name(&namespace, &personal, &personal_name(&who.user)).await?;
        let description = request.description.trim();
        let personal = PersonalSpec { owner: who.user.clone(), groups: who.groups.clone(), projects: request.projects.clone() };
        let spec = CredentialSpec {
            display_name: request.display_name.trim().to_string(),
            description: (!description.is_empty()).then(|| description.to_string()),
            credential_type: request.values.credential_type(),
            scope: Scope { level: ScopeLevel::Personal, department: None, project: None, cluster: None },
            secret_ref: SecretRef { name: name.clone(), managed: true },
            registry: request.values.registry().map(str::to_string),
            expires_on: None,
            personal: Some(personal.clone()),
        };
        let annotations = [(SEAL.to_string(), seal.seal(&name, &name, &personal))];
        let created = self.make_with_secret(who, &namespace, spec, annotations, &request.values).await?;
        Ok(self.created(who, &created).await)
    }

    /// Changes the projects a personal credential is copied into: the controller makes the new
    /// copies and removes the ones no longer wanted. The owner's groups are taken afresh.
    pub async fn set_personal_projects(&self, who: &Identity, name: &str, request: &PersonalProjects) -> Result<CredentialRow, ServiceError> {
        let namespace = self.settings.system_namespace.clone();
        let credential = self.authorized(who, "update", &namespace, name).await?;
        let Some(personal) = credential.personal(&namespace) else { return Err(ServiceError::NotFound(format!("{namespace}/{name}"))) };
        let Some(seal) = self.settings.seal.clone() else { return Err(ServiceError::NotFound(format!("{namespace}/{name}"))) };
        let problems = request.problems();
        if !problems.is_empty() {
            return Err(ServiceError::Invalid(problems));
        }
        let added: Vec<&String> = request.projects.iter().filter(|p| !personal.projects.contains(p)).collect();
        self.require_personal_projects(who, &added).await?;
        let personal = PersonalSpec { owner: who.user.clone(), groups: who.groups.clone(), projects: request.projects.clone() };
        let mut annotations = changed_by(who);
        annotations[SEAL] = seal.seal(name, &credential.spec.secret_ref.name, &personal).into();
        let patch = serde_json::json!({"metadata": {"annotations": annotations}, "spec": {"personal": personal}});
        let credentials: Api<Credential> = Api::namespaced(self.client.clone(), &namespace);
        let changed = credentials.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
        self.record(who, &changed, "ProjectsChanged", "given new projects").await;
        self.cached(&changed, |c| c.personal(&namespace).map(|p| &p.projects) == Some(&request.projects)).await;
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
            if let Some(personal) = credential.personal(&self.settings.system_namespace) {
                *counts.entry(personal.owner.clone()).or_default() += 1;
            }
        }
        Ok(Some(counts))
    }
}

/// For logs and Events: a personal credential is named by its Kubernetes name only.
pub fn described(credential: &Credential, system_namespace: &str) -> String {
    if credential.is_personal(system_namespace) { format!("Personal credential {}", credential.name_any()) } else { format!("Credential {:?}", credential.spec.display_name) }
}
