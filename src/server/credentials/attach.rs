//! "Use in a workload": attaching a credential to a Deployment, StatefulSet, DaemonSet or
//! CronJob in a namespace it reaches. Keyhold's account makes the change, so the person must be
//! allowed both to see the credential and to patch that workload (a SubjectAccessReview for their
//! own rights); the change is a JSON Patch that only adds, guarded by the workload's
//! resourceVersion, and is shown before it is made.

use kube::ResourceExt;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};

use super::events::{self, Severity};
use super::service::{CredentialsService, ServiceError};
use crate::domain::attach::{Attached, Attachment, KINDS, Workload, patch};
use crate::domain::credential::{FieldError, Phase, is_object_name};
use crate::domain::identity::Identity;
use crate::domain::query::CredentialRow;

/// The API group, version and plural of each kind Keyhold attaches to.
fn resource(kind: &str) -> Option<(&'static str, &'static str, &'static str)> {
    match kind {
        "Deployment" => Some(("apps", "v1", "deployments")),
        "StatefulSet" => Some(("apps", "v1", "statefulsets")),
        "DaemonSet" => Some(("apps", "v1", "daemonsets")),
        "CronJob" => Some(("batch", "v1", "cronjobs")),
        _ => None,
    }
}

/// The namespaces where a credential's Secret is present: its own, and each Ready copy.
fn reached(row: &CredentialRow) -> Vec<String> {
    std::iter::once(row.namespace.clone()).chain(row.targets.iter().filter(|t| t.phase == Phase::Ready).map(|t| t.namespace.clone())).collect()
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
        let (group, version, plural) = resource(&request.kind).ok_or_else(|| invalid("kind", "Pick a Deployment, StatefulSet, DaemonSet or CronJob"))?;
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
}
