//! The client commands' command line, kubectl-like: `keyhold <noun> <verb> NAME --flags`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Keep a token for a Keyhold server (from a prompt, or --token-stdin), for the commands below.
    Login(Login),
    /// Forget the token for a server (the current one by default).
    Logout(Connection),
    /// Who the token belongs to: the user and groups the server acts for.
    Whoami(Connection),
    /// Credentials: list, get, create, rename, replace values, delete, attach, offer to notebooks.
    #[command(alias = "credentials")]
    Credential(Credential),
    /// Your own (personal) credentials, copied only into the projects you pick.
    #[command(alias = "my-credentials")]
    MyCredential(MyCredential),
    /// One project's secrets (its Settings > Secrets tab): key names, set, delete, import.
    #[command(alias = "project-secrets")]
    ProjectSecret(ProjectSecret),
    /// Offer an existing Secret to the wizards (talks to Kubernetes with your kubeconfig).
    Secret(Secret),
    /// Member clusters: add or remove one (with your kubeconfig), list them (from the server).
    Cluster(Cluster),
    /// Print a shell completion script.
    Completion {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Which Keyhold server to talk to; the token comes from `keyhold login` or KEYHOLD_TOKEN (never
/// a flag: a flag's value is visible to every user of the machine in `ps`).
#[derive(Debug, Clone, Args)]
pub struct Connection {
    /// The server's URL (default: the one last logged in to).
    #[arg(long, env = "KEYHOLD_SERVER", global = true)]
    pub server: Option<String>,
}

#[derive(Debug, Args)]
pub struct Login {
    #[command(flatten)]
    pub connection: Connection,
    /// Read the token from standard input (what `keyhold user token` prints); without it, a
    /// prompt that does not echo asks for it.
    #[arg(long)]
    pub token_stdin: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Wide,
    Json,
    Yaml,
    Csv,
    /// `namespace/name`, one a line.
    Name,
}

#[derive(Debug, Args)]
pub struct Credential {
    #[command(flatten)]
    pub connection: Connection,
    #[command(subcommand)]
    pub command: CredentialCommand,
}

#[derive(Debug, Subcommand)]
pub enum CredentialCommand {
    /// The credentials you may see, with the table's search, filters and sort.
    #[command(alias = "ls")]
    List(List),
    /// One credential: facts, key names, status per namespace, users, how to use it.
    Get(Get),
    /// Create a credential with new values, from a kubectl Secret file, or for an existing Secret.
    Create(Create),
    /// Change a credential's display name (and description); its Kubernetes names stay.
    Rename(Rename),
    /// Replace a credential's values (same type); workloads read the new ones, or are restarted.
    Replace(Replace),
    /// Sign in with a credential's values to its registry or S3 API, and say whether it worked.
    Test(Test),
    /// What happened to a credential, newest first.
    Activity(Named),
    /// Delete a credential (refused while workloads use it), or put another in its place first.
    Delete(Delete),
    /// The workloads a credential can be attached to.
    Workloads(Named),
    /// Make a workload use a credential: pull images with it, or read it as env or files.
    Attach(Attach),
    /// Offer a credential to Kubeflow notebooks: a PodDefault in each project it reaches.
    OfferToNotebooks(Named),
}

/// A credential: `namespace/name`, or its display name.
#[derive(Debug, Args)]
pub struct Named {
    pub name: String,
}

#[derive(Debug, Args)]
pub struct List {
    /// Search: name, Kubernetes name, description, creator, scope and key names.
    #[arg(short = 'q', long = "query")]
    pub search: Option<String>,
    /// Only these types (repeat): docker-registry, access-key, password, generic, tls, ngc-api-key.
    #[arg(long = "type", value_name = "TYPE")]
    pub types: Vec<String>,
    /// Only these scopes (repeat): account, cluster, department/NAME, project/NAME (after CLUSTER: for a member cluster).
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// Only these statuses (repeat).
    #[arg(long = "status", value_enum)]
    pub statuses: Vec<crate::domain::credential::Phase>,
    /// Sort by a column: credential, type, status, scope, created, created_by, description, …
    #[arg(long)]
    pub sort: Option<String>,
    /// Sort descending.
    #[arg(long, requires = "sort")]
    pub desc: bool,
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Table)]
    pub output: Format,
    /// Print again whenever a credential changes, until interrupted.
    #[arg(short = 'w', long)]
    pub watch: bool,
}

#[derive(Debug, Args)]
pub struct Get {
    pub name: String,
    /// Print one how-to-use snippet alone: pull, env, envFrom, volume, pachyderm, podDefault.
    #[arg(long, conflicts_with = "output")]
    pub snippet: Option<String>,
    #[arg(short = 'o', long = "output", value_enum)]
    pub output: Option<Format>,
}

/// Where new values come from. A secret field missing from all of them is asked for at a prompt
/// that does not echo (or read from stdin with --password-stdin).
#[derive(Debug, Args)]
pub struct Values {
    /// A field's value, FIELD=VALUE (repeat). Shell history keeps it: prefer the others for secrets.
    #[arg(long = "from-literal", value_name = "FIELD=VALUE")]
    pub literals: Vec<String>,
    /// A field's value from a file, FIELD=PATH (repeat).
    #[arg(long = "from-file", value_name = "FIELD=PATH")]
    pub files: Vec<String>,
    /// FIELD=VALUE lines of a .env file (`-` for stdin).
    #[arg(long = "from-env-file", value_name = "PATH")]
    pub env_file: Option<PathBuf>,
    /// A Secret as `kubectl create secret … --dry-run=client -o json|yaml` prints it (`-` for stdin).
    #[arg(long = "from-secret-file", value_name = "FILE", conflicts_with_all = ["literals", "files", "env_file"])]
    pub secret_file: Option<PathBuf>,
    /// Read the secret field (password, secret access key, private key, API key) from stdin.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct Create {
    /// docker-registry, access-key, password, generic, tls or ngc-api-key.
    #[arg(value_name = "TYPE")]
    pub credential_type: String,
    /// The display name.
    pub name: String,
    /// account, cluster, department/NAME or project/NAME (after CLUSTER: for a member cluster: east:project/train).
    #[arg(long)]
    pub scope: String,
    #[arg(long, default_value = "")]
    pub description: String,
    /// When the values stop working (YYYY-MM-DD): shown, warned of 14 days before.
    #[arg(long, value_name = "DATE", default_value = "")]
    pub expires_on: String,
    /// Use this Secret, which an administrator offered (`keyhold secret offer`), instead of new values.
    #[arg(long, value_name = "SECRET", conflicts_with_all = ["literals", "files", "env_file", "secret_file", "password_stdin"])]
    pub existing_secret: Option<String>,
    #[command(flatten)]
    pub values: Values,
    /// Wait until every namespace the scope reaches has its copy.
    #[arg(long)]
    pub wait: bool,
}

#[derive(Debug, Args)]
pub struct Rename {
    pub name: String,
    /// The new display name.
    pub new_name: String,
    /// A new description (kept when not given).
    #[arg(long)]
    pub description: Option<String>,
    /// A new expiry date, YYYY-MM-DD, or "" for none (kept when not given).
    #[arg(long, value_name = "DATE")]
    pub expires_on: Option<String>,
}

#[derive(Debug, Args)]
pub struct Replace {
    pub name: String,
    #[command(flatten)]
    pub values: Values,
    /// restart: restart the Deployments, StatefulSets and DaemonSets using it (those you may patch).
    #[arg(long, value_enum, default_value_t = crate::domain::lifecycle::Rollout::Nothing)]
    pub rollout: crate::domain::lifecycle::Rollout,
}

#[derive(Debug, Args)]
pub struct Test {
    pub name: String,
    /// For an access key: look for this bucket instead of listing the buckets.
    #[arg(long, default_value = "")]
    pub bucket: String,
}

#[derive(Debug, Args)]
pub struct Delete {
    pub name: String,
    /// First put this credential (same type, reaching the same projects) in its place in every
    /// workload you may change; deleted only once nothing uses it.
    #[arg(long, value_name = "CREDENTIAL")]
    pub replace_with: Option<String>,
    /// Show what --replace-with would change, and change nothing.
    #[arg(long, requires = "replace_with")]
    pub dry_run: bool,
    /// Wait until the credential and its copies are gone.
    #[arg(long)]
    pub wait: bool,
}

#[derive(Debug, Args)]
pub struct Attach {
    pub name: String,
    /// The workload: KIND/NAMESPACE/NAME, e.g. Deployment/nlp/trainer.
    #[arg(long = "to", value_name = "WORKLOAD")]
    pub workload: String,
    /// How: pull, env, envFrom or volume.
    #[arg(long = "as", value_name = "USE")]
    pub how: String,
    /// Where a volume is mounted.
    #[arg(long, required_if_eq("how", "volume"))]
    pub path: Option<String>,
    /// The container (default: the first).
    #[arg(long, short = 'c', default_value = "")]
    pub container: String,
    /// Show the patch, change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct MyCredential {
    #[command(flatten)]
    pub connection: Connection,
    #[command(subcommand)]
    pub command: MyCredentialCommand,
}

#[derive(Debug, Subcommand)]
pub enum MyCredentialCommand {
    #[command(alias = "ls")]
    List {
        #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Table)]
        output: Format,
    },
    Get(Get),
    /// Create one: docker-registry, generic or ngc-api-key.
    Create(CreateMine),
    Replace(Replace),
    /// The projects it is copied into (replaces the list).
    Projects {
        name: String,
        #[arg(long = "project", short = 'p')]
        projects: Vec<String>,
    },
    Delete(Named),
}

#[derive(Debug, Args)]
pub struct CreateMine {
    #[arg(value_name = "TYPE")]
    pub credential_type: String,
    pub name: String,
    /// A project to copy it into (repeat).
    #[arg(long = "project", short = 'p')]
    pub projects: Vec<String>,
    #[arg(long, default_value = "")]
    pub description: String,
    #[command(flatten)]
    pub values: Values,
}

#[derive(Debug, Args)]
pub struct ProjectSecret {
    #[command(flatten)]
    pub connection: Connection,
    /// The project.
    #[arg(short = 'p', long, global = true)]
    pub project: Option<String>,
    #[command(subcommand)]
    pub command: ProjectSecretCommand,
}

#[derive(Debug, Subcommand)]
pub enum ProjectSecretCommand {
    /// The key names (never a value).
    #[command(alias = "ls")]
    List {
        #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Table)]
        output: Format,
    },
    /// Add a key or replace its value, read from stdin or a prompt that does not echo.
    Set { key: String },
    Delete { key: String },
    /// KEY=VALUE lines of a .env file (`-` for stdin): all checked, then one write.
    Import { file: PathBuf },
}

#[derive(Debug, Args)]
pub struct Cluster {
    #[command(subcommand)]
    pub command: ClusterCommand,
}

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Register a member cluster: its kubeconfig (one context, credentials inline) goes into a
    /// Secret of the system namespace that Keyhold reads to reach it.
    Add {
        name: String,
        /// The member's kubeconfig.
        #[arg(long, value_name = "FILE")]
        kubeconfig: PathBuf,
        /// Its context to use (default: its current context).
        #[arg(long)]
        context: Option<String>,
    },
    /// Forget a member cluster (its Secret goes).
    Remove { name: String },
    /// The clusters Keyhold reaches, from the server: reachable since when, version, projects.
    #[command(alias = "ls")]
    List(Connection),
}

#[derive(Debug, Args)]
pub struct Secret {
    #[command(subcommand)]
    pub command: SecretCommand,
}

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Label a Secret so the wizards offer it for a type: in a project's namespace for that
    /// project, in the system namespace with --cluster-wide or --department.
    Offer {
        name: String,
        #[arg(short = 'n', long)]
        namespace: String,
        /// docker-registry, access-key, password, generic, tls or ngc-api-key.
        #[arg(long = "type", value_name = "TYPE")]
        credential_type: String,
        #[arg(long, conflicts_with = "department")]
        cluster_wide: bool,
        #[arg(long)]
        department: Option<String>,
    },
    /// Take the labels `offer` put on a Secret away.
    Withdraw {
        name: String,
        #[arg(short = 'n', long)]
        namespace: String,
    },
}
