//! A credential's life after it is made (issue 19), through the real binary: connection tests
//! against a real registry (Debian's docker-registry, TLS from a test CA, htpasswd) and a real S3
//! API (moto in server mode with authentication on); expiry; new values with a rollout restart;
//! the Activity; and `/metrics`, scraped and parsed. No value in any answer.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use support::{Server, api_token, eventually, free_port, kubectl};

const REGISTRY_USER: &str = "testuser";
const REGISTRY_PASSWORD: &str = "canary-registry-5d1e";
const WRONG: &str = "canary-wrong-0c9a";
const ROTATED: &str = "canary-rotated-77b3";

/// A child process killed when the test ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run(program: &str, args: &[&str], dir: &Path) {
    let out = Command::new(program).args(args).current_dir(dir).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A test CA and a server certificate it signed for 127.0.0.1.
fn certificates(dir: &Path) {
    run("openssl", &["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=Keyhold test CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], dir);
    run("openssl", &["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"], dir);
    std::fs::write(dir.join("server.ext"), "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n").unwrap();
    run("openssl", &["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "server.ext"], dir);
}

/// Debian's docker-registry with TLS and one htpasswd user, on a free port.
async fn registry(dir: &Path) -> (Running, String) {
    let port = free_port();
    // A bcrypt line made with crypt(3) for REGISTRY_PASSWORD (cost 5 keeps the test fast).
    let hash = Command::new("perl").args(["-e", "print crypt($ARGV[0], '$2b$05$' . $ARGV[1])", REGISTRY_PASSWORD, "keyholdtestsaltsaltsal"]).output().unwrap();
    std::fs::write(dir.join("htpasswd"), format!("{REGISTRY_USER}:{}\n", String::from_utf8_lossy(&hash.stdout))).unwrap();
    let root = dir.display();
    let config = format!(
        "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {root}/data\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: test\n  tls:\n    certificate: {root}/server.crt\n    key: {root}/server.key\nauth:\n  htpasswd:\n    realm: keyhold-test\n    path: {root}/htpasswd\n"
    );
    std::fs::write(dir.join("registry.yml"), config).unwrap();
    let child = Command::new("docker-registry").args(["serve", dir.join("registry.yml").to_str().unwrap()]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("docker-registry (scripts/tools.sh test installs it)");
    let running = Running(child);
    let ca = reqwest::Certificate::from_pem(&std::fs::read(dir.join("ca.crt")).unwrap()).unwrap();
    let http = reqwest::Client::builder().tls_certs_merge([ca]).build().unwrap();
    let url = format!("https://127.0.0.1:{port}/v2/");
    assert!(eventually(Duration::from_secs(20), || async { http.get(&url).send().await.is_ok_and(|r| r.status() == StatusCode::UNAUTHORIZED) }).await, "the registry did not start");
    (running, format!("127.0.0.1:{port}"))
}

/// moto's S3 API with authentication on, and one IAM user's access key (its id and secret).
async fn s3() -> (Running, String, String, String) {
    let port = free_port();
    let moto = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/s3/bin/moto_server");
    let child = Command::new(moto).args(["-H", "127.0.0.1", "-p", &port.to_string()]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("moto_server (scripts/tools.sh test installs it)");
    let running = Running(child);
    let endpoint = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    assert!(eventually(Duration::from_secs(30), || async { http.get(format!("{endpoint}/moto-api/data.json")).send().await.is_ok() }).await, "moto did not start");
    // Until authentication is switched on, moto takes any signature: the IAM setup is unsigned.
    let iam = |form: Vec<(&str, &str)>| {
        let request = http.post(format!("{endpoint}/")).header("authorization", "AWS4-HMAC-SHA256 Credential=setup/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0").form(&form);
        async move {
            let response = request.send().await.unwrap();
            assert!(response.status().is_success(), "IAM setup: {}", response.status());
            response.text().await.unwrap()
        }
    };
    iam(vec![("Action", "CreateUser"), ("Version", "2010-05-08"), ("UserName", "tester")]).await;
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    iam(vec![("Action", "PutUserPolicy"), ("Version", "2010-05-08"), ("UserName", "tester"), ("PolicyName", "all"), ("PolicyDocument", policy)]).await;
    let key = iam(vec![("Action", "CreateAccessKey"), ("Version", "2010-05-08"), ("UserName", "tester")]).await;
    let element = |name: &str| key.split(&format!("<{name}>")).nth(1).and_then(|rest| rest.split(&format!("</{name}>")).next()).unwrap().to_string();
    let (id, secret) = (element("AccessKeyId"), element("SecretAccessKey"));
    let on = http.post(format!("{endpoint}/moto-api/reset-auth")).header("content-type", "text/plain").body("0").send().await.unwrap();
    assert!(on.status().is_success(), "authentication on: {}", on.status());
    (running, endpoint, id, secret)
}

struct Api<'a> {
    server: &'a Server,
    secrets: Vec<String>,
}

impl Api<'_> {
    async fn call(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> (StatusCode, Value) {
        let (status, text) = self.server.api(method, path, Some(token), body).await;
        for secret in &self.secrets {
            assert!(!text.contains(secret.as_str()), "a value came back from {path}: {text}");
        }
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
}

fn tomorrow() -> String {
    jiff::Zoned::now().with_time_zone(jiff::tz::TimeZone::UTC).date().checked_add(jiff::Span::new().days(1)).unwrap().to_string()
}

#[tokio::test]
async fn a_credential_s_life_tests_expires_rolls_out_and_is_recorded() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let tls = tempfile::tempdir().unwrap();
    certificates(tls.path());
    let (_registry, registry) = registry(tls.path()).await;
    let (_moto, s3_endpoint, key_id, key_secret) = s3().await;
    let metrics_port = free_port();
    let ca = tls.path().join("ca.crt");
    let metrics_listen = format!("127.0.0.1:{metrics_port}");
    // The registry runs on this machine, which a person's registry may not be unless allowed.
    let server = Server::embedded(dir.path(), &["--connection-test-ca", ca.to_str().unwrap(), "--connection-test-allow", "127.0.0.1/32", "--connection-test-every", "1h", "--s3-endpoint", &s3_endpoint, "--metrics-listen", &metrics_listen]).await;
    let kubeconfig = dir.path().join("kubeconfig");
    let (alice, bob, carol) = (api_token("alice", &kubeconfig), api_token("bob", &kubeconfig), api_token("carol", &kubeconfig));
    let api = Api { server: &server, secrets: vec![REGISTRY_PASSWORD.into(), WRONG.into(), ROTATED.into(), key_secret.clone()] };

    // Test connection before saving: the registry's Basic challenge, right and wrong.
    let login = |password: &str| json!({"values": {"type": "DockerRegistry", "registry": registry, "username": REGISTRY_USER, "password": password}});
    let (status, outcome) = api.call(Method::POST, "/credentials:test", &bob, Some(login(REGISTRY_PASSWORD))).await;
    assert_eq!((status, outcome["ok"].as_bool()), (StatusCode::OK, Some(true)), "{outcome}");
    assert_eq!(outcome["message"], format!("Signed in to {registry}"));
    let (_, outcome) = api.call(Method::POST, "/credentials:test", &bob, Some(login(WRONG))).await;
    assert_eq!((outcome["ok"].as_bool(), outcome["message"].as_str()), (Some(false), Some(format!("{registry} refused the username or password").as_str())));
    // Not a way into the server's own network: this machine's other addresses and the link-local
    // range (a cloud's metadata service) are refused before anything is sent.
    let port = registry.rsplit(':').next().unwrap();
    for (address, host) in [(format!("[::1]:{port}"), format!("[::1]:{port}")), ("169.254.169.254".to_string(), "169.254.169.254".to_string())] {
        let probe = json!({"values": {"type": "DockerRegistry", "registry": address, "username": REGISTRY_USER, "password": REGISTRY_PASSWORD}});
        let (_, outcome) = api.call(Method::POST, "/credentials:test", &bob, Some(probe)).await;
        assert_eq!((outcome["ok"].as_bool(), outcome["message"].as_str()), (Some(false), Some(format!("{host} is not an address Keyhold tests against").as_str())));
    }

    // S3: a signed ListBuckets, HeadBucket of a missing bucket, a wrong secret, an unknown key id.
    let access_key = |id: &str, secret: &str, bucket: &str| json!({"values": {"type": "AccessKey", "accessKeyId": id, "secretAccessKey": secret}, "bucket": bucket});
    let host = s3_endpoint.trim_start_matches("http://");
    let cases = [
        (access_key(&key_id, &key_secret, ""), true, format!("Signed in to {host} and listed the buckets")),
        (access_key(&key_id, &key_secret, "no-such-bucket"), false, format!("Signed in to {host}, but no such bucket is there")),
        (access_key(&key_id, WRONG, ""), false, format!("{host} refused the secret access key")),
        (access_key("AKIANOSUCHKEY0000000", &key_secret, ""), false, format!("{host} does not know this access key ID")),
    ];
    for (request, ok, message) in cases {
        let (status, outcome) = api.call(Method::POST, "/credentials:test", &bob, Some(request)).await;
        assert_eq!((status, outcome["ok"].as_bool(), outcome["message"].as_str()), (StatusCode::OK, Some(ok), Some(message.as_str())), "{outcome}");
    }
    // A bad bucket name is a 422 naming the field; someone who may create nothing may test nothing.
    let (status, body) = api.call(Method::POST, "/credentials:test", &bob, Some(access_key(&key_id, &key_secret, "Not A Bucket"))).await;
    assert_eq!((status, body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("bucket")), "{body}");
    let (status, _) = api.call(Method::POST, "/credentials:test", &carol, Some(login(REGISTRY_PASSWORD))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a viewer may not send values anywhere through Keyhold");

    // Saved with an expiry: the row says how soon, the Expires filter finds it; a bad date is named.
    let new = json!({
        "displayName": "Test registry", "scope": {"level": "Project", "project": "vision"}, "expiresOn": tomorrow(),
        "values": {"type": "DockerRegistry", "registry": registry, "username": REGISTRY_USER, "password": REGISTRY_PASSWORD},
    });
    let mut bad = new.clone();
    bad["expiresOn"] = json!("2027-02-30");
    let (status, body) = api.call(Method::POST, "/credentials", &bob, Some(bad)).await;
    assert_eq!((status, body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("expiresOn")), "{body}");
    assert!(!body.to_string().contains("2027-02-30"), "the refusal does not quote the input");
    let (status, row) = api.call(Method::POST, "/credentials", &bob, Some(new)).await;
    assert_eq!(status, StatusCode::CREATED, "{row}");
    let name = row["name"].as_str().unwrap().to_string();
    assert_eq!(row["expiry"], json!({"Soon": 1}));
    let (_, listing) = api.call(Method::GET, "/credentials?expires=Expires%20within%2014%20days", &carol, None).await;
    let soon: Vec<&str> = listing["page"]["rows"].as_array().unwrap().iter().map(|r| r["displayName"].as_str().unwrap()).collect();
    assert!(soon.contains(&"Test registry"), "{soon:?}");
    assert!(!soon.contains(&"Docker Hub (vision)"), "{soon:?}");

    // The controller warns of it: a Warning Event on the credential, once.
    let warned = eventually(Duration::from_secs(20), || async {
        kubectl(&kubeconfig, &["get", "events", "-n", "vision", "--field-selector", "reason=ExpiresSoon", "-o", "jsonpath={.items[*].message}"], None).contains("Test registry expires on")
    })
    .await;
    assert!(warned, "an ExpiresSoon Warning Event");

    // Tested by the controller at once (`--connection-test-every`), then hourly.
    let path = format!("/credentials/vision/{name}");
    let tested = eventually(Duration::from_secs(20), || async { api.call(Method::GET, &path, &carol, None).await.1["lastTest"]["ok"] == true }).await;
    assert!(tested, "{}", api.call(Method::GET, &path, &carol, None).await.1);

    // Tested on demand: kept on the credential; the viewer may not run it.
    let (status, outcome) = api.call(Method::POST, &format!("{path}/test"), &bob, Some(json!({}))).await;
    assert_eq!((status, outcome["ok"].as_bool()), (StatusCode::OK, Some(true)), "{outcome}");
    let (status, _) = api.call(Method::POST, &format!("{path}/test"), &carol, Some(json!({}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, row) = api.call(Method::GET, &path, &carol, None).await;
    assert_eq!(row["lastTest"]["ok"], true, "{row}");

    // Rename and new values: both in the Activity, with who did them, newest first.
    let (status, _) = api.call(Method::PATCH, &path, &bob, Some(json!({"displayName": "Test registry (renamed)"}))).await;
    assert_eq!(status, StatusCode::OK);
    let rotated = json!({"type": "DockerRegistry", "registry": registry, "username": REGISTRY_USER, "password": ROTATED});
    let (status, replaced) = api.call(Method::PUT, &format!("{path}/values"), &bob, Some(rotated)).await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert!(replaced.get("rollout").is_none(), "no rollout asked, none made");
    let (status, activity) = api.call(Method::GET, &format!("{path}/activity"), &carol, None).await;
    assert_eq!(status, StatusCode::OK, "{activity}");
    let actions: Vec<(&str, &str)> = activity.as_array().unwrap().iter().map(|e| (e["action"].as_str().unwrap(), e["by"].as_str().unwrap())).collect();
    let position = |action: &str| actions.iter().position(|(a, by)| *a == action && *by == "bob").unwrap_or_else(|| panic!("{action} by bob in {actions:?}"));
    assert!(position("ValuesReplaced") < position("Renamed") && position("Renamed") < position("Tested") && position("Tested") < position("Created"), "{actions:?}");
    assert!(actions.contains(&("Propagated", "")) && actions.contains(&("Tested", "")), "the controller's own entries: {actions:?}");

    // A rollout: alice may change the cluster-wide credential and patch Deployments in vision
    // only. Its users: a Deployment in vision, one in serving, a Job in nlp.
    kubectl(&kubeconfig, &["apply", "-f", "-"], Some(&rollout_fixtures()));
    let (_, listing) = api.call(Method::GET, "/credentials?q=Weights", &alice, None).await;
    let wandb = listing["page"]["rows"][0]["name"].as_str().unwrap().to_string();
    let wandb_path = format!("/credentials/keyhold-system/{wandb}");
    let users_seen = eventually(Duration::from_secs(20), || async { api.call(Method::GET, &wandb_path, &alice, None).await.1["usedBy"].as_array().is_some_and(|u| u.len() == 3) }).await;
    assert!(users_seen, "{}", api.call(Method::GET, &wandb_path, &alice, None).await.1);
    let (status, plan) = api.call(Method::GET, &format!("{wandb_path}/rollout"), &alice, None).await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    assert_eq!(plan, json!({"restart": ["Deployment/vision/logger"], "nextRun": ["Job/nlp/sweep"], "skipped": ["Deployment/serving/dashboard"], "unseen": 0}));
    let (status, _) = api.call(Method::GET, &format!("{wandb_path}/rollout"), &bob, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only who may change the credential sees its rollout");
    let restarted_at = |namespace: &str, name: &str| kubectl(&kubeconfig, &["get", "deployment", name, "-n", namespace, "-o", "jsonpath={.spec.template.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt}"], None);
    let rotated = json!({"type": "Generic", "entries": [["WANDB_API_KEY", ROTATED]]});
    let (status, replaced) = api.call(Method::PUT, &format!("{wandb_path}/values?rollout=restart"), &alice, Some(rotated)).await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(replaced["rollout"]["restart"], json!(["Deployment/vision/logger"]), "{replaced}");
    assert_eq!(replaced["rollout"]["skipped"], json!(["Deployment/serving/dashboard"]));
    assert!(!restarted_at("vision", "logger").is_empty(), "the Deployment in vision was restarted");
    assert!(restarted_at("serving", "dashboard").is_empty(), "the one alice may not patch was not");
    let job = kubectl(&kubeconfig, &["get", "job", "sweep", "-n", "nlp", "-o", "json"], None);
    assert!(!job.contains("restartedAt"), "a Job is never restarted");
    // Every copy holds the new values, at the source's version, before the restart.
    let source_version = kubectl(&kubeconfig, &["get", "secret", &wandb, "-n", "keyhold-system", "-o", "jsonpath={.metadata.resourceVersion}"], None);
    let targets = replaced["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 5, "{targets:?}");
    assert!(targets.iter().all(|t| t["version"] == source_version.as_str()), "{targets:?} at {source_version}");
    for project in ["vision", "nlp", "serving", "etl"] {
        assert_eq!(support::secret_value(&kubeconfig, project, &wandb, "WANDB_API_KEY"), ROTATED.as_bytes());
    }
    // Retry asks the controller to propagate again: for who may change the credential only.
    let (status, _) = api.call(Method::POST, &format!("{wandb_path}/retry"), &carol, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = api.call(Method::POST, &format!("{wandb_path}/retry"), &alice, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // A rollout that cannot be spelled is refused.
    let (status, _) = api.call(Method::PUT, &format!("{wandb_path}/values?rollout=everything"), &alice, Some(json!({"type": "Generic", "entries": [["WANDB_API_KEY", ROTATED]]}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // /metrics, parsed: every credential counted once, the expiry as time left, a sign-in, a propagation.
    server.sign_in("carol", "keyhold-demo").await;
    let text = reqwest::get(format!("http://{metrics_listen}/metrics")).await.unwrap().text().await.unwrap();
    let samples = parse_metrics(&text);
    let credentials: f64 = samples.iter().filter(|(name, _, _)| name == "keyhold_credentials").map(|(_, _, v)| v).sum();
    let (_, all) = api.call(Method::GET, "/credentials?per_page=100", &alice, None).await;
    assert_eq!(credentials as u64, all["page"]["total"].as_u64().unwrap(), "{text}");
    let series = format!("name=\"{name}\"");
    let left = samples.iter().find(|(metric, labels, _)| metric == "keyhold_credential_expiry_seconds" && labels.contains(&series)).map(|(_, _, v)| *v);
    assert!(left.is_some_and(|s| s > 0.0 && s <= 86_400.0), "{text}");
    let sign_ins = samples.iter().find(|(name, labels, _)| name == "keyhold_sign_ins_total" && labels.contains("method=\"password\"") && labels.contains("outcome=\"success\"")).map(|(_, _, v)| *v);
    assert_eq!(sign_ins, Some(1.0), "{text}");
    let propagations = samples.iter().find(|(name, _, _)| name == "keyhold_propagation_duration_seconds_count").map(|(_, _, v)| *v);
    assert!(propagations.is_some_and(|n| n >= 1.0), "{text}");
    assert!(samples.iter().any(|(name, labels, _)| name == "keyhold_http_request_duration_seconds_count" && labels.contains("code=\"200\"")), "{text}");
    // Keyhold's requests of the Kubernetes API are counted, and a warm listing makes none: rows come
    // from watch caches, permissions from the cache of answers (5 s).
    let reviews = || async {
        let text = reqwest::get(format!("http://{metrics_listen}/metrics")).await.unwrap().text().await.unwrap();
        let asked = |resource: &str| parse_metrics(&text).iter().filter(|(name, labels, _)| name == "keyhold_kubernetes_requests_total" && labels.contains(&format!("resource=\"{resource}\""))).map(|(_, _, v)| *v).sum::<f64>();
        (asked("credentials"), asked("subjectaccessreviews"))
    };
    let (watched, reviewed) = reviews().await;
    assert!(watched > 0.0 && reviewed > 0.0, "{text}");
    api.call(Method::GET, "/credentials?per_page=100", &alice, None).await;
    let warm = reviews().await.1;
    api.call(Method::GET, "/credentials?per_page=100&q=weights", &alice, None).await;
    assert_eq!(reviews().await.1, warm, "a warm listing asked the Kubernetes API");
    for secret in &api.secrets {
        assert!(!text.contains(secret.as_str()) && !server.log().contains(secret.as_str()), "a value in the metrics or the log");
    }
}

/// OpenMetrics text as `(name, labels, value)` per sample; comments and `# EOF` skipped.
fn parse_metrics(text: &str) -> Vec<(String, String, f64)> {
    assert!(text.trim_end().ends_with("# EOF"), "an OpenMetrics exposition ends with # EOF");
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("not a sample: {line}"));
            let (name, labels) = series.split_once('{').map(|(n, l)| (n, l.trim_end_matches('}'))).unwrap_or((series, ""));
            (name.to_string(), labels.to_string(), value.parse().unwrap_or_else(|_| panic!("not a number: {line}")))
        })
        .collect()
}

/// Users of the cluster-wide Weights & Biases credential (its Secret `weights-biases`) and the
/// right for the platform admins to patch Deployments in vision alone.
fn rollout_fixtures() -> String {
    let deployment = |namespace: &str, name: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec:\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec:\n      containers:\n      - name: main\n        image: example/{name}\n        envFrom: [{{secretRef: {{name: weights-biases}}}}]\n"
        )
    };
    [
        deployment("vision", "logger"),
        deployment("serving", "dashboard"),
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: sweep, namespace: nlp}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: main\n        image: example/sweep\n        envFrom: [{secretRef: {name: weights-biases}}]\n".to_string(),
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: deployments, namespace: vision}\nrules:\n- apiGroups: [apps]\n  resources: [deployments]\n  verbs: [get, patch]\n".to_string(),
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: platform-admins-deployments, namespace: vision}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: deployments}\nsubjects:\n- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: platform-admins}\n".to_string(),
    ]
    .join("---\n")
}
