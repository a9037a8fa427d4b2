//! The one error type that crosses from the server to the browser.
//!
//! Server-side failures are mapped into it once (see `server::error`); its text is shown to people,
//! so it never carries a secret value.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// The Kubernetes API could not be reached or answered with a failure.
    #[error("the cluster is unavailable: {0}")]
    ClusterUnavailable(String),
    /// The request itself was wrong; `field` names the input at fault when there is one.
    #[error("{message}")]
    Invalid { field: Option<String>, message: String },
    /// Transport and encoding failures of the server-function machinery.
    #[error("request failed: {0}")]
    Transport(String),
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}
