//! `keyhold secret offer|withdraw`: an administrator labels an existing Secret so the wizards
//! offer it (DESIGN.md §1, Labels). This changes a Secret, not a credential, so it goes to
//! Kubernetes with the person's own kubeconfig (KUBECONFIG, ~/.kube/config or in-cluster), as
//! kubectl would, and Kubernetes' RBAC decides.

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

use crate::domain::credential::{CLUSTER_WIDE_LABEL, RESOURCE_LABEL};
use crate::domain::project::DEPARTMENT_LABEL;

use super::CliError;
use super::args::SecretCommand;
use super::credentials::credential_type;

pub async fn run(command: SecretCommand) -> Result<(), CliError> {
    let (name, namespace, labels) = match &command {
        SecretCommand::Offer { name, namespace, credential_type: t, cluster_wide, department } => {
            let resource = credential_type(t)?.resource_label();
            let scope_label = match (cluster_wide, department) {
                (true, _) => json!({ CLUSTER_WIDE_LABEL: "true", DEPARTMENT_LABEL: null }),
                (false, Some(department)) => json!({ CLUSTER_WIDE_LABEL: null, DEPARTMENT_LABEL: department }),
                (false, None) => json!({ CLUSTER_WIDE_LABEL: null, DEPARTMENT_LABEL: null }),
            };
            let mut labels = scope_label;
            labels[RESOURCE_LABEL] = json!(resource);
            (name, namespace, labels)
        }
        SecretCommand::Withdraw { name, namespace } => (name, namespace, json!({ RESOURCE_LABEL: null, CLUSTER_WIDE_LABEL: null, DEPARTMENT_LABEL: null })),
    };
    let secrets: Api<Secret> = Api::namespaced(super::own_kubernetes().await?, namespace);
    let patch = json!({ "metadata": { "labels": labels } });
    secrets.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
    let verb = match labels[RESOURCE_LABEL] {
        Value::Null => "Withdrew",
        _ => "Offered",
    };
    say!("{verb} Secret {namespace}/{name}");
    let wide = matches!(command, SecretCommand::Offer { cluster_wide: true, .. } | SecretCommand::Offer { department: Some(_), .. });
    let system = crate::server::credentials::service::Settings::default().system_namespace;
    if wide && *namespace != system {
        eprintln!("note: --cluster-wide and --department offer Secrets of {system} only; one in {namespace} is offered to that project");
    }
    Ok(())
}
