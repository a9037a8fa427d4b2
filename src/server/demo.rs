//! The demo organisation a new embedded cluster starts with, so a newcomer sees a working product
//! (DESIGN.md §4). Written through the Kubernetes API like any other client would.

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};

use crate::domain::project::{DEPARTMENT_LABEL, PROJECT_LABEL};

/// (department, project) pairs of the demo organisation.
pub const DEMO_PROJECTS: &[(&str, &str)] = &[("research", "vision"), ("research", "nlp"), ("production", "serving"), ("production", "etl")];

pub async fn seed(client: Client) -> Result<(), kube::Error> {
    let namespaces: Api<Namespace> = Api::all(client);
    for (department, project) in DEMO_PROJECTS {
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(project.to_string()),
                labels: Some(
                    [(PROJECT_LABEL.to_string(), project.to_string()), (DEPARTMENT_LABEL.to_string(), department.to_string())].into(),
                ),
                ..Default::default()
            },
            ..Default::default()
        };
        namespaces.create(&PostParams { field_manager: Some("keyhold-demo".into()), ..Default::default() }, &ns).await?;
    }
    tracing::info!(projects = DEMO_PROJECTS.len(), "created the demo organisation");
    Ok(())
}
