//! `keyhold cluster add|remove|list`: member clusters (issue 20). Adding and removing change a
//! Secret of the system namespace, so they go to Kubernetes with the person's own kubeconfig and
//! Kubernetes' RBAC decides, as `keyhold secret offer` does; listing asks the server, which
//! knows what its probes found.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, ObjectMeta, Patch, PatchParams};
use kube::config::{Kubeconfig, NamedAuthInfo, NamedCluster, NamedContext};

use crate::domain::base64;
use crate::domain::cluster::{CLUSTER_LABEL, KUBECONFIG_KEY, MemberCluster, check_cluster_name, secret_name};

use super::CliError;
use super::args::ClusterCommand;
use super::client::Api as Keyhold;
use super::output;

pub async fn run(command: ClusterCommand) -> Result<(), CliError> {
    match command {
        ClusterCommand::List(connection) => {
            let clusters: Vec<MemberCluster> = Keyhold::connect(&connection)?.get(&["clusters"]).await?;
            let rows: Vec<Vec<String>> = clusters
                .into_iter()
                .map(|c| {
                    let status = if c.reachable { "Reachable".to_string() } else { format!("Unreachable: {}", c.message) };
                    vec![c.name, c.server, status, c.since, c.version, c.projects.len().to_string()]
                })
                .collect();
            output::print(&output::table(&["NAME", "SERVER", "STATUS", "SINCE", "VERSION", "PROJECTS"], &rows));
            Ok(())
        }
        ClusterCommand::Add { name, kubeconfig, context } => {
            check_cluster_name(&name)?;
            if name == crate::server::credentials::service::Settings::default().cluster_name {
                return Err(CliError::Usage(format!("name: {name} is the name of the cluster Keyhold runs in")));
            }
            let text = serde_json::to_string(&one_context(&kubeconfig, context.as_deref())?).expect("a kubeconfig serializes");
            let secret = Secret {
                metadata: ObjectMeta {
                    name: Some(secret_name(&name)),
                    labels: Some(BTreeMap::from([(CLUSTER_LABEL.to_string(), name.clone())])),
                    ..Default::default()
                },
                data: Some(BTreeMap::from([(KUBECONFIG_KEY.to_string(), ByteString(text.into_bytes()))])),
                ..Default::default()
            };
            // Server-side apply: the kubeconfig never lands in a last-applied annotation.
            secrets().await?.patch(&secret_name(&name), &PatchParams::apply("keyhold-cli").force(), &Patch::Apply(&secret)).await?;
            say!("Added cluster {name}; Keyhold probes it within its probe interval");
            Ok(())
        }
        ClusterCommand::Remove { name } => {
            check_cluster_name(&name)?;
            secrets().await?.delete(&secret_name(&name), &DeleteParams::default()).await?;
            say!("Removed cluster {name}");
            Ok(())
        }
    }
}

async fn secrets() -> Result<Api<Secret>, CliError> {
    Ok(Api::namespaced(super::own_kubernetes().await?, &crate::server::credentials::service::Settings::default().system_namespace))
}

/// The member's kubeconfig cut to one context, with the files it names read in: Keyhold reads
/// it in another place, where those files are not. A login that runs a command (exec, an auth
/// provider) cannot run there and is refused.
fn one_context(path: &std::path::Path, context: Option<&str>) -> Result<Kubeconfig, CliError> {
    let unusable = |why: &str| CliError::Usage(format!("--kubeconfig: {why}"));
    let config = Kubeconfig::read_from(path).map_err(|_| unusable("cannot be read as a kubeconfig"))?;
    let wanted = context.map(str::to_string).or(config.current_context.clone()).ok_or_else(|| unusable("it has no current context; name one with --context"))?;
    let named = config.contexts.iter().find(|c| c.name == wanted).ok_or_else(|| unusable("it has no such context"))?;
    let chosen = named.context.clone().ok_or_else(|| unusable("the context is empty"))?;
    let mut cluster: NamedCluster = config.clusters.iter().find(|c| c.name == chosen.cluster).cloned().ok_or_else(|| unusable("the context's cluster is missing"))?;
    let user_name = chosen.user.clone().unwrap_or_default();
    let mut user: NamedAuthInfo = config.auth_infos.iter().find(|u| u.name == user_name).cloned().ok_or_else(|| unusable("the context's user is missing"))?;
    let read = |file: &str| std::fs::read(file).map_err(|_| unusable("a file it names cannot be read"));
    if let Some(details) = cluster.cluster.as_mut()
        && let Some(file) = details.certificate_authority.take()
    {
        details.certificate_authority_data = Some(base64::encode(&read(&file)?));
    }
    if let Some(auth) = user.auth_info.as_mut() {
        if auth.exec.is_some() || auth.auth_provider.is_some() {
            return Err(unusable("its user logs in by running a command; give Keyhold a token or a client certificate"));
        }
        if let Some(file) = auth.client_certificate.take() {
            auth.client_certificate_data = Some(base64::encode(&read(&file)?));
        }
        if let Some(file) = auth.client_key.take() {
            auth.client_key_data = Some(base64::encode(&read(&file)?).into());
        }
        if let Some(file) = auth.token_file.take() {
            auth.token = Some(String::from_utf8_lossy(&read(&file)?).trim().to_string().into());
        }
    }
    Ok(Kubeconfig {
        clusters: vec![cluster],
        auth_infos: vec![user],
        contexts: vec![NamedContext { name: wanted.clone(), context: Some(chosen), ..Default::default() }],
        current_context: Some(wanted),
        ..Default::default()
    })
}
