//! Everything that runs only on the server: configuration, the connection to Kubernetes, the
//! services behind the pages, and the HTTP server.

pub mod auth;
pub mod cluster;
pub mod clusters;
pub mod config;
pub mod credentials;
mod demo;
mod downloads;
mod events;
mod http;
pub mod metrics;
pub mod kube_errors;
pub mod leader;
pub mod preferences;
pub mod project_secrets;
pub mod projects;
mod rest;
mod shutdown;
pub mod telemetry;
mod users;
mod watching;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;

use auth::web::WebSettings;
use auth::{Auth, AuthSettings};
use config::{KubeApiArgs, ServeArgs};
use credentials::service::CredentialsService;
use crate::domain::identity::Identity;
use crate::domain::AppError;
use crate::domain::project::ProjectList;
use crate::domain::session::{CurrentUser, Permissions};
use projects::ProjectsService;

pub use users::run as user_command;

/// What handlers and server functions share.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub projects: ProjectsService,
    pub credentials: CredentialsService,
    pub project_secrets: project_secrets::ProjectSecretsService,
    pub clusters: clusters::Clusters,
    pub preferences: preferences::Preferences,
    pub auth: Auth,
    pub web: Arc<WebSettings>,
    pub readiness: Readiness,
    /// Resolves at shutdown: long-lived responses (the live-update stream) end with it, so a
    /// graceful shutdown does not wait on open browsers.
    pub stopping: shutdown::Signal,
}

impl AppState {
    /// The signed-in person as the pages see them.
    pub async fn current_user(&self, signed_in: auth::SignedIn) -> Result<CurrentUser, AppError> {
        let permissions = self.permissions(&signed_in.identity).await.map_err(AppError::from)?;
        let identity = signed_in.identity;
        Ok(CurrentUser { name: identity.user, groups: identity.groups, method: signed_in.method, permissions })
    }

    /// Who a single sign-on's answer proves (and their ID token), refused when no role here names
    /// them or their groups: they are told at sign-in, not by a 403 on every page.
    pub async fn through_provider(&self, oidc: &auth::oidc::Oidc, pending: auth::oidc::Pending, state: &str, code: Option<&str>, iss: Option<&str>) -> Result<(Identity, String), auth::oidc::OidcError> {
        let (identity, id_token) = oidc.finish(pending, state, code, iss).await?;
        match self.credentials.may_somewhere(&identity, "list").await {
            Ok(true) => Ok((identity, id_token)),
            Ok(false) => Err(auth::oidc::OidcError::NoAccess),
            Err(e) => Err(auth::oidc::OidcError::Unavailable(format!("the permission check: {e}"))),
        }
    }

    /// The projects `who` has a role in, with how many credentials reach each and how many keys
    /// its secret holds (where `who` may list them); `Forbidden` when there are none.
    pub async fn visible_projects(&self, who: &Identity) -> Result<ProjectList, AppError> {
        let mut list = self
            .projects
            .visible_to(who, self.credentials.access())
            .await
            .map_err(kube_errors::app_error)?
            .ok_or_else(|| AppError::Forbidden("Your roles do not include any project.".into()))?;
        let counts = self.credentials.count_by_namespace(who).await.map_err(AppError::from)?;
        for project in &mut list.projects {
            project.credentials = Some(counts.get(&project.namespace).copied().unwrap_or(0));
            project.secret_keys = self.project_secrets.keys(who, &project.name).await.ok().map(|k| k.keys.len());
        }
        Ok(list)
    }

    /// What the console offers `who`: the pages they may open and the actions to show.
    pub async fn permissions(&self, who: &Identity) -> Result<Permissions, credentials::service::ServiceError> {
        Ok(Permissions {
            list_credentials: self.credentials.may_somewhere(who, "list").await?,
            create_credentials: self.credentials.may_somewhere(who, "create").await?,
            manage_clusters: self.clusters.may_manage(who).await?,
        })
    }
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
    PrivateDir(#[from] crate::private_files::PrivateDirError),
    #[error("the embedded Kubernetes API would listen on {addr}, which other machines can reach, with a cluster administrator's power behind its token; use a loopback address such as 127.0.0.1:6443, or add {flag} if that is meant")]
    RemoteKubeApi { addr: std::net::SocketAddr, flag: &'static str },
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
    Demo(String),
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Sessions(#[from] auth::sessions::SessionStoreError),
    #[error(transparent)]
    SessionKey(#[from] auth::session_key::SessionKeyError),
    #[error("the server failed: {0}")]
    Serve(std::io::Error),
}

/// Makes sure `dir` exists and is writable, and when it keeps secrets that it is its owner's
/// alone, so a bad directory is one clear error at start.
fn prepare_data_dir(dir: &Path, keeps_secrets: bool) -> Result<(), StartError> {
    let fail = |e: std::io::Error| StartError::DataDir { path: dir.to_path_buf(), reason: e.to_string() };
    if keeps_secrets {
        crate::private_files::private_dir(dir)?;
    } else {
        crate::private_files::create_dir(dir).map_err(fail)?;
    }
    let probe = dir.join(".keyhold-write-check");
    std::fs::write(&probe, b"").map_err(fail)?;
    std::fs::remove_file(&probe).map_err(fail)
}

/// The embedded API answers to its admin token with a cluster administrator's power, so it stays
/// on loopback unless the operator says otherwise.
/// `flag` is the one that allows it, as the command at hand spells it.
fn check_kube_api_listen(addr: std::net::SocketAddr, allowed: bool, flag: &'static str) -> Result<(), StartError> {
    if addr.ip().is_loopback() || allowed {
        return Ok(());
    }
    Err(StartError::RemoteKubeApi { addr, flag })
}

/// Leptos' runtime options: `Leptos.toml` (built in), overridden by the `LEPTOS_*` variables
/// cargo-leptos sets, with the site found wherever Keyhold was started from.
fn leptos_options() -> Result<LeptosOptions, StartError> {
    let mut options = leptos::config::get_config_from_str(include_str!("../../Leptos.toml")).map_err(|e| StartError::Leptos(e.to_string()))?;
    let exe_dir = std::env::current_exe().ok().and_then(|exe| exe.parent().map(Path::to_path_buf));
    options.site_root = find_site(&options, std::env::var_os("LEPTOS_SITE_ROOT").is_some(), exe_dir.as_deref()).into();
    Ok(options)
}

/// The site's directory (the WASM, scripts and styles): `LEPTOS_SITE_ROOT` when set; else the
/// configured root under the working directory, or next to the binary (`target/debug/keyhold`
/// finds `target/site`, an installed `bin/keyhold` finds `bin/site`). When none holds the site,
/// pages still render but unstyled and without scripts, so that is said once, with where Keyhold
/// looked.
fn find_site(options: &LeptosOptions, explicit: bool, exe_dir: Option<&Path>) -> String {
    let configured = PathBuf::from(&*options.site_root);
    let mut candidates = vec![configured.clone()];
    if !explicit && let Some(dir) = exe_dir {
        candidates.extend([dir.join("site"), dir.join("../site")]);
    }
    let bundle = Path::new(&*options.site_pkg_dir).join(format!("{}.js", options.output_name));
    match candidates.iter().find(|root| root.join(&bundle).is_file()) {
        Some(root) => root.to_string_lossy().into_owned(),
        None => {
            let looked: Vec<String> = candidates.iter().map(|c| c.display().to_string()).collect();
            tracing::warn!("no site (styles and scripts) found in {}: pages are served without them; build it with `make build` (or `cargo leptos build --split`) or set LEPTOS_SITE_ROOT", looked.join(", "));
            configured.to_string_lossy().into_owned()
        }
    }
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
    let data_dir = &args.cluster.data_dir;
    if let Some(listen) = args.kube_api_listen {
        check_kube_api_listen(listen, args.kube_api_allow_remote, "--kube-api-allow-remote")?;
    }
    // The embedded cluster and SQLite sessions keep values there; on a real cluster with Redis it
    // holds nothing (and the shipped Deployment's emptyDir is open to all).
    let keeps_secrets = args.session_store.is_none() || cluster::resolve(args.cluster.cluster) == config::ClusterMode::Embedded;
    prepare_data_dir(data_dir, keeps_secrets)?;
    let leptos_options = leptos_options()?;
    let public_url = args.public_url.clone().unwrap_or_else(|| format!("http://{}", args.listen));
    let web = WebSettings::new(&public_url, args.session_idle_timeout, args.session_lifetime).map_err(StartError::Config)?;
    let connection = cluster::connect(args.cluster.cluster, data_dir).await?;
    let stop = shutdown::Signal::install();

    let settings = credentials::service::Settings { project_secret_name: args.project_secret_name.clone(), connection_tests: connection_tests(&args.connection_tests)?, ..Default::default() };
    let seed_demo = connection.embedded.as_ref().is_some_and(|e| e.is_new()) && !args.no_demo;
    if let Some(embedded) = &connection.embedded {
        credentials::resource::install_crd(connection.client.clone()).await.map_err(StartError::Crd)?;
        credentials::resource::ensure_namespace(connection.client.clone(), &settings.system_namespace).await.map_err(StartError::Crd)?;
        credentials::roles::install(connection.client.clone()).await.map_err(StartError::Crd)?;
        if seed_demo {
            demo::seed_organisation(connection.client.clone(), &settings.system_namespace).await.map_err(|e| StartError::Demo(e.to_string()))?;
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

    let session_key = auth::session_key::load_or_create(connection.client.clone(), &settings.system_namespace).await?;
    let settings = credentials::service::Settings { seal: Some(credentials::personal::SealKey::new(&session_key)), ..settings };
    let sessions = auth::sessions::Sessions::open(args.session_store.as_deref(), args.session_store_password.as_deref(), data_dir, &session_key).await?;

    let (credentials, credentials_watch) = credentials::service::CredentialsService::start(connection.client.clone(), settings.clone());
    tokio::spawn(credentials_watch);
    let projects = credentials.projects().clone();
    // Only the replica that holds the Lease runs the controller.
    let elector = leader::Elector::new(connection.client.clone(), &settings.system_namespace, "keyhold-controller", &replica_identity(), leader::Timing::default());
    let election = tokio::spawn({
        let (client, stop, settings) = (connection.client.clone(), stop.clone(), settings.clone());
        async move { elector.run(|| credentials::controller::run(client.clone(), settings.clone()), stop.wait()).await }
    });
    let (preferences, preferences_watch) = preferences::Preferences::start(connection.client.clone(), &settings.system_namespace);
    tokio::spawn(preferences_watch);
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

    let oidc = oidc_settings(&args.oidc, &web.origin).map_err(StartError::Config)?;
    let chosen = |method| args.sign_in_methods.is_empty() || args.sign_in_methods.contains(&method);
    if args.sign_in_methods.contains(&config::SignInChoice::Oidc) && oidc.is_none() {
        return Err(StartError::Config("--sign-in-methods names oidc, but --oidc-issuer is not set".into()));
    }
    let auth_settings = AuthSettings {
        max_failures: args.sign_in_max_failures,
        window: args.sign_in_window,
        trusted_proxies: args.trusted_proxies.clone(),
        auth_proxies: args.auth_proxy.clone(),
        password: chosen(config::SignInChoice::Password),
        token: chosen(config::SignInChoice::Token),
        oidc: oidc.filter(|_| chosen(config::SignInChoice::Oidc)),
    };
    let auth = Auth::new(connection.client.clone(), &settings.system_namespace, auth_settings);
    let project_secrets = project_secrets::ProjectSecretsService::new(connection.client.clone(), credentials.access().clone(), projects.clone(), args.project_secret_name.clone());
    let (clusters, clusters_probe) = clusters::Clusters::start(
        connection.client.clone(),
        settings.members.clone(),
        credentials.access().clone(),
        settings.cluster_name.clone(),
        settings.system_namespace.clone(),
        settings.connection_tests.clone(),
        args.cluster_probe_interval,
    );
    tokio::spawn(clusters_probe);
    let state = AppState { leptos_options, projects, credentials, project_secrets, clusters, preferences, auth, web: Arc::new(web), readiness, stopping: stop.clone() };
    let listener = bind(args.listen).await?;
    let addr = listener.local_addr().map_err(|source| StartError::Listen { addr: args.listen, source })?;
    tracing::info!(%addr, %public_url, "Keyhold listening");
    if let Some(metrics_listen) = args.metrics_listen {
        let metrics = bind(metrics_listen).await?;
        tracing::info!(addr = %metrics.local_addr().map_err(|source| StartError::Listen { addr: metrics_listen, source })?, "metrics listening");
        let (credentials, stop) = (state.credentials.clone(), stop.clone());
        tokio::spawn(async move {
            let app = axum::Router::new().route("/metrics", axum::routing::get(move || std::future::ready(credentials.metrics())));
            if let Err(e) = axum::serve(metrics, app).with_graceful_shutdown(stop.wait()).await {
                tracing::error!(error = %e, "the metrics listener stopped");
            }
        });
    }
    let app = http::router(state, sessions).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(stop.wait()).await.map_err(StartError::Serve)?;
    // The election gives the Lease up on the same signal; waiting for it lets another replica
    // take over at once rather than when the Lease runs out.
    if tokio::time::timeout(std::time::Duration::from_secs(5), election).await.is_err() {
        tracing::warn!("the Lease was not released within 5 s");
    }
    tracing::info!("stopped");
    Ok(())
}

/// The connection tests' HTTP client, its extra trusted CAs and S3 endpoint.
fn connection_tests(args: &config::ConnectionTestArgs) -> Result<credentials::connection::ConnectionTests, StartError> {
    let roots = match &args.connection_test_ca {
        Some(path) => std::fs::read(path).map_err(|e| StartError::Config(format!("--connection-test-ca: {e}")))?,
        None => Vec::new(),
    };
    let endpoint = reqwest::Url::parse(&args.s3_endpoint).ok().filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host() && u.path() == "/");
    let endpoint = endpoint.ok_or_else(|| StartError::Config("--s3-endpoint: not a URL such as https://s3.amazonaws.com".into()))?;
    let mut tests = credentials::connection::ConnectionTests::new(&roots, args.connection_test_allow.clone(), endpoint, args.s3_region.clone()).map_err(StartError::Config)?;
    tests.every = args.connection_test_every;
    Ok(tests)
}

/// Single sign-on's settings from the flags, with the client secret from its file or
/// KEYHOLD_OIDC_CLIENT_SECRET; `None` without --oidc-issuer.
fn oidc_settings(args: &config::OidcArgs, origin: &str) -> Result<Option<auth::oidc::OidcSettings>, String> {
    let (Some(issuer), Some(client_id)) = (&args.oidc_issuer, &args.oidc_client_id) else { return Ok(None) };
    // Over plain HTTP anyone on the way could swap the provider's keys and be anyone here.
    let url = reqwest::Url::parse(issuer).map_err(|_| "--oidc-issuer: not a URL".to_string())?;
    let loopback = crate::domain::url::is_loopback(url.host_str().unwrap_or_default());
    if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
        return Err("--oidc-issuer must be an https:// URL (plain http only on loopback, for tests)".into());
    }
    let secret = match &args.oidc_client_secret_file {
        Some(file) => std::fs::read_to_string(file).map_err(|e| format!("cannot read --oidc-client-secret-file {}: {e}", file.display()))?,
        None => std::env::var("KEYHOLD_OIDC_CLIENT_SECRET").map_err(|_| "--oidc-issuer needs the client secret: --oidc-client-secret-file or KEYHOLD_OIDC_CLIENT_SECRET".to_string())?,
    };
    let mut scopes = args.oidc_scopes.clone();
    if !scopes.iter().any(|s| s == "openid") {
        scopes.insert(0, "openid".into());
    }
    Ok(Some(auth::oidc::OidcSettings {
        issuer: issuer.clone(),
        client_id: client_id.clone(),
        client_secret: secret.trim().to_string(),
        scopes,
        username_prefix: auth::oidc::OidcSettings::default_username_prefix(issuer, &args.oidc_username_claim, args.oidc_username_prefix.as_deref()),
        username_claim: args.oidc_username_claim.clone(),
        groups_claim: args.oidc_groups_claim.clone(),
        groups_prefix: args.oidc_groups_prefix.clone(),
        name: args.oidc_name.clone(),
        redirect_url: format!("{origin}/auth/oidc/callback"),
        after_sign_out_url: format!("{origin}/login"),
    }))
}

/// `keyhold kube-api`: the embedded Kubernetes API alone.
pub async fn kube_api(args: KubeApiArgs) -> Result<(), StartError> {
    check_kube_api_listen(args.listen, args.allow_remote, "--allow-remote")?;
    prepare_data_dir(&args.data_dir, true)?;
    let cluster = crate::embedded::Cluster::open(&args.data_dir).map_err(cluster::ConnectError::from)?;
    let stop = shutdown::Signal::install();
    serve_kube_api(&cluster, args.listen, args.write_kubeconfig.as_deref(), stop).await?.await.map_err(StartError::Serve)
}
