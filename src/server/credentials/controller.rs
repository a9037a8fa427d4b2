//! The credentials controller (kube::runtime): keeps each credential's Secret present in every
//! namespace its scope reaches, reports what it found in the credential's status, and cleans up
//! through the `keyhold.dev/cleanup` finalizer. Laid out after kube-rs's controller-rs.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::runtime::reflector::ObjectRef;
use kube::core::PartialObjectMeta;
use kube::runtime::watcher;
use kube::{Client, ResourceExt};

use super::events::{self, Severity};
use super::{activity, personal};
use super::resource::{Condition, Credential, CredentialStatus, Target};
use super::ownership::{self, CREDENTIAL_LABEL, MANAGED_BY, labelled_by_uid, labelled_for, legacy_owner, made_before_owner_references, managed_for, marks, owner_selector};
use super::service::{Settings, offered};
use crate::domain::credential::{Phase, RESOURCE_LABEL, ScopeLevel};
use crate::domain::identity::Identity;
use crate::domain::lifecycle::Expiry;
use crate::server::auth::access::Access;
use crate::domain::project::{DEPARTMENT_LABEL, PROJECT_LABEL};

pub const FINALIZER: &str = "keyhold.dev/cleanup";
const MANAGER: &str = "keyhold-controller";
/// On a copy: the `resourceVersion` of the source it was copied from. A copy that differs from a
/// source still at that version was changed by someone else (drift), not by a new source value.
pub const COPIED_FROM: &str = "keyhold.dev/copied-from-version";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("finalizer: {0}")]
    Finalizer(#[from] Box<kube::runtime::finalizer::Error<Error>>),
}

struct Context {
    client: Client,
    settings: Settings,
    /// Asks whether a personal credential's owner may still keep it in a project.
    access: Access,
}

/// The credential a Secret's `keyhold.dev/credential` label names: by uid, or by name for what
/// an earlier Keyhold labelled.
fn labelled_owner(value: &str, store: &kube::runtime::reflector::Store<Credential>) -> Option<ObjectRef<Credential>> {
    if let Some((namespace, name)) = legacy_owner(value) {
        return Some(ObjectRef::new(name).within(namespace));
    }
    store.state().iter().find(|c| !value.is_empty() && c.uid().as_deref() == Some(value)).map(|c| ObjectRef::from_obj(&**c))
}

/// Runs the controller until the process stops.
pub async fn run(client: Client, settings: Settings) {
    let credentials: Api<Credential> = Api::all(client.clone());
    let controller = Controller::new(credentials, watcher::Config::default());
    let store = controller.store();
    // A project namespace appearing, changing department or going away changes wider scopes.
    let namespaces = Api::<Namespace>::all(client.clone());
    // Managed Secrets (sources and copies) are watched as metadata only: values stay out of caches.
    let secrets = Api::<PartialObjectMeta<Secret>>::all(client.clone());
    let managed = format!("{MANAGED_BY}=keyhold");
    // Never a remembered answer: a reconcile started by a removed binding must see it gone.
    let access = Access::new(client.clone(), Duration::ZERO);
    let context = Arc::new(Context { client: client.clone(), settings, access });
    let (wide, owners, personal) = (store.clone(), store.clone(), store.clone());
    // Whether an owner may keep a personal credential in a project changes with the bindings.
    let personal_ones = move || personal.state().iter().filter(|c| c.spec.scope.level == ScopeLevel::Personal).map(|c| ObjectRef::from_obj(&**c)).collect::<Vec<_>>();
    let role_bindings = Api::<PartialObjectMeta<RoleBinding>>::all(client.clone());
    let cluster_role_bindings = Api::<PartialObjectMeta<ClusterRoleBinding>>::all(client.clone());
    let roles = Api::<PartialObjectMeta<Role>>::all(client.clone());
    let cluster_roles = Api::<PartialObjectMeta<ClusterRole>>::all(client.clone());
    controller
        .watches(namespaces, watcher::Config::default().labels(PROJECT_LABEL), move |_ns| {
            wide.state().iter().filter(|c| c.spec.scope.level != ScopeLevel::Project).map(|c| ObjectRef::from_obj(&**c)).collect::<Vec<_>>()
        })
        .watches(secrets.clone(), watcher::Config::default().labels(&managed), move |secret| {
            secret.labels().get(CREDENTIAL_LABEL).and_then(|v| labelled_owner(v, &owners))
        })
        .watches(role_bindings, watcher::Config::default(), {
            let personal_ones = personal_ones.clone();
            move |_| personal_ones()
        })
        .watches(cluster_role_bindings, watcher::Config::default(), {
            let personal_ones = personal_ones.clone();
            move |_| personal_ones()
        })
        .watches(roles, watcher::Config::default(), {
            let personal_ones = personal_ones.clone();
            move |_| personal_ones()
        })
        .watches(cluster_roles, watcher::Config::default(), move |_| personal_ones())
        // Existing Secrets offered by their labels: labelling (or unlabelling) one changes whether
        // the credentials naming it may use it.
        .watches(secrets, watcher::Config::default().labels(RESOURCE_LABEL), move |secret| {
            let (namespace, name) = (secret.namespace(), secret.name_any());
            store
                .state()
                .iter()
                .filter(|c| c.namespace() == namespace && c.spec.secret_ref.name == name)
                .map(|c| ObjectRef::from_obj(&**c))
                .collect::<Vec<_>>()
        })
        .shutdown_on_signal()
        .run(reconcile, error_policy, context)
        .for_each(|result| async move {
            match result {
                Ok(_) => {}
                // A credential deleted while queued: nothing to do.
                Err(kube::runtime::controller::Error::ObjectNotFound(object)) => tracing::debug!(%object, "gone before reconcile"),
                Err(e) => tracing::warn!(error = %e, "reconcile failed"),
            }
        })
        .await;
}

async fn reconcile(credential: Arc<Credential>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = credential.namespace().unwrap_or_default();
    let api: Api<Credential> = Api::namespaced(ctx.client.clone(), &namespace);
    finalizer(&api, FINALIZER, credential, |event| async {
        match event {
            Finalizer::Apply(credential) => apply(&credential, &ctx).await,
            Finalizer::Cleanup(credential) => cleanup(&credential, &ctx).await,
        }
    })
    .await
    .map_err(|e| Error::Finalizer(Box::new(e)))
}

fn error_policy(_credential: Arc<Credential>, error: &Error, _ctx: Arc<Context>) -> Action {
    tracing::warn!(%error, "will retry");
    Action::requeue(Duration::from_secs(5))
}

/// The project namespaces a credential must be usable in, other than its own, and the places it
/// may not be copied to with why (a personal credential's projects its owner may no longer use).
async fn target_namespaces(credential: &Credential, ctx: &Context) -> Result<(Vec<String>, Vec<Target>), Error> {
    let scope = &credential.spec.scope;
    let selector = match scope.level {
        ScopeLevel::Project => return Ok((Vec::new(), Vec::new())),
        ScopeLevel::Personal => return personal_targets(credential, ctx).await,
        ScopeLevel::Department => format!("{PROJECT_LABEL},{DEPARTMENT_LABEL}={}", scope.department.clone().unwrap_or_default()),
        ScopeLevel::Cluster | ScopeLevel::Account => PROJECT_LABEL.to_string(),
    };
    let namespaces = Api::<Namespace>::all(ctx.client.clone()).list_metadata(&ListParams::default().labels(&selector)).await?;
    let own = credential.namespace().unwrap_or_default();
    Ok((namespaces.items.into_iter().map(|n| n.name_any()).filter(|n| *n != own).collect(), Vec::new()))
}

/// The projects a personal credential's owner picked where they may still keep it: projects, and
/// where a SubjectAccessReview for the owner allows `create` on `personalcredentials`. The owner
/// and groups are what the service recorded from the signed-in person; the check is made on every
/// reconcile (a changed RoleBinding starts one), so a lost role removes the copy.
async fn personal_targets(credential: &Credential, ctx: &Context) -> Result<(Vec<String>, Vec<Target>), Error> {
    let Some(personal) = credential.personal(&ctx.settings.system_namespace) else { return Ok((Vec::new(), Vec::new())) };
    let projects = Api::<Namespace>::all(ctx.client.clone()).list_metadata(&ListParams::default().labels(PROJECT_LABEL)).await?;
    let owner = Identity { user: personal.owner.clone(), groups: personal.groups.clone() };
    let (mut wanted, mut refused) = (Vec::new(), Vec::new());
    for project in &personal.projects {
        if !projects.items.iter().any(|n| n.name_any() == *project) {
            refused.push(target(ctx, project, Phase::Issues, "NotAProject", "there is no such project; nothing is copied".into()));
        } else if ctx.access.may(&owner, "create", personal::RESOURCE, project).await? {
            wanted.push(project.clone());
        } else {
            let message = format!("{} may not keep personal credentials in {project}; no copy is kept there", owner.user);
            refused.push(target(ctx, project, Phase::Issues, "NotAllowed", message));
        }
    }
    Ok((wanted, refused))
}

fn target(ctx: &Context, namespace: &str, state: Phase, reason: &str, message: String) -> Target {
    Target { cluster: ctx.settings.cluster_name.clone(), namespace: namespace.to_string(), state, reason: reason.into(), message, version: String::new() }
}

/// Why a credential may not use its Secret, if it may not. Everything in a Credential's spec was
/// written by whoever may edit Credentials, so none of it is believed on its own: the credential
/// must live where its scope says, and its Secret must be one Keyhold made for it or one an
/// administrator offered for its type and scope.
pub(super) fn refusal(credential: &Credential, namespace: &str, secret: &Secret, settings: &Settings) -> Option<(&'static str, String)> {
    let scope = &credential.spec.scope;
    if scope.level == ScopeLevel::Personal && namespace == settings.system_namespace {
        let sealed = credential.spec.personal.as_ref().is_some_and(|p| settings.seal.as_ref().is_some_and(|key| key.sealed(credential, p)));
        if !sealed {
            return Some(("NotSealed", "this personal credential's owner and projects were not written by Keyhold; nothing is copied".to_string()));
        }
    }
    if scope.home(&settings.system_namespace).as_deref() != Ok(namespace) {
        let message = match scope.level {
            ScopeLevel::Project => "a Project-scope credential must live in its project's namespace".to_string(),
            ScopeLevel::Department => format!("a Department-scope credential must live in {} and name its department", settings.system_namespace),
            ScopeLevel::Cluster => format!("a Cluster-scope credential must live in {}", settings.system_namespace),
            ScopeLevel::Account => "Account scope needs more than one cluster".to_string(),
            ScopeLevel::Personal => format!("a personal credential must live in {}", settings.system_namespace),
        };
        return Some(("WrongNamespace", format!("{message}; nothing is copied")));
    }
    if !managed_for(&secret.metadata, credential) && !offered(&secret.metadata, settings, credential.spec.credential_type, scope) {
        let name = secret.name_any();
        return Some(("NotLabelled", format!("the Secret {name} was not made by Keyhold for this credential and lacks the labels that offer it for this type and scope; nothing is copied")));
    }
    None
}

/// Gives such a Secret the ownerReference and labels a Keyhold of today sets when it makes one.
async fn adopt(secrets: &Api<Secret>, secret: Secret, credential: &Credential) -> Result<Secret, Error> {
    let patch = ownership::ownership_patch(credential);
    tracing::info!(secret = %secret.name_any(), credential = %credential.name_any(), "adopted a Secret an earlier Keyhold made");
    Ok(secrets.patch(&secret.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await?)
}

async fn apply(credential: &Credential, ctx: &Context) -> Result<Action, Error> {
    let namespace = credential.namespace().unwrap_or_default();
    let source_name = &credential.spec.secret_ref.name;
    let secrets = Api::<Secret>::namespaced(ctx.client.clone(), &namespace);
    let source = match secrets.get_opt(source_name).await? {
        Some(secret) if made_before_owner_references(&secret.metadata, credential) => Some(adopt(&secrets, secret, credential).await?),
        // Owned, but labelled as an earlier Keyhold did: relabelled, so only uids remain.
        Some(secret) if managed_for(&secret.metadata, credential) && !labelled_by_uid(secret.labels(), credential) => Some(adopt(&secrets, secret, credential).await?),
        other => other,
    };
    let mut targets = Vec::new();
    let mut keys = Vec::new();
    let refused = source.as_ref().and_then(|secret| refusal(credential, &namespace, secret, &ctx.settings));
    match (&source, refused) {
        (None, _) => targets.push(target(ctx, &namespace, Phase::Issues, "NotCreated", format!("the Secret {source_name} does not exist"))),
        (Some(_), Some((reason, message))) => {
            targets.push(target(ctx, &namespace, Phase::Issues, reason, message));
            // Copies made before the credential was changed to something refused go too.
            remove_copies(credential, ctx, &BTreeSet::new()).await?;
        }
        (Some(secret), None) => {
            keys = secret.data.as_ref().map(|d| d.keys().cloned().collect()).unwrap_or_default();
            targets.push(Target { version: secret.resource_version().unwrap_or_default(), ..target(ctx, &namespace, Phase::Ready, "", String::new()) });
            let (wanted, refused) = target_namespaces(credential, ctx).await?;
            for ns in &wanted {
                targets.push(copy_into(credential, secret, ns, ctx).await);
            }
            targets.extend(refused);
            remove_copies(credential, ctx, &wanted.into_iter().collect()).await?;
        }
    }
    let ready = targets.iter().all(|t| t.state == Phase::Ready);
    let condition = Condition {
        condition_type: "Ready".into(),
        status: if ready { "True" } else { "False" }.into(),
        reason: if ready { "Propagated".into() } else { targets.iter().find(|t| t.state != Phase::Ready).map(|t| t.reason.clone()).unwrap_or_default() },
        message: String::new(),
        last_transition_time: None,
    };
    let before = credential.status.clone().unwrap_or_default();
    let status = CredentialStatus {
        phase: if ready { Phase::Ready } else { Phase::Issues },
        keys,
        targets,
        conditions: vec![condition],
        observed_generation: credential.metadata.generation,
        expiry_notice: expiry_notice(credential).map(|(notice, _)| notice),
        last_test: match &source {
            Some(secret) if ctx.settings.connection_tests.due(credential) => Some(ctx.settings.connection_tests.saved(credential, Some(secret), &ctx.settings, "").await),
            _ => before.last_test.clone(),
        },
    };
    if before != status {
        let api: Api<Credential> = Api::namespaced(ctx.client.clone(), &namespace);
        // Merge-patched: a field gone from the new status must be sent as null to go.
        let mut patch = serde_json::json!({"status": status});
        if status.expiry_notice.is_none() {
            patch["status"]["expiryNotice"] = serde_json::Value::Null;
        }
        api.patch_status(&credential.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await?;
        // Recorded once the status holds what they report, so a failed write does not repeat them.
        observe_propagation(credential, &before, &status);
        if let Some(detail) = propagation_change(&before, &status) {
            activity::append(&ctx.client, &ctx.settings.system_namespace, credential, "Propagated", "", detail).await;
        }
        if let Some(tested) = status.last_test.as_ref().filter(|t| before.last_test.as_ref() != Some(*t)) {
            activity::append(&ctx.client, &ctx.settings.system_namespace, credential, "Tested", "", tested.described()).await;
        }
        if let Some((_, (reason, message))) = expiry_notice(credential).filter(|(notice, _)| before.expiry_notice.as_ref() != Some(notice)) {
            events::publish(&ctx.client, events::reference(credential), Severity::Warning, reason, message.clone()).await;
            activity::append(&ctx.client, &ctx.settings.system_namespace, credential, reason, "", message).await;
        }
    }
    // Back at the next midnight (UTC) at the latest, when an expiry may begin to warn.
    let now = jiff::Timestamp::now().as_second();
    let to_midnight = 86_400 - now.rem_euclid(86_400) + 1;
    Ok(Action::requeue(Duration::from_secs(to_midnight.clamp(1, 300) as u64)))
}

/// When every namespace has come to hold the source's current values, how long that took since
/// the values last changed (a person's new values, or the credential's creation).
fn observe_propagation(credential: &Credential, before: &CredentialStatus, after: &CredentialStatus) {
    let everywhere = |status: &CredentialStatus| {
        let source = status.targets.first().map(|t| t.version.clone()).unwrap_or_default();
        !source.is_empty() && status.targets.iter().all(|t| t.state == Phase::Ready && t.version == source)
    };
    // Only a new source version counts: not a recovery, not the first status of an upgrade.
    let source = |status: &CredentialStatus| status.targets.first().map(|t| t.version.clone()).unwrap_or_default();
    if !everywhere(after) || source(before).is_empty() || source(before) == source(after) {
        return;
    }
    let created = credential.metadata.creation_timestamp.as_ref().map(|t| t.0.as_second());
    let changed = credential.annotations().get(super::service::UPDATED_AT).and_then(|at| at.parse::<jiff::Timestamp>().ok()).map(|t| t.as_second());
    if let Some(since) = changed.or(created) {
        crate::server::metrics::propagated((jiff::Timestamp::now().as_second() - since).max(0) as f64);
    }
}

/// What an Activity entry says of a change in where the credential is usable: each namespace
/// whose state changed, and copies that took a new value. `None` when only wording changed.
fn propagation_change(before: &CredentialStatus, after: &CredentialStatus) -> Option<String> {
    let was = |namespace: &str| before.targets.iter().find(|t| t.namespace == namespace);
    let mut changes = Vec::new();
    let mut updated = 0;
    for target in &after.targets {
        match was(&target.namespace) {
            Some(old) if old.state == target.state && old.reason == target.reason => {
                if !old.version.is_empty() && old.version != target.version {
                    updated += 1;
                }
            }
            _ if target.state == Phase::Ready => changes.push(format!("{}: ready", target.namespace)),
            _ => changes.push(format!("{}: {}", target.namespace, target.message)),
        }
    }
    let removed = before.targets.iter().filter(|t| !after.targets.iter().any(|n| n.namespace == t.namespace)).map(|t| format!("{}: removed", t.namespace));
    changes.extend(removed);
    if updated > 0 {
        changes.push(format!("new value in {updated} namespace{}", if updated == 1 { "" } else { "s" }));
    }
    (!changes.is_empty()).then(|| changes.join("; "))
}

/// The expiry notice standing for a credential (`Soon <date>` from `WARN_DAYS` before its
/// "Expires on", `Expired <date>` from the day), with the Warning Event's reason and message;
/// raised once each, when the notice changes.
fn expiry_notice(credential: &Credential) -> Option<(String, (&'static str, String))> {
    let expires_on = credential.spec.expires_on.as_deref()?;
    let name = &credential.spec.display_name;
    match Expiry::of(Some(expires_on), jiff::Timestamp::now().as_second()) {
        Expiry::Soon(days) => Some((format!("Soon {expires_on}"), ("ExpiresSoon", format!("{name} expires on {expires_on}, in {days} day{}", if days == 1 { "" } else { "s" })))),
        Expiry::Expired => Some((format!("Expired {expires_on}"), ("Expired", format!("{name} expired on {expires_on}")))),
        Expiry::Never | Expiry::Later => None,
    }
}

/// Puts a copy of `source` into `namespace`, unless a Secret Keyhold does not manage is there. A
/// copy someone changed is restored, with a warning Event saying so.
async fn copy_into(credential: &Credential, source: &Secret, namespace: &str, ctx: &Context) -> Target {
    let name = source.name_any();
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    let version = source.resource_version().unwrap_or_default();
    let drifted = match secrets.get_opt(&name).await {
        Ok(Some(existing)) if !labelled_for(existing.labels(), credential) => {
            return target(ctx, namespace, Phase::Issues, "Clash", format!("a Secret named {name} that Keyhold does not manage is already there"));
        }
        Ok(Some(existing)) => {
            let same = existing.data == source.data && existing.type_ == source.type_ && labelled_by_uid(existing.labels(), credential);
            let from_current = existing.annotations().get(COPIED_FROM) == Some(&version);
            if same && from_current {
                return Target { version, ..target(ctx, namespace, Phase::Ready, "", String::new()) };
            }
            !same && from_current
        }
        Ok(None) => false,
        Err(e) => return target(ctx, namespace, Phase::Issues, "ReplicationError", e.to_string()),
    };
    let (labels, mut annotations) = marks(credential);
    annotations.insert(COPIED_FROM.to_string(), version.clone());
    let copy = Secret {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace: Some(namespace.to_string()),
            labels: Some(labels),
            annotations: Some(annotations),
            ..Default::default()
        },
        type_: source.type_.clone(),
        data: source.data.clone(),
        ..Default::default()
    };
    // Server-side apply: the values never land in a last-applied annotation.
    let written = secrets.patch(&name, &PatchParams::apply(MANAGER).force(), &Patch::Apply(&copy)).await;
    if drifted {
        tracing::warn!(namespace, secret = %name, restored = written.is_ok(), "a copy was changed outside Keyhold");
        let outcome = if written.is_ok() { "Keyhold restored it" } else { "Keyhold could not restore it" };
        let message = format!("The copy {namespace}/{name} was changed outside Keyhold; {outcome}");
        events::publish(&ctx.client, events::reference(credential), Severity::Warning, "Drifted", message.clone()).await;
        activity::append(&ctx.client, &ctx.settings.system_namespace, credential, "Drifted", "", message).await;
    }
    match written {
        Ok(_) => Target { version, ..target(ctx, namespace, Phase::Ready, "", String::new()) },
        Err(e) => target(ctx, namespace, Phase::Issues, if drifted { "Drifted" } else { "ReplicationError" }, e.to_string()),
    }
}

/// Deletes this credential's copies outside `keep` (every copy when `keep` is empty).
async fn remove_copies(credential: &Credential, ctx: &Context, keep: &BTreeSet<String>) -> Result<(), Error> {
    let Some(selector) = owner_selector(credential) else { return Ok(()) };
    let home = credential.namespace().unwrap_or_default();
    let copies = Api::<Secret>::all(ctx.client.clone()).list_metadata(&ListParams::default().labels(&selector)).await?;
    for copy in copies.items {
        let namespace = copy.namespace().unwrap_or_default();
        if namespace != home && !keep.contains(&namespace) {
            Api::<Secret>::namespaced(ctx.client.clone(), &namespace).delete(&copy.name_any(), &DeleteParams::default()).await?;
        }
    }
    Ok(())
}

async fn cleanup(credential: &Credential, ctx: &Context) -> Result<Action, Error> {
    remove_copies(credential, ctx, &BTreeSet::new()).await?;
    activity::remove(&ctx.client, &ctx.settings.system_namespace, credential).await?;
    super::notebooks::withdraw(&ctx.client, credential).await?;
    if credential.spec.secret_ref.managed {
        let namespace = credential.namespace().unwrap_or_default();
        let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace);
        if let Some(source) = secrets.get_opt(&credential.spec.secret_ref.name).await?
            && managed_for(&source.metadata, credential)
        {
            secrets.delete(&source.name_any(), &DeleteParams::default()).await?;
        }
    }
    Ok(Action::await_change())
}
