//! Several replicas against one cluster (`keyhold kube-api`), as `deploy/` runs them: only the Lease
//! holder runs the controller; SIGTERM releases the Lease so the other takes over at once; a
//! leader killed outright is replaced once its Lease runs out, and the survivor finishes a
//! propagation the dead one had started.

mod support;

use std::path::Path;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use support::{KubeApi, Server, api_token, eventually, keyhold_cli, kubectl, labelled_copies};

/// The pid in the Lease's holder (`<host>-<pid>`), if any.
fn leader_pid(admin: &Path) -> Option<u32> {
    let holder = kubectl(admin, &["get", "lease", "keyhold-controller", "-n", "keyhold-system", "-o", "jsonpath={.spec.holderIdentity}", "--ignore-not-found"], None);
    holder.rsplit('-').next()?.parse().ok()
}

fn project(admin: &Path, name: &str) {
    let namespace = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {"keyhold.dev/project": name, "keyhold.dev/department": "research"}}});
    kubectl(admin, &["apply", "-f", "-"], Some(&namespace.to_string()));
}

async fn replica(dir: &Path, name: &str, admin: &Path) -> Server {
    Server::start(&dir.join(name), &["--cluster", "kubeconfig"], &[("KUBECONFIG", admin.to_str().unwrap())]).await
}

/// The copies of a Cluster-scope credential's Secret, by namespace.
fn copies(admin: &Path, name: &str) -> Vec<String> {
    labelled_copies(admin, "keyhold-system", name)
}

#[tokio::test]
async fn one_leader_at_a_time_and_the_survivor_finishes_the_work() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = KubeApi::start(dir.path());
    let admin = cluster.admin.as_path();
    kubectl(admin, &["apply", "-f", concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/namespace.yaml")], None);
    kubectl(admin, &["apply", "-k", concat!(env!("CARGO_MANIFEST_DIR"), "/deploy")], None);
    for name in ["vision", "nlp"] {
        project(admin, name);
    }
    kubectl(admin, &["create", "clusterrolebinding", "ada-admin", "--clusterrole=keyhold-admin", "--user=ada"], None);
    assert!(keyhold_cli(&["user", "add", "ada"], admin, Some("a-long-enough-password\n")).0);
    let token = api_token("ada", admin);

    let mut replicas = vec![replica(dir.path(), "a", admin).await, replica(dir.path(), "b", admin).await];
    let leads = |replicas: &Vec<Server>| replicas.iter().position(|r| Some(r.child.id()) == leader_pid(admin));
    assert!(eventually(Duration::from_secs(20), || async { leads(&replicas).is_some() }).await, "one of the two leads");

    // SIGTERM: the leader finishes, releases the Lease, and the other takes it well before the
    // Lease (15 s) would have run out.
    let first = replicas.remove(leads(&replicas).unwrap());
    let stopped = std::time::Instant::now();
    first.stop();
    assert!(eventually(Duration::from_secs(20), || async { leads(&replicas) == Some(0) }).await, "the other replica took over");
    assert!(stopped.elapsed() < Duration::from_secs(12), "a released Lease is taken at once, not after it runs out: {:?}", stopped.elapsed());

    // A new second replica; then the leader starts a propagation and is killed outright.
    replicas.push(replica(dir.path(), "c", admin).await);
    let leader = leads(&replicas).unwrap();
    let created = replicas[leader]
        .http
        .post(format!("{}/api/v1/credentials", replicas[leader].url))
        .bearer_auth(&token)
        .json(&json!({"displayName": "Shared token", "description": "", "scope": {"level": "Cluster"}, "values": {"type": "Generic", "entries": [["TOKEN", "replicas"]]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let mut dead = replicas.remove(leader);
    dead.child.kill().unwrap(); // SIGKILL: no release
    dead.child.wait().unwrap();
    project(admin, "etl"); // work for whoever leads next

    let survivor = &replicas[0];
    let finished = eventually(Duration::from_secs(45), || async {
        let row: Value = survivor
            .http
            .get(format!("{}/api/v1/credentials/keyhold-system/shared-token", survivor.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap_or_default();
        let mut copied = copies(admin, "shared-token");
        copied.sort();
        row["phase"] == "Ready" && copied == ["etl", "keyhold-system", "nlp", "vision"]
    })
    .await;
    assert!(finished, "copies: {:?}", copies(admin, "shared-token"));
    assert_eq!(leader_pid(admin), Some(survivor.child.id()), "the survivor leads");
}
