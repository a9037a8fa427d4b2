//! The HTTP router: health endpoints, the Leptos pages and server functions, the REST API, and the
//! layers every request passes: request ids and logs, security headers, the session, the
//! same-origin rule and authentication.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderName, Request, StatusCode};
use axum::routing::get;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;

use crate::app::{App, shell};
use crate::server::AppState;
use crate::server::auth::sessions::Sessions;
use crate::server::auth::web;
use crate::server::{downloads, events, rest};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn router(state: AppState, sessions: Sessions) -> Router {
    let routes = generate_route_list(App);
    let context_state = state.clone();
    let provide_state = move || provide_context(context_state.clone());
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        // Browsers ask for it on every page; Keyhold has none. A plain 404, not the rendered 404
        // page (a signed-in person's page, marked static).
        .route("/favicon.ico", get(|| async { StatusCode::NOT_FOUND }))
        .route("/api/events/credentials", get(events::credential_changes))
        .route("/credentials.csv", get(downloads::credentials_for_browser))
        .route("/auth/oidc/start", get(web::oidc_start))
        .route("/auth/oidc/callback", get(web::oidc_callback))
        .leptos_routes_with_context(&state, routes, provide_state.clone(), {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        // The site's files (WASM, its chunks, JS, CSS), with the brotli and gzip variants `make
        // build` writes. Served directly, not by the fallback below: there a file served while
        // another request renders the 404 page could take on that page's status (seen with a
        // lazy page's chunks arriving beside the browser's /favicon.ico, then a rendered 404).
        .nest_service(&format!("/{}", state.leptos_options.site_pkg_dir), site_files(&state.leptos_options))
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(provide_state, shell))
        // Layers run top to bottom: the last added sees the request first.
        .layer(axum::middleware::from_fn_with_state(state.clone(), web::authenticate))
        .layer(state.web.session_layer(sessions))
        .layer(axum::middleware::from_fn_with_state(state.clone(), web::same_origin))
        .nest("/api/v1", rest::router(state.clone()))
        .layer(axum::middleware::from_fn_with_state(state.clone(), web::security_headers))
        // Pages, JSON and the WASM bundle go out gzipped to browsers that ask (the default
        // predicate leaves the event stream and images alone).
        .layer(CompressionLayer::new())
        .layer(
            tower::ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                    let id = request.extensions().get::<RequestId>().and_then(|id| id.header_value().to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
                }))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID)),
        )
        .layer(axum::middleware::from_fn(crate::server::metrics::track))
        .with_state(state)
}

/// The directory of the site's built files, each sent precompressed when the client accepts it.
fn site_files(options: &LeptosOptions) -> ServeDir {
    ServeDir::new(std::path::Path::new(&*options.site_root).join(&*options.site_pkg_dir)).precompressed_br().precompressed_gzip()
}

/// Alive: the process answers.
async fn healthz() -> &'static str {
    "ok"
}

/// Ready: the Kubernetes caches have synced, so pages show the cluster's real state.
async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if state.readiness.is_ready() { (StatusCode::OK, "ok") } else { (StatusCode::SERVICE_UNAVAILABLE, "caches are syncing") }
}
