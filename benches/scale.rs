//! Benchmark (not a test) at ten times the usual scale (issue 21): the release binary on its
//! embedded cluster with 2,000 projects and 100,000 credentials (every type; 90% Project scope,
//! 10% Department and Cluster scope whose Secrets do not exist, so they list and report but make
//! no copies: 10,000 wide credentials with copies in 2,000 projects would be 20 million
//! Secrets). Then a restart on the same data: time to ready and resident memory; page views;
//! how soon a change shows in the table; and one Cluster-scope credential with a real Secret
//! reaching all 2,000 projects. Last, the same cluster served by a `keyhold kube-api` process of
//! its own and the server started against it: its memory without the API's objects.
//! `make bench-scale` runs it (about 15 minutes on 2 cores).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};

use keyhold::domain::credential::{CredentialType, Scope, ScopeLevel};
use keyhold::server::credentials::resource::{Credential, CredentialSpec, SecretRef};

#[allow(dead_code)]
mod fixture;

use fixture::{Process, client, free_port, kube_api, kubernetes_requests, labelled_projects, page_views, requests_between, resident_mib};

const PROJECTS: usize = 2_000;
const DEPARTMENTS: usize = 20;
const CREDENTIALS: usize = 100_000;

/// The median and the 99th percentile, in milliseconds.
fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (ms(samples[samples.len() / 2]), ms(samples[(samples.len() * 99 / 100).min(samples.len() - 1)]))
}

struct Keyhold {
    process: Process,
    url: String,
    metrics: String,
}

/// Where the server finds its Kubernetes API.
enum Cluster<'a> {
    /// Its own, embedded, on `data`, served for this benchmark's client through `kubeconfig` (one
    /// process, as `make run`).
    Embedded { data: &'a Path, kubeconfig: &'a Path },
    /// A `keyhold kube-api` process standing in for a cluster's API server, reached through
    /// `kubeconfig`; the server keeps its own files (sessions, users) in `data`.
    Separate { data: &'a Path, kubeconfig: &'a Path },
}

/// The binary, ready, and how long that took.
async fn start(cluster: Cluster<'_>, http: &reqwest::Client) -> (Keyhold, Duration) {
    let (port, metrics) = (free_port(), free_port());
    let started = Instant::now();
    let mut command = Command::new(env!("CARGO_BIN_EXE_keyhold"));
    command.args(["serve", "--no-demo", "--listen", &format!("127.0.0.1:{port}"), "--metrics-listen", &format!("127.0.0.1:{metrics}"), "--data-dir"]);
    match cluster {
        Cluster::Embedded { data, kubeconfig } => command.arg(data).args(["--kube-api-listen", &format!("127.0.0.1:{}", free_port()), "--write-kubeconfig"]).arg(kubeconfig),
        Cluster::Separate { data, kubeconfig } => command.arg(data).args(["--cluster", "kubeconfig"]).env("KUBECONFIG", kubeconfig),
    };
    let child = command.env("RUST_LOG", "warn").stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let keyhold = Keyhold { process: Process(child), url: format!("http://127.0.0.1:{port}"), metrics: format!("http://127.0.0.1:{metrics}") };
    loop {
        if http.get(format!("{}/readyz", keyhold.url)).send().await.is_ok_and(|r| r.status().is_success()) {
            return (keyhold, started.elapsed());
        }
        assert!(started.elapsed() < Duration::from_secs(1_800), "not ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the server's controller has no more work: 10 s in which the Kubernetes API was
/// asked nothing but what runs on a clock (30 minutes at most): the leader's Lease renewals, and
/// the cluster probe every 15 s (`/version`, the project list, one read of the member Secrets).
/// Says how long that took, counting from the call, and what was asked meanwhile.
async fn settle(http: &reqwest::Client, keyhold: &Keyhold) -> String {
    let started = Instant::now();
    let first = kubernetes_requests(http, &keyhold.metrics).await;
    let mut last = first.clone();
    loop {
        tokio::time::sleep(Duration::from_secs(10)).await;
        let now = kubernetes_requests(http, &keyhold.metrics).await;
        let clockwork = |kind: &str, n: u64| kind.ends_with(" leases") || kind == "GET other" || kind == "GET namespaces" || (kind == "GET secrets" && n <= 1);
        let working = now.iter().any(|(kind, n)| {
            let made = n - last.get(kind).copied().unwrap_or(0);
            made > 0 && !clockwork(kind, made)
        });
        if !working || started.elapsed() > Duration::from_secs(1_800) {
            let (requests, kinds) = requests_between(&first, &now);
            let quiet = if working { "not quiet" } else { "quiet" };
            return format!("{quiet} {:.0} s later, {requests} Kubernetes API requests ({kinds})", started.elapsed().as_secs_f64() - 10.0);
        }
        last = now;
    }
}

/// Credential `i`: mostly Project scope in its project; every tenth Department or Cluster scope.
fn credential(i: usize) -> (String, Credential) {
    let project = format!("project-{}", i % PROJECTS);
    let types = CredentialType::ALL;
    let (namespace, scope) = match i % 20 {
        0 => ("keyhold-system".to_string(), Scope { level: ScopeLevel::Department, department: Some(format!("dept-{}", i % DEPARTMENTS)), project: None, cluster: None }),
        10 => ("keyhold-system".to_string(), Scope { level: ScopeLevel::Cluster, department: None, project: None, cluster: None }),
        _ => (project.clone(), Scope { level: ScopeLevel::Project, department: None, project: Some(project), cluster: None }),
    };
    let mut credential = Credential::new(
        &format!("cred-{i}"),
        CredentialSpec {
            display_name: format!("Credential {i:06}"),
            description: Some(format!("scale credential number {i}")),
            credential_type: types[i % types.len()],
            scope,
            secret_ref: SecretRef { name: format!("cred-{i}"), managed: true },
            registry: None,
            expires_on: None,
            personal: None,
        },
    );
    credential.metadata.namespace = Some(namespace.clone());
    (namespace, credential)
}

async fn sign_in(http: &reqwest::Client, url: &str, kubeconfig: &std::path::Path, user: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_keyhold")).args(["user", "add", user, "--groups", "system:masters", "--cluster", "kubeconfig"]).env("KUBECONFIG", kubeconfig).output().unwrap();
    let password = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let signed_in = http.post(format!("{url}/api/sign_in")).header("origin", url).form(&[("username", user), ("password", password.as_str()), ("next", "/")]).send().await.unwrap();
    signed_in.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string()
}

/// Loads the projects and credentials through a first server, and waits until its controller is done.
async fn load(data: &std::path::Path, kubeconfig: &std::path::Path, http: &reqwest::Client) {
    let (first, _) = start(Cluster::Embedded { data, kubeconfig }, http).await;
    let kube = client(kubeconfig).await;
    let started = Instant::now();
    labelled_projects(&kube, PROJECTS, Some(DEPARTMENTS)).await;
    futures::stream::iter(0..CREDENTIALS)
        .map(|i| {
            let kube = kube.clone();
            async move {
                let (namespace, credential) = credential(i);
                Api::<Credential>::namespaced(kube, &namespace).create(&PostParams::default(), &credential).await.map(|_| ())
            }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<()>>()
        .await
        .unwrap();
    println!("loaded {PROJECTS} projects and {CREDENTIALS} credentials in {:.0} s", started.elapsed().as_secs_f64());
    // Until the controller goes quiet: each new credential gets its finalizer, status and Activity.
    println!("controller after loading: {}", settle(http, &first).await);
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    // KEYHOLD_BENCH_DATA=dir keeps the cluster in `dir`; a later run on it skips the loading and
    // starts at the restart (to profile the page views, say; each run adds its changes to it).
    let temp = tempfile::tempdir().unwrap();
    let dir = std::env::var_os("KEYHOLD_BENCH_DATA").map_or_else(|| temp.path().to_path_buf(), std::path::PathBuf::from);
    let (data, kubeconfig) = (dir.join("data"), dir.join("kubeconfig"));
    if !data.exists() {
        load(&data, &kubeconfig, &http).await;
    }

    // A restart on that data: how long until ready, and the memory it then holds.
    let (server, ready) = start(Cluster::Embedded { data: &data, kubeconfig: &kubeconfig }, &http).await;
    let pid = server.process.0.id();
    println!("restart to ready: {:.1} s; resident memory when ready: {:.0} MiB", ready.as_secs_f64(), resident_mib(pid));
    let kube = client(&kubeconfig).await;
    // One user per run: a kept cluster has the earlier runs' users.
    let user = format!("scale-{}", std::process::id());
    let cookie = sign_in(&http, &server.url, &kubeconfig, &user).await;

    let settled = settle(&http, &server).await;
    println!("controller after the restart: {settled}; resident memory then: {:.0} MiB", resident_mib(pid));

    for (label, path) in [
        ("first page, default order", "/credentials"),
        ("search, Type filter, descending sort, page 2 of 50", "/credentials?q=credential%200&type=Generic%20secret&type=Access%20key&sort=credential&order=desc&page=2&per_page=50"),
    ] {
        let before = kubernetes_requests(&http, &server.metrics).await;
        let (p50, p99) = percentiles(page_views(&http, &server.url, path, &cookie, 200).await);
        let (requests, kinds) = requests_between(&before, &kubernetes_requests(&http, &server.metrics).await);
        println!("/credentials page, {label}, {CREDENTIALS} credentials: p50 {p50:.1} ms, p99 {p99:.1} ms; {requests} Kubernetes API requests in 210 views ({kinds})");
    }

    // A change, until the table shows it.
    let started = Instant::now();
    let patch = serde_json::json!({"spec": {"description": "changed for the benchmark"}});
    Api::<Credential>::namespaced(kube.clone(), "project-7").patch("cred-7", &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
    loop {
        let body = r#"{"query":{"search":"changed for the benchmark","filters":[],"sort":null,"page":1,"perPage":25}}"#;
        let response = http.post(format!("{}/api/list_credentials", server.url)).header("cookie", &cookie).header("origin", &server.url).header("content-type", "application/json").body(body).send().await.unwrap();
        if response.text().await.unwrap().contains("Credential 000007") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "the change never showed");
    }
    println!("a change shown in the table after {:.0} ms", started.elapsed().as_secs_f64() * 1000.0);

    // One Cluster-scope credential with a real Secret, until its copies are in all projects.
    let token = String::from_utf8(Command::new(env!("CARGO_BIN_EXE_keyhold")).args(["user", "token", &user, "--cluster", "kubeconfig"]).env("KUBECONFIG", &kubeconfig).output().unwrap().stdout).unwrap().trim().to_string();
    let started = Instant::now();
    let new = serde_json::json!({"displayName": "Everywhere", "scope": {"level": "Cluster"}, "values": {"type": "Generic", "entries": [["TOKEN", "x".repeat(1024)]]}});
    let created: serde_json::Value = http.post(format!("{}/api/v1/credentials", server.url)).bearer_auth(&token).json(&new).send().await.unwrap().json().await.unwrap();
    let path = format!("{}/api/v1/credentials/keyhold-system/{}", server.url, created["name"].as_str().unwrap());
    // Ten minutes at most; a miss says how far it got.
    loop {
        let row: serde_json::Value = http.get(&path).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        let copies = row["targets"].as_array().map_or(0, |t| t.iter().filter(|t| t["phase"] == "Ready").count().saturating_sub(1));
        if copies == PROJECTS {
            println!("Cluster-scope credential Ready in {PROJECTS} projects after {:.1} s", started.elapsed().as_secs_f64());
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            println!("Cluster-scope credential: {copies} of {PROJECTS} copies Ready after {:.0} s", started.elapsed().as_secs_f64());
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!("resident memory at the end: {:.0} MiB", resident_mib(pid));
    drop(server);

    // The same cluster behind an API process of its own, as a real cluster's API server stands
    // apart from Keyhold: the server's memory without the API's objects in it.
    let (api, api_kubeconfig) = kube_api(&data);
    let (server, ready) = start(Cluster::Separate { data: &dir.join("keyhold-alone"), kubeconfig: &api_kubeconfig }, &http).await;
    let (pid, api_pid) = (server.process.0.id(), api.0.id());
    println!("separate API: ready after {:.1} s; resident memory when ready: Keyhold {:.0} MiB, the API {:.0} MiB", ready.as_secs_f64(), resident_mib(pid), resident_mib(api_pid));
    let settled = settle(&http, &server).await;
    println!("separate API: controller after the start: {settled}; resident memory then: Keyhold {:.0} MiB, the API {:.0} MiB", resident_mib(pid), resident_mib(api_pid));
}
