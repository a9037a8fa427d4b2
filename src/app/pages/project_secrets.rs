//! A project's Settings > Secrets tab, `/projects/{project}/settings/secrets`: the key names of the
//! project's secret to everyone with a role in the project; "Add secret", "Replace value",
//! "Delete" and "Import" to editors and admins. No one sees a value. The server functions are thin
//! doors onto the project secrets service.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::app::components::form::{Field, FormCheck, FormError, on_submit, read_upload, submission, submit_disabled};
use crate::app::components::modal::{DialogButtons, Modal};
use crate::app::pages::NotFoundPage;
use crate::domain::AppError;
use crate::domain::project_secrets::{ProjectSecretKeys, SecretEntry, parse_env_file};

#[server(endpoint = "read_project_secret_keys")]
pub async fn read_project_secret_keys(project: String) -> Result<ProjectSecretKeys, AppError> {
    crate::server::auth::web::project_secrets(|service, who| async move { service.keys(&who, &project).await }).await
}

#[server(endpoint = "add_project_secret", input = Json)]
pub async fn add_project_secret(project: String, entry: SecretEntry) -> Result<ProjectSecretKeys, AppError> {
    crate::server::auth::web::project_secrets(|service, who| async move { service.add(&who, &project, &entry).await }).await
}

#[server(endpoint = "replace_project_secret", input = Json)]
pub async fn replace_project_secret(project: String, entry: SecretEntry) -> Result<ProjectSecretKeys, AppError> {
    crate::server::auth::web::project_secrets(|service, who| async move { service.replace(&who, &project, &entry).await }).await
}

#[server(endpoint = "delete_project_secret")]
pub async fn delete_project_secret(project: String, key: String) -> Result<ProjectSecretKeys, AppError> {
    crate::server::auth::web::project_secrets(|service, who| async move { service.delete(&who, &project, &key).await }).await
}

/// Imports `.env` text: every line checked first, then one write for the lot.
#[server(endpoint = "import_project_secrets", input = Json)]
pub async fn import_project_secrets(project: String, text: String) -> Result<ProjectSecretKeys, AppError> {
    crate::server::auth::web::project_secrets(|service, who| async move { service.import(&who, &project, &text).await }).await
}

#[component]
pub fn ProjectSecretsPage() -> impl IntoView {
    let params = use_params_map();
    let project = Memo::new(move |_| params.with(|p| p.get("project").unwrap_or_default()));
    let refreshes = RwSignal::new(0u32);
    let keys = Resource::new(move || (project.get(), refreshes.get()), |(project, _)| read_project_secret_keys(project));
    view! {
        <Transition>
            {move || Suspend::new(async move {
                match keys.await {
                    Ok(keys) => Ok(view! { <SecretsTab keys refreshes /> }.into_any()),
                    Err(AppError::NotFound(_)) => Ok(view! { <NotFoundPage /> }.into_any()),
                    Err(e) => Err(e),
                }
            })}
        </Transition>
    }
}

#[component]
fn SecretsTab(keys: ProjectSecretKeys, refreshes: RwSignal<u32>) -> impl IntoView {
    let project = keys.project.clone();
    let refresh = move || refreshes.update(|n| *n += 1);
    let rows = if keys.keys.is_empty() {
        view! { <tr><td colspan="2" class="text-slate-500">"No secrets yet."</td></tr> }.into_any()
    } else {
        keys.keys.iter().map(|key| view! { <KeyRow project=project.clone() key=key.clone() may_change=keys.may_change refresh /> }).collect_view().into_any()
    };
    view! {
        <Title text=format!("Secrets · {project}") />
        <nav aria-label="Breadcrumb" class="mb-2 text-sm">
            <a href="/projects" class="text-indigo-700 hover:underline dark:text-indigo-300">"Projects"</a>
            {format!(" › {project} › Settings")}
        </nav>
        <h1 class="mb-4 text-2xl font-semibold tracking-tight">{format!("{project}: Secrets")}</h1>
        <p class="mb-6 max-w-3xl text-sm text-slate-500 dark:text-slate-400">
            "The project's secrets are one Kubernetes Secret with many keys, for the project's jobs and pipelines to read. "
            {if keys.may_change { "You can add keys and replace or delete them; " } else { "Your role shows the key names only; " }}
            "no one can read a value back."
        </p>
        <div class="card mb-6 overflow-x-auto">
            <table class="data-table">
                <caption class="sr-only">"Secrets"</caption>
                <thead><tr><th scope="col">"Key"</th><th scope="col"><span class="sr-only">"Actions"</span></th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        {keys.may_change.then(|| view! {
            <div class="grid gap-6 lg:grid-cols-2">
                <AddSecret project=project.clone() refresh />
                <Import project=project.clone() refresh />
            </div>
        })}
    }
}

#[component]
fn KeyRow(project: String, key: String, may_change: bool, refresh: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let (replace, delete) = (RwSignal::new(false), RwSignal::new(false));
    let actions = may_change.then(|| {
        let (p1, k1, p2, k2) = (project.clone(), key.clone(), project.clone(), key.clone());
        view! {
            <div class="flex justify-end gap-2">
                <button type="button" class="btn-secondary" aria-label=format!("Replace value of {key}") on:click=move |_| replace.set(true)>"Replace value"</button>
                <button type="button" class="btn-secondary" aria-label=format!("Delete {key}") on:click=move |_| delete.set(true)>"Delete"</button>
            </div>
            <Modal id=format!("replace-{key}") title=format!("Replace the value of {key}") open=replace>
                <ReplaceValue project=p1.clone() key=k1.clone() open=replace refresh />
            </Modal>
            <Modal id=format!("delete-{key}") title=format!("Delete {key}") open=delete>
                <DeleteKey project=p2.clone() key=k2.clone() open=delete refresh />
            </Modal>
        }
    });
    view! {
        <tr>
            <td class="font-mono text-sm">{key.clone()}</td>
            <td>{actions}</td>
        </tr>
    }
}

#[component]
fn AddSecret(project: String, refresh: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let (key, value) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let entry = move || SecretEntry { key: key.get(), value: value.get() };
    let check = FormCheck::provide(move || entry().problems());
    let action = submission(check, move |e: &SecretEntry| Box::pin(add_project_secret(project.clone(), e.clone())), move |_| {
        key.set(String::new());
        value.set(String::new());
        refresh();
    });
    let submit = on_submit(action, check, entry);
    view! {
        <form class="card space-y-4 p-6" on:submit=submit novalidate>
            <h2 class="text-lg font-semibold">"Add secret"</h2>
            <Field label="Key" field="key".to_string() id="add-key".to_string() value=key />
            <Field label="Value" field="value".to_string() id="add-value".to_string() value=value secret=true />
            <FormError />
            <button type="submit" class="btn-primary" disabled=submit_disabled(action)>"Add secret"</button>
        </form>
    }
}

#[component]
fn ReplaceValue(project: String, key: String, open: RwSignal<bool>, refresh: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let value = RwSignal::new(String::new());
    let entry = {
        let key = key.clone();
        move || SecretEntry { key: key.clone(), value: value.get() }
    };
    let check = FormCheck::provide({
        let entry = entry.clone();
        move || entry().problems()
    });
    let action = submission(check, move |e: &SecretEntry| Box::pin(replace_project_secret(project.clone(), e.clone())), move |_| {
        open.set(false);
        refresh();
    });
    let submit = on_submit(action, check, entry);
    view! {
        <form on:submit=submit novalidate>
            <Field label="Value" field="value".to_string() id="replace-value".to_string() value secret=true />
            <DialogButtons label="Replace value" busy="Replacing…" pending=action.pending().into() open />
        </form>
    }
}

#[component]
fn DeleteKey(project: String, key: String, open: RwSignal<bool>, refresh: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let check = FormCheck::provide(Vec::new);
    let shown = key.clone();
    let action = submission(check, move |_: &()| Box::pin(delete_project_secret(project.clone(), key.clone())), move |_| {
        open.set(false);
        refresh();
    });
    let submit = on_submit(action, check, move || ());
    view! {
        <form on:submit=submit>
            <p class="text-sm">{format!("Delete the key {shown}? Jobs that read it will no longer find it.")}</p>
            <DialogButtons label="Delete" busy="Deleting…" pending=action.pending().into() open danger=true />
        </form>
    }
}

#[component]
fn Import(project: String, refresh: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let text = RwSignal::new(String::new());
    let check = FormCheck::provide(move || parse_env_file(&text.get()).err().into_iter().collect());
    let action = submission(check, move |t: &String| Box::pin(import_project_secrets(project.clone(), t.clone())), move |_| {
        text.set(String::new());
        refresh();
    });
    let submit = on_submit(action, check, move || text.get());
    view! {
        <form class="card space-y-4 p-6" on:submit=submit novalidate>
            <h2 class="text-lg font-semibold">"Import"</h2>
            <Field label="Secrets (.env)" field="file".to_string() id="import-text".to_string() value=text multiline=true secret=true
                hint=Some("KEY=VALUE lines; # comments, quotes and export are understood. Every line is checked before anything is written.") />
            <div>
                <label for="import-upload" class="field-label">"Upload a .env file"</label>
                <input id="import-upload" type="file" class="text-sm" on:change=move |ev| read_upload(ev, text, check, "file") />
            </div>
            <FormError />
            <button type="submit" class="btn-primary" disabled=submit_disabled(action)>"Import"</button>
        </form>
    }
}
