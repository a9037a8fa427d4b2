//! The embedded Kubernetes API: Keyhold's default cluster when no other is configured, and every
//! test's cluster (DESIGN.md §4). A faithful subset of kube-apiserver, persisted in the data
//! directory, reached in-process through `kube::Client` or on a loopback port by real clients.

mod api;
mod auth;
mod crd;
mod managed;
mod objects;
mod openapi;
mod ops;
mod protobuf;
mod rbac;
mod resources;
mod reviews;
mod schema;
mod selectors;
mod status;
mod store;
mod table;
mod tls;
mod validation;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

pub use status::ApiError;
pub use store::StoreError;

use resources::ResourceType;
use store::Store;

/// One embedded cluster: its store and the types it serves.
pub struct Cluster {
    store: Store,
    /// The built-in types and those the stored CRDs define; replaced whole when a CRD changes.
    types: RwLock<Arc<Vec<ResourceType>>>,
    admin_token: String,
    tls: tls::Identity,
    created: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot use {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

impl Cluster {
    /// Opens the cluster kept in `data_dir`, creating it (with its system namespaces) on first use;
    /// a new directory is its owner's alone (it holds every Secret in plain text).
    pub fn open(data_dir: &Path) -> Result<Arc<Self>, EmbeddedError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| EmbeddedError::Io { path, source }
        };
        crate::private_files::create_dir(data_dir).map_err(io(data_dir))?;
        let (store, created) = Store::open(data_dir)?;
        let admin_token = auth::load_or_create_token(data_dir).map_err(io(data_dir))?;
        let tls = tls::load_or_create(data_dir).map_err(io(data_dir))?;
        let types = RwLock::new(Arc::new(resources::builtin_types()));
        let cluster = Arc::new(Cluster { store, types, admin_token, tls, created });
        if created {
            cluster.bootstrap()?;
        }
        cluster.refresh_types();
        Ok(cluster)
    }

    /// What every cluster starts with: the system namespaces and the bootstrap RBAC policy.
    fn bootstrap(&self) -> Result<(), EmbeddedError> {
        let namespaces = self.find_type("", "v1", "namespaces").expect("namespaces are built in");
        let opts = ops::WriteOptions { manager: "keyhold-embedded".into(), ..Default::default() };
        let fail = |e: ApiError| StoreError::Write(e.message);
        for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let body = serde_json::json!({"metadata": {"name": name}});
            ops::create(&self.store, &namespaces, "", body, &opts).map_err(fail)?;
        }
        for (plural, body) in rbac::bootstrap_objects() {
            let rt = self.find_type("rbac.authorization.k8s.io", "v1", plural).expect("RBAC types are built in");
            ops::create(&self.store, &rt, "", body, &opts).map_err(fail)?;
        }
        Ok(())
    }

    /// Whether this start created the cluster (its data directory held none).
    pub fn is_new(&self) -> bool {
        self.created
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) fn types(&self) -> Arc<Vec<ResourceType>> {
        self.types.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(crate) fn find_type(&self, group: &str, version: &str, plural: &str) -> Option<ResourceType> {
        resources::find(&self.types(), group, version, plural).cloned()
    }

    /// Recomputes the served types after a CustomResourceDefinition changed.
    pub(crate) fn refresh_types(&self) {
        let mut types = resources::builtin_types();
        let (_, crds) = self.store.list("apiextensions.k8s.io/customresourcedefinitions", None, None);
        for crd in crds.iter().map(|c| c.value()).filter(|c| c["metadata"]["deletionTimestamp"].is_null()) {
            types.extend(crd::types_of(&crd));
        }
        *self.types.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(types);
    }

    /// Empties a terminating namespace in the background, as kube-controller-manager does, and
    /// removes it once its content is gone.
    pub(crate) fn finish_namespace_later(self: &Arc<Self>, namespace: String) {
        let cluster = self.clone();
        tokio::spawn(async move {
            loop {
                let Ok(mut sub) = cluster.store.subscribe(None) else { return };
                match ops::finish_namespace(&cluster.store, &cluster.types(), &namespace) {
                    Ok(true) => return,
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(namespace, error = %e, "namespace cleanup failed");
                        return;
                    }
                }
                // Something still holds a finalizer: try again after the next change.
                if sub.live.recv().await.is_err() {
                    return;
                }
            }
        });
    }

    /// The API for in-process use: every call is Keyhold's own.
    pub fn router(self: &Arc<Self>) -> axum::Router {
        api::router(self.clone()).layer(axum::Extension(auth::internal()))
    }

    /// Who a bearer token belongs to.
    pub(crate) fn identity_of_token(&self, token: &str) -> Option<rbac::Identity> {
        (!token.is_empty() && token == self.admin_token).then(auth::admin)
    }

    /// A `kube::Client` that talks to this cluster in-process, with no socket.
    pub fn client(self: &Arc<Self>) -> kube::Client {
        kube::Client::new(self.router(), "default")
    }

    /// Serves the API over TLS for real clients (kubectl), requiring the admin bearer token.
    pub async fn serve(self: &Arc<Self>, listener: tokio::net::TcpListener, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let router = api::router(self.clone()).layer(axum::middleware::from_fn_with_state(self.clone(), auth::authenticate));
        axum::serve(tls::TlsListener::new(listener, &self.tls)?, router).with_graceful_shutdown(shutdown).await
    }

    /// Writes a kubeconfig that points kubectl at `addr` with the admin token.
    pub fn write_kubeconfig(&self, file: &Path, addr: SocketAddr) -> std::io::Result<()> {
        auth::write_kubeconfig(file, addr, &self.admin_token, &self.tls.ca_pem)
    }
}
