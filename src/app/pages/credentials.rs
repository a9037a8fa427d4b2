use leptos::prelude::*;
use leptos_meta::Title;

use crate::app::auth::use_current_user;
use crate::app::layout::PageHeader;
use crate::app::pages::ForbiddenPage;
use crate::domain::AppError;

/// Deletes a credential (refused while a workload uses it). The row action of the table calls it.
#[server(endpoint = "delete_credential")]
pub async fn delete_credential(namespace: String, name: String) -> Result<(), AppError> {
    use crate::server::auth::web;
    let state = expect_context::<crate::server::AppState>();
    state.credentials.delete(&web::signed_in()?.identity, &namespace, &name).await.map_err(|e| web::fail(e.into()))
}

/// The Credentials page, for people who may list credentials somewhere. The table itself comes
/// with the credentials service; until then the page says plainly that there is nothing to list.
#[component]
pub fn CredentialsPage() -> impl IntoView {
    let user = use_current_user();
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                user.await.map(|u| {
                    if u.permissions.list_credentials {
                        view! { <CredentialsOverview /> }.into_any()
                    } else {
                        view! { <ForbiddenPage message="Your roles do not include credentials in any project.".into() /> }.into_any()
                    }
                })
            })}
        </Suspense>
    }
}

#[component]
fn CredentialsOverview() -> impl IntoView {
    view! {
        <Title text="Credentials" />
        <PageHeader title="Credentials" subtitle="Registry logins, access keys, passwords and secrets your workloads use" />
        <section class="card grid place-items-center px-6 py-16 text-center">
            <h2 class="text-lg font-semibold">"No credentials yet"</h2>
            <p class="mt-2 max-w-md text-sm text-slate-500 dark:text-slate-400">
                "Credentials you create here are stored as Kubernetes Secrets and shared with the projects in their scope."
            </p>
        </section>
    }
}
