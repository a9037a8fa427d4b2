//! The embedded default as an operator meets it, through the real binary and kubectl: the demo
//! credentials with their status in `kubectl get creds -A`, and a Cluster-scope credential applied
//! with kubectl propagated to every project namespace until Ready.

mod support;

use std::time::Duration;

use support::{Server, eventually, kubectl, labelled_copies};

const PROJECTS: [&str; 4] = ["vision", "nlp", "serving", "etl"];
const DEMO_CREDENTIALS: [&str; 5] = ["Docker Hub (vision)", "Feature store database", "S3 datasets", "Hugging Face (research)", "Weights & Biases"];

#[tokio::test]
async fn kubectl_lists_the_demo_credentials_and_a_cluster_credential_it_applies_reaches_every_project() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded(dir.path(), &[]).await;
    let kubeconfig = dir.path().join("kubeconfig");

    let all_ready = eventually(Duration::from_secs(20), || async {
        let table = kubectl(&kubeconfig, &["get", "creds", "-A"], None);
        DEMO_CREDENTIALS.iter().all(|name| table.lines().any(|line| line.contains(name) && line.contains("Ready")))
    })
    .await;
    assert!(all_ready, "{}", kubectl(&kubeconfig, &["get", "creds", "-A"], None));

    let manifests = r#"
apiVersion: v1
kind: Secret
metadata:
  name: gitops-token
  namespace: keyhold-system
  labels: {keyhold.dev/resource: generic, keyhold.dev/cluster-wide: "true"}
stringData: {TOKEN: applied-by-kubectl}
---
apiVersion: keyhold.dev/v1
kind: Credential
metadata: {name: gitops-token, namespace: keyhold-system}
spec:
  displayName: GitOps token
  type: Generic
  scope: {level: Cluster}
  secretRef: {name: gitops-token}
"#;
    kubectl(&kubeconfig, &["apply", "-f", "-"], Some(manifests));
    let propagated = eventually(Duration::from_secs(20), || async {
        let phase = kubectl(&kubeconfig, &["get", "cred", "gitops-token", "-n", "keyhold-system", "-o", "jsonpath={.status.phase}"], None);
        let copies = labelled_copies(&kubeconfig, "keyhold-system", "gitops-token");
        phase == "Ready" && PROJECTS.iter().all(|p| copies.iter().any(|ns| ns == p))
    })
    .await;
    assert!(propagated, "{}", kubectl(&kubeconfig, &["get", "cred", "gitops-token", "-n", "keyhold-system", "-o", "yaml"], None));
    server.stop();
}
