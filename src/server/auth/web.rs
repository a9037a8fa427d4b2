//! The browser side of authentication: the session cookie, the middleware that finds who is calling
//! and sends people without a session to `/login`, the same-origin rule for state-changing
//! requests, the security headers, and the session work behind the sign-in server functions.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use std::collections::HashMap;

use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, Session, SessionManagerLayer};

use super::sessions::Sessions;
use super::{SignInError, SignedIn};
use crate::domain::AppError;
use crate::domain::session::{SignInMethod, sign_in_url};
use crate::server::AppState;

const SESSION_KEY: &str = "signed-in";

/// How the console is reached and how long sessions last; from the command line.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// `scheme://host[:port]` of the public URL: the only origin allowed to change state.
    pub origin: String,
    /// Whether people reach the console over HTTPS (directly or through a TLS-terminating proxy).
    pub secure: bool,
    pub idle_timeout: Duration,
    pub lifetime: Duration,
}

impl WebSettings {
    /// From the public URL, e.g. `https://keyhold.example.com/`.
    pub fn new(public_url: &str, idle_timeout: Duration, lifetime: Duration) -> Result<Self, String> {
        let uri: http::Uri = public_url.parse().map_err(|_| format!("{public_url:?} is not a URL"))?;
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return Err(format!("{public_url:?} needs a scheme and a host, like https://keyhold.example.com"));
        };
        if scheme != "http" && scheme != "https" {
            return Err(format!("{public_url:?} must be an http or https URL"));
        }
        Ok(WebSettings { origin: format!("{scheme}://{authority}"), secure: scheme == "https", idle_timeout, lifetime })
    }

    /// The session cookie's name: the `__Host-` prefix binds it to this host over HTTPS.
    pub fn cookie_name(&self) -> &'static str {
        if self.secure { "__Host-keyhold-session" } else { "keyhold-session" }
    }

    pub fn session_layer(&self, store: Sessions) -> SessionManagerLayer<Sessions> {
        let idle = time::Duration::try_from(self.idle_timeout).unwrap_or(time::Duration::HOUR);
        SessionManagerLayer::new(store)
            .with_name(self.cookie_name())
            .with_http_only(true)
            .with_same_site(SameSite::Lax)
            .with_secure(self.secure)
            .with_path("/")
            .with_expiry(Expiry::OnInactivity(idle))
    }
}

/// The connecting peer's address (unspecified for in-process requests, which have none).
pub fn peer(extensions: &http::Extensions) -> IpAddr {
    extensions.get::<ConnectInfo<SocketAddr>>().map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip())
}

/// Paths anyone may fetch: the sign-in page, assets, health, and the APIs, which answer for
/// themselves (server functions with their errors, `/api/v1` with its bearer tokens).
fn is_public(path: &str) -> bool {
    path == "/login" || path == "/healthz" || path == "/readyz" || is_static(path) || path.starts_with("/api/") || path.starts_with("/auth/")
}

/// Finds who is calling (an authenticating proxy's headers, else the session), puts [`SignedIn`] into the
/// request for the pages and server functions, and sends a browser without a session to `/login`.
pub async fn authenticate(State(state): State<AppState>, session: Session, mut request: Request, next: Next) -> Response {
    // The same files for everyone: the session is not read (or touched, which would put a
    // Set-Cookie on a response caches may keep).
    if is_static(request.uri().path()) {
        return next.run(request).await;
    }
    let proxied = state.auth.proxy_identity(peer(request.extensions()), request.headers());
    let signed_in = match proxied {
        Some(identity) => Some(SignedIn::now(identity, SignInMethod::Proxy, None)),
        None => match current(&session, &state).await {
            Ok(found) => found,
            Err(e) => return store_down(e),
        },
    };
    let path = request.uri().path();
    match signed_in {
        Some(signed_in) => {
            request.extensions_mut().insert(signed_in);
        }
        None if (request.method() == Method::GET || request.method() == Method::HEAD) && !is_public(path) => {
            let target = request.uri().path_and_query().map_or(path, |p| p.as_str());
            return Redirect::to(&sign_in_url(target)).into_response();
        }
        None => {}
    }
    next.run(request).await
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// The session's identity, unless the session outlived its absolute lifetime or its account
/// changed (then it ends). A session in use is touched now and then, which moves its idle expiry
/// on; each touch also re-checks the account, so a changed password or group, a revoked API token
/// or a removed account ends the session within half a minute.
async fn current(session: &Session, state: &AppState) -> Result<Option<SignedIn>, tower_sessions::session::Error> {
    let Some(signed_in) = session.get::<SignedIn>(SESSION_KEY).await? else { return Ok(None) };
    let age = now() - signed_in.since;
    if age > state.web.lifetime.as_secs() as i64 {
        session.flush().await?;
        return Ok(None);
    }
    let touched = session.get::<i64>("touched").await?.unwrap_or(signed_in.since);
    if now() - touched >= (state.web.idle_timeout.as_secs() / 10).clamp(1, 30) as i64 {
        match state.auth.still_valid(&signed_in).await {
            Ok(false) => {
                tracing::info!(target: "audit", user = %signed_in.identity.user, "session ended: the account changed");
                session.flush().await?;
                return Ok(None);
            }
            Ok(true) => session.insert("touched", now()).await?,
            // Kept for now and checked again on the next request: a Kubernetes blip should not
            // sign everyone out.
            Err(e) => tracing::warn!(error = %e, "could not re-check the session's account"),
        }
    }
    Ok(Some(signed_in))
}

/// Refuses a state-changing request unless it comes from the console's own pages: the browser's
/// `Sec-Fetch-Site` says same-origin, or its `Origin` is the public URL's. The REST API is exempt:
/// it takes bearer tokens only, never the cookie, so another site cannot ride on a session.
pub async fn same_origin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) || request.uri().path().starts_with("/api/v1/");
    if safe || is_same_origin(request.headers(), &state.web.origin) {
        next.run(request).await
    } else {
        tracing::warn!(path = %request.uri().path(), "refused a cross-origin request");
        (StatusCode::FORBIDDEN, "Cross-origin request refused.").into_response()
    }
}

fn is_same_origin(headers: &http::HeaderMap, origin: &str) -> bool {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match (value("sec-fetch-site"), value("origin")) {
        (Some(site), _) => site == "same-origin",
        (None, Some(from)) => from == origin,
        (None, None) => false,
    }
}

/// Headers every response carries; the Content-Security-Policy, which needs the page's nonce, is
/// set by the HTML shell (see `app::shell`). Pages and API answers are never stored by a browser
/// or a proxy (they show who has which credentials); the app's static files may be, revalidated. Over HTTPS,
/// HSTS keeps browsers from ever trying plain HTTP (this host only: its parent domain is not
/// Keyhold's to decide for).
pub async fn security_headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let cacheable = is_static(request.uri().path());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !cacheable {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    } else {
        // Kept, but checked again on each use (a 304 when unchanged): the WASM, its chunks and the
        // script that loads them must come from one build, also just after an upgrade.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        if !headers.contains_key(header::VARY) {
            // A static file goes out brotli- or gzip-compressed ahead of time, or plain, by the
            // request's Accept-Encoding: a shared cache must keep them apart.
            headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        }
    }
    if state.web.secure {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    response
}

/// The app's own static files: the same for everyone, and free to cache.
fn is_static(path: &str) -> bool {
    path.starts_with("/pkg/") || path == "/favicon.ico"
}

/// The policy for a page whose inline scripts carry `nonce`: the app's own scripts, WASM and
/// styles, nothing from elsewhere, never framed; forms go to this site, and to the identity
/// provider's origin (`provider`) only for RP-initiated sign-out.
pub fn content_security_policy(nonce: &str, provider: Option<&str>) -> String {
    let provider = provider.map(|origin| format!(" {origin}")).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'{provider}; frame-ancestors 'none'"
    )
}

// The session work behind the sign-in server functions; they run inside a Leptos request, whose
// context holds the request parts and the app state.

fn parts() -> Result<http::request::Parts, AppError> {
    leptos::prelude::use_context::<http::request::Parts>().ok_or_else(|| AppError::Transport("no request".into()))
}

/// Sets the HTTP status that goes with `error` on the current response, and returns it. Not for
/// a plain HTML form (sent before the WASM has hydrated, or without JavaScript): Leptos answers
/// that with a redirect back to the form's page carrying the error, which the page shows next to
/// the form; an error status would leave the browser on the raw JSON instead.
pub fn fail(error: AppError) -> AppError {
    let plain_form = parts().is_ok_and(|parts| {
        parts.method == http::Method::POST
            && parts.headers.get(http::header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|accept| accept.contains("text/html"))
    });
    if !plain_form && let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    }
    error
}

/// Runs a service call for the signed-in person and maps its error once: the body of every
/// server function that is a door onto a service (`pick` chooses the service).
async fn call_service<S, T, E, Fut>(pick: impl FnOnce(&AppState) -> S, call: impl FnOnce(S, crate::domain::identity::Identity) -> Fut) -> Result<T, AppError>
where
    Fut: Future<Output = Result<T, E>>,
    E: Into<AppError>,
{
    let state = leptos::prelude::expect_context::<AppState>();
    let who = signed_in()?.identity;
    call(pick(&state), who).await.map_err(|e| fail(e.into()))
}

/// `call_service` on the credentials service.
pub async fn credentials<T, Fut>(call: impl FnOnce(crate::server::credentials::service::CredentialsService, crate::domain::identity::Identity) -> Fut) -> Result<T, AppError>
where
    Fut: Future<Output = Result<T, crate::server::credentials::service::ServiceError>>,
{
    call_service(|state| state.credentials.clone(), call).await
}

/// `call_service` on the project secrets service.
pub async fn project_secrets<T, Fut>(call: impl FnOnce(crate::server::project_secrets::ProjectSecretsService, crate::domain::identity::Identity) -> Fut) -> Result<T, AppError>
where
    Fut: Future<Output = Result<T, crate::server::project_secrets::ProjectSecretsError>>,
{
    call_service(|state| state.project_secrets.clone(), call).await
}

/// Who is calling, or `Unauthenticated`.
pub fn signed_in() -> Result<SignedIn, AppError> {
    parts()?.extensions.get::<SignedIn>().cloned().ok_or_else(|| fail(AppError::Unauthenticated))
}

fn client_addr(parts: &http::request::Parts, state: &AppState) -> IpAddr {
    state.auth.client_addr(peer(&parts.extensions), &parts.headers)
}

/// The session store's failure for a plain handler: the detail to the log, a 503 to the caller.
fn store_down(e: tower_sessions::session::Error) -> Response {
    tracing::error!(error = %e, "the session store failed");
    (StatusCode::SERVICE_UNAVAILABLE, "The session store is unavailable. Try again shortly.").into_response()
}

/// The session store's failure: the detail to the log (tagged with the request id by its span),
/// a fixed message to the caller.
fn store_failed(e: tower_sessions::session::Error) -> AppError {
    tracing::error!(error = %e, "the session store failed");
    fail(AppError::Unavailable("The session store is unavailable. Try again shortly.".into()))
}

/// Checks the credentials with `check` and, if they hold, starts a new session under a new id.
pub async fn sign_in<F>(check: impl FnOnce(AppState, IpAddr) -> F) -> Result<(), AppError>
where
    F: Future<Output = Result<SignedIn, SignInError>>,
{
    let state = leptos::prelude::expect_context::<AppState>();
    let parts = parts()?;
    let signed_in = check(state.clone(), client_addr(&parts, &state)).await.map_err(|e| fail(e.into()))?;
    let session = parts.extensions.get::<Session>().cloned().ok_or_else(|| AppError::Transport("no session".into()))?;
    // A new id at sign-in, so an id planted before it is worth nothing after.
    session.cycle_id().await.map_err(store_failed)?;
    session.insert(SESSION_KEY, signed_in).await.map_err(store_failed)?;
    Ok(())
}

/// Ends the session: it is deleted from the store and the cookie is cleared. Where the person
/// goes next: the sign-in page, through the identity provider's sign-out first when the session
/// came from it (RP-initiated logout), so "Sign out" does not leave them signed in there.
pub async fn sign_out() -> Result<String, AppError> {
    let parts = parts()?;
    let method = parts.extensions.get::<SignedIn>().map(|s| s.method);
    let mut id_token = None;
    if let Some(session) = parts.extensions.get::<Session>() {
        id_token = session.get::<String>(OIDC_ID_TOKEN).await.map_err(store_failed)?;
        session.flush().await.map_err(store_failed)?;
    }
    let state = leptos::prelude::expect_context::<AppState>();
    let provider = match (method, state.auth.oidc()) {
        (Some(SignInMethod::Oidc), Some(oidc)) => oidc.sign_out_url(id_token.as_deref()).await,
        _ => None,
    };
    Ok(provider.unwrap_or_else(|| "/login".into()))
}

/// The session keys of a single sign-on under way, and of the ID token it ended with.
const OIDC_PENDING: &str = "oidc-pending";
const OIDC_ID_TOKEN: &str = "oidc-id-token";

/// `GET /auth/oidc/start?next=…`: off to the identity provider, with this attempt's state, nonce
/// and PKCE verifier kept in the session.
pub async fn oidc_start(State(state): State<AppState>, session: Session, Query(query): Query<HashMap<String, String>>, request: Request) -> Response {
    let Some(oidc) = state.auth.oidc() else { return Redirect::to("/login?error=oidc-off").into_response() };
    if state.auth.oidc_start(state.auth.client_addr(peer(request.extensions()), request.headers())).is_err() {
        return Redirect::to("/login?error=oidc-too-many").into_response();
    }
    let next = super::redirect::after_sign_in(query.get("next").map_or("/credentials", String::as_str)).to_string();
    match oidc.start(next).await {
        Ok((url, pending)) => match session.insert(OIDC_PENDING, pending).await {
            Ok(()) => Redirect::to(&url).into_response(),
            Err(e) => store_down(e),
        },
        Err(e) => oidc_refused(e),
    }
}

/// `GET /auth/oidc/callback?code=…&state=…`: the provider's answer. The attempt is taken out of
/// the session first, so an answer (or a code) counts once.
pub async fn oidc_callback(State(state): State<AppState>, session: Session, Query(query): Query<HashMap<String, String>>) -> Response {
    let Some(oidc) = state.auth.oidc() else { return Redirect::to("/login?error=oidc-off").into_response() };
    let pending = match session.remove::<super::oidc::Pending>(OIDC_PENDING).await {
        Ok(pending) => pending,
        Err(e) => return store_down(e),
    };
    let Some(pending) = pending else { return oidc_refused(super::oidc::OidcError::State) };
    let next = pending.next.clone();
    let answer = |key: &str| query.get(key).map(String::as_str);
    let (identity, id_token) = match state.through_provider(oidc, pending, answer("state").unwrap_or_default(), answer("code"), answer("iss")).await {
        Ok(found) => found,
        Err(e) => return oidc_refused(e),
    };
    let started = async {
        session.cycle_id().await?;
        session.insert(SESSION_KEY, SignedIn::now(identity.clone(), SignInMethod::Oidc, None)).await?;
        session.insert(OIDC_ID_TOKEN, id_token).await
    };
    if let Err(e) = started.await {
        return store_down(e);
    }
    tracing::info!(target: "audit", user = %identity.user, groups = ?identity.groups, "signed in through the identity provider");
    crate::server::metrics::sign_in("oidc", "success");
    Redirect::to(&next).into_response()
}

/// Back to the sign-in page with the reason's code; the detail (a kind of failure, never a token)
/// goes to the log.
fn oidc_refused(e: super::oidc::OidcError) -> Response {
    tracing::warn!(target: "audit", reason = %e, "single sign-on refused");
    crate::server::metrics::sign_in("oidc", "refused");
    Redirect::to(&format!("/login?error={}", e.code())).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_url_decides_origin_and_cookie() {
        let web = WebSettings::new("https://keyhold.example.com/console", Duration::from_secs(60), Duration::from_secs(600)).unwrap();
        assert_eq!((web.origin.as_str(), web.secure, web.cookie_name()), ("https://keyhold.example.com", true, "__Host-keyhold-session"));
        let local = WebSettings::new("http://127.0.0.1:3000", Duration::from_secs(60), Duration::from_secs(600)).unwrap();
        assert_eq!((local.origin.as_str(), local.secure), ("http://127.0.0.1:3000", false));
        assert!(WebSettings::new("keyhold.example.com", Duration::ZERO, Duration::ZERO).is_err());
    }

    #[test]
    fn only_same_origin_requests_may_change_state() {
        let headers = |pairs: &[(&'static str, &'static str)]| pairs.iter().map(|(k, v)| (http::HeaderName::from_static(k), HeaderValue::from_static(v))).collect::<http::HeaderMap>();
        let origin = "http://127.0.0.1:3000";
        assert!(is_same_origin(&headers(&[("sec-fetch-site", "same-origin")]), origin));
        assert!(!is_same_origin(&headers(&[("sec-fetch-site", "cross-site"), ("origin", origin)]), origin));
        assert!(is_same_origin(&headers(&[("origin", origin)]), origin));
        assert!(!is_same_origin(&headers(&[("origin", "http://evil.example")]), origin));
        assert!(!is_same_origin(&headers(&[]), origin));
    }
}
