use leptos::prelude::*;
use leptos_meta::Title;

use crate::app::layout::PageHeader;
use crate::app::pages::ForbiddenPage;
use crate::domain::AppError;
use crate::domain::project::{ProjectList, ProjectSummary};

/// The projects the signed-in person has a role in, read from the server's watch cache.
#[server(endpoint = "list_projects")]
pub async fn list_projects() -> Result<ProjectList, AppError> {
    use crate::server::auth::web;
    let state = expect_context::<crate::server::AppState>();
    state.visible_projects(&web::signed_in()?.identity).await.map_err(web::fail)
}

#[component]
pub fn ProjectsPage() -> impl IntoView {
    let refreshes = RwSignal::new(0u32);
    let projects = Resource::new(move || refreshes.get(), |_| list_projects());

    view! {
        <Title text="Projects" />
        // The page answers from its data: a 403 page for someone with no role in any project, other
        // failures to the layout's error boundary.
        <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading projects…"</p> }>
            {move || Suspend::new(async move {
                match projects.await {
                    Ok(list) => Ok(view! {
                        <PageHeader title="Projects" subtitle="Namespaces labelled keyhold.dev/project, grouped by department">
                            <button type="button" class="btn-secondary" on:click=move |_| refreshes.update(|n| *n += 1)>
                                "Refresh"
                            </button>
                        </PageHeader>
                        <ProjectTable list />
                    }
                    .into_any()),
                    Err(AppError::Forbidden(message)) => Ok(view! { <ForbiddenPage message /> }.into_any()),
                    Err(e) => Err(e),
                }
            })}
        </Transition>
    }
}

#[component]
fn ProjectTable(list: ProjectList) -> impl IntoView {
    let read_at = list.read_at.clone();
    let time_of_day = read_at.get(11..19).unwrap_or_default().to_string();
    let rows = list.projects.into_iter().map(|p| view! { <ProjectRow project=p /> }).collect_view();
    view! {
        <p class="mb-3 text-xs text-slate-500 dark:text-slate-400">
            "Last updated " <time datetime=read_at>{time_of_day}</time>
        </p>
        <div class="card overflow-x-auto">
            <table class="data-table">
                <thead>
                    <tr>
                        <th scope="col">"Project"</th>
                        <th scope="col">"Department"</th>
                        <th scope="col">"Namespace"</th>
                        <th scope="col">"Credentials"</th>
                        <th scope="col">"Secrets"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

#[component]
fn ProjectRow(project: ProjectSummary) -> impl IntoView {
    view! {
        <tr>
            <td class="font-medium">{project.name.clone()}</td>
            <td>{project.department.unwrap_or_else(|| "—".into())}</td>
            <td class="font-mono text-xs">{project.namespace}</td>
            <td>{project.credentials.map(|n| n.to_string()).unwrap_or_default()}</td>
            <td>
                <a href=format!("/projects/{}/settings/secrets", crate::domain::url::encode(&project.name)) class="text-indigo-700 hover:underline dark:text-indigo-300"
                    aria-label=format!("Secrets of {}", project.name)>
                    {match project.secret_keys {
                        Some(1) => "1 key".to_string(),
                        Some(n) => format!("{n} keys"),
                        None => "Secrets".to_string(),
                    }}
                </a>
            </td>
        </tr>
    }
}
