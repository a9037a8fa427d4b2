//! The demo organisation a new embedded cluster starts with, so a newcomer sees a working product
//! (DESIGN.md §4): departments and projects, credentials of every type and scope, and workloads
//! that use some of them. Written through the Kubernetes API and the credentials service, like any
//! other client would. The demo values are placeholders, not secrets.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};
use serde_json::json;

use crate::domain::credential::{Scope, ScopeLevel};
use crate::domain::identity::Identity;
use crate::domain::new_credential::{NewCredential, SecretValues};
use crate::domain::project::{DEPARTMENT_LABEL, PROJECT_LABEL};
use crate::server::credentials::service::{CredentialsService, ServiceError};

/// (department, project) pairs of the demo organisation.
pub const DEMO_PROJECTS: &[(&str, &str)] = &[("research", "vision"), ("research", "nlp"), ("production", "serving"), ("production", "etl")];

fn post() -> PostParams {
    PostParams { field_manager: Some("keyhold-demo".into()), ..Default::default() }
}

/// The departments and projects: project namespaces.
pub async fn seed_organisation(client: Client) -> Result<(), kube::Error> {
    let namespaces: Api<Namespace> = Api::all(client);
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
    tracing::info!(projects = DEMO_PROJECTS.len(), "created the demo organisation");
    Ok(())
}

fn scope(level: ScopeLevel, department: Option<&str>, project: Option<&str>) -> Scope {
    Scope { level, department: department.map(Into::into), project: project.map(Into::into) }
}

/// Credentials of every type and scope, and two workloads that use some of them.
pub async fn seed_credentials(client: Client, credentials: &CredentialsService) -> Result<(), ServiceError> {
    let admin = Identity::new("keyhold-demo", &["system:masters"]);
    let placeholder = || "demo-placeholder-not-a-secret".to_string();
    let requests = [
        NewCredential {
            display_name: "Docker Hub (vision)".into(),
            description: "Pull training images".into(),
            scope: scope(ScopeLevel::Project, None, Some("vision")),
            values: SecretValues::DockerRegistry { registry: "https://index.docker.io/v1/".into(), username: "vision-ci".into(), password: placeholder() },
        },
        NewCredential {
            display_name: "Feature store database".into(),
            description: "Read-only Postgres user".into(),
            scope: scope(ScopeLevel::Project, None, Some("vision")),
            values: SecretValues::Password { username: "features_ro".into(), password: placeholder() },
        },
        NewCredential {
            display_name: "S3 datasets".into(),
            description: "Raw corpora for NLP training".into(),
            scope: scope(ScopeLevel::Project, None, Some("nlp")),
            values: SecretValues::AccessKey { access_key_id: "AKIADEMO0000EXAMPLE".into(), secret_access_key: placeholder() },
        },
        NewCredential {
            display_name: "Hugging Face (research)".into(),
            description: "Model downloads for every research project".into(),
            scope: scope(ScopeLevel::Department, Some("research"), None),
            values: SecretValues::Generic { entries: vec![("HF_TOKEN".into(), placeholder())] },
        },
        NewCredential {
            display_name: "Weights & Biases".into(),
            description: "Experiment tracking, everywhere".into(),
            scope: scope(ScopeLevel::Cluster, None, None),
            values: SecretValues::Generic { entries: vec![("WANDB_API_KEY".into(), placeholder())] },
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
