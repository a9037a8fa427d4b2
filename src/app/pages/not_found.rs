use leptos::prelude::*;

use super::status_page::StatusPage;

#[component]
pub fn NotFoundPage() -> impl IntoView {
    view! {
        <StatusPage status=404 title="Page not found">
            <p class="mt-2 text-sm text-slate-500 dark:text-slate-400">"There is nothing at this address."</p>
            <a href="/credentials" class="btn-primary mt-6">"Go to Credentials"</a>
        </StatusPage>
    }
}
