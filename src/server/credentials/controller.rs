//! The credentials controller (kube::runtime): keeps each credential's Secret present in every
//! namespace its scope reaches (for Account scope, the projects of every member cluster too),
//! reports what it found in the credential's status, and cleans up through the
//! `keyhold.dev/cleanup` finalizer. Laid out after kube-rs's controller-rs.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams};
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::runtime::reflector::{self, ObjectRef};
use kube::core::PartialObjectMeta;
use kube::runtime::{PredicateConfig, WatchStreamExt, predicates, watcher};
use kube::{Client, ResourceExt};

use super::events::{self, Severity};
use super::{activity, personal};
use super::resource::{Condition, Credential, CredentialStatus, Target};
use super::ownership::{self, CREDENTIAL_LABEL, CREDENTIAL_NAME, MANAGED_BY, labelled_by_uid, labelled_for, legacy_owner, made_before_owner_references, managed_for, marks, owner_selector};
use super::service::{Settings, offered};
use crate::server::clusters::{Member, Notice};
use crate::server::watching::{applied_when_stored, concerns, without_managed_fields};
use crate::domain::credential::{Phase, RESOURCE_LABEL, ScopeLevel, is_object_name};
use crate::domain::identity::Identity;
use crate::domain::lifecycle::Expiry;
use crate::server::auth::access::Access;
use crate::domain::project::{DEPARTMENT_LABEL, PROJECT_LABEL};

pub const FINALIZER: &str = "keyhold.dev/cleanup";
const MANAGER: &str = "keyhold-controller";
/// On a copy: the `resourceVersion` of the source it was copied from. A copy that differs from a
/// source still at that version was changed by someone else (drift), not by a new source value.
pub const COPIED_FROM: &str = "keyhold.dev/copied-from-version";
/// On a credential reaching member clusters, being deleted: the member clusters (comma-separated) whose
/// copies an administrator let go of, so deletion no longer waits for them to answer.
pub const LET_GO: &str = "keyhold.dev/let-go";
/// What a target in a member Keyhold could not reach says (Run:ai's wording).
const FAILED_TO_ACCESS: &str = "failed to access the cluster";
/// How many copies of one credential are written at once (in order: the status lists them so).
const COPIES_AT_ONCE: usize = 16;
/// The longest one member's copies may take in one reconcile: a member that answers slowly (or
/// never stops answering) delays no other and no deletion.
const MEMBER_WORK: Duration = Duration::from_secs(60);
/// How many credentials are reconciled at once: a start with 100,000 of them queues, rather than
/// opening 100,000 requests together.
const RECONCILES_AT_ONCE: u16 = 64;
/// How often every credential is looked at though nothing it watches changed (an informer's
/// resync): a safety net for a change whose event never came, and for a credential never looked at.
const RESYNC: Duration = Duration::from_secs(3_600);
/// How soon a credential is looked at again while a copy could not be written: blocked by a Secret
/// Keyhold does not manage (and does not watch), or refused by the API server.
const RETRY_LOOK: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("finalizer: {0}")]
    Finalizer(#[from] Box<kube::runtime::finalizer::Error<Error>>),
    #[error("waiting for {0} to remove the copies there")]
    Waiting(String),
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

/// The credentials a notice from the member clusters concerns.
fn member_notices(settings: &Settings, store: kube::runtime::reflector::Store<Credential>) -> impl futures::Stream<Item = ObjectRef<Credential>> + Send + 'static {
    let notices = futures::stream::unfold(settings.members.subscribe(), |mut receiver| async move {
        match receiver.recv().await {
            Ok(notice) => Some((notice, receiver)),
            // Some were missed: look at every credential reaching members.
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => Some((Notice::Clusters, receiver)),
            Err(tokio::sync::broadcast::error::RecvError::Closed) => None,
        }
    });
    notices.flat_map(move |notice| {
        let concerned: Vec<ObjectRef<Credential>> = match notice {
            Notice::Clusters => store.state().iter().filter(|c| c.spec.scope.reaches_members()).map(|c| ObjectRef::from_obj(&**c)).collect(),
            // A member's tenants can label Secrets there: only a uid of a credential reaching members counts.
            Notice::Copy(uid) => store.state().iter().filter(|c| c.spec.scope.reaches_members() && c.uid().as_deref() == Some(uid.as_str())).map(|c| ObjectRef::from_obj(&**c)).collect(),
        };
        futures::stream::iter(concerned)
    })
}

/// Runs the controller until the process stops.
pub async fn run(client: Client, settings: Settings) {
    let (store, writer) = reflector::store();
    let credentials = watcher(Api::<Credential>::all(client.clone()), watcher::Config::default()).default_backoff().modify(without_managed_fields).reflect(writer);
    // A relist (after a lost watch) hands back every credential: only changed ones are looked at again.
    let credentials = applied_when_stored(credentials).predicate_filter(predicates::resource_version, PredicateConfig::default().ttl(Duration::from_secs(86_400)));
    let controller = Controller::for_stream(credentials, store.clone()).with_config(controller::Config::default().concurrency(RECONCILES_AT_ONCE));
    // Never a remembered answer: a reconcile started by a removed binding must see it gone.
    let access = Access::new(client.clone(), Duration::ZERO);
    let from_members = member_notices(&settings, store.clone());
    let context = Arc::new(Context { client: client.clone(), settings, access });
    let all = watcher::Config::default;
    controller
        .reconcile_on(concerns(watched::<Namespace>(&client, all().labels(PROJECT_LABEL)), |project| vec![project.labels().get(DEPARTMENT_LABEL).cloned().unwrap_or_default()], "Namespace").flat_map(with_store(&store, reached_by_projects)))
        // Sources and copies: a copy changed or deleted by someone else is put back.
        .reconcile_on(concerns(watched::<Secret>(&client, all().labels(&format!("{MANAGED_BY}=keyhold"))), owner_of, "Secret").flat_map(with_store(&store, owned_by)))
        // Existing Secrets offered by their labels: labelling (or unlabelling) one changes whether
        // the credentials naming it may use it.
        .reconcile_on(concerns(watched::<Secret>(&client, all().labels(RESOURCE_LABEL)), |secret| vec![(secret.namespace(), secret.name_any())], "Secret").flat_map(with_store(&store, naming)))
        // Whether an owner may keep a personal credential in a project changes with the bindings.
        .reconcile_on(concerns(watched::<RoleBinding>(&client, all()), |_| vec![()], "RoleBinding").flat_map(with_store(&store, personal_ones)))
        .reconcile_on(concerns(watched::<ClusterRoleBinding>(&client, all()), |_| vec![()], "ClusterRoleBinding").flat_map(with_store(&store, personal_ones)))
        .reconcile_on(concerns(watched::<Role>(&client, all()), |_| vec![()], "Role").flat_map(with_store(&store, personal_ones)))
        .reconcile_on(concerns(watched::<ClusterRole>(&client, all()), |_| vec![()], "ClusterRole").flat_map(with_store(&store, personal_ones)))
        .reconcile_on(from_members)
        .reconcile_on(sweep(store.clone()))
        .shutdown_on_signal()
        .run(reconcile, error_policy, context)
        .for_each(|result| async move {
            match result {
                Ok(_) => {}
                // A credential deleted while queued: nothing to do.
                Err(kube::runtime::controller::Error::ObjectNotFound(object)) => tracing::debug!(%object, "gone before reconcile"),
                // Expected while a member cluster is down; the credential's status says so.
                Err(kube::runtime::controller::Error::ReconcilerFailed(error, object)) if waiting(&error) => tracing::debug!(%object, %error, "deletion waits"),
                Err(e) => tracing::warn!(error = %e, "reconcile failed"),
            }
        })
        .await;
}

type Store = kube::runtime::reflector::Store<Credential>;

/// Every credential in the cache, each `RESYNC`.
fn sweep(store: Store) -> impl futures::Stream<Item = ObjectRef<Credential>> + Send + 'static {
    futures::stream::unfold(store, |store| async move {
        tokio::time::sleep(RESYNC).await;
        let all: Vec<ObjectRef<Credential>> = store.state().iter().map(|c| ObjectRef::from_obj(&**c)).collect();
        Some((futures::stream::iter(all), store))
    })
    .flatten()
}

/// Every change to `K`s (as `config` selects), as metadata only: values stay out of the
/// controller's memory.
fn watched<K>(client: &Client, config: watcher::Config) -> impl futures::Stream<Item = Result<watcher::Event<PartialObjectMeta<K>>, watcher::Error>> + Send + 'static
where
    K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
{
    watcher(Api::<PartialObjectMeta<K>>::all(client.clone()), config).default_backoff()
}

/// Resolves each concern against the credentials as the controller's cache holds them now.
fn with_store<C: 'static>(store: &Store, resolve: fn(&Store, C) -> Vec<ObjectRef<Credential>>) -> impl FnMut(C) -> futures::stream::Iter<std::vec::IntoIter<ObjectRef<Credential>>> + Send + 'static {
    let store = store.clone();
    move |concern| futures::stream::iter(resolve(&store, concern))
}

/// The credentials of the home cluster whose copies a change to a project in `department` may
/// add or remove: every Cluster-, Account- and personal credential, and the department's own.
fn reached_by_projects(store: &Store, department: String) -> Vec<ObjectRef<Credential>> {
    let concerned = |c: &Credential| {
        let scope = &c.spec.scope;
        scope.cluster.is_none()
            && match scope.level {
                ScopeLevel::Project => false,
                ScopeLevel::Department => scope.department.as_deref() == Some(department.as_str()),
                ScopeLevel::Cluster | ScopeLevel::Account | ScopeLevel::Personal => true,
            }
    };
    store.state().iter().filter(|c| concerned(c)).map(|c| ObjectRef::from_obj(&**c)).collect()
}

/// The credential a managed Secret is marked as belonging to: by the uid label and by the
/// readable name Keyhold writes beside it. Anyone who may write the Secret may write either, and
/// all either starts is a reconcile, so both are followed unless they agree.
fn owner_of(secret: &PartialObjectMeta<Secret>) -> Vec<Owner> {
    let named = secret.annotations().get(CREDENTIAL_NAME).and_then(|n| n.split_once('/')).map(|(namespace, name)| (namespace.to_string(), name.to_string()));
    vec![Owner { named, labelled: secret.labels().get(CREDENTIAL_LABEL).cloned() }]
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Owner {
    named: Option<(String, String)>,
    labelled: Option<String>,
}

fn owned_by(store: &Store, owner: Owner) -> Vec<ObjectRef<Credential>> {
    let named = owner.named.map(|(namespace, name)| ObjectRef::new(&name).within(&namespace));
    // The usual case: the name is of the credential whose uid the label holds, found without a scan.
    let agree = named.as_ref().and_then(|n| store.get(n)).is_some_and(|c| c.uid() == owner.labelled);
    let labelled = owner.labelled.filter(|_| !agree).and_then(|label| labelled_owner(&label, store));
    named.into_iter().chain(labelled).collect()
}

/// The credentials using the Secret `name` in `namespace` as theirs.
fn naming(store: &Store, (namespace, name): (Option<String>, String)) -> Vec<ObjectRef<Credential>> {
    store.state().iter().filter(|c| c.namespace() == namespace && c.spec.secret_ref.name == name).map(|c| ObjectRef::from_obj(&**c)).collect()
}

fn personal_ones(store: &Store, (): ()) -> Vec<ObjectRef<Credential>> {
    store.state().iter().filter(|c| c.spec.scope.level == ScopeLevel::Personal).map(|c| ObjectRef::from_obj(&**c)).collect()
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

/// Whether a reconcile failed only because a deletion waits for member clusters.
fn waiting(error: &Error) -> bool {
    matches!(error, Error::Finalizer(e) if matches!(**e, kube::runtime::finalizer::Error::CleanupFailed(Error::Waiting(_))))
}

fn error_policy(_credential: Arc<Credential>, error: &Error, _ctx: Arc<Context>) -> Action {
    if waiting(error) {
        return Action::requeue(Duration::from_secs(10));
    }
    tracing::warn!(%error, "will retry");
    Action::requeue(Duration::from_secs(5))
}

/// The project namespaces a credential must be usable in, other than its own, and the places it
/// may not be copied to with why (a personal credential's projects its owner may no longer use).
async fn target_namespaces(credential: &Credential, ctx: &Context) -> Result<(Vec<String>, Vec<Target>), Error> {
    let scope = &credential.spec.scope;
    if scope.cluster.is_some() {
        // A scope in a member cluster: its copies are all there.
        return Ok((Vec::new(), Vec::new()));
    }
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

/// A cluster the controller keeps copies in: the home one, or a member.
struct Place<'a> {
    cluster: &'a str,
    client: &'a Client,
    member: bool,
}

impl<'a> Place<'a> {
    fn home(ctx: &'a Context) -> Self {
        Place { cluster: &ctx.settings.cluster_name, client: &ctx.client, member: false }
    }

    fn target(&self, namespace: &str, state: Phase, reason: &str, message: String) -> Target {
        Target { cluster: self.cluster.to_string(), namespace: namespace.to_string(), state, reason: reason.into(), message, version: String::new() }
    }

    /// What its API server's refusal is shown as: a member's own words are its operator's, not
    /// Keyhold's, so only their HTTP status is repeated.
    fn refusal(&self, refused: &kube::core::Status) -> String {
        if self.member { format!("{} refused the copy (HTTP {})", self.cluster, refused.code) } else { refused.to_string() }
    }

    /// A namespace as a message names it: with its cluster when that is a member.
    fn describe(&self, namespace: &str) -> String {
        if self.member { format!("{namespace} in {}", self.cluster) } else { namespace.to_string() }
    }
}

fn target(ctx: &Context, namespace: &str, state: Phase, reason: &str, message: String) -> Target {
    Place::home(ctx).target(namespace, state, reason, message)
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
    if scope.cluster.as_deref() == Some(settings.cluster_name.as_str()) {
        return Some(("WrongNamespace", "a scope of this cluster names no cluster; nothing is copied".to_string()));
    }
    if scope.home(&settings.system_namespace).as_deref() != Ok(namespace) {
        let message = match scope.level {
            _ if scope.cluster.is_some() => format!("a credential for a member cluster must live in {} and name a project, a department or the cluster", settings.system_namespace),
            ScopeLevel::Project => "a Project-scope credential must live in its project's namespace".to_string(),
            ScopeLevel::Department => format!("a Department-scope credential must live in {} and name its department", settings.system_namespace),
            ScopeLevel::Cluster => format!("a Cluster-scope credential must live in {}", settings.system_namespace),
            ScopeLevel::Account => format!("an Account-scope credential must live in {}", settings.system_namespace),
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
    let before = credential.status.clone().unwrap_or_default();
    // Members are worked on only for a credential whose scope reaches them (or did), where such
    // scopes live.
    let in_system = namespace == ctx.settings.system_namespace;
    let in_members = credential.spec.scope.reaches_members() && in_system;
    let touches_members = in_system && (in_members || before.targets.iter().any(|t| t.cluster != ctx.settings.cluster_name));
    let refused = source.as_ref().and_then(|secret| refusal(credential, &namespace, secret, &ctx.settings));
    match (&source, refused) {
        (None, _) => targets.push(target(ctx, &namespace, Phase::Issues, "NotCreated", format!("the Secret {source_name} does not exist"))),
        (Some(_), Some((reason, message))) => {
            targets.push(target(ctx, &namespace, Phase::Issues, reason, message));
            // Copies made before the credential was changed to something refused go too.
            remove_copies(credential, &ctx.client, &BTreeSet::new(), &namespace, None).await?;
            if touches_members {
                // Members not reached now are named in the status, and cleaned on a later reconcile.
                targets.extend(clean_members(credential, ctx, holding_members(credential, &before, ctx)).await.into_iter().map(left_behind));
            }
        }
        (Some(secret), None) => {
            keys = secret.data.as_ref().map(|d| d.keys().cloned().collect()).unwrap_or_default();
            targets.push(Target { version: secret.resource_version().unwrap_or_default(), ..target(ctx, &namespace, Phase::Ready, "", String::new()) });
            let (wanted, refused) = target_namespaces(credential, ctx).await?;
            let home = Place::home(ctx);
            let copied: Vec<Result<Target, kube::Error>> = futures::stream::iter(wanted.clone()).map(|ns| copy_into(credential, secret, ns, &home, ctx)).buffered(COPIES_AT_ONCE).collect().await;
            targets.extend(wanted.iter().zip(copied).map(|(ns, copied)| copied.unwrap_or_else(|e| target(ctx, ns, Phase::Issues, "ReplicationError", e.to_string()))));
            targets.extend(refused);
            remove_copies(credential, &ctx.client, &wanted.into_iter().collect(), &namespace, None).await?;
            if in_members {
                targets.extend(into_members(credential, secret, &before, ctx).await);
            }
            if touches_members {
                // Members it reached before a change of scope: their copies go. One not reached
                // keeps a target, so the status goes on naming it until its copies are gone.
                let reached: BTreeSet<String> = reached_members(credential, ctx).into_iter().map(|m| m.name).collect();
                let left = holding_members(credential, &before, ctx).into_iter().filter(|m| !in_members || !reached.contains(&m.name)).collect();
                targets.extend(clean_members(credential, ctx, left).await.into_iter().map(left_behind));
            }
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
    Ok(next_look(credential, &status, source.is_some(), ctx).map_or_else(Action::await_change, Action::requeue))
}

/// When to look at a credential again though nothing it watches changed: soon while a copy could
/// not be written; just after midnight (UTC) when it has an expiry date (a warning may begin);
/// when its next periodic connection test is due (a credential without its Secret is not tested).
/// Otherwise the hourly sweep looks at it.
fn next_look(credential: &Credential, status: &CredentialStatus, has_source: bool, ctx: &Context) -> Option<Duration> {
    let now = jiff::Timestamp::now().as_second();
    let blocked = status.targets.iter().any(|t| t.reason == "Clash" || t.reason == "ReplicationError").then_some(RETRY_LOOK);
    let to_midnight = credential.spec.expires_on.as_ref().map(|_| Duration::from_secs((86_400 - now.rem_euclid(86_400) + 1) as u64));
    let test = has_source.then(|| ctx.settings.connection_tests.next_due(credential.spec.credential_type, status.last_test.as_ref())).flatten();
    [blocked, to_midnight, test].into_iter().flatten().min()
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
    // Targets in a member are named with their cluster; the home cluster's is the source's.
    let home = after.targets.first().map(|t| t.cluster.clone()).unwrap_or_default();
    let place = |t: &Target| match (t.cluster == home, t.namespace.is_empty()) {
        (true, _) => t.namespace.clone(),
        (false, true) => t.cluster.clone(),
        (false, false) => format!("{}/{}", t.cluster, t.namespace),
    };
    let same = |a: &Target, b: &Target| a.cluster == b.cluster && a.namespace == b.namespace;
    let mut changes = Vec::new();
    let mut updated = 0;
    for target in &after.targets {
        match before.targets.iter().find(|old| same(old, target)) {
            Some(old) if old.state == target.state && old.reason == target.reason => {
                if !old.version.is_empty() && old.version != target.version {
                    updated += 1;
                }
            }
            _ if target.state == Phase::Ready => changes.push(format!("{}: ready", place(target))),
            _ => changes.push(format!("{}: {}", place(target), target.message)),
        }
    }
    let removed = before.targets.iter().filter(|t| !after.targets.iter().any(|n| same(n, t))).map(|t| format!("{}: removed", place(t)));
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

/// Puts a copy of `source` into `namespace` of `place`, unless a Secret Keyhold does not manage is
/// there. A copy someone changed is restored, with a warning Event saying so. Only a cluster that
/// could not be reached at all is an error; what its API server refused is the target's state.
async fn copy_into(credential: &Credential, source: &Secret, namespace: String, place: &Place<'_>, ctx: &Context) -> Result<Target, kube::Error> {
    let namespace = namespace.as_str();
    let name = source.name_any();
    let secrets: Api<Secret> = Api::namespaced(place.client.clone(), namespace);
    let version = source.resource_version().unwrap_or_default();
    let drifted = match secrets.get_opt(&name).await {
        Ok(Some(existing)) if !labelled_for(existing.labels(), credential) => {
            return Ok(place.target(namespace, Phase::Issues, "Clash", format!("a Secret named {name} that Keyhold does not manage is already there")));
        }
        Ok(Some(existing)) => {
            let same = existing.data == source.data && existing.type_ == source.type_ && labelled_by_uid(existing.labels(), credential);
            let from_current = existing.annotations().get(COPIED_FROM) == Some(&version);
            if same && from_current {
                return Ok(Target { version, ..place.target(namespace, Phase::Ready, "", String::new()) });
            }
            !same && from_current
        }
        Ok(None) => false,
        Err(kube::Error::Api(refused)) => return Ok(place.target(namespace, Phase::Issues, "ReplicationError", place.refusal(&refused))),
        Err(unreached) => return Err(unreached),
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
        tracing::warn!(cluster = place.cluster, namespace, secret = %name, restored = written.is_ok(), "a copy was changed outside Keyhold");
        let outcome = if written.is_ok() { "Keyhold restored it" } else { "Keyhold could not restore it" };
        let message = format!("The copy {name} in {} was changed outside Keyhold; {outcome}", place.describe(namespace));
        events::publish(&ctx.client, events::reference(credential), Severity::Warning, "Drifted", message.clone()).await;
        activity::append(&ctx.client, &ctx.settings.system_namespace, credential, "Drifted", "", message).await;
    }
    match written {
        Ok(_) => Ok(Target { version, ..place.target(namespace, Phase::Ready, "", String::new()) }),
        Err(kube::Error::Api(refused)) => Ok(place.target(namespace, Phase::Issues, if drifted { "Drifted" } else { "ReplicationError" }, place.refusal(&refused))),
        Err(unreached) => Err(unreached),
    }
}

/// A credential's targets in the member clusters its scope reaches (every one for Account scope),
/// each member worked on at once. Until the members are first read (just after a start), the
/// targets it had there stand.
async fn into_members(credential: &Credential, source: &Secret, before: &CredentialStatus, ctx: &Context) -> Vec<Target> {
    if !ctx.settings.members.known() {
        return before.targets.iter().filter(|t| t.cluster != ctx.settings.cluster_name).cloned().collect();
    }
    let members = reached_members(credential, ctx);
    if let Some(named) = &credential.spec.scope.cluster
        && members.is_empty()
    {
        let message = format!("there is no member cluster {named}; nothing is copied");
        return vec![Target { cluster: named.clone(), namespace: String::new(), state: Phase::Issues, reason: "NoSuchCluster".into(), message, version: String::new() }];
    }
    futures::future::join_all(members.iter().map(|member| into_member(credential, source, member, before, ctx))).await.into_iter().flatten().collect()
}

/// The registered members a credential's scope reaches: the one it names, or all for Account scope.
fn reached_members(credential: &Credential, ctx: &Context) -> Vec<Member> {
    if !credential.spec.scope.reaches_members() {
        return Vec::new();
    }
    let named = credential.spec.scope.cluster.as_deref();
    ctx.settings.members.registered().into_iter().filter(|m| named.is_none_or(|n| n == m.name)).collect()
}

/// Whether a member's project (with its department label) is in a scope that names a member, or
/// in Account scope: compared here, so no person-written name is put in a label selector.
fn in_scope(scope: &crate::domain::credential::Scope, project: &PartialObjectMeta<Namespace>) -> bool {
    match scope.level {
        ScopeLevel::Project => scope.project.as_deref() == Some(project.name_any().as_str()),
        ScopeLevel::Department => scope.department.is_some() && project.labels().get(DEPARTMENT_LABEL) == scope.department.as_ref(),
        ScopeLevel::Cluster | ScopeLevel::Account => true,
        ScopeLevel::Personal => false,
    }
}

/// A credential's copies in one member: one in each of its projects the scope reaches, none
/// elsewhere. A member that cannot be reached (or takes longer than `MEMBER_WORK`) keeps the
/// targets it had, each "failed to access the cluster", and Keyhold goes on with the others; its
/// copies are brought up to date when it answers again (the member's watch tells the controller).
async fn into_member(credential: &Credential, source: &Secret, member: &Member, before: &CredentialStatus, ctx: &Context) -> Vec<Target> {
    let lost = || {
        let failed = |t: &Target| Target { state: Phase::Issues, reason: "ClusterUnreachable".into(), message: FAILED_TO_ACCESS.into(), ..t.clone() };
        let had: Vec<Target> = before.targets.iter().filter(|t| t.cluster == member.name && !t.namespace.is_empty()).map(failed).collect();
        let place = Target { cluster: member.name.clone(), namespace: String::new(), state: Phase::Issues, reason: String::new(), message: String::new(), version: String::new() };
        if had.is_empty() { vec![failed(&place)] } else { had }
    };
    let Some(client) = &member.client else { return lost() };
    let place = Place { cluster: &member.name, client, member: true };
    let copied = async {
        let projects = Api::<Namespace>::all(client.clone()).list_metadata(&ListParams::default().labels(PROJECT_LABEL)).await?;
        // Names as a member's API server gave them: only real object names are used.
        let wanted: BTreeSet<String> = projects
            .items
            .iter()
            .filter(|n| in_scope(&credential.spec.scope, n))
            .map(|n| n.name_any())
            .filter(|n| is_object_name(n) && *n != ctx.settings.system_namespace)
            .collect();
        let mut targets: Vec<Target> = futures::stream::iter(wanted.clone()).map(|ns| copy_into(credential, source, ns, &place, ctx)).buffered(COPIES_AT_ONCE).try_collect().await?;
        remove_copies(credential, client, &wanted, &ctx.settings.system_namespace, Some(COPIED_FROM)).await?;
        // A project or department that is not (or no longer) there: said, not taken for done.
        let scope = &credential.spec.scope;
        if targets.is_empty() && matches!(scope.level, ScopeLevel::Project | ScopeLevel::Department) {
            let what = scope.project.as_ref().map_or_else(|| format!("no project of department {}", scope.department.clone().unwrap_or_default()), |p| format!("no project {p}"));
            targets.push(place.target("", Phase::Issues, "NotAProject", format!("there is {what} in {}; nothing is copied", member.name)));
        }
        Ok::<_, Error>(targets)
    };
    match tokio::time::timeout(MEMBER_WORK, copied).await {
        Ok(Ok(targets)) => targets,
        Ok(Err(e)) => {
            tracing::info!(cluster = %member.name, error = %e, "a member cluster could not be reached");
            lost()
        }
        Err(_) => {
            tracing::info!(cluster = %member.name, "a member cluster took too long");
            lost()
        }
    }
}

/// A member still holding copies Keyhold must remove but could not reach: named in the status, so
/// the next reconcile tries again.
fn left_behind(cluster: String) -> Target {
    let message = format!("Keyhold cannot reach {cluster} to remove copies it no longer should hold there; it will once {cluster} answers");
    Target { cluster, namespace: String::new(), state: Phase::Issues, reason: "LeftBehind".into(), message, version: String::new() }
}

/// The registered members holding a credential's copies, or meant to: those its scope reaches and
/// those its last status names (its scope may have changed since).
fn holding_members(credential: &Credential, before: &CredentialStatus, ctx: &Context) -> Vec<Member> {
    let reached: BTreeSet<String> = reached_members(credential, ctx).into_iter().map(|m| m.name).collect();
    let named: BTreeSet<&str> = before.targets.iter().map(|t| t.cluster.as_str()).collect();
    ctx.settings.members.registered().into_iter().filter(|m| reached.contains(&m.name) || named.contains(m.name.as_str())).collect()
}

/// Removes a credential's copies from each of `members` it can reach; the members it could not,
/// other than those an administrator let go of (`keyhold.dev/let-go`), which are not asked at all.
async fn clean_members(credential: &Credential, ctx: &Context, members: Vec<Member>) -> Vec<String> {
    let let_go: BTreeSet<&str> = credential.annotations().get(LET_GO).map(|v| v.split(',').map(str::trim).collect()).unwrap_or_default();
    let members: Vec<Member> = members.into_iter().filter(|m| !let_go.contains(m.name.as_str())).collect();
    let cleaned = futures::future::join_all(members.iter().map(|member| async move {
        let Some(client) = &member.client else { return false };
        let none = BTreeSet::new();
        let removed = remove_copies(credential, client, &none, &ctx.settings.system_namespace, Some(COPIED_FROM));
        matches!(tokio::time::timeout(MEMBER_WORK, removed).await, Ok(Ok(())))
    }))
    .await;
    members.into_iter().zip(cleaned).filter(|(_, cleaned)| !cleaned).map(|(member, _)| member.name).collect()
}

/// Deletes this credential's copies outside `keep` (every copy when `keep` is empty) in the
/// cluster `client` reaches; the namespace `spared` (the source's, or a member's namespace of the
/// system's name) is never touched. In a member, only Secrets that also carry `marked` (a copy's
/// annotation) are taken for copies: a label anyone could put there is not enough.
async fn remove_copies(credential: &Credential, client: &Client, keep: &BTreeSet<String>, spared: &str, marked: Option<&str>) -> Result<(), Error> {
    let Some(selector) = owner_selector(credential) else { return Ok(()) };
    let selector = format!("{MANAGED_BY}=keyhold,{selector}");
    let copies = Api::<Secret>::all(client.clone()).list_metadata(&ListParams::default().labels(&selector)).await?;
    for copy in copies.items {
        let namespace = copy.namespace().unwrap_or_default();
        let is_copy = marked.is_none_or(|annotation| copy.annotations().contains_key(annotation));
        if namespace != spared && !keep.contains(&namespace) && is_copy {
            Api::<Secret>::namespaced(client.clone(), &namespace).delete(&copy.name_any(), &DeleteParams::default()).await?;
        }
    }
    Ok(())
}

/// While members Keyhold cannot reach still hold copies, the deletion waits (the finalizer stays)
/// and the status says for which.
async fn wait_for_members(credential: &Credential, ctx: &Context) -> Result<(), Error> {
    // Just after a start the members are not read yet: none may be taken for cleaned.
    if !ctx.settings.members.known() {
        return Err(Error::Waiting("the member clusters, not read yet,".into()));
    }
    let before = credential.status.clone().unwrap_or_default();
    let waiting = clean_members(credential, ctx, holding_members(credential, &before, ctx)).await;
    if waiting.is_empty() {
        return Ok(());
    }
    let targets = waiting
        .iter()
        .map(|cluster| {
            let message = format!("Keyhold cannot reach {cluster} to remove the copies there; it will once {cluster} answers, or when an administrator lets go of it");
            Target { cluster: cluster.clone(), namespace: String::new(), state: Phase::Deleting, reason: "WaitingForCluster".into(), message, version: String::new() }
        })
        .collect();
    let status = CredentialStatus { phase: Phase::Deleting, targets, ..before.clone() };
    if status != before {
        let api: Api<Credential> = Api::namespaced(ctx.client.clone(), &credential.namespace().unwrap_or_default());
        api.patch_status(&credential.name_any(), &PatchParams::default(), &Patch::Merge(&serde_json::json!({"status": status}))).await?;
    }
    Err(Error::Waiting(waiting.join(", ")))
}

async fn cleanup(credential: &Credential, ctx: &Context) -> Result<Action, Error> {
    let home = credential.namespace().unwrap_or_default();
    remove_copies(credential, &ctx.client, &BTreeSet::new(), &home, None).await?;
    // Only one living where such scopes must ever made copies in members.
    let held_copies = credential.status.as_ref().is_some_and(|s| s.targets.iter().any(|t| t.cluster != ctx.settings.cluster_name));
    if home == ctx.settings.system_namespace && (credential.spec.scope.reaches_members() || held_copies) {
        wait_for_members(credential, ctx).await?;
    }
    activity::remove(&ctx.client, &ctx.settings.system_namespace, credential).await?;
    super::notebooks::withdraw(&ctx.client, credential).await?;
    if credential.spec.secret_ref.managed {
        let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &home);
        if let Some(source) = secrets.get_opt(&credential.spec.secret_ref.name).await?
            && managed_for(&source.metadata, credential)
        {
            secrets.delete(&source.name_any(), &DeleteParams::default()).await?;
        }
    }
    Ok(Action::await_change())
}
