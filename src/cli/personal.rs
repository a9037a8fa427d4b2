//! `keyhold my-credential …`: the My credentials page. Personal credentials are named by their
//! display name (or Kubernetes name) among the caller's own; the server checks the owner.

use reqwest::Method;

use crate::domain::new_credential::{NewPersonalCredential, PersonalProjects};
use crate::domain::query::CredentialRow;

use super::CliError;
use super::args::MyCredentialCommand;
use super::client::Api;
use super::credentials::{credential_type, pick, show, wait_until_gone};
use super::output;
use super::values;

pub async fn run(api: &Api, command: MyCredentialCommand) -> Result<(), CliError> {
    match command {
        MyCredentialCommand::List { output } => {
            let rows: Vec<CredentialRow> = api.get(&["me", "credentials"]).await?;
            output::print(&output::credentials(&rows, output)?);
            Ok(())
        }
        MyCredentialCommand::Get(get) => show(&mine(api, &get.name).await?, &get),
        MyCredentialCommand::Create(create) => {
            let credential_type = credential_type(&create.credential_type)?;
            let request = NewPersonalCredential {
                display_name: create.name,
                description: create.description,
                projects: create.projects,
                values: values::gather(&create.values, credential_type)?,
            };
            let row: CredentialRow = api.with_body(Method::POST, &["me", "credentials"], &request).await?;
            say!("Created {} ({})", row.display_name, row.name);
            Ok(())
        }
        MyCredentialCommand::Replace(replace) => {
            let row = mine(api, &replace.name).await?;
            let new = values::gather(&replace.values, row.credential_type)?;
            let _: CredentialRow = api.with_body(Method::PUT, &["me", "credentials", &row.name, "values"], &new).await?;
            say!("Replaced the values of {}", row.display_name);
            Ok(())
        }
        MyCredentialCommand::Projects { name, projects } => {
            let row = mine(api, &name).await?;
            let now: CredentialRow = api.with_body(Method::PUT, &["me", "credentials", &row.name, "projects"], &PersonalProjects { projects }).await?;
            say!("{} is copied into: {}", now.display_name, now.projects.join(", "));
            Ok(())
        }
        MyCredentialCommand::Delete(named) => {
            let row = mine(api, &named.name).await?;
            api.send(api.request(Method::DELETE, &["me", "credentials", &row.name])).await?;
            say!("Deleted {}", row.display_name);
            wait_until_gone(api, &["me", "credentials", &row.name]).await
        }
    }
}

async fn mine(api: &Api, name: &str) -> Result<CredentialRow, CliError> {
    pick(api.get(&["me", "credentials"]).await?, name)
}
