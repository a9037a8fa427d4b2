//! Input that costs more than it should (issue 15, part 4): a large `.env` import from someone
//! with no right to write is refused before it is read, key lists are checked in linear time, and
//! no refusal repeats what was sent (a value pasted where a key belongs); the embedded API refuses
//! objects nested past its limit, however they were built up.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{COOKIE, ORIGIN};
use serde_json::{Value, json};

use crate::support::{DEMO, KubeApi, Server, kube_client};

const CANARY: &str = "S3cr3tCanary";

/// Calls a server function with a JSON body as the page does: its status, body and duration.
/// Ten seconds is far beyond what a linear check takes and far below a quadratic one.
async fn call(server: &Server, function: &str, cookie: &str, body: &Value) -> (StatusCode, String, Duration) {
    let started = Instant::now();
    let response = server
        .http
        .post(format!("{}/api/{function}", server.url))
        .header(ORIGIN, &server.url)
        .header(COOKIE, cookie)
        .json(body)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{function} did not answer within 10 s: {e}"));
    let status = response.status();
    (status, response.text().await.unwrap(), started.elapsed())
}

/// Just under what a request body may hold (axum's 2 MiB limit) once JSON escapes the newlines.
const LARGE: usize = 1_900_000;

/// About 146,000 `.env` lines with distinct keys, and a broken last line that parsing would report.
fn a_large_env_file() -> String {
    let mut text = String::new();
    let mut i = 0;
    while text.len() < LARGE {
        text.push_str(&format!("KEY_{i:07}=\n"));
        i += 1;
    }
    text.push_str("not a line\n");
    text
}

#[tokio::test]
async fn an_import_by_someone_who_may_not_write_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--cluster", "embedded"], &[]).await;
    let carol = server.sign_in("carol", DEMO).await;
    let text = a_large_env_file();
    // No role in nlp: as if it did not exist. A viewer in vision: may not write.
    for (project, refused) in [("nlp", StatusCode::NOT_FOUND), ("vision", StatusCode::FORBIDDEN)] {
        let (status, body, took) = call(&server, "import_project_secrets", &carol, &json!({"project": project, "text": text})).await;
        assert_eq!(status, refused, "{project}: {body}");
        assert!(!body.contains("Line"), "{project}: the text was read: {body}");
        eprintln!("{project}: refused in {took:?}");
    }
    server.stop();
}

#[tokio::test]
async fn a_large_list_of_distinct_generic_rows_is_checked_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--cluster", "embedded"], &[]).await;
    // bob may create in vision, so every row is checked: the last repeats the first.
    let bob = server.sign_in("bob", DEMO).await;
    // `["K000000",""],` is 15 bytes: about 126,000 rows.
    let mut entries: Vec<(String, String)> = (0..LARGE / 15 - 1).map(|i| (format!("K{i:06}"), String::new())).collect();
    entries.push(("K000000".into(), String::new()));
    let last = entries.len() - 1;
    let request = json!({"request": {
        "displayName": "Many keys", "description": "", "scope": {"level": "Project", "project": "vision"},
        "values": {"type": "Generic", "entries": entries},
    }});
    let (status, body, took) = call(&server, "create_credential", &bob, &request).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains(&format!("entries[{last}].key")), "the repeated row is named: {body}");
    eprintln!("checked in {took:?}");
    server.stop();
}

#[tokio::test]
async fn a_value_pasted_where_a_key_belongs_is_never_repeated() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--cluster", "embedded"], &[]).await;
    let bob = server.sign_in("bob", DEMO).await;
    for text in [format!("DB_URL=x\npostgres://app:{CANARY}@db/app=1\n"), format!("{CANARY}=1\n{CANARY}=2\n")] {
        let (status, body, _) = call(&server, "import_project_secrets", &bob, &json!({"project": "vision", "text": text})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body.contains("Line 2"), "the line is named: {body}");
        assert!(!body.contains(CANARY), "repeated: {body}");
    }
    let request = json!({"request": {
        "displayName": "Pasted", "description": "", "scope": {"level": "Project", "project": "vision"},
        "values": {"type": "Generic", "entries": [[CANARY, "1"], [CANARY, "2"], [format!("postgres://app:{CANARY}@db"), "3"]]},
    }});
    let (status, body, _) = call(&server, "create_credential", &bob, &request).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(!body.contains(CANARY), "repeated: {body}");
    server.stop();
}

/// A JSON Patch can nest an object without bound (each `add` a level further down than the body's
/// own nesting), of the object or of its status; the embedded API parses what it stores on every
/// read, so past its limit the patch is refused, the object stays as it was and the API keeps
/// serving.
#[tokio::test]
async fn an_object_nested_past_the_limit_by_json_patch_is_refused() {
    use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
    use kube::api::{Api, ApiResource, DynamicObject, ObjectMeta, Patch, PatchParams, PostParams};

    let dir = tempfile::tempdir().unwrap();
    let api = KubeApi::start(dir.path());
    let client = kube_client(&api.admin).await;
    let map = ConfigMap { metadata: ObjectMeta { name: Some("deep".into()), ..Default::default() }, ..Default::default() };
    Api::<ConfigMap>::namespaced(client.clone(), "default").create(&PostParams::default(), &map).await.unwrap();
    // Untyped, so the fields a type does not declare are kept when read back.
    let maps: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &ApiResource::erase::<ConfigMap>(&()));
    let namespaces: Api<DynamicObject> = Api::all_with(client, &ApiResource::erase::<Namespace>(&()));
    let add = |path: String, levels: usize| {
        let value = (0..levels).fold(json!("leaf"), |inner, _| json!({ "f": inner }));
        Patch::Json::<()>(serde_json::from_value(json!([{ "op": "add", "path": path, "value": value }])).unwrap())
    };
    let refused = |result: Result<DynamicObject, kube::Error>| match result {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 400);
            assert!(status.message.contains("nested deeper than"), "{}", status.message);
        }
        other => panic!("a patch nesting 120 levels must be refused, got {other:?}"),
    };
    let innermost = |top: &str| format!("/{top}/x{}", "/f".repeat(60));

    maps.patch("deep", &PatchParams::default(), &add("/x".into(), 60)).await.expect("60 levels are within the limit");
    refused(maps.patch("deep", &PatchParams::default(), &add(format!("/x{}", "/f".repeat(60)), 60)).await);
    let kept = maps.get("deep").await.unwrap();
    assert_eq!(kept.data.pointer(&format!("/x{}", "/f".repeat(60))), Some(&json!("leaf")), "the object is as it was");

    namespaces.patch_status("default", &PatchParams::default(), &add("/status/x".into(), 60)).await.expect("60 levels are within the limit");
    refused(namespaces.patch_status("default", &PatchParams::default(), &add(innermost("status"), 60)).await);
    assert_eq!(namespaces.get("default").await.unwrap().data.pointer(&innermost("status")), Some(&json!("leaf")));
}
