use leptos::prelude::*;
use leptos_meta::Title;

/// The sign-in page. This build has no accounts yet, so everyone uses the console as the embedded
/// cluster's administrator; the page says so rather than offering a form that cannot work.
#[component]
pub fn LoginPage() -> impl IntoView {
    view! {
        <Title text="Sign in" />
        <main id="main" class="grid min-h-full place-items-center px-6 py-16">
            <div class="card w-full max-w-sm p-8">
                <h1 class="text-xl font-semibold tracking-tight">"Sign in to Keyhold"</h1>
                <p class="mt-3 text-sm text-slate-600 dark:text-slate-300">
                    "Accounts are not enabled on this instance: the console opens without signing in."
                </p>
                <a href="/credentials" class="btn-primary mt-6 w-full">"Continue to Keyhold"</a>
            </div>
        </main>
    }
}
