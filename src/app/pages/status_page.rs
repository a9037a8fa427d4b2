use leptos::prelude::*;
use leptos_meta::Title;

/// A page that stands for an HTTP status (404, 403): the server answers with that status, so link
/// checkers, crawlers and tests see the truth, and the person sees why and what to do.
#[component]
pub fn StatusPage(status: u16, title: &'static str, children: Children) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let (Some(response), Ok(code)) = (use_context::<leptos_axum::ResponseOptions>(), http::StatusCode::from_u16(status)) {
        response.set_status(code);
    }
    view! {
        <Title text=title />
        <section class="card mx-auto max-w-lg px-8 py-12 text-center">
            <p class="text-sm font-semibold text-indigo-600 dark:text-indigo-400">{status}</p>
            <h1 class="mt-2 text-2xl font-semibold tracking-tight">{title}</h1>
            {children()}
        </section>
    }
}
