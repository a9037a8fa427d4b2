//! "Create from file": a Secret as kubectl prints it, pasted or uploaded, read in the browser (see
//! `domain::secret_file`) into a wizard opened with its type, keys and values. The values go to the
//! server only when the wizard submits.

use leptos::prelude::*;

use crate::app::components::form::{Field, FormCheck, hydrated, read_upload};
use crate::domain::credential::FieldError;
use crate::domain::secret_file::{SecretFile, read_secret_file};

#[component]
pub fn FromFile(imported: RwSignal<Option<SecretFile>>) -> impl IntoView {
    let text = RwSignal::new(String::new());
    let read = move || read_secret_file(&text.get());
    let check = FormCheck::provide(move || if text.read().trim().is_empty() { vec![FieldError::new("file", "Paste or upload a Secret")] } else { read().err().into_iter().collect() });
    let ready = hydrated();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if check.attempt() {
            imported.set(read().ok());
        }
    };
    view! {
        <section class="card mt-8 max-w-2xl p-6">
            <h2 class="text-lg font-semibold">"Create from file"</h2>
            <p class="mt-1 mb-4 text-sm text-slate-500 dark:text-slate-400">
                "Paste or upload a Secret as "<code>"kubectl create secret … --dry-run=client -o json"</code>" (or "<code>"-o yaml"</code>") prints it. The wizard opens with its type, keys and values; nothing is sent until you create the credential."
            </p>
            <form class="space-y-4" on:submit=submit novalidate>
                <Field label="Secret (JSON or YAML)" field="file".to_string() id="secret-file".to_string() value=text multiline=true />
                <div>
                    <label for="secret-upload" class="field-label">"Upload a file"</label>
                    <input id="secret-upload" type="file" accept=".json,.yaml,.yml,application/json,application/yaml,text/yaml" class="text-sm" on:change=move |ev| read_upload(ev, text, check, "file") />
                </div>
                // Read in the browser only: until the WASM runs there is nothing to continue to.
                <button type="submit" class="btn-primary" disabled=move || !ready.get()>"Continue"</button>
            </form>
        </section>
    }
}
