//! Signing in and out, and who is signed in: the server functions (thin doors onto the sign-in
//! service and the session) and the top bar's user menu.

use leptos::prelude::*;

use crate::domain::AppError;
use crate::domain::session::{CurrentUser, SignInOptions};

/// The signed-in person and what the console may offer them.
#[server(endpoint = "signed_in_user")]
pub async fn signed_in_user() -> Result<CurrentUser, AppError> {
    use crate::server::auth::web;
    let state = expect_context::<crate::server::AppState>();
    state.current_user(web::signed_in()?).await.map_err(web::fail)
}

/// The ways the sign-in page offers.
#[server(endpoint = "offered_sign_in")]
pub async fn offered_sign_in() -> Result<SignInOptions, AppError> {
    Ok(expect_context::<crate::server::AppState>().auth.options())
}

/// Signs in with a local account, then goes to `next`.
#[server(endpoint = "sign_in")]
pub async fn sign_in(username: String, password: String, next: String) -> Result<(), AppError> {
    use crate::server::auth::{redirect::after_sign_in, web};
    web::sign_in(|state, client| async move { state.auth.sign_in_with_password(&username, &password, client).await }).await?;
    leptos_axum::redirect(after_sign_in(&next));
    Ok(())
}

/// Signs in with a Kubernetes bearer token (checked with a TokenReview), then goes to `next`.
#[server(endpoint = "sign_in_with_token")]
pub async fn sign_in_with_token(token: String, next: String) -> Result<(), AppError> {
    use crate::server::auth::{redirect::after_sign_in, web};
    web::sign_in(|state, client| async move { state.auth.sign_in_with_token(&token, client).await }).await?;
    leptos_axum::redirect(after_sign_in(&next));
    Ok(())
}

/// Ends the session, then goes to the sign-in page, or first to the identity provider's sign-out
/// when the session came from it.
#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    let next = crate::server::auth::web::sign_out().await?;
    leptos_axum::redirect(&next);
    Ok(())
}

/// The signed-in person, fetched once per page and shared by the top bar and the page.
#[derive(Clone, Copy)]
pub struct CurrentUserResource(pub Resource<Result<CurrentUser, AppError>>);

pub fn provide_current_user() {
    provide_context(CurrentUserResource(Resource::new(|| (), |_| signed_in_user())));
}

pub fn use_current_user() -> Resource<Result<CurrentUser, AppError>> {
    expect_context::<CurrentUserResource>().0
}

/// The top bar's right side: who is signed in, and "Sign out".
#[component]
pub fn UserMenu() -> impl IntoView {
    let user = use_current_user();
    let sign_out = ServerAction::<SignOut>::new();
    view! {
        <div class="ml-auto flex items-center gap-3">
            <Suspense>
                {move || Suspend::new(async move {
                    user.await.ok().map(|u| view! {
                        <span class="text-sm text-slate-600 dark:text-slate-300" title=u.groups.join(", ")>{u.name}</span>
                    })
                })}
            </Suspense>
            <ActionForm action=sign_out>
                <button type="submit" class="btn-secondary">"Sign out"</button>
            </ActionForm>
        </div>
    }
}
