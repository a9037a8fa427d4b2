//! The one error type that crosses from the server to the browser.
//!
//! Server functions map service errors into it once; its text is shown to people, so it never
//! carries a secret value.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// No session, or it has ended.
    #[error("Your session has ended. Sign in again.")]
    Unauthenticated,
    /// Signed in, but the roles do not allow it.
    #[error("{0}")]
    Forbidden(String),
    /// A sign-in that failed; one message whatever the cause, so it reveals no account.
    #[error("{0}")]
    SignIn(String),
    /// Too many failed sign-ins from this address or for this username.
    #[error("Too many sign-in attempts. Try again in {retry_after_secs} s.")]
    TooManyAttempts { retry_after_secs: u64 },
    /// Bad input: the field at fault and the rule it broke.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the current state (a name taken, a credential in use).
    #[error("{0}")]
    Conflict(String),
    /// Kubernetes or a store Keyhold depends on did not answer.
    #[error("{0}")]
    Unavailable(String),
    /// Transport and encoding failures of the server-function machinery.
    #[error("request failed: {0}")]
    Transport(String),
}

impl AppError {
    /// The field a message belongs next to, for `Invalid`.
    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }

    /// The message for people, without the field's name when it is shown next to its field.
    pub fn message(&self) -> String {
        match self {
            AppError::Invalid { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }

    /// The HTTP status that goes with the error.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthenticated | AppError::SignIn(_) => 401,
            AppError::Forbidden(_) => 403,
            AppError::Invalid { .. } => 422,
            AppError::NotFound(_) => 404,
            AppError::Conflict(_) => 409,
            AppError::TooManyAttempts { .. } => 429,
            AppError::Unavailable(_) => 503,
            AppError::Transport(_) => 500,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    /// Decoding errors are not quoted: serde repeats the input it failed on, and that input may
    /// be a secret value.
    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::Deserialization(_) | ServerFnErrorErr::MissingArg(_) => {
                AppError::Transport("the request was not what this function takes".into())
            }
            other => AppError::Transport(other.to_string()),
        }
    }
}

impl From<super::credential::FieldError> for AppError {
    fn from(e: super::credential::FieldError) -> Self {
        AppError::Invalid { field: e.field, message: e.message }
    }
}

/// The root cause of an error ("Connection refused (os error 111)"), without the wrapping of the
/// layers above it: what a person can act on.
pub fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}
