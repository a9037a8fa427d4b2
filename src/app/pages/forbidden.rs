use leptos::prelude::*;
use leptos_meta::Title;

/// What a signed-in person sees on a page their roles do not open, answered with status 403.
#[component]
pub fn ForbiddenPage(message: String) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::FORBIDDEN);
    }
    view! {
        <Title text="Not allowed" />
        <section class="card mx-auto max-w-lg px-8 py-12 text-center">
            <p class="text-sm font-semibold text-indigo-600 dark:text-indigo-400">"403"</p>
            <h1 class="mt-2 text-2xl font-semibold tracking-tight">"You do not have access to this page"</h1>
            <p class="mt-2 text-sm text-slate-500 dark:text-slate-400">{message}</p>
            <p class="mt-2 text-sm text-slate-500 dark:text-slate-400">"Ask your platform administrator for a Keyhold role (viewer, editor or admin) in a project."</p>
        </section>
    }
}
