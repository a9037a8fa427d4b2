//! Everything that runs only on the server: configuration, the connection to Kubernetes, the
//! services behind the pages, and the HTTP server.

pub mod cluster;
pub mod config;
pub mod credentials;
mod demo;
mod http;
pub mod leader;
pub mod projects;
mod shutdown;
pub mod telemetry;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;

use config::{KubeApiArgs, ServeArgs};
use projects::ProjectsService;

/// What handlers and server functions share.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub projects: ProjectsService,
    pub readiness: Readiness,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// Set once every cache has synced; `/readyz` reports it.
#[derive(Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    fn set_ready(&self) {
        self.0.store(true, Ordering::Release);
    }
}

/// Failures that stop Keyhold from starting; each is shown as one line.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot use data directory {path}: {reason}")]
    DataDir { path: PathBuf, reason: String },
    #[error(transparent)]
    Connect(#[from] cluster::ConnectError),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: std::net::SocketAddr, source: std::io::Error },
    #[error("cannot write the kubeconfig {path}: {source}")]
    Kubeconfig { path: PathBuf, source: std::io::Error },
    #[error("cannot read the Leptos options: {0}")]
    Leptos(String),
    #[error("cannot install the Credential CRD or the system namespace: {0}")]
    Crd(kube::Error),
    #[error("cannot create the demo organisation: {0}")]
    Demo(kube::Error),
    #[error("the server failed: {0}")]
    Serve(std::io::Error),
}

/// Makes sure `dir` exists and is writable, so a bad directory is one clear error at start.
fn prepare_data_dir(dir: &Path) -> Result<(), StartError> {
    let fail = |e: std::io::Error| StartError::DataDir { path: dir.to_path_buf(), reason: e.to_string() };
    std::fs::create_dir_all(dir).map_err(fail)?;
    let probe = dir.join(".keyhold-write-check");
    std::fs::write(&probe, b"").map_err(fail)?;
    std::fs::remove_file(&probe).map_err(fail)
}

/// Leptos' runtime options: `Leptos.toml`, overridden by the `LEPTOS_*` variables cargo-leptos sets.
fn leptos_options() -> Result<LeptosOptions, StartError> {
    let file = Path::new("Leptos.toml").exists().then_some("Leptos.toml");
    leptos::config::get_configuration(file).map(|c| c.leptos_options).map_err(|e| StartError::Leptos(e.to_string()))
}

async fn bind(addr: std::net::SocketAddr) -> Result<tokio::net::TcpListener, StartError> {
    tokio::net::TcpListener::bind(addr).await.map_err(|source| StartError::Listen { addr, source })
}

/// Exposes an embedded cluster on a loopback port, writing a kubeconfig for it when asked.
async fn serve_kube_api(
    cluster: &Arc<crate::embedded::Cluster>,
    listen: std::net::SocketAddr,
    kubeconfig: Option<&Path>,
    stop: shutdown::Signal,
) -> Result<impl Future<Output = std::io::Result<()>> + use<>, StartError> {
    let listener = bind(listen).await?;
    let addr = listener.local_addr().map_err(|source| StartError::Listen { addr: listen, source })?;
    if let Some(path) = kubeconfig {
        cluster.write_kubeconfig(path, addr).map_err(|source| StartError::Kubeconfig { path: path.to_path_buf(), source })?;
    }
    tracing::info!(%addr, "embedded Kubernetes API listening");
    let cluster = cluster.clone();
    Ok(async move { cluster.serve(listener, stop.wait()).await })
}

/// This replica's name in the leader Lease: the pod name in a cluster, else host and process.
fn replica_identity() -> String {
    std::env::var("POD_NAME").or_else(|_| std::env::var("HOSTNAME")).map(|h| format!("{h}-{}", std::process::id())).unwrap_or_else(|_| format!("keyhold-{}", std::process::id()))
}

/// `keyhold serve`: the console.
pub async fn serve(args: ServeArgs) -> Result<(), StartError> {
    prepare_data_dir(&args.data_dir)?;
    let leptos_options = leptos_options()?;
    let connection = cluster::connect(args.cluster, &args.data_dir).await?;
    let stop = shutdown::Signal::install();

    let settings = credentials::service::Settings::default();
    let seed_demo = connection.embedded.as_ref().is_some_and(|e| e.is_new()) && !args.no_demo;
    if let Some(embedded) = &connection.embedded {
        credentials::resource::install_crd(connection.client.clone()).await.map_err(StartError::Crd)?;
        credentials::resource::ensure_namespace(connection.client.clone(), &settings.system_namespace).await.map_err(StartError::Crd)?;
        if seed_demo {
            demo::seed_organisation(connection.client.clone()).await.map_err(StartError::Demo)?;
        }
        if let Some(listen) = args.kube_api_listen {
            let api = serve_kube_api(embedded, listen, args.write_kubeconfig.as_deref(), stop.clone()).await?;
            tokio::spawn(async move {
                if let Err(e) = api.await {
                    tracing::error!(error = %e, "embedded Kubernetes API stopped");
                }
            });
        }
    }

    let (projects, projects_watch) = ProjectsService::start(connection.client.clone());
    tokio::spawn(projects_watch);
    let (credentials, credentials_watch) = credentials::service::CredentialsService::start(connection.client.clone(), settings.clone());
    tokio::spawn(credentials_watch);
    // Only the replica that holds the Lease runs the controller.
    let elector = leader::Elector::new(connection.client.clone(), &settings.system_namespace, "keyhold-controller", &replica_identity(), leader::Timing::default());
    tokio::spawn({
        let (client, stop) = (connection.client.clone(), stop.clone());
        async move { elector.run(|| credentials::controller::run(client.clone(), settings.clone()), stop.wait()).await }
    });
    let readiness = Readiness::default();
    tokio::spawn({
        let (projects, credentials, readiness, client) = (projects.clone(), credentials.clone(), readiness.clone(), connection.client.clone());
        async move {
            projects.synced().await;
            credentials.synced().await;
            if seed_demo && let Err(e) = demo::seed_credentials(client, &credentials).await {
                tracing::error!(error = %e, "could not create the demo credentials");
            }
            readiness.set_ready();
            tracing::info!("caches synced; ready");
        }
    });

    let state = AppState { leptos_options, projects, readiness };
    let listener = bind(args.listen).await?;
    let addr = listener.local_addr().map_err(|source| StartError::Listen { addr: args.listen, source })?;
    tracing::info!(%addr, "Keyhold listening");
    axum::serve(listener, http::router(state)).with_graceful_shutdown(stop.wait()).await.map_err(StartError::Serve)?;
    tracing::info!("stopped");
    Ok(())
}

/// `keyhold kube-api`: the embedded Kubernetes API alone.
pub async fn kube_api(args: KubeApiArgs) -> Result<(), StartError> {
    prepare_data_dir(&args.data_dir)?;
    let cluster = crate::embedded::Cluster::open(&args.data_dir).map_err(cluster::ConnectError::from)?;
    let stop = shutdown::Signal::install();
    serve_kube_api(&cluster, args.listen, args.write_kubeconfig.as_deref(), stop).await?.await.map_err(StartError::Serve)
}
