use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use crate::app::auth::{SignIn, SignInWithToken};
use crate::domain::AppError;

/// The sign-in page: a local account's username and password, or (`?method=token`) a Kubernetes
/// bearer token. `next` carries the page to return to.
#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_else(|| "/credentials".into());
    let with_token = move || query.read().get("method").as_deref() == Some("token");
    let switch_to = move |method: Option<&str>| {
        let next = next();
        let encoded = crate::domain::session::sign_in_url(&next);
        match method {
            Some(m) => format!("{encoded}&method={m}"),
            None => encoded,
        }
    };
    let password = ServerAction::<SignIn>::new();
    let token = ServerAction::<SignInWithToken>::new();

    view! {
        <Title text="Sign in" />
        <main id="main" class="grid min-h-full place-items-center px-6 py-16">
            <div class="card w-full max-w-sm p-8">
                <h1 class="text-xl font-semibold tracking-tight">"Sign in to Keyhold"</h1>
                <Show
                    when=with_token
                    fallback=move || view! {
                        <ActionForm action=password attr:class="mt-6 space-y-4">
                            <input type="hidden" name="next" value=next />
                            <Field label="Username" name="username" kind="text" autocomplete="username" />
                            <Field label="Password" name="password" kind="password" autocomplete="current-password" />
                            <Failure error=Signal::derive(move || password.value().get().and_then(Result::err)) />
                            <button type="submit" class="btn-primary w-full" disabled=move || password.pending().get()>"Sign in"</button>
                        </ActionForm>
                        <A href=move || switch_to(Some("token")) attr:class="mt-4 block text-sm font-medium text-indigo-600 hover:underline focus-ring dark:text-indigo-400">
                            "Sign in with a token"
                        </A>
                    }
                >
                    <ActionForm action=token attr:class="mt-6 space-y-4">
                        <input type="hidden" name="next" value=next />
                        <Field label="Token" name="token" kind="password" autocomplete="off" />
                        <p class="text-xs text-slate-500 dark:text-slate-400">"A Kubernetes bearer token, such as one from kubectl create token."</p>
                        <Failure error=Signal::derive(move || token.value().get().and_then(Result::err)) />
                        <button type="submit" class="btn-primary w-full" disabled=move || token.pending().get()>"Sign in"</button>
                    </ActionForm>
                    <A href=move || switch_to(None) attr:class="mt-4 block text-sm font-medium text-indigo-600 hover:underline focus-ring dark:text-indigo-400">
                        "Sign in with a username and password"
                    </A>
                </Show>
            </div>
        </main>
    }
}

#[component]
fn Field(label: &'static str, name: &'static str, kind: &'static str, autocomplete: &'static str) -> impl IntoView {
    view! {
        <label class="block text-sm font-medium">
            {label}
            <input
                type=kind
                name=name
                autocomplete=autocomplete
                required
                class="mt-1 block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm focus-ring dark:border-slate-700 dark:bg-slate-800"
            />
        </label>
    }
}

/// The last attempt's failure, announced to screen readers.
#[component]
fn Failure(error: Signal<Option<AppError>>) -> impl IntoView {
    move || {
        error.get().map(|e| {
            view! {
                <p role="alert" class="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800 dark:border-red-900 dark:bg-red-950 dark:text-red-200">
                    {e.to_string()}
                </p>
            }
        })
    }
}
