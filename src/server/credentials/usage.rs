//! The usage index: which workloads use which Secrets, kept current from watches of Pods, the pod
//! templates of Deployments, StatefulSets, DaemonSets, Jobs and CronJobs, and Kubeflow's
//! PodDefaults where Kubeflow is installed.

use std::collections::HashMap;

use futures::FutureExt;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use tokio::sync::watch;

use super::ownership::{CREDENTIAL_LABEL, MANAGED_BY};
use crate::domain::usage::{pod_spec, secret_names};
use crate::server::watching::counted;

const WORKLOADS: &[(&str, &str, &str, &str)] = &[
    ("", "v1", "Pod", "pods"),
    ("apps", "v1", "Deployment", "deployments"),
    ("apps", "v1", "StatefulSet", "statefulsets"),
    ("apps", "v1", "DaemonSet", "daemonsets"),
    ("batch", "v1", "Job", "jobs"),
    ("batch", "v1", "CronJob", "cronjobs"),
    ("kubeflow.org", "v1alpha1", "PodDefault", "poddefaults"),
];

/// Kinds a cluster may not serve: watched once they are, never waited for.
const OPTIONAL: &[&str] = &["PodDefault"];
/// How often Keyhold looks again for an optional kind the cluster did not serve.
const LOOK_AGAIN: std::time::Duration = std::time::Duration::from_secs(30);

#[derive(Clone)]
pub struct UsageIndex {
    stores: Vec<(&'static str, Store<DynamicObject>)>,
}

/// Resolves once the cluster serves `api`'s kind (Kubeflow may be installed after Keyhold).
async fn served(api: &Api<DynamicObject>) {
    while api.list_metadata(&kube::api::ListParams::default().limit(1)).await.is_err() {
        tokio::time::sleep(LOOK_AGAIN).await;
    }
}

impl UsageIndex {
    /// Starts one watch per workload kind, counting every change on `changes`; the returned future
    /// drives them all.
    pub fn start(client: Client, changes: watch::Sender<u64>) -> (Self, impl Future<Output = ()> + Send + 'static) {
        let mut stores = Vec::new();
        let mut drivers = Vec::new();
        for (group, version, kind, plural) in WORKLOADS {
            let resource = ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural);
            let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
            let writer = reflector::store::Writer::new(resource.clone());
            let store = writer.as_reader();
            let changes = changes.clone();
            let optional = OPTIONAL.contains(kind);
            let driver = async move {
                if optional {
                    served(&api).await;
                }
                counted(writer, api, watcher::Config::default(), changes, kind).await
            };
            stores.push((*kind, store));
            drivers.push(driver.boxed());
        }
        (UsageIndex { stores }, futures::future::join_all(drivers).map(|_| ()))
    }

    pub async fn synced(&self) {
        for (kind, store) in &self.stores {
            if !OPTIONAL.contains(kind) {
                let _ = store.wait_until_ready().await;
            }
        }
    }

    /// The cached objects of `kind` in `namespaces`.
    pub fn objects(&self, kind: &str, namespaces: &[String]) -> Vec<std::sync::Arc<DynamicObject>> {
        self.stores
            .iter()
            .filter(|(k, _)| *k == kind)
            .flat_map(|(_, store)| store.state())
            .filter(|o| o.namespace().is_some_and(|ns| namespaces.contains(&ns)))
            .collect()
    }

    /// Who uses what, read once from every workload cache: (namespace, Secret name) to the
    /// workloads, as `Kind/namespace/name`, that reference that Secret.
    pub fn snapshot(&self) -> Usage {
        let mut users: HashMap<(String, String), Vec<String>> = HashMap::new();
        for (kind, store) in &self.stores {
            for object in store.state() {
                let Some(spec) = pod_spec(kind, &object.data) else { continue };
                let namespace = object.namespace().unwrap_or_default();
                // The PodDefault Keyhold offers a credential's Secret in goes with it, so it does
                // not hold it (a look-alike hides only a PodDefault, never the pods it fills).
                let offered = *kind == "PodDefault" && object.labels().get(MANAGED_BY).map(String::as_str) == Some("keyhold") && object.labels().contains_key(CREDENTIAL_LABEL);
                for secret in secret_names(spec).into_iter().filter(|s| !(offered && object.name_any() == super::notebooks::pod_default_name(s))) {
                    users.entry((namespace.clone(), secret)).or_default().push(format!("{kind}/{namespace}/{}", object.name_any()));
                }
            }
        }
        Usage(users)
    }
}

/// A snapshot of the usage index.
pub struct Usage(HashMap<(String, String), Vec<String>>);

impl Usage {
    /// The workloads in `namespaces` that use the Secret `secret`, sorted.
    pub fn users_of(&self, secret: &str, namespaces: &[String]) -> Vec<String> {
        let mut users: Vec<String> =
            namespaces.iter().filter_map(|ns| self.0.get(&(ns.clone(), secret.to_string()))).flatten().cloned().collect();
        users.sort();
        users.dedup();
        users
    }
}
