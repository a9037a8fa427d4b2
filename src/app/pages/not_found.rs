use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFoundPage() -> impl IntoView {
    // The server answers 404 for this page, so links checkers and crawlers see the truth.
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found" />
        <section class="card mx-auto max-w-lg px-8 py-12 text-center">
            <p class="text-sm font-semibold text-indigo-600 dark:text-indigo-400">"404"</p>
            <h1 class="mt-2 text-2xl font-semibold tracking-tight">"Page not found"</h1>
            <p class="mt-2 text-sm text-slate-500 dark:text-slate-400">"There is nothing at this address."</p>
            <a href="/credentials" class="btn-primary mt-6">"Go to Credentials"</a>
        </section>
    }
}
