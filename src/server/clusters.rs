//! Member clusters (issue 20, its first part): the clusters an administrator registered besides
//! the one Keyhold runs in, each a Secret of the system namespace labelled `keyhold.dev/cluster`
//! holding a kubeconfig (`keyhold cluster add`). Keyhold probes each on an interval (its version
//! and its projects) and says since when it is reachable or not. Adding or removing one needs no
//! restart: each probe reads the Secrets again. A member's kubeconfig is a value: it is read for
//! the probe and never shown, logged or kept beyond it.
//!
//! Whoever can write a Secret of the system namespace writes these kubeconfigs, so they are input:
//! one that would make Keyhold run a command (exec, an auth provider), read a file (a token file,
//! a certificate path: Keyhold's own token is such a file) or go through a proxy is refused before
//! any client is built, and the API server must be https at an address a registry could have
//! (`--connection-test-allow` widens both).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, ResourceExt};

use crate::domain::cluster::{CLUSTER_LABEL, KUBECONFIG_KEY, MemberCluster, check_cluster_name, secret_name};
use crate::domain::identity::Identity;
use crate::domain::project::PROJECT_LABEL;
use crate::server::auth::access::Access;
use crate::server::credentials::connection::ConnectionTests;
use crate::server::credentials::service::ServiceError;

/// How long one probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// The most projects a probe reads of a cluster, and the longest version kept.
const MAX_PROJECTS: u32 = 1_000;
const MAX_VERSION: usize = 64;

#[derive(Clone)]
pub struct Clusters {
    found: Arc<RwLock<BTreeMap<String, MemberCluster>>>,
    access: Access,
    system_namespace: String,
    /// The address rules person-written URLs are held to.
    reach: ConnectionTests,
}

impl Clusters {
    /// Starts probing the home cluster (named `home`) and every registered member each
    /// `interval`; the returned future drives it.
    pub fn start(client: Client, access: Access, home: String, system_namespace: String, reach: ConnectionTests, interval: Duration) -> (Self, impl Future<Output = ()> + Send + 'static) {
        let clusters = Clusters { found: Arc::default(), access, system_namespace, reach };
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
        let found = self.found.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut all: Vec<MemberCluster> = found.values().cloned().collect();
        all.sort_by(|a, b| (!a.home, &a.name).cmp(&(!b.home, &b.name)));
        Ok(all)
    }

    /// Whether `who` administers the clusters.
    pub async fn may_manage(&self, who: &Identity) -> Result<bool, ServiceError> {
        Ok(self.access.may(who, "update", "credentials", &self.system_namespace).await?)
    }

    async fn probe_all(&self, client: &Client, home: &str) {
        let home_probe = async { (home.to_string(), true, "this cluster".to_string(), probe(client).await) };
        let secrets = Api::<Secret>::namespaced(client.clone(), &self.system_namespace).list(&ListParams::default().labels(CLUSTER_LABEL)).await;
        let secrets = match secrets {
            Ok(secrets) => secrets.items,
            // The members are not known this round: the last known stay as they were.
            Err(e) => {
                tracing::warn!(error = %e, "could not read the member clusters");
                Vec::new()
            }
        };
        // A member is the Secret its name says, under a name of the rules, other than home's.
        let members = secrets.iter().filter_map(|secret| {
            let name = secret.labels().get(CLUSTER_LABEL)?.clone();
            (check_cluster_name(&name).is_ok() && name != home && secret.name_any() == secret_name(&name)).then_some((name, secret))
        });
        // Probed at once, so one that does not answer delays no other.
        let member_probes = members.map(|(name, secret)| async move {
            let (server, result) = match self.member_client(secret).await {
                Ok((server, member)) => (server, probe(&member).await),
                Err((server, why)) => (server, Err(why)),
            };
            (name, false, server, result)
        });
        let (home_probed, mut probed) = futures::future::join(home_probe, futures::future::join_all(member_probes)).await;
        probed.insert(0, home_probed);
        let now = jiff::Timestamp::now().to_string();
        let mut found = self.found.write().unwrap_or_else(std::sync::PoisonError::into_inner);
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

impl Clusters {
    /// A client for the member a Secret describes, and its API server as shown (`scheme://host:port`),
    /// once its kubeconfig passes `vetted`.
    async fn member_client(&self, secret: &Secret) -> Result<(String, Client), (String, String)> {
        let text = secret.data.as_ref().and_then(|d| d.get(KUBECONFIG_KEY)).map(|v| String::from_utf8_lossy(&v.0).into_owned());
        let text = text.ok_or((String::new(), "its Secret holds no kubeconfig".to_string()))?;
        // The kubeconfig's own error text may quote it: only its kind is said.
        let kubeconfig = Kubeconfig::from_yaml(&text).map_err(|_| (String::new(), "its kubeconfig cannot be read".to_string()))?;
        let server = vetted(&kubeconfig).map_err(|why| (String::new(), why))?;
        let shown = server.origin().ascii_serialization();
        self.reach.may_reach(&server).await.map_err(|why| (shown.clone(), why))?;
        let unusable = || (shown.clone(), "its kubeconfig cannot be used".to_string());
        let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.map_err(|_| unusable())?;
        config.connect_timeout = Some(PROBE_TIMEOUT);
        config.read_timeout = Some(PROBE_TIMEOUT);
        let client = Client::try_from(config).map_err(|_| unusable())?;
        Ok((shown, client))
    }
}

/// The API server of a kubeconfig that holds its credentials inline (a token or a client
/// certificate) and names no command, file or proxy; why not otherwise.
fn vetted(kubeconfig: &Kubeconfig) -> Result<reqwest::Url, String> {
    let refused = |why: &str| Err(format!("its kubeconfig {why}; register it again with keyhold cluster add"));
    if kubeconfig.clusters.len() != 1 || kubeconfig.auth_infos.len() != 1 {
        return refused("is not cut to one cluster and one user");
    }
    let cluster = kubeconfig.clusters[0].cluster.clone().unwrap_or_default();
    let user = kubeconfig.auth_infos[0].auth_info.clone().unwrap_or_default();
    if user.exec.is_some() || user.auth_provider.is_some() {
        return refused("runs a command to log in");
    }
    if user.token_file.is_some() || user.client_certificate.is_some() || user.client_key.is_some() || cluster.certificate_authority.is_some() {
        return refused("names files");
    }
    if cluster.proxy_url.is_some() || user.username.is_some() || user.password.is_some() {
        return refused("uses a proxy or a password");
    }
    match cluster.server.as_deref().and_then(|s| reqwest::Url::parse(s).ok()) {
        Some(url) if url.scheme() == "https" && url.has_host() && url.username().is_empty() && url.password().is_none() => Ok(url),
        _ => refused("names no https API server"),
    }
}

/// A cluster's version and projects, or why it could not be asked.
async fn probe(client: &Client) -> Result<(String, Vec<String>), String> {
    let asked = async {
        let version: String = client.apiserver_version().await?.git_version.chars().take(MAX_VERSION).collect();
        let namespaces = Api::<Namespace>::all(client.clone()).list_metadata(&ListParams::default().labels(PROJECT_LABEL).limit(MAX_PROJECTS)).await?;
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
