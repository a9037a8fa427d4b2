//! The fields of a secret's values, per credential type: for a new credential and for "Replace
//! values". Values live only in these inputs and in the request that submits them.

use leptos::prelude::*;

use super::form::{Field, FieldMessage};
use crate::domain::credential::CredentialType;
use crate::domain::new_credential::SecretValues;

/// One key/value row of a generic secret; `id` keeps a row's inputs when others are removed.
#[derive(Clone, Copy)]
struct Entry {
    id: usize,
    key: RwSignal<String>,
    value: RwSignal<String>,
}

/// What has been typed for a secret's values.
#[derive(Clone, Copy)]
pub struct ValuesDraft {
    pub credential_type: CredentialType,
    registry: RwSignal<String>,
    username: RwSignal<String>,
    password: RwSignal<String>,
    access_key_id: RwSignal<String>,
    secret_access_key: RwSignal<String>,
    certificate: RwSignal<String>,
    private_key: RwSignal<String>,
    api_key: RwSignal<String>,
    entries: RwSignal<Vec<Entry>>,
    next_id: StoredValue<usize>,
}

impl ValuesDraft {
    /// An empty draft; a generic one starts with a row per key in `keys` (names only), or one
    /// empty row.
    pub fn new(credential_type: CredentialType, keys: &[String]) -> Self {
        let draft = ValuesDraft {
            credential_type,
            registry: RwSignal::default(),
            username: RwSignal::default(),
            password: RwSignal::default(),
            access_key_id: RwSignal::default(),
            secret_access_key: RwSignal::default(),
            certificate: RwSignal::default(),
            private_key: RwSignal::default(),
            api_key: RwSignal::default(),
            entries: RwSignal::default(),
            next_id: StoredValue::new(0),
        };
        let starting: Vec<&str> = if keys.is_empty() { vec![""] } else { keys.iter().map(String::as_str).collect() };
        for key in starting {
            draft.add_entry(key, "");
        }
        draft
    }

    /// A draft holding `values` (read from a file the person gave), ready to submit.
    pub fn holding(values: SecretValues) -> Self {
        let draft = ValuesDraft::new(values.credential_type(), &[]);
        match values {
            SecretValues::DockerRegistry { registry, username, password } => {
                draft.registry.set(registry);
                draft.username.set(username);
                draft.password.set(password);
            }
            SecretValues::AccessKey { access_key_id, secret_access_key } => {
                draft.access_key_id.set(access_key_id);
                draft.secret_access_key.set(secret_access_key);
            }
            SecretValues::Password { username, password } => {
                draft.username.set(username);
                draft.password.set(password);
            }
            SecretValues::Tls { certificate, private_key } => {
                draft.certificate.set(certificate);
                draft.private_key.set(private_key);
            }
            SecretValues::NgcApiKey { api_key } => draft.api_key.set(api_key),
            SecretValues::Generic { entries } => {
                draft.entries.set(Vec::new());
                for (key, value) in entries {
                    draft.add_entry(&key, &value);
                }
            }
        }
        draft
    }

    fn add_entry(&self, key: &str, value: &str) {
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        self.entries.update(|e| e.push(Entry { id, key: RwSignal::new(key.to_string()), value: RwSignal::new(value.to_string()) }));
    }

    /// The values as typed, for checking and submitting.
    pub fn values(&self) -> SecretValues {
        match self.credential_type {
            CredentialType::DockerRegistry => {
                SecretValues::DockerRegistry { registry: self.registry.get(), username: self.username.get(), password: self.password.get() }
            }
            CredentialType::AccessKey => SecretValues::AccessKey { access_key_id: self.access_key_id.get(), secret_access_key: self.secret_access_key.get() },
            CredentialType::Password => SecretValues::Password { username: self.username.get(), password: self.password.get() },
            CredentialType::Generic => SecretValues::Generic { entries: self.entries.get().iter().map(|e| (e.key.get(), e.value.get())).collect() },
            CredentialType::Tls => SecretValues::Tls { certificate: self.certificate.get(), private_key: self.private_key.get() },
            CredentialType::NgcApiKey => SecretValues::NgcApiKey { api_key: self.api_key.get() },
        }
    }
}

/// The value fields of the draft's type, inside a form that provides a `FormCheck`.
#[component]
pub fn ValuesFields(draft: ValuesDraft) -> impl IntoView {
    let text = |label: &'static str, field: &'static str, value: RwSignal<String>, hint: Option<&'static str>| {
        view! { <Field label field=field.to_string() id=format!("value-{field}") value hint /> }
    };
    let secret = |label: &'static str, field: &'static str, value: RwSignal<String>| {
        view! { <Field label field=field.to_string() id=format!("value-{field}") value secret=true /> }
    };
    let fields = match draft.credential_type {
        CredentialType::DockerRegistry => view! {
            {text("Registry URL", "registry", draft.registry, Some("For example https://index.docker.io/v1/ or ghcr.io"))}
            {text("Username", "username", draft.username, None)}
            {secret("Password", "password", draft.password)}
        }
        .into_any(),
        CredentialType::AccessKey => view! {
            {text("Access key ID", "accessKeyId", draft.access_key_id, None)}
            {secret("Secret access key", "secretAccessKey", draft.secret_access_key)}
        }
        .into_any(),
        CredentialType::Password => view! {
            {text("Username", "username", draft.username, None)}
            {secret("Password", "password", draft.password)}
        }
        .into_any(),
        CredentialType::Generic => view! { <GenericRows draft /> }.into_any(),
        CredentialType::NgcApiKey => secret("NGC API key", "apiKey", draft.api_key).into_any(),
        CredentialType::Tls => view! {
            <Field label="Certificate" field="certificate".to_string() id="value-certificate".to_string() value=draft.certificate multiline=true
                hint=Some("PEM, from -----BEGIN CERTIFICATE-----; a chain starts with this server's certificate.") />
            <Field label="Private key" field="privateKey".to_string() id="value-privateKey".to_string() value=draft.private_key multiline=true secret=true
                hint=Some("PEM, unencrypted; it must be the certificate's key.") />
        }
        .into_any(),
    };
    view! {
        <div class="space-y-4">
            {fields}
            <FieldMessage field="values" />
        </div>
    }
}

/// Key/value rows: add, remove, each key checked as it is typed.
#[component]
fn GenericRows(draft: ValuesDraft) -> impl IntoView {
    let entries = draft.entries;
    let row = move |entry: Entry| {
        // The domain names a row's fields by position, which changes as rows are removed.
        let index = Memo::new(move |_| entries.read().iter().position(|e| e.id == entry.id).unwrap_or_default());
        let remove = move |_| entries.update(|e| e.retain(|other| other.id != entry.id));
        view! {
            <li class="grid grid-cols-[1fr_1fr_auto] items-start gap-3">
                {move || {
                    let i = index.get();
                    view! {
                        <Field label="Key" field=format!("entries[{i}].key") id=format!("entry-{}-key", entry.id) value=entry.key />
                        <Field label="Value" field=format!("entries[{i}].value") id=format!("entry-{}-value", entry.id) value=entry.value secret=true />
                    }
                }}
                <button type="button" class="btn-secondary mt-6" aria-label=move || format!("Remove row {}", index.get() + 1) on:click=remove>"Remove"</button>
            </li>
        }
    };
    view! {
        <ul class="space-y-3">
            <For each=move || entries.get() key=|e| e.id children=row />
        </ul>
        <button type="button" class="btn-secondary" on:click=move |_| draft.add_entry("", "")>"+ Key & value"</button>
        <FieldMessage field="entries" />
    }
}
