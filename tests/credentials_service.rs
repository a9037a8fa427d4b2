//! The credentials service on the embedded API through a real kube::Client: what each role may do,
//! what a create leaves in the cluster, and that no value ever comes back out.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, RoleBinding, RoleRef, Subject};
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client, ResourceExt};

use keyhold::domain::credential::{Scope, ScopeLevel};
use keyhold::domain::identity::Identity;
use keyhold::domain::lifecycle::Rollout;
use keyhold::domain::new_credential::{NewCredential, Rename, SecretValues};
use keyhold::domain::query::{ListQuery, Page};
use keyhold::server::credentials::resource::{Credential, install_crd};
use keyhold::server::credentials::roles::{self, ADMIN, EDITOR, VIEWER};
use keyhold::server::credentials::service::{CredentialsService, ServiceError, Settings};

const CANARY: &str = "canary-5e9d1c";

struct World {
    _dir: tempfile::TempDir,
    client: Client,
    service: CredentialsService,
}

fn alice() -> Identity {
    Identity::new("alice", &["system:authenticated"])
}
fn bob() -> Identity {
    Identity::new("bob", &["system:authenticated"])
}
fn carol() -> Identity {
    Identity::new("carol", &["system:authenticated"])
}
fn dave() -> Identity {
    Identity::new("dave", &["system:authenticated"])
}

fn user(name: &str) -> Subject {
    Subject { kind: "User".into(), name: name.into(), api_group: Some("rbac.authorization.k8s.io".into()), namespace: None }
}

fn role_ref(role: &str) -> RoleRef {
    RoleRef { api_group: "rbac.authorization.k8s.io".into(), kind: "ClusterRole".into(), name: role.into() }
}

async fn world() -> World {
    world_with(&[]).await
}

/// A world whose cluster also serves the given CustomResourceDefinitions from the start.
async fn world_with(crds: &[serde_json::Value]) -> World {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let dir = tempfile::tempdir().unwrap();
    let cluster = keyhold::embedded::Cluster::open(dir.path()).unwrap();
    let client = cluster.client();
    install_crd(client.clone()).await.unwrap();
    for crd in crds {
        let crd: CustomResourceDefinition = serde_json::from_value(crd.clone()).unwrap();
        Api::<CustomResourceDefinition>::all(client.clone()).create(&PostParams::default(), &crd).await.unwrap();
    }
    let pp = PostParams::default();
    for (name, project) in [("vision", true), ("nlp", true), ("keyhold-system", false)] {
        let labels = project.then(|| [("keyhold.dev/project".to_string(), name.to_string()), ("keyhold.dev/department".to_string(), "research".to_string())].into());
        let ns = Namespace { metadata: ObjectMeta { name: Some(name.into()), labels, ..Default::default() }, ..Default::default() };
        Api::<Namespace>::all(client.clone()).create(&pp, &ns).await.unwrap();
    }
    for role in roles::cluster_roles() {
        Api::<ClusterRole>::all(client.clone()).create(&pp, &role).await.unwrap();
    }
    for (who, role) in [("bob", EDITOR), ("carol", VIEWER)] {
        let binding = RoleBinding {
            metadata: ObjectMeta { name: Some(format!("{who}-{role}")), namespace: Some("vision".into()), ..Default::default() },
            role_ref: role_ref(role),
            subjects: Some(vec![user(who)]),
        };
        Api::<RoleBinding>::namespaced(client.clone(), "vision").create(&pp, &binding).await.unwrap();
    }
    let admin = ClusterRoleBinding { metadata: ObjectMeta { name: Some("alice-admin".into()), ..Default::default() }, role_ref: role_ref(ADMIN), subjects: Some(vec![user("alice")]) };
    Api::<ClusterRoleBinding>::all(client.clone()).create(&pp, &admin).await.unwrap();

    let (service, driver) = CredentialsService::start(client.clone(), Settings::default());
    tokio::spawn(driver);
    tokio::spawn(keyhold::server::credentials::controller::run(client.clone(), Settings::default()));
    service.synced().await;
    World { _dir: dir, client, service }
}

fn request(display_name: &str, level: ScopeLevel, project: Option<&str>) -> NewCredential {
    NewCredential {
        display_name: display_name.into(),
        description: "for training jobs".into(),
        scope: Scope { level, department: None, project: project.map(Into::into), cluster: None },
        values: SecretValues::Password { username: "svc-user".into(), password: CANARY.into() },
        expires_on: String::new(),
    }
}

fn rename(display_name: &str, description: &str) -> Rename {
    Rename { display_name: display_name.into(), description: description.into(), expires_on: None }
}

/// Waits (bounded) until the service's cache shows what `done` looks for.
async fn list_until(world: &World, who: &Identity, done: impl Fn(&Page) -> bool) -> Page {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let page = world.service.list(who, &ListQuery::default()).await.unwrap().page;
        if done(&page) || tokio::time::Instant::now() > deadline {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn an_editor_creates_and_everyone_sees_what_their_role_allows() {
    let world = world().await;
    let row = world.service.create(&bob(), &request("Postgres (vision)", ScopeLevel::Project, Some("vision"))).await.unwrap();
    assert_eq!((row.namespace.as_str(), row.name.as_str(), row.created_by.as_str()), ("vision", "postgres-vision", "bob"));

    // The Secret holds the values, typed and labelled as Keyhold's.
    let secret = Api::<Secret>::namespaced(world.client.clone(), "vision").get("postgres-vision").await.unwrap();
    assert_eq!(secret.type_.as_deref(), Some("kubernetes.io/basic-auth"));
    assert_eq!(secret.data.unwrap()["password"].0, CANARY.as_bytes());
    let credential = Api::<Credential>::namespaced(world.client.clone(), "vision").get("postgres-vision").await.unwrap();
    assert_eq!(secret.metadata.labels.unwrap()["keyhold.dev/credential"], credential.metadata.uid.unwrap());
    assert_eq!(secret.metadata.annotations.unwrap()["keyhold.dev/credential-name"], "vision/postgres-vision");

    let viewer = list_until(&world, &carol(), |p| p.total == 1).await;
    assert_eq!(viewer.rows[0].display_name, "Postgres (vision)");
    assert_eq!(list_until(&world, &dave(), |_| true).await.total, 0, "no role, no rows");
    assert_eq!(list_until(&world, &alice(), |p| p.total == 1).await.total, 1);
}

#[tokio::test]
async fn the_same_create_twice_at_once_makes_one_credential_readable_at_once() {
    let world = world().await;
    let wanted = request("Pressed twice", ScopeLevel::Project, Some("vision"));
    let bob = bob();
    let (first, second) = tokio::join!(world.service.create(&bob, &wanted), world.service.create(&bob, &wanted));
    let (made, refused) = if first.is_ok() { (first, second) } else { (second, first) };
    let made = made.unwrap();
    assert!(matches!(refused, Err(ServiceError::Conflict(ref f)) if f.field == "displayName"), "{refused:?}");
    // A read right after the write sees it, as "Creating…" until the controller has been by.
    let read = world.service.get(&bob, &made.namespace, &made.name).await.unwrap();
    assert_eq!(read.display_name, "Pressed twice");
    assert_eq!(made.phase, keyhold::domain::credential::Phase::Creating);
    let problem = world.service.name_problem(&bob, "pressed TWICE").await.unwrap();
    assert_eq!(problem.map(|p| p.message), Some("A credential named pressed TWICE already exists".to_string()));
    assert_eq!(world.service.name_problem(&bob, "Something else").await.unwrap(), None);
    // Someone who may create nowhere is not told which names exist.
    assert!(matches!(world.service.name_problem(&dave(), "pressed TWICE").await, Err(ServiceError::Forbidden { .. })));
}

#[tokio::test]
async fn each_role_is_offered_the_scopes_it_may_create_in() {
    let world = world().await;
    let offered = |tree: Option<keyhold::domain::scope_tree::ScopeNode>| -> Vec<String> {
        let Some(tree) = tree else { return Vec::new() };
        tree.allowed_scopes().into_iter().map(|s| format!("{:?} {}", s.level, s.department.clone().or(s.project.clone()).unwrap_or_default())).collect()
    };
    let admin = offered(world.service.creation_scopes(&alice()).await.unwrap());
    assert_eq!(admin, ["Cluster ", "Department research", "Project nlp", "Project vision"]);
    assert_eq!(offered(world.service.creation_scopes(&bob()).await.unwrap()), ["Project vision"]);
    assert!(world.service.creation_scopes(&carol()).await.unwrap().is_none());
    assert!(world.service.creation_scopes(&dave()).await.unwrap().is_none());
}

#[tokio::test]
async fn roles_decide_who_may_write() {
    let world = world().await;
    let refused = world.service.create(&carol(), &request("Viewer's try", ScopeLevel::Project, Some("vision"))).await.unwrap_err();
    assert!(matches!(refused, ServiceError::Forbidden { verb: "create", .. }), "{refused:?}");
    let refused = world.service.create(&bob(), &request("Elsewhere", ScopeLevel::Project, Some("nlp"))).await.unwrap_err();
    assert!(matches!(refused, ServiceError::Forbidden { .. }), "{refused:?}");
    let refused = world.service.create(&bob(), &request("Everywhere", ScopeLevel::Cluster, None)).await.unwrap_err();
    assert!(matches!(refused, ServiceError::Forbidden { .. }), "an editor cannot create cluster-wide: {refused:?}");
    let row = world.service.create(&alice(), &request("Everywhere", ScopeLevel::Cluster, None)).await.unwrap();
    assert_eq!(row.namespace, "keyhold-system");

    list_until(&world, &bob(), |p| p.total == 0).await;
    let mine = world.service.create(&bob(), &request("Mine", ScopeLevel::Project, Some("vision"))).await.unwrap();
    assert!(matches!(world.service.rename(&carol(), "vision", &mine.name, &rename("Renamed", "")).await, Err(ServiceError::Forbidden { .. })));
    let renamed = world.service.rename(&bob(), "vision", &mine.name, &rename("Renamed", "new words")).await.unwrap();
    assert_eq!((renamed.display_name.as_str(), renamed.name.as_str()), ("Renamed", "mine"));
    assert!(matches!(world.service.delete(&carol(), "vision", "mine").await, Err(ServiceError::Forbidden { .. })));
    world.service.delete(&bob(), "vision", "mine").await.unwrap();
    let secrets = Api::<Secret>::namespaced(world.client.clone(), "vision");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while secrets.get_opt("mine").await.unwrap().is_some() {
        assert!(tokio::time::Instant::now() < deadline, "a managed Secret goes with its credential");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn bad_requests_name_the_field_and_leave_nothing_behind() {
    let world = world().await;
    let mut bad = request("Broken", ScopeLevel::Project, Some("vision"));
    bad.values = SecretValues::Password { username: String::new(), password: "x".into() };
    match world.service.create(&bob(), &bad).await.unwrap_err() {
        ServiceError::Invalid(problems) => assert_eq!(problems[0].field, "username"),
        other => panic!("{other:?}"),
    }
    assert!(Api::<Secret>::namespaced(world.client.clone(), "vision").get_opt("broken").await.unwrap().is_none());

    world.service.create(&bob(), &request("Shared name", ScopeLevel::Project, Some("vision"))).await.unwrap();
    list_until(&world, &bob(), |p| p.total == 1).await;
    match world.service.create(&alice(), &request("SHARED NAME", ScopeLevel::Cluster, None)).await.unwrap_err() {
        ServiceError::Conflict(problem) => assert_eq!(problem.field, "displayName"),
        other => panic!("display names are unique per cluster, case-insensitively: {other:?}"),
    }
}

#[tokio::test]
async fn no_value_ever_comes_back_out() {
    let world = world().await;
    let created = world.service.create(&bob(), &request("Canary", ScopeLevel::Project, Some("vision"))).await.unwrap();
    let renamed = world.service.rename(&bob(), "vision", &created.name, &rename("Canary 2", "")).await.unwrap();
    let listed = list_until(&world, &bob(), |p| p.rows.first().is_some_and(|r| r.display_name == "Canary 2")).await;
    let error = world.service.create(&bob(), &request("Canary 2", ScopeLevel::Project, Some("vision"))).await.unwrap_err();
    let outputs = [
        serde_json::to_string(&created).unwrap(),
        serde_json::to_string(&renamed).unwrap(),
        serde_json::to_string(&listed).unwrap(),
        error.to_string(),
        format!("{error:?}"),
    ];
    for output in outputs {
        assert!(!output.contains(CANARY), "a value leaked: {output}");
    }
}

#[tokio::test]
async fn deletion_is_refused_while_a_workload_uses_the_secret() {
    use k8s_openapi::api::apps::v1::Deployment;
    let world = world().await;
    let row = world.service.create(&bob(), &request("Model registry", ScopeLevel::Project, Some("vision"))).await.unwrap();
    let deployment: Deployment = serde_json::from_value(serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "trainer", "namespace": "vision"},
        "spec": {"selector": {"matchLabels": {"app": "trainer"}}, "template": {
            "metadata": {"labels": {"app": "trainer"}},
            "spec": {"containers": [{"name": "main", "image": "trainer", "env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": row.name, "key": "password"}}}]}]}
        }}
    }))
    .unwrap();
    let deployments = Api::<Deployment>::namespaced(world.client.clone(), "vision");
    deployments.create(&PostParams::default(), &deployment).await.unwrap();

    let listed = list_until(&world, &bob(), |p| p.rows.first().is_some_and(|r| !r.used_by.is_empty())).await;
    assert_eq!(listed.rows[0].used_by, ["Deployment/vision/trainer"]);
    match world.service.delete(&bob(), "vision", &row.name).await.unwrap_err() {
        ServiceError::InUse(users) => assert_eq!(users, ["Deployment/vision/trainer"]),
        other => panic!("{other:?}"),
    }
    deployments.delete("trainer", &Default::default()).await.unwrap();
    list_until(&world, &bob(), |p| p.rows.first().is_some_and(|r| r.used_by.is_empty())).await;
    world.service.delete(&bob(), "vision", &row.name).await.unwrap();
}

#[tokio::test]
async fn a_kubeflow_poddefault_is_a_user_where_kubeflow_is_installed() {
    use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
    let crd = serde_json::json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "poddefaults.kubeflow.org"},
        "spec": {"group": "kubeflow.org", "scope": "Namespaced",
            "names": {"kind": "PodDefault", "plural": "poddefaults", "singular": "poddefault", "listKind": "PodDefaultList"},
            "versions": [{"name": "v1alpha1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}
    });
    let world = world_with(&[crd]).await;
    let row = world.service.create(&bob(), &request("Notebook database", ScopeLevel::Project, Some("vision"))).await.unwrap();
    let resource = ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("kubeflow.org", "v1alpha1", "PodDefault"), "poddefaults");
    let pod_default: DynamicObject = serde_json::from_value(serde_json::json!({
        "apiVersion": "kubeflow.org/v1alpha1", "kind": "PodDefault",
        "metadata": {"name": "add-db", "namespace": "vision"},
        "spec": {"selector": {"matchLabels": {"add-db": "true"}}, "desc": "Database login",
            "env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": row.name, "key": "password"}}}]}
    }))
    .unwrap();
    Api::<DynamicObject>::namespaced_with(world.client.clone(), "vision", &resource).create(&PostParams::default(), &pod_default).await.unwrap();
    let listed = list_until(&world, &bob(), |p| p.rows.first().is_some_and(|r| !r.used_by.is_empty())).await;
    assert_eq!(listed.rows[0].used_by, ["PodDefault/vision/add-db"]);
    assert!(matches!(world.service.delete(&bob(), "vision", &row.name).await, Err(ServiceError::InUse(_))));
}

#[tokio::test]
async fn values_are_replaced_write_only() {
    let world = world().await;
    let row = world.service.create(&bob(), &request("Rotating", ScopeLevel::Project, Some("vision"))).await.unwrap();
    let rotated = SecretValues::Password { username: "svc-user".into(), password: "rotated-canary-41b7".into() };
    assert!(matches!(world.service.replace_values(&carol(), "vision", &row.name, &rotated, Rollout::Nothing).await, Err(ServiceError::Forbidden { .. })));
    let wrong_type = SecretValues::AccessKey { access_key_id: "a".into(), secret_access_key: "b".into() };
    match world.service.replace_values(&bob(), "vision", &row.name, &wrong_type, Rollout::Nothing).await.unwrap_err() {
        ServiceError::Invalid(problems) => assert_eq!(problems[0].field, "type"),
        other => panic!("{other:?}"),
    }
    let replaced = world.service.replace_values(&bob(), "vision", &row.name, &rotated, Rollout::Nothing).await.unwrap();
    assert!(!serde_json::to_string(&replaced).unwrap().contains("rotated-canary-41b7"));
    let secret = Api::<Secret>::namespaced(world.client.clone(), "vision").get(&row.name).await.unwrap();
    assert_eq!(secret.data.unwrap()["password"].0, b"rotated-canary-41b7");
    assert_eq!(secret.metadata.annotations.unwrap()["keyhold.dev/updated-by"], "bob");
}

#[tokio::test]
async fn an_existing_labelled_secret_backs_one_credential_and_outlives_it() {
    use keyhold::domain::credential::CredentialType;
    use keyhold::domain::new_credential::ExistingSecretCredential;
    let world = world().await;
    // An administrator prepares Secrets in the system namespace: one offered cluster-wide for
    // access keys, one without the labels.
    let secrets = Api::<Secret>::namespaced(world.client.clone(), "keyhold-system");
    for (name, labels) in [("shared-s3", vec![("keyhold.dev/resource", "access-key"), ("keyhold.dev/cluster-wide", "true")]), ("unlabelled", vec![])] {
        let secret = Secret {
            metadata: ObjectMeta { name: Some(name.into()), labels: Some(labels.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()), ..Default::default() },
            string_data: Some([("AWS_SECRET_ACCESS_KEY".to_string(), CANARY.to_string())].into()),
            ..Default::default()
        };
        secrets.create(&PostParams::default(), &secret).await.unwrap();
    }
    let cluster = Scope { level: ScopeLevel::Cluster, department: None, project: None, cluster: None };
    assert_eq!(world.service.existing_secrets(&alice(), &cluster, CredentialType::AccessKey).await.unwrap().names, ["shared-s3"]);
    // The Secrets Keyhold makes are labelled by type too, but belong to their credential.
    world.service.create(&bob(), &request("Postgres", ScopeLevel::Project, Some("vision"))).await.unwrap();
    let vision_scope = Scope { level: ScopeLevel::Project, department: None, project: Some("vision".into()), cluster: None };
    assert!(world.service.existing_secrets(&bob(), &vision_scope, CredentialType::Password).await.unwrap().names.is_empty());
    assert!(world.service.existing_secrets(&alice(), &cluster, CredentialType::Generic).await.unwrap().names.is_empty(), "typed");
    assert!(matches!(world.service.existing_secrets(&bob(), &cluster, CredentialType::AccessKey).await, Err(ServiceError::Forbidden { .. })));

    let request = |display_name: &str, secret_name: &str| ExistingSecretCredential {
        display_name: display_name.into(),
        description: String::new(),
        scope: cluster.clone(),
        credential_type: CredentialType::AccessKey,
        secret_name: secret_name.into(),
        expires_on: String::new(),
    };
    match world.service.create_from_existing(&alice(), &request("Unlabelled", "unlabelled")).await.unwrap_err() {
        ServiceError::Invalid(fields) => assert!(fields[0].field == "secretName" && fields[0].message.contains("keyhold.dev/cluster-wide=true"), "{fields:?}"),
        other => panic!("{other:?}"),
    }
    let row = world.service.create_from_existing(&alice(), &request("Shared S3", "shared-s3")).await.unwrap();
    assert_eq!((row.namespace.as_str(), row.created_by.as_str()), ("keyhold-system", "alice"));
    let listed = list_until(&world, &alice(), |p| p.rows.iter().any(|r| r.display_name == "Shared S3" && r.targets.len() == 3)).await;
    let shared = listed.rows.iter().find(|r| r.display_name == "Shared S3").unwrap();
    assert!(shared.targets.iter().all(|t| t.phase == keyhold::domain::credential::Phase::Ready), "{:?}", shared.targets);
    assert_eq!(shared.keys, ["AWS_SECRET_ACCESS_KEY"]);
    let copy = Api::<Secret>::namespaced(world.client.clone(), "vision").get("shared-s3").await.unwrap();
    assert_eq!(copy.data.unwrap()["AWS_SECRET_ACCESS_KEY"].0, CANARY.as_bytes());

    // One credential per existing secret.
    assert!(world.service.existing_secrets(&alice(), &cluster, CredentialType::AccessKey).await.unwrap().names.is_empty());
    match world.service.create_from_existing(&alice(), &request("Shared S3 again", "shared-s3")).await.unwrap_err() {
        ServiceError::Conflict(field) => assert_eq!(field.field, "secretName"),
        other => panic!("{other:?}"),
    }

    // Deleting the credential removes the copies and keeps the administrator's Secret.
    world.service.delete(&alice(), "keyhold-system", &row.name).await.unwrap();
    let vision = Api::<Secret>::namespaced(world.client.clone(), "vision");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while vision.get_opt("shared-s3").await.unwrap().is_some() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(vision.get_opt("shared-s3").await.unwrap().is_none(), "the copy is gone");
    assert!(secrets.get_opt("shared-s3").await.unwrap().is_some(), "the existing secret is never deleted");
}

/// Every operation of the service for a user of each role: allowed, or refused with Forbidden
/// (NotFound for `get`, no row for `list`, which do not reveal what the user may not see).
#[tokio::test]
async fn every_operation_for_every_role() {
    use keyhold::domain::credential::CredentialType;
    let world = world().await;
    let users = [("admin", alice()), ("editor", bob()), ("viewer", carol()), ("no role", dave())];
    let vision = Scope { level: ScopeLevel::Project, department: None, project: Some("vision".into()), cluster: None };
    let mut outcomes: Vec<(&str, Vec<bool>)> = Vec::new();
    let mut record = |operation: &'static str, allowed: bool| match outcomes.iter_mut().find(|(o, _)| *o == operation) {
        Some((_, row)) => row.push(allowed),
        None => outcomes.push((operation, vec![allowed])),
    };
    let refused = |result: Result<(), ServiceError>| match result {
        Ok(()) => true,
        Err(ServiceError::Forbidden { .. }) => false,
        Err(other) => panic!("refused for another reason: {other:?}"),
    };
    for (role, who) in &users {
        // A credential of vision, made by the admin, for this user to try everything on.
        let target = world.service.create(&alice(), &request(&format!("Target for {role}"), ScopeLevel::Project, Some("vision"))).await.unwrap();
        list_until(&world, &alice(), |p| p.rows.iter().any(|r| r.name == target.name)).await;
        let listed = world.service.list(who, &ListQuery { search: target.display_name.clone(), ..Default::default() }).await.unwrap();
        record("list", listed.page.total == 1);
        record("get", match world.service.get(who, "vision", &target.name).await {
            Ok(_) => true,
            Err(ServiceError::NotFound(_)) => false,
            Err(other) => panic!("{other:?}"),
        });
        record("create in the project", refused(world.service.create(who, &request(&format!("Project one by {role}"), ScopeLevel::Project, Some("vision"))).await.map(|_| ())));
        record("create cluster-wide", refused(world.service.create(who, &request(&format!("Cluster one by {role}"), ScopeLevel::Cluster, None)).await.map(|_| ())));
        record("existing secrets", refused(world.service.existing_secrets(who, &vision, CredentialType::Password).await.map(|_| ())));
        record("rename", refused(world.service.rename(who, "vision", &target.name, &rename(&format!("Renamed by {role}"), "")).await.map(|_| ())));
        let values = SecretValues::Password { username: "svc-user".into(), password: CANARY.into() };
        record("replace values", refused(world.service.replace_values(who, "vision", &target.name, &values, Rollout::Nothing).await.map(|_| ())));
        record("delete", refused(world.service.delete(who, "vision", &target.name).await));
    }
    let expected: Vec<(&str, Vec<bool>)> = vec![
        ("list", vec![true, true, true, false]),
        ("get", vec![true, true, true, false]),
        ("create in the project", vec![true, true, false, false]),
        ("create cluster-wide", vec![true, false, false, false]),
        ("existing secrets", vec![true, true, false, false]),
        ("rename", vec![true, true, false, false]),
        ("replace values", vec![true, true, false, false]),
        ("delete", vec![true, true, false, false]),
    ];
    assert_eq!(outcomes, expected, "columns: admin, editor, viewer, no role");
}

#[tokio::test]
async fn project_secrets_keep_values_in_and_say_when_a_key_went() {
    use keyhold::domain::project_secrets::SecretEntry;
    use keyhold::server::project_secrets::{ProjectSecretsError, ProjectSecretsService};
    let world = world().await;
    let secrets = ProjectSecretsService::new(world.client.clone(), world.service.access().clone(), world.service.projects().clone(), "keyhold-project-secrets".into());
    let entry = |key: &str| SecretEntry { key: key.into(), value: CANARY.into() };
    let added = secrets.add(&bob(), "vision", &entry("TOKEN")).await.unwrap();
    assert_eq!(added.keys, ["TOKEN"]);
    assert!(matches!(secrets.add(&bob(), "vision", &entry("TOKEN")).await, Err(ProjectSecretsError::Conflict(ref f)) if f.field == "key"));
    assert!(matches!(secrets.add(&carol(), "vision", &entry("MINE")).await, Err(ProjectSecretsError::Forbidden { .. })));
    assert!(matches!(secrets.keys(&dave(), "vision").await, Err(ProjectSecretsError::NotFound(_))));
    let seen = secrets.keys(&carol(), "vision").await.unwrap();
    assert_eq!((seen.keys.clone(), seen.may_change), (vec!["TOKEN".to_string()], false));

    // Replacing a key someone just deleted says so, and does not bring it back.
    secrets.delete(&bob(), "vision", "TOKEN").await.unwrap();
    match secrets.replace(&bob(), "vision", &entry("TOKEN")).await {
        Err(ProjectSecretsError::NotFound(message)) => assert!(message.contains("someone deleted it"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert!(secrets.keys(&bob(), "vision").await.unwrap().keys.is_empty());
    let secret = Api::<Secret>::namespaced(world.client.clone(), "vision").get("keyhold-project-secrets").await.unwrap();
    assert_eq!(secret.annotations()["keyhold.dev/updated-by"], "bob");
}
