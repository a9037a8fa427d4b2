//! "How to use": ready-to-copy snippets that make a credential's Secret reach a workload, generated
//! from its Secret and key names (never its values), in the forms the platforms we serve use.

use super::credential::CredentialType;
use super::query::CredentialRow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    pub title: &'static str,
    pub text: String,
}

/// An environment variable name for a key: upper case, other characters as `_`.
fn env_name(key: &str) -> String {
    let name: String = key.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    let name = name.trim_start_matches('_').to_string();
    if name.starts_with(|c: char| c.is_ascii_digit()) || name.is_empty() { format!("KEY_{name}") } else { name }
}

/// The snippets for one credential. Until the controller has read the Secret's key names, `<key>`
/// stands in for them.
pub fn snippets(row: &CredentialRow) -> Vec<Snippet> {
    let secret = &row.secret_name;
    let placeholder = ["<key>".to_string()];
    let keys: &[String] = if row.keys.is_empty() { &placeholder } else { &row.keys };
    let mount = format!("/var/run/secrets/keyhold/{secret}");
    let env: String = keys
        .iter()
        .map(|k| format!("  - name: {}\n    valueFrom:\n      secretKeyRef:\n        name: {secret}\n        key: {k}\n", env_name(k)))
        .collect();
    let mut list = vec![
        Snippet { title: "Environment variables (secretKeyRef)", text: format!("env:\n{env}") },
        Snippet { title: "Every key as an environment variable (envFrom)", text: format!("envFrom:\n  - secretRef:\n      name: {secret}\n") },
        Snippet {
            title: "Files in a volume",
            text: format!(
                "volumes:\n  - name: {secret}\n    secret:\n      secretName: {secret}\ncontainers:\n  - name: main\n    volumeMounts:\n      - name: {secret}\n        mountPath: {mount}\n        readOnly: true\n"
            ),
        },
    ];
    if matches!(row.credential_type, CredentialType::DockerRegistry | CredentialType::NgcApiKey) {
        list.push(Snippet { title: "Pulling images (imagePullSecrets)", text: format!("imagePullSecrets:\n  - name: {secret}\n") });
    }
    let pachyderm: Vec<String> =
        keys.iter().map(|k| format!("    {{ \"name\": \"{secret}\", \"key\": \"{k}\", \"env_var\": \"{}\" }}", env_name(k))).collect();
    list.push(Snippet { title: "Pachyderm pipeline (transform.secrets)", text: format!("\"transform\": {{\n  \"secrets\": [\n{}\n  ]\n}}\n", pachyderm.join(",\n")) });
    list.push(Snippet {
        title: "Kubeflow PodDefault",
        text: format!(
            "apiVersion: kubeflow.org/v1alpha1\nkind: PodDefault\nmetadata:\n  name: {secret}\n  namespace: {namespace}\nspec:\n  selector:\n    matchLabels:\n      {secret}: \"true\"\n  desc: {desc}\n  envFrom:\n    - secretRef:\n        name: {secret}\n",
            namespace = row.namespace,
            desc = row.display_name.replace(['\n', ':'], " "),
        ),
    });
    list
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::credential::{Phase, ScopeLevel};

    fn row(kind: CredentialType, keys: &[&str]) -> CredentialRow {
        CredentialRow {
            namespace: "vision".into(),
            governing_department: None,
            name: "docker-hub".into(),
            secret_name: "docker-hub".into(),
            display_name: "Docker Hub".into(),
            description: String::new(),
            credential_type: kind,
            phase: Phase::Ready,
            targets: Vec::new(),
            used_by: Vec::new(),
            unseen_users: 0,
            managed_secret: true,
            created_by: "alice".into(),
            scope_level: ScopeLevel::Project,
            projects: Vec::new(),
            changed_at: String::new(),
            scope_path: "local › research › vision".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            cluster: "local".into(),
            keys: keys.iter().map(|k| k.to_string()).collect(),
            may_change: false,
        }
    }

    #[test]
    fn snippets_name_the_secret_and_its_keys() {
        let found = snippets(&row(CredentialType::AccessKey, &["AWS_ACCESS_KEY_ID", "aws.secret-key"]));
        let titles: Vec<&str> = found.iter().map(|s| s.title).collect();
        assert!(!titles.iter().any(|t| t.contains("imagePullSecrets")), "only registry credentials pull images");
        assert!(found[0].text.contains("- name: AWS_SECRET_KEY\n    valueFrom:\n      secretKeyRef:\n        name: docker-hub\n        key: aws.secret-key"));
        assert!(found.iter().any(|s| s.text.contains("\"key\": \"AWS_ACCESS_KEY_ID\"")));
        assert!(found.last().unwrap().text.contains("kind: PodDefault") && found.last().unwrap().text.contains("namespace: vision"));
    }

    #[test]
    fn registry_credentials_pull_images_and_unknown_keys_show_a_placeholder() {
        let found = snippets(&row(CredentialType::DockerRegistry, &[]));
        assert!(found.iter().any(|s| s.text == "imagePullSecrets:\n  - name: docker-hub\n"));
        assert!(found[0].text.contains("key: <key>"));
        assert_eq!(env_name("9lives.key"), "KEY_9LIVES_KEY");
    }
}
