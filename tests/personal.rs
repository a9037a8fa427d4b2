//! Personal credentials through the real binary's REST API and kubectl: bob's own NGC API key is
//! copied into the projects he picks while his roles there allow it, and nobody else (the admin
//! alice, the viewer carol) ever sees it through Keyhold; no response carries a value.

mod support;

use std::path::Path;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use support::{Server, api_token, eventually, kubectl, secret_value};

const CANARY: &str = "nvapi-canary-personal-5b1e";
const NEW_CANARY: &str = "nvapi-canary-personal-new-77d0";
/// Bob's credential's name: a canary of its own, for it must not appear in anyone else's answers.
const NAME: &str = "Bobs private NGC canary 3e9f";

async fn call(server: &Server, method: Method, path: &str, token: &str, body: Option<Value>) -> (StatusCode, String) {
    let (status, text) = server.api(method, path, Some(token), body).await;
    assert!(!text.contains(CANARY) && !text.contains(NEW_CANARY), "a value came back: {text}");
    (status, text)
}

/// The projects holding a copy of `secret` labelled as bob's (the source in the system namespace
/// carries the label too).
fn copies(kubeconfig: &Path, secret: &str) -> Vec<String> {
    let out = kubectl(kubeconfig, &["get", "secrets", "-A", "-l", "keyhold.dev/owner=bob", "-o", "jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name} {end}"], None);
    let mut found: Vec<String> = out.split_whitespace().filter_map(|s| s.split_once('/')).filter(|(ns, name)| *name == secret && *ns != "keyhold-system").map(|(ns, _)| ns.to_string()).collect();
    found.sort();
    found
}

#[tokio::test]
async fn a_personal_credential_is_its_owners_alone_and_follows_his_roles() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded(dir.path(), &[]).await;
    let kubeconfig = dir.path().join("kubeconfig");
    let (alice, bob, carol) = (api_token("alice", &kubeconfig), api_token("bob", &kubeconfig), api_token("carol", &kubeconfig));

    // Only projects where his roles let him; only people whose roles let them somewhere.
    let request = |projects: &[&str]| json!({"displayName": NAME, "projects": projects, "values": {"type": "NgcApiKey", "apiKey": CANARY}});
    let (status, text) = call(&server, Method::POST, "/me/credentials", &bob, Some(request(&["vision", "serving"]))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{text}");
    assert!(text.contains("\"field\":\"projects\""), "{text}");
    let (status, text) = call(&server, Method::POST, "/me/credentials", &carol, Some(request(&["vision"]))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a viewer keeps no personal credentials: {text}");
    let (status, text) = call(&server, Method::POST, "/me/credentials", &bob, Some(request(&["vision", "nlp"]))).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let row: Value = serde_json::from_str(&text).unwrap();
    let name = row["name"].as_str().unwrap().to_string();
    assert!(name.starts_with("personal-bob-"), "named after its owner, never its display name: {name}");
    assert_eq!(row["scopeLevel"], "Personal");

    let copied = eventually(Duration::from_secs(20), || async { copies(&kubeconfig, &name) == ["nlp", "vision"] }).await;
    assert!(copied, "copies: {:?}", copies(&kubeconfig, &name));
    assert_eq!(secret_value(&kubeconfig, "vision", &name, "NGC_API_KEY"), CANARY.as_bytes());
    let (_, mine) = call(&server, Method::GET, "/me/credentials", &bob, None).await;
    assert!(mine.contains(NAME), "{mine}");

    // Whoever may edit Credentials in the system namespace may not send bob's values elsewhere:
    // an owner, groups or projects Keyhold did not write (and seal) copy nothing.
    let forged = json!({"spec": {"personal": {"owner": "bob", "groups": ["system:masters"], "projects": ["vision", "nlp", "serving"]}}}).to_string();
    kubectl(&kubeconfig, &["patch", "credential", &name, "-n", "keyhold-system", "--type", "merge", "-p", &forged], None);
    let refused = eventually(Duration::from_secs(20), || async { copies(&kubeconfig, &name).is_empty() }).await;
    assert!(refused, "a forged spec still copies: {:?}", copies(&kubeconfig, &name));
    let (_, text) = call(&server, Method::GET, &format!("/me/credentials/{name}"), &bob, None).await;
    assert!(text.contains("were not written by Keyhold"), "{text}");
    // Bob's own choice, saved through Keyhold, is sealed again.
    let (status, text) = call(&server, Method::PUT, &format!("/me/credentials/{name}/projects"), &bob, Some(json!({"projects": ["vision", "nlp"]}))).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let restored = eventually(Duration::from_secs(20), || async { copies(&kubeconfig, &name) == ["nlp", "vision"] }).await;
    assert!(restored, "copies: {:?}", copies(&kubeconfig, &name));

    // A Personal-scope Credential written into a project's namespace belongs to nobody: carol
    // does not get it as hers.
    let planted = json!({"apiVersion": "keyhold.dev/v1", "kind": "Credential", "metadata": {"name": "planted", "namespace": "vision"},
        "spec": {"displayName": "Planted", "type": "Generic", "scope": {"level": "Personal"}, "secretRef": {"name": "planted", "managed": true},
                 "personal": {"owner": "carol", "projects": ["vision"]}}});
    kubectl(&kubeconfig, &["apply", "-f", "-"], Some(&planted.to_string()));
    let (_, text) = call(&server, Method::GET, "/me/credentials", &carol, None).await;
    assert_eq!(text, "[]", "carol was given a credential someone else planted");

    // Nobody else sees it: not in the table, a search, the CSV, by its path, or under /me.
    let shared = format!("/credentials/keyhold-system/{name}");
    let own = format!("/me/credentials/{name}");
    for token in [&alice, &carol] {
        for path in ["/credentials?per_page=100", "/credentials?q=canary", "/credentials.csv", "/me/credentials"] {
            let (status, text) = call(&server, Method::GET, path, token, None).await;
            assert!(status.is_success() && !text.contains(NAME) && !text.contains(&name), "{path}: {status} {text}");
        }
        // Every answer is the one a name that does not exist gets, so none tells it exists.
        for (method, path, body) in [
            (Method::GET, shared.as_str(), None),
            (Method::GET, own.as_str(), None),
            (Method::PATCH, shared.as_str(), Some(json!({"displayName": "taken over"}))),
            (Method::PUT, &format!("{shared}/values"), Some(json!({"type": "NgcApiKey", "apiKey": "x"}))),
            (Method::PUT, &format!("{own}/projects"), Some(json!({"projects": []}))),
            (Method::DELETE, shared.as_str(), None),
            (Method::DELETE, own.as_str(), None),
        ] {
            let (status, text) = call(&server, method.clone(), path, token, body.clone()).await;
            let (missing, _) = call(&server, method.clone(), &path.replace(&name, "personal-no-such-one"), token, body).await;
            assert!(status.is_client_error() && status == missing, "{method} {path}: {status} (missing: {missing}) {text}");
        }
    }
    // Names are unique per owner: alice may have one of the same name.
    let (status, text) = call(&server, Method::POST, "/me/credentials", &alice, Some(request(&["serving"]))).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");

    // New values reach the copies; the answer carries none.
    let (status, text) = call(&server, Method::PUT, &format!("{own}/values"), &bob, Some(json!({"type": "NgcApiKey", "apiKey": NEW_CANARY}))).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let synced = eventually(Duration::from_secs(20), || async { secret_value(&kubeconfig, "nlp", &name, "NGC_API_KEY") == NEW_CANARY.as_bytes() }).await;
    assert!(synced);

    // A project taken off the list loses its copy; so does one where his role is taken away.
    let (status, text) = call(&server, Method::PUT, &format!("{own}/projects"), &bob, Some(json!({"projects": ["vision", "nlp"]}))).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    kubectl(&kubeconfig, &["delete", "rolebinding", "research-keyhold-editor", "-n", "nlp"], None);
    let revoked = eventually(Duration::from_secs(20), || async { copies(&kubeconfig, &name) == ["vision"] }).await;
    assert!(revoked, "the copy in nlp outlived bob's role there: {:?}", copies(&kubeconfig, &name));
    let (_, text) = call(&server, Method::GET, &own, &bob, None).await;
    assert!(text.contains("NotAllowed") || text.contains("may not keep personal credentials in nlp"), "{text}");
    let (status, text) = call(&server, Method::PUT, &format!("{own}/projects"), &bob, Some(json!({"projects": []}))).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let gone = eventually(Duration::from_secs(20), || async { copies(&kubeconfig, &name).is_empty() }).await;
    assert!(gone, "copies: {:?}", copies(&kubeconfig, &name));

    // Deleting removes it and its Secret.
    let (status, text) = call(&server, Method::DELETE, &own, &bob, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{text}");
    let removed = eventually(Duration::from_secs(20), || async {
        kubectl(&kubeconfig, &["get", "secrets", "-n", "keyhold-system", "-o", "name"], None).lines().all(|l| !l.ends_with(&format!("/{name}")))
    })
    .await;
    assert!(removed, "bob's Secret outlived his credential");
    let log = server.log();
    assert!(!log.contains(CANARY) && !log.contains(NEW_CANARY) && !log.contains(NAME), "the log holds a value or bob's credential's name");
}
