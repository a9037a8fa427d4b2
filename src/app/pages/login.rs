use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use crate::app::auth::{SignIn, SignInWithToken, offered_sign_in};
use crate::domain::AppError;
use crate::domain::session::sign_in_problem;

/// The sign-in page: "Sign in with <provider>" when single sign-on is configured, a local
/// account's username and password, or (`?method=token`) a Kubernetes bearer token, as the server
/// allows. `next` carries the page to return to; `error` a failed single sign-on's reason.
#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_else(|| "/credentials".into());
    let with_token = move || query.read().get("method").as_deref() == Some("token");
    let problem = move || query.read().get("error").and_then(|code| sign_in_problem(&code));
    let switch_to = move |method: Option<&str>| {
        let next = next();
        let encoded = crate::domain::session::sign_in_url(&next);
        match method {
            Some(m) => format!("{encoded}&method={m}"),
            None => encoded,
        }
    };
    let options = Resource::new(|| (), |_| offered_sign_in());
    let password = ServerAction::<SignIn>::new();
    let token = ServerAction::<SignInWithToken>::new();
    let link = "mt-4 block text-sm font-medium text-indigo-600 hover:underline focus-ring dark:text-indigo-400";

    view! {
        <Title text="Sign in" />
        <main id="main" class="grid min-h-full place-items-center px-6 py-16">
            <div class="card w-full max-w-sm p-8">
                <h1 class="text-xl font-semibold tracking-tight">"Sign in to Keyhold"</h1>
                <Failure error=Signal::derive(move || problem().map(|p| AppError::SignIn(p.into()))) />
                <Suspense>
                    {move || Suspend::new(async move {
                        let options = options.await.unwrap_or_default();
                        let sso = options.oidc.clone().map(|name| view! {
                            // A link, not a route: the provider's page is another site.
                            <a rel="external" href=move || format!("/auth/oidc/start?next={}", crate::domain::url::encode(&next())) class="btn-primary mt-6 block w-full text-center">
                                {format!("Sign in with {name}")}
                            </a>
                        });
                        let (with_password, with_a_token) = (options.password, options.token);
                        view! {
                            {sso}
                            <Show when=move || with_password && !(with_token() && with_a_token)>
                                <ActionForm action=password attr:class="mt-6 space-y-4">
                                    <input type="hidden" name="next" value=next />
                                    <Field label="Username" name="username" kind="text" autocomplete="username" />
                                    <Field label="Password" name="password" kind="password" autocomplete="current-password" />
                                    <Failure error=Signal::derive(move || password.value().get().and_then(Result::err)) />
                                    <button type="submit" class="btn-primary w-full" disabled=move || password.pending().get()>"Sign in"</button>
                                </ActionForm>
                            </Show>
                            <Show when=move || with_a_token && (with_token() || !with_password)>
                                <ActionForm action=token attr:class="mt-6 space-y-4">
                                    <input type="hidden" name="next" value=next />
                                    <Field label="Token" name="token" kind="password" autocomplete="off" />
                                    <p class="text-xs text-slate-500 dark:text-slate-400">"A Kubernetes bearer token, such as one from kubectl create token."</p>
                                    <Failure error=Signal::derive(move || token.value().get().and_then(Result::err)) />
                                    <button type="submit" class="btn-primary w-full" disabled=move || token.pending().get()>"Sign in"</button>
                                </ActionForm>
                            </Show>
                            <Show when=move || with_password && with_a_token>
                                <A href=move || switch_to(if with_token() { None } else { Some("token") }) attr:class=link>
                                    {move || if with_token() { "Sign in with a username and password" } else { "Sign in with a token" }}
                                </A>
                            </Show>
                        }
                    })}
                </Suspense>
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
