//! Kubernetes Events on credentials and project secrets: what happened to one, for `kubectl describe` and the audit
//! trail. Messages name people, namespaces and Secrets, never a value.

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use kube::api::{Api, ObjectMeta, PostParams};
use kube::{Client, ResourceExt};

use super::resource::Credential;

/// Whether an event reports the normal course of things or something a person should look at.
#[derive(Debug, Clone, Copy)]
pub enum Severity {
    Normal,
    Warning,
}

/// How an Event names a credential.
pub fn reference(credential: &Credential) -> ObjectReference {
    ObjectReference {
        api_version: Some("keyhold.dev/v1".into()),
        kind: Some("Credential".into()),
        name: Some(credential.name_any()),
        namespace: credential.namespace(),
        uid: credential.metadata.uid.clone(),
        ..Default::default()
    }
}

/// Records an Event on `object` (in its namespace). A failure to record is logged, never an
/// error: the change it reports has happened either way.
pub async fn publish(client: &Client, object: ObjectReference, severity: Severity, reason: &str, message: String) {
    let namespace = object.namespace.clone().unwrap_or_default();
    let name = object.name.clone().unwrap_or_default();
    let event = Event {
        metadata: ObjectMeta { generate_name: Some(format!("{name}.")), namespace: Some(namespace.clone()), ..Default::default() },
        involved_object: object,
        reason: Some(reason.into()),
        message: Some(message),
        type_: Some(format!("{severity:?}")),
        source: Some(EventSource { component: Some("keyhold".into()), ..Default::default() }),
        ..Default::default()
    };
    if let Err(e) = Api::<Event>::namespaced(client.clone(), &namespace).create(&PostParams::default(), &event).await {
        tracing::warn!(error = %e, reason, "could not record an event");
    }
}
