//! The demo organisation a new embedded cluster starts with, so a newcomer sees a working product
//! (DESIGN.md §4): departments and projects, users of each role, credentials of every type and
//! scope, and workloads that use some of them. Written through the Kubernetes API and the credentials service, like any
//! other client would. The demo values are placeholders, not secrets.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, RoleBinding, RoleRef, Subject};
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};
use serde_json::json;

use crate::domain::credential::{Scope, ScopeLevel};
use crate::domain::identity::Identity;
use crate::domain::new_credential::{NewCredential, SecretValues};
use crate::domain::project::{DEPARTMENT_LABEL, PROJECT_LABEL};
use crate::server::auth::accounts::Accounts;
use crate::server::credentials::roles::{ADMIN, EDITOR, VIEWER};
use crate::server::credentials::service::{CredentialsService, ServiceError};

/// (department, project) pairs of the demo organisation.
pub const DEMO_PROJECTS: &[(&str, &str)] = &[("research", "vision"), ("research", "nlp"), ("production", "serving"), ("production", "etl")];

fn post() -> PostParams {
    PostParams { field_manager: Some("keyhold-demo".into()), ..Default::default() }
}

/// The demo users' password; README's quick start names it.
pub const DEMO_PASSWORD: &str = "keyhold-demo";

/// (user, group, role, namespaces the group's role is bound in; none for everywhere)
const DEMO_USERS: &[(&str, &str, &str, &[&str])] = &[
    ("alice", "platform-admins", ADMIN, &[]),
    ("bob", "research", EDITOR, &["vision", "nlp"]),
    ("carol", "analysts", VIEWER, &["vision"]),
];

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Kube(#[from] kube::Error),
    #[error(transparent)]
    Accounts(#[from] crate::server::auth::accounts::AccountError),
}

/// The departments and projects (project namespaces), and the demo users with their roles, bound
/// to their groups as an administrator would.
pub async fn seed_organisation(client: Client, system_namespace: &str) -> Result<(), DemoError> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    for (department, project) in DEMO_PROJECTS {
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(project.to_string()),
                labels: Some([(PROJECT_LABEL.to_string(), project.to_string()), (DEPARTMENT_LABEL.to_string(), department.to_string())].into()),
                ..Default::default()
            },
            ..Default::default()
        };
        namespaces.create(&post(), &ns).await?;
    }
    let accounts = Accounts::new(client.clone(), system_namespace);
    for (user, group, role, bound_in) in DEMO_USERS {
        accounts.add(user, &[group.to_string()], DEMO_PASSWORD).await?;
        let subjects = Some(vec![Subject { kind: "Group".into(), name: group.to_string(), api_group: Some("rbac.authorization.k8s.io".into()), namespace: None }]);
        let role_ref = RoleRef { api_group: "rbac.authorization.k8s.io".into(), kind: "ClusterRole".into(), name: role.to_string() };
        let name = format!("{group}-{role}");
        if bound_in.is_empty() {
            let binding = ClusterRoleBinding { metadata: ObjectMeta { name: Some(name.clone()), ..Default::default() }, role_ref: role_ref.clone(), subjects: subjects.clone() };
            Api::<ClusterRoleBinding>::all(client.clone()).create(&post(), &binding).await?;
        }
        for namespace in *bound_in {
            let metadata = ObjectMeta { name: Some(name.clone()), namespace: Some(namespace.to_string()), ..Default::default() };
            let binding = RoleBinding { metadata, role_ref: role_ref.clone(), subjects: subjects.clone() };
            Api::<RoleBinding>::namespaced(client.clone(), namespace).create(&post(), &binding).await?;
        }
    }
    tracing::info!(projects = DEMO_PROJECTS.len(), users = DEMO_USERS.len(), "created the demo organisation");
    Ok(())
}

fn scope(level: ScopeLevel, department: Option<&str>, project: Option<&str>) -> Scope {
    Scope { level, department: department.map(Into::into), project: project.map(Into::into), cluster: None }
}

/// Credentials of every type and scope, and two workloads that use some of them.
pub async fn seed_credentials(client: Client, credentials: &CredentialsService) -> Result<(), ServiceError> {
    let admin = Identity::new("keyhold-demo", &["system:masters"]);
    let placeholder = || "demo-placeholder-not-a-secret".to_string();
    // The Hugging Face token runs out in ten days: the table's Expires column has something to say.
    let in_ten_days = jiff::Zoned::now().with_time_zone(jiff::tz::TimeZone::UTC).date().checked_add(jiff::Span::new().days(10)).map(|d| d.to_string()).unwrap_or_default();
    let requests = [
        NewCredential {
            display_name: "Docker Hub (vision)".into(),
            description: "Pull training images".into(),
            scope: scope(ScopeLevel::Project, None, Some("vision")),
            values: SecretValues::DockerRegistry { registry: "https://index.docker.io/v1/".into(), username: "vision-ci".into(), password: placeholder() },
            expires_on: String::new(),
        },
        NewCredential {
            display_name: "Feature store database".into(),
            description: "Read-only Postgres user".into(),
            scope: scope(ScopeLevel::Project, None, Some("vision")),
            values: SecretValues::Password { username: "features_ro".into(), password: placeholder() },
            expires_on: String::new(),
        },
        NewCredential {
            display_name: "S3 datasets".into(),
            description: "Raw corpora for NLP training".into(),
            scope: scope(ScopeLevel::Project, None, Some("nlp")),
            values: SecretValues::AccessKey { access_key_id: "AKIADEMO0000EXAMPLE".into(), secret_access_key: placeholder() },
            expires_on: String::new(),
        },
        NewCredential {
            display_name: "Hugging Face (research)".into(),
            description: "Model downloads for every research project".into(),
            scope: scope(ScopeLevel::Department, Some("research"), None),
            values: SecretValues::Generic { entries: vec![("HF_TOKEN".into(), placeholder())] },
            expires_on: in_ten_days,
        },
        NewCredential {
            display_name: "Weights & Biases".into(),
            description: "Experiment tracking, everywhere".into(),
            scope: scope(ScopeLevel::Cluster, None, None),
            values: SecretValues::Generic { entries: vec![("WANDB_API_KEY".into(), placeholder())] },
            expires_on: String::new(),
        },
    ];
    let mut names = Vec::new();
    for request in &requests {
        names.push(credentials.create(&admin, request).await?.name);
    }
    let (docker, database, s3) = (&names[0], &names[1], &names[2]);
    let trainer: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "trainer", "namespace": "vision"},
        "spec": {"selector": {"matchLabels": {"app": "trainer"}}, "template": {
            "metadata": {"labels": {"app": "trainer"}},
            "spec": {
                "imagePullSecrets": [{"name": docker}],
                "containers": [{"name": "train", "image": "registry.example/vision/trainer:1.4",
                    "env": [{"name": "FEATURES_PASSWORD", "valueFrom": {"secretKeyRef": {"name": database, "key": "password"}}}]}]
            }
        }}
    }))
    .expect("a valid Deployment");
    Api::<Deployment>::namespaced(client.clone(), "vision").create(&post(), &trainer).await?;
    let tokenize: Job = serde_json::from_value(json!({
        "metadata": {"name": "tokenize-corpus", "namespace": "nlp"},
        "spec": {"template": {"spec": {"restartPolicy": "Never",
            "containers": [{"name": "tokenize", "image": "registry.example/nlp/tokenize:2.0", "envFrom": [{"secretRef": {"name": s3}}]}]}}}
    }))
    .expect("a valid Job");
    Api::<Job>::namespaced(client, "nlp").create(&post(), &tokenize).await?;
    tracing::info!(credentials = names.len(), "created the demo credentials and workloads");
    Ok(())
}
