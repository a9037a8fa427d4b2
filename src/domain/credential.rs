//! The credential model (DESIGN.md §1): types, scopes, phases, and the rules a credential's fields
//! follow. Pure and shared: the browser checks a form with the same rules the server enforces.

use serde::{Deserialize, Serialize};

/// The kind of secret a credential holds; decides the Secret's `type` and keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub enum CredentialType {
    DockerRegistry,
    AccessKey,
    Password,
    Generic,
    #[serde(rename = "TLS")]
    Tls,
    /// An API key for NVIDIA NGC, usable as an environment variable and to pull from `nvcr.io`.
    NgcApiKey,
}

impl CredentialType {
    pub const ALL: [CredentialType; 6] = [
        CredentialType::DockerRegistry,
        CredentialType::AccessKey,
        CredentialType::Password,
        CredentialType::Generic,
        CredentialType::Tls,
        CredentialType::NgcApiKey,
    ];

    /// How the console names the type.
    pub fn label(self) -> &'static str {
        match self {
            CredentialType::DockerRegistry => "Docker registry",
            CredentialType::AccessKey => "Access key",
            CredentialType::Password => "Username & password",
            CredentialType::Generic => "Generic secret",
            CredentialType::Tls => "TLS",
            CredentialType::NgcApiKey => "NGC API key",
        }
    }

    /// The Kubernetes Secret `type` of this credential type's secrets.
    pub fn secret_type(self) -> &'static str {
        match self {
            // An NGC key's Secret is also an image pull secret for nvcr.io.
            CredentialType::DockerRegistry | CredentialType::NgcApiKey => "kubernetes.io/dockerconfigjson",
            CredentialType::AccessKey | CredentialType::Generic => "Opaque",
            CredentialType::Password => "kubernetes.io/basic-auth",
            CredentialType::Tls => "kubernetes.io/tls",
        }
    }

    /// The type whose `resource_label` this is (also the wizard's address for the type).
    pub fn from_resource_label(label: &str) -> Option<CredentialType> {
        CredentialType::ALL.into_iter().find(|t| t.resource_label() == label)
    }

    /// The value of the `keyhold.dev/resource` label that offers a Secret as an existing secret of
    /// this type.
    /// Whether a person may keep a credential of this type for themselves (Run:ai's user
    /// credentials: registry logins, generic secrets, NGC API keys).
    pub fn personal(self) -> bool {
        matches!(self, CredentialType::DockerRegistry | CredentialType::Generic | CredentialType::NgcApiKey)
    }

    /// The type a resource label names (`docker-registry`), as a command line or a query string
    /// gives it; the refusal lists the labels, never the text given.
    pub fn parse_label(label: &str) -> Result<CredentialType, FieldError> {
        Self::from_resource_label(label).ok_or_else(|| {
            let labels: Vec<&str> = Self::ALL.iter().map(|t| t.resource_label()).collect();
            FieldError::new("type", format!("Name a type: {}", labels.join(", ")))
        })
    }

    pub fn resource_label(self) -> &'static str {
        match self {
            CredentialType::DockerRegistry => "docker-registry",
            CredentialType::AccessKey => "access-key",
            CredentialType::Password => "password",
            CredentialType::Generic => "generic",
            CredentialType::Tls => "tls",
            CredentialType::NgcApiKey => "ngc-api-key",
        }
    }
}

/// How widely a credential is usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub enum ScopeLevel {
    Project,
    Department,
    Cluster,
    Account,
    /// One person's own credential, kept in the system namespace and copied only into the
    /// projects they pick (see `NewPersonalCredential`).
    Personal,
}

/// Where a credential is usable. A Project-scoped credential lives in its project's namespace; the
/// wider scopes live in the system namespace and name their department where they have one. A
/// scope in a member cluster names that cluster; its credential lives in the system namespace of
/// the cluster Keyhold runs in, which copies it into the member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Scope {
    pub level: ScopeLevel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// The member cluster its project, department or Cluster scope is in; none for the cluster
    /// Keyhold runs in (and for Account scope, which reaches every cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
}

impl Scope {
    /// Whether credentials of this scope are copied into member clusters.
    pub fn reaches_members(&self) -> bool {
        self.level == ScopeLevel::Account || self.cluster.is_some()
    }

    /// The namespace a credential of this scope lives in: its project's for Project scope, the
    /// system namespace (of the home cluster) for the wider ones and for every scope in a member;
    /// what is wrong with a scope that names no project or department.
    pub fn home(&self, system_namespace: &str) -> Result<String, FieldError> {
        let named = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
        if let Some(cluster) = &self.cluster {
            if matches!(self.level, ScopeLevel::Account | ScopeLevel::Personal) || super::cluster::check_cluster_name(cluster).is_err() {
                return Err(FieldError::new("scope", "Only a project, a department or a whole cluster can name a member cluster"));
            }
            if self.level == ScopeLevel::Project && !named(&self.project) {
                return Err(FieldError::new("scope", "Pick a project"));
            }
            if self.level == ScopeLevel::Department && !named(&self.department) {
                return Err(FieldError::new("scope", "Pick a department"));
            }
            return Ok(system_namespace.to_string());
        }
        match self.level {
            ScopeLevel::Project if named(&self.project) => Ok(self.project.clone().unwrap_or_default()),
            ScopeLevel::Project => Err(FieldError::new("scope", "Pick a project")),
            ScopeLevel::Department if named(&self.department) => Ok(system_namespace.to_string()),
            ScopeLevel::Department => Err(FieldError::new("scope", "Pick a department")),
            ScopeLevel::Cluster | ScopeLevel::Account | ScopeLevel::Personal => Ok(system_namespace.to_string()),
        }
    }
}

/// A scope as a command line or a query string names it: `account`, `cluster`, `department/NAME`
/// or `project/NAME`, the last three after `CLUSTER:` for a member cluster (`east:project/train`).
impl std::str::FromStr for Scope {
    type Err = FieldError;

    fn from_str(text: &str) -> Result<Scope, FieldError> {
        if let Some((cluster, rest)) = text.split_once(':') {
            let named = if rest.contains(':') { Err(FieldError::new("scope", "Name one cluster")) } else { rest.parse::<Scope>() };
            let scope = Scope { cluster: Some(cluster.to_string()), ..named? };
            return match scope.home("") {
                Ok(_) => Ok(scope),
                Err(_) => Err(FieldError::new("scope", "Name a member cluster's scope as CLUSTER:cluster, CLUSTER:department/NAME or CLUSTER:project/NAME")),
            };
        }
        let named = |level, department: Option<&str>, project: Option<&str>| Scope { level, department: department.map(str::to_string), project: project.map(str::to_string), cluster: None };
        match text.split_once('/') {
            None if text == "cluster" => Ok(named(ScopeLevel::Cluster, None, None)),
            None if text == "account" => Ok(named(ScopeLevel::Account, None, None)),
            Some(("department", name)) if is_label_value(name) && !name.is_empty() => Ok(named(ScopeLevel::Department, Some(name), None)),
            Some(("project", name)) if is_object_name(name) => Ok(named(ScopeLevel::Project, None, Some(name))),
            _ => Err(FieldError::new("scope", "Name a scope as account, cluster, department/NAME or project/NAME (after CLUSTER: for a member cluster)")),
        }
    }
}

/// The label that offers a Secret as an existing secret of one type (see `CredentialType::resource_label`).
pub const RESOURCE_LABEL: &str = "keyhold.dev/resource";
/// With `"true"`, offers a Secret of the system namespace to Cluster-scope credentials.
pub const CLUSTER_WIDE_LABEL: &str = "keyhold.dev/cluster-wide";
/// With `"true"`, offers a Secret of the system namespace to Account-scope credentials: a label of
/// its own, since those copy it into every member cluster too.
pub const ACCOUNT_WIDE_LABEL: &str = "keyhold.dev/account-wide";

/// Whether a Secret with these labels is offered as an existing secret for a credential of this
/// type and scope (DESIGN.md §1, Labels): typed by `keyhold.dev/resource`; in a project namespace
/// for that project, in the system namespace only with `keyhold.dev/cluster-wide: "true"` (Cluster
/// scope), `keyhold.dev/account-wide: "true"` (Account scope and every scope in a member cluster:
/// its values leave this cluster) or `keyhold.dev/department: <name>` (that department).
pub fn offers(labels: &std::collections::BTreeMap<String, String>, in_system_namespace: bool, credential_type: CredentialType, scope: &Scope) -> bool {
    let typed = labels.get(RESOURCE_LABEL).map(String::as_str) == Some(credential_type.resource_label());
    let account_wide = in_system_namespace && labels.get(ACCOUNT_WIDE_LABEL).map(String::as_str) == Some("true");
    if scope.cluster.is_some() {
        return typed && account_wide && scope.level != ScopeLevel::Personal;
    }
    let scoped = match scope.level {
        ScopeLevel::Project => !in_system_namespace,
        ScopeLevel::Department => in_system_namespace && labels.get(super::project::DEPARTMENT_LABEL) == scope.department.as_ref(),
        ScopeLevel::Cluster => in_system_namespace && labels.get(CLUSTER_WIDE_LABEL).map(String::as_str) == Some("true"),
        ScopeLevel::Account => account_wide,
        // A personal credential always has a Secret of its own.
        ScopeLevel::Personal => false,
    };
    typed && scoped
}

/// What an administrator puts on a Secret to offer it for this type and scope, for the wizard to
/// say when there is none.
pub fn labels_that_offer(credential_type: CredentialType, scope: &Scope) -> Vec<(String, String)> {
    let mut labels = vec![(RESOURCE_LABEL.to_string(), credential_type.resource_label().to_string())];
    if scope.cluster.is_some() {
        labels.push((ACCOUNT_WIDE_LABEL.to_string(), "true".to_string()));
        return labels;
    }
    match scope.level {
        ScopeLevel::Project | ScopeLevel::Personal => {}
        ScopeLevel::Department => labels.push((super::project::DEPARTMENT_LABEL.to_string(), scope.department.clone().unwrap_or_default())),
        ScopeLevel::Cluster => labels.push((CLUSTER_WIDE_LABEL.to_string(), "true".to_string())),
        ScopeLevel::Account => labels.push((ACCOUNT_WIDE_LABEL.to_string(), "true".to_string())),
    }
    labels
}

/// The lifecycle of a credential, as `status.phase` records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema, clap::ValueEnum))]
pub enum Phase {
    Creating,
    Ready,
    Issues,
    Deleting,
    #[default]
    Unknown,
}

impl Phase {
    /// The words the Credentials table shows (the Run:ai wording).
    pub fn label(self) -> &'static str {
        match self {
            Phase::Creating => "Creating…",
            Phase::Ready => "No issues found",
            Phase::Issues => "Issues found",
            Phase::Deleting => "Deleting…",
            Phase::Unknown => "No status",
        }
    }
}

/// A rule broken by one input field; `field` names the form field or API field at fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError { field: field.into(), message: message.into() }
    }
}

/// The longest description a credential may have.
pub const MAX_DESCRIPTION: usize = 250;
/// The longest display name a credential may have.
pub const MAX_DISPLAY_NAME: usize = 63;
/// Kubernetes' limit on the data of one Secret.
pub const MAX_SECRET_BYTES: usize = 1024 * 1024;

/// A display name: 1 to 63 characters, not only spaces, no control characters. Uniqueness per
/// cluster is the service's to check.
pub fn check_display_name(name: &str) -> Result<(), FieldError> {
    let field = "displayName";
    if name.trim().is_empty() {
        return Err(FieldError::new(field, "Enter a name"));
    }
    if name.chars().count() > MAX_DISPLAY_NAME {
        return Err(FieldError::new(field, format!("Use at most {MAX_DISPLAY_NAME} characters")));
    }
    if name.chars().any(char::is_control) {
        return Err(FieldError::new(field, "Control characters are not allowed"));
    }
    Ok(())
}

pub fn check_description(description: &str) -> Result<(), FieldError> {
    if description.chars().count() > MAX_DESCRIPTION {
        return Err(FieldError::new("description", format!("Use at most {MAX_DESCRIPTION} characters")));
    }
    // Shown in terminals and CSV files as well as pages: an escape sequence could rewrite them.
    if description.chars().any(char::is_control) {
        return Err(FieldError::new("description", "Control characters are not allowed"));
    }
    Ok(())
}

/// A Secret data key: Kubernetes' config-key rule.
pub fn check_key(field: &str, key: &str) -> Result<(), FieldError> {
    if key.is_empty() {
        return Err(FieldError::new(field, "Enter a key"));
    }
    if key.len() > 253 {
        return Err(FieldError::new(field, "Use at most 253 characters"));
    }
    if !key.chars().all(|c| c.is_ascii_alphanumeric() || "-._".contains(c)) {
        return Err(FieldError::new(field, "Use only letters, digits, '-', '_' and '.'"));
    }
    if key == "." || key == ".." || key.starts_with("..") {
        return Err(FieldError::new(field, "A key cannot be '.' or start with '..'"));
    }
    Ok(())
}

/// A Kubernetes object name (DNS-1123 subdomain), as Secret and Credential names must be; also
/// the rule for label-key prefixes.
pub fn is_object_name(name: &str) -> bool {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    !name.is_empty() && name.len() <= 253 && name.split('.').all(label_ok)
}

/// Whether `value` may be a Kubernetes label value: at most 63 characters of letters, digits,
/// `-`, `_` and `.`, beginning and ending with a letter or digit (or empty).
pub fn is_label_value(value: &str) -> bool {
    let edge = |c: Option<char>| c.is_none_or(|c| c.is_ascii_alphanumeric());
    value.len() <= 63
        && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && edge(value.chars().next())
        && edge(value.chars().last())
}

/// Derives a Kubernetes object name from a display name: lower case, runs of other characters
/// turned into single dashes, trimmed to 50 characters (room for a suffix). Empty when nothing
/// usable is left.
pub fn object_name_from(display_name: &str) -> String {
    let mut name = String::new();
    for c in display_name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            name.push(c);
        } else if !name.ends_with('-') && !name.is_empty() {
            name.push('-');
        }
    }
    let name: String = name.chars().take(50).collect();
    name.trim_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_named_the_way_a_command_line_writes_them() {
        let project: Scope = "project/vision".parse().unwrap();
        assert_eq!((project.level, project.project.as_deref()), (ScopeLevel::Project, Some("vision")));
        let department: Scope = "department/research".parse().unwrap();
        assert_eq!((department.level, department.department.as_deref()), (ScopeLevel::Department, Some("research")));
        assert_eq!("cluster".parse::<Scope>().unwrap().level, ScopeLevel::Cluster);
        assert_eq!("account".parse::<Scope>().unwrap().level, ScopeLevel::Account);
        let in_east = "east:project/train".parse::<Scope>().unwrap();
        assert_eq!((in_east.level, in_east.cluster.as_deref(), in_east.home("keyhold-system").unwrap().as_str()), (ScopeLevel::Project, Some("east"), "keyhold-system"));
        assert_eq!("east:cluster".parse::<Scope>().unwrap().cluster.as_deref(), Some("east"));
        for wrong in ["east:account", "East:cluster", "east:east:cluster", ":cluster"] {
            assert_eq!(wrong.parse::<Scope>().unwrap_err().field, "scope", "{wrong}");
        }
        for wrong in ["", "accounts", "project/", "project/Vision", "department/a b", "cluster/x", "personal"] {
            assert_eq!(wrong.parse::<Scope>().unwrap_err().field, "scope", "{wrong}");
        }
    }

    #[test]
    fn display_names_are_checked() {
        assert!(check_display_name("Docker Hub (research)").is_ok());
        assert_eq!(check_display_name("  ").unwrap_err().field, "displayName");
        assert!(check_display_name(&"x".repeat(64)).is_err());
        assert!(check_description(&"x".repeat(250)).is_ok());
        assert!(check_description(&"x".repeat(251)).is_err());
        assert_eq!(check_description("a\u{1b}[2J").unwrap_err().field, "description");
    }

    #[test]
    fn keys_follow_kubernetes_rules() {
        for good in ["AWS_ACCESS_KEY_ID", ".dockerconfigjson", "tls.crt", "a-b_c"] {
            assert!(check_key("key", good).is_ok(), "{good}");
        }
        for bad in ["", "a b", "..x", ".", "ä"] {
            assert!(check_key("key", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn object_names_derive_from_display_names() {
        assert_eq!(object_name_from("Docker Hub (research)"), "docker-hub-research");
        assert_eq!(object_name_from("  --  "), "");
        assert!(is_object_name(&object_name_from("S3 key: prod/eu-west-1")));
    }

    #[test]
    fn labels_offer_secrets_for_one_type_and_scope() {
        let labels = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let project = Scope { level: ScopeLevel::Project, department: None, project: Some("vision".into()), cluster: None };
        let research = Scope { level: ScopeLevel::Department, department: Some("research".into()), project: None, cluster: None };
        let cluster = Scope { level: ScopeLevel::Cluster, department: None, project: None, cluster: None };
        let access_key = labels(&[(RESOURCE_LABEL, "access-key")]);
        assert!(offers(&access_key, false, CredentialType::AccessKey, &project));
        assert!(!offers(&access_key, false, CredentialType::Generic, &project), "typed");
        assert!(!offers(&access_key, true, CredentialType::AccessKey, &cluster), "the system namespace needs a scope label");
        assert!(offers(&labels(&[(RESOURCE_LABEL, "access-key"), (CLUSTER_WIDE_LABEL, "true")]), true, CredentialType::AccessKey, &cluster));
        let account = Scope { level: ScopeLevel::Account, department: None, project: None, cluster: None };
        assert!(!offers(&labels(&[(RESOURCE_LABEL, "access-key"), (CLUSTER_WIDE_LABEL, "true")]), true, CredentialType::AccessKey, &account), "cluster-wide is not account-wide");
        let for_research = labels(&[(RESOURCE_LABEL, "generic"), ("keyhold.dev/department", "research")]);
        assert!(offers(&for_research, true, CredentialType::Generic, &research));
        assert!(!offers(&for_research, true, CredentialType::Generic, &Scope { department: Some("production".into()), ..research.clone() }));
        let in_east = Scope { cluster: Some("east".into()), ..project.clone() };
        assert!(!offers(&labels(&[(RESOURCE_LABEL, "generic")]), false, CredentialType::Generic, &in_east), "a member's project is not this cluster's");
        for scope in [project, research, cluster, account, in_east] {
            let needed: std::collections::BTreeMap<String, String> = labels_that_offer(CredentialType::Generic, &scope).into_iter().collect();
            assert!(offers(&needed, scope.level != ScopeLevel::Project || scope.cluster.is_some(), CredentialType::Generic, &scope), "{scope:?}");
        }
    }

    #[test]
    fn types_map_to_secret_types_and_labels() {
        assert_eq!(CredentialType::DockerRegistry.secret_type(), "kubernetes.io/dockerconfigjson");
        assert_eq!(CredentialType::Password.resource_label(), "password");
        for t in CredentialType::ALL {
            assert_eq!(CredentialType::from_resource_label(t.resource_label()), Some(t));
        }
        assert_eq!(serde_json::to_string(&CredentialType::Tls).unwrap(), "\"TLS\"");
        assert_eq!(Phase::Ready.label(), "No issues found");
    }
}
