//! The `keyhold` command line's client commands (issue 17): everything the console does, from a
//! terminal or a script, through the REST API with the person's own token, so every permission
//! check is the server's. `secret offer|withdraw` alone talk to Kubernetes, with the person's
//! kubeconfig, as kubectl does: they label a Secret, not a credential.
//!
//! Errors are one line (`error: …`, naming the field at fault), exit code 1, or 2 for a command
//! line that is wrong; no value is ever printed, in output or in an error.

/// `println!` for the commands' output, through `output::print`.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::cli::output::print(&format!("{}\n", format_args!($($arg)*)))
    };
}

pub mod args;
mod client;
mod clusters;
mod config;
mod credentials;
mod output;
mod personal;
mod project_secrets;
mod secrets;
mod values;

use std::process::ExitCode;

use args::{ClientCommand, Connection, Login};
use client::Api;
use config::{Config, normalise};

use crate::domain::credential::FieldError;
use crate::domain::identity::Identity;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("not logged in: run `keyhold login --server URL`, or set KEYHOLD_SERVER and KEYHOLD_TOKEN")]
    NotLoggedIn,
    #[error("{server} did not accept the token (expired or revoked?): run `keyhold login --server {server}` again")]
    Unauthorized { server: String },
    #[error("cannot reach {server}: {reason}")]
    Unreachable { server: String, reason: String },
    /// The server's answer: its message and the field at fault.
    #[error("{}", with_field(.field.as_deref(), .message))]
    Server { status: u16, message: String, field: Option<String> },
    /// Input refused here, before anything is sent.
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// A command line that cannot work as written.
    #[error("{0}")]
    Usage(String),
    /// A file, the terminal or the configuration.
    #[error("{0}")]
    Local(String),
    /// A check the server ran that did not pass (a connection test): its outcome.
    #[error("{0}")]
    Failed(String),
}

/// What Kubernetes answered a command that talks to it directly, mapped once as the server maps it.
impl From<kube::Error> for CliError {
    fn from(e: kube::Error) -> Self {
        let e = crate::server::kube_errors::app_error(e);
        CliError::Server { status: e.status(), message: e.message(), field: e.field().map(str::to_string) }
    }
}

/// A Kubernetes client from the person's own kubeconfig (KUBECONFIG, ~/.kube/config or
/// in-cluster), as kubectl would use, for the commands that change Secrets directly.
async fn own_kubernetes() -> Result<kube::Client, CliError> {
    kube::Client::try_default().await.map_err(|e| CliError::Local(format!("cannot use your kubeconfig: {e}")))
}

fn with_field(field: Option<&str>, message: &str) -> String {
    match field.filter(|f| !f.is_empty()) {
        Some(field) => format!("{field}: {message}"),
        None => message.to_string(),
    }
}

impl CliError {
    fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            _ => 1,
        }
    }
}

/// Runs a client command; what went wrong is one line on stderr.
pub async fn main(command: ClientCommand) -> ExitCode {
    match run(command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", output::clean(&e.to_string()));
            ExitCode::from(e.exit_code())
        }
    }
}

async fn run(command: ClientCommand) -> Result<(), CliError> {
    match command {
        ClientCommand::Login(login) => log_in(login).await,
        ClientCommand::Logout(connection) => log_out(&connection),
        ClientCommand::Whoami(connection) => {
            let api = Api::connect(&connection)?;
            let who: Identity = api.get(&["whoami"]).await?;
            say!("{} (groups: {}) on {}", who.user, who.groups.join(", "), api.server);
            Ok(())
        }
        ClientCommand::Credential(credential) => credentials::run(&Api::connect(&credential.connection)?, credential.command).await,
        ClientCommand::MyCredential(mine) => personal::run(&Api::connect(&mine.connection)?, mine.command).await,
        ClientCommand::ProjectSecret(secrets) => {
            let project = secrets.project.ok_or_else(|| CliError::Usage("--project (-p) is required: the project whose secrets these are".into()))?;
            project_secrets::run(&Api::connect(&secrets.connection)?, &project, secrets.command).await
        }
        ClientCommand::Secret(secret) => secrets::run(secret.command).await,
        ClientCommand::Cluster(cluster) => clusters::run(cluster.command).await,
        ClientCommand::Completion { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut crate::server::config::Cli::command(), "keyhold", &mut std::io::stdout());
            Ok(())
        }
    }
}

/// Checks the token with the server before keeping it: a mistyped token is refused at once.
async fn log_in(login: Login) -> Result<(), CliError> {
    let mut config = Config::load()?;
    let server = match login.connection.server.as_deref() {
        Some(server) => normalise(server),
        None => config.current.clone().ok_or_else(|| CliError::Usage("--server URL is required to log in the first time".into()))?,
    };
    let token = match (login.token_stdin, std::io::IsTerminal::is_terminal(&std::io::stdin())) {
        // At a terminal the token is asked for without echo, whatever the flag says.
        (_, true) => values::secret_input("Token")?,
        (true, false) => values::read_stdin()?,
        (false, false) => return Err(CliError::Usage("no terminal to ask for the token at: pass it on stdin with --token-stdin".into())),
    };
    let token = token.trim().to_string();
    let who: Identity = Api::new(&server, token.clone())?.get(&["whoami"]).await?;
    config.tokens.insert(server.clone(), token);
    config.current = Some(server.clone());
    config.save()?;
    say!("Logged in to {server} as {}", who.user);
    Ok(())
}

fn log_out(connection: &Connection) -> Result<(), CliError> {
    let mut config = Config::load()?;
    let server = config.server(connection.server.as_deref())?;
    config.tokens.remove(&server);
    if config.current.as_deref() == Some(&server) {
        config.current = None;
    }
    config.save()?;
    say!("Logged out of {server}");
    Ok(())
}
