//! Every "How to use" snippet of every type, put in its place (a container, a pod's spec, a whole
//! object) and sent to the API server with kubectl `--dry-run=server`; then made for real, and the
//! usage index must count it as a user of the credential. Keyhold runs on a `keyhold kube-api`
//! cluster that serves Kubeflow's PodDefault from the start.

mod support;

use std::path::Path;
use std::time::Duration;

use keyhold::domain::query::CredentialRow;
use keyhold::domain::snippets::{Place, snippets};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use support::{KubeApi, Server, api_token, eventually, keyhold_cli, kubectl};

const CERT: &str = include_str!("fixtures/tls/ec.crt");
const KEY: &str = include_str!("fixtures/tls/ec.key");

/// A credential of each type, as the REST API takes it.
fn credentials() -> Vec<Value> {
    let values = [
        json!({"type": "DockerRegistry", "registry": "ghcr.io", "username": "u", "password": "p"}),
        json!({"type": "NgcApiKey", "apiKey": "nvapi-k"}),
        json!({"type": "AccessKey", "accessKeyId": "AKIA", "secretAccessKey": "s"}),
        json!({"type": "Password", "username": "u", "password": "p"}),
        json!({"type": "Generic", "entries": [["TOKEN", "t"], ["config.json", "{}"]]}),
        json!({"type": "TLS", "certificate": CERT, "privateKey": KEY}),
    ];
    values.into_iter().enumerate().map(|(i, values)| json!({"displayName": format!("Snippet test {i}"), "scope": {"level": "Project", "project": "vision"}, "values": values})).collect()
}

/// The snippet in an object Kubernetes takes: a Pod around container or pod-spec fields, or the
/// object itself.
fn placed(snippet: &Value, place: Place, name: &str) -> Value {
    let container = json!({"name": "main", "image": "busybox"});
    let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "vision"}, "spec": {"containers": [container]}});
    match place {
        Place::Container => merge(&mut pod["spec"]["containers"][0], snippet),
        Place::PodSpec => {
            let mut fields = snippet.clone();
            // The snippet's container holds only what it adds (the mounts).
            if let Some(containers) = fields.as_object_mut().and_then(|f| f.remove("containers")) {
                merge(&mut pod["spec"]["containers"][0], &containers[0]);
            }
            merge(&mut pod["spec"], &fields);
        }
        Place::Object | Place::Pachyderm => return snippet.clone(),
    }
    pod
}

fn merge(into: &mut Value, fields: &Value) {
    for (key, value) in fields.as_object().unwrap() {
        if key != "name" {
            into[key] = value.clone();
        }
    }
}

async fn row(server: &Server, token: &str, path: &str) -> CredentialRow {
    let (status, text) = server.api(Method::GET, path, Some(token), None).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// Keyhold on a `keyhold kube-api` cluster that serves Kubeflow's PodDefault from the start, with
/// a project `vision` and ada, a Keyhold administrator: the cluster, Keyhold, and ada's API token.
async fn keyhold(dir: &Path) -> (KubeApi, Server, String) {
    let cluster = KubeApi::start(dir);
    let admin = cluster.admin.as_path();
    kubectl(admin, &["apply", "-f", concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/kubeflow/poddefault-crd.yaml")], None);
    kubectl(admin, &["apply", "-f", concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/namespace.yaml")], None);
    kubectl(admin, &["apply", "-k", concat!(env!("CARGO_MANIFEST_DIR"), "/deploy")], None);
    let project = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "vision", "labels": {"keyhold.dev/project": "vision", "keyhold.dev/department": "research"}}});
    kubectl(admin, &["apply", "-f", "-"], Some(&project.to_string()));
    kubectl(admin, &["create", "clusterrolebinding", "ada-admin", "--clusterrole=keyhold-admin", "--user=ada"], None);
    assert!(keyhold_cli(&["user", "add", "ada"], admin, Some("a-long-enough-password\n")).0);
    let token = api_token("ada", admin);
    let server = Server::start(&dir.join("keyhold"), &["--cluster", "kubeconfig"], &[("KUBECONFIG", admin.to_str().unwrap())]).await;
    (cluster, server, token)
}

#[tokio::test]
async fn every_snippet_of_every_type_is_taken_by_kubernetes_and_counted_as_a_use() {
    let dir = tempfile::tempdir().unwrap();
    let (cluster, server, token) = keyhold(dir.path()).await;
    let admin = cluster.admin.as_path();

    for (i, credential) in credentials().into_iter().enumerate() {
        let (status, text) = server.api(Method::POST, "/credentials", Some(&token), Some(credential)).await;
        assert_eq!(status, StatusCode::CREATED, "{text}");
        let made: Value = serde_json::from_str(&text).unwrap();
        let path = format!("/credentials/vision/{}", made["name"].as_str().unwrap());
        let keyed = eventually(Duration::from_secs(20), || async { !row(&server, &token, &path).await.keys.is_empty() }).await;
        assert!(keyed, "the controller never read the keys of {path}");
        let credential = row(&server, &token, &path).await;
        for (j, snippet) in snippets(&credential).into_iter().enumerate() {
            let context = format!("{:?} {:?}:\n{}", credential.credential_type, snippet.title, snippet.text);
            if snippet.place == Place::Pachyderm {
                let spec: Value = serde_json::from_str(&format!("{{{}}}", snippet.text)).unwrap_or_else(|e| panic!("{context}: {e}"));
                assert!(spec.to_string().contains(&credential.secret_name), "{context}");
                continue;
            }
            let parsed: Value = serde_saphyr::from_str(&snippet.text).unwrap_or_else(|e| panic!("{context}: {e}"));
            let name = format!("use-{i}-{j}");
            let object = placed(&parsed, snippet.place, &name).to_string();
            kubectl(admin, &["apply", "--dry-run=server", "-f", "-"], Some(&object));
            kubectl(admin, &["apply", "-f", "-"], Some(&object));
            let kind = parsed["kind"].as_str().unwrap_or("Pod");
            let object_name = parsed["metadata"]["name"].as_str().unwrap_or(&name).to_string();
            let user = format!("{kind}/vision/{object_name}");
            let counted = eventually(Duration::from_secs(20), || async { row(&server, &token, &path).await.used_by.contains(&user) }).await;
            assert!(counted, "{context}\nis not counted as a use: {:?}", row(&server, &token, &path).await.used_by);
            kubectl(admin, &["delete", &kind.to_lowercase(), &object_name, "-n", "vision"], None);
        }
    }
}

#[tokio::test]
async fn a_credential_offered_to_notebooks_has_a_poddefault_where_allowed_and_takes_it_away_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let (cluster, server, token) = keyhold(dir.path()).await;
    let admin = cluster.admin.as_path();
    let generic = json!({"displayName": "Notebook token", "scope": {"level": "Project", "project": "vision"}, "values": {"type": "Generic", "entries": [["TOKEN", "t"]]}});
    let (status, text) = server.api(Method::POST, "/credentials", Some(&token), Some(generic)).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let name = serde_json::from_str::<Value>(&text).unwrap()["name"].as_str().unwrap().to_string();
    let offer = format!("/credentials/vision/{name}/notebooks");

    // Keyhold's admin role does not make PodDefaults: neither does Keyhold for ada.
    let (status, text) = server.api(Method::POST, &offer, Some(&token), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
    kubectl(admin, &["create", "role", "poddefaults", "-n", "vision", "--verb=create,patch", "--resource=poddefaults.kubeflow.org"], None);
    kubectl(admin, &["create", "rolebinding", "ada-poddefaults", "-n", "vision", "--role=poddefaults", "--user=ada"], None);
    let offered = eventually(Duration::from_secs(10), || async { server.api(Method::POST, &offer, Some(&token), None).await.0 == StatusCode::OK }).await;
    assert!(offered);
    let pod_default = format!("keyhold-{name}");
    assert_eq!(kubectl(admin, &["get", "poddefault", &pod_default, "-n", "vision", "-o", "jsonpath={.spec.envFrom[0].secretRef.name}"], None), name);

    let (status, text) = server.api(Method::DELETE, &format!("/credentials/vision/{name}"), Some(&token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{text}");
    let gone = eventually(Duration::from_secs(20), || async { kubectl(admin, &["get", "poddefaults", "-n", "vision", "-o", "name"], None).trim().is_empty() }).await;
    assert!(gone, "the PodDefault outlived its credential");
}
