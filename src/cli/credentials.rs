//! `keyhold credential …`: the Credentials page and its wizards, dialogs and detail page.

use std::time::Duration;

use reqwest::Method;

use crate::domain::attach::{Attached, Attachment, ReplaceWith, Replacement, Use, Workload};
use crate::domain::credential::{CredentialType, Phase, Scope, is_object_name};
use crate::domain::lifecycle::{ActivityEntry, TestOutcome, ValuesReplaced};
use crate::domain::new_credential::{ExistingSecretCredential, NewCredential, Rename};
use crate::domain::notebooks::Offered;
use crate::domain::query::{CredentialRow, ListQuery, Listing};
use crate::domain::snippets::snippets;

use super::CliError;
use super::args::{self, CredentialCommand, Format};
use super::client::Api;
use super::output::{self, clean};
use super::values;

pub async fn run(api: &Api, command: CredentialCommand) -> Result<(), CliError> {
    match command {
        CredentialCommand::List(list) => self::list(api, &list).await,
        CredentialCommand::Get(get) => show(&resolve(api, &get.name).await?, &get),
        CredentialCommand::Create(create) => self::create(api, &create).await,
        CredentialCommand::Rename(rename) => {
            let row = resolve(api, &rename.name).await?;
            let request = Rename { display_name: rename.new_name, description: rename.description.unwrap_or(row.description.clone()), expires_on: rename.expires_on };
            let renamed: CredentialRow = api.with_body(Method::PATCH, &path(&row), &request).await?;
            say!("Renamed {} to {}", row.display_name, renamed.display_name);
            Ok(())
        }
        CredentialCommand::Replace(replace) => {
            let row = resolve(api, &replace.name).await?;
            let new = values::gather(&replace.values, row.credential_type)?;
            let sent = api.request(Method::PUT, &[path(&row).as_slice(), &["values"]].concat()).query(&[("rollout", replace.rollout)]).json(&new);
            let replaced: ValuesReplaced = api.json(sent).await?;
            say!("Replaced the values of {}", row.display_name);
            if let Some(plan) = replaced.rollout {
                let lines = [
                    ("Restarted", plan.restart),
                    ("Skipped (you may not restart it)", plan.skipped),
                    ("Not restarted (its namespace's copy did not have the new values in time)", plan.not_updated),
                    ("Picks it up on its next run", plan.next_run),
                ];
                for (what, workloads) in lines {
                    workloads.iter().for_each(|w| say!("{what}: {w}"));
                }
                if plan.unseen > 0 {
                    say!("Not restarted: {} in projects you cannot see", plan.unseen);
                }
            }
            Ok(())
        }
        CredentialCommand::Test(test) => {
            let row = resolve(api, &test.name).await?;
            let sent = api.request(Method::POST, &[path(&row).as_slice(), &["test"]].concat()).json(&serde_json::json!({"bucket": test.bucket}));
            let outcome: TestOutcome = api.json(sent).await?;
            if !outcome.ok {
                return Err(CliError::Failed(outcome.message));
            }
            say!("{}", outcome.message);
            Ok(())
        }
        CredentialCommand::Activity(named) => {
            let row = resolve(api, &named.name).await?;
            let entries: Vec<ActivityEntry> = api.get(&[path(&row).as_slice(), &["activity"]].concat()).await?;
            let rows: Vec<Vec<String>> = entries.into_iter().map(|e| vec![e.at, e.action, e.by, e.detail]).collect();
            output::print(&output::table(&["WHEN", "WHAT", "WHO", "DETAIL"], &rows));
            Ok(())
        }
        CredentialCommand::Delete(delete) => self::delete(api, &delete).await,
        CredentialCommand::Workloads(named) => {
            let row = resolve(api, &named.name).await?;
            let workloads: Vec<Workload> = api.get(&[path(&row).as_slice(), &["workloads"]].concat()).await?;
            let rows: Vec<Vec<String>> = workloads.iter().map(|w| vec![w.label(), w.containers.join(", ")]).collect();
            output::print(&output::table(&["WORKLOAD", "CONTAINERS"], &rows));
            Ok(())
        }
        CredentialCommand::Attach(attach) => self::attach(api, attach).await,
        CredentialCommand::OfferToNotebooks(named) => {
            let row = resolve(api, &named.name).await?;
            let offered: Offered = api.json(api.request(Method::POST, &[path(&row).as_slice(), &["notebooks"]].concat())).await?;
            let rows: Vec<Vec<String>> =
                offered.offers.iter().map(|o| vec![o.namespace.clone(), if o.offered { "offered".into() } else { format!("not offered: {}", o.reason) }]).collect();
            output::print(&output::table(&["NAMESPACE", "NOTEBOOKS"], &rows));
            Ok(())
        }
    }
}

/// `/credentials/{namespace}/{name}` of a row.
fn path(row: &CredentialRow) -> [&str; 3] {
    ["credentials", &row.namespace, &row.name]
}

/// The type a command line names by its resource label (`docker-registry`).
pub fn credential_type(text: &str) -> Result<CredentialType, CliError> {
    CredentialType::parse_label(text).map_err(|e| CliError::Usage(format!("TYPE: {}", e.message)))
}

/// The table's query for `list`'s flags (scopes are matched here, by `CredentialRow::has_scope`).
fn query(list: &args::List) -> Result<ListQuery, CliError> {
    let mut params: Vec<(&str, String)> = Vec::new();
    params.extend(list.search.iter().map(|q| ("q", q.clone())));
    for t in &list.types {
        params.push(("type", credential_type(t)?.label().to_string()));
    }
    params.extend(list.statuses.iter().map(|s| ("status", s.label().to_string())));
    params.extend(list.sort.iter().map(|s| ("sort", s.clone())));
    if list.desc {
        params.push(("order", "desc".into()));
    }
    Ok(ListQuery::from_params(params.iter().map(|(k, v)| (*k, v.as_str()))))
}

/// Every row of a view, page after page.
async fn every_row(api: &Api, query: &ListQuery) -> Result<Vec<CredentialRow>, CliError> {
    let mut rows = Vec::new();
    for page in 1.. {
        let view = query.at_page(page, 100);
        let listing: Listing = api.json(api.request(Method::GET, &["credentials"]).query(&view.to_params())).await?;
        let done = listing.page.rows.is_empty() || page >= listing.page.pages();
        rows.extend(listing.page.rows);
        if done {
            break;
        }
    }
    Ok(rows)
}

async fn list(api: &Api, list: &args::List) -> Result<(), CliError> {
    let query = query(list)?;
    let scopes = list.scopes.iter().map(|s| scope(s)).collect::<Result<Vec<_>, _>>()?;
    let print = || async {
        let mut rows = every_row(api, &query).await?;
        rows.retain(|row| scopes.is_empty() || scopes.iter().any(|s| row.has_scope(s)));
        output::credentials(&rows, list.output)
    };
    if !list.watch {
        output::print(&print().await?);
        return Ok(());
    }
    // The stream says only "changed"; each change is read again through the list, which applies
    // the caller's permissions. It is open before the first listing, so no change falls between.
    let mut events = api.send(api.request(Method::GET, &["events", "credentials"])).await?;
    let mut shown = print().await?;
    output::print(&shown);
    let mut pending = String::new();
    while let Some(chunk) = events.chunk().await.map_err(|e| CliError::Unreachable { server: api.server.clone(), reason: e.to_string() })? {
        pending.push_str(&String::from_utf8_lossy(&chunk));
        let Some(end) = pending.rfind("\n\n") else { continue };
        let changed = pending[..end].lines().any(|line| line == "event: changed");
        pending.drain(..end + 2);
        if changed {
            let now = print().await?;
            if now != shown {
                output::print(&format!("\n{now}"));
                shown = now;
            }
        }
    }
    Err(CliError::Unreachable { server: api.server.clone(), reason: "the server ended the stream".into() })
}

/// The credential a command names: `namespace/name`, else the one whose display name (or
/// Kubernetes name) it is, among those the caller may see.
pub async fn resolve(api: &Api, name: &str) -> Result<CredentialRow, CliError> {
    if let Some((namespace, object)) = name.split_once('/')
        && is_object_name(namespace)
        && is_object_name(object)
    {
        match api.get(&["credentials", namespace, object]).await {
            // A display name may hold a slash too.
            Err(CliError::Server { status: 404, .. }) => {}
            found => return found,
        }
    }
    let rows = every_row(api, &ListQuery::from_params([("q", name)])).await?;
    pick(rows, name)
}

/// A scope as `--scope` names it; a wrong one is a command line that cannot work.
fn scope(text: &str) -> Result<Scope, CliError> {
    text.parse::<Scope>().map_err(|e| CliError::Usage(format!("--scope: {}", e.message)))
}

/// The one row `name` names, by display name or Kubernetes name.
pub fn pick(rows: Vec<CredentialRow>, name: &str) -> Result<CredentialRow, CliError> {
    let mut found: Vec<CredentialRow> = rows.into_iter().filter(|r| r.display_name == name || r.name == name).collect();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(CliError::Server { status: 404, message: "no credential by that name that you may see".into(), field: None }),
        _ => {
            let names: Vec<String> = found.iter().map(|r| format!("{}/{}", r.namespace, r.name)).collect();
            Err(CliError::Usage(format!("that name is taken by {}: name one as NAMESPACE/NAME", names.join(", "))))
        }
    }
}

/// `get`: facts for people, the API's JSON or YAML, or one snippet alone.
pub fn show(row: &CredentialRow, get: &args::Get) -> Result<(), CliError> {
    let all = snippets(row);
    let text = match (&get.snippet, get.output) {
        (Some(name), _) => {
            let snippet = all.iter().find(|s| s.name == name).ok_or_else(|| {
                let names: Vec<&str> = all.iter().map(|s| s.name).collect();
                CliError::Usage(format!("--snippet: this credential has {}", names.join(", ")))
            })?;
            snippet.text.clone()
        }
        (None, None | Some(Format::Table)) => output::credential(row, &all),
        (None, Some(Format::Json)) => output::json(row),
        (None, Some(Format::Yaml)) => output::yaml(row)?,
        (None, Some(format)) => output::credentials(std::slice::from_ref(row), format)?,
    };
    output::print(&text);
    Ok(())
}

async fn create(api: &Api, create: &args::Create) -> Result<(), CliError> {
    let credential_type = credential_type(&create.credential_type)?;
    let scope = scope(&create.scope)?;
    let (display_name, description) = (create.name.clone(), create.description.clone());
    let row: CredentialRow = match &create.existing_secret {
        Some(secret_name) => {
            let request = ExistingSecretCredential { display_name, description, scope, credential_type, secret_name: secret_name.clone(), expires_on: create.expires_on.clone() };
            api.with_body(Method::POST, &["credentials:existing"], &request).await?
        }
        None => {
            let request = NewCredential { display_name, description, scope, values: values::gather(&create.values, credential_type)?, expires_on: create.expires_on.clone() };
            api.with_body(Method::POST, &["credentials"], &request).await?
        }
    };
    say!("Created {} ({}/{})", row.display_name, row.namespace, row.name);
    if create.wait {
        wait_until_ready(api, &row).await?;
    }
    Ok(())
}

/// Reads `segments` every half second until `done` says the wait is over (`Some`), for at most
/// two minutes.
async fn poll(api: &Api, segments: &[&str], mut done: impl FnMut(Result<CredentialRow, CliError>) -> Option<Result<(), CliError>>) -> Result<(), CliError> {
    for _ in 0..240 {
        if let Some(result) = done(api.get(segments).await) {
            return result;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(CliError::Local("still waiting after two minutes; `keyhold credential get` shows where it stands".into()))
}

/// Waits until the controller has made every copy, printing each namespace as it is done.
async fn wait_until_ready(api: &Api, row: &CredentialRow) -> Result<(), CliError> {
    let mut reported = std::collections::BTreeSet::new();
    poll(api, &path(row), |now| {
        let now = match now {
            Ok(now) => now,
            Err(e) => return Some(Err(e)),
        };
        for target in now.targets.iter().filter(|t| t.phase == Phase::Ready) {
            if reported.insert(target.place()) {
                say!("  {}: ready", target.place());
            }
        }
        match now.phase {
            Phase::Ready => Some(Ok(())),
            Phase::Issues => {
                let issues: Vec<String> = now.targets.iter().filter(|t| t.phase != Phase::Ready).map(|t| format!("{}: {}", t.place(), t.message)).collect();
                Some(Err(CliError::Server { status: 200, message: format!("Issues found: {}", issues.join("; ")), field: None }))
            }
            _ => None,
        }
    })
    .await
}

async fn delete(api: &Api, delete: &args::Delete) -> Result<(), CliError> {
    let row = resolve(api, &delete.name).await?;
    if let Some(other) = &delete.replace_with {
        let other = resolve(api, other).await?;
        let request = api
            .request(Method::POST, &[path(&row).as_slice(), &["replace"]].concat())
            .query(&[("dryRun", delete.dry_run)])
            .json(&ReplaceWith { namespace: other.namespace.clone(), name: other.name.clone() });
        let replacement: Replacement = api.json(request).await?;
        for change in &replacement.changes {
            match change.reason.is_empty() {
                true => say!("{} {}:\n{}", if delete.dry_run { "Would change" } else { "Changed" }, change.workload, change.patch),
                false => say!("Left {}: {}", change.workload, change.reason),
            }
        }
        if replacement.unseen > 0 {
            say!("{} workloads you cannot see still use it", replacement.unseen);
        }
        if !replacement.deleted {
            return match delete.dry_run {
                true => Ok(()),
                false => Err(CliError::Server { status: 409, message: format!("{} is still in use, so it was not deleted", clean(&row.display_name)), field: None }),
            };
        }
    } else {
        api.send(api.request(Method::DELETE, &path(&row))).await?;
    }
    say!("Deleted {}", row.display_name);
    if delete.wait {
        wait_until_gone(api, &path(&row)).await?;
    }
    Ok(())
}

/// Polls until the API answers 404 for `segments`.
pub async fn wait_until_gone(api: &Api, segments: &[&str]) -> Result<(), CliError> {
    poll(api, segments, |now| match now {
        Err(CliError::Server { status: 404, .. }) => Some(Ok(())),
        Err(e) => Some(Err(e)),
        Ok(_) => None,
    })
    .await
}

async fn attach(api: &Api, attach: args::Attach) -> Result<(), CliError> {
    let row = resolve(api, &attach.name).await?;
    let mut parts = attach.workload.splitn(3, '/');
    let (Some(kind), Some(namespace), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(CliError::Usage("--to: write the workload as KIND/NAMESPACE/NAME, e.g. Deployment/nlp/trainer".into()));
    };
    let uses = [Use::Pulls, Use::Env, Use::EnvFrom, Use::Volume { path: attach.path.unwrap_or_default() }];
    let Some(how) = uses.iter().find(|u| u.name() == attach.how).cloned() else {
        let names: Vec<&str> = uses.iter().map(Use::name).collect();
        return Err(CliError::Usage(format!("--as: one of {}", names.join(", "))));
    };
    let request = Attachment { kind: kind.into(), namespace: namespace.into(), name: name.into(), container: attach.container, how, resource_version: None };
    let sent = api.request(Method::POST, &[path(&row).as_slice(), &["attach"]].concat()).query(&[("dryRun", attach.dry_run)]).json(&request);
    let attached: Attached = api.json(sent).await?;
    match attached.applied {
        true => say!("Attached {} to {}", row.display_name, attach.workload),
        false => say!("Would patch {} (resourceVersion {}):\n{}", attach.workload, attached.resource_version, attached.patch),
    }
    Ok(())
}
