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
    let mut names = BTreeSet::new();
    let mut add = |v: &Value| {
        if let Some(name) = v.as_str().filter(|n| !n.is_empty()) {
            names.insert(name.to_string());
        }
    };
    let list = |v: &Value| v.as_array().cloned().unwrap_or_default();
    for volume in list(&pod_spec["volumes"]) {
        add(&volume["secret"]["secretName"]);
        for source in list(&volume["projected"]["sources"]) {
            add(&source["secret"]["name"]);
        }
    }
    for group in ["containers", "initContainers", "ephemeralContainers"] {
        for container in list(&pod_spec[group]) {
            for env in list(&container["env"]) {
                add(&env["valueFrom"]["secretKeyRef"]["name"]);
            }
            for from in list(&container["envFrom"]) {
                add(&from["secretRef"]["name"]);
            }
        }
    }
    // A PodDefault lists env and envFrom at its top level.
    for env in list(&pod_spec["env"]) {
        add(&env["valueFrom"]["secretKeyRef"]["name"]);
    }
    for from in list(&pod_spec["envFrom"]) {
        add(&from["secretRef"]["name"]);
    }
    for pull in list(&pod_spec["imagePullSecrets"]) {
        add(&pull["name"]);
    }
    names
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
