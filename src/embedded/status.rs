//! Errors of the embedded API, rendered as Kubernetes `Status` objects with the reasons, codes and
//! messages kube-apiserver uses (k8s-api-contract.md §13), so clients react to them as they would
//! to a real cluster.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::resources::ResourceType;

/// One field-level problem of an `Invalid` error.
#[derive(Debug, Clone, PartialEq)]
pub struct Cause {
    pub reason: &'static str,
    pub field: String,
    /// The text after the field, e.g. `Required value` or `Invalid value: "x": ...`.
    pub message: String,
}

impl Cause {
    pub fn required(field: impl Into<String>, detail: Option<&str>) -> Self {
        let message = match detail {
            Some(d) => format!("Required value: {d}"),
            None => "Required value".to_string(),
        };
        Cause { reason: "FieldValueRequired", field: field.into(), message }
    }

    pub fn invalid(field: impl Into<String>, value: &str, detail: &str) -> Self {
        Cause { reason: "FieldValueInvalid", field: field.into(), message: format!("Invalid value: {value:?}: {detail}") }
    }

    /// An invalid value shown without quotes, as Kubernetes prints numbers.
    pub fn invalid_raw(field: impl Into<String>, value: &str, detail: &str) -> Self {
        Cause { reason: "FieldValueInvalid", field: field.into(), message: format!("Invalid value: {value}: {detail}") }
    }

    pub fn forbidden(field: impl Into<String>, detail: &str) -> Self {
        Cause { reason: "FieldValueForbidden", field: field.into(), message: format!("Forbidden: {detail}") }
    }

    pub fn too_long(field: impl Into<String>, max: usize) -> Self {
        Cause { reason: "FieldValueTooLong", field: field.into(), message: format!("Too long: may not be more than {max} bytes") }
    }

    pub fn not_supported(field: impl Into<String>, value: &str, supported: &[&str]) -> Self {
        let list = supported.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", ");
        Cause {
            reason: "FieldValueNotSupported",
            field: field.into(),
            message: format!("Unsupported value: {value:?}: supported values: {list}"),
        }
    }

    fn text(&self) -> String {
        format!("{}: {}", self.field, self.message)
    }
}

/// A failed API call, as the Status object the client receives.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub code: StatusCode,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

impl ApiError {
    fn new(code: StatusCode, reason: &'static str, message: impl Into<String>, details: Option<Value>) -> Self {
        ApiError { code, reason, message: message.into(), details }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequest", message, None)
    }

    pub fn not_found(rt: &ResourceType, name: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("{} {name:?} not found", rt.group_resource()),
            Some(details(&rt.group, &rt.plural, name)),
        )
    }

    /// A namespace that does not exist, named the way admission names it.
    pub fn namespace_not_found(name: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("namespaces {name:?} not found"),
            Some(json!({"name": name, "kind": "namespaces"})),
        )
    }

    /// A path the server does not serve at all.
    pub fn no_such_path() -> Self {
        Self::new(StatusCode::NOT_FOUND, "NotFound", "the server could not find the requested resource", Some(json!({})))
    }

    pub fn already_exists(rt: &ResourceType, name: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "AlreadyExists",
            format!("{} {name:?} already exists", rt.group_resource()),
            Some(details(&rt.group, &rt.plural, name)),
        )
    }

    pub fn conflict(rt: &ResourceType, name: &str, why: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "Conflict",
            format!("Operation cannot be fulfilled on {} {name:?}: {why}", rt.group_resource()),
            Some(details(&rt.group, &rt.plural, name)),
        )
    }

    /// The optimistic-concurrency failure of an update with a stale resourceVersion.
    pub fn modified(rt: &ResourceType, name: &str) -> Self {
        Self::conflict(rt, name, "the object has been modified; please apply your changes to the latest version and try again")
    }

    pub fn forbidden(rt: &ResourceType, name: &str, why: &str) -> Self {
        Self::forbidden_on(&rt.group, &rt.plural, name, why)
    }

    /// Forbidden on a resource that need not be served, such as `users` for impersonation.
    pub fn forbidden_on(group: &str, plural: &str, name: &str, why: &str) -> Self {
        let resource = if group.is_empty() { plural.to_string() } else { format!("{plural}.{group}") };
        let subject = if name.is_empty() { resource } else { format!("{resource} {name:?}") };
        Self::new(StatusCode::FORBIDDEN, "Forbidden", format!("{subject} is forbidden: {why}"), Some(details(group, plural, name)))
    }

    /// Forbidden on a non-resource path: `forbidden: User "bob" cannot get path "/x"`.
    pub fn forbidden_path(why: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Forbidden", format!("forbidden: {why}"), Some(json!({})))
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
            Some(json!({})),
        )
    }

    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "UnsupportedMediaType", message, None)
    }

    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "RequestEntityTooLarge", message, None)
    }

    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(StatusCode::GONE, "Expired", message, None)
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", format!("Internal error occurred: {message}"), None)
    }

    /// `Invalid` (422): `<Kind>[.<group>] "<name>" is invalid: <causes>`. Its details carry the
    /// Kind, not the resource, as Kubernetes does.
    pub fn invalid(qualified_kind: &str, group: &str, name: &str, causes: Vec<Cause>) -> Self {
        let mut texts: Vec<String> = Vec::new();
        for cause in &causes {
            let text = cause.text();
            if !texts.contains(&text) {
                texts.push(text);
            }
        }
        let summary = if texts.len() == 1 { texts.remove(0) } else { format!("[{}]", texts.join(", ")) };
        let mut details = json!({"name": name, "kind": qualified_kind.split('.').next().unwrap_or(qualified_kind)});
        if !group.is_empty() {
            details["group"] = json!(group);
        }
        details["causes"] = causes
            .iter()
            .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
            .collect();
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "Invalid", format!("{qualified_kind} {name:?} is invalid: {summary}"), Some(details))
    }

    /// An `Invalid` error about an object of `rt`.
    pub fn invalid_object(rt: &ResourceType, name: &str, causes: Vec<Cause>) -> Self {
        Self::invalid(&rt.qualified_kind(), &rt.group, name, causes)
    }

    /// The same error with another message, for the few errors whose text is not built from causes.
    pub fn with_message(self, message: impl Into<String>) -> Self {
        ApiError { message: message.into(), ..self }
    }

    /// The Status object of this error.
    pub fn status(&self) -> Value {
        // In the API server's field order (details before code): clients that compare error text
        // see what they would from Kubernetes.
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        });
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status["code"] = json!(self.code.as_u16());
        status
    }
}

fn details(group: &str, plural: &str, name: &str) -> Value {
    let mut details = json!({"name": name, "kind": plural});
    if !group.is_empty() {
        details["group"] = json!(group);
    }
    if name.is_empty() {
        details.as_object_mut().expect("object").remove("name");
    }
    details
}

impl IntoResponse for ApiError {
    /// The Status as JSON with the line end the API server's encoder writes after it.
    fn into_response(self) -> Response {
        let mut body = serde_json::to_vec(&self.status()).expect("a Status serialises");
        body.push(b'\n');
        (self.code, [(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response()
    }
}
