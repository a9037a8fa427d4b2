//! The `keyhold` binary: parse the command line, start logging, run the chosen command.

use std::process::ExitCode;

use clap::Parser;
use keyhold::server::config::{Cli, Command};
use keyhold::server::{self, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // One line, not clap's usage block: scripts and people read the first line only.
            let text = e.to_string();
            eprintln!("{}", text.lines().next().unwrap_or("invalid arguments"));
            return ExitCode::from(2);
        }
    };
    keyhold::private_files::restrict_new_files();
    // A client command's output is its own: no log lines among it.
    if let Some(Command::Client(command)) = cli.command {
        return keyhold::cli::main(command).await;
    }
    telemetry::init();
    let result = match cli.command {
        None => server::serve(cli.serve).await,
        Some(Command::Serve(args)) => server::serve(args).await,
        Some(Command::KubeApi(args)) => server::kube_api(args).await,
        Some(Command::User(args)) => server::user_command(args).await,
        Some(Command::Crd) => {
            print!("{}", server::credentials::resource::crd_yaml());
            Ok(())
        }
        Some(Command::Client(_)) => unreachable!("run above"),
        Some(Command::Roles { department }) => {
            use server::credentials::roles;
            let shown = match department {
                Some(department) => vec![roles::department_admin(&department)],
                None => roles::cluster_roles(),
            };
            print!("{}", roles::roles_yaml(&shown));
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
