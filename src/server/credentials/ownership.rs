//! How a Secret says which credential it belongs to, and how much of that is believed.
//!
//! A credential's Secret and its copies carry `keyhold.dev/credential: <the Credential's uid>`
//! (a uid fits every label limit, whatever the credential is called, and is never reused) and,
//! for people reading them with kubectl, `keyhold.dev/credential-name: <namespace>/<name>`. Labels
//! are written by whoever may write the Secret, so a label alone only ever lets Keyhold find its
//! own; the proof that Keyhold made a Secret for a credential is the ownerReference it sets.

use std::collections::BTreeMap;

use kube::ResourceExt;
use kube::api::ObjectMeta;

use super::resource::Credential;
use crate::domain::credential::{ScopeLevel, is_label_value, object_name_from};

pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const CREDENTIAL_LABEL: &str = "keyhold.dev/credential";
pub const CREDENTIAL_NAME: &str = "keyhold.dev/credential-name";
/// On a personal credential's Secrets: whose they are.
pub const OWNER: &str = "keyhold.dev/owner";

/// The `keyhold.dev/credential` value of a credential's Secret and copies.
pub fn owner_label(credential: &Credential) -> String {
    credential.uid().unwrap_or_default()
}

/// The value Keyhold wrote before it used uids: `<namespace>.<name>`, when that fits a label.
fn legacy_owner_label(credential: &Credential) -> Option<String> {
    let value = format!("{}.{}", credential.namespace().unwrap_or_default(), credential.name_any());
    is_label_value(&value).then_some(value)
}

/// Whether these labels mark a Secret as one of this credential's (by either form of the label).
pub fn labelled_for(labels: &BTreeMap<String, String>, credential: &Credential) -> bool {
    labelled_by_uid(labels, credential) || labels.get(CREDENTIAL_LABEL).is_some_and(|value| Some(value) == legacy_owner_label(credential).as_ref())
}

/// A label selector for every Secret labelled as this credential's, in either form; `None` for a
/// credential with neither (no uid yet), which must never select the Secrets whose label is
/// still empty.
pub fn owner_selector(credential: &Credential) -> Option<String> {
    let values: Vec<String> = std::iter::once(owner_label(credential)).chain(legacy_owner_label(credential)).filter(|v| !v.is_empty()).collect();
    (!values.is_empty()).then(|| format!("{CREDENTIAL_LABEL} in ({})", values.join(",")))
}

/// Whether a Secret carries this credential's label in today's form (its uid).
pub fn labelled_by_uid(labels: &BTreeMap<String, String>, credential: &Credential) -> bool {
    let uid = owner_label(credential);
    !uid.is_empty() && labels.get(CREDENTIAL_LABEL) == Some(&uid)
}

/// The label a Secret made before ownerReferences carries (`<namespace>.<name>`), as the
/// credential it names: only such Secrets are found by name rather than uid.
pub fn legacy_owner(value: &str) -> Option<(&str, &str)> {
    value.split_once('.')
}

/// The labels and annotations that mark a Secret (a source or a copy) as this credential's, and a
/// personal one's as its owner's (the label readable and label-safe, the annotation exact).
pub fn marks(credential: &Credential) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let mut labels = BTreeMap::from([(MANAGED_BY.to_string(), "keyhold".to_string()), (CREDENTIAL_LABEL.to_string(), owner_label(credential))]);
    let name = format!("{}/{}", credential.namespace().unwrap_or_default(), credential.name_any());
    let mut annotations = BTreeMap::from([(CREDENTIAL_NAME.to_string(), name)]);
    // Only ever called for a credential the controller accepted, so the claim is its owner.
    if let Some(personal) = credential.spec.personal.as_ref().filter(|_| credential.spec.scope.level == ScopeLevel::Personal) {
        labels.insert(OWNER.to_string(), object_name_from(&personal.owner));
        annotations.insert(OWNER.to_string(), personal.owner.clone());
    }
    (labels, annotations)
}

/// Whether a Secret Keyhold found by name is one it keeps for itself (accounts, the session key):
/// labelled as Keyhold's and neither a credential's Secret nor owned by anything. A Secret that a
/// credential's create made under such a name is refused, never read as Keyhold's own.
pub fn keyholds_own(secret: &ObjectMeta) -> bool {
    let labels = secret.labels.as_ref();
    labels.and_then(|l| l.get(MANAGED_BY)).map(String::as_str) == Some("keyhold")
        && !labels.is_some_and(|l| l.contains_key(CREDENTIAL_LABEL))
        && secret.owner_references.as_ref().is_none_or(Vec::is_empty)
}

/// An ownerReference to `credential`, by uid: a credential of the same name made later is not its
/// owner.
pub fn owner_reference(credential: &Credential) -> serde_json::Value {
    serde_json::json!({"apiVersion": "keyhold.dev/v1", "kind": "Credential", "name": credential.name_any(), "uid": credential.uid()})
}

/// Whether Keyhold made this Secret for this credential: the credential says so (`managed`) and the
/// Secret carries the ownerReference the service set when it made it. `managed` alone proves
/// nothing: whoever may edit a Credential may write it, and Keyhold's account may write any Secret.
pub fn managed_for(secret: &ObjectMeta, credential: &Credential) -> bool {
    let Some(uid) = credential.metadata.uid.as_deref() else { return false };
    credential.spec.secret_ref.managed
        && secret.owner_references.iter().flatten().any(|r| r.kind == "Credential" && r.api_version == "keyhold.dev/v1" && r.uid == uid)
}

/// Whether the Secret is one an earlier Keyhold made for this credential, before it proved that
/// with an ownerReference: labelled as Keyhold's for exactly this credential (in the credential's
/// own namespace, so whoever could have written that label could already write the Secret) and
/// owned by nothing.
pub fn made_before_owner_references(secret: &ObjectMeta, credential: &Credential) -> bool {
    let none = BTreeMap::new();
    let labels = secret.labels.as_ref().unwrap_or(&none);
    credential.spec.secret_ref.managed
        && secret.owner_references.as_ref().is_none_or(Vec::is_empty)
        && labels.get(MANAGED_BY).map(String::as_str) == Some("keyhold")
        && legacy_owner_label(credential).is_some_and(|legacy| labels.get(CREDENTIAL_LABEL) == Some(&legacy))
}

/// The patch that makes a Secret provably this credential's: the ownerReference, the uid label
/// and the readable name.
pub fn ownership_patch(credential: &Credential) -> serde_json::Value {
    let (labels, annotations) = marks(credential);
    serde_json::json!({"metadata": {"ownerReferences": [owner_reference(credential)], "labels": labels, "annotations": annotations}})
}
