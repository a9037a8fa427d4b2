//! The REST API under `/api/v1` through the real binary and a real HTTP client, with API tokens
//! from `keyhold user token`: the credentials endpoints for each role, their JSON errors, and that
//! no value ever comes back.

mod support;

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use support::{Server, api_token, eventually};

const CANARY: &str = "canary-rest-7f3a";
const NEW_CANARY: &str = "canary-rest-new-91c2";

struct Api<'a> {
    server: &'a Server,
}

impl Api<'_> {
    async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
        let (status, text) = self.server.api(method, path, token, body).await;
        assert!(!text.contains(CANARY) && !text.contains(NEW_CANARY), "a value came back: {text}");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
}

fn names(listing: &Value) -> Vec<&str> {
    listing["page"]["rows"].as_array().unwrap().iter().map(|r| r["displayName"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn credentials_through_the_rest_api_for_each_role() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded(dir.path(), &[]).await;
    let kubeconfig = dir.path().join("kubeconfig");
    let token = |user: &str| api_token(user, &kubeconfig);
    let (bob, carol) = (token("bob"), token("carol"));
    let api = Api { server: &server };
    let (bob, carol) = (Some(bob.as_str()), Some(carol.as_str()));

    // Listing takes the page's query parameters.
    let (status, listing) = api.call(Method::GET, "/credentials?type=Docker%20registry", carol, None).await;
    assert_eq!(status, StatusCode::OK, "{listing}");
    assert_eq!(names(&listing), ["Docker Hub (vision)"]);
    let (_, listing) = api.call(Method::GET, "/credentials?q=s3", carol, None).await;
    assert_eq!(listing["page"]["total"], 0, "nlp's credential is not carol's to see");
    let (status, body) = api.call(Method::GET, "/credentials", None, None).await;
    assert_eq!((status, body["code"].as_u64()), (StatusCode::UNAUTHORIZED, Some(401)));
    // A picker offers the values of the credentials the caller may list, and no others: carol
    // sees vision's scopes, not nlp's, which bob sees.
    let scopes = |listing: &Value| {
        let mut scopes: Vec<String> = listing["page"]["rows"].as_array().unwrap().iter().map(|r| r["scopePath"].as_str().unwrap().to_string()).collect();
        scopes.sort();
        scopes.dedup();
        scopes
    };
    let (_, seen) = api.call(Method::GET, "/credentials?per_page=100", carol, None).await;
    let (status, offered) = api.call(Method::GET, "/credentials:choices?column=scope", carol, None).await;
    assert_eq!(status, StatusCode::OK, "{offered}");
    assert_eq!(offered, json!(scopes(&seen)));
    assert!(!offered.to_string().contains("nlp"), "{offered}");
    let (_, bobs) = api.call(Method::GET, "/credentials:choices?column=scope", bob, None).await;
    assert!(bobs.to_string().contains("nlp"), "{bobs}");
    let (status, body) = api.call(Method::GET, "/credentials:choices?column=credential", carol, None).await;
    assert_eq!((status, body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("column")), "{body}");

    // Create: the editor may, in its project; bad input names the field; the viewer may not.
    let new = json!({
        "displayName": "Model registry", "description": "pull models",
        "scope": {"level": "Project", "project": "vision"},
        "values": {"type": "Password", "username": "svc-models", "password": CANARY},
    });
    let (status, row) = api.call(Method::POST, "/credentials", bob, Some(new.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{row}");
    assert_eq!((row["namespace"].as_str(), row["name"].as_str(), row["createdBy"].as_str()), (Some("vision"), Some("model-registry"), Some("bob")));
    let (status, body) = api.call(Method::POST, "/credentials", bob, Some(new.clone())).await;
    assert_eq!((status, body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("displayName")), "{body}");
    let mut blank = new.clone();
    blank["displayName"] = json!("Blank user");
    blank["values"]["username"] = json!("");
    let (status, body) = api.call(Method::POST, "/credentials", bob, Some(blank)).await;
    assert_eq!((status, body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("username")), "{body}");
    let (status, body) = api.call(Method::POST, "/credentials", bob, Some(json!({"displayName": 7}))).await;
    assert!(status.is_client_error() && body["code"] == status.as_u16(), "{status} {body}");
    // A value in the wrong place is named by its field, never quoted back (`call` checks every answer).
    let mut misplaced = new.clone();
    misplaced["values"] = json!({"type": "Generic", "entries": CANARY});
    let (status, body) = api.call(Method::POST, "/credentials", bob, Some(misplaced)).await;
    assert_eq!((status, body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("values")), "{body}");
    let (status, body) = api.call(Method::POST, "/credentials", carol, Some(json!({"displayName": "Not hers", "description": "", "scope": {"level": "Project", "project": "vision"}, "values": {"type": "Password", "username": "u", "password": CANARY}}))).await;
    assert_eq!((status, body["code"].as_u64()), (StatusCode::FORBIDDEN, Some(403)), "{body}");

    // Get: key names once the controller has looked; the viewer sees it but may not change it.
    let found = std::cell::RefCell::new(Value::Null);
    let seen = eventually(Duration::from_secs(10), || async {
        let (status, row) = api.call(Method::GET, "/credentials/vision/model-registry", carol, None).await;
        let keyed = status == StatusCode::OK && row["keys"] == json!(["password", "username"]);
        *found.borrow_mut() = row;
        keyed
    })
    .await;
    let found = found.into_inner();
    assert!(seen, "{found}");
    assert_eq!(found["mayChange"], false);
    let (status, _) = api.call(Method::GET, "/credentials/nlp/s3-datasets", carol, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "what carol may not see does not exist for her");

    // Rename and new values; the answers carry no value.
    let (status, row) = api.call(Method::PATCH, "/credentials/vision/model-registry", bob, Some(json!({"displayName": "Model registry (ro)"}))).await;
    assert_eq!((status, row["displayName"].as_str()), (StatusCode::OK, Some("Model registry (ro)")), "{row}");
    let (status, body) = api.call(Method::PUT, "/credentials/vision/model-registry/values", bob, Some(json!({"type": "Password", "username": "svc-models", "password": NEW_CANARY}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = api.call(Method::PUT, "/credentials/vision/model-registry/values", bob, Some(json!({"type": "Generic", "entries": [["K", "v"]]}))).await;
    assert_eq!((status, body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("type")), "{body}");

    // Delete: refused to the viewer, refused while in use, allowed otherwise.
    let (status, _) = api.call(Method::DELETE, "/credentials/vision/model-registry", carol, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = api.call(Method::DELETE, "/credentials/vision/docker-hub-vision", bob, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["message"].as_str().unwrap().contains("Deployment/vision/trainer"), "{body}");
    let (status, body) = api.call(Method::DELETE, "/credentials/vision/model-registry", bob, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

#[tokio::test]
async fn an_ngc_api_key_is_one_secret_for_workloads_and_for_pulling_from_nvcr_io() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded(dir.path(), &[]).await;
    let kubeconfig = dir.path().join("kubeconfig");
    let bob = api_token("bob", &kubeconfig);
    let api = Api { server: &server };
    let request = json!({"displayName": "NGC (vision)", "description": "", "scope": {"level": "Project", "project": "vision"}, "values": {"type": "NgcApiKey", "apiKey": CANARY}});
    let (status, body) = api.call(Method::POST, "/credentials", Some(&bob), Some(request)).await;
    assert_eq!((status, body["credentialType"].as_str()), (StatusCode::CREATED, Some("NgcApiKey")), "{body}");
    let name = body["name"].as_str().unwrap().to_string();

    let secret_type = support::kubectl(&kubeconfig, &["get", "secret", &name, "-n", "vision", "-o", "jsonpath={.type}"], None);
    assert_eq!(secret_type, "kubernetes.io/dockerconfigjson");
    let decode = |key: &str| support::secret_value(&kubeconfig, "vision", &name, key);
    assert_eq!(decode("NGC_API_KEY"), CANARY.as_bytes());
    let config: Value = serde_json::from_slice(&decode(".dockerconfigjson")).unwrap();
    assert_eq!(config["auths"]["nvcr.io"]["username"], "$oauthtoken");
    assert_eq!(config["auths"]["nvcr.io"]["password"], CANARY);

    // The table's Type filter knows the type; the row shows the key names, never the key.
    let listed = eventually(Duration::from_secs(10), || async {
        let (_, body) = api.call(Method::GET, "/credentials?type=NGC%20API%20key", Some(&bob), None).await;
        names(&body) == ["NGC (vision)"] && body["page"]["rows"][0]["keys"] == json!([".dockerconfigjson", "NGC_API_KEY"])
    })
    .await;
    assert!(listed);
    let (status, body) = api.call(Method::PUT, &format!("/credentials/vision/{name}/values"), Some(&bob), Some(json!({"type": "NgcApiKey", "apiKey": NEW_CANARY}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Both uses of the key got the new one.
    assert_eq!(decode("NGC_API_KEY"), NEW_CANARY.as_bytes());
    let config: Value = serde_json::from_slice(&decode(".dockerconfigjson")).unwrap();
    assert_eq!(config["auths"]["nvcr.io"]["password"], NEW_CANARY);
}

#[tokio::test]
async fn project_secrets_through_the_rest_api_for_each_role() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded(dir.path(), &[]).await;
    let kubeconfig = dir.path().join("kubeconfig");
    let token = |user: &str| api_token(user, &kubeconfig);
    let (bob, carol, alice) = (token("bob"), token("carol"), token("alice"));
    let api = Api { server: &server };
    let (bob, carol, alice) = (Some(bob.as_str()), Some(carol.as_str()), Some(alice.as_str()));
    let keys = |body: &Value| body["keys"].as_array().unwrap().iter().map(|k| k.as_str().unwrap().to_string()).collect::<Vec<_>>();

    // The editor writes keys; the viewer lists their names and may not write; others see nothing.
    let (status, body) = api.call(Method::PUT, "/projects/vision/secrets/API_TOKEN", bob, Some(json!({"value": CANARY}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = api.call(Method::GET, "/projects/vision/secrets", carol, None).await;
    assert_eq!((status, keys(&body), body["mayChange"].as_bool()), (StatusCode::OK, vec!["API_TOKEN".to_string()], Some(false)));
    let (status, _) = api.call(Method::PUT, "/projects/vision/secrets/OTHER", carol, Some(json!({"value": CANARY}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = api.call(Method::GET, "/projects/serving/secrets", carol, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a project without a role is not there");
    let (status, body) = api.call(Method::PUT, "/projects/vision/secrets/bad%20key", bob, Some(json!({"value": CANARY}))).await;
    assert_eq!((status, body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("key")));

    // Twenty writers at once, each its own key: every key is there afterwards.
    let paths: Vec<String> = (0..20).map(|i| format!("/projects/nlp/secrets/KEY_{i}")).collect();
    let writes = paths.iter().map(|path| api.call(Method::PUT, path, bob, Some(json!({"value": CANARY}))));
    for (status, body) in futures::future::join_all(writes).await {
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (_, body) = api.call(Method::GET, "/projects/nlp/secrets", bob, None).await;
    assert_eq!(keys(&body).len(), 20, "{body}");

    // Import: a bad line writes nothing and is named; a good file is one write.
    let (status, body) = api.call(Method::POST, "/projects/vision/secrets:import", bob, Some(json!({"text": format!("A={CANARY}\nnot a line\n")}))).await;
    assert_eq!((status, body["message"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("Line 2: expected KEY=VALUE")));
    let (_, body) = api.call(Method::GET, "/projects/vision/secrets", bob, None).await;
    assert_eq!(keys(&body), ["API_TOKEN"]);
    let (status, body) = api.call(Method::POST, "/projects/vision/secrets:import", alice, Some(json!({"text": format!("# from .env\nDB_URL=\"{NEW_CANARY}\"\nexport S3_KEY={CANARY}\n")}))).await;
    assert_eq!((status, keys(&body)), (StatusCode::OK, vec!["API_TOKEN".to_string(), "DB_URL".into(), "S3_KEY".into()]));

    // Delete, and a second delete (someone was faster) says the key is gone.
    let (status, _) = api.call(Method::DELETE, "/projects/vision/secrets/DB_URL", bob, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = api.call(Method::DELETE, "/projects/vision/secrets/DB_URL", bob, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body["message"].as_str().unwrap().contains("someone deleted it"), "{body}");
    server.stop();
}

/// A concrete path for a documented one, its parameters filled in.
fn concrete(path: &str) -> String {
    path.replace("{namespace}", "vision").replace("{name}", "no-such-credential").replace("{project}", "vision").replace("{key}", "SOME_KEY")
}

#[tokio::test]
async fn the_openapi_document_names_exactly_the_routes_that_answer() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded(dir.path(), &[]).await;
    let token = api_token("alice", &dir.path().join("kubeconfig"));
    let api = Api { server: &server };
    // Public, without a token.
    let (status, document) = api.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(document["openapi"], "3.0.3");
    let schemas = document["components"]["schemas"].as_object().unwrap();
    for schema in ["Listing", "CredentialRow", "NewCredential", "NewPersonalCredential", "PersonalProjects", "SecretValues", "ProjectSecretKeys"] {
        assert!(schemas.contains_key(schema), "{schema} missing from {:?}", schemas.keys());
    }
    let mut operations = 0;
    for (path, methods) in document["paths"].as_object().unwrap() {
        for (method, operation) in methods.as_object().unwrap() {
            operations += 1;
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let body = operation.get("requestBody").map(|_| json!({}));
            let response = server.http.request(method.clone(), format!("{}/api/v1{}", server.url, concrete(path))).bearer_auth(&token);
            let response = match body {
                Some(body) => response.json(&body),
                None => response,
            }
            .send()
            .await
            .unwrap();
            let status = response.status();
            let media = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
            // The event stream never ends: its answer is its status and media type.
            let text = if media.starts_with("text/event-stream") { String::new() } else { response.text().await.unwrap() };
            // An unrouted path gets a 405 or the console's HTML 404; every handler answers what
            // its document says: JSON, or the text it names (the CSV download).
            let documented = operation["responses"].as_object().unwrap().values().filter_map(|r| r["content"].as_object()).flat_map(|c| c.keys()).any(|m| media.starts_with(m.as_str()));
            let answered = if media.starts_with("application/json") { serde_json::from_str::<Value>(&text).is_ok() } else { documented && status.is_success() };
            assert!(status != StatusCode::METHOD_NOT_ALLOWED && answered, "{method} {path}: {status} {media} {text:?}");
        }
    }
    assert_eq!(operations, 34, "the document lists every operation once");
    // A route it does not list is not one: the console's HTML 404 answers, not JSON.
    let stray = server.http.get(format!("{}/api/v1/secrets", server.url)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(stray.status(), StatusCode::NOT_FOUND);
    assert!(serde_json::from_str::<Value>(&stray.text().await.unwrap()).is_err());
    server.stop();
}
