//! "Use in a workload" on a credential's page: pick a workload the person may change, in a
//! project the credential reaches, and how it should use the credential; Keyhold shows the exact
//! change, then makes it. Offered only to those with such a workload; the service checks again.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::app::components::form::{Field, FormCheck, FormError, on_submit, submission};
use crate::app::components::modal::{DialogButtons, Modal};
use crate::domain::AppError;
use crate::domain::attach::{Attached, Attachment, Use, Workload, uses};
use crate::domain::query::CredentialRow;

/// The workloads the signed-in person may attach this credential to.
#[server(endpoint = "attachable_workloads")]
pub async fn attachable_workloads(namespace: String, name: String) -> Result<Vec<Workload>, AppError> {
    crate::server::auth::web::credentials(|service, who| async move { service.attachable(&who, &namespace, &name).await }).await
}

/// Shows (`apply` false) or makes the change that attaches the credential.
#[server(endpoint = "attach_credential", input = Json)]
pub async fn attach_credential(namespace: String, name: String, attachment: Attachment, apply: bool) -> Result<Attached, AppError> {
    crate::server::auth::web::credentials(|service, who| async move { service.attach(&who, &namespace, &name, &attachment, apply).await }).await
}

#[component]
pub fn UseInWorkload(row: CredentialRow, dialog_open: RwSignal<bool>, refreshes: RwSignal<u32>) -> impl IntoView {
    let open = RwSignal::new(false);
    Effect::new(move |was_open: Option<bool>| {
        let now = open.get();
        dialog_open.set(now);
        if was_open == Some(true) && !now {
            refreshes.update(|n| *n += 1);
        }
        now
    });
    let (namespace, name) = (row.namespace.clone(), row.name.clone());
    let workloads = Resource::new(|| (), move |_| attachable_workloads(namespace.clone(), name.clone()));
    let row = StoredValue::new(row);
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                // Nothing to offer (or nothing readable): no button.
                let workloads = workloads.await.unwrap_or_default();
                (!workloads.is_empty()).then(|| view! {
                    <button type="button" class="btn-secondary mt-3 mr-2" on:click=move |_| open.set(true)>"Use in a workload"</button>
                    <Modal id="attach-dialog" title=format!("Use {} in a workload", row.with_value(|r| r.display_name.clone())) open>
                        <AttachForm row=row.get_value() workloads=workloads.clone() open />
                    </Modal>
                })
            })}
        </Transition>
    }
}

#[component]
fn AttachForm(row: CredentialRow, workloads: Vec<Workload>, open: RwSignal<bool>) -> impl IntoView {
    let workloads = StoredValue::new(workloads);
    let (chosen, container) = (RwSignal::new(0usize), RwSignal::new(String::new()));
    let ways = uses(row.credential_type);
    let way = RwSignal::new(0usize);
    let path = RwSignal::new(format!("/var/run/secrets/{}", row.secret_name));
    // The change shown, and the workload version it was made for.
    let shown = RwSignal::new(None::<(String, String)>);
    let request = move || {
        let workload = workloads.with_value(|w| w[chosen.get().min(w.len() - 1)].clone());
        let how = match uses(row.credential_type)[way.get()] {
            Use::Volume { .. } => Use::Volume { path: path.get() },
            ref other => other.clone(),
        };
        let resource_version = shown.with(|s| s.as_ref().map(|(_, version)| version.clone()));
        Attachment { kind: workload.kind, namespace: workload.namespace, name: workload.name, container: container.get(), how, resource_version }
    };
    let check = FormCheck::provide(Vec::new);
    let (namespace, name) = (row.namespace.clone(), row.name.clone());
    let preview = submission(check, move |a: &Attachment| Box::pin(attach_credential(namespace.clone(), name.clone(), a.clone(), false)), move |done: Attached| shown.set(Some((done.patch, done.resource_version))));
    let (namespace, name) = (row.namespace.clone(), row.name.clone());
    let apply = submission(check, move |a: &Attachment| Box::pin(attach_credential(namespace.clone(), name.clone(), a.clone(), true)), move |_| open.set(false));
    // Any change of choice hides a change shown for the previous one.
    Effect::new(move |_| {
        (chosen.get(), container.get(), way.get(), path.get());
        shown.set(None);
    });
    let submit = on_submit(apply, check, request);
    let options = workloads.with_value(|w| w.iter().enumerate().map(|(i, w)| view! { <option value=i.to_string()>{w.label()}</option> }).collect_view());
    let containers = move || workloads.with_value(|w| w[chosen.get().min(w.len() - 1)].containers.clone());
    let radios = ways
        .iter()
        .enumerate()
        .map(|(i, u)| view! {
            <label class="flex items-center gap-2 text-sm">
                <input type="radio" name="attach-use" prop:checked=move || way.get() == i on:change=move |_| way.set(i) />
                {u.label()}
            </label>
        })
        .collect_view();
    let is_volume = move || matches!(uses(row.credential_type)[way.get()], Use::Volume { .. });
    view! {
        <form class="space-y-4" on:submit=submit novalidate>
            <div>
                <label for="attach-workload" class="field-label">"Workload"</label>
                <select id="attach-workload" class="input w-full" on:change=move |ev| { chosen.set(event_target_value(&ev).parse().unwrap_or(0)); container.set(String::new()); }>{options}</select>
            </div>
            <Show when=move || { containers().len() > 1 }>
                <div>
                    <label for="attach-container" class="field-label">"Container"</label>
                    <select id="attach-container" class="input w-full" on:change=move |ev| container.set(event_target_value(&ev))>
                        {move || containers().into_iter().map(|c| view! { <option value=c.clone()>{c.clone()}</option> }).collect_view()}
                    </select>
                </div>
            </Show>
            <fieldset>
                <legend class="field-label">"How"</legend>
                <div class="space-y-1">{radios}</div>
            </fieldset>
            <Show when=is_volume>
                <Field label="Mount path" field="path".to_string() id="attach-path".to_string() value=path />
            </Show>
            <button type="button" class="btn-secondary" on:click=move |_| { preview.dispatch(request()); }>"Show the change"</button>
            {move || shown.get().map(|(patch, _)| view! {
                <p class="text-sm">"Keyhold will send this JSON Patch; it only adds, and is refused if the workload changed since it was read:"</p>
                <pre class="max-h-64 overflow-auto rounded bg-slate-100 p-3 text-xs dark:bg-slate-800"><code>{patch}</code></pre>
            })}
            <FormError />
            <DialogButtons label="Make this change" busy="Changing…" pending=apply.pending().into() open />
        </form>
    }
}
