//! Each person's console preferences (for now, the Credentials table's hidden columns), kept in the
//! ConfigMap `keyhold-preferences` in the system namespace, one key per user, so that they follow
//! the person across sessions, browsers and replicas. A watch keeps a copy in memory; a change
//! made here is in that copy at once, so the next page shows it.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::Client;
use serde::{Deserialize, Serialize};

use crate::domain::query::Column;

const CONFIG_MAP: &str = "keyhold-preferences";

/// What one person has chosen, as departures from the defaults: the columns shown by default
/// that they hide, and the ones hidden by default that they show. So a column added in a later
/// version appears with its default for everyone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Chosen {
    #[serde(default)]
    hidden_columns: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    shown_columns: Vec<String>,
}

impl Chosen {
    /// The record of hiding `hidden` (the Credential column cannot be hidden), each column once,
    /// so one person's record stays small in a ConfigMap everyone shares.
    fn hiding(hidden: &[Column]) -> Chosen {
        let keys = |columns: Vec<Column>| columns.into_iter().map(|c| c.key().to_string()).collect();
        let (by_default, not_by_default): (Vec<Column>, Vec<Column>) = Column::ALL.into_iter().partition(|c| c.hidden_by_default());
        Chosen {
            hidden_columns: keys(not_by_default.into_iter().filter(|c| c.hideable() && hidden.contains(c)).collect()),
            shown_columns: keys(by_default.into_iter().filter(|c| !hidden.contains(c)).collect()),
        }
    }

    /// The columns hidden for someone with this record (`None`: who never chose).
    fn hidden(chosen: Option<&Chosen>) -> Vec<Column> {
        let has = |keys: &[String], column: Column| keys.iter().any(|k| k == column.key());
        Column::ALL
            .into_iter()
            .filter(|&c| match chosen {
                None => c.hidden_by_default(),
                Some(chosen) if c.hidden_by_default() => !has(&chosen.shown_columns, c),
                Some(chosen) => has(&chosen.hidden_columns, c),
            })
            .collect()
    }
}

#[derive(Clone)]
pub struct Preferences {
    client: Client,
    namespace: String,
    /// User (unescaped) to their choices.
    known: Arc<RwLock<HashMap<String, Chosen>>>,
}

impl Preferences {
    /// Starts watching the preferences ConfigMap; the returned future drives the copy in memory.
    pub fn start(client: Client, namespace: &str) -> (Self, impl Future<Output = ()> + Send + 'static) {
        let preferences = Preferences { client: client.clone(), namespace: namespace.to_string(), known: Arc::default() };
        let known = preferences.known.clone();
        let config = watcher::Config::default().fields(&format!("metadata.name={CONFIG_MAP}"));
        let driver = watcher(Api::<ConfigMap>::namespaced(client, namespace), config).default_backoff().for_each(move |event| {
            match event {
                Ok(watcher::Event::Apply(map) | watcher::Event::InitApply(map)) => *known.write().expect("not poisoned") = read(&map),
                Ok(watcher::Event::Delete(_)) => known.write().expect("not poisoned").clear(),
                Ok(watcher::Event::Init | watcher::Event::InitDone) => {}
                Err(e) => tracing::warn!(error = %e, "preferences watch failed; retrying"),
            }
            async {}
        });
        (preferences, driver)
    }

    /// The columns hidden for `user`: their choice, or the defaults.
    pub fn hidden_columns(&self, user: &str) -> Vec<Column> {
        Chosen::hidden(self.known.read().expect("not poisoned").get(user))
    }

    /// Records the columns `user` hides.
    pub async fn hide_columns(&self, user: &str, hidden: &[Column]) -> Result<(), kube::Error> {
        let chosen = Chosen::hiding(hidden);
        let value = serde_json::to_string(&chosen).expect("serialisable");
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), &self.namespace);
        // A merge patch of one key leaves the other people's keys alone, so concurrent changes by
        // different people never overwrite each other.
        let patch = serde_json::json!({"data": {escape(user): value}});
        match api.patch(CONFIG_MAP, &PatchParams::default(), &Patch::Merge(&patch)).await {
            Err(kube::Error::Api(status)) if status.code == 404 => {
                let map = ConfigMap {
                    metadata: ObjectMeta { name: Some(CONFIG_MAP.into()), ..Default::default() },
                    data: Some([(escape(user), value)].into()),
                    ..Default::default()
                };
                match api.create(&PostParams::default(), &map).await {
                    // Someone else created it a moment ago: add ours to theirs.
                    Err(kube::Error::Api(status)) if status.code == 409 => {
                        api.patch(CONFIG_MAP, &PatchParams::default(), &Patch::Merge(&patch)).await?;
                    }
                    other => {
                        other?;
                    }
                }
            }
            other => {
                other?;
            }
        }
        self.known.write().expect("not poisoned").insert(user.to_string(), chosen);
        Ok(())
    }
}

fn read(map: &ConfigMap) -> HashMap<String, Chosen> {
    let data = map.data.iter().flatten();
    data.filter_map(|(key, value)| Some((unescape(key)?, serde_json::from_str(value).ok()?))).collect()
}

/// A user name as a ConfigMap key (`[-._a-zA-Z0-9]`): letters, digits, '-' and '.' stay, anything
/// else becomes `_` and two hex digits per byte, so `system:admin` is `system_3Aadmin`.
fn escape(user: &str) -> String {
    let mut key = String::new();
    for byte in user.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'.' {
            key.push(byte as char);
        } else {
            key.push_str(&format!("_{byte:02X}"));
        }
    }
    key
}

fn unescape(key: &str) -> Option<String> {
    let mut bytes = Vec::new();
    let mut rest = key.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        if first == b'_' {
            let hex = std::str::from_utf8(tail.get(..2)?).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(first);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_become_config_map_keys_and_back() {
        for user in ["alice", "system:serviceaccount:ml:runner", "jo_smith@example.com", "Zoë"] {
            let key = escape(user);
            assert!(key.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b)), "{key}");
            assert_eq!(unescape(&key).as_deref(), Some(user));
        }
        assert_eq!(escape("system:admin"), "system_3Aadmin");
    }

    #[test]
    fn choices_are_kept_as_departures_from_the_defaults() {
        assert_eq!(Chosen::hidden(None), [Column::KubernetesName], "hidden until shown");
        let chosen = Chosen::hiding(&[Column::Description, Column::Credential, Column::Description]);
        assert_eq!((chosen.hidden_columns.as_slice(), chosen.shown_columns.as_slice()), (["description".to_string()].as_slice(), ["kubernetes_name".to_string()].as_slice()));
        assert_eq!(Chosen::hidden(Some(&chosen)), [Column::Description]);
        let defaults = Chosen::hiding(&[Column::KubernetesName]);
        assert_eq!(serde_json::to_string(&defaults).unwrap(), r#"{"hidden_columns":[]}"#);
        // A record from before the column existed keeps it hidden.
        let older: Chosen = serde_json::from_str(r#"{"hidden_columns":["cluster"]}"#).unwrap();
        assert_eq!(Chosen::hidden(Some(&older)), [Column::KubernetesName, Column::Cluster]);
    }
}
