//! The Credentials table's server side through the real binary: the `list_credentials` server
//! function for each role, the live-update stream, and what a reader sees when the Kubernetes API
//! goes away.

mod support;

use std::time::Duration;

use kube::api::{Api, PostParams};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, ORIGIN};
use serde_json::{Value, json};

use keyhold::server::credentials::resource::Credential;
use support::{DEMO, Server, eventually, kube_client};

/// Calls `list_credentials` with a query, as the page does.
async fn list(server: &Server, cookie: &str, query: Value) -> (StatusCode, Value) {
    let response = server
        .http
        .post(format!("{}/api/list_credentials", server.url))
        .header(ORIGIN, &server.url)
        .header(COOKIE, cookie)
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn display_names(read: &Value) -> Vec<String> {
    read["listing"]["page"]["rows"].as_array().unwrap().iter().map(|r| r["displayName"].as_str().unwrap().to_string()).collect()
}

fn query(search: &str) -> Value {
    json!({ "search": search, "filters": [], "sort": null, "page": 1, "perPage": 25 })
}

#[tokio::test]
async fn each_role_lists_what_it_may_and_only_editors_may_change() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded(dir.path(), &[]).await;
    let carol = server.sign_in("carol", DEMO).await;
    let (status, read) = list(&server, &carol, query("")).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    // The viewer of vision: vision's credentials and the wider ones that reach vision, none to change.
    assert_eq!(display_names(&read), ["Docker Hub (vision)", "Feature store database", "Hugging Face (research)", "Weights & Biases"]);
    let rows = read["listing"]["page"]["rows"].as_array().unwrap();
    assert!(rows.iter().all(|r| r["mayChange"] == false), "{read}");
    let docker = &rows[0];
    assert_eq!(docker["scopePath"], "local › research › vision");
    assert_eq!(docker["keys"], json!([".dockerconfigjson"]));
    assert_eq!(docker["usedBy"], json!(["Deployment/vision/trainer"]));
    assert!(!read.to_string().contains("demo-placeholder-not-a-secret"), "no value in the listing");

    let bob = server.sign_in("bob", DEMO).await;
    let (_, read) = list(&server, &bob, query("s3")).await;
    assert_eq!(display_names(&read), ["S3 datasets"]);
    assert_eq!(read["listing"]["page"]["rows"][0]["mayChange"], true, "bob edits nlp");
    let (_, read) = list(&server, &bob, query("weights")).await;
    assert_eq!(read["listing"]["page"]["rows"][0]["mayChange"], false, "a cluster-wide credential is the admin's to change");

    let (status, _) = list(&server, "keyhold-session=forged", query("")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// A server function's body that does not decode is refused without quoting it: serde's message
/// repeats the input, and the input may be a secret sent in the wrong place.
#[tokio::test]
async fn an_undecodable_server_function_body_is_not_quoted_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded(dir.path(), &[]).await;
    let bob = server.sign_in("bob", DEMO).await;
    let canary = "canary-decode-4f1e";
    let body = json!({"request": {"displayName": "x", "description": "", "scope": {"level": "Project", "project": "vision"}, "values": {"type": canary}}});
    let response = server.http.post(format!("{}/api/create_credential", server.url)).header(ORIGIN, &server.url).header(COOKIE, &bob).json(&body).send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_client_error() || status.is_server_error(), "{status}");
    assert!(!text.contains(canary), "the input came back: {text}");
    assert!(text.contains("the request was not what this function takes"), "{text}");
}

#[tokio::test]
async fn a_signed_in_browser_hears_of_changes() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded(dir.path(), &[]).await;
    let anonymous = server.http.get(format!("{}/api/events/credentials", server.url)).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    let alice = server.sign_in("alice", DEMO).await;
    let mut events = server.http.get(format!("{}/api/events/credentials", server.url)).header(COOKIE, &alice).send().await.unwrap();
    assert_eq!(events.status(), StatusCode::OK);
    assert_eq!(events.headers()["content-type"], "text/event-stream");

    let credentials: Api<Credential> = Api::namespaced(kube_client(&dir.path().join("kubeconfig")).await, "etl");
    let credential: Credential = serde_json::from_value(json!({
        "apiVersion": "keyhold.dev/v1", "kind": "Credential",
        "metadata": {"name": "heard", "namespace": "etl"},
        "spec": {"displayName": "Heard", "type": "Generic", "scope": {"level": "Project", "project": "etl"}, "secretRef": {"name": "heard", "managed": true}},
    }))
    .unwrap();
    credentials.create(&PostParams::default(), &credential).await.unwrap();
    let mut received = String::new();
    while !received.contains("event: changed") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), events.chunk()).await.expect("an event within 10 s").unwrap().expect("the stream stays open");
        received.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(received.contains("data: credentials"), "{received}");

    // An open stream does not hold up a graceful shutdown.
    let stopped = tokio::time::timeout(Duration::from_secs(15), tokio::task::spawn_blocking(move || server.stop())).await;
    assert!(stopped.is_ok(), "SIGTERM ends the server while a browser listens");
    drop(events);
}

#[tokio::test]
async fn when_the_kubernetes_api_goes_away_the_table_says_so() {
    let upstream_dir = tempfile::tempdir().unwrap();
    let upstream = Server::embedded(upstream_dir.path(), &[]).await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = upstream_dir.path().join("kubeconfig");
    let server = Server::start(dir.path(), &["--cluster", "kubeconfig"], &[("KUBECONFIG", kubeconfig.to_str().unwrap())]).await;
    let alice = server.sign_in("alice", DEMO).await;
    let (status, _) = list(&server, &alice, query("")).await;
    assert_eq!(status, StatusCode::OK);

    upstream.stop();
    let refused = eventually(Duration::from_secs(30), || async { list(&server, &alice, query("")).await.0 == StatusCode::SERVICE_UNAVAILABLE }).await;
    assert!(refused, "a read without the Kubernetes API is a 503");
    let (_, body) = list(&server, &alice, query("")).await;
    assert!(body.to_string().contains("The Kubernetes API did not answer"), "{body}");
}
