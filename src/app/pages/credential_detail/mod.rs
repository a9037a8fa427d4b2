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
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::app::live::follow_changes;
use crate::app::pages::NotFoundPage;
use actions::{Actions, let_go_of_cluster, retry_propagation, test_credential};
use crate::app::components::connection::TestConnection;
use crate::domain::credential::Phase;
use crate::domain::lifecycle::{ActivityEntry, testable};
use attach::UseInWorkload;
use notebooks::OfferToNotebooks;
use crate::domain::AppError;
use crate::domain::query::CredentialRow;
use crate::domain::snippets::{Snippet, snippets};

/// What happened to a credential, newest first, to those who may see it.
#[server(endpoint = "credential_activity")]
pub async fn credential_activity(namespace: String, name: String) -> Result<Vec<ActivityEntry>, AppError> {
    crate::server::auth::web::credentials(|service, who| async move { service.activity(&who, &namespace, &name).await }).await
}

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
    let query = use_query_map();
    // Tabs are links (`?tab=activity`), so they work before the page has hydrated.
    let activity_shown = Memo::new(move |_| query.with(|q| q.get("tab").as_deref() == Some("activity")));
    let here = format!("/credentials/{}/{}", row.namespace, row.name);
    let tab = move |label: &'static str, href: String, current: bool| {
        let class = if current { "border-b-2 border-indigo-600 px-3 py-2 font-medium" } else { "px-3 py-2 text-slate-500 hover:text-slate-900 dark:hover:text-white" };
        view! { <a href=href class=class aria-current=current.then_some("page")>{label}</a> }
    };
    let tabs = {
        let here = here.clone();
        move || view! {
            <nav aria-label="Credential" class="mb-6 flex gap-2 border-b border-slate-200 text-sm dark:border-slate-700">
                {tab("Overview", here.clone(), !activity_shown.get())}
                {tab("Activity", format!("{here}?tab=activity"), activity_shown.get())}
            </nav>
        }
    };
    let stored = StoredValue::new(row.clone());
    view! {
        <Title text=row.display_name.clone() />
        <nav aria-label="Breadcrumb" class="mb-2 text-sm"><a href="/credentials" class="text-indigo-700 hover:underline dark:text-indigo-300">"Credentials"</a></nav>
        <div class="mb-4 flex flex-wrap items-start justify-between gap-4">
            <div>
                <h1 class="mb-1 text-2xl font-semibold tracking-tight">{row.display_name.clone()}</h1>
                <p class="text-sm text-slate-500 dark:text-slate-400">{row.description.clone()}</p>
            </div>
            {row.may_change.then(|| view! { <Actions row=row.clone() refreshes dialog_open /> })}
        </div>
        {tabs}
        <Show when=move || activity_shown.get() fallback=move || view! { <Overview row=stored.get_value() refreshes dialog_open /> }>
            <Activity row=stored.get_value() />
        </Show>
    }
}

#[component]
fn Overview(row: CredentialRow, refreshes: RwSignal<u32>, dialog_open: RwSignal<bool>) -> impl IntoView {
    let how_to = snippets(&row);
    let secret = format!("{}/{}", row.namespace, row.secret_name);
    let keys = if row.keys.is_empty() { "Not read yet".to_string() } else { row.keys.join(", ") };
    // The Cluster column only where a target is in a member cluster (Account scope).
    let clusters = row.targets.iter().any(|t| t.member);
    let targets = row
        .targets
        .iter()
        .map(|t| {
            let namespace = if t.namespace.is_empty() { "all projects".to_string() } else { t.namespace.clone() };
            let cluster = clusters.then(|| view! { <td>{t.cluster.clone()}</td> });
            view! { <tr>{cluster}<td class="font-mono text-xs">{namespace}</td><td>{t.phase.label()}</td><td class="font-mono text-xs">{t.version.clone()}</td><td>{t.message.clone()}</td></tr> }
        })
        .collect_view();
    let failed = row.targets.iter().any(|t| t.phase == Phase::Issues);
    let used_by = if row.in_use() {
        view! { <ul class="list-disc pl-5 text-sm">{row.users_described().into_iter().map(|u| view! { <li>{u}</li> }).collect_view()}</ul> }.into_any()
    } else {
        view! { <p class="text-sm text-slate-500 dark:text-slate-400">"No workload uses it."</p> }.into_any()
    };
    let expires = match row.expires_text() {
        text if text.is_empty() => "Never".to_string(),
        text => text,
    };
    let last_test = row.last_test.as_ref().map(|t| format!("{} {} ({})", if t.ok { "Passed:" } else { "Failed:" }, t.message, t.at));
    let (namespace, name) = (row.namespace.clone(), row.name.clone());
    let test = (row.may_change && testable(row.credential_type)).then(|| {
        let (namespace, name) = (namespace.clone(), name.clone());
        view! { <div class="mt-4"><TestConnection run=move || Box::pin(test_credential(namespace.clone(), name.clone())) /></div> }
    });
    let retry = Action::new(move |_: &()| retry_propagation(namespace.clone(), name.clone()));
    let retry_button = (row.may_change && failed).then(|| view! {
        <button type="button" class="btn-secondary mb-2" disabled=move || retry.pending().get() on:click=move |_| { retry.dispatch(()); }>"Retry"</button>
    });
    // A deletion waiting for a member cluster Keyhold cannot reach: an administrator may let go.
    let waiting: Vec<String> = row.targets.iter().filter(|t| t.phase == Phase::Deleting).map(|t| t.cluster.clone()).collect();
    let credential = (row.namespace.clone(), row.name.clone());
    let let_go = Action::new(move |cluster: &String| let_go_of_cluster(credential.0.clone(), credential.1.clone(), cluster.clone()));
    let let_go_buttons = row.may_change.then(|| {
        waiting
            .into_iter()
            .map(|cluster| {
                let label = format!("Let go of {cluster}");
                view! { <button type="button" class="btn-secondary mb-2 mr-2" disabled=move || let_go.pending().get() on:click=move |_| { let_go.dispatch(cluster.clone()); }>{label}</button> }
            })
            .collect_view()
    });
    view! {
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
                <Fact term="Expires" detail=expires />
                {last_test.map(|detail| view! { <Fact term="Last connection test" detail /> })}
            </dl>
            {test}
        </section>
        <h2 class="mb-2 text-lg font-semibold">"Propagation"</h2>
        {retry_button}
        {let_go_buttons}
        <div class="card mb-6 overflow-x-auto">
            <table class="data-table">
                <caption class="sr-only">"Propagation"</caption>
                <thead><tr>{clusters.then(|| view! { <th scope="col">"Cluster"</th> })}<th scope="col">"Namespace"</th><th scope="col">"Status"</th><th scope="col">"Value version"</th><th scope="col">"Detail"</th></tr></thead>
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

/// The Activity tab: what happened to the credential, newest first.
#[component]
fn Activity(row: CredentialRow) -> impl IntoView {
    let (namespace, name) = (row.namespace, row.name);
    let entries = Resource::new(|| (), move |_| credential_activity(namespace.clone(), name.clone()));
    view! {
        <Transition fallback=|| view! { <p class="text-sm">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let entries = entries.await?;
                let rows = entries
                    .into_iter()
                    .map(|e| view! { <tr><td class="whitespace-nowrap"><time datetime=e.at.clone()>{e.at.clone()}</time></td><td>{e.action}</td><td>{e.by}</td><td>{e.detail}</td></tr> })
                    .collect_view();
                Ok::<_, AppError>(view! {
                    <div class="card overflow-x-auto">
                        <table class="data-table">
                            <caption class="sr-only">"Activity"</caption>
                            <thead><tr><th scope="col">"When"</th><th scope="col">"What"</th><th scope="col">"Who"</th><th scope="col">"Detail"</th></tr></thead>
                            <tbody>{rows}</tbody>
                        </table>
                    </div>
                })
            })}
        </Transition>
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
