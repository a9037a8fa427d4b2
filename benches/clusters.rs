//! Benchmark (not a test) of Account scope across clusters (issue 20): the release binary on its
//! embedded cluster as home and two `keyhold kube-api` processes as members, 500 projects in each.
//! One Account-scope credential until its copies are Ready in all 1,500 projects; then 19 more,
//! until every cluster holds 10,000 copies, and the server's resident memory then.
//! `make bench-clusters` runs it (a few minutes on 2 cores).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[allow(dead_code)]
mod fixture;

use fixture::{Process, client, free_port, kube_api, labelled_projects, resident_mib, written};

const PROJECTS: usize = 500;
const CREDENTIALS: usize = 20;

fn keyhold(args: &[&str], kubeconfig: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_keyhold")).args(args).args(["--cluster", "kubeconfig"]).env("KUBECONFIG", kubeconfig).output().unwrap();
    assert!(out.status.success(), "keyhold {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// How many of the credential's copies are Ready (its own namespace not counted).
async fn ready_copies(http: &reqwest::Client, path: &str, token: &str) -> usize {
    let row: serde_json::Value = http.get(path).bearer_auth(token).send().await.unwrap().json().await.unwrap();
    row["targets"].as_array().map_or(0, |t| t.iter().filter(|t| t["phase"] == "Ready").count().saturating_sub(1))
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (east_dir, west_dir) = (dir.path().join("east"), dir.path().join("west"));
    let ((_east, east), (_west, west)) = (kube_api(&east_dir), kube_api(&west_dir));

    let home = dir.path().join("home.kubeconfig");
    let port = free_port();
    let server = Command::new(env!("CARGO_BIN_EXE_keyhold"))
        .args(["serve", "--no-demo", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir.path().join("data"))
        .args(["--kube-api-listen", &format!("127.0.0.1:{}", free_port()), "--write-kubeconfig", home.to_str().unwrap()])
        .args(["--cluster-probe-interval", "2s", "--connection-test-allow", "127.0.0.1/32"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (pid, url) = (server.id(), format!("http://127.0.0.1:{port}"));
    let _server = Process(server);
    written(&home);
    while !http.get(format!("{url}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for kubeconfig in [&home, &east, &west] {
        labelled_projects(&client(kubeconfig).await, PROJECTS, None).await;
    }
    keyhold(&["cluster", "add", "east", "--kubeconfig", east.to_str().unwrap()], &home);
    keyhold(&["cluster", "add", "west", "--kubeconfig", west.to_str().unwrap()], &home);
    keyhold(&["user", "add", "bench", "--groups", "system:masters"], &home);
    let token = keyhold(&["user", "token", "bench"], &home);
    // The members are reached once the Clusters list says so.
    loop {
        let list: serde_json::Value = http.get(format!("{url}/api/v1/clusters")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        if list.as_array().is_some_and(|l| l.len() == 3 && l.iter().all(|c| c["reachable"] == true)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!("3 clusters of {PROJECTS} projects each; resident memory {:.0} MiB", resident_mib(pid));

    let every = 3 * PROJECTS;
    let create = |n: usize| {
        let new = serde_json::json!({"displayName": format!("Everywhere {n}"), "scope": {"level": "Account"}, "values": {"type": "Generic", "entries": [["TOKEN", "x".repeat(1024)]]}});
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
        async move {
            let created: serde_json::Value = http.post(format!("{url}/api/v1/credentials")).bearer_auth(&token).json(&new).send().await.unwrap().json().await.unwrap();
            format!("{url}/api/v1/credentials/keyhold-system/{}", created["name"].as_str().unwrap())
        }
    };
    let started = Instant::now();
    let first = create(0).await;
    while ready_copies(&http, &first, &token).await < every {
        assert!(started.elapsed() < Duration::from_secs(600), "not Ready everywhere within 10 minutes");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("one Account-scope credential Ready in {every} projects of 3 clusters after {:.1} s", started.elapsed().as_secs_f64());

    let started = Instant::now();
    let mut paths = Vec::new();
    for n in 1..CREDENTIALS {
        paths.push(create(n).await);
    }
    for path in &paths {
        while ready_copies(&http, path, &token).await < every {
            assert!(started.elapsed() < Duration::from_secs(1_800), "not Ready everywhere within 30 minutes");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    println!(
        "{} more Ready everywhere after {:.1} s: {} copies in each cluster; resident memory {:.0} MiB",
        CREDENTIALS - 1,
        started.elapsed().as_secs_f64(),
        CREDENTIALS * PROJECTS,
        resident_mib(pid)
    );
    tokio::time::sleep(Duration::from_secs(30)).await;
    println!("resident memory 30 s later: {:.0} MiB", resident_mib(pid));
}
