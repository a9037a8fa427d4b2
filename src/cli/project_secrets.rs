//! `keyhold project-secret … -p PROJECT`: a project's Settings > Secrets tab. Key names only are
//! ever read; a value goes in from stdin, a prompt that does not echo, or a .env file.

use std::path::Path;

use reqwest::Method;
use serde_json::json;

use crate::domain::credential::{check_key, is_object_name};
use crate::domain::project_secrets::ProjectSecretKeys;

use super::CliError;
use super::args::{Format, ProjectSecretCommand};
use super::client::Api;
use super::output;
use super::values;

pub async fn run(api: &Api, project: &str, command: ProjectSecretCommand) -> Result<(), CliError> {
    // Checked here as well as on the server: a `..` would change the path the request goes to.
    if !is_object_name(project) {
        return Err(CliError::Usage("--project: not a project name".into()));
    }
    if let ProjectSecretCommand::Set { key } | ProjectSecretCommand::Delete { key } = &command {
        check_key("KEY", key)?;
    }
    let secrets = ["projects", project, "secrets"];
    let keys: ProjectSecretKeys = match &command {
        ProjectSecretCommand::List { .. } => api.get(&secrets).await?,
        ProjectSecretCommand::Set { key } => {
            let value = values::secret_input("value")?;
            api.with_body(Method::PUT, &[secrets.as_slice(), &[key]].concat(), &json!({ "value": value })).await?
        }
        ProjectSecretCommand::Delete { key } => api.json(api.request(Method::DELETE, &[secrets.as_slice(), &[key]].concat())).await?,
        ProjectSecretCommand::Import { file } => {
            let text = values::read(Path::new(file), "FILE")?;
            api.with_body(Method::POST, &["projects", project, "secrets:import"], &json!({ "text": text })).await?
        }
    };
    let text = match command {
        ProjectSecretCommand::List { output: Format::Json } => output::json(&keys),
        ProjectSecretCommand::List { output: Format::Yaml } => output::yaml(&keys)?,
        ProjectSecretCommand::List { .. } => keys.keys.iter().map(|k| output::clean(k) + "\n").collect(),
        ProjectSecretCommand::Set { key } => format!("Set {} in {project}\n", output::clean(&key)),
        ProjectSecretCommand::Delete { key } => format!("Deleted {} from {project}\n", output::clean(&key)),
        ProjectSecretCommand::Import { .. } => format!("Imported into {project}: {} keys in all\n", keys.keys.len()),
    };
    output::print(&text);
    Ok(())
}
