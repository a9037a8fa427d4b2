//! The table itself: sortable headers, the rows, the status badges with their per-namespace detail,
//! the pager, and the empty and loading states. Rendered whole on the server, readable without
//! JavaScript; sorting and paging are links.

use leptos::prelude::*;

use super::{TableData, TableState, href};
use crate::domain::credential::Phase;
use crate::domain::lifecycle::Expiry;
use crate::domain::csv::download_query;
use crate::domain::query::{Column, CredentialRow, Direction, PAGE_SIZES, Page};
use crate::domain::time::{ago, time_of_day};

#[component]
pub fn CredentialsTable(state: TableState, read: TableData, may_create: bool) -> impl IntoView {
    let TableData { listing, hidden_columns } = read;
    let read_at = listing.read_at;
    let page = listing.page;
    let query = state.query.get_untracked();
    let columns = move || {
        let hidden = state.hidden.get().unwrap_or_else(|| hidden_columns.clone());
        Column::ALL.into_iter().filter(|c| !hidden.contains(c)).collect::<Vec<_>>()
    };
    let columns = Memo::new(move |_| columns());
    let updated = time_of_day(&read_at).to_string();
    let summary = format!("{} credential{}", page.total, if page.total == 1 { "" } else { "s" });

    let body = if page.total == 0 {
        view! { <EmptyState narrowed=query.narrows() cleared=href(&query.cleared()) may_create /> }.into_any()
    } else {
        let rows = page.rows.clone();
        let read_at = read_at.clone();
        view! {
            <div class="card scroll-frame" data-testid="table-frame">
                <p class="scroll-hint sticky left-0 px-3 pt-2 text-xs text-slate-500 dark:text-slate-400">"Scroll sideways for more columns →"</p>
                <table class="data-table">
                    <caption class="sr-only">"Credentials"</caption>
                    <thead>
                        <tr>
                            {move || columns.get().into_iter().map(|c| view! { <SortHeader state column=c /> }).collect_view()}
                        </tr>
                    </thead>
                    <tbody>
                        {rows
                            .into_iter()
                            .map(|row| {
                                let read_at = read_at.clone();
                                view! { <Row row read_at columns /> }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
            <Pager state page />
        }
        .into_any()
    };
    // The whole view, every page, in the columns shown: written by the server as it reads.
    let csv = move || format!("/credentials.csv?{}", download_query(&query, &columns.get()));
    view! {
        <div class="mb-3 flex flex-wrap items-center justify-between gap-2">
            <p class="text-xs text-slate-500 dark:text-slate-400">
                {summary} " · Last updated " <time datetime=read_at.clone()>{updated}</time> " UTC"
            </p>
            <a href=csv download="credentials.csv" class="btn-secondary">"Download CSV"</a>
        </div>
        {body}
    }
}

/// A column header: a link that sorts by it (ascending, descending, off), its state in `aria-sort`.
#[component]
fn SortHeader(state: TableState, column: Column) -> impl IntoView {
    let query = state.query.get_untracked();
    let sorted = query.sort.filter(|(c, _)| *c == column).map(|(_, d)| d);
    let (aria, arrow) = match sorted {
        Some(Direction::Ascending) => (Some("ascending"), "▲"),
        Some(Direction::Descending) => (Some("descending"), "▼"),
        None => (None, ""),
    };
    view! {
        <th scope="col" aria-sort=aria>
            <a href=href(&query.sorted_by(column)) class="inline-flex items-center gap-1 rounded hover:text-slate-900 focus-ring dark:hover:text-white">
                {column.label()}
                <span aria-hidden="true">{arrow}</span>
            </a>
        </th>
    }
}

#[component]
fn Row(row: CredentialRow, read_at: String, columns: Memo<Vec<Column>>) -> impl IntoView {
    let cell = move |column: Column| -> AnyView {
        let row = &row;
        match column {
            Column::Credential => {
                let link = format!("/credentials/{}/{}", row.namespace, row.name);
                view! { <td class="font-medium"><a href=link class="text-indigo-700 hover:underline focus-ring dark:text-indigo-300">{row.display_name.clone()}</a></td> }.into_any()
            }
            Column::KubernetesName => view! {
                <td class="whitespace-nowrap font-mono text-xs">
                    {format!("{}/{}", row.namespace, row.name)}
                    <br />
                    <span class="text-slate-500 dark:text-slate-400">{format!("Secret {}", row.secret_name)}</span>
                </td>
            }
            .into_any(),
            Column::Description => view! { <td class="max-w-56 truncate" title=row.description.clone()>{row.description.clone()}</td> }.into_any(),
            Column::Type => view! { <td>{row.credential_type.label()}</td> }.into_any(),
            Column::Status => view! { <td><StatusBadge row=row.clone() /></td> }.into_any(),
            Column::DataSources => view! { <td><DataSources used_by=row.used_by.clone() unseen=row.unseen_note() /></td> }.into_any(),
            Column::CreatedBy => view! { <td>{row.created_by.clone()}</td> }.into_any(),
            Column::Scope => view! { <td class="whitespace-nowrap">{row.scope_path.clone()}</td> }.into_any(),
            Column::CreationTime => {
                let when = ago(&row.created_at, &read_at);
                view! { <td class="whitespace-nowrap"><time datetime=row.created_at.clone() title=row.created_at.clone()>{when}</time></td> }.into_any()
            }
            Column::Cluster => view! { <td>{row.cluster.clone()}</td> }.into_any(),
            Column::Expires => {
                let tone = match row.expiry {
                    Expiry::Expired => "badge badge-bad",
                    Expiry::Soon(_) => "badge badge-busy",
                    Expiry::Never | Expiry::Later => "",
                };
                view! { <td class="whitespace-nowrap">{row.expires_on.clone()}" "<span class=tone>{row.expiry.label()}</span></td> }.into_any()
            }
        }
    };
    view! { <tr>{move || columns.get().into_iter().map(&cell).collect_view()}</tr> }
}

/// The phase as a badge; hovering or focusing it shows the state in each namespace.
#[component]
fn StatusBadge(row: CredentialRow) -> impl IntoView {
    let tone = match row.phase {
        Phase::Ready => "badge-ok",
        Phase::Issues => "badge-bad",
        Phase::Creating | Phase::Deleting => "badge-busy",
        Phase::Unknown => "badge-none",
    };
    let id = format!("status-{}-{}", row.namespace, row.name);
    let detail = if row.targets.is_empty() {
        view! { <li>"Not yet reconciled"</li> }.into_any()
    } else {
        row.targets
            .iter()
            .map(|t| {
                let reason = if t.message.is_empty() { String::new() } else { format!(": {}", t.message) };
                view! { <li>{format!("{}: {}{reason}", t.place(), t.phase.label())}</li> }
            })
            .collect_view()
            .into_any()
    };
    view! {
        <span class="group relative inline-block">
            <button type="button" class=format!("badge {tone}") aria-describedby=id.clone()>{row.phase.label()}</button>
            <span role="tooltip" id=id class="tooltip">
                <ul>{detail}</ul>
            </span>
        </span>
    }
}

/// The workloads that use the credential, by kind and name, and how many the reader may not see.
#[component]
fn DataSources(used_by: Vec<String>, unseen: Option<String>) -> impl IntoView {
    if used_by.is_empty() && unseen.is_none() {
        return view! { <span class="text-slate-400">"—"</span> }.into_any();
    }
    // `Kind/namespace/name`: the namespace is in the Scope column already.
    let shown = used_by.into_iter().map(|u| {
        let mut parts = u.splitn(3, '/');
        let (kind, _, name) = (parts.next().unwrap_or_default().to_string(), parts.next(), parts.next().unwrap_or_default().to_string());
        view! { <li title=u.clone()>{format!("{kind} {name}")}</li> }
    });
    let unseen = unseen.into_iter().map(|note| view! { <li class="text-slate-500">{note}</li> });
    view! { <ul class="text-xs">{shown.collect_view()}{unseen.collect_view()}</ul> }.into_any()
}

/// Page sizes and moving between pages; links, so they work without JavaScript.
#[component]
fn Pager(state: TableState, page: Page) -> impl IntoView {
    let query = state.query.get_untracked();
    let first = (page.page - 1) * page.per_page + 1;
    let last = (first + page.rows.len()).saturating_sub(1);
    let link = |n: usize, label: &'static str, available: bool| {
        if available {
            view! { <a href=href(&query.at_page(n, page.per_page)) class="btn-secondary">{label}</a> }.into_any()
        } else {
            view! { <span class="btn-secondary opacity-50" aria-disabled="true">{label}</span> }.into_any()
        }
    };
    let sizes = PAGE_SIZES.map(|size| {
        let target = href(&query.at_page(1, size));
        let current = size == page.per_page;
        view! {
            <a href=target aria-current=current.then_some("true") class=if current { "pager-size pager-size-current" } else { "pager-size" }>
                {size.to_string()}
            </a>
        }
    });
    view! {
        <nav aria-label="Pages" class="mt-3 flex flex-wrap items-center justify-between gap-3 text-sm">
            <p class="flex items-center gap-1">"Rows per page " {sizes.into_iter().collect_view()}</p>
            <p>{format!("{first}–{last} of {}", page.total)}</p>
            <p class="flex gap-2">
                {link(page.page - 1, "Previous page", page.page > 1)}
                {link(page.page + 1, "Next page", page.page < page.pages())}
            </p>
        </nav>
    }
}

/// No rows: either nothing exists yet, or nothing matches the search and filters.
#[component]
fn EmptyState(narrowed: bool, cleared: String, may_create: bool) -> impl IntoView {
    let (title, text) = if narrowed {
        ("No credentials match", "Nothing matches this search and these filters.")
    } else {
        ("No credentials yet", "Credentials you create here are stored as Kubernetes Secrets and shared with the projects in their scope.")
    };
    view! {
        <section class="card grid place-items-center px-6 py-16 text-center">
            <h2 class="text-lg font-semibold">{title}</h2>
            <p class="mt-2 max-w-md text-sm text-slate-500 dark:text-slate-400">{text}</p>
            <div class="mt-4">
                {if narrowed {
                    Some(view! { <a href=cleared class="btn-secondary">"Clear filters"</a> }.into_any())
                } else {
                    may_create.then(|| view! { <a href="/credentials/new" class="btn-primary">"New credential"</a> }.into_any())
                }}
            </div>
        </section>
    }
}

/// Grey rows while the first read is under way.
#[component]
pub fn TableSkeleton() -> impl IntoView {
    view! {
        <div class="card p-4" aria-busy="true" aria-label="Loading credentials">
            {(0..5).map(|_| view! { <div class="mb-3 h-5 animate-pulse rounded bg-slate-200 dark:bg-slate-800"></div> }).collect_view()}
        </div>
    }
}
