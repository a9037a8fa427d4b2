//! Download CSV through the real binary: the CSV of a filtered, sorted view has exactly that
//! view's rows (every page, in order) and the columns asked for, checked against the same query's
//! JSON; a formula in a description comes out neutralised; a viewer's CSV, from the page's link
//! with the session cookie, has only what they may list, with "Used by" as they may see it.

mod support;

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, PostParams};
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE, COOKIE, LOCATION};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use keyhold::domain::csv::{columns_of, pieces};
use keyhold::domain::query::CredentialRow;
use support::{DEMO, Server, api_token, eventually, kube_client};

const FORMULA: &str = "=cmd|' /C calc'!A0";

/// Every row of a view through the JSON API, page after page.
async fn all_pages(server: &Server, token: &str, view: &str) -> Vec<CredentialRow> {
    let mut rows = Vec::new();
    for page in 1.. {
        let (status, text) = server.api(Method::GET, &format!("/credentials?{view}&per_page=25&page={page}"), Some(token), None).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        let listing: Value = serde_json::from_str(&text).unwrap();
        rows.extend(serde_json::from_value::<Vec<CredentialRow>>(listing["page"]["rows"].clone()).unwrap());
        if rows.len() >= listing["page"]["total"].as_u64().unwrap() as usize {
            return rows;
        }
    }
    unreachable!()
}

/// A GET's status, headers and body.
async fn get(request: reqwest::RequestBuilder) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let response = request.send().await.unwrap();
    (response.status(), response.headers().clone(), response.text().await.unwrap())
}

/// Polls until the CSV equals what the JSON of the same view gives (a status may move between the
/// two reads), and returns both.
async fn csv_matches_json(server: &Server, token: &str, csv: impl Fn() -> reqwest::RequestBuilder, view: &str, columns: Option<&str>) -> (String, Vec<CredentialRow>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, headers, body) = get(csv()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(headers[CONTENT_TYPE].to_str().unwrap().starts_with("text/csv"), "{headers:?}");
        assert!(headers[CONTENT_DISPOSITION].to_str().unwrap().starts_with("attachment"), "{headers:?}");
        let rows = all_pages(server, token, view).await;
        let expected: String = pieces(&rows, columns_of(columns)).collect();
        if body == expected {
            return (body, rows);
        }
        assert!(tokio::time::Instant::now() < deadline, "the CSV is not the JSON's view:\n{body}\n---\n{expected}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_csv_is_the_whole_view_in_the_columns_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded(dir.path(), &[]).await;
    let kubeconfig = dir.path().join("kubeconfig");
    let alice = api_token("alice", &kubeconfig);

    // More rows than a page, of three types, with descriptions a spreadsheet would misread.
    let descriptions = [FORMULA, "tokens, \"quoted\"", "-1+1", "plain"];
    let types = [json!({"type": "Generic", "entries": [["TOKEN", "x"]]}), json!({"type": "AccessKey", "accessKeyId": "AKIA", "secretAccessKey": "x"}), json!({"type": "Password", "username": "u", "password": "x"})];
    for i in 0..40 {
        let project = if i % 2 == 0 { "etl" } else { "serving" };
        let body = json!({
            "displayName": format!("Batch {i:02}"), "description": descriptions[i % 4],
            "scope": {"level": "Project", "project": project}, "values": types[i % 3],
        });
        let (status, text) = server.api(Method::POST, "/credentials", Some(&alice), Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{text}");
    }

    let view = "q=batch&type=Generic%20secret&type=Access%20key&sort=kubernetes_name&order=desc";
    let columns = "credential,kubernetes_name,description,type,created";
    let csv = || server.http.get(format!("{}/api/v1/credentials.csv?{view}&columns={columns}&page=2", server.url)).bearer_auth(&alice);
    let (body, rows) = csv_matches_json(&server, &alice, csv, view, Some(columns)).await;

    // What that comparison rests on, said outright: every page's rows, once each, in the columns asked.
    assert_eq!(rows.len(), 27, "Generic and Access key batches: 2 of every 3 of 40");
    let lines: Vec<&str> = body.split_terminator("\r\n").collect();
    assert_eq!(lines[0], "Credential,Kubernetes name,Description,Type,Creation time");
    assert_eq!(lines.len(), 1 + rows.len(), "no row of a later page is missing, none repeated");
    let kubernetes_names: Vec<String> = rows.iter().map(|r| format!("{}/{}", r.namespace, r.name)).collect();
    assert!(kubernetes_names.windows(2).all(|w| w[0] > w[1]), "sorted by Kubernetes name, descending: {kubernetes_names:?}");
    assert!(lines[1].starts_with(&format!("{},{} (Secret ", rows[0].display_name, kubernetes_names[0])), "{}", lines[1]);
    // The formula is text in a spreadsheet; quotes are doubled.
    assert!(body.contains(",'=cmd|' /C calc'!A0,") && !body.contains(",=cmd"), "{body}");
    assert!(body.contains(",'-1+1,") && body.contains(",\"tokens, \"\"quoted\"\"\","), "{body}");
    assert!(!body.contains("Username & password"), "the Type filter holds");
    server.stop();
}

#[tokio::test]
async fn a_viewer_downloads_only_what_they_may_list() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded(dir.path(), &[]).await;
    let kubeconfig = dir.path().join("kubeconfig");
    let carol_token = api_token("carol", &kubeconfig);
    let carol = server.sign_in("carol", DEMO).await;

    // Without a session the page's link leads to sign-in, not to data.
    for request in [server.http.get(format!("{}/credentials.csv", server.url)), server.http.head(format!("{}/credentials.csv", server.url))] {
        let (status, headers, _) = get(request).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(headers[LOCATION].to_str().unwrap().starts_with("/login"), "{headers:?}");
    }

    // A workload in nlp, which carol may not see, uses the cluster-wide Weights & Biases.
    let weights = all_pages(&server, &carol_token, "q=weights").await.remove(0);
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "tracker", "namespace": "nlp"},
        "spec": {"selector": {"matchLabels": {"app": "tracker"}}, "template": {
            "metadata": {"labels": {"app": "tracker"}},
            "spec": {"containers": [{"name": "track", "image": "registry.example/nlp/track:1",
                "envFrom": [{"secretRef": {"name": weights.secret_name}}]}]}
        }}
    }))
    .unwrap();
    Api::<Deployment>::namespaced(kube_client(&kubeconfig).await, "nlp").create(&PostParams::default(), &deployment).await.unwrap();
    let counted = eventually(Duration::from_secs(10), || async { all_pages(&server, &carol_token, "q=weights").await[0].unseen_users == 1 }).await;
    assert!(counted, "the workload is counted for carol");

    // The page's link: the session cookie, the default columns.
    let csv = || server.http.get(format!("{}/credentials.csv", server.url)).header(COOKIE, &carol);
    let (body, rows) = csv_matches_json(&server, &carol_token, csv, "", None).await;
    let names: Vec<&str> = rows.iter().map(|r| r.display_name.as_str()).collect();
    assert_eq!(names, ["Docker Hub (vision)", "Feature store database", "Hugging Face (research)", "Weights & Biases"]);
    assert!(body.starts_with("Credential,Description,Type,Status,Data source(s),Created by,Scope,Creation time,Cluster,Expires\r\n"), "{body}");
    assert!(!body.contains("S3 datasets") && !body.contains("nlp"), "nothing of nlp: {body}");
    assert!(body.contains("Weights & Biases,") && body.contains(",1 workload in a project you cannot see,"), "{body}");
    assert!(!body.contains("demo-placeholder-not-a-secret"), "no value");
    server.stop();
}
