use leptos::prelude::*;
use leptos_meta::Title;

use crate::app::layout::PageHeader;

/// The Credentials page. The table itself comes with the credentials service; until then the page
/// says plainly that there is nothing to list.
#[component]
pub fn CredentialsPage() -> impl IntoView {
    view! {
        <Title text="Credentials" />
        <PageHeader title="Credentials" subtitle="Registry logins, access keys, passwords and secrets your workloads use" />
        <section class="card grid place-items-center px-6 py-16 text-center">
            <h2 class="text-lg font-semibold">"No credentials yet"</h2>
            <p class="mt-2 max-w-md text-sm text-slate-500 dark:text-slate-400">
                "Credentials you create here are stored as Kubernetes Secrets and shared with the projects in their scope."
            </p>
        </section>
    }
}
