//! The credentials controller on the embedded API: propagation to every namespace in scope (also
//! ones created later), clashes, re-sync of changed values, namespaces leaving the scope, cleanup.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{DeleteParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::{Api, Client};

use keyhold::domain::credential::{Phase, Scope, ScopeLevel};
use keyhold::domain::identity::Identity;
use keyhold::domain::lifecycle::Rollout;
use keyhold::domain::new_credential::{NewCredential, SecretValues};
use keyhold::server::credentials::resource::{Credential, install_crd};
use keyhold::server::credentials::service::{CredentialsService, Settings};

struct World {
    _dir: tempfile::TempDir,
    client: Client,
    service: CredentialsService,
}

fn admin() -> Identity {
    Identity::new("admin", &["system:masters"])
}

async fn project(client: &Client, name: &str, department: &str) {
    let labels = [("keyhold.dev/project".to_string(), name.to_string()), ("keyhold.dev/department".to_string(), department.to_string())].into();
    let ns = Namespace { metadata: ObjectMeta { name: Some(name.into()), labels: Some(labels), ..Default::default() }, ..Default::default() };
    Api::<Namespace>::all(client.clone()).create(&PostParams::default(), &ns).await.unwrap();
}

async fn world() -> World {
    keyhold::server::telemetry::init();
    let dir = tempfile::tempdir().unwrap();
    let cluster = keyhold::embedded::Cluster::open(dir.path()).unwrap();
    let client = cluster.client();
    install_crd(client.clone()).await.unwrap();
    let system = Namespace { metadata: ObjectMeta { name: Some("keyhold-system".into()), ..Default::default() }, ..Default::default() };
    Api::<Namespace>::all(client.clone()).create(&PostParams::default(), &system).await.unwrap();
    for (name, department) in [("vision", "research"), ("nlp", "research"), ("serving", "production")] {
        project(&client, name, department).await;
    }
    let (service, driver) = CredentialsService::start(client.clone(), Settings::default());
    tokio::spawn(driver);
    tokio::spawn(keyhold::server::credentials::controller::run(client.clone(), Settings::default()));
    service.synced().await;
    World { _dir: dir, client, service }
}

fn request(name: &str, level: ScopeLevel, department: Option<&str>, value: &str) -> NewCredential {
    NewCredential {
        display_name: name.into(),
        description: String::new(),
        scope: Scope { level, department: department.map(Into::into), project: None, cluster: None },
        values: SecretValues::Generic { entries: vec![("TOKEN".into(), value.into())] },
        expires_on: String::new(),
    }
}

/// Polls (bounded) until `check` holds.
async fn eventually<F, Fut>(what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn copy_value(client: &Client, namespace: &str, name: &str) -> Option<Vec<u8>> {
    let secret = Api::<Secret>::namespaced(client.clone(), namespace).get_opt(name).await.unwrap()?;
    secret.data.and_then(|d| d.get("TOKEN").map(|v| v.0.clone()))
}

async fn phase(client: &Client, name: &str) -> Option<Phase> {
    let credential = Api::<Credential>::namespaced(client.clone(), "keyhold-system").get_opt(name).await.unwrap()?;
    credential.status.map(|s| s.phase)
}

/// The Drifted warnings recorded on credentials of the system namespace.
async fn drift_events(client: &Client) -> usize {
    use k8s_openapi::api::core::v1::Event;
    let events = Api::<Event>::namespaced(client.clone(), "keyhold-system").list(&Default::default()).await.unwrap();
    events.items.iter().filter(|e| e.reason.as_deref() == Some("Drifted") && e.type_.as_deref() == Some("Warning")).count()
}

#[tokio::test]
async fn a_cluster_scope_credential_reaches_every_project_and_follows_changes() {
    let w = world().await;
    let row = w.service.create(&admin(), &request("Shared token", ScopeLevel::Cluster, None, "v1")).await.unwrap();
    let name = row.name.clone();
    eventually("Ready with a copy in every project", || async {
        phase(&w.client, &name).await == Some(Phase::Ready)
            && copy_value(&w.client, "vision", &name).await.as_deref() == Some(b"v1".as_slice())
            && copy_value(&w.client, "serving", &name).await.is_some()
    })
    .await;
    let credential = Api::<Credential>::namespaced(w.client.clone(), "keyhold-system").get(&name).await.unwrap();
    let status = credential.status.unwrap();
    assert_eq!(status.keys, ["TOKEN"]);
    assert_eq!(status.targets.len(), 4, "its home and three projects: {:?}", status.targets);

    // A project created later gets a copy too.
    project(&w.client, "etl", "production").await;
    eventually("a copy in the new project", || async { copy_value(&w.client, "etl", &name).await.is_some() }).await;

    // A new value reaches every copy.
    let source = Api::<Secret>::namespaced(w.client.clone(), "keyhold-system");
    let patch = serde_json::json!({"data": {"TOKEN": "djI="}});
    source.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
    eventually("copies re-synced", || async { copy_value(&w.client, "nlp", &name).await.as_deref() == Some(b"v2".as_slice()) }).await;
    assert_eq!(drift_events(&w.client).await, 0, "a new source value is not drift");

    // A copy changed by someone else is restored, and the credential's Events say so.
    let copies = Api::<Secret>::namespaced(w.client.clone(), "serving");
    let tamper = serde_json::json!({"data": {"TOKEN": "dGFtcGVyZWQ="}});
    copies.patch(&name, &PatchParams::default(), &Patch::Merge(&tamper)).await.unwrap();
    eventually("the changed copy restored", || async { copy_value(&w.client, "serving", &name).await.as_deref() == Some(b"v2".as_slice()) }).await;
    eventually("a Drifted warning recorded", || async { drift_events(&w.client).await == 1 }).await;
    // So is one whose readable owner name was pointed elsewhere in the same write: its uid label,
    // and what it belonged to before, still lead to its credential.
    let misdirected = serde_json::json!({"metadata": {"annotations": {"keyhold.dev/credential-name": "vision/someone-else"}}, "data": {"TOKEN": "dGFtcGVyZWQ="}});
    copies.patch(&name, &PatchParams::default(), &Patch::Merge(&misdirected)).await.unwrap();
    eventually("the misdirected copy restored", || async { copy_value(&w.client, "serving", &name).await.as_deref() == Some(b"v2".as_slice()) }).await;
    eventually("a second Drifted warning recorded", || async { drift_events(&w.client).await == 2 }).await;

    // A namespace that stops being a project loses its copy.
    let unlabel = serde_json::json!({"metadata": {"labels": {"keyhold.dev/project": null}}});
    Api::<Namespace>::all(w.client.clone()).patch("nlp", &PatchParams::default(), &Patch::Merge(&unlabel)).await.unwrap();
    eventually("the copy leaves with the scope", || async { copy_value(&w.client, "nlp", &name).await.is_none() }).await;

    // Deleting the credential removes every copy and its own Secret.
    w.service.delete(&admin(), "keyhold-system", &name).await.unwrap();
    eventually("everything cleaned up", || async {
        let mut left = 0;
        for ns in ["keyhold-system", "vision", "serving", "etl"] {
            left += usize::from(copy_value(&w.client, ns, &name).await.is_some());
        }
        left == 0 && Api::<Credential>::namespaced(w.client.clone(), "keyhold-system").get_opt(&name).await.unwrap().is_none()
    })
    .await;
}

#[tokio::test]
async fn a_department_credential_stays_in_its_department_and_never_overwrites_a_foreign_secret() {
    let w = world().await;
    // Someone else's Secret, with the name the copy takes, in a namespace that becomes one of
    // research's projects after the credential is made (a name already taken in a project when
    // the credential is made is avoided: tests/edges.rs).
    let lab = Namespace { metadata: ObjectMeta { name: Some("lab".into()), ..Default::default() }, ..Default::default() };
    Api::<Namespace>::all(w.client.clone()).create(&PostParams::default(), &lab).await.unwrap();
    let foreign = Secret {
        metadata: ObjectMeta { name: Some("research-token".into()), namespace: Some("lab".into()), ..Default::default() },
        data: Some(BTreeMap::from([("TOKEN".to_string(), ByteString(b"theirs".to_vec()))])),
        ..Default::default()
    };
    Api::<Secret>::namespaced(w.client.clone(), "lab").create(&PostParams::default(), &foreign).await.unwrap();
    let row = w.service.create(&admin(), &request("Research token", ScopeLevel::Department, Some("research"), "ours")).await.unwrap();
    let name = row.name.clone();
    assert_eq!(name, "research-token");
    let labels = serde_json::json!({"metadata": {"labels": {"keyhold.dev/project": "lab", "keyhold.dev/department": "research"}}});
    Api::<Namespace>::all(w.client.clone()).patch("lab", &PatchParams::default(), &Patch::Merge(&labels)).await.unwrap();
    eventually("Issues reported for the clash", || async { phase(&w.client, &name).await == Some(Phase::Issues) }).await;
    let status = Api::<Credential>::namespaced(w.client.clone(), "keyhold-system").get(&name).await.unwrap().status.unwrap();
    let clash = status.targets.iter().find(|t| t.namespace == "lab").unwrap();
    assert_eq!((clash.state, clash.reason.as_str()), (Phase::Issues, "Clash"));
    assert_eq!(copy_value(&w.client, "lab", &name).await.as_deref(), Some(b"theirs".as_slice()), "never overwritten");
    assert_eq!(copy_value(&w.client, "vision", &name).await.as_deref(), Some(b"ours".as_slice()));
    assert!(copy_value(&w.client, "serving", &name).await.is_none(), "production is another department");

    w.service.delete(&admin(), "keyhold-system", &name).await.unwrap();
    eventually("our copy removed", || async { copy_value(&w.client, "vision", &name).await.is_none() }).await;
    assert_eq!(copy_value(&w.client, "lab", &name).await.as_deref(), Some(b"theirs".as_slice()), "never deleted");
}

#[tokio::test]
async fn an_unlabelled_existing_secret_is_not_spread() {
    let w = world().await;
    let secret = Secret {
        metadata: ObjectMeta { name: Some("anything".into()), namespace: Some("keyhold-system".into()), ..Default::default() },
        data: Some(BTreeMap::from([("TOKEN".to_string(), ByteString(b"x".to_vec()))])),
        ..Default::default()
    };
    Api::<Secret>::namespaced(w.client.clone(), "keyhold-system").create(&PostParams::default(), &secret).await.unwrap();
    let credential: Credential = serde_json::from_value(serde_json::json!({
        "apiVersion": "keyhold.dev/v1", "kind": "Credential",
        "metadata": {"name": "sneaky", "namespace": "keyhold-system"},
        "spec": {"displayName": "Sneaky", "type": "Generic", "scope": {"level": "Cluster"}, "secretRef": {"name": "anything"}}
    }))
    .unwrap();
    let api = Api::<Credential>::namespaced(w.client.clone(), "keyhold-system");
    api.create(&PostParams::default(), &credential).await.unwrap();
    eventually("NotLabelled reported", || async { phase(&w.client, "sneaky").await == Some(Phase::Issues) }).await;
    let status = api.get("sneaky").await.unwrap().status.unwrap();
    assert_eq!(status.targets[0].reason, "NotLabelled");
    assert!(copy_value(&w.client, "vision", "anything").await.is_none());
    api.delete("sneaky", &DeleteParams::default()).await.unwrap();
    eventually("credential gone", || async { api.get_opt("sneaky").await.unwrap().is_none() }).await;
    assert!(copy_value(&w.client, "keyhold-system", "anything").await.is_some(), "an existing secret is never deleted");
}

#[tokio::test]
async fn replaced_values_reach_the_copies() {
    let w = world().await;
    let row = w.service.create(&admin(), &request("Rotated everywhere", ScopeLevel::Cluster, None, "old")).await.unwrap();
    let name = row.name.clone();
    eventually("first copies", || async { copy_value(&w.client, "serving", &name).await.as_deref() == Some(b"old".as_slice()) }).await;
    let values = SecretValues::Generic { entries: vec![("TOKEN".into(), "new".into())] };
    w.service.replace_values(&admin(), "keyhold-system", &name, &values, Rollout::Nothing).await.unwrap();
    eventually("copies re-synced", || async {
        copy_value(&w.client, "serving", &name).await.as_deref() == Some(b"new".as_slice())
            && copy_value(&w.client, "vision", &name).await.as_deref() == Some(b"new".as_slice())
    })
    .await;
}

#[tokio::test]
async fn a_secret_an_earlier_keyhold_made_is_adopted_and_keeps_working() {
    let w = world().await;
    // What the version before ownerReferences left behind: the labels, no owner.
    let labels = |owner: &str| BTreeMap::from([("app.kubernetes.io/managed-by".to_string(), "keyhold".to_string()), ("keyhold.dev/credential".to_string(), owner.to_string())]);
    let secrets = Api::<Secret>::namespaced(w.client.clone(), "keyhold-system");
    for (name, owner) in [("legacy", "keyhold-system.legacy"), ("borrowed", "keyhold-system.someone-else")] {
        let secret = Secret {
            metadata: ObjectMeta { name: Some(name.into()), labels: Some(labels(owner)), ..Default::default() },
            data: Some(BTreeMap::from([("TOKEN".to_string(), ByteString(b"kept".to_vec()))])),
            ..Default::default()
        };
        secrets.create(&PostParams::default(), &secret).await.unwrap();
        let credential: Credential = serde_json::from_value(serde_json::json!({
            "apiVersion": "keyhold.dev/v1", "kind": "Credential",
            "metadata": {"name": name, "namespace": "keyhold-system"},
            "spec": {"displayName": name, "type": "Generic", "scope": {"level": "Cluster"}, "secretRef": {"name": name, "managed": true}}
        }))
        .unwrap();
        Api::<Credential>::namespaced(w.client.clone(), "keyhold-system").create(&PostParams::default(), &credential).await.unwrap();
    }
    eventually("the legacy credential Ready, its copies made", || async {
        phase(&w.client, "legacy").await == Some(Phase::Ready) && copy_value(&w.client, "vision", "legacy").await.as_deref() == Some(b"kept".as_slice())
    })
    .await;
    let owners = secrets.get("legacy").await.unwrap().metadata.owner_references.unwrap_or_default();
    assert_eq!(owners.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(), ["legacy"]);
    // A Secret labelled for another credential is not adopted by this one.
    eventually("borrowed refused", || async { phase(&w.client, "borrowed").await == Some(Phase::Issues) }).await;
    assert!(secrets.get("borrowed").await.unwrap().metadata.owner_references.is_none());
    assert!(copy_value(&w.client, "vision", "borrowed").await.is_none());
}
