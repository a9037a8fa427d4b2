//! The REST API under `/api/v1`: JSON, authenticated with `Authorization: Bearer` only (an API
//! token Keyhold issued, or a Kubernetes token), never with the session cookie. Handlers are thin
//! doors onto the services; errors are JSON `{code, message, field}`.

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde::Serialize;

use crate::domain::identity::Identity;
use crate::server::AppState;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("an Authorization: Bearer token is required")]
    MissingToken,
    #[error("the bearer token was not accepted")]
    BadToken,
    #[error("{0}")]
    Unavailable(String),
}

#[derive(Serialize)]
struct ErrorBody {
    code: u16,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match self {
            ApiError::MissingToken | ApiError::BadToken => StatusCode::UNAUTHORIZED,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        let body = ErrorBody { code: status.as_u16(), message: self.to_string(), field: None };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        }
        response
    }
}

pub fn router(state: AppState) -> Router<AppState> {
    Router::new().route("/whoami", get(whoami)).layer(axum::middleware::from_fn_with_state(state, bearer))
}

/// Finds the caller from the bearer token; nothing else authenticates here.
async fn bearer(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let token = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).map(str::trim);
    let Some(token) = token.filter(|t| !t.is_empty()) else { return ApiError::MissingToken.into_response() };
    match state.auth.bearer(token).await {
        Ok(Some(identity)) => {
            request.extensions_mut().insert(identity);
            next.run(request).await
        }
        Ok(None) => ApiError::BadToken.into_response(),
        Err(e) => ApiError::Unavailable(e.to_string()).into_response(),
    }
}

/// Who the token belongs to: the user and groups Keyhold acts for.
async fn whoami(Extension(identity): Extension<Identity>) -> Json<Identity> {
    Json(identity)
}
