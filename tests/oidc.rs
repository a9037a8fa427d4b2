//! Single sign-on against a real OpenID provider: npm's oidc-provider (`tests/fixtures/oidc/`),
//! started on a free port with node, and the real binary. The flow is walked as a browser would
//! (redirects, the provider's login and consent forms, cookies), so each refusal is the answer to
//! a real attack on it: a forged state, a replayed code, a code issued to another client, an
//! expired ID token, a provider whose issuer is not the configured one.

mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{StatusCode, Url};

use support::{Server, free_port};

const CLIENT_SECRET: &str = "a-test-client-secret-of-forty-characters";

/// oidc-provider on `port`, sending people back to `keyhold`.
struct Provider {
    child: Child,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Provider {
    fn start(port: u16, keyhold: &str, env: &[(&str, &str)]) -> Provider {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/oidc/provider.mjs");
        let mut child = Command::new("node")
            .arg(script)
            .env("PORT", port.to_string())
            .env("REDIRECT_URI", format!("{keyhold}/auth/oidc/callback"))
            .env("POST_LOGOUT_REDIRECT_URI", format!("{keyhold}/login"))
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node on PATH (make test installs it with the browser tests' tools)");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert!(line.starts_with("listening"), "the provider did not start: {line:?}");
        // Drained, so the provider never writes into a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Provider { child }
    }
}

/// Keyhold (embedded, demo organisation) signing people in through the provider on `port`.
async fn keyhold(dir: &Path, issuer: &str, extra: &[&str]) -> Server {
    std::fs::create_dir_all(dir).unwrap();
    let secret = dir.join("client-secret");
    std::fs::write(&secret, CLIENT_SECRET).unwrap();
    let mut args = vec!["--oidc-issuer", issuer, "--oidc-client-id", "keyhold", "--oidc-client-secret-file", secret.to_str().unwrap(), "--oidc-scopes", "openid,email,groups", "--oidc-name", "Example SSO"];
    args.extend_from_slice(extra);
    Server::embedded(dir, &args).await
}

/// A browser's cookies, per host (the provider and Keyhold are both 127.0.0.1, on other ports,
/// and cookies ignore ports: so do these).
#[derive(Default)]
struct Browser {
    cookies: HashMap<String, String>,
}

impl Browser {
    async fn get(&mut self, server: &Server, url: &str) -> reqwest::Response {
        let response = server.http.get(url).header(COOKIE, self.cookie_header()).send().await.unwrap();
        self.keep(&response);
        response
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn keep(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()) {
            if let Some((name, rest)) = value.split(';').next().and_then(|pair| pair.split_once('=')).map(|(n, v)| (n.to_string(), v.to_string())) {
                self.cookies.insert(name, rest);
            }
        }
    }

    /// Follows the provider's redirects and fills its forms (login as `who`, then consent) until
    /// it sends the browser back to Keyhold's callback; that address.
    async fn through_the_provider(&mut self, server: &Server, mut url: String, who: &str) -> Url {
        for _ in 0..20 {
            if url.contains("/auth/oidc/callback") {
                return Url::parse(&url).unwrap();
            }
            let response = self.get(server, &url).await;
            let base = Url::parse(&url).unwrap();
            if let Some(location) = response.headers().get(LOCATION) {
                url = base.join(location.to_str().unwrap()).unwrap().to_string();
                continue;
            }
            let page = response.text().await.unwrap();
            let action = page.split("action=\"").nth(1).and_then(|rest| rest.split('"').next()).unwrap_or_else(|| panic!("no form on the provider's page:\n{page}"));
            // The development interactions: a login form (any password), then a consent form.
            let prompt = page.split("name=\"prompt\" value=\"").nth(1).and_then(|rest| rest.split('"').next()).unwrap_or_default();
            let mut form = vec![("prompt", prompt)];
            if prompt == "login" {
                form.extend([("login", who), ("password", "any")]);
            }
            let posted = server.http.post(base.join(action).unwrap()).header(COOKIE, self.cookie_header()).form(&form).send().await.unwrap();
            self.keep(&posted);
            let location = posted.headers().get(LOCATION).expect("the provider redirects after a form").to_str().unwrap().to_string();
            url = base.join(&location).unwrap().to_string();
        }
        panic!("the provider never sent the browser back");
    }

    /// Starts a sign-in at Keyhold: the provider's address it redirects to.
    async fn start(&mut self, server: &Server) -> String {
        let response = self.get(server, &format!("{}/auth/oidc/start?next=/projects", server.url)).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        response.headers()[LOCATION].to_str().unwrap().to_string()
    }

    /// Delivers the provider's answer to Keyhold: where Keyhold then sends the browser.
    async fn finish(&mut self, server: &Server, callback: &Url) -> String {
        let response = self.get(server, callback.as_str()).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{callback}");
        response.headers()[LOCATION].to_str().unwrap().to_string()
    }

    async fn signed_in_as(&self, server: &Server) -> Option<String> {
        let cookie = self.cookies.get("keyhold-session").map(|v| format!("keyhold-session={v}"))?;
        server.whoami(&cookie).await.ok()
    }
}

fn with_query(url: &Url, key: &str, value: &str) -> Url {
    let mut changed = url.clone();
    let pairs: Vec<(String, String)> = url.query_pairs().map(|(k, v)| (k.to_string(), if k == key { value.to_string() } else { v.into_owned() })).collect();
    changed.query_pairs_mut().clear().extend_pairs(pairs);
    changed
}

#[tokio::test]
async fn people_sign_in_through_the_provider_and_forged_or_replayed_answers_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = keyhold(dir.path(), &format!("http://127.0.0.1:{port}"), &[]).await;
    let _provider = Provider::start(port, &server.url, &[]);

    // dana (group research) signs in and gets research's roles: she sees vision's projects. Her
    // session gets a new id at sign-in, so an id planted before it is worth nothing.
    let mut dana = Browser::default();
    let to_provider = dana.start(&server).await;
    assert!(to_provider.contains("code_challenge_method=S256") && to_provider.contains("nonce=") && to_provider.contains("state="), "{to_provider}");
    let planted = dana.cookies.get("keyhold-session").cloned().expect("the attempt is kept in a session");
    let answer = dana.through_the_provider(&server, to_provider, "dana").await;
    assert_eq!(dana.finish(&server, &answer).await, "/projects");
    assert_eq!(dana.signed_in_as(&server).await.as_deref(), Some("dana@example.com"));
    assert_ne!(dana.cookies.get("keyhold-session"), Some(&planted));
    let projects = dana.get(&server, &format!("{}/projects", server.url)).await.text().await.unwrap();
    assert!(projects.contains("vision") && projects.contains("nlp") && !projects.contains("serving"), "dana's projects are research's");
    // Signing out ends the session and sends her on to the provider's sign-out, with the hint.
    let cookie = format!("keyhold-session={}", dana.cookies["keyhold-session"]);
    let out = server.post("sign_out", Some(&cookie), &[]).await;
    let location = out.headers().get(LOCATION).map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
    assert!(location.contains("/session/end?client_id=keyhold") && location.contains("id_token_hint=ey"), "{location}");
    assert_eq!(dana.signed_in_as(&server).await, None);

    // The same answer again, in the same browser: the attempt was used up, and the code with it.
    assert_eq!(dana.finish(&server, &answer).await, "/login?error=oidc-state");
    let mut replay = Browser::default();
    assert_eq!(replay.finish(&server, &answer).await, "/login?error=oidc-state");
    let fresh = replay.start(&server).await;
    let state = Url::parse(&fresh).unwrap().query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    assert_eq!(replay.finish(&server, &with_query(&answer, "state", &state)).await, "/login?error=oidc-rejected", "a code used once is refused by the provider");
    assert_eq!(replay.signed_in_as(&server).await, None);

    // A forged state: the answer to someone else's attempt.
    let mut forged = Browser::default();
    let to_provider = forged.start(&server).await;
    let answer = forged.through_the_provider(&server, to_provider, "dana").await;
    assert_eq!(forged.finish(&server, &with_query(&answer, "state", "forged")).await, "/login?error=oidc-state");
    assert_eq!(forged.signed_in_as(&server).await, None);

    // A code the provider issued to another client (another audience).
    let mut other = Browser::default();
    let to_provider = Url::parse(&other.start(&server).await).unwrap();
    let answer = other.through_the_provider(&server, with_query(&to_provider, "client_id", "other").to_string(), "dana").await;
    assert_eq!(other.finish(&server, &answer).await, "/login?error=oidc-rejected");
    assert_eq!(other.signed_in_as(&server).await, None);

    // Someone the provider knows but the cluster does not.
    let mut erin = Browser::default();
    let to_provider = erin.start(&server).await;
    let answer = erin.through_the_provider(&server, to_provider, "erin").await;
    assert_eq!(erin.finish(&server, &answer).await, "/login?error=oidc-no-access");
    assert_eq!(erin.signed_in_as(&server).await, None);

    // Kubernetes' reserved names are not the provider's to give; an unverified address names no one.
    for (who, refused) in [("mallory", "/login?error=oidc-no-access"), ("nora", "/login?error=oidc-no-user")] {
        let mut browser = Browser::default();
        let to_provider = browser.start(&server).await;
        let answer = browser.through_the_provider(&server, to_provider, who).await;
        assert_eq!(browser.finish(&server, &answer).await, refused, "{who}");
        assert_eq!(browser.signed_in_as(&server).await, None, "{who}");
    }

    // A flood of starts (each keeps a session record) is cut off per client address.
    let mut flood = Browser::default();
    let mut answers = Vec::new();
    for _ in 0..40 {
        let response = flood.get(&server, &format!("{}/auth/oidc/start", server.url)).await;
        answers.push(response.headers()[LOCATION].to_str().unwrap().to_string());
    }
    assert!(answers.iter().any(|a| a == "/login?error=oidc-too-many"), "no start was refused");

    // The sign-in page says what went wrong in its own words, and no token reaches the log.
    let page = server.http.get(format!("{}/login?error=oidc-state", server.url)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Start again") && page.contains("Sign in with Example SSO"), "{page}");
    let log = server.log();
    assert!(log.contains("single sign-on refused") && !log.contains("eyJ"), "the log names refusals and holds no JWT");
}

#[tokio::test]
async fn an_expired_id_token_or_a_mismatched_issuer_signs_no_one_in_and_other_methods_can_be_off() {
    let dir = tempfile::tempdir().unwrap();
    // A provider whose clock is two hours behind: its one-hour ID tokens are expired on arrival.
    let port = free_port();
    let server = keyhold(&dir.path().join("skewed"), &format!("http://127.0.0.1:{port}"), &["--sign-in-methods", "oidc"]).await;
    let _skewed = Provider::start(port, &server.url, &[("CLOCK_SKEW", "-7200")]);
    let mut dana = Browser::default();
    let to_provider = dana.start(&server).await;
    let answer = dana.through_the_provider(&server, to_provider, "dana").await;
    assert_eq!(dana.finish(&server, &answer).await, "/login?error=oidc-rejected");
    assert_eq!(dana.signed_in_as(&server).await, None);
    assert!(server.log().contains("expired"), "the log says why");

    // With only single sign-on on, a password is refused by the server and not offered.
    let response = server.post("sign_in", None, &[("username", "bob"), ("password", "keyhold-demo"), ("next", "/projects")]).await;
    assert_ne!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("turned off"));
    let page = server.http.get(format!("{}/login", server.url)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Sign in with Example SSO") && !page.contains("name=\"password\""), "{page}");
    let response = server.post("sign_in_with_token", None, &[("token", "any"), ("next", "/projects")]).await;
    assert!(response.text().await.unwrap().contains("turned off"));
    // A local account's API token is off with local accounts.
    let token = support::api_token("bob", &dir.path().join("skewed/kubeconfig"));
    assert_eq!(server.api(reqwest::Method::GET, "/whoami", Some(&token), None).await.0, StatusCode::UNAUTHORIZED);

    // A provider that says it is another issuer than the one configured.
    let port = free_port();
    let server = keyhold(&dir.path().join("mismatch"), &format!("http://127.0.0.1:{port}"), &[]).await;
    let _elsewhere = Provider::start(port, &server.url, &[("ISSUER", &format!("http://localhost:{port}"))]);
    let response = Browser::default().get(&server, &format!("{}/auth/oidc/start", server.url)).await;
    assert_eq!(response.headers()[LOCATION], "/login?error=oidc-unavailable");
}

#[tokio::test]
async fn a_session_ends_when_its_sign_in_method_is_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded(dir.path(), &["--session-idle-timeout", "20s"]).await;
    let cookie = server.sign_in("bob", "keyhold-demo").await;
    assert_eq!(server.whoami(&cookie).await, Ok("bob".to_string()));
    server.stop();
    // The same data directory (and session store), now with single sign-on alone. No provider
    // answers there: it is asked only when someone signs on.
    let server = keyhold(dir.path(), &format!("http://127.0.0.1:{}", free_port()), &["--sign-in-methods", "oidc", "--session-idle-timeout", "20s"]).await;
    let ended = support::eventually(std::time::Duration::from_secs(15), || async { server.whoami(&cookie).await.is_err() }).await;
    assert!(ended, "a password session outlived password sign-in");
}
