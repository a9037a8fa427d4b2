//! "Rename", "Replace values" and "Delete" on a credential's page, each in a dialog, and the server
//! functions behind them. Only people who may change the credential see them; the service checks
//! again.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos_router::hooks::use_navigate;

use crate::app::components::form::{Field, FormCheck, on_submit, submission};
use crate::app::components::modal::{DialogButtons, Modal};
use crate::app::components::values::{ValuesDraft, ValuesFields};
use crate::domain::AppError;
use crate::domain::credential::ScopeLevel;
use super::replace::ReplaceWithForm;
use crate::domain::lifecycle::{Rollout, RolloutPlan, TestOutcome, ValuesReplaced};
use crate::domain::new_credential::{Rename, SecretValues};
use crate::domain::query::CredentialRow;

/// Gives a credential a new display name and description.
#[server(endpoint = "rename_credential", input = Json)]
pub async fn rename_credential(namespace: String, name: String, rename: Rename) -> Result<CredentialRow, AppError> {
    crate::server::auth::web::credentials(|service, who| async move { service.rename(&who, &namespace, &name, &rename).await }).await
}

/// Gives a credential's Secret new values; nothing but the row comes back.
#[server(endpoint = "replace_values", input = Json)]
pub async fn replace_values(namespace: String, name: String, values: SecretValues, rollout: Rollout) -> Result<ValuesReplaced, AppError> {
    crate::server::auth::web::credentials(|service, who| async move { service.replace_values(&who, &namespace, &name, &values, rollout).await }).await
}

/// What a restart would touch, shown before the values are replaced.
#[server(endpoint = "rollout_preview")]
pub async fn rollout_preview(namespace: String, name: String) -> Result<RolloutPlan, AppError> {
    crate::server::auth::web::credentials(|service, who| async move { service.rollout_preview(&who, &namespace, &name).await }).await
}

/// Signs in with a saved credential's values; the outcome is kept on the credential.
#[server(endpoint = "test_credential")]
pub async fn test_credential(namespace: String, name: String) -> Result<TestOutcome, AppError> {
    crate::server::auth::web::credentials(|service, who| async move { service.test_credential(&who, &namespace, &name, "").await }).await
}

/// Propagates again now.
#[server(endpoint = "retry_propagation")]
pub async fn retry_propagation(namespace: String, name: String) -> Result<(), AppError> {
    crate::server::auth::web::credentials(|service, who| async move { service.retry(&who, &namespace, &name).await }).await
}

/// Lets a deletion stop waiting for a member cluster Keyhold cannot reach.
#[server(endpoint = "let_go_of_cluster")]
pub async fn let_go_of_cluster(namespace: String, name: String, cluster: String) -> Result<(), AppError> {
    crate::server::auth::web::credentials(|service, who| async move { service.let_go(&who, &namespace, &name, &cluster).await }).await
}

/// Deletes a credential (refused while a workload uses it).
#[server(endpoint = "delete_credential")]
pub async fn delete_credential(namespace: String, name: String) -> Result<(), AppError> {
    crate::server::auth::web::credentials(|service, who| async move { service.delete(&who, &namespace, &name).await }).await
}

#[component]
pub fn Actions(row: CredentialRow, refreshes: RwSignal<u32>, dialog_open: RwSignal<bool>) -> impl IntoView {
    let (rename, replace, delete) = (RwSignal::new(false), RwSignal::new(false), RwSignal::new(false));
    Effect::new(move |was_open: Option<bool>| {
        let open = rename.get() || replace.get() || delete.get();
        dialog_open.set(open);
        if was_open == Some(true) && !open {
            refreshes.update(|n| *n += 1);
        }
        open
    });
    let name = row.display_name.clone();
    // The dialogs' content is made each time one opens, from the row as the page read it.
    let row = StoredValue::new(row);
    view! {
        <div class="flex flex-wrap gap-2">
            <button type="button" class="btn-secondary" on:click=move |_| rename.set(true)>"Rename"</button>
            <Show when=move || row.with_value(|r| r.managed_secret)>
                <button type="button" class="btn-secondary" on:click=move |_| replace.set(true)>"Replace values"</button>
            </Show>
            <button type="button" class="btn-danger" on:click=move |_| delete.set(true)>"Delete"</button>
        </div>
        <Modal id="rename-dialog" title=format!("Rename {name}") open=rename>
            <RenameForm row=row.get_value() open=rename />
        </Modal>
        <Modal id="replace-dialog" title=format!("Replace the values of {name}") open=replace>
            <ReplaceForm row=row.get_value() open=replace />
        </Modal>
        <Modal id="delete-dialog" title=format!("Delete {name}") open=delete>
            <DeleteForm row=row.get_value() open=delete />
        </Modal>
    }
}

#[component]
fn RenameForm(row: CredentialRow, open: RwSignal<bool>) -> impl IntoView {
    let display_name = RwSignal::new(row.display_name.clone());
    let description = RwSignal::new(row.description.clone());
    let expires_on = RwSignal::new(row.expires_on.clone().unwrap_or_default());
    let rename = move || Rename { display_name: display_name.get(), description: description.get(), expires_on: Some(expires_on.get()) };
    let check = FormCheck::provide(move || rename().problems());
    let (namespace, name) = (row.namespace, row.name);
    let action = submission(check, move |r: &Rename| Box::pin(rename_credential(namespace.clone(), name.clone(), r.clone())), move |_| open.set(false));
    let submit = on_submit(action, check, rename);
    view! {
        <form class="space-y-4" on:submit=submit novalidate>
            <Field label="Name" field="displayName".to_string() id="rename-displayName".to_string() value=display_name />
            <Field label="Description" field="description".to_string() id="rename-description".to_string() value=description multiline=true />
            <Field label="Expires on" field="expiresOn".to_string() id="rename-expiresOn".to_string() value=expires_on hint=Some("YYYY-MM-DD, or empty for none.") />
            <DialogButtons label="Save" busy="Saving…" pending=action.pending().into() open />
        </form>
    }
}

#[component]
fn ReplaceForm(row: CredentialRow, open: RwSignal<bool>) -> impl IntoView {
    // A generic secret starts with its key names (never its values) to fill in again.
    let draft = ValuesDraft::new(row.credential_type, &row.keys);
    let rollout = RwSignal::new(Rollout::Nothing);
    let done = RwSignal::new(None::<RolloutPlan>);
    let check = FormCheck::provide(move || draft.values().problems());
    let (namespace, name) = (row.namespace.clone(), row.name.clone());
    let action = submission(check, move |v: &SecretValues| Box::pin(replace_values(namespace.clone(), name.clone(), v.clone(), rollout.get_untracked())), move |replaced: ValuesReplaced| match replaced.rollout {
        // What a restart did stays on screen until the person closes the dialog.
        Some(plan) => done.set(Some(plan)),
        None => open.set(false),
    });
    let submit = on_submit(action, check, move || draft.values());
    let (namespace, name) = (row.namespace, row.name);
    let preview = LocalResource::new(move || {
        let (namespace, name, wanted) = (namespace.clone(), name.clone(), rollout.get() == Rollout::Restart);
        async move { if wanted { rollout_preview(namespace, name).await.ok() } else { None } }
    });
    view! {
        {move || done.get().map(|plan| view! {
            <RolloutList plan done=true />
            <div class="mt-6 flex justify-end"><button type="button" class="btn-secondary" on:click=move |_| open.set(false)>"Close"</button></div>
        })}
        <form on:submit=submit novalidate class:hidden=move || done.read().is_some()>
            <p class="mb-4 text-sm text-slate-500 dark:text-slate-400">"The new values replace every current one, in every namespace the credential reaches."</p>
            <ValuesFields draft />
            <fieldset class="mt-4">
                <legend class="field-label">"Then"</legend>
                <label class="flex items-center gap-2 text-sm"><input type="radio" name="rollout" prop:checked=move || rollout.get() == Rollout::Nothing on:change=move |_| rollout.set(Rollout::Nothing) />"Restart nothing (mounted files update by themselves; environment variables keep the old values)"</label>
                <label class="flex items-center gap-2 text-sm"><input type="radio" name="rollout" prop:checked=move || rollout.get() == Rollout::Restart on:change=move |_| rollout.set(Rollout::Restart) />"Restart the workloads that use it"</label>
            </fieldset>
            <Transition fallback=|| ()>{move || Suspend::new(async move { preview.await.map(|plan| view! { <RolloutList plan done=false /> }) })}</Transition>
            <DialogButtons label="Replace values" busy="Replacing…" pending=action.pending().into() open />
        </form>
    }
}

/// What a restart touches (before) or touched (after): restarted, skipped, left to their next run.
#[component]
fn RolloutList(plan: RolloutPlan, done: bool) -> impl IntoView {
    let restart = if done { "Restarted" } else { "Will restart" };
    let nothing = (plan.restart.is_empty() && plan.skipped.is_empty() && plan.next_run.is_empty() && plan.not_updated.is_empty() && plan.unseen == 0).then(|| view! { <p class="text-sm">"No workload uses it: nothing to restart."</p> });
    let groups = [
        (restart, plan.restart),
        ("Skipped: you may not restart these", plan.skipped),
        ("Not restarted: their namespace's copy did not have the new values in time", plan.not_updated),
        ("Pick up the new value on their next run", plan.next_run),
    ];
    let groups = groups
        .into_iter()
        .filter(|(_, workloads)| !workloads.is_empty())
        .map(|(title, workloads)| view! {
            <h4 class="mt-3 text-sm font-semibold">{title}</h4>
            <ul class="list-disc pl-5 text-sm">{workloads.into_iter().map(|w| view! { <li class="font-mono text-xs">{w}</li> }).collect_view()}</ul>
        })
        .collect_view();
    let unseen = (plan.unseen > 0).then(|| view! { <p class="mt-3 text-sm">{format!("{} in projects you cannot see: not restarted", plan.unseen)}</p> });
    view! { <section aria-label="Rollout" class="mt-4">{nothing}{groups}{unseen}</section> }
}

#[component]
fn DeleteForm(row: CredentialRow, open: RwSignal<bool>) -> impl IntoView {
    if row.in_use() {
        // Deleting would break these workloads: the dialog says who, and offers no way to delete.
        return view! {
            <p class="text-sm">{format!("{} is in use and cannot be deleted. Stop these workloads using it first:", row.display_name)}</p>
            <ul class="mt-2 list-disc pl-5 text-sm">{row.users_described().into_iter().map(|u| view! { <li>{u}</li> }).collect_view()}</ul>
            <ReplaceWithForm row=row.clone() />
            <div class="mt-6 flex justify-end">
                <button type="button" class="btn-secondary" on:click=move |_| open.set(false)>"Close"</button>
            </div>
        }
        .into_any();
    }
    let check = FormCheck::provide(Vec::new);
    let navigate = use_navigate();
    let (namespace, name) = (row.namespace.clone(), row.name.clone());
    // Back to the list it came from.
    let list = if row.scope_level == ScopeLevel::Personal { "/me/credentials" } else { "/credentials" };
    let action = submission(check, move |_: &()| Box::pin(delete_credential(namespace.clone(), name.clone())), move |_| navigate(list, Default::default()));
    let submit = on_submit(action, check, move || ());
    view! {
        <form on:submit=submit>
            <p class="text-sm">{format!("Delete {}? Workloads can no longer use it, and the copies Keyhold made are removed. This cannot be undone.", row.display_name)}</p>
            <DialogButtons label="Delete" busy="Deleting…" pending=action.pending().into() open danger=true />
        </form>
    }
    .into_any()
}
