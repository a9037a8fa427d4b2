//! "New credential": `/credentials/new` offers the types, `/credentials/new?type=…` is the wizard
//! for one (scope, name, description, and a new or an existing secret), and the server functions
//! behind it, thin doors onto the credentials service.

mod from_file;
mod scope_picker;

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::app::components::connection::TestConnection;
use crate::app::components::form::{Field, FieldMessage, FormCheck, FormError, on_submit, submit_disabled};
use crate::app::components::values::{ValuesDraft, ValuesFields};
use crate::app::layout::PageHeader;
use crate::app::pages::ForbiddenPage;
use crate::domain::AppError;
use crate::domain::credential::{CredentialType, FieldError, Scope, ScopeLevel};
use crate::domain::lifecycle::{TestOutcome, TestValues, testable};
use crate::domain::new_credential::{ExistingSecretCredential, ExistingSecrets, NewCredential};
use crate::domain::query::CredentialRow;
use crate::domain::scope_tree::ScopeNode;
use crate::domain::secret_file::SecretFile;
use from_file::FromFile;
use scope_picker::ScopePicker;

/// The scopes the signed-in person may create credentials in; `None` if there are none.
#[server(endpoint = "creation_scopes")]
pub async fn creation_scopes() -> Result<Option<ScopeNode>, AppError> {
    crate::server::auth::web::credentials(|service, who| async move { service.creation_scopes(&who).await }).await
}

/// What is wrong with a name for a new credential, if anything (taken, or against the rules).
#[server(endpoint = "check_credential_name")]
pub async fn check_credential_name(display_name: String) -> Result<Option<String>, AppError> {
    crate::server::auth::web::credentials(|service, who| async move { Ok(service.name_problem(&who, &display_name).await?.map(|p| p.message)) }).await
}

/// The existing secrets a scope offers for a type, and the labels that offer one.
#[server(endpoint = "offered_secrets", input = Json)]
pub async fn offered_secrets(scope: Scope, credential_type: CredentialType) -> Result<ExistingSecrets, AppError> {
    crate::server::auth::web::credentials(|service, who| async move { service.existing_secrets(&who, &scope, credential_type).await }).await
}

/// Creates a credential with a new secret. The values go to Kubernetes and nowhere else.
#[server(endpoint = "create_credential", input = Json)]
pub async fn create_credential(request: NewCredential) -> Result<CredentialRow, AppError> {
    crate::server::auth::web::credentials(|service, who| async move { service.create(&who, &request).await }).await
}

/// Signs in with values not saved yet, to say whether they work before they are saved.
#[server(endpoint = "test_connection", input = Json)]
pub async fn test_connection(request: TestValues) -> Result<TestOutcome, AppError> {
    crate::server::auth::web::credentials(|service, who| async move { service.test_values(&who, &request).await }).await
}

/// Creates a credential for an existing, labelled Secret.
#[server(endpoint = "create_from_existing", input = Json)]
pub async fn create_from_existing(request: ExistingSecretCredential) -> Result<CredentialRow, AppError> {
    crate::server::auth::web::credentials(|service, who| async move { service.create_from_existing(&who, &request).await }).await
}

#[component]
pub fn NewCredentialPage() -> impl IntoView {
    let query = use_query_map();
    let chosen = Memo::new(move |_| query.with(|q| q.get("type").and_then(|t| CredentialType::from_resource_label(&t))));
    let scopes = Resource::new(|| (), |_| creation_scopes());
    // A Secret read from a file opens the wizard of its type, holding its values.
    let imported = RwSignal::new(None::<SecretFile>);
    view! {
        <Title text="New credential" />
        <Suspense>
            {move || {
                let (chosen, file) = (chosen.get(), imported.get());
                Suspend::new(async move {
                    match (scopes.await, chosen, file) {
                        (Ok(None) | Err(AppError::Forbidden(_)), _, _) => {
                            Ok(view! { <ForbiddenPage message="Your roles do not let you create credentials anywhere.".into() /> }.into_any())
                        }
                        (Ok(Some(tree)), _, Some(file)) => Ok(view! { <Wizard credential_type=file.credential_type() tree file /> }.into_any()),
                        (Ok(Some(_)), None, None) => Ok(view! { <TypeChoice imported /> }.into_any()),
                        (Ok(Some(tree)), Some(credential_type), None) => Ok(view! { <Wizard credential_type tree /> }.into_any()),
                        (Err(e), _, _) => Err(e),
                    }
                })
            }}
        </Suspense>
    }
}

fn type_summary(credential_type: CredentialType) -> &'static str {
    match credential_type {
        CredentialType::DockerRegistry => "A login for a container registry, so workloads can pull private images.",
        CredentialType::AccessKey => "An access key ID and secret access key, as S3-compatible storage and cloud APIs use.",
        CredentialType::Password => "A username and password for a database, a service or a web login.",
        CredentialType::Generic => "Any keys and values, for tokens and settings the other types do not cover.",
        CredentialType::Tls => "A certificate and its private key, for serving or calling over TLS.",
        CredentialType::NgcApiKey => "An NVIDIA NGC API key: NGC_API_KEY for workloads, and image pulls from nvcr.io.",
    }
}

#[component]
fn TypeChoice(imported: RwSignal<Option<SecretFile>>) -> impl IntoView {
    view! {
        <PageHeader title="New credential" subtitle="Choose what kind of secret it holds" />
        <ul class="grid gap-4 sm:grid-cols-2">
            {CredentialType::ALL
                .into_iter()
                .map(|t| view! {
                    <li>
                        <a href=format!("/credentials/new?type={}", t.resource_label()) class="card focus-ring block h-full p-5 hover:border-indigo-400">
                            <span class="block font-semibold">{t.label()}</span>
                            <span class="mt-1 block text-sm text-slate-500 dark:text-slate-400">{type_summary(t)}</span>
                        </a>
                    </li>
                })
                .collect_view()}
        </ul>
        <FromFile imported />
    }
}

/// Where the secret of a new credential comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    New,
    Existing,
}

/// What the wizard submits.
#[derive(Clone)]
enum Request {
    New(NewCredential),
    Existing(ExistingSecretCredential),
}

impl Request {
    fn problems(&self) -> Vec<FieldError> {
        match self {
            Request::New(r) => r.problems(),
            Request::Existing(r) => r.problems(),
        }
    }

    async fn submit(self) -> Result<CredentialRow, AppError> {
        match self {
            Request::New(r) => create_credential(r).await,
            Request::Existing(r) => create_from_existing(r).await,
        }
    }
}

#[component]
fn Wizard(credential_type: CredentialType, tree: ScopeNode, #[prop(optional)] file: Option<SecretFile>) -> impl IntoView {
    let offered = tree.allowed_scopes();
    // One scope on offer is picked for the person.
    let scope = RwSignal::new((offered.len() == 1).then(|| offered[0].clone()));
    let display_name = RwSignal::new(file.as_ref().map(|f| f.name.clone()).unwrap_or_default());
    let description = RwSignal::new(String::new());
    let expires_on = RwSignal::new(String::new());
    let source = RwSignal::new(Source::New);
    let secret_name = RwSignal::new(String::new());
    let from = file.as_ref().map(|f| format!("From the {} Secret {} you gave: check the values, then create.", f.secret_type, f.name));
    let draft = file.map(|f| ValuesDraft::holding(f.values)).unwrap_or_else(|| ValuesDraft::new(credential_type, &[]));

    let request = move || {
        // Until a scope is picked, the request carries an unpicked project, which the rules refuse.
        let scope = scope.get().unwrap_or(Scope { level: ScopeLevel::Project, department: None, project: None, cluster: None });
        match source.get() {
            Source::New => Request::New(NewCredential { display_name: display_name.get(), description: description.get(), scope, values: draft.values(), expires_on: expires_on.get() }),
            Source::Existing => Request::Existing(ExistingSecretCredential {
                display_name: display_name.get(),
                description: description.get(),
                scope,
                credential_type,
                secret_name: secret_name.get(),
                expires_on: expires_on.get(),
            }),
        }
    };
    // The name is checked against the cluster as it is typed (display names are unique).
    let name_check = LocalResource::new(move || {
        let name = display_name.get();
        async move {
            let problem = if name.trim().is_empty() { None } else { check_credential_name(name.clone()).await.ok().flatten() };
            (name, problem)
        }
    });
    let check = FormCheck::provide(move || {
        let mut problems = request().problems();
        if scope.read().is_none() {
            problems.retain(|p| p.field != "scope");
            problems.push(FieldError::new("scope", "Pick a scope"));
        }
        if let Some((name, Some(problem))) = name_check.get()
            && name == display_name.get()
            && !problems.iter().any(|p| p.field == "displayName")
        {
            problems.push(FieldError::new("displayName", problem));
        }
        problems
    });

    let create = Action::new(|request: &Request| request.clone().submit());
    let submit = on_submit(create, check, request);
    let navigate = use_navigate();
    Effect::new(move |_| match create.value().get() {
        Some(Ok(row)) => navigate(&format!("/credentials/{}/{}", row.namespace, row.name), Default::default()),
        Some(Err(e)) => check.refused(e),
        None => {}
    });

    view! {
        <nav aria-label="Breadcrumb" class="mb-2 text-sm">
            <a href="/credentials" class="text-indigo-700 hover:underline dark:text-indigo-300">"Credentials"</a>
            " › "
            <a href="/credentials/new" class="text-indigo-700 hover:underline dark:text-indigo-300">"New credential"</a>
        </nav>
        <h1 class="mb-6 text-2xl font-semibold tracking-tight">{format!("New {} credential", credential_type.label().to_lowercase())}</h1>
        {from.map(|note| view! { <p role="note" class="mb-4 max-w-2xl text-sm text-slate-600 dark:text-slate-300">{note}</p> })}
        <form class="card max-w-2xl space-y-6 p-6" on:submit=submit novalidate>
            <ScopePicker tree selected=scope />
            <Field label="Name" field="displayName".to_string() id="displayName".to_string() value=display_name hint=Some("Unique in the cluster; people see it in the table.") />
            <Field label="Description" field="description".to_string() id="description".to_string() value=description multiline=true hint=Some("Optional: what it is for.") />
            <Field label="Expires on" field="expiresOn".to_string() id="expiresOn".to_string() value=expires_on hint=Some("Optional, YYYY-MM-DD: when the token or key stops working. Keyhold warns 14 days before.") />
            <fieldset>
                <legend class="field-label">"Secret"</legend>
                <div class="flex flex-wrap gap-6 text-sm">
                    <SourceChoice source value=Source::New label="New secret (recommended)" />
                    <SourceChoice source value=Source::Existing label="Existing secret" />
                </div>
            </fieldset>
            {move || match source.get() {
                Source::New => view! {
                    <ValuesFields draft />
                    {testable(credential_type).then(|| view! { <TestConnection run=move || Box::pin(test_connection(TestValues { values: draft.values(), bucket: String::new() })) /> })}
                }
                .into_any(),
                Source::Existing => view! { <ExistingSecretPicker credential_type scope secret_name /> }.into_any(),
            }}
            <FormError />
            <div class="flex items-center gap-3">
                <button type="submit" class="btn-primary" disabled=submit_disabled(create)>
                    {move || if create.pending().get() { "Creating…" } else { "Create credentials" }}
                </button>
                <a href="/credentials" class="btn-secondary">"Cancel"</a>
            </div>
        </form>
    }
}

#[component]
fn SourceChoice(source: RwSignal<Source>, value: Source, label: &'static str) -> impl IntoView {
    view! {
        <label class="inline-flex items-center gap-2">
            <input type="radio" name="source" prop:checked=move || source.get() == value on:change=move |_| source.set(value) />
            {label}
        </label>
    }
}

/// The labelled Secrets the chosen scope offers for this type; when there are none, the labels an
/// administrator puts on one to offer it.
#[component]
fn ExistingSecretPicker(credential_type: CredentialType, scope: RwSignal<Option<Scope>>, secret_name: RwSignal<String>) -> impl IntoView {
    let offered = LocalResource::new(move || {
        let scope = scope.get();
        async move {
            match scope {
                Some(scope) => Some(offered_secrets(scope, credential_type).await),
                None => None,
            }
        }
    });
    let check = expect_context::<FormCheck>();
    view! {
        <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Looking for secrets…"</p> }>
            {move || Suspend::new(async move {
                match offered.await {
                    None => view! { <p class="text-sm text-slate-500">"Pick a scope to see the secrets it offers."</p> }.into_any(),
                    Some(Err(e)) => view! { <p role="alert" class="field-error">{e.message()}</p> }.into_any(),
                    Some(Ok(found)) if found.names.is_empty() => view! { <NoExistingSecret found credential_type /> }.into_any(),
                    Some(Ok(found)) => {
                        if !found.names.contains(&secret_name.get_untracked()) {
                            secret_name.set(found.names[0].clone());
                        }
                        view! {
                            <div>
                                <label for="secretName" class="field-label">"Secret"</label>
                                <select id="secretName" class="input w-full" on:change=move |ev| { secret_name.set(event_target_value(&ev)); check.touch("secretName"); }>
                                    {found.names.into_iter().map(|n| view! { <option value=n.clone() selected=n == secret_name.get_untracked()>{n.clone()}</option> }).collect_view()}
                                </select>
                                <FieldMessage field="secretName" />
                            </div>
                        }
                        .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn NoExistingSecret(found: ExistingSecrets, credential_type: CredentialType) -> impl IntoView {
    let labels = found.labels.iter().map(|(k, v)| view! { <li><code>{format!("{k}: \"{v}\"")}</code></li> }).collect_view();
    view! {
        <div role="status" class="rounded-lg border border-slate-200 bg-slate-50 p-4 text-sm dark:border-slate-700 dark:bg-slate-800">
            <p class="font-medium">{format!("No existing {} secret is offered for this scope.", credential_type.label().to_lowercase())}</p>
            <p class="mt-1">{format!("An administrator offers one by creating the Secret in the namespace {} with these labels:", found.namespace)}</p>
            <ul class="mt-2 list-disc pl-5">{labels}</ul>
        </div>
    }
}
