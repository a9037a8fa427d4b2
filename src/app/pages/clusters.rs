//! `/clusters`, for administrators: this cluster and the member clusters registered with
//! `keyhold cluster add`, reachable or not since when, their Kubernetes version and projects.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::app::layout::PageHeader;
use crate::app::pages::ForbiddenPage;
use crate::domain::AppError;
use crate::domain::cluster::MemberCluster;

#[server(endpoint = "list_clusters")]
pub async fn list_clusters() -> Result<Vec<MemberCluster>, AppError> {
    use crate::server::auth::web;
    let state = expect_context::<crate::server::AppState>();
    state.clusters.list(&web::signed_in()?.identity).await.map_err(|e| web::fail(e.into()))
}

#[component]
pub fn ClustersPage() -> impl IntoView {
    let refreshes = RwSignal::new(0u32);
    let clusters = Resource::new(move || refreshes.get(), |_| list_clusters());
    view! {
        <Title text="Clusters" />
        <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading clusters…"</p> }>
            {move || Suspend::new(async move {
                match clusters.await {
                    Ok(clusters) => Ok(view! {
                        <PageHeader title="Clusters" subtitle="This cluster and the members added with keyhold cluster add">
                            <button type="button" class="btn-secondary" on:click=move |_| refreshes.update(|n| *n += 1)>"Refresh"</button>
                        </PageHeader>
                        <div class="card overflow-x-auto">
                            <table class="data-table">
                                <caption class="sr-only">"Clusters"</caption>
                                <thead><tr><th scope="col">"Cluster"</th><th scope="col">"API server"</th><th scope="col">"Status"</th><th scope="col">"Kubernetes"</th><th scope="col">"Projects"</th></tr></thead>
                                <tbody>{clusters.into_iter().map(|c| view! { <ClusterRow cluster=c /> }).collect_view()}</tbody>
                            </table>
                        </div>
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
fn ClusterRow(cluster: MemberCluster) -> impl IntoView {
    let since = cluster.since.get(..16).unwrap_or_default().replace('T', " ");
    let status = match (cluster.reachable, cluster.since.is_empty()) {
        (_, true) => "Not probed yet".to_string(),
        (true, false) => format!("Reachable since {since} UTC"),
        (false, false) => format!("Unreachable since {since} UTC: {}", cluster.message),
    };
    let tone = if cluster.reachable { "badge badge-ok" } else { "badge badge-bad" };
    view! {
        <tr>
            <td class="font-medium">{cluster.name}{cluster.home.then_some(" (this cluster)")}</td>
            <td class="font-mono text-xs">{cluster.server}</td>
            <td><span class=tone>{status}</span></td>
            <td>{cluster.version}</td>
            <td>{cluster.projects.join(", ")}</td>
        </tr>
    }
}
