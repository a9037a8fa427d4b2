//! Sign-in under attack (issue 15, part 3, with the session records of part 2 and the caching
//! headers of part 5): bursts of wrong passwords and tokens, identity headers from a proxy trusted
//! only for addresses, sessions that outlive a password change, detail leaked to strangers, an
//! open redirect after sign-in, forged session records, cacheable pages.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, ORIGIN};
use serde_json::{Value, json};

use crate::support::{DEMO, Redis, Server, api_token, eventually, keyhold_cli, kubectl, session_cookie};

/// What an unauthenticated caller is told when their credentials cannot be checked.
const UNAVAILABLE: &str = "Sign-in is unavailable right now. Try again shortly.";

#[tokio::test]
async fn forty_wrong_passwords_at_once_reach_the_check_at_most_five_times() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded(dir.path(), &[]).await;
    let attempts = (0..40).map(|i| {
        let password = format!("wrong-password-{i}");
        let server = &server;
        async move { server.post("sign_in", None, &[("username", "bob"), ("password", &password), ("next", "/")]).await.status() }
    });
    let mut statuses = futures::future::join_all(attempts).await;
    let refused = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert!(refused >= 35, "only {refused} of 40 were refused: {statuses:?}");
    // Whatever the burst left of the budget, the total stays five.
    for i in 0..6 {
        let password = format!("one-more-{i}");
        statuses.push(server.post("sign_in", None, &[("username", "bob"), ("password", &password), ("next", "/")]).await.status());
    }
    let checked = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    assert_eq!(checked, 5, "{checked} wrong passwords reached the check: {statuses:?}");
    assert!(statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED || *s == StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
}

#[tokio::test]
async fn identity_headers_from_a_proxy_trusted_only_for_addresses_sign_no_one_in() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded(dir.path(), &["--trusted-proxies", "127.0.0.1"]).await;
    let claimed = server
        .http
        .post(format!("{}/api/signed_in_user", server.url))
        .header(ORIGIN, &server.url)
        .header("x-forwarded-user", "alice")
        .header("x-forwarded-groups", "system:masters")
        .send()
        .await
        .unwrap();
    assert_eq!(claimed.status(), StatusCode::UNAUTHORIZED, "{}", claimed.text().await.unwrap());
    let page = server.http.get(format!("{}/credentials", server.url)).header("x-forwarded-user", "alice").header("x-forwarded-groups", "system:masters").send().await.unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER, "a page sends the claimant to sign in");
}

#[tokio::test]
async fn wrong_bearer_tokens_are_throttled_per_address() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded(dir.path(), &[]).await;
    let whoami = |token: String| {
        let request = server.http.get(format!("{}/api/v1/whoami", server.url)).bearer_auth(token);
        async move { request.send().await.unwrap().status() }
    };
    for i in 0..5 {
        let guess = if i % 2 == 0 { format!("kh_abcdef_guess{i}") } else { format!("kubernetes-guess-{i}") };
        assert_eq!(whoami(guess).await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(whoami("kh_abcdef_guess-6".into()).await, StatusCode::TOO_MANY_REQUESTS, "the address spent its budget");
    assert_eq!(whoami("kubernetes-guess-6".into()).await, StatusCode::TOO_MANY_REQUESTS, "for Kubernetes tokens too");
}

#[tokio::test]
async fn a_changed_password_a_revoked_token_or_a_removed_account_ends_the_sessions() {
    let dir = tempfile::tempdir().unwrap();
    // A 30 s idle timeout re-checks sessions every 3 s (every 30 s by default).
    let server = Server::embedded(dir.path(), &["--session-idle-timeout", "30s"]).await;
    let kubeconfig = dir.path().join("kubeconfig");
    let ended = |cookie: String| {
        let server = &server;
        async move { eventually(Duration::from_secs(60), || async { server.whoami(&cookie).await == Err(StatusCode::UNAUTHORIZED) }).await }
    };
    let alice = server.sign_in("alice", DEMO).await;

    let bob = server.sign_in("bob", DEMO).await;
    let (ok, password, stderr) = keyhold_cli(&["user", "passwd", "bob"], &kubeconfig, None);
    assert!(ok, "{stderr}");
    assert!(ended(bob).await, "bob's session outlived his password change");

    let bob = server.sign_in("bob", &password).await;
    let token = api_token("bob", &kubeconfig);
    let id = token.trim_start_matches("kh_").split('_').next().unwrap().to_string();
    let (ok, _, stderr) = keyhold_cli(&["user", "revoke-token", "bob", &id], &kubeconfig, None);
    assert!(ok, "{stderr}");
    assert!(ended(bob).await, "bob's session outlived the revocation of his token");

    let carol = server.sign_in("carol", DEMO).await;
    kubectl(&kubeconfig, &["patch", "secret", "keyhold-accounts", "-n", "keyhold-system", "--type", "json", "-p", r#"[{"op": "remove", "path": "/data/carol"}]"#], None);
    assert!(ended(carol).await, "carol's session outlived her account");

    assert_eq!(server.whoami(&alice).await, Ok("alice".into()), "an unchanged account keeps its session");
}

#[tokio::test]
async fn strangers_get_fixed_messages_when_kubernetes_fails() {
    let dir = tempfile::tempdir().unwrap();
    let cluster_dir = dir.path().join("cluster");
    let cluster = Server::embedded(&cluster_dir, &[]).await;
    let kubeconfig = cluster_dir.join("kubeconfig");
    let server = Server::start(&dir.path().join("keyhold"), &["--cluster", "kubeconfig"], &[("KUBECONFIG", kubeconfig.to_str().unwrap())]).await;
    cluster.stop();

    // An outage is not the person's failure: however often they retry, it does not use up their
    // sign-in budget (five).
    for _ in 0..7 {
        let password = server.post("sign_in", None, &[("username", "bob"), ("password", DEMO), ("next", "/")]).await;
        assert_eq!(password.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(password.json::<Value>().await.unwrap(), json!({"Unavailable": UNAVAILABLE}));
    }
    let token = server.post("sign_in_with_token", None, &[("token", "a-kubernetes-token"), ("next", "/")]).await;
    assert_eq!(token.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(token.json::<Value>().await.unwrap(), json!({"Unavailable": UNAVAILABLE}));
    for bearer in ["kh_abcdef_secret", "a-kubernetes-token"] {
        let rest = server.http.get(format!("{}/api/v1/whoami", server.url)).bearer_auth(bearer).send().await.unwrap();
        assert_eq!(rest.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(rest.json::<Value>().await.unwrap(), json!({"code": 503, "message": UNAVAILABLE}), "{bearer}");
    }
}

#[tokio::test]
async fn no_next_leads_off_site_after_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded(dir.path(), &[]).await;
    for next in ["/%09/evil.example", "/\t/evil.example", "/\n/evil.example", "//evil.example", "/\\evil.example", "/%5Cevil.example", "/%2F/evil.example", "https://evil.example/"] {
        let response = server.post("sign_in", None, &[("username", "bob"), ("password", DEMO), ("next", next)]).await;
        assert_eq!(response.status(), StatusCode::OK, "{next:?}");
        assert_eq!(response.headers()["location"], "/", "{next:?}");
    }
    // The raw form field, as a crafted link's page would send it.
    let raw = server
        .http
        .post(format!("{}/api/sign_in", server.url))
        .header(ORIGIN, &server.url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=bob&password=keyhold-demo&next=/%09/evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.headers()["location"], "/");
}

#[tokio::test]
async fn a_session_record_written_into_redis_is_no_session() {
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(dir.path(), Some("a-redis-password"));
    let args = ["--cluster", "embedded", "--session-store", &redis.url()];
    let server = Server::start(&dir.path().join("keyhold"), &args, &[("KEYHOLD_SESSION_STORE_PASSWORD", "a-redis-password")]).await;
    let carol = server.sign_in("carol", DEMO).await;
    assert_eq!(server.whoami(&carol).await, Ok("carol".into()));
    let key = format!("keyhold:session:{}", carol.split_once('=').unwrap().1);
    let (stored, ok) = redis.cli(&["GET", &key]);
    assert!(ok && !stored.is_empty(), "carol's session is in redis");

    // Carol's own record, made hers no longer: alice, in system:masters.
    let (tag, record) = stored.split_once('\n').map_or((None, stored.as_str()), |(tag, record)| (Some(tag), record));
    let mut record: Value = serde_json::from_str(record).unwrap();
    record["data"]["signed-in"]["identity"] = json!({"user": "alice", "groups": ["system:masters", "system:authenticated"]});
    record["data"]["signed-in"]["account"] = Value::Null;
    let forged = record.to_string();
    let mut attempts = vec![forged.clone()];
    if let Some(tag) = tag {
        attempts.push(format!("{tag}\n{forged}"));
    }
    for value in attempts {
        assert!(redis.cli(&["SET", &key, &value]).1);
        assert_eq!(server.whoami(&carol).await, Err(StatusCode::UNAUTHORIZED), "a forged record gave a session: {value}");
    }
    // A record minted under a new id is no better.
    let minted = "keyhold:session:AAAAAAAAAAAAAAAAAAAAAA";
    record["id"] = json!("AAAAAAAAAAAAAAAAAAAAAA");
    assert!(redis.cli(&["SET", minted, &record.to_string()]).1);
    assert_eq!(server.whoami("keyhold-session=AAAAAAAAAAAAAAAAAAAAAA").await, Err(StatusCode::UNAUTHORIZED));
}

#[tokio::test]
async fn pages_and_api_answers_are_not_stored_and_https_sends_hsts() {
    let dir = tempfile::tempdir().unwrap();
    let public = "https://keyhold.example.com";
    let server = Server::embedded(dir.path(), &["--public-url", public]).await;
    let form = [("username", "bob"), ("password", DEMO), ("next", "/projects")];
    let signed_in = server.http.post(format!("{}/api/sign_in", server.url)).header(ORIGIN, public).form(&form).send().await.unwrap();
    let cookie = session_cookie(&signed_in).unwrap();
    let page = server.http.get(format!("{}/projects", server.url)).header(COOKIE, &cookie).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let login = server.http.get(format!("{}/login", server.url)).send().await.unwrap();
    let api = server.http.get(format!("{}/api/v1/whoami", server.url)).send().await.unwrap();
    let function = server.http.post(format!("{}/api/signed_in_user", server.url)).header(ORIGIN, public).header(COOKIE, &cookie).send().await.unwrap();
    for (what, response) in [("sign-in", &signed_in), ("page", &page), ("login", &login), ("REST API", &api), ("server function", &function)] {
        let headers = response.headers();
        assert_eq!(headers.get("cache-control").map(|v| v.to_str().unwrap()), Some("no-store"), "{what}");
        assert_eq!(headers.get("strict-transport-security").map(|v| v.to_str().unwrap()), Some("max-age=31536000"), "{what}");
    }
}

#[tokio::test]
async fn a_password_typed_into_the_username_field_is_not_logged() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--cluster", "embedded"], &[("KEYHOLD_LOG_FORMAT", "json")]).await;
    let pasted = "correct-horse-canary-3e1f";
    for user in [pasted, "bob"] {
        let response = server.post("sign_in", None, &[("username", user), ("password", "wrong-password"), ("next", "/")]).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    // Both refusals are audited; an account's name is, what was typed for no account is not.
    let logged = eventually(Duration::from_secs(5), || async { server.log().matches("sign-in refused").count() == 2 }).await;
    let log = server.log();
    assert!(logged, "{log}");
    assert!(log.contains(r#""user":"bob""#) && log.contains(r#""user":"(no such account)""#), "{log}");
    assert!(!log.contains(pasted), "{log}");
}
