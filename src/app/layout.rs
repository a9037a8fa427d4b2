//! The console's frame: top bar, left navigation and the content area with its error boundary.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_location;

use crate::app::auth::{UserMenu, provide_current_user};

/// The frame of every page that needs a session (the server has already sent anyone without one
/// to `/login`).
#[component]
pub fn AppShell(children: Children) -> impl IntoView {
    provide_current_user();
    view! {
        <a href="#main" class="sr-only focus:not-sr-only focus:absolute focus:left-4 focus:top-3 focus:z-50 btn-secondary">
            "Skip to content"
        </a>
        <div class="flex min-h-full flex-col">
            <TopBar />
            <div class="flex flex-1">
                <SideNav />
                <main id="main" class="min-w-0 flex-1 px-6 py-6 lg:px-10">
                    <ErrorBoundary fallback=|errors| view! { <ErrorPanel errors /> }>{children()}</ErrorBoundary>
                </main>
            </div>
        </div>
    }
}

#[component]
fn TopBar() -> impl IntoView {
    view! {
        <header class="sticky top-0 z-30 flex h-14 items-center gap-4 border-b border-slate-200 bg-white/90 px-6 backdrop-blur dark:border-slate-800 dark:bg-slate-900/90">
            <a href="/credentials" class="flex items-center gap-2 rounded-md text-base font-semibold tracking-tight focus-ring">
                <span aria-hidden="true" class="grid h-7 w-7 place-items-center rounded-md bg-indigo-600 text-sm font-bold text-white">"K"</span>
                "Keyhold"
            </a>
            <span class="hidden text-sm text-slate-500 sm:inline dark:text-slate-400">"Credentials for your AI/ML platform"</span>
            <UserMenu />
        </header>
    }
}

#[component]
fn SideNav() -> impl IntoView {
    view! {
        <nav aria-label="Main" class="w-48 shrink-0 border-r border-slate-200 bg-white px-3 py-6 lg:w-56 dark:border-slate-800 dark:bg-slate-900">
            <ul class="space-y-1">
                <NavItem href="/credentials" label="Credentials" />
                <NavItem href="/projects" label="Projects" />
                <NavItem href="/me/credentials" label="My credentials" />
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let admin = expect_context::<crate::app::auth::CurrentUserResource>().0.await.is_ok_and(|user| user.permissions.manage_clusters);
                        admin.then(|| view! { <NavItem href="/clusters" label="Clusters" /> })
                    })}
                </Transition>
            </ul>
        </nav>
    }
}

#[component]
fn NavItem(href: &'static str, label: &'static str) -> impl IntoView {
    let location = use_location();
    let current = move || location.pathname.get().starts_with(href);
    view! {
        <li>
            <A
                href=href
                attr:class=move || {
                    if current() { "nav-link nav-link-current" } else { "nav-link" }
                }
            >
                {label}
            </A>
        </li>
    }
}

/// What the error boundary shows when a page fails to render: the message and a way back.
#[component]
fn ErrorPanel(errors: ArcRwSignal<Errors>) -> impl IntoView {
    let messages = move || errors.get().into_iter().map(|(_, e)| view! { <li>{e.to_string()}</li> }).collect_view();
    view! {
        <div role="alert" class="rounded-lg border border-red-200 bg-red-50 p-4 text-sm text-red-800 dark:border-red-900 dark:bg-red-950 dark:text-red-200">
            <h2 class="font-semibold">"Something went wrong"</h2>
            <ul class="mt-2 list-disc pl-5">{messages}</ul>
            <a href="" class="mt-3 inline-block font-medium underline focus-ring">"Reload the page"</a>
        </div>
    }
}

/// A page's title row: the heading and, on the right, the page's actions.
#[component]
pub fn PageHeader(title: &'static str, #[prop(optional)] subtitle: Option<&'static str>, #[prop(optional)] children: Option<Children>) -> impl IntoView {
    view! {
        <div class="mb-6 flex flex-wrap items-end justify-between gap-4">
            <div>
                <h1 class="text-2xl font-semibold tracking-tight">{title}</h1>
                {subtitle.map(|s| view! { <p class="mt-1 text-sm text-slate-500 dark:text-slate-400">{s}</p> })}
            </div>
            <div class="flex items-center gap-2">{children.map(|c| c())}</div>
        </div>
    }
}
