//! A credential's Activity: what happened to it (made, renamed, new values and their rollout,
//! propagation, drift, tests, expiry warnings), newest last, at most `KEEP_ACTIVITY` entries. Kept
//! in a ConfigMap of the system namespace per credential, which only Keyhold and administrators
//! write: Events are gone after an hour, and a Credential's own annotations are its editors' to
//! rewrite. Never a value.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ObjectMeta, PostParams};
use kube::{Client, ResourceExt};

use super::ownership::MANAGED_BY;
use super::resource::Credential;
use super::service::{CredentialsService, ServiceError};
use crate::domain::identity::Identity;
use crate::domain::lifecycle::{ActivityEntry, appended};

const ENTRIES: &str = "entries";
/// On the ConfigMap: the uid of the credential whose activity it holds.
const ACTIVITY_FOR: &str = "keyhold.dev/activity-for";

/// The ConfigMap a credential's activity is kept in: by uid, so a new credential of the same name
/// starts with none.
fn name_for(credential: &Credential) -> Option<String> {
    credential.uid().map(|uid| format!("keyhold-activity-{uid}"))
}

fn entries_of(config_map: &ConfigMap) -> Vec<ActivityEntry> {
    config_map.data.as_ref().and_then(|d| d.get(ENTRIES)).and_then(|text| serde_json::from_str(text).ok()).unwrap_or_default()
}

/// Adds an entry. Two writers at once (the controller and a person's change) meet as a conflict
/// on the resourceVersion and the later one tries again; after a few tries it is logged and left.
pub async fn append(client: &Client, system_namespace: &str, credential: &Credential, action: &str, by: &str, detail: String) {
    // Being deleted: its activity goes with it, and must not be made again behind the cleanup.
    let Some(name) = name_for(credential).filter(|_| credential.metadata.deletion_timestamp.is_none()) else { return };
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), system_namespace);
    let entry = ActivityEntry { at: jiff::Timestamp::now().to_string(), action: action.to_string(), by: by.to_string(), detail };
    for _ in 0..5 {
        let result = match api.get_opt(&name).await {
            Ok(Some(mut existing)) => {
                let entries = appended(entries_of(&existing), entry.clone());
                existing.data = Some(BTreeMap::from([(ENTRIES.to_string(), serde_json::to_string(&entries).expect("serializes"))]));
                api.replace(&name, &PostParams::default(), &existing).await.map(|_| ())
            }
            Ok(None) => {
                let config_map = ConfigMap {
                    metadata: ObjectMeta {
                        name: Some(name.clone()),
                        labels: Some(BTreeMap::from([(MANAGED_BY.to_string(), "keyhold".to_string()), (ACTIVITY_FOR.to_string(), credential.uid().unwrap_or_default())])),
                        ..Default::default()
                    },
                    data: Some(BTreeMap::from([(ENTRIES.to_string(), serde_json::to_string(&[&entry]).expect("serializes"))])),
                    ..Default::default()
                };
                api.create(&PostParams::default(), &config_map).await.map(|_| ())
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => return,
            Err(kube::Error::Api(status)) if status.code == 409 => continue,
            Err(e) => {
                tracing::warn!(error = %e, credential = %credential.name_any(), "could not record activity");
                return;
            }
        }
    }
    tracing::warn!(credential = %credential.name_any(), "could not record activity: kept conflicting");
}

/// Removes a deleted credential's activity.
pub async fn remove(client: &Client, system_namespace: &str, credential: &Credential) -> Result<(), kube::Error> {
    let Some(name) = name_for(credential) else { return Ok(()) };
    match Api::<ConfigMap>::namespaced(client.clone(), system_namespace).delete(&name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

impl CredentialsService {
    /// A credential's activity, newest first, to those who may see the credential.
    pub async fn activity(&self, who: &Identity, namespace: &str, name: &str) -> Result<Vec<ActivityEntry>, ServiceError> {
        // The same rule as reading the credential itself (a personal one is its owner's alone).
        self.get(who, namespace, name).await?;
        let credential = Api::<Credential>::namespaced(self.client.clone(), namespace).get(name).await?;
        let Some(config_map) = name_for(&credential) else { return Ok(Vec::new()) };
        let found = Api::<ConfigMap>::namespaced(self.client.clone(), &self.settings.system_namespace).get_opt(&config_map).await?;
        let mut entries = found.as_ref().map(entries_of).unwrap_or_default();
        entries.reverse();
        Ok(entries)
    }
}
