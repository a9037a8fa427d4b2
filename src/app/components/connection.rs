//! "Test connection": a button that asks the server to sign in with the values (typed in a
//! wizard, or a saved credential's) and shows what it found. The answer is one sentence, never a
//! value.

use std::future::Future;
use std::pin::Pin;

use leptos::prelude::*;

use crate::domain::AppError;
use crate::domain::lifecycle::TestOutcome;

type Test = Pin<Box<dyn Future<Output = Result<TestOutcome, AppError>> + Send>>;

#[component]
pub fn TestConnection(run: impl Fn() -> Test + Send + Sync + 'static) -> impl IntoView {
    let test = Action::new(move |_: &()| run());
    let shown = move || {
        test.value().get().map(|answer| {
            let (tone, message) = match answer {
                Ok(outcome) if outcome.ok => ("badge badge-ok", outcome.message),
                Ok(outcome) => ("badge badge-bad", outcome.message),
                Err(e) => ("badge badge-bad", e.to_string()),
            };
            view! { <span class=tone>{message}</span> }
        })
    };
    view! {
        <div class="flex flex-wrap items-center gap-3">
            <button type="button" class="btn-secondary" disabled=move || test.pending().get() on:click=move |_| { test.dispatch(()); }>
                {move || if test.pending().get() { "Testing…" } else { "Test connection" }}
            </button>
            <span role="status" aria-live="polite" class="text-sm">{shown}</span>
        </div>
    }
}
