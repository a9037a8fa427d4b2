//! Command line and environment: every flag is also a `KEYHOLD_*` variable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

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
    /// Print the shipped ClusterRoles keyhold-viewer, -editor, -admin (what `deploy/roles.yaml`
    /// holds), or one department's administrator role.
    Roles {
        /// Print `keyhold-department-admin-<DEPARTMENT>`, limited to that department.
        #[arg(long)]
        department: Option<String>,
    },
    /// Manage local accounts (kept in the cluster, in the system namespace).
    User(UserArgs),
    /// The client commands, which talk to a running Keyhold.
    #[command(flatten)]
    Client(crate::cli::args::ClientCommand),
}

#[derive(Debug, Clone, Args)]
pub struct UserArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(subcommand)]
    pub command: UserCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum UserCommand {
    /// Create an account and print its generated password (or read one from stdin).
    Add {
        name: String,
        /// Kubernetes groups the account belongs to, comma-separated.
        #[arg(long, value_delimiter = ',')]
        groups: Vec<String>,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password: generated and printed, or read from stdin.
    Passwd {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the accounts, their groups and API token ids.
    List,
    /// Issue an API token for the REST API and print it (it is shown once).
    Token {
        name: String,
        /// How long the token is valid: 30d, 12h, 90m.
        #[arg(long, default_value = "90d", value_parser = parse_duration)]
        expires_in: Duration,
    },
    /// Revoke one of an account's API tokens by its id.
    RevokeToken { name: String, id: String },
}

/// Which cluster a command works on, and where Keyhold's state is.
#[derive(Debug, Clone, Args)]
pub struct ClusterArgs {
    /// Directory for Keyhold's state (the embedded cluster, sessions).
    #[arg(long, env = "KEYHOLD_DATA_DIR", default_value = "keyhold-data", global = true)]
    pub data_dir: PathBuf,
    /// Which Kubernetes API to use.
    #[arg(long, env = "KEYHOLD_CLUSTER", value_enum, default_value_t = ClusterMode::Auto, global = true)]
    pub cluster: ClusterMode,
}

/// `90s`, `30m`, `12h` or `7d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().map_err(|_| format!("{text:?} is not a duration like 90s, 30m, 12h or 7d"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return Err(format!("{text:?} is not a duration like 90s, 30m, 12h or 7d")),
    };
    Ok(Duration::from_secs(n * seconds))
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
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// The URL people open, e.g. https://keyhold.example.com (default: http:// and --listen). Only
    /// this origin may change state; an https URL makes the session cookie Secure.
    #[arg(long, env = "KEYHOLD_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Where sessions live: a redis:// URL, shared by replicas (default: SQLite in the data directory).
    #[arg(long, env = "KEYHOLD_SESSION_STORE")]
    pub session_store: Option<String>,
    /// The Redis password (best from a Secret through the environment, not on the command line).
    #[arg(long, env = "KEYHOLD_SESSION_STORE_PASSWORD", hide_env_values = true)]
    pub session_store_password: Option<String>,
    /// A session unused this long ends.
    #[arg(long, env = "KEYHOLD_SESSION_IDLE_TIMEOUT", default_value = "1h", value_parser = parse_duration)]
    pub session_idle_timeout: Duration,
    /// A session ends this long after sign-in, however busy.
    #[arg(long, env = "KEYHOLD_SESSION_LIFETIME", default_value = "12h", value_parser = parse_duration)]
    pub session_lifetime: Duration,
    /// Addresses (or CIDR ranges) of proxies whose X-Forwarded-For names the client the sign-in
    /// rate limit counts, comma-separated; none by default. Identity headers are not believed
    /// from them (that is --auth-proxy).
    #[arg(long, env = "KEYHOLD_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<crate::server::auth::Cidr>,
    /// Addresses (or CIDR ranges) of authenticating proxies whose X-Forwarded-User and
    /// X-Forwarded-Groups headers sign people in, comma-separated; none by default.
    #[arg(long, env = "KEYHOLD_AUTH_PROXY", value_delimiter = ',')]
    pub auth_proxy: Vec<crate::server::auth::Cidr>,
    /// Failed sign-ins allowed per client address and per username within --sign-in-window.
    #[arg(long, env = "KEYHOLD_SIGN_IN_MAX_FAILURES", default_value_t = 5)]
    pub sign_in_max_failures: usize,
    #[arg(long, env = "KEYHOLD_SIGN_IN_WINDOW", default_value = "5m", value_parser = parse_duration)]
    pub sign_in_window: Duration,
    /// Also expose the embedded cluster to real clients on this loopback address.
    #[arg(long, env = "KEYHOLD_KUBE_API_LISTEN")]
    pub kube_api_listen: Option<SocketAddr>,
    /// Let --kube-api-listen be an address other machines reach.
    #[arg(long, env = "KEYHOLD_KUBE_API_ALLOW_REMOTE", requires = "kube_api_listen")]
    pub kube_api_allow_remote: bool,
    /// Where to write a kubeconfig for `--kube-api-listen`.
    #[arg(long, env = "KEYHOLD_WRITE_KUBECONFIG", requires = "kube_api_listen")]
    pub write_kubeconfig: Option<PathBuf>,
    /// Do not create the demo organisation in a new embedded cluster.
    #[arg(long, env = "KEYHOLD_NO_DEMO")]
    pub no_demo: bool,
    /// The Secret in each project namespace that holds the project's secrets.
    #[arg(long, env = "KEYHOLD_PROJECT_SECRET_NAME", default_value = "keyhold-project-secrets")]
    pub project_secret_name: String,
    #[command(flatten)]
    pub oidc: OidcArgs,
    /// The sign-in methods offered, comma-separated (default: every one configured).
    #[arg(long, env = "KEYHOLD_SIGN_IN_METHODS", value_delimiter = ',', value_enum)]
    pub sign_in_methods: Vec<SignInChoice>,
    /// How often the member clusters (`keyhold cluster add`) are probed.
    #[arg(long, env = "KEYHOLD_CLUSTER_PROBE_INTERVAL", default_value = "15s", value_parser = parse_duration)]
    pub cluster_probe_interval: Duration,
    #[command(flatten)]
    pub connection_tests: ConnectionTestArgs,
    /// Serve Prometheus metrics at /metrics on this address (off unless given).
    #[arg(long, env = "KEYHOLD_METRICS_LISTEN")]
    pub metrics_listen: Option<std::net::SocketAddr>,
}

/// Where "Test connection" signs in. Registries are the ones the credentials name; access keys
/// go to one S3 API an administrator chooses, never one a person types.
#[derive(Debug, Clone, Args)]
pub struct ConnectionTestArgs {
    /// PEM certificates to trust besides the system's (an internal registry's or S3 store's CA).
    #[arg(long, env = "KEYHOLD_CONNECTION_TEST_CA")]
    pub connection_test_ca: Option<std::path::PathBuf>,
    /// Address ranges a registry may have besides the usual, comma-separated: this machine's
    /// (loopback) and link-local ones are refused unless listed here.
    #[arg(long, env = "KEYHOLD_CONNECTION_TEST_ALLOW", value_delimiter = ',')]
    pub connection_test_allow: Vec<crate::server::auth::Cidr>,
    /// The S3 API access keys are tested against: AWS, or any S3-compatible store.
    #[arg(long, env = "KEYHOLD_S3_ENDPOINT", default_value = "https://s3.amazonaws.com")]
    pub s3_endpoint: String,
    #[arg(long, env = "KEYHOLD_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,
    /// Test every registry login and access key this often by itself (`24h`); off unless given.
    #[arg(long, env = "KEYHOLD_CONNECTION_TEST_EVERY", value_parser = parse_duration)]
    pub connection_test_every: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SignInChoice {
    /// Local accounts.
    Password,
    /// A Kubernetes bearer token.
    Token,
    /// The OpenID Connect provider of --oidc-issuer.
    Oidc,
}

/// Single sign-on with an OpenID Connect provider; the claim and prefix flags work as
/// kube-apiserver's, so RoleBindings written for the cluster's own OIDC sign-in work unchanged.
#[derive(Debug, Clone, Args)]
pub struct OidcArgs {
    /// The provider's issuer URL (its /.well-known/openid-configuration must name the same).
    #[arg(long, env = "KEYHOLD_OIDC_ISSUER", requires = "oidc_client_id")]
    pub oidc_issuer: Option<String>,
    #[arg(long, env = "KEYHOLD_OIDC_CLIENT_ID", requires = "oidc_issuer")]
    pub oidc_client_id: Option<String>,
    /// A file holding the client secret; or set KEYHOLD_OIDC_CLIENT_SECRET. Never a flag: `ps`
    /// shows a flag's value to everyone on the machine.
    #[arg(long, env = "KEYHOLD_OIDC_CLIENT_SECRET_FILE")]
    pub oidc_client_secret_file: Option<PathBuf>,
    /// Scopes to ask for, comma-separated (add `groups` where the provider needs it for the
    /// groups claim).
    #[arg(long, env = "KEYHOLD_OIDC_SCOPES", value_delimiter = ',', default_value = "openid,email,profile")]
    pub oidc_scopes: Vec<String>,
    /// The ID token claim that names the user.
    #[arg(long, env = "KEYHOLD_OIDC_USERNAME_CLAIM", default_value = "email")]
    pub oidc_username_claim: String,
    /// The ID token claim that lists the user's groups.
    #[arg(long, env = "KEYHOLD_OIDC_GROUPS_CLAIM", default_value = "groups")]
    pub oidc_groups_claim: String,
    /// Put before every username; `-` for none (default: none for email, else `<issuer>#`).
    #[arg(long, env = "KEYHOLD_OIDC_USERNAME_PREFIX")]
    pub oidc_username_prefix: Option<String>,
    /// Put before every group.
    #[arg(long, env = "KEYHOLD_OIDC_GROUPS_PREFIX", default_value = "")]
    pub oidc_groups_prefix: String,
    /// The provider's name on the sign-in page's button: "Sign in with <name>".
    #[arg(long, env = "KEYHOLD_OIDC_NAME", default_value = "single sign-on")]
    pub oidc_name: String,
}

#[derive(Debug, Clone, Args)]
pub struct KubeApiArgs {
    /// Loopback address to serve the API on.
    #[arg(long, env = "KEYHOLD_KUBE_API_LISTEN", default_value = "127.0.0.1:6443")]
    pub listen: SocketAddr,
    /// Let --listen be an address other machines reach.
    #[arg(long, env = "KEYHOLD_KUBE_API_ALLOW_REMOTE")]
    pub allow_remote: bool,
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
        assert_eq!(cli.serve.cluster.cluster, ClusterMode::Auto);
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("12h"), Ok(Duration::from_secs(43200)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(604800)));
        assert!(parse_duration("7").is_err() && parse_duration("h").is_err() && parse_duration("1w").is_err());
    }

    #[test]
    fn user_commands_parse() {
        let cli = Cli::try_parse_from(["keyhold", "user", "add", "dave", "--groups", "a,b", "--data-dir", "/tmp/x"]).unwrap();
        let Some(Command::User(args)) = cli.command else { panic!("not a user command") };
        assert_eq!(args.cluster.data_dir, PathBuf::from("/tmp/x"));
        assert!(matches!(args.command, UserCommand::Add { ref name, ref groups, password_stdin: false } if name == "dave" && groups == &["a", "b"]));
    }

    #[test]
    fn a_bad_flag_is_refused() {
        let err = Cli::try_parse_from(["keyhold", "--cluster", "mars"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }
}
