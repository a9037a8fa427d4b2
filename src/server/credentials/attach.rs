//! "Use in a workload": attaching a credential to a Deployment, StatefulSet, DaemonSet or
//! CronJob in a namespace it reaches. Keyhold's account makes the change, so the person must be
//! allowed both to see the credential and to patch that workload (a SubjectAccessReview for their
//! own rights); the change is a JSON Patch that only adds, guarded by the workload's
//! resourceVersion, and is shown before it is made.

use kube::ResourceExt;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};

use super::events::{self, Severity};
use super::service::{CredentialsService, NamespaceAccess, ServiceError};
use crate::domain::attach::{Attached, Attachment, KINDS, ReplaceWith, Replacement, Repointing, Workload, patch, references_pointer, repoint};
use crate::domain::usage::keys_read;
use crate::domain::credential::{FieldError, Phase, is_object_name};
use crate::domain::identity::Identity;
use crate::domain::query::CredentialRow;

/// The API group, version and plural of each kind Keyhold attaches to or repoints.
fn resource(kind: &str) -> Option<(&'static str, &'static str, &'static str)> {
    match kind {
        "Deployment" => Some(("apps", "v1", "deployments")),
        "StatefulSet" => Some(("apps", "v1", "statefulsets")),
        "DaemonSet" => Some(("apps", "v1", "daemonsets")),
        "CronJob" => Some(("batch", "v1", "cronjobs")),
        "PodDefault" => Some(("kubeflow.org", "v1alpha1", "poddefaults")),
        _ => None,
    }
}

pub(super) fn api(client: &kube::Client, kind: &str, namespace: &str) -> Option<(Api<DynamicObject>, &'static str, &'static str)> {
    let (group, version, plural) = resource(kind)?;
    let resource = ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural);
    Some((Api::namespaced_with(client.clone(), namespace, &resource), group, plural))
}

/// The namespaces of this cluster where a credential's Secret is present: its own, and each Ready copy.
fn reached(row: &CredentialRow) -> Vec<String> {
    std::iter::once(row.namespace.clone()).chain(row.home_targets().filter(|t| t.phase == Phase::Ready).map(|t| t.namespace.clone())).collect()
}

fn containers(kind: &str, object: &serde_json::Value) -> Vec<String> {
    let pointer = crate::domain::attach::pod_spec_pointer(kind).unwrap_or_default();
    object.pointer(&format!("{pointer}/containers")).and_then(|c| c.as_array()).into_iter().flatten().filter_map(|c| c["name"].as_str().map(str::to_string)).collect()
}

impl CredentialsService {
    /// The workloads `who` may attach this credential to: in a namespace it reaches, of a kind
    /// Keyhold changes, and which `who` may patch.
    pub async fn attachable(&self, who: &Identity, namespace: &str, name: &str) -> Result<Vec<Workload>, ServiceError> {
        let row = self.get(who, namespace, name).await?;
        let namespaces = reached(&row);
        let mut found = Vec::new();
        for kind in KINDS {
            // (Only the four workload kinds are attached to; PodDefaults are offered, not edited.)
            let (group, _, plural) = resource(kind).expect("a known kind");
            for object in self.usage.objects(kind, &namespaces) {
                let namespace = object.namespace().unwrap_or_default();
                if self.access.may_on(who, "patch", group, plural, &namespace, &object.name_any()).await? {
                    found.push(Workload { kind: kind.to_string(), namespace, name: object.name_any(), containers: containers(kind, &object.data) });
                }
            }
        }
        found.sort_by_key(Workload::label);
        Ok(found)
    }

    /// Shows (`apply` false) or makes the change that attaches the credential as asked.
    pub async fn attach(&self, who: &Identity, namespace: &str, name: &str, request: &Attachment, apply: bool) -> Result<Attached, ServiceError> {
        let row = self.get(who, namespace, name).await?;
        let invalid = |field: &str, message: &str| ServiceError::Invalid(vec![FieldError::new(field, message)]);
        let (group, version, plural) =
            resource(&request.kind).filter(|_| KINDS.contains(&request.kind.as_str())).ok_or_else(|| invalid("kind", "Pick a Deployment, StatefulSet, DaemonSet or CronJob"))?;
        if !is_object_name(&request.name) {
            return Err(invalid("name", "Pick a workload from the list"));
        }
        // Asked (for this very workload) before anything is read: who may not patch it learns
        // nothing of it.
        if !self.access.may_on(who, "patch", group, plural, &request.namespace, &request.name).await? {
            return Err(ServiceError::WorkloadForbidden(request.namespace.clone()));
        }
        if !reached(&row).contains(&request.namespace) {
            return Err(invalid("namespace", "The credential is not in that project; pick a workload where it is"));
        }
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), &request.namespace, &ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, &request.kind), plural));
        let object = api.get_opt(&request.name).await?.ok_or_else(|| invalid("name", "No such workload"))?;
        // What the person saw, if they saw it: a workload changed since then is not changed now.
        if request.resource_version.as_ref().is_some_and(|seen| Some(seen) != object.metadata.resource_version.as_ref()) {
            return Err(ServiceError::Conflict(FieldError::new("name", "The workload changed since the change was shown; show it again")));
        }
        let json = serde_json::to_value(&object).expect("serialisable");
        let ops = patch(&request.kind, &json, &row.secret_name, &row.keys, &request.container, &request.how).map_err(|e| ServiceError::Invalid(vec![e]))?;
        let text = serde_json::to_string_pretty(&ops).expect("serialisable");
        let resource_version = object.metadata.resource_version.clone().unwrap_or_default();
        if !apply {
            return Ok(Attached { patch: text, applied: false, resource_version });
        }
        let ops: json_patch::Patch = serde_json::from_value(serde_json::Value::Array(ops)).expect("a JSON Patch");
        api.patch(&request.name, &PatchParams::default(), &Patch::Json::<()>(ops)).await?;
        let what = format!("{}/{}/{}", request.kind, request.namespace, request.name);
        tracing::info!(target: "audit", user = %who.user, action = "attached", namespace, credential = name, workload = %what, "credential attached");
        if let Some(credential) = self.cache.get(&kube::runtime::reflector::ObjectRef::new(name).within(namespace)) {
            let message = format!("Attached to {what} ({}) by {}", request.how.label(), who.user);
            events::publish(&self.client, events::reference(&credential), Severity::Normal, "Attached", message).await;
        }
        Ok(Attached { patch: text, applied: true, resource_version })
    }

    /// The credentials `who` may see that could take this one's place: of its type, not itself.
    pub async fn replacement_candidates(&self, who: &Identity, namespace: &str, name: &str) -> Result<Vec<CredentialRow>, ServiceError> {
        let row = self.get(who, namespace, name).await?;
        let all = self.export(who, &crate::domain::query::ListQuery::default()).await?;
        Ok(all.into_iter().filter(|r| r.credential_type == row.credential_type && !(r.namespace == namespace && r.name == name)).collect())
    }

    /// Shows (`apply` false) or makes the changes that put `with` in this credential's place in
    /// every workload that uses it, where `who` may change that workload; then, once nothing
    /// uses it any more, deletes it. What cannot be changed is listed with why.
    pub async fn replace_and_delete(&self, who: &Identity, namespace: &str, name: &str, with: &ReplaceWith, apply: bool) -> Result<Replacement, ServiceError> {
        let old = self.authorized(who, "delete", namespace, name).await?;
        let new = self.get(who, &with.namespace, &with.name).await?;
        let invalid = |message: &str| ServiceError::Invalid(vec![FieldError::new("replacement", message)]);
        if new.credential_type != old.spec.credential_type || (new.namespace == namespace && new.name == name) {
            return Err(invalid("Pick another credential of the same type"));
        }
        let usage = self.usage.snapshot();
        let old_row = self.row(&old, &usage, true);
        let seen = NamespaceAccess::new(self, who, "list").await?.without_unseen_users(&old_row).await?.into_owned();
        // Only where the old credential's Secret really is: a Secret of the same name elsewhere
        // (a clash) is someone else's.
        let (old_reach, reach) = (reached(&old_row), reached(&new));
        let mut changes = Vec::new();
        for user in &seen.used_by {
            let mut parts = user.splitn(3, '/');
            let (kind, ns, workload) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
            let refused = |reason: String| Repointing { workload: user.clone(), patch: String::new(), reason };
            let Some((api, group, plural)) = api(&self.client, kind, ns).filter(|_| references_pointer(kind).is_some()) else {
                changes.push(refused(format!("a {kind} cannot change; it keeps the old one until it ends or its owner replaces it")));
                continue;
            };
            if !old_reach.iter().any(|r| r == ns) {
                changes.push(refused(format!("the Secret it uses in {ns} is not this credential's")));
                continue;
            }
            if !reach.iter().any(|r| r == ns) {
                changes.push(refused(format!("{} is not in {ns}", new.display_name)));
                continue;
            }
            if !self.access.may_on(who, "patch", group, plural, ns, workload).await? {
                changes.push(refused("your roles do not let you change it".into()));
                continue;
            }
            let Some(object) = api.get_opt(workload).await? else { continue };
            let json = serde_json::to_value(&object).expect("serialisable");
            // A key a variable reads must be in the replacement too, or the pods would not start.
            let spec = references_pointer(kind).and_then(|p| json.pointer(p)).cloned().unwrap_or_default();
            if let Some(missing) = keys_read(&spec, &old.spec.secret_ref.name).into_iter().find(|k| !new.keys.contains(k)) {
                changes.push(refused(format!("{} has no key {missing}", new.display_name)));
                continue;
            }
            let Some(ops) = repoint(kind, &json, &old.spec.secret_ref.name, &new.secret_name).map_err(|e| ServiceError::Invalid(vec![e]))? else { continue };
            let text = serde_json::to_string_pretty(&ops).expect("serialisable");
            if apply {
                let patch: json_patch::Patch = serde_json::from_value(serde_json::Value::Array(ops)).expect("a JSON Patch");
                // A workload that changed meanwhile (or any refusal) is reported, and the others go on.
                if let Err(e) = api.patch(workload, &PatchParams::default(), &Patch::Json::<()>(patch)).await {
                    changes.push(refused(crate::server::kube_errors::app_error(e).message()));
                    continue;
                }
                tracing::info!(target: "audit", user = %who.user, action = "repointed", workload = %user, from = name, to = %new.name, "credential replaced in a workload");
            }
            changes.push(Repointing { workload: user.clone(), patch: text, reason: String::new() });
        }
        let complete = seen.unseen_users == 0 && changes.iter().all(|c| c.reason.is_empty());
        let mut deleted = false;
        if apply && complete {
            // The usage index learns of the changes from its watches; the delete waits for it.
            let mut changed = self.changes();
            let free = async {
                while self.row(&old, &self.usage.snapshot(), true).in_use() {
                    if changed.changed().await.is_err() {
                        return;
                    }
                }
            };
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), free).await;
            // Still in use (a rollout not yet seen): the changes stand, and Delete can be tried again.
            deleted = match self.delete(who, namespace, name).await {
                Ok(()) => true,
                Err(ServiceError::InUse(_)) => false,
                Err(e) => return Err(e),
            };
        }
        Ok(Replacement { changes, unseen: seen.unseen_users, deleted })
    }
}
