//! "My credentials" (`/me/credentials`): a person's own registry logins, generic secrets and NGC
//! API keys, which nobody else sees in Keyhold; the projects each is copied into; a form for a new
//! one; and, for administrators, how many each person keeps. Rename, new values and delete are on
//! the credential's own page, as for shared credentials.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos_meta::Title;

use crate::app::components::form::{Field, FieldMessage, FormCheck, FormError, on_submit, submission, submit_disabled};
use crate::app::components::modal::{DialogButtons, Modal};
use crate::app::components::values::{ValuesDraft, ValuesFields};
use crate::app::layout::PageHeader;
use crate::domain::AppError;
use crate::domain::credential::{CredentialType, Phase};
use crate::domain::new_credential::{NewPersonalCredential, PersonalProjects};
use crate::app::live::follow_changes;
use crate::domain::query::{CredentialRow, PersonalChoices};

#[server(endpoint = "my_credentials")]
pub async fn my_credentials() -> Result<Vec<CredentialRow>, AppError> {
    crate::server::auth::web::credentials(|service, who| async move { service.mine(&who).await }).await
}

#[server(endpoint = "personal_choices")]
pub async fn read_personal_choices() -> Result<PersonalChoices, AppError> {
    crate::server::auth::web::credentials(|service, who| async move {
        let counts = service.personal_counts(&who).await?.map(|counts| counts.into_iter().collect());
        Ok(PersonalChoices { projects: service.personal_projects(&who).await?, counts })
    })
    .await
}

/// Creates a personal credential; the values go to Kubernetes and nowhere else.
#[server(endpoint = "create_personal_credential", input = Json)]
pub async fn create_personal_credential(request: NewPersonalCredential) -> Result<CredentialRow, AppError> {
    crate::server::auth::web::credentials(|service, who| async move { service.create_personal(&who, &request).await }).await
}

#[server(endpoint = "set_personal_projects", input = Json)]
pub async fn set_personal_projects(name: String, projects: PersonalProjects) -> Result<CredentialRow, AppError> {
    crate::server::auth::web::credentials(|service, who| async move { service.set_personal_projects(&who, &name, &projects).await }).await
}

const PERSONAL_TYPES: [CredentialType; 3] = [CredentialType::DockerRegistry, CredentialType::Generic, CredentialType::NgcApiKey];

#[component]
pub fn MyCredentialsPage() -> impl IntoView {
    // The list follows changes; the form and its choices are read once, so what is being typed
    // survives every change elsewhere. A new form (`forms`) after each create.
    let (refreshes, forms) = (RwSignal::new(0u32), RwSignal::new(0u32));
    let refresh = move || refreshes.update(|n| *n += 1);
    follow_changes(refresh);
    let rows = Resource::new(move || refreshes.get(), |_| my_credentials());
    let choices = Resource::new(|| (), |_| read_personal_choices());
    view! {
        <Title text="My credentials" />
        <PageHeader title="My credentials" subtitle="Registry logins, secrets and NGC API keys of your own" />
        <p class="mb-6 max-w-3xl text-sm text-slate-500 dark:text-slate-400">
            "Only you see these in Keyhold, whatever anyone's role. Keyhold copies each one into the projects you pick, "
            "as a Secret named after you and labelled keyhold.dev/owner, for your workloads there. In each of those projects, "
            "Kubernetes RBAC on Secrets still decides who can read the copy."
        </p>
        <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading your credentials…"</p> }>
            {move || Suspend::new(async move {
                let (rows, choices) = (rows.await?, choices.await?);
                Ok::<_, AppError>(view! { <MineTable rows allowed=choices.projects refresh /> })
            })}
        </Transition>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let choices = choices.await?;
                let form = (!choices.projects.is_empty()).then(|| {
                    let projects = choices.projects.clone();
                    view! { {move || { forms.get(); view! { <NewPersonal projects=projects.clone() done=move || { forms.update(|n| *n += 1); refresh(); } /> } }} }
                });
                let none = choices.projects.is_empty().then(|| view! { <p class="text-sm text-slate-500">"Your roles do not let you keep credentials of your own in any project."</p> });
                Ok::<_, AppError>(view! { {form} {none} {choices.counts.map(|counts| view! { <Counts counts /> })} })
            })}
        </Transition>
    }
}

#[component]
fn MineTable(rows: Vec<CredentialRow>, allowed: Vec<String>, refresh: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let rows = if rows.is_empty() {
        view! { <tr><td colspan="6" class="text-slate-500">"You have no credentials of your own yet."</td></tr> }.into_any()
    } else {
        rows.into_iter().map(|row| view! { <MineRow row allowed=allowed.clone() refresh /> }).collect_view().into_any()
    };
    view! {
        <div class="card scroll-frame mb-6">
            <table class="data-table">
                <caption class="sr-only">"My credentials"</caption>
                <thead><tr>
                    <th scope="col">"Credential"</th><th scope="col">"Type"</th><th scope="col">"Projects"</th>
                    <th scope="col">"Status"</th><th scope="col">"Created"</th><th scope="col">"Last changed"</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

#[component]
fn MineRow(row: CredentialRow, allowed: Vec<String>, refresh: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let open = RwSignal::new(false);
    Effect::new(move |was_open: Option<bool>| {
        let now = open.get();
        if was_open == Some(true) && !now {
            refresh();
        }
        now
    });
    let link = format!("/credentials/{}/{}", row.namespace, row.name);
    let projects = row
        .projects
        .iter()
        .map(|project| {
            let target = row.targets.iter().find(|t| t.namespace == *project);
            let (state, title) = match target {
                Some(t) if t.phase == Phase::Ready => ("copied", String::new()),
                Some(t) => ("no copy", t.message.clone()),
                None => ("being copied", String::new()),
            };
            view! { <li title=title>{format!("{project}: {state}")}</li> }
        })
        .collect_view();
    let mut choices = allowed;
    choices.extend(row.projects.iter().filter(|p| !choices.contains(p)).cloned().collect::<Vec<_>>());
    let title = format!("Projects of {}", row.display_name);
    view! {
        <tr>
            <td class="font-medium"><a href=link class="text-indigo-700 hover:underline focus-ring dark:text-indigo-300">{row.display_name.clone()}</a></td>
            <td>{row.credential_type.label()}</td>
            <td>
                <ul class="text-sm">{projects}</ul>
                <button type="button" class="btn-secondary mt-2" aria-label=format!("Change the projects of {}", row.display_name) on:click=move |_| open.set(true)>"Projects"</button>
                <Modal id=format!("projects-{}", row.name) title open>
                    <ProjectsForm name=row.name.clone() chosen=row.projects.clone() choices=choices.clone() open />
                </Modal>
            </td>
            <td>{row.phase.label()}</td>
            <td class="whitespace-nowrap"><time datetime=row.created_at.clone()>{row.created_at.get(..10).unwrap_or_default().to_string()}</time></td>
            <td class="whitespace-nowrap"><time datetime=row.changed_at.clone()>{row.changed_at.get(..10).unwrap_or_default().to_string()}</time></td>
        </tr>
    }
}

/// One checkbox per project; the chosen ones in `chosen`.
#[component]
fn ProjectChoice(choices: Vec<String>, chosen: RwSignal<Vec<String>>, id: &'static str) -> impl IntoView {
    let boxes = choices
        .into_iter()
        .map(|project| {
            let checked = {
                let project = project.clone();
                move || chosen.read().contains(&project)
            };
            let toggle = {
                let project = project.clone();
                move |_| chosen.update(|c| if let Some(i) = c.iter().position(|p| *p == project) { c.remove(i); } else { c.push(project.clone()); })
            };
            view! {
                <label class="flex items-center gap-2 text-sm">
                    <input type="checkbox" name=id prop:checked=checked on:change=toggle />
                    {project}
                </label>
            }
        })
        .collect_view();
    view! {
        <fieldset>
            <legend class="field-label">"Projects"</legend>
            <div class="flex flex-wrap gap-4">{boxes}</div>
            <FieldMessage field="projects" />
        </fieldset>
    }
}

#[component]
fn ProjectsForm(name: String, chosen: Vec<String>, choices: Vec<String>, open: RwSignal<bool>) -> impl IntoView {
    let chosen = RwSignal::new(chosen);
    let request = move || PersonalProjects { projects: chosen.get() };
    let check = FormCheck::provide(move || request().problems());
    let action = submission(check, move |r: &PersonalProjects| Box::pin(set_personal_projects(name.clone(), r.clone())), move |_| open.set(false));
    let submit = on_submit(action, check, request);
    view! {
        <form class="space-y-4" on:submit=submit novalidate>
            <ProjectChoice choices chosen id="projects" />
            <p class="text-sm text-slate-500">"A project you take away loses its copy at once."</p>
            <DialogButtons label="Save projects" busy="Saving…" pending=action.pending().into() open />
        </form>
    }
}

#[component]
fn NewPersonal(projects: Vec<String>, done: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let kind = RwSignal::new(CredentialType::NgcApiKey);
    // One draft per type, so switching back and forth keeps what was typed for each.
    let drafts = PERSONAL_TYPES.map(|t| ValuesDraft::new(t, &[]));
    let draft = move || drafts.into_iter().find(|d| d.credential_type == kind.get()).expect("a draft per type");
    let (display_name, description, chosen) = (RwSignal::new(String::new()), RwSignal::new(String::new()), RwSignal::new(Vec::<String>::new()));
    let request = move || NewPersonalCredential { display_name: display_name.get(), description: description.get(), projects: chosen.get(), values: draft().values() };
    let check = FormCheck::provide(move || request().problems());
    let action = submission(check, move |r: &NewPersonalCredential| Box::pin(create_personal_credential(r.clone())), move |_| done());
    let submit = on_submit(action, check, request);
    let types = PERSONAL_TYPES
        .map(|t| {
            view! {
                <label class="flex items-center gap-2 text-sm">
                    <input type="radio" name="personal-type" prop:checked=move || kind.get() == t on:change=move |_| kind.set(t) />
                    {t.label()}
                </label>
            }
        })
        .collect_view();
    view! {
        <form class="card max-w-3xl space-y-4 p-6" on:submit=submit novalidate>
            <h2 class="text-lg font-semibold">"New personal credential"</h2>
            <fieldset>
                <legend class="field-label">"Type"</legend>
                <div class="flex flex-wrap gap-4">{types}</div>
            </fieldset>
            <Field label="Name" field="displayName".to_string() id="personal-displayName".to_string() value=display_name />
            <Field label="Description" field="description".to_string() id="personal-description".to_string() value=description />
            <ProjectChoice choices=projects chosen id="personal-projects" />
            {move || view! { <ValuesFields draft=draft() /> }}
            <FormError />
            <button type="submit" class="btn-primary" disabled=submit_disabled(action)>"Create personal credential"</button>
        </form>
    }
}

/// For administrators: how many credentials each person keeps, never their names or keys.
#[component]
fn Counts(counts: Vec<(String, usize)>) -> impl IntoView {
    let rows = counts.into_iter().map(|(person, n)| view! { <tr><td>{person}</td><td>{n}</td></tr> }).collect_view();
    view! {
        <section class="mt-8 max-w-md">
            <h2 class="mb-2 text-lg font-semibold">"Personal credentials per person"</h2>
            <p class="mb-3 text-sm text-slate-500">"As an administrator you see how many each person keeps; never their names or keys."</p>
            <div class="card">
                <table class="data-table">
                    <caption class="sr-only">"Personal credentials per person"</caption>
                    <thead><tr><th scope="col">"Person"</th><th scope="col">"Credentials"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </section>
    }
}
