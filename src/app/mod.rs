//! The Leptos application: the HTML shell, the routes and the pages.

mod auth;
mod components;
mod layout;
mod live;
mod pages;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Redirect, Route, Router, Routes};
use leptos_router::{Lazy, LazyRoute, SsrMode, lazy_route, path};

use layout::AppShell;
use pages::{ClustersPage, CredentialDetailPage, CredentialsPage, LoginPage, MyCredentialsPage, NewCredentialPage, NotFoundPage, ProjectSecretsPage, ProjectsPage};

/// The HTML document the server renders around the application. Its inline scripts carry a
/// per-response nonce, which the Content-Security-Policy header names.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        leptos::nonce::provide_nonce();
        if let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>()) {
            // Signing out of single sign-on sends the sign-out form on to the provider.
            let provider = use_context::<crate::server::AppState>().and_then(|state| state.auth.oidc().map(|oidc| oidc.origins()));
            let policy = crate::server::auth::web::content_security_policy(&nonce.to_string(), provider.as_deref());
            response.insert_header(http::header::CONTENT_SECURITY_POLICY, http::HeaderValue::from_str(&policy).expect("a nonce is header-safe"));
        }
    }
    view! {
        <!DOCTYPE html>
        <html lang="en" class="h-full">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body class="h-full bg-slate-50 text-slate-900 antialiased dark:bg-slate-950 dark:text-slate-100">
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Stylesheet id="leptos" href="/pkg/keyhold.css" />
        <Title formatter=|page: String| if page.is_empty() { "Keyhold".to_string() } else { format!("{page} · Keyhold") } />
        <Router>
            <Routes fallback=|| view! { <AppShell><NotFoundPage /></AppShell> }>
                <Route path=path!("/") view=|| view! { <Redirect path="/credentials" /> } />
                <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async />
                // Pages render whole on the server (async mode), so a 403 from their data sets the status.
                <Route path=path!("/credentials") view=|| view! { <AppShell><CredentialsPage /></AppShell> } ssr=SsrMode::Async />
                // The Credentials page is in the first download; every other page is a chunk of its own
                // (`cargo leptos build --split`), fetched when the route is first shown.
                <Route path=path!("/credentials/new") view={Lazy::<NewCredentialRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/credentials/:namespace/:name") view={Lazy::<CredentialDetailRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/me/credentials") view={Lazy::<MyCredentialsRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/clusters") view={Lazy::<ClustersRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/projects") view={Lazy::<ProjectsRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/projects/:project/settings/secrets") view={Lazy::<ProjectSecretsRoute>::new()} ssr=SsrMode::Async />
            </Routes>
        </Router>
    }
}

/// A page loaded on demand: its code is split from the first download. Its data is read by the
/// page itself, so `data` has nothing to start.
macro_rules! lazy_page {
    ($route:ident, $page:ident) => {
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                view! { <AppShell><$page /></AppShell> }.into_any()
            }
        }
    };
}

lazy_page!(NewCredentialRoute, NewCredentialPage);
lazy_page!(CredentialDetailRoute, CredentialDetailPage);
lazy_page!(MyCredentialsRoute, MyCredentialsPage);
lazy_page!(ClustersRoute, ClustersPage);
lazy_page!(ProjectsRoute, ProjectsPage);
lazy_page!(ProjectSecretsRoute, ProjectSecretsPage);

/// Marks the document once the WASM bundle has taken over the server-rendered page, lazy chunks
/// included, so the attribute tells people's tools and our browser tests that the page is
/// interactive.
#[cfg(feature = "hydrate")]
pub fn mark_hydrated() {
    if let Some(root) = document().document_element() {
        let _ = root.set_attribute("data-hydrated", "true");
    }
}

/// A page's chunk that could not be fetched (the network failed, or the tab is older than an
/// upgrade whose chunks are gone) panics in wasm-split's loader, and a panic leaves the WASM dead:
/// the page is loaded again, from the server's current build. At most once a minute, so a chunk
/// that never loads cannot make a reload loop.
#[cfg(feature = "hydrate")]
pub fn reload_after_failed_chunk(info: &std::panic::PanicHookInfo) {
    // wasm-split's message for a load that failed (`#[lazy]` loads with `expect`).
    const FAILED_LOAD: &str = "load callback should succeed";
    const LAST_RELOAD: &str = "keyhold-chunk-reload";
    if !info.to_string().contains(FAILED_LOAD) {
        return;
    }
    let window = window();
    let now = web_sys::js_sys::Date::now();
    let storage = window.session_storage().ok().flatten();
    let last = storage.as_ref().and_then(|s| s.get_item(LAST_RELOAD).ok().flatten()).and_then(|t| t.parse::<f64>().ok());
    if last.is_some_and(|last| now - last < 60_000.0) {
        return;
    }
    if let Some(storage) = &storage {
        let _ = storage.set_item(LAST_RELOAD, &now.to_string());
    }
    let _ = window.location().reload();
}
