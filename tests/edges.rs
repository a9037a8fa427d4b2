//! Correct at the edges, through the real binary's REST API: every display name the domain
//! accepts works at every scope and type (Kubernetes' limits on names and labels never show), and
//! every invalid input gets a 4xx naming its field, never a 5xx and never the input quoted back.
//! Inputs are random; the seed is printed, and `KEYHOLD_TEST_SEED` replays a run.

mod support;

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use support::{Server, api_token, eventually};

/// Random input, replayable from its printed seed (as `credentials_query.rs` does).
struct Random(StdRng);

impl Random {
    fn seeded() -> Random {
        let seed: u64 = std::env::var("KEYHOLD_TEST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random);
        eprintln!("KEYHOLD_TEST_SEED={seed}");
        Random(StdRng::seed_from_u64(seed))
    }

    fn below(&mut self, n: usize) -> usize {
        self.0.random_range(0..n)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        items.choose(&mut self.0).expect("not empty")
    }

    /// `length` characters drawn from letters, digits, spaces, punctuation and non-ASCII.
    fn text(&mut self, length: usize) -> String {
        const CLASSES: [&str; 5] = ["abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789", "  ", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", "éßøÆçñÅ中文データΩλ😀🔑"];
        (0..length)
            .map(|_| {
                let class: Vec<char> = self.pick(&CLASSES).chars().collect();
                *self.pick(&class)
            })
            .collect()
    }
}

const PROJECTS: [(&str, &str); 4] = [("research", "vision"), ("research", "nlp"), ("production", "serving"), ("production", "etl")];
const TYPES: [&str; 6] = ["Docker registry", "Access key", "Password", "Generic", "TLS", "NGC API key"];

/// Valid values of each type, with a random value where the type takes free text.
fn values(credential_type: &str, random: &mut Random) -> Value {
    let length = 1 + random.below(40);
    let free = random.text(length);
    match credential_type {
        "Docker registry" => json!({"type": "DockerRegistry", "registry": "registry.example.com", "username": free, "password": "p"}),
        "Access key" => json!({"type": "AccessKey", "accessKeyId": "AKIA", "secretAccessKey": free}),
        "Password" => json!({"type": "Password", "username": "u", "password": free}),
        "Generic" => json!({"type": "Generic", "entries": [["TOKEN", free]]}),
        "TLS" => {
            let key = rcgen::KeyPair::generate().unwrap();
            let certificate = rcgen::CertificateParams::new(vec!["web.example".to_string()]).unwrap().self_signed(&key).unwrap();
            json!({"type": "TLS", "certificate": certificate.pem(), "privateKey": key.serialize_pem()})
        }
        _ => json!({"type": "NgcApiKey", "apiKey": free.replace(char::is_whitespace, "k")}),
    }
}

/// A scope of the given level (0 project, 1 department, 2 cluster) and the namespaces a
/// credential of it must be Ready in: where it lives and where it is copied.
fn scope(level: usize, random: &mut Random) -> (Value, BTreeSet<String>) {
    match level {
        0 => {
            let (_, project) = random.pick(&PROJECTS);
            (json!({"level": "Project", "project": project}), BTreeSet::from([project.to_string()]))
        }
        1 => {
            let department = *random.pick(&["research", "production"]);
            let reached = PROJECTS.iter().filter(|(d, _)| *d == department).map(|(_, p)| p.to_string());
            (json!({"level": "Department", "department": department}), reached.chain(["keyhold-system".to_string()]).collect())
        }
        _ => (json!({"level": "Cluster"}), PROJECTS.iter().map(|(_, p)| p.to_string()).chain(["keyhold-system".to_string()]).collect()),
    }
}

/// Where a row is Ready: its own namespace when the row is, and each target that is.
fn ready_in(row: &Value) -> BTreeSet<String> {
    let mut ready: BTreeSet<String> =
        row["targets"].as_array().into_iter().flatten().filter(|t| t["phase"] == "Ready").map(|t| t["namespace"].as_str().unwrap().to_string()).collect();
    if row["phase"] == "Ready" {
        ready.insert(row["namespace"].as_str().unwrap().to_string());
    }
    ready
}

#[tokio::test]
async fn every_name_the_form_accepts_works_at_every_scope_and_type() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded(dir.path(), &[]).await;
    let alice = api_token("alice", &dir.path().join("kubeconfig"));
    let mut random = Random::seeded();
    let mut taken = HashSet::new();
    let mut made = Vec::new();
    // Every length from 1 to the longest, cycling through scopes and types; then the longest
    // name at every scope and type.
    let cases = (1..=63).map(|length| (length, length % 3, TYPES[length % TYPES.len()])).chain((0..3).flat_map(|level| TYPES.map(|t| (63, level, t))));
    for (length, level, credential_type) in cases {
        let name = loop {
            let name = random.text(length);
            if !name.trim().is_empty() && taken.insert(name.trim().to_lowercase()) {
                break name;
            }
        };
        let (scope, reached) = scope(level, &mut random);
        let mut body = json!({"displayName": name, "scope": scope, "values": values(credential_type, &mut random)});
        // The description is optional: absent, or up to its longest.
        if random.below(2) == 0 {
            let length = random.below(251);
            body["description"] = json!(random.text(length));
        }
        let (status, text) = server.api(Method::POST, "/credentials", Some(&alice), Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{credential_type} at {scope}, named {name:?}: {text}");
        let row: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(row["displayName"].as_str(), Some(name.trim()));
        made.push((format!("/credentials/{}/{}", row["namespace"].as_str().unwrap(), row["name"].as_str().unwrap()), reached, name));
    }
    for (path, reached, name) in &made {
        let last = std::cell::RefCell::new(String::new());
        let ready = eventually(Duration::from_secs(20), || async {
            let (_, text) = server.api(Method::GET, path, Some(&alice), None).await;
            let row: Value = serde_json::from_str(&text).unwrap_or_default();
            *last.borrow_mut() = text;
            ready_in(&row) == *reached
        })
        .await;
        assert!(ready, "{name:?} is not Ready in each of {reached:?}: {}", last.borrow());
    }
}

/// Two display names that make the same Kubernetes name ("Ü" and "é" both make `credential`): a
/// Cluster-scope credential's copies must not meet a project's own Secret of that name, so it gets
/// another (random names found this: a copy then reported Issues in that project).
#[tokio::test]
async fn a_wide_credential_never_takes_a_name_a_project_secret_has() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded(dir.path(), &[]).await;
    let alice = api_token("alice", &dir.path().join("kubeconfig"));
    let create = |name: &str, scope: Value| json!({"displayName": name, "scope": scope, "values": {"type": "Generic", "entries": [["TOKEN", "t"]]}});
    let (status, text) = server.api(Method::POST, "/credentials", Some(&alice), Some(create("Ü", json!({"level": "Project", "project": "nlp"})))).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["name"], "credential");
    let (status, text) = server.api(Method::POST, "/credentials", Some(&alice), Some(create("é", json!({"level": "Cluster"})))).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let row: Value = serde_json::from_str(&text).unwrap();
    assert_ne!(row["name"], "credential");
    let path = format!("/credentials/keyhold-system/{}", row["name"].as_str().unwrap());
    let reached: BTreeSet<String> = PROJECTS.iter().map(|(_, p)| p.to_string()).chain(["keyhold-system".to_string()]).collect();
    let ready = eventually(Duration::from_secs(20), || async {
        let (_, text) = server.api(Method::GET, &path, Some(&alice), None).await;
        ready_in(&serde_json::from_str(&text).unwrap_or_default()) == reached
    })
    .await;
    assert!(ready, "the Cluster-scope credential is not Ready everywhere");

    // The other order, before the controller has made the wider one's copies: the project's
    // credential takes another name.
    let (_, text) = server.api(Method::POST, "/credentials", Some(&alice), Some(create("ø", json!({"level": "Cluster"})))).await;
    let wide: Value = serde_json::from_str(&text).unwrap();
    let (_, text) = server.api(Method::POST, "/credentials", Some(&alice), Some(create("ß", json!({"level": "Project", "project": "serving"})))).await;
    let project: Value = serde_json::from_str(&text).unwrap();
    assert!(wide["name"].is_string() && project["name"].is_string() && wide["name"] != project["name"], "{wide} {project}");

    // Another department's names are not weighed, so the choice tells bob nothing of them.
    let (status, text) = server.api(Method::POST, "/credentials", Some(&alice), Some(create("Payroll", json!({"level": "Department", "department": "production"})))).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let bob = api_token("bob", &dir.path().join("kubeconfig"));
    let (status, text) = server.api(Method::POST, "/credentials", Some(&bob), Some(create("Payroll!", json!({"level": "Project", "project": "vision"})))).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["name"], "payroll");
}

#[tokio::test]
async fn every_invalid_input_gets_a_4xx_naming_its_field() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded(dir.path(), &[]).await;
    let alice = api_token("alice", &dir.path().join("kubeconfig"));
    let mut random = Random::seeded();
    for round in 0..60 {
        let credential_type = *random.pick(&TYPES);
        let mut body = json!({"displayName": format!("Edge {round}"), "scope": {"level": "Cluster"}, "values": values(credential_type, &mut random)});
        // One fault per request, with random content that must never be quoted back.
        let length = 8 + random.below(20);
        let noise = format!("q {}", random.text(length));
        let field = match random.below(7) {
            0 => {
                body["displayName"] = json!(format!("{noise}{}", random.text(64)));
                "displayName"
            }
            1 => {
                body["displayName"] = json!(format!("{noise}\u{7}"));
                "displayName"
            }
            2 => {
                body["description"] = json!(format!("{noise}{}", random.text(251)));
                "description"
            }
            3 => {
                body["scope"] = json!({"level": "Project", "project": noise});
                "scope"
            }
            4 => {
                body["values"] = json!({"type": "Generic", "entries": [[noise, "v"]]});
                "entries"
            }
            5 => {
                body["values"] = json!({"type": "DockerRegistry", "registry": format!("a {noise}"), "username": "u", "password": "p"});
                "registry"
            }
            _ => {
                body["values"] = json!({"type": "TLS", "certificate": noise, "privateKey": "k"});
                "certificate"
            }
        };
        let (status, text) = server.api(Method::POST, "/credentials", Some(&alice), Some(body)).await;
        assert!(status.is_client_error(), "round {round}, {field}: {status} {text}");
        let answer: Value = serde_json::from_str(&text).unwrap();
        assert!(answer["field"].as_str().is_some_and(|f| f.starts_with(field)), "round {round}: expected {field}: {text}");
        assert!(!text.contains(&noise), "round {round}: the input came back: {text}");
    }
    // A missing field is named as required; a missing description is no fault at all.
    let (status, text) = server.api(Method::POST, "/credentials", Some(&alice), Some(json!({"scope": {"level": "Cluster"}, "values": {"type": "Password", "username": "u", "password": "p"}}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!((answer["field"].as_str(), answer["message"].as_str()), (Some("displayName"), Some("displayName: required")));
    let (status, text) = server.api(Method::POST, "/credentials", Some(&alice), Some(json!({"displayName": "No description", "scope": {"level": "Cluster"}, "values": {"type": "Password"}}))).await;
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!((status, answer["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("values.username")), "{text}");
    let (status, text) = server.api(Method::POST, "/credentials", Some(&alice), Some(json!({"displayName": "No description", "scope": {"level": "Cluster"}, "values": {"type": "Password", "username": "u", "password": "p"}}))).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
}
