//! "Replace with …" in the Delete dialog of a credential that is in use: pick another credential of
//! its type; Keyhold shows every reference it will repoint, repoints those the person may change,
//! lists the rest, and deletes the old one only once nothing uses it.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos_router::hooks::use_navigate;

use crate::app::components::form::{FormCheck, FormError, submission};
use crate::domain::AppError;
use crate::domain::attach::{ReplaceWith, Replacement};
use crate::domain::credential::ScopeLevel;
use crate::domain::query::CredentialRow;

#[server(endpoint = "replacement_candidates")]
pub async fn replacement_candidates(namespace: String, name: String) -> Result<Vec<CredentialRow>, AppError> {
    crate::server::auth::web::credentials(|service, who| async move { service.replacement_candidates(&who, &namespace, &name).await }).await
}

#[server(endpoint = "replace_credential", input = Json)]
pub async fn replace_credential(namespace: String, name: String, with: ReplaceWith, apply: bool) -> Result<Replacement, AppError> {
    crate::server::auth::web::credentials(|service, who| async move { service.replace_and_delete(&who, &namespace, &name, &with, apply).await }).await
}

#[component]
pub fn ReplaceWithForm(row: CredentialRow) -> impl IntoView {
    let (namespace, name) = (row.namespace.clone(), row.name.clone());
    let candidates = Resource::new(|| (), move |_| replacement_candidates(namespace.clone(), name.clone()));
    let row = StoredValue::new(row);
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let candidates = candidates.await.unwrap_or_default();
                (!candidates.is_empty()).then(|| view! { <Replace row=row.get_value() candidates /> })
            })}
        </Transition>
    }
}

#[component]
fn Replace(row: CredentialRow, candidates: Vec<CredentialRow>) -> impl IntoView {
    let candidates = StoredValue::new(candidates);
    let chosen = RwSignal::new(0usize);
    let shown = RwSignal::new(None::<Replacement>);
    let with = move || candidates.with_value(|c| c.get(chosen.get()).map(|r| ReplaceWith { namespace: r.namespace.clone(), name: r.name.clone() }).unwrap_or(ReplaceWith { namespace: String::new(), name: String::new() }));
    let check = FormCheck::provide(Vec::new);
    let (namespace, name) = (row.namespace.clone(), row.name.clone());
    let preview = submission(check, move |w: &ReplaceWith| Box::pin(replace_credential(namespace.clone(), name.clone(), w.clone(), false)), move |r| shown.set(Some(r)));
    let navigate = use_navigate();
    let list = if row.scope_level == ScopeLevel::Personal { "/me/credentials" } else { "/credentials" };
    let (namespace, name) = (row.namespace.clone(), row.name.clone());
    let apply = submission(check, move |w: &ReplaceWith| Box::pin(replace_credential(namespace.clone(), name.clone(), w.clone(), true)), move |r: Replacement| {
        if r.deleted {
            navigate(list, Default::default());
        } else {
            shown.set(Some(r));
        }
    });
    Effect::new(move |_| {
        chosen.get();
        shown.set(None);
    });
    let options = candidates.with_value(|c| c.iter().enumerate().map(|(i, r)| view! { <option value=i.to_string()>{format!("{} ({})", r.display_name, r.scope_path)}</option> }).collect_view());
    let changes = move || {
        shown.get().map(|r| {
            let items = r
                .changes
                .into_iter()
                .map(|c| {
                    if c.reason.is_empty() {
                        view! { <li><span class="font-mono text-xs">{c.workload}</span><pre class="max-h-40 overflow-auto rounded bg-slate-100 p-2 text-xs dark:bg-slate-800"><code>{c.patch}</code></pre></li> }.into_any()
                    } else {
                        view! { <li>{format!("{}: not changed, {}", c.workload, c.reason)}</li> }.into_any()
                    }
                })
                .collect_view();
            let unseen = (r.unseen > 0).then(|| view! { <li>{format!("{} more in projects you cannot see: not changed", r.unseen)}</li> });
            view! { <ul class="space-y-2 text-sm" aria-label="Changes">{items}{unseen}</ul> }
        })
    };
    view! {
        <div class="mt-6 space-y-3 border-t border-slate-200 pt-4 dark:border-slate-700">
            <h3 class="text-sm font-semibold">"Replace with another credential"</h3>
            <label for="replace-with" class="field-label">"Replace with"</label>
            <select id="replace-with" class="input w-full" on:change=move |ev| chosen.set(event_target_value(&ev).parse().unwrap_or(0))>{options}</select>
            <div class="flex flex-wrap gap-2">
                <button type="button" class="btn-secondary" on:click=move |_| { preview.dispatch(with()); }>"Show the changes"</button>
                <button type="button" class="btn-danger" disabled=move || apply.pending().get() on:click=move |_| { apply.dispatch(with()); }>"Replace and delete"</button>
            </div>
            {changes}
            <FormError />
        </div>
    }
}
