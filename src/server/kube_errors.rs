//! The one mapping from what the Kubernetes API answered to what Keyhold tells people, used by
//! the pages and the REST API alike. Only a connection failure, a timeout or a server error is
//! "did not answer"; a refusal is reported as the refusal it is. Kubernetes' own messages quote
//! the values they refuse, so none of their text is passed on: the field path and the kind of
//! fault are, in Keyhold's words.

use kube::core::Status;

use crate::domain::AppError;

/// What `e` means for the person whose request Keyhold was carrying out.
pub fn app_error(e: kube::Error) -> AppError {
    tracing::warn!(error = %e, "the Kubernetes API refused or failed");
    match e {
        kube::Error::Api(status) => refusal(&status),
        _ => unavailable(),
    }
}

fn unavailable() -> AppError {
    AppError::Unavailable("The Kubernetes API did not answer. Try again shortly.".into())
}

fn refusal(status: &Status) -> AppError {
    match status.code {
        400 | 422 => invalid(status),
        // Keyhold's own account was refused (its RBAC, a quota or an admission policy): not a
        // matter of the person's roles, which the service checked before.
        403 => AppError::Forbidden("Kubernetes refused Keyhold this change (its permissions, a quota or a policy); an administrator can tell which from Keyhold's log".into()),
        404 => AppError::NotFound("Kubernetes has no such object; it may have just been deleted. Reload the page".into()),
        409 if status.is_already_exists() => AppError::Conflict("An object of that name was made in Kubernetes a moment ago. Try again".into()),
        409 => AppError::Conflict("The object changed in Kubernetes while Keyhold was changing it. Reload and try again".into()),
        _ => unavailable(),
    }
}

/// An Invalid answer: the first field Kubernetes names, and what was wrong with it.
fn invalid(status: &Status) -> AppError {
    let cause = status.details.as_ref().and_then(|d| d.causes.first());
    // `data[KEY]`: a key is the person's input, so only the path around it is named.
    let field = cause.map(|c| c.field.split('[').next().unwrap_or_default().to_string()).unwrap_or_default();
    let fault = match cause.map(|c| c.reason.as_str()) {
        Some("FieldValueTooLong") => "is too long",
        Some("FieldValueRequired") => "is required",
        Some("FieldValueNotSupported") => "is not one Kubernetes supports",
        Some("FieldValueDuplicate") => "is repeated",
        Some("FieldValueForbidden") => "may not be set",
        Some("FieldValueTooMany") => "has too many entries",
        _ => "is not valid",
    };
    let what = if field.is_empty() { "the object" } else { field.as_str() };
    AppError::Invalid { message: format!("Kubernetes refused {what}: it {fault}"), field }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::response::{StatusCause, StatusDetails};

    fn answered(code: u16, reason: &str, causes: Vec<StatusCause>) -> kube::Error {
        let details = StatusDetails { name: String::new(), group: String::new(), kind: "secrets".into(), uid: String::new(), causes, retry_after_seconds: 0 };
        kube::Error::Api(Status::failure("Secret \"x\" is invalid: quoted-input", reason).with_code(code).with_details(details).boxed())
    }

    #[test]
    fn each_class_of_refusal_keeps_its_meaning() {
        let label = StatusCause { reason: "FieldValueInvalid".into(), message: "Invalid value: \"quoted-input\"".into(), field: "metadata.labels".into() };
        let invalid = app_error(answered(422, "Invalid", vec![label]));
        assert_eq!(invalid.status(), 422);
        assert_eq!(invalid.field(), Some("metadata.labels"));
        assert!(!invalid.to_string().contains("quoted-input"), "Kubernetes' text is not passed on");
        assert_eq!(app_error(answered(409, "AlreadyExists", vec![])).status(), 409);
        assert_eq!(app_error(answered(409, "Conflict", vec![])).status(), 409);
        assert_eq!(app_error(answered(403, "Forbidden", vec![])).status(), 403);
        assert_eq!(app_error(answered(404, "NotFound", vec![])).status(), 404);
        assert_eq!(app_error(answered(500, "InternalError", vec![])).status(), 503);
        assert_eq!(app_error(answered(429, "TooManyRequests", vec![])).status(), 503);
    }

    #[test]
    fn a_connection_failure_is_did_not_answer() {
        let e = kube::Error::Service(Box::new(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)));
        assert_eq!(app_error(e), unavailable());
    }
}
