//! The `keyhold` command line as a client: the real binary against a running Keyhold (the embedded
//! default with its demo organisation), per role. bob (editor in vision and nlp) creates, replaces,
//! attaches and deletes; carol (viewer in vision) lists and is refused with one clear line. Every
//! value piped through a command must appear in no output, error or server log.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use keyhold::domain::query::CredentialRow;
use reqwest::{Method, StatusCode};

use support::{Server, api_token, eventually, free_port, kubectl, secret_value};

/// One person's command line: their own configuration directory, and a transcript of everything
/// the commands printed (for the canary checks).
struct Person {
    config: PathBuf,
    server: String,
    /// Set for people who do not log in: KEYHOLD_TOKEN.
    token: Option<String>,
    transcript: Mutex<String>,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Person {
    fn new(dir: &Path, name: &str, server: &Server, token: Option<String>) -> Person {
        Person { config: dir.join(format!("config-{name}")), server: server.url.clone(), token, transcript: Mutex::new(String::new()) }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_keyhold"));
        command.args(args).env("XDG_CONFIG_HOME", &self.config).env_remove("KUBECONFIG").env_remove("KEYHOLD_SERVER").env_remove("KEYHOLD_TOKEN");
        if let Some(token) = &self.token {
            command.env("KEYHOLD_SERVER", &self.server).env("KEYHOLD_TOKEN", token);
        }
        command
    }

    fn run_with(&self, mut command: Command, stdin: &str) -> Run {
        use std::io::Write;
        let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        let run = Run { code: out.status.code().unwrap_or(-1), stdout: String::from_utf8_lossy(&out.stdout).into_owned(), stderr: String::from_utf8_lossy(&out.stderr).into_owned() };
        self.transcript.lock().unwrap().push_str(&format!("{}{}", run.stdout, run.stderr));
        run
    }

    fn run(&self, args: &[&str], stdin: &str) -> Run {
        self.run_with(self.command(args), stdin)
    }

    /// Runs a command that must succeed; its output.
    fn ok(&self, args: &[&str], stdin: &str) -> String {
        let run = self.run(args, stdin);
        assert_eq!(run.code, 0, "keyhold {args:?}:\n{}{}", run.stdout, run.stderr);
        run.stdout
    }

    /// Runs a command that must fail with exit code 1 and one line on stderr; that line.
    fn refused(&self, args: &[&str], stdin: &str) -> String {
        let run = self.run(args, stdin);
        assert_eq!(run.code, 1, "keyhold {args:?} should fail:\n{}{}", run.stdout, run.stderr);
        let lines: Vec<&str> = run.stderr.lines().filter(|l| !l.starts_with("warning: ")).collect();
        assert_eq!(lines.len(), 1, "keyhold {args:?}: one line, not:\n{}", run.stderr);
        assert!(lines[0].starts_with("error: ") && !run.stderr.contains("panicked"), "{}", run.stderr);
        lines[0].to_string()
    }

    fn get(&self, name: &str) -> CredentialRow {
        serde_json::from_str(&self.ok(&["credential", "get", name, "-o", "json"], "")).unwrap()
    }
}

/// The demo server, its admin kubeconfig, bob logged in and carol by KEYHOLD_TOKEN.
async fn demo(dir: &Path) -> (Server, PathBuf, Person, Person) {
    let server = Server::embedded(dir, &[]).await;
    let kubeconfig = dir.join("kubeconfig");
    let bob = Person::new(dir, "bob", &server, None);
    // A configuration file others may read is replaced by a private one at login.
    std::fs::create_dir_all(bob.config.join("keyhold")).unwrap();
    std::fs::write(bob.config.join("keyhold/config"), "{}").unwrap();
    std::fs::set_permissions(bob.config.join("keyhold/config"), std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let login = bob.ok(&["login", "--server", &format!("{}/", server.url), "--token-stdin"], &api_token("bob", &kubeconfig));
    assert!(login.contains("as bob"), "{login}");
    let carol = Person::new(dir, "carol", &server, Some(api_token("carol", &kubeconfig)));
    (server, kubeconfig, bob, carol)
}

fn lines(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort();
    lines
}

#[tokio::test]
async fn bob_manages_credentials_from_the_command_line_and_carol_only_lists() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (server, kubeconfig, bob, carol) = demo(dir.path()).await;
    let config = bob.config.join("keyhold/config");
    assert_eq!(std::fs::metadata(&config).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(bob.ok(&["whoami"], "").starts_with("bob (groups: research"));

    // Create, with per-namespace progress; list with the table's filters in every format.
    let registry = ["credential", "create", "docker-registry", "CLI registry", "--scope", "project/vision", "--from-literal", "registry=ghcr.io", "--from-literal", "username=ci"];
    let created = bob.ok(&[registry.as_slice(), &["--password-stdin", "--wait"]].concat(), "pw-1\n");
    assert!(created.contains("Created CLI registry (vision/cli-registry)") && created.contains("vision: ready"), "{created}");
    let secret = bob.get("CLI registry").secret_name;
    assert!(String::from_utf8(secret_value(&kubeconfig, "vision", &secret, ".dockerconfigjson")).unwrap().contains("\"password\":\"pw-1\""));
    let names = bob.ok(&["credential", "list", "--type", "docker-registry", "--scope", "project/vision", "-o", "name"], "");
    assert_eq!(lines(&names), ["vision/cli-registry", "vision/docker-hub-vision"]);
    assert_eq!(bob.ok(&["credential", "list", "-q", "CLI", "--status", "ready", "-o", "name"], "").trim(), "vision/cli-registry");
    assert_eq!(bob.ok(&["credential", "list", "--status", "issues", "-o", "name"], ""), "");
    assert_eq!(bob.ok(&["credential", "list", "--scope", "department/research", "-o", "name"], "").trim(), "keyhold-system/hugging-face-research");
    let json: Vec<CredentialRow> = serde_json::from_str(&bob.ok(&["credential", "list", "--sort", "credential", "--desc", "-o", "json"], "")).unwrap();
    let sorted: Vec<&str> = json.iter().map(|r| r.display_name.as_str()).collect();
    assert!(sorted.len() > 2 && sorted.windows(2).all(|w| w[0].to_lowercase() >= w[1].to_lowercase()), "{sorted:?}");
    assert!(bob.ok(&["credential", "list", "-o", "csv"], "").starts_with("Credential,Description,Type,Status"));
    let yaml: Vec<CredentialRow> = serde_saphyr::from_str(&bob.ok(&["credential", "list", "-o", "yaml"], "")).unwrap();
    assert_eq!(yaml.len(), json.len());
    assert!(bob.ok(&["credential", "list", "-o", "wide"], "").lines().next().unwrap().contains("KUBERNETES NAME"));

    // Get: facts and how to use it, or one snippet alone.
    let facts = bob.ok(&["credential", "get", "CLI registry"], "");
    assert!(facts.contains("Keys:              .dockerconfigjson") && facts.contains("Kubeflow PodDefault [podDefault]"), "{facts}");
    assert_eq!(bob.ok(&["credential", "get", "vision/cli-registry", "--snippet", "pull"], ""), format!("imagePullSecrets:\n  - name: {secret}\n"));

    // Rename and replace the values.
    bob.ok(&["credential", "rename", "CLI registry", "CLI registry 2", "--description", "from a terminal"], "");
    assert_eq!(bob.get("vision/cli-registry").description, "from a terminal");
    bob.ok(&["credential", "replace", "CLI registry 2", "--from-literal", "registry=ghcr.io", "--from-literal", "username=ci", "--password-stdin"], "pw-2");
    assert!(String::from_utf8(secret_value(&kubeconfig, "vision", &secret, ".dockerconfigjson")).unwrap().contains("\"password\":\"pw-2\""));

    // Attach to a workload bob may change; then delete is refused while it is used, and works
    // once another credential is put in its place.
    kubectl(&kubeconfig, &["create", "role", "workloads", "-n", "vision", "--verb=get,list,patch", "--resource=deployments.apps"], None);
    kubectl(&kubeconfig, &["create", "rolebinding", "research-workloads", "-n", "vision", "--role=workloads", "--group=research"], None);
    assert!(bob.ok(&["credential", "workloads", "CLI registry 2"], "").contains("Deployment/vision/trainer"));
    let shown = bob.ok(&["credential", "attach", "CLI registry 2", "--to", "Deployment/vision/trainer", "--as", "pull", "--dry-run"], "");
    assert!(shown.contains("Would patch") && shown.contains("imagePullSecrets"), "{shown}");
    bob.ok(&["credential", "attach", "CLI registry 2", "--to", "Deployment/vision/trainer", "--as", "pull"], "");
    let used = eventually(Duration::from_secs(20), || async { bob.get("CLI registry 2").used_by.contains(&"Deployment/vision/trainer".to_string()) }).await;
    assert!(used, "the attached workload is not among the users");
    let in_use = bob.refused(&["credential", "delete", "CLI registry 2"], "");
    assert!(in_use.contains("trainer"), "{in_use}");
    let password = dir.path().join("password");
    std::fs::write(&password, "pw-b").unwrap();
    bob.ok(&["credential", "create", "docker-registry", "CLI registry B", "--scope", "project/vision", "--from-literal", "registry=ghcr.io", "--from-literal", "username=ci", "--from-file", &format!("password={}", password.display()), "--wait"], "");
    let other = bob.get("CLI registry B").secret_name;
    let plan = bob.ok(&["credential", "delete", "CLI registry 2", "--replace-with", "CLI registry B", "--dry-run"], "");
    assert!(plan.contains("Would change Deployment/vision/trainer") && !plan.contains("Deleted"), "{plan}");
    let done = bob.ok(&["credential", "delete", "CLI registry 2", "--replace-with", "CLI registry B", "--wait"], "");
    assert!(done.contains("Deleted CLI registry 2"), "{done}");
    let pulls = kubectl(&kubeconfig, &["get", "deployment", "trainer", "-n", "vision", "-o", "jsonpath={.spec.template.spec.imagePullSecrets[*].name}"], None);
    assert!(pulls.split_whitespace().any(|n| n == other) && !pulls.split_whitespace().any(|n| n == secret), "{pulls}");

    // Offer to notebooks: refused where bob may not make PodDefaults, made where he may.
    kubectl(&kubeconfig, &["apply", "-f", concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/kubeflow/poddefault-crd.yaml")], None);
    bob.ok(&["credential", "create", "generic", "Notebook token", "--scope", "project/vision", "--from-env-file", "-"], "TOKEN=t\n");
    assert!(bob.refused(&["credential", "offer-to-notebooks", "Notebook token"], "").contains("PodDefault"));
    kubectl(&kubeconfig, &["create", "role", "poddefaults", "-n", "vision", "--verb=create,patch", "--resource=poddefaults.kubeflow.org"], None);
    kubectl(&kubeconfig, &["create", "rolebinding", "research-poddefaults", "-n", "vision", "--role=poddefaults", "--group=research"], None);
    // Permission answers may be cached for a moment: the offer is retried until they are new.
    let allowed = eventually(Duration::from_secs(10), || async { bob.run(&["credential", "offer-to-notebooks", "Notebook token"], "").code == 0 }).await;
    assert!(allowed, "still refused after bob may make PodDefaults");
    let offered = bob.ok(&["credential", "offer-to-notebooks", "Notebook token"], "");
    assert!(offered.lines().any(|l| l.starts_with("vision") && l.ends_with("offered")), "{offered}");
    let notebook_secret = bob.get("Notebook token").secret_name;
    assert_eq!(bob.ok(&["credential", "get", "Notebook token", "--snippet", "envFrom"], ""), format!("envFrom:\n  - secretRef:\n      name: {notebook_secret}\n"));
    kubectl(&kubeconfig, &["get", "poddefault", &format!("keyhold-{notebook_secret}"), "-n", "vision"], None);

    // carol lists; every change is refused by the server, in one line.
    assert!(lines(&carol.ok(&["credential", "list", "-o", "name"], "")).contains(&"vision/cli-registry-b"));
    assert!(carol.ok(&["credential", "get", "CLI registry B"], "").contains("Docker registry"));
    let refusal = carol.refused(&["credential", "create", "generic", "Carol's", "--scope", "project/vision", "--from-literal", "A=b"], "");
    assert_eq!(refusal, "error: you may not create credentials in vision");
    assert!(carol.refused(&["credential", "replace", "CLI registry B", "--from-literal", "registry=x", "--from-literal", "username=y", "--password-stdin"], "p").contains("may not"));
    assert!(carol.refused(&["credential", "rename", "CLI registry B", "Mine now"], "").contains("may not"));
    assert!(carol.refused(&["credential", "attach", "CLI registry B", "--to", "Deployment/vision/trainer", "--as", "pull"], "").contains("may not"));
    assert!(carol.refused(&["credential", "delete", "CLI registry B"], "").contains("may not"));
    assert_eq!(bob.get("CLI registry B").description, "");

    bob.ok(&["logout"], "");
    assert!(bob.refused(&["whoami"], "").contains("keyhold login"));
    drop(server);
}

#[tokio::test]
async fn a_kubectl_secret_file_and_an_offered_secret_make_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let (server, kubeconfig, bob, _carol) = demo(dir.path()).await;

    // A Secret file as kubectl prints it, YAML and JSON, round trips into a credential.
    let yaml = kubectl(&kubeconfig, &["create", "secret", "generic", "hf", "--from-literal=HF_TOKEN=hf-1", "--dry-run=client", "-o", "yaml"], None);
    let file = dir.path().join("hf.yaml");
    std::fs::write(&file, yaml).unwrap();
    bob.ok(&["credential", "create", "generic", "From a file", "--scope", "project/nlp", "--from-secret-file", file.to_str().unwrap()], "");
    let made = bob.get("From a file");
    assert_eq!(secret_value(&kubeconfig, "nlp", &made.secret_name, "HF_TOKEN"), b"hf-1");
    let json = kubectl(&kubeconfig, &["create", "secret", "docker-registry", "r", "--docker-server=quay.io", "--docker-username=u", "--docker-password=q-1", "--dry-run=client", "-o", "json"], None);
    bob.ok(&["credential", "create", "docker-registry", "From JSON", "--scope", "project/nlp", "--from-secret-file", "-"], &json);
    let login = String::from_utf8(secret_value(&kubeconfig, "nlp", &bob.get("From JSON").secret_name, ".dockerconfigjson")).unwrap();
    assert!(login.contains("quay.io") && login.contains("q-1"), "{login}");
    let wrong = bob.refused(&["credential", "create", "access-key", "Wrong type", "--scope", "project/nlp", "--from-secret-file", "-"], &json);
    assert!(wrong.starts_with("error: file: ") && wrong.contains("Docker registry"), "{wrong}");

    // An administrator offers an existing Secret with their kubeconfig; the wizard then offers it.
    kubectl(&kubeconfig, &["create", "secret", "docker-registry", "team-registry", "-n", "vision", "--docker-server=ghcr.io", "--docker-username=team", "--docker-password=t"], None);
    let token = api_token("bob", &kubeconfig);
    let offered = || async {
        let (status, text) = server.api(Method::GET, "/existing-secrets?type=docker-registry&scope=project/vision", Some(&token), None).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        serde_json::from_str::<serde_json::Value>(&text).unwrap()["names"].as_array().unwrap().iter().any(|n| n == "team-registry")
    };
    assert!(!offered().await);
    let mut offer = bob.command(&["secret", "offer", "team-registry", "-n", "vision", "--type", "docker-registry"]);
    offer.env("KUBECONFIG", &kubeconfig);
    let run = bob.run_with(offer, "");
    assert_eq!((run.code, run.stdout.trim()), (0, "Offered Secret vision/team-registry"), "{}", run.stderr);
    assert!(eventually(Duration::from_secs(10), || offered()).await, "the wizard does not offer the Secret");
    bob.ok(&["credential", "create", "docker-registry", "Team registry", "--scope", "project/vision", "--existing-secret", "team-registry", "--wait"], "");
    // Cluster-wide: a Secret of the system namespace, offered to alice's Cluster-scope wizard.
    kubectl(&kubeconfig, &["create", "secret", "generic", "shared-token", "-n", "keyhold-system", "--from-literal=TOKEN=s"], None);
    let mut wide = bob.command(&["secret", "offer", "shared-token", "-n", "keyhold-system", "--type", "generic", "--cluster-wide"]);
    wide.env("KUBECONFIG", &kubeconfig);
    assert_eq!(bob.run_with(wide, "").code, 0);
    let alice = api_token("alice", &kubeconfig);
    let (status, text) = server.api(Method::GET, "/existing-secrets?type=generic&scope=cluster", Some(&alice), None).await;
    assert!(status == StatusCode::OK && text.contains("\"shared-token\""), "{status} {text}");
    assert_eq!(bob.get("Team registry").secret_name, "team-registry");
    let mut withdraw = bob.command(&["secret", "withdraw", "team-registry", "-n", "vision"]);
    withdraw.env("KUBECONFIG", &kubeconfig);
    assert_eq!(bob.run_with(withdraw, "").code, 0);
    assert!(eventually(Duration::from_secs(10), || async { !offered().await }).await, "still offered after withdraw");
}

#[tokio::test]
async fn personal_credentials_and_project_secrets_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, kubeconfig, bob, carol) = demo(dir.path()).await;

    bob.ok(&["my-credential", "create", "generic", "My token", "-p", "vision", "--from-env-file", "-"], "TOKEN=mine-1\n");
    assert!(bob.ok(&["my-credential", "list"], "").contains("My token"));
    let mine: CredentialRow = serde_json::from_str(&bob.ok(&["my-credential", "get", "My token", "-o", "json"], "")).unwrap();
    assert_eq!(mine.projects, ["vision"]);
    assert!(bob.ok(&["my-credential", "projects", "My token", "-p", "vision", "-p", "nlp"], "").contains("vision, nlp"));
    bob.ok(&["my-credential", "replace", "My token", "--from-literal", "TOKEN=mine-2"], "");
    let copied = eventually(Duration::from_secs(20), || async {
        kubectl(&kubeconfig, &["get", "secrets", "-n", "nlp", "-l", "keyhold.dev/owner", "-o", "name"], None).lines().count() == 1
    })
    .await;
    assert!(copied, "the personal credential was not copied into nlp");
    assert!(carol.ok(&["my-credential", "list", "-o", "name"], "").trim().is_empty());
    assert!(carol.refused(&["my-credential", "get", "My token"], "").contains("no credential"));
    bob.ok(&["my-credential", "delete", "My token"], "");
    assert!(bob.ok(&["my-credential", "list", "-o", "name"], "").trim().is_empty());

    bob.ok(&["project-secret", "set", "API_KEY", "-p", "vision"], "v-1\n");
    assert_eq!(secret_value(&kubeconfig, "vision", "keyhold-project-secrets", "API_KEY"), b"v-1");
    assert!(bob.ok(&["project-secret", "import", "-", "-p", "vision"], "A=1\nB=2\n").contains("3 keys in all"));
    bob.ok(&["project-secret", "delete", "A", "-p", "vision"], "");
    assert_eq!(lines(&carol.ok(&["project-secret", "list", "-p", "vision"], "")), ["API_KEY", "B"]);
    assert!(carol.refused(&["project-secret", "set", "C", "-p", "vision"], "x").contains("may not"));
    let bad = bob.refused(&["project-secret", "import", "-", "-p", "vision"], "OK=1\nnot a line\n");
    assert!(bad.contains("2"), "{bad}");
    assert_eq!(lines(&bob.ok(&["project-secret", "list", "-p", "vision"], "")), ["API_KEY", "B"], "an import with a bad line wrote nothing");
}

#[tokio::test]
async fn values_piped_through_every_command_appear_in_no_output_log_or_error() {
    let dir = tempfile::tempdir().unwrap();
    let (server, kubeconfig, bob, carol) = demo(dir.path()).await;
    let canary = |n: u32| format!("canary{n}x9q");
    let file = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let create = |kind: &str, name: &str| ["credential", "create", kind, name, "--scope", "project/vision"].map(str::to_string).to_vec();
    let with = |mut args: Vec<String>, more: &[&str]| {
        args.extend(more.iter().map(|s| s.to_string()));
        args
    };
    let run = |who: &Person, args: Vec<String>, stdin: &str| who.run(&args.iter().map(String::as_str).collect::<Vec<_>>(), stdin).code;
    // A refusal: one line, exit code 1 (refused by the server or a file) or 2 (the command line).
    let refused = |who: &Person, args: Vec<String>, stdin: &str, code: i32| {
        let run = who.run(&args.iter().map(String::as_str).collect::<Vec<_>>(), stdin);
        let errors: Vec<&str> = run.stderr.lines().filter(|l| !l.starts_with("warning: ")).collect();
        assert!(run.code == code && errors.len() == 1 && errors[0].starts_with("error: "), "{args:?}: {} {}", run.code, run.stderr);
    };

    // Values that land.
    assert_eq!(run(&bob, with(create("generic", "C1"), &["--from-literal", &format!("TOKEN={}", canary(1))]), ""), 0);
    let key_file = file("key", &canary(2));
    assert_eq!(run(&bob, with(create("access-key", "C2"), &["--from-literal", "accessKeyId=AKIA1", "--from-file", &format!("secretAccessKey={key_file}")]), ""), 0);
    assert_eq!(run(&bob, with(create("password", "C3"), &["--from-env-file", "-"]), &format!("username=u\npassword={}\n", canary(3))), 0);
    assert_eq!(run(&bob, with(create("docker-registry", "C4"), &["--from-literal", "registry=ghcr.io", "--from-literal", "username=u", "--password-stdin"]), &canary(4)), 0);
    let secret_file = kubectl(&kubeconfig, &["create", "secret", "generic", "s", &format!("--from-literal=K={}", canary(5)), "--dry-run=client", "-o", "json"], None);
    assert_eq!(run(&bob, with(create("generic", "C5"), &["--from-secret-file", "-"]), &secret_file), 0);
    assert_eq!(run(&bob, ["credential", "replace", "C3", "--from-literal", "username=u", "--password-stdin"].map(str::to_string).to_vec(), &canary(6)), 0);
    assert_eq!(run(&bob, ["my-credential", "create", "ngc-api-key", "C7", "--password-stdin"].map(str::to_string).to_vec(), &canary(7)), 0);
    assert_eq!(run(&bob, ["my-credential", "replace", "C7", "--password-stdin"].map(str::to_string).to_vec(), &canary(8)), 0);
    assert_eq!(run(&bob, ["project-secret", "set", "K9", "-p", "vision"].map(str::to_string).to_vec(), &canary(9)), 0);
    assert_eq!(run(&bob, ["project-secret", "import", "-", "-p", "nlp"].map(str::to_string).to_vec(), &format!("K10={}\n", canary(10))), 0);
    for (name, key, n) in [("c1", "TOKEN", 1), ("c2", "AWS_SECRET_ACCESS_KEY", 2), ("c3", "password", 6), ("c5", "K", 5)] {
        assert_eq!(secret_value(&kubeconfig, "vision", name, key), canary(n).as_bytes(), "{name}");
    }
    assert_eq!(secret_value(&kubeconfig, "vision", "keyhold-project-secrets", "K9"), canary(9).as_bytes());

    // Values that are refused, by the command line or by the server.
    refused(&bob, with(create("access-key", "C11"), &["--from-literal", &canary(11)]), "", 2);
    refused(&bob, with(create("access-key", "C12"), &["--from-literal", &format!("{}=x", canary(12))]), "", 2);
    refused(&bob, with(create("generic", "C13"), &["--from-literal", &format!("bad key {}=v", canary(13))]), "", 1);
    refused(&bob, with(create("generic", "C14"), &["--from-secret-file", "-"]), &format!("{{\"kind\": \"{}\", \"data\": {{}}}}", canary(14)), 1);
    refused(&carol, with(create("generic", "C15"), &["--from-literal", &format!("K={}", canary(15))]), "", 1);
    refused(&bob, ["project-secret", "import", "-", "-p", "vision"].map(str::to_string).to_vec(), &format!("{}\n", canary(16)), 1);
    refused(&bob, with(create("ngc-api-key", "C17"), &["--password-stdin"]), &format!("has spaces {}", canary(17)), 1);
    // A value given where a path belongs.
    refused(&bob, with(create("password", "C18"), &["--from-literal", "username=u", "--from-file", &format!("password={}", canary(18))]), "", 1);

    // And what reads credentials back.
    for who in [&bob, &carol] {
        for format in ["json", "yaml", "wide", "csv"] {
            assert_eq!(run(who, ["credential", "list", "-o", format].map(str::to_string).to_vec(), ""), 0);
        }
        for name in ["C1", "C2", "C3", "C4", "C5"] {
            assert_eq!(run(who, ["credential", "get", name, "-o", "json"].map(str::to_string).to_vec(), ""), 0);
            assert_eq!(run(who, ["credential", "get", name].map(str::to_string).to_vec(), ""), 0);
        }
    }
    assert_eq!(run(&bob, ["my-credential", "get", "C7", "-o", "yaml"].map(str::to_string).to_vec(), ""), 0);
    assert_eq!(run(&bob, ["project-secret", "list", "-p", "vision", "-o", "json"].map(str::to_string).to_vec(), ""), 0);

    let seen = format!("{}{}{}", bob.transcript.lock().unwrap(), carol.transcript.lock().unwrap(), server.log());
    assert!(["C1", "C5", "C7", "K9", "error: "].iter().all(|s| seen.contains(s)), "the transcript is not what the commands printed");
    for n in 1..=18 {
        assert!(!seen.contains(&canary(n)), "canary {n} was printed:\n{seen}");
    }
    // Nor the tokens the commands were given, in the environment or kept by `login`.
    let kept: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(bob.config.join("keyhold/config")).unwrap()).unwrap();
    let bobs = kept["tokens"].as_object().unwrap().values().next().unwrap().as_str().unwrap();
    assert!(!seen.contains(bobs) && !seen.contains(carol.token.as_deref().unwrap()));
}

#[tokio::test]
async fn watch_reprints_on_change_and_errors_are_one_line() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let (server, _kubeconfig, bob, carol) = demo(dir.path()).await;

    let mut watch = carol.command(&["credential", "list", "--watch", "-o", "name"]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = watch.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut seen = Vec::new();
    let mut wait_for = |wanted: &str| loop {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) if line == wanted => return true,
            Ok(line) => seen.push(line),
            Err(_) => return false,
        }
    };
    assert!(wait_for("vision/docker-hub-vision"), "the first listing");
    bob.ok(&["credential", "create", "generic", "Watched", "--scope", "project/vision", "--from-literal", "A=b"], "");
    assert!(wait_for("vision/watched"), "the listing was not printed again with the new credential");
    watch.kill().unwrap();
    watch.wait().unwrap();
    // Someone with no role anywhere gets no stream: its timing would tell them of others' work.
    let kubeconfig = dir.path().join("kubeconfig");
    assert!(support::keyhold_cli(&["user", "add", "dave"], &kubeconfig, Some("a-long-enough-password\n")).0);
    let dave = api_token("dave", &kubeconfig);
    // The status alone: a stream (the bug) would never end its body.
    let stream = server.http.get(format!("{}/api/v1/events/credentials", server.url)).bearer_auth(&dave).send().await.unwrap();
    assert_eq!(stream.status(), StatusCode::FORBIDDEN);

    // A server that is not there, a token it does not take, no login, a command line that is wrong.
    let nowhere = Person { config: dir.path().join("nowhere"), server: format!("http://127.0.0.1:{}", free_port()), token: Some("t".into()), transcript: Mutex::new(String::new()) };
    assert!(nowhere.refused(&["credential", "list"], "").starts_with(&format!("error: cannot reach {}", nowhere.server)));
    let stranger = Person { config: dir.path().join("stranger"), server: server.url.clone(), token: Some("not-a-token".into()), transcript: Mutex::new(String::new()) };
    assert!(stranger.refused(&["whoami"], "").contains("keyhold login --server"));
    let nobody = Person::new(dir.path(), "nobody", &server, None);
    assert!(nobody.refused(&["credential", "list"], "").contains("not logged in"));
    let usage = carol.run(&["credential", "create", "passport", "X", "--scope", "project/vision"], "");
    assert_eq!((usage.code, usage.stderr.lines().count()), (2, 1), "{}", usage.stderr);
    let scope = carol.run(&["credential", "create", "generic", "X", "--scope", "galaxy", "--from-literal", "A=b"], "");
    assert!(scope.code == 2 && scope.stderr.starts_with("error: --scope: "), "{}", scope.stderr);
    // Plain HTTP is for loopback only: a token never crosses the network unencrypted.
    let remote = carol.run(&["whoami", "--server", "http://keyhold.example.com"], "");
    assert!(remote.code == 2 && remote.stderr.contains("https://"), "{}", remote.stderr);
    assert!(carol.ok(&["completion", "bash"], "").contains("my-credential"));
}

#[test]
fn ctrl_c_at_a_hidden_prompt_gives_the_terminal_its_echo_back() {
    let dir = tempfile::tempdir().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/python/prompt.py");
    let out = Command::new("python").arg(script).arg(env!("CARGO_BIN_EXE_keyhold")).env("XDG_CONFIG_HOME", dir.path()).output().expect("python on PATH");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "True 130 True", "{}", String::from_utf8_lossy(&out.stderr));
}
