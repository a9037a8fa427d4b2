//! The embedded Kubernetes API through a real `kube::Client`, in-process.

use std::collections::BTreeMap;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::ByteString;
use kube::api::{DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::{Api, Client};

fn cluster() -> (tempfile::TempDir, Client) {
    let dir = tempfile::tempdir().unwrap();
    let cluster = keyhold::embedded::Cluster::open(dir.path()).unwrap();
    (dir, cluster.client())
}

fn secret(name: &str, labels: &[(&str, &str)]) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
            ..Default::default()
        },
        data: Some(BTreeMap::from([("token".to_string(), ByteString(b"s3cr3t".to_vec()))])),
        ..Default::default()
    }
}

async fn namespace(client: &Client, name: &str) {
    let ns = Namespace { metadata: ObjectMeta { name: Some(name.into()), ..Default::default() }, ..Default::default() };
    Api::<Namespace>::all(client.clone()).create(&PostParams::default(), &ns).await.unwrap();
}

fn api_error(err: kube::Error) -> kube::core::Status {
    match err {
        kube::Error::Api(status) => *status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn secrets_round_trip_with_kubernetes_semantics() {
    let (_dir, client) = cluster();
    namespace(&client, "t1").await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "t1");

    let created = secrets.create(&PostParams::default(), &secret("s1", &[("tier", "x")])).await.unwrap();
    assert_eq!(created.type_.as_deref(), Some("Opaque"));
    assert!(created.metadata.uid.is_some());
    let rv: u64 = created.metadata.resource_version.clone().unwrap().parse().unwrap();

    let again = api_error(secrets.create(&PostParams::default(), &secret("s1", &[])).await.unwrap_err());
    assert_eq!((again.code, again.reason.as_str(), again.message.as_str()), (409, "AlreadyExists", "secrets \"s1\" already exists"));

    secrets.create(&PostParams::default(), &secret("s2", &[("tier", "y")])).await.unwrap();
    let selected = secrets.list(&ListParams::default().labels("tier=x")).await.unwrap();
    assert_eq!(selected.items.iter().map(|s| s.metadata.name.clone().unwrap()).collect::<Vec<_>>(), ["s1"]);

    let patched = secrets
        .patch("s1", &PatchParams::default(), &Patch::Merge(serde_json::json!({"metadata": {"labels": {"tier": "z"}}})))
        .await
        .unwrap();
    assert!(patched.metadata.resource_version.unwrap().parse::<u64>().unwrap() > rv);

    let mut stale = created.clone();
    stale.metadata.labels = Some(BTreeMap::from([("a".to_string(), "b".to_string())]));
    let conflict = api_error(secrets.replace("s1", &PostParams::default(), &stale).await.unwrap_err());
    assert_eq!(conflict.code, 409);
    assert_eq!(
        conflict.message,
        "Operation cannot be fulfilled on secrets \"s1\": the object has been modified; please apply your changes to the latest version and try again"
    );

    secrets.delete("s1", &DeleteParams::default()).await.unwrap();
    let missing = api_error(secrets.get("s1").await.unwrap_err());
    assert_eq!((missing.code, missing.message.as_str()), (404, "secrets \"s1\" not found"));
}

#[tokio::test]
async fn invalid_secrets_are_refused_with_the_field_named() {
    let (_dir, client) = cluster();
    namespace(&client, "t1").await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "t1");
    let mut bad = secret("s1", &[]);
    bad.data = Some(BTreeMap::from([("a b".to_string(), ByteString(b"x".to_vec()))]));
    let err = api_error(secrets.create(&PostParams::default(), &bad).await.unwrap_err());
    assert_eq!((err.code, err.reason.as_str()), (422, "Invalid"));
    assert!(err.message.starts_with("Secret \"s1\" is invalid: data[a b]: Invalid value: \"a b\""), "{}", err.message);

    let ghost: Api<Secret> = Api::namespaced(client.clone(), "ghost");
    let err = api_error(ghost.create(&PostParams::default(), &secret("s1", &[])).await.unwrap_err());
    assert_eq!((err.code, err.message.as_str()), (404, "namespaces \"ghost\" not found"));
}

#[tokio::test]
async fn watches_see_changes_in_order() {
    let (_dir, client) = cluster();
    namespace(&client, "t1").await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "t1");
    let start = secrets.list(&ListParams::default()).await.unwrap().metadata.resource_version.unwrap();
    let mut events = secrets.watch(&WatchParams::default().timeout(10), &start).await.unwrap().boxed();

    secrets.create(&PostParams::default(), &secret("w", &[])).await.unwrap();
    secrets.patch("w", &PatchParams::default(), &Patch::Merge(serde_json::json!({"metadata": {"labels": {"a": "b"}}}))).await.unwrap();
    secrets.delete("w", &DeleteParams::default()).await.unwrap();

    let mut seen = Vec::new();
    while seen.len() < 3 {
        match events.try_next().await.unwrap().expect("the watch ended early") {
            WatchEvent::Added(_) => seen.push("ADDED"),
            WatchEvent::Modified(_) => seen.push("MODIFIED"),
            WatchEvent::Deleted(_) => seen.push("DELETED"),
            WatchEvent::Bookmark(_) => {}
            WatchEvent::Error(e) => panic!("watch error {e:?}"),
        }
    }
    assert_eq!(seen, ["ADDED", "MODIFIED", "DELETED"]);
}

/// A watch whose objects never change, while others change all the time, still gets bookmarks
/// with the version it has seen up to (15 s apart): else its next watch starts too far back and
/// must list everything again.
#[tokio::test]
async fn a_quiet_watch_gets_bookmarks_while_others_change() {
    let (_dir, client) = cluster();
    namespace(&client, "t1").await;
    let quiet: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client.clone(), "t1");
    let start: u64 = quiet.list(&ListParams::default()).await.unwrap().metadata.resource_version.unwrap().parse().unwrap();
    let mut events = quiet.watch(&WatchParams { bookmarks: true, ..WatchParams::default().timeout(25) }, &start.to_string()).await.unwrap().boxed();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "t1");
    let busy = tokio::spawn(async move {
        for i in 0..200 {
            secrets.create(&PostParams::default(), &secret(&format!("busy-{i}"), &[])).await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    });
    let marked = loop {
        match events.try_next().await.unwrap().expect("the watch ended without a bookmark") {
            WatchEvent::Bookmark(mark) => break mark.metadata.resource_version.parse::<u64>().unwrap(),
            other => panic!("nothing but bookmarks expected: {other:?}"),
        }
    };
    busy.abort();
    assert!(marked > start, "the bookmark says how far the watch has seen: {marked} after {start}");
}

#[tokio::test]
async fn paging_keeps_one_snapshot() {
    let (_dir, client) = cluster();
    namespace(&client, "t1").await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "t1");
    for name in ["a", "b", "c", "d", "e"] {
        secrets.create(&PostParams::default(), &secret(name, &[])).await.unwrap();
    }
    let first = secrets.list(&ListParams::default().limit(2)).await.unwrap();
    assert_eq!(first.metadata.remaining_item_count, Some(3));
    let token = first.metadata.continue_.clone().unwrap();
    let second = secrets.list(&ListParams::default().limit(2).continue_token(&token)).await.unwrap();
    assert_eq!(second.metadata.resource_version, first.metadata.resource_version);
    let names: Vec<_> = second.items.iter().map(|s| s.metadata.name.clone().unwrap()).collect();
    assert_eq!(names, ["c", "d"]);
}

#[tokio::test]
async fn a_deleted_namespace_takes_its_content_with_it() {
    let (_dir, client) = cluster();
    namespace(&client, "gone").await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "gone");
    secrets.create(&PostParams::default(), &secret("s", &[])).await.unwrap();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let deleting = namespaces.delete("gone", &DeleteParams::default()).await.unwrap();
    let deleting = deleting.left().expect("the namespace is returned while it terminates");
    assert_eq!(deleting.status.unwrap().phase.as_deref(), Some("Terminating"));

    // Wait for the namespace to go, by watching it (no sleeps).
    let fields = "metadata.name=gone";
    let mut stream = namespaces.watch(&WatchParams::default().fields(fields).timeout(10), "0").await.unwrap().boxed();
    while namespaces.get_opt("gone").await.unwrap().is_some() {
        stream.try_next().await.unwrap().expect("the namespace was not removed in time");
    }
    assert!(secrets.get_opt("s").await.unwrap().is_none());
}

#[tokio::test]
async fn delete_options_are_validated_and_preconditions_enforced() {
    let (_dir, client) = cluster();
    namespace(&client, "t1").await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "t1");
    let created = secrets.create(&PostParams::default(), &secret("s1", &[])).await.unwrap();

    let bogus = http::Request::delete("/api/v1/namespaces/t1/secrets/s1")
        .header("content-type", "application/json")
        .body(br#"{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Bogus"}"#.to_vec())
        .unwrap();
    let err = api_error(client.request::<serde_json::Value>(bogus).await.unwrap_err());
    assert_eq!(err.code, 422);
    assert_eq!(
        err.message,
        "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"Bogus\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""
    );

    let wrong_uid = DeleteParams { preconditions: Some(kube::api::Preconditions { uid: Some("not-it".into()), resource_version: None }), ..Default::default() };
    let err = api_error(secrets.delete("s1", &wrong_uid).await.unwrap_err());
    assert_eq!(err.code, 409);
    assert!(err.message.contains("Precondition failed: UID in precondition: not-it"), "{}", err.message);

    let right_uid = DeleteParams { preconditions: Some(kube::api::Preconditions { uid: created.metadata.uid.clone(), resource_version: None }), ..Default::default() };
    secrets.delete("s1", &right_uid).await.unwrap();
    assert!(secrets.get_opt("s1").await.unwrap().is_none());
}

#[tokio::test]
async fn bad_input_gets_a_status_with_the_right_4xx() {
    let (_dir, client) = cluster();
    namespace(&client, "t1").await;
    let send = |method: &str, path: &str, content_type: &str, body: Vec<u8>| {
        let request = http::Request::builder().method(method).uri(path).header("content-type", content_type).body(body).unwrap();
        let client = client.clone();
        async move { api_error(client.request::<serde_json::Value>(request).await.unwrap_err()) }
    };
    let malformed = send("POST", "/api/v1/namespaces/t1/secrets", "application/json", b"{not json".to_vec()).await;
    assert_eq!((malformed.code, malformed.reason.as_str()), (400, "BadRequest"));
    let yaml = send("POST", "/api/v1/namespaces/t1/secrets", "application/yaml", b"a: [unclosed".to_vec()).await;
    assert_eq!(yaml.code, 400);
    let wrong_kind = send("POST", "/api/v1/namespaces/t1/secrets", "application/json", br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}"#.to_vec()).await;
    assert_eq!(wrong_kind.code, 400);
    let wrong_version = send("POST", "/api/v1/namespaces/t1/secrets", "application/json", br#"{"apiVersion":"apps/v1","kind":"Secret","metadata":{"name":"x"}}"#.to_vec()).await;
    assert_eq!(wrong_version.message, "the API version in the data (apps/v1) does not match the expected API version (v1)");
    let mut huge = br#"{"metadata":{"name":"big"},"stringData":{"k":""#.to_vec();
    huge.extend(std::iter::repeat_n(b'x', 3 * 1024 * 1024 + 1));
    huge.extend(br#""}}"#);
    let too_large = send("POST", "/api/v1/namespaces/t1/secrets", "application/json", huge).await;
    assert_eq!(too_large.code, 413);
    let unknown = send("GET", "/api/v1/namespaces/t1/gizmos", "application/json", Vec::new()).await;
    assert_eq!((unknown.code, unknown.message.as_str()), (404, "the server could not find the requested resource"));
    let nowhere = send("GET", "/no/such/path", "application/json", Vec::new()).await;
    assert_eq!(nowhere.code, 404);
    let bad_patch = send("PATCH", "/api/v1/namespaces/t1/secrets/x", "text/plain", b"{}".to_vec()).await;
    assert_eq!((bad_patch.code, bad_patch.reason.as_str()), (415, "UnsupportedMediaType"));
}

#[tokio::test]
async fn metadata_only_requests_never_carry_data() {
    let (_dir, client) = cluster();
    namespace(&client, "t1").await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "t1");
    secrets.create(&PostParams::default(), &secret("s1", &[("app", "x")])).await.unwrap();
    let metas = secrets.list_metadata(&ListParams::default()).await.unwrap();
    assert_eq!(metas.items[0].metadata.labels.as_ref().unwrap()["app"], "x");
    let raw = http::Request::get("/api/v1/namespaces/t1/secrets")
        .header("accept", "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1")
        .body(Vec::new())
        .unwrap();
    let list: serde_json::Value = client.request(raw).await.unwrap();
    assert_eq!(list["kind"], "PartialObjectMetadataList");
    assert!(list["items"][0].get("data").is_none());
    assert!(!list.to_string().contains("s3cr3t"));
}
