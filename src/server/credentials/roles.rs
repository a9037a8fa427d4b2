//! The ClusterRoles Keyhold ships (DESIGN.md §2). Administrators bind them with ordinary
//! RoleBindings (per project) and ClusterRoleBindings (everywhere).

use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule};
use kube::api::{Api, ObjectMeta, Patch, PatchParams};

pub const VIEWER: &str = "keyhold-viewer";
pub const EDITOR: &str = "keyhold-editor";
pub const ADMIN: &str = "keyhold-admin";

fn rule(resources: &[&str], verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: Some(vec!["keyhold.dev".into()]),
        resources: Some(resources.iter().map(|r| r.to_string()).collect()),
        verbs: verbs.iter().map(|v| v.to_string()).collect(),
        ..Default::default()
    }
}

/// viewer: read credentials and list project-secret keys; editor: also change them; admin: the
/// editor's rights, meant to be bound cluster-wide (or per department) for the wider scopes.
pub fn cluster_roles() -> Vec<ClusterRole> {
    let read = ["get", "list", "watch"];
    let write = ["get", "list", "watch", "create", "update", "patch", "delete"];
    let role = |name: &str, rules: Vec<PolicyRule>| ClusterRole {
        metadata: ObjectMeta { name: Some(name.into()), labels: Some([("app.kubernetes.io/part-of".into(), "keyhold".into())].into()), ..Default::default() },
        rules: Some(rules),
        ..Default::default()
    };
    vec![
        role(VIEWER, vec![rule(&["credentials"], &read), rule(&["projectsecrets"], &["list"])]),
        role(EDITOR, vec![rule(&["credentials"], &write), rule(&["projectsecrets"], &["list", "update"])]),
        role(ADMIN, vec![rule(&["credentials", "departments"], &write), rule(&["projectsecrets"], &["list", "update"])]),
    ]
}

/// Applies the shipped ClusterRoles (server-side apply, so a restart after an upgrade updates them).
pub async fn install(client: kube::Client) -> Result<(), kube::Error> {
    let api: Api<ClusterRole> = Api::all(client);
    let params = PatchParams::apply("keyhold").force();
    for role in cluster_roles() {
        let name = role.metadata.name.clone().unwrap_or_default();
        api.patch(&name, &params, &Patch::Apply(&role)).await?;
    }
    Ok(())
}
