//! Member clusters (issue 20): the clusters an administrator registered besides the one Keyhold
//! runs in, each a Secret of the system namespace labelled `keyhold.dev/cluster` holding a
//! kubeconfig (`keyhold cluster add`). Keyhold probes each on an interval (its version and its
//! projects) and says since when it is reachable or not; while one is reachable it watches its
//! projects and Keyhold's copies there (metadata only, nothing kept) and tells the controller
//! (`Members::notices`), which copies Account-scope credentials into it. Adding or removing one
//! needs no restart: each probe reads the Secrets again. A member's kubeconfig is a value: it is
//! read to build a client, kept only in that client, never shown or logged.
//!
//! Whoever can write a Secret of the system namespace writes these kubeconfigs, so they are input:
//! one that would make Keyhold run a command (exec, an auth provider), read a file (a token file,
//! a certificate path: Keyhold's own token is such a file) or go through a proxy is refused before
//! any client is built, and the API server must be https at an address a registry could have
//! (`--connection-test-allow` widens both).
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::PartialObjectMeta;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use tokio::sync::broadcast;

use crate::domain::cluster::{CLUSTER_LABEL, KUBECONFIG_KEY, MemberCluster, check_cluster_name, secret_name};
use crate::domain::identity::Identity;
use crate::domain::credential::{is_label_value, is_object_name};
use crate::domain::project::{DEPARTMENT_LABEL, PROJECT_LABEL, ProjectSummary};
use crate::server::auth::access::Access;
use crate::server::credentials::connection::ConnectionTests;
use crate::server::credentials::ownership::{CREDENTIAL_LABEL, MANAGED_BY};
use crate::server::credentials::service::ServiceError;

/// How long one probe, and one request to a member, may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// The most projects a probe reads of a cluster, and the longest version kept.
const MAX_PROJECTS: u32 = 1_000;
const MAX_VERSION: usize = 64;

/// Word for the controller that something changed in the member clusters.
#[derive(Debug, Clone)]
pub enum Notice {
    /// A member came, went, was lost or found again, or its projects changed: every Account-scope
    /// credential is looked at again.
    Clusters,
    /// A copy in a member changed: the credential its `keyhold.dev/credential` label names.
    Copy(String),
}

/// The registered members as the controller sees them: a client for each one the last probe
/// reached, and notices of changes. Shared by the prober, the controller and the service.
#[derive(Clone)]
pub struct Members {
    connected: Arc<RwLock<BTreeMap<String, Connection>>>,
    /// Whether the member Secrets have been read since the start: until then none can be taken
    /// for gone (a deletion must not skip a member it has not heard of yet). The first read comes
    /// milliseconds after the start; this covers a read that fails.
    known: Arc<std::sync::atomic::AtomicBool>,
    notices: broadcast::Sender<Notice>,
}

impl std::fmt::Debug for Members {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Members").field("registered", &self.connected.read().map(|c| c.len()).unwrap_or_default()).finish()
    }
}

impl Default for Members {
    fn default() -> Self {
        Members { connected: Arc::default(), known: Arc::default(), notices: broadcast::channel(1024).0 }
    }
}

/// One registered member: `client` is `None` when the last probe did not reach it (or its
/// kubeconfig was refused).
pub struct Member {
    pub name: String,
    pub client: Option<Client>,
}

struct Connection {
    /// The resourceVersion of the Secret the client was built from: a new kubeconfig, a new client.
    secret_version: String,
    server: String,
    client: Result<Client, String>,
    reachable: bool,
    /// Its projects (with their departments) as last probed, for the scope tree and the rows.
    projects: Vec<ProjectSummary>,
    /// The member's watch, stopped when the connection goes (the member removed or changed).
    _watch: Option<Stopped>,
}

/// Aborts a task when dropped.
struct Stopped(tokio::task::AbortHandle);

impl Drop for Stopped {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Members {
    /// Every registered member, by name.
    pub fn registered(&self) -> Vec<Member> {
        let connected = self.connected.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        connected.iter().map(|(name, c)| Member { name: name.clone(), client: c.client.as_ref().ok().filter(|_| c.reachable).cloned() }).collect()
    }

    /// Whether the members have been read at least once.
    pub fn known(&self) -> bool {
        self.known.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Whether any member is registered (the wizard then offers Account scope over them).
    pub fn any(&self) -> bool {
        !self.connected.read().unwrap_or_else(std::sync::PoisonError::into_inner).is_empty()
    }

    /// Each member's projects as last probed (sorted by department, then name), by member.
    pub fn projects(&self) -> Vec<(String, Vec<ProjectSummary>)> {
        let connected = self.connected.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        connected.iter().map(|(name, c)| (name.clone(), c.projects.clone())).collect()
    }

    /// A member project's department, as last probed.
    pub fn department_of(&self, cluster: &str, project: &str) -> Option<String> {
        let connected = self.connected.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        connected.get(cluster)?.projects.iter().find(|p| p.name == project)?.department.clone()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Notice> {
        self.notices.subscribe()
    }

    fn notify(&self, notice: Notice) {
        // No receiver (no controller on this replica) is no error.
        let _ = self.notices.send(notice);
    }
}

#[derive(Clone)]
pub struct Clusters {
    found: Arc<RwLock<BTreeMap<String, MemberCluster>>>,
    members: Members,
    access: Access,
    system_namespace: String,
    /// The address rules person-written URLs are held to.
    reach: ConnectionTests,
}

impl Clusters {
    /// Starts probing the home cluster (named `home`) and every registered member each
    /// `interval`, keeping `members` current; the returned future drives it.
    pub fn start(client: Client, members: Members, access: Access, home: String, system_namespace: String, reach: ConnectionTests, interval: Duration) -> (Self, impl Future<Output = ()> + Send + 'static) {
        let clusters = Clusters { found: Arc::default(), members, access, system_namespace, reach };
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
            // The members are not known this round: they stay as they were.
            Err(e) => {
                tracing::warn!(error = %e, "could not read the member clusters");
                return;
            }
        };
        // A member is the Secret its name says, under a name of the rules, other than home's.
        let members: Vec<(String, &Secret)> = secrets
            .iter()
            .filter_map(|secret| {
                let name = secret.labels().get(CLUSTER_LABEL)?.clone();
                (check_cluster_name(&name).is_ok() && name != home && secret.name_any() == secret_name(&name)).then_some((name, secret))
            })
            .collect();
        let connections = self.connect(&members).await;
        self.members.known.store(true, std::sync::atomic::Ordering::Release);
        // Probed at once, so one that does not answer delays no other.
        let member_probes = connections.iter().map(|(name, (server, client))| async move {
            let result = match client {
                Ok(member) => probe(member).await,
                Err(why) => Err(why.clone()),
            };
            (name.clone(), false, server.clone(), result)
        });
        let (home_probed, mut probed) = futures::future::join(home_probe, futures::future::join_all(member_probes)).await;
        let changed = self.keep_reachability(&probed);
        probed.insert(0, home_probed);
        self.record(probed);
        if changed {
            self.members.notify(Notice::Clusters);
        }
    }

    /// The connection to each member, made again where its Secret changed; members gone are
    /// dropped (their watches stop).
    async fn connect(&self, members: &[(String, &Secret)]) -> BTreeMap<String, (String, Result<Client, String>)> {
        let mut made = BTreeMap::new();
        for (name, secret) in members {
            let version = secret.resource_version().unwrap_or_default();
            let kept = {
                let connected = self.members.connected.read().unwrap_or_else(std::sync::PoisonError::into_inner);
                connected.get(name).filter(|c| c.secret_version == version).map(|c| (c.server.clone(), c.client.clone()))
            };
            let connection = match kept {
                Some(kept) => kept,
                None => {
                    let (server, client, watch) = match self.member_client(secret).await {
                        Ok((server, request, watch)) => (server, Ok(request), Some(watch_member(name.clone(), watch, self.members.clone()))),
                        Err((server, why)) => (server, Err(why), None),
                    };
                    let connection = Connection { secret_version: version, server: server.clone(), client: client.clone(), reachable: false, projects: Vec::new(), _watch: watch };
                    self.members.connected.write().unwrap_or_else(std::sync::PoisonError::into_inner).insert(name.clone(), connection);
                    (server, client)
                }
            };
            made.insert(name.clone(), connection);
        }
        let mut connected = self.members.connected.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let before = connected.len();
        connected.retain(|name, _| made.contains_key(name));
        if connected.len() != before {
            self.members.notify(Notice::Clusters);
        }
        made
    }

    /// Records which members the probe reached; whether any changed.
    fn keep_reachability(&self, probed: &[(String, bool, String, Result<(String, Vec<ProjectSummary>), String>)]) -> bool {
        let mut connected = self.members.connected.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut changed = false;
        for (name, _, _, result) in probed {
            let Some(connection) = connected.get_mut(name) else { continue };
            if connection.reachable != result.is_ok() {
                connection.reachable = result.is_ok();
                changed = true;
            }
            if let Ok((_, projects)) = result {
                connection.projects = projects.clone();
            }
        }
        changed
    }

    /// What the Clusters page shows, from this round's probes.
    fn record(&self, probed: Vec<(String, bool, String, Result<(String, Vec<ProjectSummary>), String>)>) {
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
                Ok((version, projects)) => {
                    let mut projects: Vec<String> = projects.into_iter().map(|p| p.name).collect();
                    projects.sort();
                    MemberCluster { name: name.clone(), server, reachable, since, version, projects, message: String::new(), home }
                }
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

/// Watches a member's projects and Keyhold's copies there (metadata only; nothing is kept) and
/// turns what happens into notices. A watch that breaks starts again by listing, and the end of
/// that list is a notice too: a member found again is caught up.
fn watch_member(name: String, client: Client, members: Members) -> Stopped {
    let projects = watcher(Api::<PartialObjectMeta<Namespace>>::all(client.clone()), watcher::Config::default().labels(PROJECT_LABEL)).default_backoff().map_ok(|event| match event {
        watcher::Event::Init | watcher::Event::InitApply(_) => None,
        _ => Some(Notice::Clusters),
    });
    let copies = watcher(Api::<PartialObjectMeta<Secret>>::all(client), watcher::Config::default().labels(&format!("{MANAGED_BY}=keyhold"))).default_backoff().map_ok(|event| match event {
        watcher::Event::Apply(copy) | watcher::Event::Delete(copy) => copy.labels().get(CREDENTIAL_LABEL).cloned().map(Notice::Copy),
        _ => None,
    });
    let task = tokio::spawn(async move {
        let mut notices = std::pin::pin!(futures::stream::select(projects, copies));
        while let Some(notice) = notices.next().await {
            match notice {
                Ok(Some(notice)) => members.notify(notice),
                Ok(None) => {}
                Err(e) => tracing::debug!(cluster = %name, error = %e, "a member's watch broke; it starts again"),
            }
        }
    });
    Stopped(task.abort_handle())
}

impl Clusters {
    /// Clients for the member a Secret describes (one whose requests time out, one for watches),
    /// and its API server as shown (`scheme://host:port`), once its kubeconfig passes `vetted`.
    async fn member_client(&self, secret: &Secret) -> Result<(String, Client, Client), (String, String)> {
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
        // A watch waits on the server for minutes: only the other requests are held to 5 s.
        let watch = Client::try_from(config.clone()).map_err(|_| unusable())?;
        config.read_timeout = Some(PROBE_TIMEOUT);
        let client = Client::try_from(config).map_err(|_| unusable())?;
        Ok((shown, client, watch))
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
    if cluster.insecure_skip_tls_verify == Some(true) {
        return refused("skips verifying the API server's certificate");
    }
    match cluster.server.as_deref().and_then(|s| reqwest::Url::parse(s).ok()) {
        Some(url) if url.scheme() == "https" && url.has_host() && url.username().is_empty() && url.password().is_none() => Ok(url),
        _ => refused("names no https API server"),
    }
}

/// A cluster's version and projects, or why it could not be asked.
async fn probe(client: &Client) -> Result<(String, Vec<ProjectSummary>), String> {
    let asked = async {
        let version: String = client.apiserver_version().await?.git_version.chars().take(MAX_VERSION).collect();
        let namespaces = Api::<Namespace>::all(client.clone()).list_metadata(&ListParams::default().labels(PROJECT_LABEL).limit(MAX_PROJECTS)).await?;
        // A member's names are its operator's: only well-formed ones are kept.
        let mut projects: Vec<ProjectSummary> = namespaces
            .items
            .iter()
            .filter(|n| is_object_name(&n.name_any()))
            .map(|n| {
                let department = n.labels().get(DEPARTMENT_LABEL).filter(|d| !d.is_empty() && is_label_value(d)).cloned();
                ProjectSummary { name: n.name_any(), namespace: n.name_any(), department, credentials: None, secret_keys: None }
            })
            .collect();
        projects.sort_by(|a, b| (&a.department, &a.name).cmp(&(&b.department, &b.name)));
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
