//! The manifests in `deploy/` on the embedded API, as the README's "Install on a cluster" has an
//! administrator apply them: with kubectl (`--dry-run=server`, then for real), and then Keyhold run
//! with exactly its ServiceAccount's RBAC (every request impersonates it, and the embedded API
//! enforces RBAC), so a missing permission fails here.

mod support;

use std::process::Command;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use support::{KubeApi, Server, api_token, eventually, keyhold_cli, kubectl};

#[tokio::test]
async fn the_manifests_apply_and_keyhold_works_with_exactly_their_rbac() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = KubeApi::start(dir.path());
    let admin = &cluster.admin;
    let deploy = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy");

    // The README's steps: the namespace first (a server dry run needs it), Redis's password, then
    // the whole.
    kubectl(admin, &["apply", "-f", &format!("{deploy}/namespace.yaml")], None);
    kubectl(admin, &["create", "secret", "generic", "keyhold-redis", "-n", "keyhold-system", "--from-literal=password=0123456789abcdef"], None);
    let dry = kubectl(admin, &["apply", "-k", deploy, "--dry-run=server"], None);
    assert!(dry.contains("deployment.apps/keyhold created (server dry run)"), "{dry}");
    kubectl(admin, &["apply", "-k", deploy], None);
    let replicas = kubectl(admin, &["get", "deployment", "keyhold", "-n", "keyhold-system", "-o", "jsonpath={.spec.replicas}"], None);
    assert_eq!(replicas, "2");
    // Redis takes its password from the Secret, so does Keyhold, and only Keyhold's pods reach it.
    let password_ref = "jsonpath={.spec.template.spec.containers[0].env[?(@.valueFrom.secretKeyRef.name=='keyhold-redis')].valueFrom.secretKeyRef.key}";
    for deployment in ["keyhold-redis", "keyhold"] {
        assert_eq!(kubectl(admin, &["get", "deployment", deployment, "-n", "keyhold-system", "-o", password_ref], None), "password", "{deployment}");
    }
    let policy: Value = serde_json::from_str(&kubectl(admin, &["get", "networkpolicy", "keyhold-redis", "-n", "keyhold-system", "-o", "json"], None)).unwrap();
    assert_eq!(policy["spec"]["podSelector"]["matchLabels"], json!({"app.kubernetes.io/name": "keyhold-redis"}));
    assert_eq!(policy["spec"]["ingress"], json!([{"from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "keyhold"}}}], "ports": [{"protocol": "TCP", "port": 6379}]}]));
    for role in ["keyhold-viewer", "keyhold-editor", "keyhold-admin"] {
        kubectl(admin, &["get", "clusterrole", role], None);
    }

    // A project, and a person granted a shipped role the ordinary way.
    let project = r#"{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "vision", "labels": {"keyhold.dev/project": "vision", "keyhold.dev/department": "research"}}}"#;
    kubectl(admin, &["apply", "-f", "-"], Some(project));
    kubectl(admin, &["create", "clusterrolebinding", "ada-admin", "--clusterrole=keyhold-admin", "--user=ada"], None);

    // Keyhold as its ServiceAccount: the admin's kubeconfig, every request impersonating it.
    let mut config: Value = serde_saphyr::from_str(&std::fs::read_to_string(admin).unwrap()).unwrap();
    config["users"][0]["user"]["as"] = json!("system:serviceaccount:keyhold-system:keyhold");
    let as_keyhold = dir.path().join("keyhold.kubeconfig");
    std::fs::write(&as_keyhold, config.to_string()).unwrap();
    let whoami = kubectl(&as_keyhold, &["auth", "can-i", "list", "secrets", "-n", "vision"], None);
    assert_eq!(whoami.trim(), "yes");
    let denied = Command::new("kubectl").arg("--kubeconfig").arg(&as_keyhold).args(["auth", "can-i", "delete", "namespaces"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&denied.stdout).trim(), "no", "the account is least-privileged");

    let (ok, _, stderr) = keyhold_cli(&["user", "add", "ada", "--password-stdin"], &as_keyhold, Some("a-long-enough-password\n"));
    assert!(ok, "{stderr}");
    let token = api_token("ada", &as_keyhold);

    // Ready means every watch cache synced, which needs every list/watch permission.
    let server = Server::start(&dir.path().join("keyhold"), &["--cluster", "kubeconfig"], &[("KUBECONFIG", as_keyhold.to_str().unwrap())]).await;
    let api = |method: reqwest::Method, path: &str| server.http.request(method, format!("{}/api/v1{path}", server.url)).bearer_auth(&token);
    let created = api(reqwest::Method::POST, "/credentials")
        .json(&json!({"displayName": "Shared token", "description": "", "scope": {"level": "Cluster"}, "values": {"type": "Generic", "entries": [["TOKEN", "deploy-test"]]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED, "{}", created.text().await.unwrap());
    // The controller (it takes the Lease, copies, writes status) works with these permissions.
    let ready = eventually(Duration::from_secs(30), || async {
        let row: Value = api(reqwest::Method::GET, "/credentials/keyhold-system/shared-token").send().await.unwrap().json().await.unwrap_or_default();
        row["phase"] == "Ready" && row["targets"].as_array().is_some_and(|t| t.iter().any(|t| t["namespace"] == "vision" && t["phase"] == "Ready"))
    })
    .await;
    assert!(ready, "{}", kubectl(admin, &["get", "cred", "shared-token", "-n", "keyhold-system", "-o", "yaml"], None));
    let lease = kubectl(admin, &["get", "lease", "keyhold-controller", "-n", "keyhold-system", "-o", "jsonpath={.spec.holderIdentity}"], None);
    assert!(!lease.is_empty());

    // Keyhold made its session key.
    kubectl(admin, &["get", "secret", "keyhold-session-key", "-n", "keyhold-system"], None);

    // Project secrets are within the RBAC too.
    let put = api(reqwest::Method::PUT, "/projects/vision/secrets/API_TOKEN").json(&json!({"value": "deploy-test"})).send().await.unwrap();
    assert_eq!(put.status(), StatusCode::OK, "{}", put.text().await.unwrap());

    // So are the per-user preferences (a ConfigMap made, then patched).
    let cookie = server.sign_in("ada", "a-long-enough-password").await;
    for hidden in [json!(["Description"]), json!(["Description", "Cluster"])] {
        let saved = server.http.post(format!("{}/api/hide_columns", server.url)).header(reqwest::header::ORIGIN, &server.url).header(reqwest::header::COOKIE, &cookie).json(&json!({"columns": hidden})).send().await.unwrap();
        assert_eq!(saved.status(), StatusCode::OK, "{}", saved.text().await.unwrap());
    }

    // New values, then deletion: the controller removes the copy, the Secret and its finalizer.
    let replaced = api(reqwest::Method::PUT, "/credentials/keyhold-system/shared-token/values").json(&json!({"type": "Generic", "entries": [["TOKEN", "deploy-test-2"]]})).send().await.unwrap();
    assert_eq!(replaced.status(), StatusCode::OK, "{}", replaced.text().await.unwrap());
    let deleted = api(reqwest::Method::DELETE, "/credentials/keyhold-system/shared-token").send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT, "{}", deleted.text().await.unwrap());
    let gone = eventually(Duration::from_secs(30), || async {
        ["vision", "keyhold-system"].iter().all(|ns| kubectl(admin, &["get", "secret", "shared-token", "-n", ns, "--ignore-not-found", "-o", "name"], None).is_empty())
            && kubectl(admin, &["get", "cred", "shared-token", "-n", "keyhold-system", "--ignore-not-found", "-o", "name"], None).is_empty()
    })
    .await;
    assert!(gone, "{}", kubectl(admin, &["get", "cred,secret", "-A"], None));
    server.stop();
}
