//! What the tests that run the real binary share: a `keyhold serve` process on free ports, a signed-in
//! HTTP client, the CLI, kubectl, and polling for a condition. Each test crate uses part of it.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{COOKIE, ORIGIN, SET_COOKIE};

/// The demo users' password.
pub const DEMO: &str = "keyhold-demo";

pub fn free_port() -> u16 {
    // Below the ephemeral range (32768-60999 on Linux) the kernel hands to outgoing connections: a
    // port picked there can be taken by one of the tests' own connections before the server binds
    // it ("Address already in use"). Each call in a process takes the next port of a run that
    // starts where the process id says, checked free.
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let start = std::process::id().wrapping_mul(7919);
    loop {
        let port = 20_000 + (start.wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed)) % 12_000) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Keyhold refuses a data directory open to group or others, and tempfile's directories follow
/// the umask (0755): a test's data directory is made its owner's alone first.
pub fn make_private(data_dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if data_dir.exists() {
        std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
}

/// Polls `check` until it holds, for at most `limit`.
pub async fn eventually<F: Future<Output = bool>>(limit: Duration, mut check: impl FnMut() -> F) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// One `keyhold serve` process; stopped with SIGTERM when dropped.
pub struct Server {
    pub child: Child,
    pub url: String,
    pub http: reqwest::Client,
    /// Everything the process has logged so far.
    log: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

impl Server {
    pub async fn start(data_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        Server::start_binary(Path::new(env!("CARGO_BIN_EXE_keyhold")), None, data_dir, extra, env).await
    }

    /// `binary` (a copy of keyhold elsewhere) started from `cwd` (by default the test's own).
    pub async fn start_binary(binary: &Path, cwd: Option<&Path>, data_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        make_private(data_dir);
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let mut command = Command::new(binary);
        if let Some(cwd) = cwd {
            command.current_dir(cwd);
        }
        command.args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir", data_dir.to_str().unwrap()]).args(extra);
        command.env_remove("KEYHOLD_CLUSTER").env_remove("KUBECONFIG").env_remove("LEPTOS_SITE_ROOT").envs(env.iter().copied()).stdout(Stdio::null()).stderr(Stdio::piped());
        // A copy of the binary just written may still be open for writing in another test's forked
        // child for a moment ("text file busy"); that passes.
        let mut child = loop {
            match command.spawn() {
                Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => std::thread::sleep(Duration::from_millis(20)),
                spawned => break spawned.unwrap(),
            }
        };
        // The log is kept (drained, so the process never blocks on it) to explain a failed start.
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (mut stderr, sink) = (child.stderr.take().unwrap(), log.clone());
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = std::io::Read::read(&mut stderr, &mut chunk) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        });
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let mut server = Server { child, url, http, log: log.clone() };
        let ready = eventually(Duration::from_secs(60), || async {
            server.http.get(format!("{}/readyz", server.url)).send().await.is_ok_and(|r| r.status().is_success())
        })
        .await;
        let exited = server.child.try_wait().unwrap();
        assert!(ready, "keyhold did not become ready at {} (exited: {exited:?}):\n{}", server.url, String::from_utf8_lossy(&log.lock().unwrap()));
        server
    }

    /// An embedded cluster in `dir`, also served to other clients through a kubeconfig.
    pub async fn embedded(dir: &Path, extra: &[&str]) -> Server {
        let kubeconfig = dir.join("kubeconfig");
        let api = format!("127.0.0.1:{}", free_port());
        let mut args = vec!["--cluster", "embedded", "--kube-api-listen", &api, "--write-kubeconfig", kubeconfig.to_str().unwrap()];
        args.extend_from_slice(extra);
        Server::start(dir, &args, &[]).await
    }

    /// POSTs a form to a server function, as a page of this origin would.
    pub async fn post(&self, function: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> reqwest::Response {
        let mut request = self.http.post(format!("{}/api/{function}", self.url)).header(ORIGIN, &self.url).form(form);
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        request.send().await.unwrap()
    }

    /// Signs in and returns the session cookie (`name=value`).
    pub async fn sign_in(&self, user: &str, password: &str) -> String {
        let response = self.post("sign_in", None, &[("username", user), ("password", password), ("next", "/projects")]).await;
        assert_eq!(response.status(), StatusCode::OK, "{user}: {}", response.text().await.unwrap());
        session_cookie(&response).expect("a session cookie")
    }

    /// The signed-in user's name, or the status code when there is none.
    pub async fn whoami(&self, cookie: &str) -> Result<String, StatusCode> {
        let response = self.post("signed_in_user", Some(cookie), &[]).await;
        if response.status() != StatusCode::OK {
            return Err(response.status());
        }
        let body: serde_json::Value = response.json().await.unwrap();
        Ok(body["name"].as_str().unwrap().to_string())
    }

    /// What the process has logged so far.
    pub fn log(&self) -> String {
        String::from_utf8_lossy(&self.log.lock().unwrap()).into_owned()
    }

    /// Calls the REST API under `/api/v1` with a bearer token; the status and the body as text.
    pub async fn api(&self, method: reqwest::Method, path: &str, token: Option<&str>, body: Option<serde_json::Value>) -> (StatusCode, String) {
        let mut request = self.http.request(method, format!("{}/api/v1{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        (response.status(), response.text().await.unwrap())
    }

    pub fn stop(mut self) {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn set_cookie(response: &reqwest::Response) -> Option<String> {
    response.headers().get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).find(|c| c.contains("keyhold-session")).map(str::to_string)
}

pub fn session_cookie(response: &reqwest::Response) -> Option<String> {
    set_cookie(response).and_then(|c| c.split(';').next().map(str::to_string))
}

/// A `kube::Client` for the cluster a kubeconfig names.
pub async fn kube_client(kubeconfig: &Path) -> kube::Client {
    use kube::config::{KubeConfigOptions, Kubeconfig};
    let config = kube::Config::from_custom_kubeconfig(Kubeconfig::read_from(kubeconfig).unwrap(), &KubeConfigOptions::default()).await.unwrap();
    kube::Client::try_from(config).unwrap()
}

/// An API token for `user`, issued with `keyhold user token` through `kubeconfig`.
pub fn api_token(user: &str, kubeconfig: &Path) -> String {
    let (ok, token, stderr) = keyhold_cli(&["user", "token", user], kubeconfig, None);
    assert!(ok, "keyhold user token {user}: {stderr}");
    token
}

pub fn keyhold_cli(args: &[&str], kubeconfig: &Path, stdin: Option<&str>) -> (bool, String, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_keyhold"))
        .args(args)
        .args(["--cluster", "kubeconfig"])
        .env("KUBECONFIG", kubeconfig)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.unwrap_or_default().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).trim().to_string(), String::from_utf8_lossy(&out.stderr).into_owned())
}


/// Runs kubectl (from PATH; `make test` puts `.tools/venv/bin` there) against `kubeconfig`, feeding
/// `stdin`; its output, after asserting it succeeded.
pub fn kubectl(kubeconfig: &Path, args: &[&str], stdin: Option<&str>) -> String {
    use std::io::Write;
    let mut child = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl on PATH (make test puts .tools/venv/bin there)");
    child.stdin.take().unwrap().write_all(stdin.unwrap_or_default().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "kubectl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One value of a Secret, read with kubectl as an administrator would (to check what Keyhold
/// wrote; no response of Keyhold's carries one).
pub fn secret_value(kubeconfig: &Path, namespace: &str, name: &str, key: &str) -> Vec<u8> {
    let path = format!("jsonpath={{.data.{}}}", key.replace('.', "\\."));
    let encoded = kubectl(kubeconfig, &["get", "secret", name, "-n", namespace, "-o", &path], None);
    keyhold::domain::base64::decode(encoded.trim()).unwrap_or_else(|| panic!("{namespace}/{name} has no {key}"))
}

/// The namespaces holding a Secret labelled as the credential's (its own Secret and its copies),
/// found as an administrator would: by the Credential's uid.
pub fn labelled_copies(kubeconfig: &Path, namespace: &str, credential: &str) -> Vec<String> {
    let uid = kubectl(kubeconfig, &["get", "credential", credential, "-n", namespace, "-o", "jsonpath={.metadata.uid}"], None);
    let selector = format!("keyhold.dev/credential={uid}");
    kubectl(kubeconfig, &["get", "secrets", "-A", "-l", &selector, "-o", "jsonpath={.items[*].metadata.namespace}"], None).split_whitespace().map(str::to_string).collect()
}

/// `keyhold kube-api` on `dir`: an empty cluster, the stand-in for a real one. It can be stopped
/// and started again on the same port and data, as a member cluster that went away and came back.
pub struct KubeApi {
    child: Option<Child>,
    port: u16,
    dir: std::path::PathBuf,
    /// An administrator's kubeconfig for it.
    pub admin: std::path::PathBuf,
}

impl Drop for KubeApi {
    fn drop(&mut self) {
        self.stop();
    }
}

impl KubeApi {
    pub fn start(dir: &Path) -> KubeApi {
        let mut api = KubeApi { child: None, port: free_port(), dir: dir.to_path_buf(), admin: dir.join("admin.kubeconfig") };
        api.start_again();
        api
    }

    /// Kills it (SIGKILL: no shutdown, no flush), as a crash or a lost machine would.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it (again) on its port and data; returns once it answers TLS connections.
    pub fn start_again(&mut self) {
        let _ = std::fs::remove_file(&self.admin);
        let child = Command::new(env!("CARGO_BIN_EXE_keyhold"))
            .args(["kube-api", "--listen", &format!("127.0.0.1:{}", self.port), "--data-dir"])
            .arg(self.dir.join("cluster"))
            .arg("--write-kubeconfig")
            .arg(&self.admin)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !self.admin.exists() {
            assert!(std::time::Instant::now() < deadline, "keyhold kube-api did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A redis-server on a free loopback port (with `password` required, if given), stopped when
/// dropped.
pub struct Redis {
    child: Child,
    pub port: u16,
    password: Option<String>,
}

impl Redis {
    pub fn start(dir: &Path, password: Option<&str>) -> Redis {
        let port = free_port();
        let mut command = Command::new("redis-server");
        command.args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir.to_str().unwrap()]);
        if let Some(password) = password {
            command.args(["--requirepass", password]);
        }
        let child = command.stdout(Stdio::null()).spawn().expect("redis-server (Debian's redis-server package; make test installs it)");
        let redis = Redis { child, port, password: password.map(str::to_string) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while redis.cli(&["PING"]).0 != "PONG" {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Runs one command with redis-cli, as anyone who can reach the store could: (stdout, success).
    pub fn cli(&self, args: &[&str]) -> (String, bool) {
        let mut command = Command::new("redis-cli");
        command.args(["-p", &self.port.to_string(), "--no-auth-warning"]);
        if let Some(password) = &self.password {
            command.args(["-a", password]);
        }
        let out = command.args(args).output().expect("redis-cli");
        (String::from_utf8_lossy(&out.stdout).trim_end_matches('\n').to_string(), out.status.success())
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
