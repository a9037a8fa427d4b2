//! Benchmark (not a test): the `/credentials` page rendered on the server and its Download CSV,
//! through the real binary over HTTP, with 10,000 credentials across 500 namespaces. `make bench`
//! runs it.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use kube::api::ListParams;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client};

use keyhold::server::credentials::resource::Credential;

#[allow(dead_code)]
mod fixture;

use fixture::{CREDENTIALS, NAMESPACES, create_credential, free_port, page_views, percentiles, projects};

async fn wait_until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(600);
    while !check().await {
        assert!(Instant::now() < deadline, "{what} did not happen");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn load(client: &Client) {
    projects(client).await;
    futures::stream::iter(0..CREDENTIALS).map(|i| create_credential(client, i)).buffer_unordered(16).try_collect::<Vec<()>>().await.unwrap();
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut server = Command::new(env!("CARGO_BIN_EXE_keyhold"))
        .args(["serve", "--no-demo", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir.path().join("data"))
        .args(["--kube-api-listen", &format!("127.0.0.1:{}", free_port()), "--write-kubeconfig", kubeconfig.to_str().unwrap()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    wait_until("readiness", async || http.get(format!("{url}/readyz")).send().await.is_ok_and(|r| r.status().is_success())).await;

    let config = kube::Config::from_custom_kubeconfig(Kubeconfig::read_from(&kubeconfig).unwrap(), &KubeConfigOptions::default()).await.unwrap();
    let client = Client::try_from(config).unwrap();
    let started = Instant::now();
    load(&client).await;
    println!("loaded {CREDENTIALS} credentials into {NAMESPACES} namespaces in {:.1} s", started.elapsed().as_secs_f64());
    // Measure once the controller has given every credential a status, so it is not busy meanwhile.
    let all: Api<Credential> = Api::all(client.clone());
    wait_until("every status", async || all.list(&ListParams::default()).await.unwrap().items.iter().all(|c| c.status.is_some())).await;

    let password = Command::new(env!("CARGO_BIN_EXE_keyhold"))
        .args(["user", "add", "bench", "--groups", "system:masters", "--cluster", "kubeconfig"])
        .env("KUBECONFIG", &kubeconfig)
        .output()
        .unwrap();
    let password = String::from_utf8(password.stdout).unwrap().trim().to_string();
    let signed_in = http
        .post(format!("{url}/api/sign_in"))
        .header("origin", &url)
        .form(&[("username", "bench"), ("password", password.as_str()), ("next", "/")])
        .send()
        .await
        .unwrap();
    let cookie = signed_in.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();

    for (label, path) in [
        ("first page, default order", "/credentials"),
        ("search, Type filter, descending sort, page 2 of 50", "/credentials?q=credential%200&type=Generic%20secret&type=Access%20key&sort=credential&order=desc&page=2&per_page=50"),
    ] {
        let (p50, p90) = percentiles(page_views(&http, &url, path, &cookie, 50).await);
        println!("/credentials page, {label}, {CREDENTIALS} credentials: p50 {p50:.1} ms, p90 {p90:.1} ms");
    }
    // Download CSV: all 10,000 rows in every column, from the request to the last byte.
    let mut samples = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let response = http.get(format!("{url}/credentials.csv?sort=created&order=desc&columns=credential,kubernetes_name,description,type,status,data_sources,created_by,scope,created,cluster")).header("cookie", &cookie).send().await.unwrap();
        assert!(response.status().is_success());
        let csv = response.text().await.unwrap();
        samples.push(t.elapsed());
        assert_eq!(csv.matches("\r\n").count(), CREDENTIALS + 1, "a header and a record per credential");
    }
    let (p50, p90) = percentiles(samples);
    println!("Download CSV of all {CREDENTIALS} credentials, every column: p50 {p50:.1} ms, p90 {p90:.1} ms");
    // The parts of a page view, for finding where time goes.
    for (label, function, body) in [
        ("the signed-in user and permissions (server function)", "signed_in_user", String::new()),
        ("one page of the table (server function)", "list_credentials", r#"{"query":{"search":"","filters":[],"sort":null,"page":1,"perPage":25}}"#.to_string()),
    ] {
        let mut samples = Vec::new();
        for _ in 0..50 {
            let t = Instant::now();
            let request = http.post(format!("{url}/api/{function}")).header("cookie", &cookie).header("origin", &url);
            let request = if body.is_empty() { request } else { request.header("content-type", "application/json").body(body.clone()) };
            let response = request.send().await.unwrap();
            assert!(response.status().is_success(), "{function}: {}", response.status());
            response.bytes().await.unwrap();
            samples.push(t.elapsed());
        }
        let (p50, p90) = percentiles(samples);
        println!("{label}: p50 {p50:.1} ms, p90 {p90:.1} ms");
    }
    let _ = server.kill();
    let _ = server.wait();
}
