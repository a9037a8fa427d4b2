//! The Credentials page: the table of every credential the person may list, its toolbar, and the
//! server functions behind them (thin doors onto the credentials service and the preferences).
//! Everything the table shows is decided by the address's query (see `ListQuery`), so links share
//! it and Back returns to it.

mod table;
mod toolbar;

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos_meta::Title;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::params::ParamsMap;
use serde::{Deserialize, Serialize};

use crate::app::auth::use_current_user;
use crate::app::layout::PageHeader;
use crate::app::live::follow_changes;
use crate::app::pages::ForbiddenPage;
use crate::domain::AppError;
use crate::domain::query::{Column, ListQuery, Listing};
use crate::domain::time::time_of_day;
use table::{CredentialsTable, TableSkeleton};
use toolbar::Toolbar;

/// One read of the table for the signed-in person: a page of rows and the columns they hide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TableData {
    pub listing: Listing,
    pub hidden_columns: Vec<Column>,
}

#[server(endpoint = "list_credentials", input = Json)]
pub async fn list_credentials(query: ListQuery) -> Result<TableData, AppError> {
    use crate::server::auth::web;
    let state = expect_context::<crate::server::AppState>();
    let who = web::signed_in()?.identity;
    let listing = state.credentials.list(&who, &query).await.map_err(|e| web::fail(e.into()))?;
    Ok(TableData { listing, hidden_columns: state.preferences.hidden_columns(&who.user) })
}

/// The values a filter picker offers, read when it opens: with thousands of projects, too many to
/// send with every page.
#[server(endpoint = "filter_choices", input = Json)]
pub async fn filter_choices(column: Column) -> Result<Vec<String>, AppError> {
    use crate::server::auth::web;
    let state = expect_context::<crate::server::AppState>();
    let who = web::signed_in()?.identity;
    state.credentials.choices(&who, column).await.map_err(|e| web::fail(e.into()))
}

/// Remembers the columns the signed-in person hides, for every later visit.
#[server(endpoint = "hide_columns", input = Json)]
pub async fn hide_columns(columns: Vec<Column>) -> Result<(), AppError> {
    use crate::server::auth::web;
    let state = expect_context::<crate::server::AppState>();
    let who = web::signed_in()?.identity;
    state.preferences.hide_columns(&who.user, &columns).await.map_err(|e| web::fail(crate::server::kube_errors::app_error(e)))
}

/// The Credentials page, for people who may list credentials somewhere. The table's read starts
/// with the page, alongside the signed-in user's, not after it.
#[component]
pub fn CredentialsPage() -> impl IntoView {
    let user = use_current_user();
    let state = TableState::new();
    view! {
        <Title text="Credentials" />
        <Suspense>
            {move || Suspend::new(async move {
                user.await.map(|u| {
                    if u.permissions.list_credentials {
                        view! { <CredentialsView state may_create=u.permissions.create_credentials /> }.into_any()
                    } else {
                        view! { <ForbiddenPage message="Your roles do not include credentials in any project.".into() /> }.into_any()
                    }
                })
            })}
        </Suspense>
    }
}

/// The page's address for a query.
fn href(query: &ListQuery) -> String {
    match query.to_query_string() {
        q if q.is_empty() => "/credentials".to_string(),
        q => format!("/credentials?{q}"),
    }
}

fn query_of(params: &ParamsMap) -> ListQuery {
    let pairs: Vec<(String, String)> = params
        .latest_values()
        .flat_map(|(key, _)| params.get_all(key).unwrap_or_default().into_iter().map(move |value| (key.to_string(), value)))
        .collect();
    ListQuery::from_params(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// What the page's parts share: the query from the address, a way to go to another one, the
/// latest read, and the columns the person hides.
#[derive(Clone, Copy)]
struct TableState {
    query: Memo<ListQuery>,
    /// Goes to the page for a query (a new history entry, so Back returns).
    go: Callback<ListQuery>,
    data: Resource<Result<TableData, AppError>>,
    refreshes: RwSignal<u32>,
    /// The person's latest choice of hidden columns, until the next read carries it.
    hidden: RwSignal<Option<Vec<Column>>>,
}

impl TableState {
    /// The state of the page at the current address; the first read starts at once.
    fn new() -> Self {
        let params = use_query_map();
        let query = Memo::new(move |_| params.with(query_of));
        let navigate = use_navigate();
        let go = Callback::new(move |query: ListQuery| navigate(&href(&query), NavigateOptions { scroll: false, ..Default::default() }));
        let refreshes = RwSignal::new(0u32);
        let data = Resource::new(move || (query.get(), refreshes.get()), |(query, _)| list_credentials(query));
        TableState { query, go, data, refreshes, hidden: RwSignal::new(None) }
    }

    fn hidden_columns(&self) -> Vec<Column> {
        self.hidden.get().or_else(|| self.data.get().and_then(Result::ok).map(|d| d.hidden_columns)).unwrap_or_default()
    }

    fn refresh(&self) {
        self.refreshes.update(|n| *n += 1);
    }
}

#[component]
fn CredentialsView(state: TableState, may_create: bool) -> impl IntoView {
    let data = state.data;
    follow_changes(move || state.refresh());
    // The last table read, kept on screen (with a banner) when a later read fails.
    let last_good = StoredValue::new(None::<TableData>);

    view! {
        <PageHeader title="Credentials" subtitle="Registry logins, access keys, passwords and secrets your workloads use">
            {may_create.then(|| view! { <a href="/credentials/new" class="btn-primary">"New credential"</a> })}
        </PageHeader>
        <Toolbar state />
        <Transition fallback=|| view! { <TableSkeleton /> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(read) => {
                        last_good.set_value(Some(read.clone()));
                        view! { <CredentialsTable state read may_create /> }.into_any()
                    }
                    Err(AppError::Forbidden(message)) => view! { <ForbiddenPage message /> }.into_any(),
                    Err(error) => {
                        let shown = last_good.get_value();
                        view! {
                            <ReadFailed error shown_from=shown.as_ref().map(|d| d.listing.read_at.clone()) state />
                            {shown.map(|read| view! { <CredentialsTable state read may_create /> })}
                        }
                        .into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// The banner when the table could not be read: why, how old the rows still shown are, and a
/// retry.
#[component]
fn ReadFailed(error: AppError, shown_from: Option<String>, state: TableState) -> impl IntoView {
    view! {
        <div role="alert" class="mb-4 flex flex-wrap items-center justify-between gap-3 rounded-lg border border-amber-300 bg-amber-50 p-4 text-sm text-amber-900 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-200">
            <div>
                <p class="font-semibold">"Could not load credentials"</p>
                <p>{error.to_string()}</p>
                {shown_from.map(|at| {
                    let time = time_of_day(&at).to_string();
                    view! { <p>"Showing data from " <time datetime=at>{time}</time> " UTC."</p> }
                })}
            </div>
            <button type="button" class="btn-secondary" on:click=move |_| state.refresh()>"Retry"</button>
        </div>
    }
}
