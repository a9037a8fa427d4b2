//! Live updates for the browser: a server-sent event stream that says "the credentials changed".
//! The event carries nothing; the page re-reads its table through the credentials service, which
//! applies the reader's permissions. Its timing still says that something changed somewhere, so
//! only people who may list credentials somewhere get it.

use std::convert::Infallible;
use std::time::Duration;

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};

use crate::domain::identity::Identity;
use crate::server::AppState;
use crate::server::auth::SignedIn;

/// A burst of changes (a controller pass over many credentials) becomes one event this long after
/// its first change.
const COALESCE: Duration = Duration::from_millis(300);

/// `GET /api/events/credentials`, for a signed-in browser.
pub async fn credential_changes(State(state): State<AppState>, signed_in: Option<Extension<SignedIn>>) -> Response {
    match signed_in {
        Some(Extension(signed_in)) => stream(&state, &signed_in.identity).await,
        None => (StatusCode::UNAUTHORIZED, "Sign in first.").into_response(),
    }
}

/// The stream itself, for the browser's door above and the REST API's (`keyhold credential list
/// --watch`), each of which has found its caller.
pub async fn stream(state: &AppState, who: &Identity) -> Response {
    match state.credentials.may_somewhere(who, "list").await {
        Ok(true) => {
            let stream = changes(state.credentials.changes()).take_until(state.stopping.clone().wait());
            Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
        }
        Ok(false) => (StatusCode::FORBIDDEN, "You may not list credentials anywhere.").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "could not check who may follow credential changes");
            (StatusCode::SERVICE_UNAVAILABLE, "Try again shortly.").into_response()
        }
    }
}

fn changes(mut receiver: tokio::sync::watch::Receiver<u64>) -> impl Stream<Item = Result<Event, Infallible>> {
    receiver.mark_unchanged();
    futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.changed().await.ok()?;
        tokio::time::sleep(COALESCE).await;
        receiver.mark_unchanged();
        Some((Ok(Event::default().event("changed").data("credentials")), receiver))
    })
}
