//! Which Secrets a workload uses: the references a pod spec can hold (k8s-api-contract.md §19).
//! Pure JSON walking, so the same rule serves every workload kind and Kubeflow's PodDefaults.

use std::collections::BTreeSet;

use serde_json::Value;

/// Where the pod spec sits in each workload kind.
pub fn pod_spec<'a>(kind: &str, object: &'a Value) -> Option<&'a Value> {
    let spec = &object["spec"];
    let found = match kind {
        "Pod" => spec,
        "Deployment" | "StatefulSet" | "DaemonSet" | "Job" => &spec["template"]["spec"],
        "CronJob" => &spec["jobTemplate"]["spec"]["template"]["spec"],
        // A PodDefault's spec holds the fields it injects, in pod-spec form.
        "PodDefault" => spec,
        _ => return None,
    };
    found.is_object().then_some(found)
}

/// The names of the Secrets a pod spec references: env `secretKeyRef`, `envFrom`, secret and
/// projected volumes, and `imagePullSecrets`.
pub fn secret_names(pod_spec: &Value) -> BTreeSet<String> {
    references(pod_spec).into_iter().map(|(_, name)| name).collect()
}

/// The keys of the Secret `secret` that a pod spec's environment variables read.
pub fn keys_read(pod_spec: &Value, secret: &str) -> Vec<String> {
    references(pod_spec)
        .into_iter()
        .filter(|(at, name)| name == secret && at.ends_with("/valueFrom/secretKeyRef/name"))
        .filter_map(|(at, _)| pod_spec.pointer(&at.replace("/valueFrom/secretKeyRef/name", "/valueFrom/secretKeyRef/key")).and_then(|k| k.as_str()).map(str::to_string))
        .collect()
}

/// Every reference to a Secret in a pod spec: where its name is (a JSON Pointer below the pod
/// spec) and the name.
pub fn references(pod_spec: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut add = |pointer: String, v: &Value| {
        if let Some(name) = v.as_str().filter(|n| !n.is_empty()) {
            found.push((pointer, name.to_string()));
        }
    };
    let list = |v: &Value| v.as_array().cloned().unwrap_or_default();
    for (i, volume) in list(&pod_spec["volumes"]).iter().enumerate() {
        add(format!("/volumes/{i}/secret/secretName"), &volume["secret"]["secretName"]);
        for (j, source) in list(&volume["projected"]["sources"]).iter().enumerate() {
            add(format!("/volumes/{i}/projected/sources/{j}/secret/name"), &source["secret"]["name"]);
        }
    }
    // Containers, and a PodDefault's own top level, which lists env and envFrom too.
    let mut holders: Vec<(String, Value)> = vec![(String::new(), pod_spec.clone())];
    for group in ["containers", "initContainers", "ephemeralContainers"] {
        holders.extend(list(&pod_spec[group]).into_iter().enumerate().map(|(i, c)| (format!("/{group}/{i}"), c)));
    }
    for (at, holder) in holders {
        for (i, env) in list(&holder["env"]).iter().enumerate() {
            add(format!("{at}/env/{i}/valueFrom/secretKeyRef/name"), &env["valueFrom"]["secretKeyRef"]["name"]);
        }
        for (i, from) in list(&holder["envFrom"]).iter().enumerate() {
            add(format!("{at}/envFrom/{i}/secretRef/name"), &from["secretRef"]["name"]);
        }
    }
    for (i, pull) in list(&pod_spec["imagePullSecrets"]).iter().enumerate() {
        add(format!("/imagePullSecrets/{i}/name"), &pull["name"]);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_kind_of_reference_is_found() {
        let deployment = json!({"spec": {"template": {"spec": {
            "imagePullSecrets": [{"name": "registry"}],
            "volumes": [{"secret": {"secretName": "files"}}, {"projected": {"sources": [{"secret": {"name": "projected"}}]}}],
            "initContainers": [{"envFrom": [{"secretRef": {"name": "init-env"}}]}],
            "containers": [{"env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "one-key", "key": "k"}}}, {"name": "B", "value": "plain"}]}]
        }}}});
        let names = secret_names(pod_spec("Deployment", &deployment).unwrap());
        assert_eq!(names.into_iter().collect::<Vec<_>>(), ["files", "init-env", "one-key", "projected", "registry"]);
    }

    #[test]
    fn cron_jobs_and_pod_defaults_are_understood() {
        let cron = json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"envFrom": [{"secretRef": {"name": "s3"}}]}]}}}}}});
        assert!(secret_names(pod_spec("CronJob", &cron).unwrap()).contains("s3"));
        let pod_default = json!({"spec": {"volumes": [{"secret": {"secretName": "gcp"}}], "envFrom": [{"secretRef": {"name": "hf"}}]}});
        assert_eq!(secret_names(pod_spec("PodDefault", &pod_default).unwrap()).len(), 2);
        assert!(pod_spec("ConfigMap", &json!({})).is_none());
    }
}
