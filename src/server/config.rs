//! Command line and environment: every flag is also a `KEYHOLD_*` variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "keyhold", version, about = "Keyhold: credentials for Kubernetes-based AI/ML platforms")]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// `keyhold` with no subcommand serves, taking `serve`'s flags.
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web console (the default).
    Serve(ServeArgs),
    /// Run the embedded Kubernetes API alone, for kubectl and other clients.
    KubeApi(KubeApiArgs),
    /// Print the Credential CustomResourceDefinition (what `deploy/crd.yaml` holds).
    Crd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClusterMode {
    /// A kubeconfig if one is found, in-cluster config inside a pod, else the embedded cluster.
    Auto,
    /// The embedded cluster kept in the data directory.
    Embedded,
    /// The current context of the kubeconfig (`KUBECONFIG` or ~/.kube/config).
    Kubeconfig,
    /// The service account of the pod Keyhold runs in.
    InCluster,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address the console listens on.
    #[arg(long, env = "KEYHOLD_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,
    /// Directory for Keyhold's state (the embedded cluster, sessions).
    #[arg(long, env = "KEYHOLD_DATA_DIR", default_value = "keyhold-data")]
    pub data_dir: PathBuf,
    /// Which Kubernetes API to use.
    #[arg(long, env = "KEYHOLD_CLUSTER", value_enum, default_value_t = ClusterMode::Auto)]
    pub cluster: ClusterMode,
    /// Also expose the embedded cluster to real clients on this loopback address.
    #[arg(long, env = "KEYHOLD_KUBE_API_LISTEN")]
    pub kube_api_listen: Option<SocketAddr>,
    /// Where to write a kubeconfig for `--kube-api-listen`.
    #[arg(long, env = "KEYHOLD_WRITE_KUBECONFIG", requires = "kube_api_listen")]
    pub write_kubeconfig: Option<PathBuf>,
    /// Do not create the demo organisation in a new embedded cluster.
    #[arg(long, env = "KEYHOLD_NO_DEMO")]
    pub no_demo: bool,
}

#[derive(Debug, Clone, Args)]
pub struct KubeApiArgs {
    /// Loopback address to serve the API on.
    #[arg(long, env = "KEYHOLD_KUBE_API_LISTEN", default_value = "127.0.0.1:6443")]
    pub listen: SocketAddr,
    /// Directory holding the cluster's state.
    #[arg(long, env = "KEYHOLD_DATA_DIR", default_value = "keyhold-data")]
    pub data_dir: PathBuf,
    /// Where to write a kubeconfig for this API.
    #[arg(long, env = "KEYHOLD_WRITE_KUBECONFIG")]
    pub write_kubeconfig: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_subcommand_means_serve_with_defaults() {
        let cli = Cli::try_parse_from(["keyhold", "--listen", "127.0.0.1:4000"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.serve.listen.port(), 4000);
        assert_eq!(cli.serve.cluster, ClusterMode::Auto);
    }

    #[test]
    fn a_bad_flag_is_refused() {
        let err = Cli::try_parse_from(["keyhold", "--cluster", "mars"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }
}
