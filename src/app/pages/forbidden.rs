use leptos::prelude::*;

use super::status_page::StatusPage;

/// What a signed-in person sees on a page their roles do not open.
#[component]
pub fn ForbiddenPage(message: String) -> impl IntoView {
    view! {
        <StatusPage status=403 title="You do not have access to this page">
            <p class="mt-2 text-sm text-slate-500 dark:text-slate-400">{message}</p>
            <p class="mt-2 text-sm text-slate-500 dark:text-slate-400">"Ask your platform administrator for a Keyhold role (viewer, editor or admin) in a project."</p>
        </StatusPage>
    }
}
