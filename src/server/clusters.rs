//! Member clusters (issue 20, its first part): the clusters an administrator registered besides
//! the one Keyhold runs in, each a Secret of the system namespace labelled `keyhold.dev/cluster`
//! holding a kubeconfig (`keyhold cluster add`). Keyhold probes each on an interval (its version
//! and its projects) and says since when it is reachable or not. Adding or removing one needs no
//! restart: each probe reads the Secrets again. A member's kubeconfig is a value: it is read for
//! the probe and never shown, logged or kept beyond it.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, ResourceExt};

use crate::domain::cluster::{CLUSTER_LABEL, KUBECONFIG_KEY, MemberCluster};
use crate::domain::identity::Identity;
use crate::domain::project::PROJECT_LABEL;
use crate::server::auth::access::Access;
use crate::server::credentials::service::ServiceError;

/// How long one probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct Clusters {
    found: Arc<RwLock<BTreeMap<String, MemberCluster>>>,
    access: Access,
    system_namespace: String,
}

impl Clusters {
    /// Starts probing the home cluster (named `home`) and every registered member each
    /// `interval`; the returned future drives it.
    pub fn start(client: Client, access: Access, home: String, system_namespace: String, interval: Duration) -> (Self, impl Future<Output = ()> + Send + 'static) {
        let clusters = Clusters { found: Arc::default(), access, system_namespace };
        let driver = {
            let clusters = clusters.clone();
            async move {
                loop {
                    clusters.probe_all(&client, &home).await;
                    tokio::time::sleep(interval).await;
                }
            }
        };
        (clusters, driver)
    }

    /// Every cluster as last probed, the home one first, for an administrator: someone who may
    /// change the credentials of the system namespace (the Cluster-scope ones).
    pub async fn list(&self, who: &Identity) -> Result<Vec<MemberCluster>, ServiceError> {
        if !self.may_manage(who).await? {
            return Err(ServiceError::Forbidden { verb: "manage", namespace: "the clusters".into() });
        }
        let found = self.found.read().expect("not poisoned");
        let mut all: Vec<MemberCluster> = found.values().cloned().collect();
        all.sort_by(|a, b| (!a.home, &a.name).cmp(&(!b.home, &b.name)));
        Ok(all)
    }

    /// Whether `who` administers the clusters.
    pub async fn may_manage(&self, who: &Identity) -> Result<bool, ServiceError> {
        Ok(self.access.may(who, "update", "credentials", &self.system_namespace).await?)
    }

    async fn probe_all(&self, client: &Client, home: &str) {
        let mut probed = vec![(home.to_string(), true, "this cluster".to_string(), probe(client).await)];
        let secrets = Api::<Secret>::namespaced(client.clone(), &self.system_namespace).list(&ListParams::default().labels(CLUSTER_LABEL)).await;
        match secrets {
            Ok(secrets) => {
                for secret in secrets.items {
                    let name = secret.labels().get(CLUSTER_LABEL).cloned().unwrap_or_default();
                    if name.is_empty() || name == home {
                        continue;
                    }
                    let (server, result) = match member_client(&secret).await {
                        Ok((server, member)) => (server, probe(&member).await),
                        Err(e) => (String::new(), Err(e)),
                    };
                    probed.push((name, false, server, result));
                }
            }
            // The members are not known this round: the last known stay as they were.
            Err(e) => {
                tracing::warn!(error = %e, "could not read the member clusters");
                return;
            }
        }
        let now = jiff::Timestamp::now().to_string();
        let mut found = self.found.write().expect("not poisoned");
        let previous = std::mem::take(&mut *found);
        for (name, home, server, result) in probed {
            let before = previous.get(&name);
            let reachable = result.is_ok();
            let since = match before {
                Some(b) if b.reachable == reachable => b.since.clone(),
                _ => now.clone(),
            };
            let cluster = match result {
                Ok((version, projects)) => MemberCluster { name: name.clone(), server, reachable, since, version, projects, message: String::new(), home },
                // What was last seen of it stays, marked unreachable.
                Err(message) => MemberCluster {
                    name: name.clone(),
                    server,
                    reachable,
                    since,
                    version: before.map(|b| b.version.clone()).unwrap_or_default(),
                    projects: before.map(|b| b.projects.clone()).unwrap_or_default(),
                    message,
                    home,
                },
            };
            if before.is_some_and(|b| b.reachable != reachable) {
                tracing::warn!(cluster = %name, reachable, "a member cluster's reachability changed");
            }
            found.insert(name, cluster);
        }
    }
}

/// A client for the member a Secret describes, and its API server's URL.
async fn member_client(secret: &Secret) -> Result<(String, Client), String> {
    let text = secret.data.as_ref().and_then(|d| d.get(KUBECONFIG_KEY)).map(|v| String::from_utf8_lossy(&v.0).into_owned()).ok_or("its Secret holds no kubeconfig")?;
    // The kubeconfig's own error text may quote it: only its kind is said.
    let kubeconfig = Kubeconfig::from_yaml(&text).map_err(|_| "its kubeconfig cannot be read".to_string())?;
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.map_err(|_| "its kubeconfig cannot be used".to_string())?;
    config.connect_timeout = Some(PROBE_TIMEOUT);
    config.read_timeout = Some(PROBE_TIMEOUT);
    let server = config.cluster_url.to_string();
    let client = Client::try_from(config).map_err(|_| "its kubeconfig cannot be used".to_string())?;
    Ok((server, client))
}

/// A cluster's version and projects, or why it could not be asked.
async fn probe(client: &Client) -> Result<(String, Vec<String>), String> {
    let asked = async {
        let version = client.apiserver_version().await?.git_version;
        let namespaces = Api::<Namespace>::all(client.clone()).list_metadata(&ListParams::default().labels(PROJECT_LABEL)).await?;
        let mut projects: Vec<String> = namespaces.items.iter().map(|n| n.name_any()).collect();
        projects.sort();
        Ok::<_, kube::Error>((version, projects))
    };
    match tokio::time::timeout(PROBE_TIMEOUT, asked).await {
        Ok(Ok(found)) => Ok(found),
        Ok(Err(kube::Error::Api(status))) if status.code == 401 || status.code == 403 => Err(format!("it refused Keyhold's credentials (HTTP {})", status.code)),
        Ok(Err(kube::Error::Api(status))) => Err(format!("it answered HTTP {}", status.code)),
        Ok(Err(_)) => Err("failed to access the cluster".into()),
        Err(_) => Err(format!("it did not answer within {} s", PROBE_TIMEOUT.as_secs())),
    }
}
