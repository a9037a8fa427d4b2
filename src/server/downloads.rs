//! Download CSV: the whole current view of the Credentials table, streamed as it is written. One
//! door for the REST API (`GET /api/v1/credentials.csv`, bearer tokens) and one for the signed-in
//! browser (`GET /credentials.csv`, the session), both onto `CredentialsService::export`.

use std::convert::Infallible;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::Extension;

use crate::domain::AppError;
use crate::domain::csv;
use crate::domain::identity::Identity;
use crate::domain::query::ListQuery;
use crate::server::AppState;
use crate::server::auth::SignedIn;
use crate::server::credentials::service::ServiceError;

/// The CSV of the view `params` describe for `who`: the table's query (`q`, filters, `sort`,
/// `order`; paging is ignored) and `columns` (comma-separated keys, in order; by default the
/// columns shown by default).
pub async fn credentials(state: &AppState, who: &Identity, params: &[(String, String)]) -> Result<Response, ServiceError> {
    let query = ListQuery::from_params(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let columns = csv::columns_of(params.iter().find(|(k, _)| k == "columns").map(|(_, v)| v.as_str()));
    let rows = state.credentials.export(who, &query).await?;
    let body = Body::from_stream(futures::stream::iter(csv::pieces(rows, columns).map(Ok::<_, Infallible>)));
    let headers = [(header::CONTENT_TYPE, "text/csv; charset=utf-8"), (header::CONTENT_DISPOSITION, "attachment; filename=\"credentials.csv\"")];
    Ok((headers, body).into_response())
}

/// `GET /credentials.csv?…`, the page's "Download CSV" link. Only signed-in people get here:
/// `authenticate` sends everyone else to sign in.
pub async fn credentials_for_browser(State(state): State<AppState>, Extension(signed_in): Extension<SignedIn>, Query(params): Query<Vec<(String, String)>>) -> Response {
    match credentials(&state, &signed_in.identity, &params).await {
        Ok(response) => response,
        Err(e) => {
            let error = AppError::from(e);
            (StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), error.to_string()).into_response()
        }
    }
}
