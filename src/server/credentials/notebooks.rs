//! "Offer to notebooks": a Kubeflow PodDefault for a credential in each project namespace it
//! reaches, so Kubeflow's notebook launcher lists it among its configurations. Made from the
//! credential's own "Kubeflow PodDefault" snippet (the one `tests/snippets.rs` has the API server
//! take), only where the person may create PodDefaults themselves, labelled with the
//! credential's uid, and removed with the credential.

use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams};
use kube::{Client, ResourceExt};

use super::events::{self, Severity};
use super::ownership::{CREDENTIAL_LABEL, MANAGED_BY};
use super::resource::Credential;
use super::service::{CredentialsService, ServiceError};
use crate::domain::credential::{FieldError, Phase};
use crate::domain::identity::Identity;
use crate::domain::notebooks::{Offer, Offered};
use crate::domain::query::CredentialRow;
use crate::domain::snippets::{Place, snippets};

/// The name of the PodDefault offered for the Secret `secret`.
pub fn pod_default_name(secret: &str) -> String {
    format!("keyhold-{secret}")
}

/// Whether a PodDefault is the one Keyhold offered for `credential`.
fn offered_for(labels: &std::collections::BTreeMap<String, String>, credential: &Credential) -> bool {
    labels.get(MANAGED_BY).map(String::as_str) == Some("keyhold") && labels.get(CREDENTIAL_LABEL) == credential.uid().as_ref()
}

fn resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("kubeflow.org", "v1alpha1", "PodDefault"), "poddefaults")
}

/// Whether the cluster serves Kubeflow's PodDefault.
async fn served(client: &Client) -> Result<bool, kube::Error> {
    match Api::<DynamicObject>::all_with(client.clone(), &resource()).list_metadata(&ListParams::default().limit(1)).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
        Err(e) => Err(e),
    }
}

/// Removes the PodDefaults offered for `credential` (with it, on delete).
pub async fn withdraw(client: &Client, credential: &Credential) -> Result<(), kube::Error> {
    let Some(uid) = credential.uid() else { return Ok(()) };
    if !served(client).await? {
        return Ok(());
    }
    let selector = format!("{MANAGED_BY}=keyhold,{CREDENTIAL_LABEL}={uid}");
    let name = pod_default_name(&credential.spec.secret_ref.name);
    let offered = Api::<DynamicObject>::all_with(client.clone(), &resource()).list_metadata(&ListParams::default().labels(&selector)).await?;
    for pod_default in offered.items.into_iter().filter(|p| p.name_any() == name) {
        let namespace = pod_default.namespace().unwrap_or_default();
        Api::<DynamicObject>::namespaced_with(client.clone(), &namespace, &resource()).delete(&pod_default.name_any(), &DeleteParams::default()).await?;
    }
    Ok(())
}

impl CredentialsService {
    /// The project namespaces where the credential's Secret is, each with whether `who` may
    /// create PodDefaults there.
    async fn notebook_targets(&self, who: &Identity, row: &CredentialRow) -> Result<Vec<(String, bool)>, ServiceError> {
        let reached = std::iter::once(row.namespace.clone()).chain(row.home_targets().filter(|t| t.phase == Phase::Ready).map(|t| t.namespace.clone()));
        let mut targets = Vec::new();
        for namespace in reached.filter(|ns| self.projects.contains(ns)) {
            // Created, or brought up to date when offered before: both are the person's to do.
            let name = pod_default_name(&row.secret_name);
            let allowed = self.access.may_on(who, "create", "kubeflow.org", "poddefaults", &namespace, "").await?
                && self.access.may_on(who, "patch", "kubeflow.org", "poddefaults", &namespace, &name).await?;
            targets.push((namespace, allowed));
        }
        Ok(targets)
    }

    /// Whether `who` could offer the credential to notebooks somewhere (for the page's button).
    pub async fn may_offer_to_notebooks(&self, who: &Identity, namespace: &str, name: &str) -> Result<bool, ServiceError> {
        let row = self.get(who, namespace, name).await?;
        Ok(served(&self.client).await? && self.notebook_targets(who, &row).await?.iter().any(|(_, allowed)| *allowed))
    }

    /// Offers the credential to notebooks in every project namespace where its Secret is and
    /// `who` may create PodDefaults; says for each namespace what happened.
    pub async fn offer_to_notebooks(&self, who: &Identity, namespace: &str, name: &str) -> Result<Offered, ServiceError> {
        let row = self.get(who, namespace, name).await?;
        if !served(&self.client).await? {
            return Err(ServiceError::Invalid(vec![FieldError::new("notebooks", "This cluster does not serve Kubeflow's PodDefault (poddefaults.kubeflow.org), so there is nothing to offer to")]));
        }
        let credential = self.cache.get(&kube::runtime::reflector::ObjectRef::new(name).within(namespace)).ok_or_else(|| ServiceError::NotFound(format!("{namespace}/{name}")))?;
        let snippet = snippets(&row).into_iter().find(|s| s.place == Place::Object).expect("every credential has a PodDefault snippet");
        let template: serde_json::Value = serde_saphyr::from_str(&snippet.text).expect("the snippet is YAML");
        let targets = self.notebook_targets(who, &row).await?;
        if !targets.iter().any(|(_, allowed)| *allowed) {
            return Err(ServiceError::NotebooksForbidden);
        }
        let mut offers = Vec::new();
        for (target, allowed) in targets {
            if !allowed {
                offers.push(Offer { namespace: target, offered: false, reason: "your roles do not let you create PodDefaults there".into() });
                continue;
            }
            let mut object = template.clone();
            let pod_default_name = pod_default_name(&row.secret_name);
            let api = Api::<DynamicObject>::namespaced_with(self.client.clone(), &target, &resource());
            // A PodDefault of that name that Keyhold did not make for this credential is left alone.
            if api.get_metadata_opt(&pod_default_name).await?.is_some_and(|existing| !offered_for(existing.labels(), &credential)) {
                offers.push(Offer { namespace: target, offered: false, reason: format!("a PodDefault named {pod_default_name} that Keyhold did not make is there") });
                continue;
            }
            object["metadata"] = serde_json::json!({
                "name": pod_default_name, "namespace": target,
                "labels": {MANAGED_BY: "keyhold", CREDENTIAL_LABEL: credential.uid().unwrap_or_default()},
            });
            let object: DynamicObject = serde_json::from_value(object).expect("a PodDefault");
            // Server-side apply: offering again keeps one PodDefault, brought up to date.
            api.patch(&pod_default_name, &PatchParams::apply("keyhold").force(), &Patch::Apply(&object)).await?;
            offers.push(Offer { namespace: target, offered: true, reason: String::new() });
        }
        let message = format!("Offered to notebooks in {} by {}", offers.iter().filter(|o| o.offered).map(|o| o.namespace.as_str()).collect::<Vec<_>>().join(", "), who.user);
        events::publish(&self.client, events::reference(&credential), Severity::Normal, "OfferedToNotebooks", message).await;
        Ok(Offered { offers })
    }
}
