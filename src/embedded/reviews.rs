//! The review APIs: SubjectAccessReview, SelfSubjectAccessReview, LocalSubjectAccessReview,
//! TokenReview and SelfSubjectReview. They are answered, never stored (k8s-api-contract.md §16).

use serde_json::{Value, json};

use super::Cluster;
use super::rbac::{self, Attributes, Identity};
use super::resources::ResourceType;
use super::status::{ApiError, Cause};

fn attributes(spec: &Value) -> Result<Attributes, Vec<Cause>> {
    let resource = &spec["resourceAttributes"];
    let non_resource = &spec["nonResourceAttributes"];
    let text = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
    match (resource.is_object(), non_resource.is_object()) {
        (true, false) => Ok(Attributes {
            verb: text(resource, "verb"),
            group: text(resource, "group"),
            resource: text(resource, "resource"),
            subresource: text(resource, "subresource"),
            namespace: text(resource, "namespace"),
            name: text(resource, "name"),
            path: None,
        }),
        (false, true) => Ok(Attributes { verb: text(non_resource, "verb"), path: Some(text(non_resource, "path")), ..Default::default() }),
        _ => Err(vec![Cause::invalid_raw(
            "spec.resourceAttributes",
            &spec["resourceAttributes"].to_string().replace("null", "nil"),
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        )]),
    }
}

fn answer(rt: &ResourceType, mut body: Value, who: &Identity, attrs: &Attributes, cluster: &Cluster) -> Value {
    let decision = rbac::authorize(cluster.store(), who, attrs);
    body["apiVersion"] = json!(rt.api_version());
    body["kind"] = json!(rt.kind);
    if !body["metadata"].is_object() {
        body["metadata"] = json!({});
    }
    let mut status = json!({"allowed": decision.allowed});
    if !decision.reason.is_empty() {
        status["reason"] = json!(decision.reason);
    }
    body["status"] = status;
    body
}

/// Answers a POST to one of the review resources.
pub fn review(cluster: &Cluster, rt: &ResourceType, namespace: &str, caller: &Identity, body: Value) -> Result<Value, ApiError> {
    let invalid = |causes: Vec<Cause>| ApiError::invalid(&rt.qualified_kind(), &rt.group, "", causes);
    if body["metadata"].as_object().is_some_and(|m| m.keys().any(|k| k != "creationTimestamp")) {
        return Err(invalid(vec![Cause::invalid_raw("metadata", &body["metadata"].to_string(), "must be empty")]));
    }
    let spec = &body["spec"];
    match rt.plural.as_str() {
        "subjectaccessreviews" | "localsubjectaccessreviews" => {
            let attrs = attributes(spec).map_err(invalid)?;
            let user = spec["user"].as_str().unwrap_or_default().to_string();
            let groups: Vec<String> = spec["groups"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect();
            if user.is_empty() && groups.is_empty() {
                return Err(invalid(vec![Cause::invalid_raw("spec.user", "\"\"", "at least one of user or group must be specified")]));
            }
            if rt.plural == "localsubjectaccessreviews" && attrs.namespace != namespace {
                return Err(invalid(vec![Cause::invalid("spec.resourceAttributes.namespace", &attrs.namespace, "must match metadata.namespace")]));
            }
            Ok(answer(rt, body.clone(), &Identity { user, groups }, &attrs, cluster))
        }
        "selfsubjectaccessreviews" => {
            let attrs = attributes(spec).map_err(invalid)?;
            Ok(answer(rt, body.clone(), caller, &attrs, cluster))
        }
        "tokenreviews" => {
            let token = spec["token"].as_str().unwrap_or_default();
            let mut out = body.clone();
            out["apiVersion"] = json!(rt.api_version());
            out["kind"] = json!(rt.kind);
            out["status"] = match cluster.identity_of_token(token) {
                Some(who) => json!({"authenticated": true, "user": {"username": who.user, "groups": who.groups}}),
                None => json!({"authenticated": false, "error": "invalid bearer token"}),
            };
            Ok(out)
        }
        "selfsubjectreviews" => Ok(json!({
            "apiVersion": rt.api_version(),
            "kind": rt.kind,
            "metadata": {"creationTimestamp": null},
            "status": {"userInfo": {"username": caller.user, "groups": caller.groups}},
        })),
        _ => Err(ApiError::method_not_allowed()),
    }
}
