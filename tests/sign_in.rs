//! Sign-in, sessions and access control through the real binary and a real HTTP client: the
//! session store (SQLite across a restart, Redis across two processes), cookie flags, session id
//! rotation, sign-out, idle and absolute expiry, the same-origin rule, rate limiting, token and
//! proxy sign-in, the CLI's accounts and API tokens, and role checks on a mutating server function.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{COOKIE, ORIGIN};

mod support;

use support::{DEMO, Redis, Server, eventually, keyhold_cli, session_cookie, set_cookie};

#[tokio::test]
async fn sign_in_sets_a_safe_cookie_rotates_the_id_and_sign_out_ends_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded(dir.path(), &[]).await;

    let response = server.post("sign_in", None, &[("username", "bob"), ("password", DEMO), ("next", "/projects")]).await;
    assert_eq!(response.headers()["location"], "/projects");
    let flags = set_cookie(&response).unwrap();
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(flags.contains(flag), "{flags}");
    }
    assert!(!flags.contains("Secure"), "plain HTTP: the cookie cannot be Secure: {flags}");
    let bob = session_cookie(&response).unwrap();
    assert_eq!(server.whoami(&bob).await, Ok("bob".into()));

    // Signing in again on the same session gives it a new id; the old one is worth nothing.
    let again = server.post("sign_in", Some(&bob), &[("username", "carol"), ("password", DEMO), ("next", "/")]).await;
    let carol = session_cookie(&again).unwrap();
    assert_ne!(carol, bob);
    assert_eq!(server.whoami(&carol).await, Ok("carol".into()));
    assert_eq!(server.whoami(&bob).await, Err(StatusCode::UNAUTHORIZED));

    let out = server.post("sign_out", Some(&carol), &[]).await;
    assert_eq!(out.headers()["location"], "/login");
    assert_eq!(server.whoami(&carol).await, Err(StatusCode::UNAUTHORIZED), "sign-out deletes the session, not just the cookie");

    // Pages need a session and say where to come back to.
    let page = server.http.get(format!("{}/projects?x=1", server.url)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(page.headers()["location"], "/login?next=/projects%3Fx%3D1");
}

#[tokio::test]
async fn an_https_public_url_makes_the_cookie_secure_and_bound_to_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let public = "https://keyhold.example.com";
    let server = Server::embedded(dir.path(), &["--public-url", public]).await;
    let form = [("username", "bob"), ("password", DEMO), ("next", "/")];
    let response = server.http.post(format!("{}/api/sign_in", server.url)).header(ORIGIN, public).form(&form).send().await.unwrap();
    let flags = set_cookie(&response).unwrap();
    assert!(flags.starts_with("__Host-keyhold-session=") && flags.contains("Secure") && flags.contains("Path=/") && !flags.contains("Domain"), "{flags}");
    // The listener's own address is not the public origin, so it may not change state.
    assert_eq!(server.post("sign_in", None, &form).await.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn wrong_passwords_and_unknown_users_get_one_message_and_the_limit_lifts() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded(dir.path(), &["--sign-in-max-failures", "3", "--sign-in-window", "3s"]).await;
    let attempt = |user: &'static str, password: &'static str| {
        let server = &server;
        async move {
            let response = server.post("sign_in", None, &[("username", user), ("password", password), ("next", "/")]).await;
            (response.status(), response.text().await.unwrap())
        }
    };
    let wrong = attempt("bob", "not-the-password").await;
    let unknown = attempt("nobody", "not-the-password").await;
    assert_eq!(wrong, (StatusCode::UNAUTHORIZED, r#"{"SignIn":"Wrong username or password."}"#.to_string()));
    assert_eq!(unknown, wrong, "an unknown user is told exactly what a wrong password is told");

    attempt("bob", "still-wrong").await;
    attempt("bob", "wrong-again").await;
    let (status, body) = attempt("bob", DEMO).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(body.contains("TooManyAttempts"), "{body}");

    let lifted = eventually(Duration::from_secs(10), || async { attempt("bob", DEMO).await.0 == StatusCode::OK }).await;
    assert!(lifted, "the limit lifts once the failures leave the window");
}

#[tokio::test]
async fn sessions_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded(dir.path(), &[]).await;
    let cookie = server.sign_in("alice", DEMO).await;
    server.stop();

    let server = Server::embedded(dir.path(), &[]).await;
    assert_eq!(server.whoami(&cookie).await, Ok("alice".into()), "the SQLite store keeps sessions across a restart");
}

#[tokio::test]
async fn sessions_end_when_idle_or_too_old() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded(dir.path(), &["--session-idle-timeout", "2s", "--session-lifetime", "4s"]).await;
    // Used every half second, the session outlives its idle timeout but not its lifetime.
    let busy = server.sign_in("bob", DEMO).await;
    let started = Instant::now();
    let ended = eventually(Duration::from_secs(10), || async { server.whoami(&busy).await.is_err() }).await;
    assert!(ended && started.elapsed() >= Duration::from_secs(3), "ended after {:?}", started.elapsed());

    let idle = server.sign_in("carol", DEMO).await;
    tokio::time::sleep(Duration::from_millis(2500)).await; // idle on purpose: the behaviour under test
    assert_eq!(server.whoami(&idle).await, Err(StatusCode::UNAUTHORIZED));
}

#[tokio::test]
async fn state_changing_requests_must_come_from_the_public_origin() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded(dir.path(), &[]).await;
    let cookie = server.sign_in("bob", DEMO).await;
    let send = |origin: Option<&str>, site: Option<&str>| {
        let mut request = server.http.post(format!("{}/api/signed_in_user", server.url)).header(COOKIE, &cookie);
        if let Some(origin) = origin {
            request = request.header(ORIGIN, origin);
        }
        if let Some(site) = site {
            request = request.header("sec-fetch-site", site);
        }
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(send(Some("http://evil.example"), None).await, StatusCode::FORBIDDEN);
    assert_eq!(send(Some(&server.url), Some("cross-site")).await, StatusCode::FORBIDDEN);
    assert_eq!(send(None, None).await, StatusCode::FORBIDDEN);
    assert_eq!(send(None, Some("same-origin")).await, StatusCode::OK);
    assert_eq!(send(Some(&server.url), None).await, StatusCode::OK);
}

#[tokio::test]
async fn a_viewer_cannot_call_a_mutating_server_function() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded(dir.path(), &[]).await;
    let carol = server.sign_in("carol", DEMO).await;
    let response = server.post("delete_credential", Some(&carol), &[("namespace", "vision"), ("name", "feature-store-database")]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN, "{}", response.text().await.unwrap());
    let nobody = server.post("delete_credential", None, &[("namespace", "vision"), ("name", "feature-store-database")]).await;
    assert_eq!(nobody.status(), StatusCode::UNAUTHORIZED);
    // bob may: the refusal above was the role, not the request.
    let bob = server.sign_in("bob", DEMO).await;
    let allowed = server.post("delete_credential", Some(&bob), &[("namespace", "vision"), ("name", "feature-store-database")]).await;
    assert_ne!(allowed.status(), StatusCode::FORBIDDEN, "{}", allowed.text().await.unwrap());
}

#[tokio::test]
async fn pages_answer_for_the_roles_with_security_headers() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded(dir.path(), &[]).await;
    let (ok, _, stderr) = keyhold_cli(&["user", "add", "dave"], &dir.path().join("kubeconfig"), None);
    assert!(ok, "{stderr}");
    let page = |cookie: String, path: &'static str| {
        let request = server.http.get(format!("{}{path}", server.url)).header(COOKIE, cookie);
        async move { request.send().await.unwrap() }
    };
    let carol = server.sign_in("carol", DEMO).await;
    let projects = page(carol, "/projects").await;
    assert_eq!(projects.status(), StatusCode::OK);
    let headers = projects.headers().clone();
    let html = projects.text().await.unwrap();
    assert!(html.contains(">vision<") && !html.contains(">nlp<"), "carol sees only the project she has a role in");

    let csp = headers["content-security-policy"].to_str().unwrap();
    let nonce = csp.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(html.matches("<script").count(), html.matches(&format!("nonce=\"{nonce}\"")).count(), "every inline script carries the nonce");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "same-origin");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(headers.get("strict-transport-security").is_none(), "no HSTS over plain HTTP");
    let carol = server.sign_in("carol", DEMO).await;
    let gzipped = server.http.get(format!("{}/credentials", server.url)).header(COOKIE, carol).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(gzipped.headers().get("content-encoding").map(|v| v.to_str().unwrap()), Some("gzip"), "pages are compressed for browsers that ask");

    // dave has an account but no role: a clear 403 page, not an empty table.
    let (_, password, _) = keyhold_cli(&["user", "passwd", "dave"], &dir.path().join("kubeconfig"), None);
    let dave = server.sign_in("dave", &password).await;
    for path in ["/credentials", "/projects"] {
        let response = page(dave.clone(), path).await;
        let status = response.status();
        let body = response.text().await.unwrap();
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        assert!(body.contains("You do not have access to this page"), "{path}: {body}");
    }
}

#[tokio::test]
async fn accounts_and_api_tokens_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded(dir.path(), &["--no-demo"]).await;
    let kubeconfig = dir.path().join("kubeconfig");

    let (ok, password, stderr) = keyhold_cli(&["user", "add", "erin", "--groups", "research,ml"], &kubeconfig, None);
    assert!(ok && password.len() >= 16, "{stderr}");
    let cookie = server.sign_in("erin", &password).await;
    assert_eq!(server.whoami(&cookie).await, Ok("erin".into()));
    let (ok, _, stderr) = keyhold_cli(&["user", "add", "erin"], &kubeconfig, None);
    assert!(!ok && stderr.contains("already exists"), "{stderr}");

    let (ok, _, stderr) = keyhold_cli(&["user", "passwd", "erin", "--password-stdin"], &kubeconfig, Some("a-new-password\n"));
    assert!(ok, "{stderr}");
    server.sign_in("erin", "a-new-password").await;

    let (ok, token, stderr) = keyhold_cli(&["user", "token", "erin", "--expires-in", "1d"], &kubeconfig, None);
    assert!(ok, "{stderr}");
    let whoami = |bearer: Option<String>, cookie: Option<&str>| {
        let mut request = server.http.get(format!("{}/api/v1/whoami", server.url));
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        async move { request.send().await.unwrap() }
    };
    let me: serde_json::Value = whoami(Some(token.clone()), None).await.json().await.unwrap();
    assert_eq!(me["user"], "erin");
    assert_eq!(me["groups"], serde_json::json!(["research", "ml", "system:authenticated"]));
    let unauthenticated = whoami(None, Some(&cookie)).await;
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED, "the REST API never takes the session cookie");
    let body: serde_json::Value = unauthenticated.json().await.unwrap();
    assert_eq!(body["code"], 401);

    let (_, listed, _) = keyhold_cli(&["user", "list"], &kubeconfig, None);
    let id = token.trim_start_matches("kh_").split('_').next().unwrap();
    assert!(listed.contains("erin") && listed.contains("research,ml") && listed.contains(id), "{listed}");
    assert!(!listed.contains("argon2"), "no hash is ever printed");
    let (ok, _, stderr) = keyhold_cli(&["user", "revoke-token", "erin", id], &kubeconfig, None);
    assert!(ok, "{stderr}");
    assert_eq!(whoami(Some(token), None).await.status(), StatusCode::UNAUTHORIZED);

    // A Kubernetes token (the embedded cluster's admin token) works too, through a TokenReview.
    let admin = std::fs::read_to_string(dir.path().join("cluster/admin.token")).unwrap();
    let me: serde_json::Value = whoami(Some(admin.trim().to_string()), None).await.json().await.unwrap();
    assert_eq!(me["user"], "admin");
}

#[tokio::test]
async fn token_sign_in_accepts_kubernetes_tokens_only() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded(dir.path(), &[]).await;
    let admin = std::fs::read_to_string(dir.path().join("cluster/admin.token")).unwrap();
    let response = server.post("sign_in_with_token", None, &[("token", admin.trim()), ("next", "/projects")]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(server.whoami(&session_cookie(&response).unwrap()).await, Ok("admin".into()));
    let bad = server.post("sign_in_with_token", None, &[("token", "not-a-token"), ("next", "/")]).await;
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    assert!(session_cookie(&bad).is_none());
}

#[tokio::test]
async fn proxy_headers_count_only_from_authenticating_proxies() {
    let dir = tempfile::tempdir().unwrap();
    let trusting = Server::embedded(dir.path(), &["--auth-proxy", "127.0.0.1"]).await;
    let as_proxy = |server: &Server| {
        let request = server
            .http
            .post(format!("{}/api/signed_in_user", server.url))
            .header(ORIGIN, &server.url)
            .header("x-forwarded-user", "frank")
            .header("x-forwarded-groups", "research, analysts");
        async move { request.send().await.unwrap() }
    };
    let me: serde_json::Value = as_proxy(&trusting).await.json().await.unwrap();
    assert_eq!((me["name"].as_str(), me["method"].as_str()), (Some("frank"), Some("Proxy")));
    assert_eq!(me["groups"], serde_json::json!(["research", "analysts", "system:authenticated"]));
    trusting.stop();

    let other = tempfile::tempdir().unwrap();
    let untrusting = Server::embedded(other.path(), &[]).await;
    assert_eq!(as_proxy(&untrusting).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn two_replicas_share_sessions_through_redis() {
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(dir.path(), None);
    let store = redis.url();
    let first_dir: PathBuf = dir.path().join("first");
    let first = Server::embedded(&first_dir, &["--session-store", &store]).await;
    let second = Server::start(&dir.path().join("second"), &["--cluster", "kubeconfig", "--session-store", &store], &[("KUBECONFIG", first_dir.join("kubeconfig").to_str().unwrap())]).await;

    let cookie = first.sign_in("bob", DEMO).await;
    assert_eq!(second.whoami(&cookie).await, Ok("bob".into()), "a session made by one replica is known to the other");
    second.post("sign_out", Some(&cookie), &[]).await;
    assert_eq!(first.whoami(&cookie).await, Err(StatusCode::UNAUTHORIZED), "and ended everywhere");
}
