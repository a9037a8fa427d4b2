//! Keyhold's controller and service act with an account that may write any Secret, so nothing a
//! person writes into a Credential (its scope, `secretRef`, `managed`) may make Keyhold copy, show
//! or overwrite a Secret that person could not touch; a department's administrator gets that
//! department and nothing more; and "Used by" names only workloads the reader may see. The demo
//! users act through kubectl (impersonated by the administrator's kubeconfig) and the REST API.

use std::path::Path;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Server, api_token, eventually, keyhold_cli, kubectl, secret_value};

/// The value of a Secret bob has no right to: it must never be copied, shown or overwritten.
const PAYROLL: &str = "canary-payroll-5d1e";
const PROJECTS: [&str; 4] = ["vision", "nlp", "serving", "etl"];

/// kubectl as a demo user, impersonated through the administrator's kubeconfig.
fn kubectl_as(kubeconfig: &Path, user: &str, group: &str, args: &[&str], stdin: Option<&str>) -> String {
    let mut all = vec!["--as", user, "--as-group", group];
    all.extend_from_slice(args);
    kubectl(kubeconfig, &all, stdin)
}

/// A Secret only administrators may read, in `vision`.
fn plant_payroll(kubeconfig: &Path) {
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "payroll-db", "namespace": "vision"}, "stringData": {"password": PAYROLL}});
    kubectl(kubeconfig, &["apply", "-f", "-"], Some(&secret.to_string()));
}

fn payroll_value(kubeconfig: &Path) -> String {
    String::from_utf8(secret_value(kubeconfig, "vision", "payroll-db", "password")).unwrap()
}

/// The namespaces other than `vision` that hold a Secret named `payroll-db`.
fn payroll_copies(kubeconfig: &Path) -> Vec<&'static str> {
    PROJECTS.into_iter().filter(|ns| *ns != "vision").filter(|ns| !kubectl(kubeconfig, &["get", "secret", "payroll-db", "-n", ns, "--ignore-not-found", "-o", "name"], None).is_empty()).collect()
}

/// A Credential bob writes himself with kubectl, as his editor role allows.
fn bobs_credential(kubeconfig: &Path, name: &str, scope: Value, secret: &str) {
    let credential = json!({
        "apiVersion": "keyhold.dev/v1", "kind": "Credential",
        "metadata": {"name": name, "namespace": "vision"},
        "spec": {"displayName": name, "type": "Generic", "scope": scope, "secretRef": {"name": secret, "managed": true}},
    });
    kubectl_as(kubeconfig, "bob", "research", &["apply", "-f", "-"], Some(&credential.to_string()));
}

/// The Kubernetes name of the demo's system-namespace credential shown as `display_name`.
fn system_credential(kubeconfig: &Path, display_name: &str) -> String {
    let path = format!("jsonpath={{.items[?(@.spec.displayName==\"{display_name}\")].metadata.name}}");
    kubectl(kubeconfig, &["get", "creds", "-n", "keyhold-system", "-o", &path], None)
}

/// Waits until the controller reports `reason` for the credential's own namespace.
async fn reported(kubeconfig: &Path, namespace: &str, name: &str, reason: &str) -> bool {
    let path = format!("jsonpath={{.status.targets[?(@.namespace==\"{namespace}\")].reason}}");
    eventually(Duration::from_secs(20), || async { kubectl(kubeconfig, &["get", "cred", name, "-n", namespace, "-o", &path], None) == reason }).await
}

#[tokio::test]
async fn an_editor_cannot_spread_a_secret_by_writing_a_wider_scope() {
    let dir = tempfile::tempdir().unwrap();
    let _server = Server::embedded(dir.path(), &[]).await;
    let kubeconfig = dir.path().join("kubeconfig");
    plant_payroll(&kubeconfig);

    bobs_credential(&kubeconfig, "everywhere", json!({"level": "Cluster"}), "payroll-db");
    bobs_credential(&kubeconfig, "department", json!({"level": "Department", "department": "research"}), "payroll-db");
    bobs_credential(&kubeconfig, "elsewhere", json!({"level": "Project", "project": "etl"}), "payroll-db");
    for name in ["everywhere", "department", "elsewhere"] {
        assert!(reported(&kubeconfig, "vision", name, "WrongNamespace").await, "{name}: {}", kubectl(&kubeconfig, &["get", "cred", name, "-n", "vision", "-o", "yaml"], None));
        let phase = kubectl(&kubeconfig, &["get", "cred", name, "-n", "vision", "-o", "jsonpath={.status.phase}"], None);
        assert_eq!(phase, "Issues");
    }
    assert_eq!(payroll_copies(&kubeconfig), Vec::<&str>::new(), "payroll-db was copied out of vision");
}

#[tokio::test]
async fn managed_true_does_not_make_a_secret_keyholds_to_show_overwrite_or_delete() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded(dir.path(), &[]).await;
    let kubeconfig = dir.path().join("kubeconfig");
    plant_payroll(&kubeconfig);
    let bob = api_token("bob", &kubeconfig);

    bobs_credential(&kubeconfig, "payroll", json!({"level": "Project", "project": "vision"}), "payroll-db");
    assert!(reported(&kubeconfig, "vision", "payroll", "NotLabelled").await);
    // The Secret's key names are not shown either.
    let keys = kubectl(&kubeconfig, &["get", "cred", "payroll", "-n", "vision", "-o", "jsonpath={.status.keys}"], None);
    assert!(!keys.contains("password"), "{keys}");

    let (status, body) = server.api(Method::PUT, "/credentials/vision/payroll/values", Some(&bob), Some(json!({"type": "Generic", "entries": [["password", "overwritten"]]}))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(payroll_value(&kubeconfig), PAYROLL);

    let (status, body) = server.api(Method::DELETE, "/credentials/vision/payroll", Some(&bob), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let gone = eventually(Duration::from_secs(20), || async { kubectl(&kubeconfig, &["get", "cred", "payroll", "-n", "vision", "--ignore-not-found", "-o", "name"], None).is_empty() }).await;
    assert!(gone);
    assert_eq!(payroll_value(&kubeconfig), PAYROLL, "deleting the credential deleted a Secret Keyhold did not make");
}

#[tokio::test]
async fn repointing_a_keyhold_made_credential_overwrites_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded(dir.path(), &[]).await;
    let kubeconfig = dir.path().join("kubeconfig");
    plant_payroll(&kubeconfig);
    let bob = api_token("bob", &kubeconfig);

    let request = json!({"displayName": "Bob's token", "description": "", "scope": {"level": "Project", "project": "vision"}, "values": {"type": "Generic", "entries": [["TOKEN", "bobs"]]}});
    let (status, body) = server.api(Method::POST, "/credentials", Some(&bob), Some(request)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let name = serde_json::from_str::<Value>(&body).unwrap()["name"].as_str().unwrap().to_string();
    // What Keyhold made for it, it may still write.
    let values = json!({"type": "Generic", "entries": [["TOKEN", "bobs-new"]]});
    let (status, body) = server.api(Method::PUT, &format!("/credentials/vision/{name}/values"), Some(&bob), Some(values.clone())).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let repoint = json!({"spec": {"secretRef": {"name": "payroll-db", "managed": true}}}).to_string();
    kubectl_as(&kubeconfig, "bob", "research", &["patch", "cred", &name, "-n", "vision", "--type", "merge", "-p", &repoint], None);
    assert!(reported(&kubeconfig, "vision", &name, "NotLabelled").await);
    let (status, body) = server.api(Method::PUT, &format!("/credentials/vision/{name}/values"), Some(&bob), Some(values)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(payroll_value(&kubeconfig), PAYROLL);
}

/// dana, administrator of the research department (and of nothing else), as an administrator
/// binds one; her API token.
fn research_admin(kubeconfig: &Path) -> String {
    let (ok, role, stderr) = keyhold_cli(&["roles", "--department", "research"], kubeconfig, None);
    assert!(ok, "{stderr}");
    kubectl(kubeconfig, &["apply", "-f", "-"], Some(&role));
    kubectl(kubeconfig, &["create", "clusterrolebinding", "research-admins", "--clusterrole", "keyhold-department-admin-research", "--group", "research-admins"], None);
    let (ok, _, stderr) = keyhold_cli(&["user", "add", "dana", "--groups", "research-admins"], kubeconfig, None);
    assert!(ok, "{stderr}");
    api_token("dana", kubeconfig)
}

/// A create request for a generic credential.
fn create(display_name: &str, scope: Value) -> Value {
    json!({"displayName": display_name, "description": "", "scope": scope, "values": {"type": "Generic", "entries": [["K", PAYROLL]]}})
}

#[tokio::test]
async fn a_department_admin_manages_their_department_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded(dir.path(), &[]).await;
    let kubeconfig = dir.path().join("kubeconfig");
    let dana = research_admin(&kubeconfig);
    let alice = api_token("alice", &kubeconfig);
    let (status, body) = server.api(Method::POST, "/credentials", Some(&alice), Some(create("Serving only", json!({"level": "Project", "project": "serving"})))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let serving_only = serde_json::from_str::<Value>(&body).unwrap()["name"].as_str().unwrap().to_string();

    let attempts = [
        ("Research models", json!({"level": "Department", "department": "research"}), StatusCode::CREATED),
        ("Vision bucket", json!({"level": "Project", "project": "vision"}), StatusCode::CREATED),
        ("Production models", json!({"level": "Department", "department": "production"}), StatusCode::FORBIDDEN),
        ("Serving bucket", json!({"level": "Project", "project": "serving"}), StatusCode::FORBIDDEN),
        ("Everywhere", json!({"level": "Cluster"}), StatusCode::FORBIDDEN),
    ];
    for (display_name, scope, expected) in attempts {
        let (status, body) = server.api(Method::POST, "/credentials", Some(&dana), Some(create(display_name, scope))).await;
        assert_eq!(status, expected, "{display_name}: {body}");
    }

    let listed = eventually(Duration::from_secs(10), || async {
        let (_, body) = server.api(Method::GET, "/credentials?per_page=100", Some(&dana), None).await;
        body.contains("Research models") && body.contains("Vision bucket") && body.contains("Hugging Face (research)")
    })
    .await;
    let (_, body) = server.api(Method::GET, "/credentials?per_page=100", Some(&dana), None).await;
    assert!(listed, "{body}");
    assert!(!body.contains("Serving only"), "a production project's credential was listed: {body}");

    // The department's own credential may be changed; a production project's may not even be seen.
    let hugging_face = system_credential(&kubeconfig, "Hugging Face (research)");
    let (status, body) = server.api(Method::PATCH, &format!("/credentials/keyhold-system/{hugging_face}"), Some(&dana), Some(json!({"displayName": "Hugging Face (research team)", "description": ""}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = server.api(Method::GET, &format!("/credentials/serving/{serving_only}"), Some(&dana), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = server.api(Method::DELETE, &format!("/credentials/serving/{serving_only}"), Some(&dana), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let wandb = system_credential(&kubeconfig, "Weights & Biases");
    let (status, _) = server.api(Method::DELETE, &format!("/credentials/keyhold-system/{wandb}"), Some(&dana), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn used_by_names_only_workloads_the_reader_may_see() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded(dir.path(), &[]).await;
    let kubeconfig = dir.path().join("kubeconfig");
    let wandb = system_credential(&kubeconfig, "Weights & Biases");
    for (namespace, workload) in [("vision", "vision-tracker"), ("etl", "payroll-forecaster")] {
        let deployment = json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": workload, "namespace": namespace},
            "spec": {"selector": {"matchLabels": {"app": workload}}, "template": {"metadata": {"labels": {"app": workload}}, "spec": {
                "containers": [{"name": "main", "image": "registry.example/main:1", "envFrom": [{"secretRef": {"name": wandb}}]}]}}},
        });
        kubectl(&kubeconfig, &["apply", "-f", "-"], Some(&deployment.to_string()));
    }
    let path = format!("/credentials/keyhold-system/{wandb}");
    let alice = api_token("alice", &kubeconfig);
    let both = eventually(Duration::from_secs(20), || async { server.api(Method::GET, &path, Some(&alice), None).await.1.contains("payroll-forecaster") }).await;
    assert!(both, "the administrator sees every workload");

    // carol is a viewer in vision only: the etl workload is counted, not named, in the page, the
    // list and a search for it.
    let carol = api_token("carol", &kubeconfig);
    let (status, body) = server.api(Method::GET, &path, Some(&carol), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let row: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(row["usedBy"].as_array().unwrap().len(), 1, "{body}");
    assert!(body.contains("vision-tracker"), "{body}");
    assert_eq!(row["unseenUsers"], 1, "{body}");
    assert!(!body.contains("payroll-forecaster"), "{body}");
    let (_, listing) = server.api(Method::GET, "/credentials?per_page=100", Some(&carol), None).await;
    assert!(listing.contains("vision-tracker") && !listing.contains("payroll-forecaster"), "{listing}");
    let (_, searched) = server.api(Method::GET, "/credentials?q=payroll-forecaster", Some(&carol), None).await;
    assert!(!searched.contains("Weights"), "a search found the credential by a workload carol may not see: {searched}");
}

#[tokio::test]
async fn a_credential_never_takes_the_name_of_a_secret_keyhold_keeps_for_itself() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded(dir.path(), &[]).await;
    let kubeconfig = dir.path().join("kubeconfig");
    let dana = research_admin(&kubeconfig);
    let bob = api_token("bob", &kubeconfig);

    // Named like the accounts Secret, the session key and the project secrets, in the system
    // namespace and (copied by the controller) in every research project.
    let mut names = Vec::new();
    for display_name in ["keyhold accounts", "keyhold session key", "keyhold project secrets"] {
        let (status, body) = server.api(Method::POST, "/credentials", Some(&dana), Some(create(display_name, json!({"level": "Department", "department": "research"})))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let row: Value = serde_json::from_str(&body).unwrap();
        assert!(!row["secretName"].as_str().unwrap().starts_with("keyhold-"), "{body}");
        names.push(row["name"].as_str().unwrap().to_string());
    }
    let copied = eventually(Duration::from_secs(20), || async {
        names.iter().all(|name| kubectl(&kubeconfig, &["get", "cred", name, "-n", "keyhold-system", "-o", "jsonpath={.status.phase}"], None) == "Ready")
    })
    .await;
    assert!(copied, "{}", kubectl(&kubeconfig, &["get", "creds", "-n", "keyhold-system"], None));
    // bob's project secret in nlp is his project's, not dana's credential's copy.
    let (status, body) = server.api(Method::PUT, "/projects/nlp/secrets/API_TOKEN", Some(&bob), Some(json!({"value": "bobs-token"}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, keys) = server.api(Method::GET, "/projects/nlp/secrets", Some(&bob), None).await;
    assert_eq!(serde_json::from_str::<Value>(&keys).unwrap()["keys"], json!(["API_TOKEN"]), "{keys}");
}

#[tokio::test]
async fn a_project_scope_names_a_project_not_any_namespace() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded(dir.path(), &[]).await;
    let kubeconfig = dir.path().join("kubeconfig");
    let alice = api_token("alice", &kubeconfig);
    let (status, body) = server.api(Method::POST, "/credentials", Some(&alice), Some(create("Planted", json!({"level": "Project", "project": "keyhold-system"})))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("\"field\":\"scope\""), "{body}");
    assert!(kubectl(&kubeconfig, &["get", "secrets", "-n", "keyhold-system", "-o", "name"], None).lines().all(|s| !s.contains("planted")));
}

#[tokio::test]
async fn someone_who_may_create_nowhere_is_not_told_which_names_exist() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded(dir.path(), &[]).await;
    let kubeconfig = dir.path().join("kubeconfig");
    let (ok, _, stderr) = keyhold_cli(&["user", "add", "nobody", "--password-stdin"], &kubeconfig, Some("nobody-password\n"));
    assert!(ok, "{stderr}");
    let nobody = server.sign_in("nobody", "nobody-password").await;
    let response = server.post("check_credential_name", Some(&nobody), &[("display_name", "Weights & Biases")]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(!response.text().await.unwrap().contains("already exists"));
}

#[tokio::test]
async fn attaching_to_or_repointing_a_workload_needs_the_persons_own_right_to_change_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded(dir.path(), &[]).await;
    let kubeconfig = dir.path().join("kubeconfig");
    let bob = api_token("bob", &kubeconfig);
    let attach = |body: Value| async { server.api(Method::POST, "/credentials/nlp/s3-datasets/attach", Some(&bob), Some(body)).await };
    let to_trainer = |namespace: &str| json!({"kind": "Deployment", "namespace": namespace, "name": "trainer", "use": {"kind": "envFrom"}});
    let trainer = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "trainer", "namespace": "nlp"},
        "spec": {"selector": {"matchLabels": {"app": "t"}}, "template": {"metadata": {"labels": {"app": "t"}}, "spec": {"containers": [{"name": "main", "image": "busybox"}]}}}});
    kubectl(&kubeconfig, &["apply", "-f", "-"], Some(&trainer.to_string()));

    // Bob may see the credential but not change Deployments: Keyhold's account does not do it for him.
    let (status, text) = attach(to_trainer("nlp")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
    let unchanged = kubectl(&kubeconfig, &["get", "deployment", "trainer", "-n", "nlp", "-o", "jsonpath={.spec.template.spec.containers[0].envFrom}"], None);
    assert!(unchanged.is_empty(), "{unchanged}");

    // Given that right in both his projects, he still may not use nlp's credential in vision,
    // where its Secret is not.
    for namespace in ["nlp", "vision"] {
        kubectl(&kubeconfig, &["create", "role", "workloads", "-n", namespace, "--verb=get,patch", "--resource=deployments.apps"], None);
        kubectl(&kubeconfig, &["create", "rolebinding", "research-workloads", "-n", namespace, "--role=workloads", "--group=research"], None);
    }
    // (Permission answers are remembered for a few seconds.)
    let allowed = eventually(Duration::from_secs(10), || async { attach(to_trainer("vision")).await.0 != StatusCode::FORBIDDEN }).await;
    assert!(allowed);
    let (status, text) = attach(to_trainer("vision")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{text}");
    assert!(text.contains("\"field\":\"namespace\""), "{text}");
    let done = eventually(Duration::from_secs(10), || async { attach(to_trainer("nlp")).await.0 == StatusCode::OK }).await;
    assert!(done, "bob could not attach where he may");
    let attached = kubectl(&kubeconfig, &["get", "deployment", "trainer", "-n", "nlp", "-o", "jsonpath={.spec.template.spec.containers[0].envFrom[0].secretRef.name}"], None);
    assert_eq!(attached, "s3-datasets");

    // Without that right again, "Replace with …" changes nothing of the trainer and deletes nothing.
    let other = json!({"displayName": "Other S3", "scope": {"level": "Project", "project": "nlp"}, "values": {"type": "AccessKey", "accessKeyId": "AKIA", "secretAccessKey": "s"}});
    let (status, text) = server.api(Method::POST, "/credentials", Some(&bob), Some(other)).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    kubectl(&kubeconfig, &["delete", "rolebinding", "research-workloads", "-n", "nlp"], None);
    let replace = json!({"namespace": "nlp", "name": "other-s3"});
    let refused = eventually(Duration::from_secs(10), || async {
        let (_, text) = server.api(Method::POST, "/credentials/nlp/s3-datasets/replace?dryRun=true", Some(&bob), Some(replace.clone())).await;
        text.contains("Deployment/nlp/trainer") && text.contains("your roles do not let you change it")
    })
    .await;
    assert!(refused, "the trainer was offered for change without the right to change it");
    let (status, text) = server.api(Method::POST, "/credentials/nlp/s3-datasets/replace", Some(&bob), Some(replace)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(text.contains("\"deleted\":false"), "{text}");
    let still = kubectl(&kubeconfig, &["get", "deployment", "trainer", "-n", "nlp", "-o", "jsonpath={.spec.template.spec.containers[0].envFrom[0].secretRef.name}"], None);
    assert_eq!(still, "s3-datasets");
}
