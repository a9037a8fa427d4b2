//! A credential's page, `/credentials/{namespace}/{name}`: what it is, where its Secret is and in
//! what state, who uses it, and how to use it, with the actions on it for those who may change it.
//! Key names only, never a value. The page follows changes, so a new credential's status moves on
//! by itself.

mod actions;
mod attach;
mod notebooks;
mod replace;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::app::live::follow_changes;
use crate::app::pages::NotFoundPage;
use actions::Actions;
use attach::UseInWorkload;
use notebooks::OfferToNotebooks;
use crate::domain::AppError;
use crate::domain::query::CredentialRow;
use crate::domain::snippets::{Snippet, snippets};

/// One credential, to those who may see it; `NotFound` to everyone else.
#[server(endpoint = "get_credential")]
pub async fn get_credential(namespace: String, name: String) -> Result<CredentialRow, AppError> {
    use crate::server::auth::web;
    let state = expect_context::<crate::server::AppState>();
    state.credentials.get(&web::signed_in()?.identity, &namespace, &name).await.map_err(|e| web::fail(e.into()))
}

#[component]
pub fn CredentialDetailPage() -> impl IntoView {
    let params = use_params_map();
    let refreshes = RwSignal::new(0u32);
    // While a dialog is open the page stays as it is (a re-read would close it); closing one re-reads.
    let dialog_open = RwSignal::new(false);
    follow_changes(move || {
        if !dialog_open.get_untracked() {
            refreshes.try_update(|n| *n += 1);
        }
    });
    let credential = Resource::new(
        move || (params.with(|p| (p.get("namespace").unwrap_or_default(), p.get("name").unwrap_or_default())), refreshes.get()),
        |((namespace, name), _)| get_credential(namespace, name),
    );
    view! {
        <Transition>
            {move || Suspend::new(async move {
                match credential.await {
                    Ok(row) => Ok(view! { <CredentialDetail row refreshes dialog_open /> }.into_any()),
                    Err(AppError::NotFound(_)) => Ok(view! { <NotFoundPage /> }.into_any()),
                    Err(e) => Err(e),
                }
            })}
        </Transition>
    }
}

#[component]
fn CredentialDetail(row: CredentialRow, refreshes: RwSignal<u32>, dialog_open: RwSignal<bool>) -> impl IntoView {
    let how_to = snippets(&row);
    let secret = format!("{}/{}", row.namespace, row.secret_name);
    let keys = if row.keys.is_empty() { "Not read yet".to_string() } else { row.keys.join(", ") };
    let targets = row
        .targets
        .iter()
        .map(|t| view! { <tr><td class="font-mono text-xs">{t.namespace.clone()}</td><td>{t.phase.label()}</td><td>{t.message.clone()}</td></tr> })
        .collect_view();
    let used_by = if row.in_use() {
        view! { <ul class="list-disc pl-5 text-sm">{row.users_described().into_iter().map(|u| view! { <li>{u}</li> }).collect_view()}</ul> }.into_any()
    } else {
        view! { <p class="text-sm text-slate-500">"No workload uses it."</p> }.into_any()
    };
    view! {
        <Title text=row.display_name.clone() />
        <nav aria-label="Breadcrumb" class="mb-2 text-sm"><a href="/credentials" class="text-indigo-700 hover:underline dark:text-indigo-300">"Credentials"</a></nav>
        <div class="mb-6 flex flex-wrap items-start justify-between gap-4">
            <div>
                <h1 class="mb-1 text-2xl font-semibold tracking-tight">{row.display_name.clone()}</h1>
                <p class="text-sm text-slate-500 dark:text-slate-400">{row.description.clone()}</p>
            </div>
            {row.may_change.then(|| view! { <Actions row=row.clone() refreshes dialog_open /> })}
        </div>
        <section class="card mb-6 p-6">
            <dl class="grid grid-cols-1 gap-x-8 gap-y-3 text-sm sm:grid-cols-2">
                <Fact term="Type" detail=row.credential_type.label().to_string() />
                <div>
                    <dt class="font-medium text-slate-500 dark:text-slate-400">"Status"</dt>
                    <dd class="mt-0.5" role="status">{row.phase.label()}</dd>
                </div>
                <Fact term="Scope" detail=row.scope_path.clone() />
                <Fact term="Kubernetes Secret" detail=secret />
                <Fact term="Created by" detail=row.created_by.clone() />
                <Fact term="Created" detail=row.created_at.clone() />
                <Fact term="Keys" detail=keys />
            </dl>
        </section>
        <h2 class="mb-2 text-lg font-semibold">"Propagation"</h2>
        <div class="card mb-6 overflow-x-auto">
            <table class="data-table">
                <caption class="sr-only">"Propagation"</caption>
                <thead><tr><th scope="col">"Namespace"</th><th scope="col">"Status"</th><th scope="col">"Detail"</th></tr></thead>
                <tbody>{targets}</tbody>
            </table>
        </div>
        <h2 class="mb-2 text-lg font-semibold">"Used by"</h2>
        <div class="mb-6">
            {used_by}
            <div class="flex flex-wrap items-center">
                <UseInWorkload row=row.clone() dialog_open refreshes />
                <OfferToNotebooks row=row.clone() />
            </div>
        </div>
        <h2 class="mb-2 text-lg font-semibold">"How to use"</h2>
        {how_to.into_iter().map(|snippet| view! { <SnippetCard snippet /> }).collect_view()}
    }
}

#[component]
fn Fact(term: &'static str, detail: String) -> impl IntoView {
    view! {
        <div>
            <dt class="font-medium text-slate-500 dark:text-slate-400">{term}</dt>
            <dd class="mt-0.5 break-words">{detail}</dd>
        </div>
    }
}

/// A snippet with a button that copies it.
#[component]
fn SnippetCard(snippet: Snippet) -> impl IntoView {
    let copied = RwSignal::new(false);
    let text = snippet.text.clone();
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let _ = window().navigator().clipboard().write_text(&text);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &text;
        copied.set(true);
    };
    view! {
        <section class="card mb-4 p-4">
            <div class="mb-2 flex items-center justify-between gap-2">
                <h3 class="text-sm font-semibold">{snippet.title}</h3>
                <button type="button" class="btn-secondary" aria-label=format!("Copy {}", snippet.title) on:click=copy>
                    {move || if copied.get() { "Copied" } else { "Copy" }}
                </button>
            </div>
            <pre class="overflow-x-auto rounded bg-slate-100 p-3 text-xs dark:bg-slate-800"><code>{snippet.text}</code></pre>
        </section>
    }
}
