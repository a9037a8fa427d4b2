//! The one error type that crosses from the server to the browser.
//!
//! Server functions map service errors into it once; its text is shown to people, so it never
//! carries a secret value. Variants for the credentials service's errors (forbidden, a field at
//! fault) arrive with the pages that call that service.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
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
