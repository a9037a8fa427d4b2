//! "How to use": ready-to-copy snippets that make a credential's Secret reach a workload, generated
//! from its Secret and key names (never its values), in the forms the platforms we serve use.

use super::attach::{Use, env_keys, env_name, uses};
use super::credential::CredentialType;
use super::query::CredentialRow;

/// Where a snippet goes, so it can be read (and tested) in its place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Fields of one container (`env`, `envFrom`).
    Container,
    /// Fields of a pod's spec (`imagePullSecrets`, `volumes` with the container's mounts).
    PodSpec,
    /// A whole Kubernetes object (a Kubeflow PodDefault).
    Object,
    /// Fields of a Pachyderm pipeline spec (JSON).
    Pachyderm,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    pub title: &'static str,
    /// A short name for the snippet: its use's (`Use::name`), `pachyderm` or `podDefault`.
    pub name: &'static str,
    pub text: String,
    pub place: Place,
}

/// The snippets for one credential, the way its type is used first. Until the controller has read
/// the Secret's key names, `<key>` stands in for them.
pub fn snippets(row: &CredentialRow) -> Vec<Snippet> {
    let secret = &row.secret_name;
    let placeholder = ["<key>".to_string()];
    let keys: &[String] = if row.keys.is_empty() { &placeholder } else { &row.keys };
    let uses = uses(row.credential_type);
    let using = |u: &Use| uses.iter().any(|x| std::mem::discriminant(x) == std::mem::discriminant(u));
    let env_keys: Vec<&String> = env_keys(keys).collect();
    let mount = format!("/var/run/secrets/keyhold/{secret}");
    let env: String = env_keys
        .iter()
        .map(|k| format!("  - name: {}\n    valueFrom:\n      secretKeyRef:\n        name: {secret}\n        key: {k}\n", env_name(k)))
        .collect();
    let env = format!("env:\n{env}");
    let env_from = format!("envFrom:\n  - secretRef:\n      name: {secret}\n");
    let pulls = format!("imagePullSecrets:\n  - name: {secret}\n");
    let volume = format!("volumes:\n  - name: {secret}\n    secret:\n      secretName: {secret}\n");
    let mounts = format!("volumeMounts:\n  - name: {secret}\n    mountPath: {mount}\n    readOnly: true\n");

    let mut list: Vec<Snippet> = uses
        .iter()
        .map(|u| match u {
            Use::Pulls => Snippet { title: u.label(), name: u.name(), text: pulls.clone(), place: Place::PodSpec },
            Use::Env => Snippet { title: u.label(), name: u.name(), text: env.clone(), place: Place::Container },
            Use::EnvFrom => Snippet { title: u.label(), name: u.name(), text: env_from.clone(), place: Place::Container },
            Use::Volume { .. } => Snippet { title: u.label(), name: u.name(), text: format!("{volume}containers:\n  - name: main\n{}", indent(&mounts, 4)), place: Place::PodSpec },
        })
        .collect();
    let mut add = |title, name, text: String, place| list.push(Snippet { title, name, text, place });

    let mut pachyderm = Vec::new();
    if using(&Use::Pulls) {
        pachyderm.push(format!("  \"image_pull_secrets\": [\"{secret}\"]"));
    }
    if using(&Use::Env) {
        let secrets: Vec<String> = env_keys.iter().map(|k| format!("    {{ \"name\": \"{secret}\", \"key\": \"{k}\", \"env_var\": \"{}\" }}", env_name(k))).collect();
        pachyderm.push(format!("  \"secrets\": [\n{}\n  ]", secrets.join(",\n")));
    }
    if !pachyderm.is_empty() {
        add("Pachyderm pipeline (transform)", "pachyderm", format!("\"transform\": {{\n{}\n}}\n", pachyderm.join(",\n")), Place::Pachyderm);
    }

    // A PodDefault injects pod-spec fields at its top level.
    let mut injected = String::new();
    if using(&Use::Pulls) {
        injected.push_str(&pulls);
    }
    if using(&Use::EnvFrom) {
        injected.push_str(&env_from);
    } else if using(&Use::Env) {
        injected.push_str(&env);
    }
    if row.credential_type == CredentialType::Tls {
        injected.push_str(&volume);
        injected.push_str(&mounts);
    }
    add(
        "Kubeflow PodDefault",
        "podDefault",
        format!(
            "apiVersion: kubeflow.org/v1alpha1\nkind: PodDefault\nmetadata:\n  name: {secret}\n  namespace: {namespace}\nspec:\n  selector:\n    matchLabels:\n      {secret}: \"true\"\n  desc: {desc}\n{}",
            indent(&injected, 2),
            namespace = row.namespace,
            desc = serde_json::to_string(&row.display_name).unwrap_or_default(),
        ),
        Place::Object,
    );
    list
}

/// `text` with every line indented by `by` spaces.
fn indent(text: &str, by: usize) -> String {
    text.lines().map(|line| format!("{:by$}{line}\n", "")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: CredentialType, keys: &[&str]) -> CredentialRow {
        CredentialRow::example("Docker Hub", kind, keys)
    }

    #[test]
    fn each_type_leads_with_the_way_it_is_used() {
        let first = |kind, keys: &[&str]| snippets(&row(kind, keys))[0].title;
        assert_eq!(first(CredentialType::DockerRegistry, &[".dockerconfigjson"]), "Pulling images (imagePullSecrets)");
        assert_eq!(first(CredentialType::NgcApiKey, &[".dockerconfigjson", "NGC_API_KEY"]), "Pulling images (imagePullSecrets)");
        assert_eq!(first(CredentialType::AccessKey, &["AWS_ACCESS_KEY_ID"]), "Every key as an environment variable (envFrom)");
        assert_eq!(first(CredentialType::Generic, &["TOKEN"]), "Environment variables (secretKeyRef)");
        assert_eq!(first(CredentialType::Tls, &["tls.crt", "tls.key"]), "Files in a volume");
    }

    #[test]
    fn a_registry_login_is_never_offered_as_an_environment_variable() {
        for kind in [CredentialType::DockerRegistry, CredentialType::NgcApiKey] {
            for snippet in snippets(&row(kind, &[".dockerconfigjson", "NGC_API_KEY"])) {
                assert!(!snippet.text.contains("key: .dockerconfigjson") && !snippet.text.contains("\"key\": \".dockerconfigjson\""), "{snippet:?}");
                assert!(!snippet.text.contains("envFrom"), "envFrom would skip .dockerconfigjson: {snippet:?}");
            }
        }
        let ngc = snippets(&row(CredentialType::NgcApiKey, &[".dockerconfigjson", "NGC_API_KEY"]));
        assert!(ngc.iter().any(|s| s.text.contains("key: NGC_API_KEY")));
        assert!(ngc.iter().any(|s| s.place == Place::Pachyderm && s.text.contains("\"image_pull_secrets\": [\"docker-hub\"]")));
    }

    #[test]
    fn keys_become_environment_names_and_unknown_keys_show_a_placeholder() {
        let found = snippets(&row(CredentialType::Generic, &[]));
        assert!(found[0].text.contains("key: <key>"));
        let found = snippets(&row(CredentialType::Generic, &["aws.secret-key"]));
        assert!(found[0].text.contains("- name: AWS_SECRET_KEY\n    valueFrom:\n      secretKeyRef:\n        name: docker-hub\n        key: aws.secret-key"));
        assert!(found.last().unwrap().text.contains("kind: PodDefault") && found.last().unwrap().text.contains("namespace: vision"));
        assert_eq!(env_name("9lives.key"), "KEY_9LIVES_KEY");
    }
}
