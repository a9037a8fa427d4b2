//! The `Credential` custom resource (`keyhold.dev/v1`), from which its CRD is generated
//! (`keyhold crd`, `deploy/crd.yaml`). Spec and status follow DESIGN.md §1.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::domain::credential::{CredentialType, Phase, Scope, ScopeLevel};

/// What a credential is: shown in the console, and where its values live.
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "keyhold.dev",
    version = "v1",
    kind = "Credential",
    namespaced,
    shortname = "cred",
    shortname = "creds",
    status = "CredentialStatus",
    printcolumn = r#"{"name":"Display Name","type":"string","jsonPath":".spec.displayName"}"#,
    printcolumn = r#"{"name":"Type","type":"string","jsonPath":".spec.type"}"#,
    printcolumn = r#"{"name":"Scope","type":"string","jsonPath":".spec.scope.level"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct CredentialSpec {
    /// Unique per cluster, case-insensitively; a rename changes it and nothing else.
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub credential_type: CredentialType,
    pub scope: Scope,
    pub secret_ref: SecretRef,
    /// The registry server of a Docker registry credential; not secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// `YYYY-MM-DD`: when the values stop working, for the Expires column, its Events and metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<String>,
    /// Whose credential it is, for scope `Personal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal: Option<PersonalSpec>,
}

/// A personal credential's owner and the projects they picked. Written by the service from the
/// signed-in identity; the controller copies into a project only while a SubjectAccessReview for
/// this owner (with these groups) allows `create` on `personalcredentials.keyhold.dev` there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PersonalSpec {
    pub owner: String,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub projects: Vec<String>,
}

impl Credential {
    /// The owner and projects of a personal credential: scope Personal, kept in the system
    /// namespace. A Personal-scope Credential anywhere else is a shared one in the wrong place
    /// (the controller reports it) and belongs to nobody.
    pub fn personal(&self, system_namespace: &str) -> Option<&PersonalSpec> {
        self.spec.personal.as_ref().filter(|_| self.is_personal(system_namespace))
    }

    /// Whether it is a personal credential (whether or not its spec names an owner).
    pub fn is_personal(&self, system_namespace: &str) -> bool {
        self.spec.scope.level == ScopeLevel::Personal && self.metadata.namespace.as_deref() == Some(system_namespace)
    }
}

/// The Secret that holds the values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SecretRef {
    pub name: String,
    /// Keyhold created the Secret ("new secret") and deletes it with the credential.
    #[serde(default)]
    pub managed: bool,
}

/// What the controller found, written through the status subresource.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CredentialStatus {
    #[serde(default)]
    pub phase: Phase,
    /// The Secret's key names, so that listing keys never reads a value.
    #[serde(default)]
    pub keys: Vec<String>,
    #[serde(default)]
    pub targets: Vec<Target>,
    #[serde(default)]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The expiry warning last raised (`Soon <date>` or `Expired <date>`), so each is raised once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_notice: Option<String>,
    /// The last connection test's outcome: status, so only Keyhold (not a Credential's editors)
    /// writes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_test: Option<crate::domain::lifecycle::TestOutcome>,
}

/// The state of one place the credential must be usable in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Target {
    pub cluster: String,
    pub namespace: String,
    pub state: Phase,
    /// One word a person and a program can act on: NotCreated, ReplicationError, Clash,
    /// NotLabelled, Drifted.
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub message: String,
    /// The source Secret's resourceVersion this namespace's Secret holds.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
}

/// A Kubernetes-style condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub condition_type: String,
    pub status: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
}

/// Installs (or updates) the Credential CRD. Keyhold does this only on its embedded cluster; on a
/// real cluster an administrator applies `deploy/`.
pub async fn install_crd(client: kube::Client) -> Result<(), kube::Error> {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use kube::api::{Api, Patch, PatchParams};
    use kube::CustomResourceExt;
    let crds: Api<CustomResourceDefinition> = Api::all(client);
    let crd = Credential::crd();
    let name = crd.metadata.name.clone().unwrap_or_default();
    crds.patch(&name, &PatchParams::apply("keyhold").force(), &Patch::Apply(&crd)).await?;
    Ok(())
}

/// Creates the namespace Keyhold keeps wider-scoped credentials in, when it is missing (embedded
/// cluster only; on a real cluster `deploy/` creates it).
pub async fn ensure_namespace(client: kube::Client, name: &str) -> Result<(), kube::Error> {
    use k8s_openapi::api::core::v1::Namespace;
    use kube::api::{Api, ObjectMeta, PostParams};
    let namespaces: Api<Namespace> = Api::all(client);
    if namespaces.get_opt(name).await?.is_none() {
        let ns = Namespace { metadata: ObjectMeta { name: Some(name.into()), ..Default::default() }, ..Default::default() };
        namespaces.create(&PostParams::default(), &ns).await?;
    }
    Ok(())
}

/// The CRD manifest, as `keyhold crd` prints it and `deploy/crd.yaml` holds it.
pub fn crd_yaml() -> String {
    use kube::CustomResourceExt;
    let crd = Credential::crd();
    format!("# Generated by `keyhold crd` from src/server/credentials/resource.rs; a test keeps it current.\n{}", serde_saphyr::to_string(&crd).expect("a CRD serializes"))
}
