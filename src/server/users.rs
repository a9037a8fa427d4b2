//! `keyhold user …`: manage local accounts from the command line, on whichever cluster Keyhold
//! uses (the embedded one while no server holds its data directory).

use std::io::Read;

use crate::server::auth::accounts::{AccountError, Accounts, generate_password};
use crate::server::config::{ClusterMode, UserArgs, UserCommand};
use crate::server::credentials::{resource, service::Settings};
use crate::server::{StartError, cluster};

fn password(from_stdin: bool) -> Result<(String, bool), StartError> {
    if !from_stdin {
        return Ok((generate_password(), true));
    }
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).map_err(|e| StartError::Config(format!("cannot read the password from stdin: {e}")))?;
    Ok((text.trim_end_matches(['\r', '\n']).to_string(), false))
}

pub async fn run(args: UserArgs) -> Result<(), StartError> {
    let embedded = cluster::resolve(args.cluster.cluster) == ClusterMode::Embedded;
    let connection = cluster::connect(args.cluster.cluster, &args.cluster.data_dir).await.map_err(|e| {
        let hint = if embedded { " (a running Keyhold holds the embedded cluster: stop it, or pass --cluster kubeconfig with the kubeconfig its --write-kubeconfig wrote)" } else { "" };
        StartError::Config(format!("{e}{hint}"))
    })?;
    let namespace = Settings::default().system_namespace;
    if connection.embedded.is_some() {
        resource::ensure_namespace(connection.client.clone(), &namespace).await.map_err(StartError::Crd)?;
    }
    let accounts = Accounts::new(connection.client, &namespace);
    let failed = |e: AccountError| StartError::Config(e.to_string());
    match args.command {
        UserCommand::Add { name, groups, password_stdin } => {
            let (password, generated) = password(password_stdin)?;
            accounts.add(&name, &groups, &password).await.map_err(failed)?;
            eprintln!("created user {name}");
            if generated {
                println!("{password}");
            }
        }
        UserCommand::Passwd { name, password_stdin } => {
            let (password, generated) = password(password_stdin)?;
            accounts.set_password(&name, &password).await.map_err(failed)?;
            eprintln!("changed the password of {name}");
            if generated {
                println!("{password}");
            }
        }
        UserCommand::List => {
            println!("{:<24} {:<40} API TOKENS", "USER", "GROUPS");
            for account in accounts.list().await.map_err(failed)? {
                let tokens: Vec<String> = account.tokens.iter().map(|(id, expires)| format!("{id} (until {})", expires.strftime("%Y-%m-%d"))).collect();
                println!("{:<24} {:<40} {}", account.name, account.groups.join(","), tokens.join(", "));
            }
        }
        UserCommand::Token { name, expires_in } => {
            let valid_for = jiff::SignedDuration::try_from(expires_in).map_err(|e| StartError::Config(e.to_string()))?;
            let issued = accounts.issue_token(&name, valid_for).await.map_err(failed)?;
            eprintln!("issued API token {} for {name}, valid until {}", issued.id, issued.expires);
            println!("{}", issued.token);
        }
        UserCommand::RevokeToken { name, id } => {
            accounts.revoke_token(&name, &id).await.map_err(failed)?;
            eprintln!("revoked API token {id} of {name}");
        }
    }
    Ok(())
}
