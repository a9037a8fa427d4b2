//! Member clusters (issue 20) through the real binary: two more embedded Kubernetes APIs
//! (`keyhold kube-api`) registered with `keyhold cluster add`, probed for their version and
//! projects, one stopped and reported unreachable, one removed; only administrators see them, and
//! no member's credentials come back. Then Account scope: a credential copied into the projects of
//! all three clusters, kept there against drift, reported "failed to access the cluster" for a
//! member that stopped and brought up to date when it returns; its deletion waits for that member
//! or an administrator's let-go.

mod support;

use std::time::Duration;

use std::path::{Path, PathBuf};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use support::{KubeApi, Server, api_token, eventually, keyhold_cli, kubectl, secret_value};

async fn clusters(server: &Server, token: &str) -> (StatusCode, Value) {
    let (status, text) = server.api(Method::GET, "/clusters", Some(token), None).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn named<'a>(list: &'a Value, name: &str) -> Option<&'a Value> {
    list.as_array()?.iter().find(|c| c["name"] == name)
}

/// A member cluster: `keyhold kube-api` in `dir` with these projects.
fn member(dir: &Path, projects: &[&str]) -> KubeApi {
    let member = KubeApi::start(dir);
    for project in projects {
        kubectl(&member.admin, &["create", "namespace", project], None);
        kubectl(&member.admin, &["label", "namespace", project, &format!("keyhold.dev/project={project}")], None);
    }
    member
}

/// A kubeconfig for `member` acting as the ServiceAccount deploy/member/rbac.yaml makes there
/// (impersonated: the embedded API issues no tokens), so the manifest's rights are all Keyhold has.
fn as_member_service_account(member: &KubeApi, dir: &Path) -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/member/rbac.yaml");
    kubectl(&member.admin, &["apply", "-f", manifest.to_str().unwrap()], None);
    let as_keyhold = dir.join("keyhold.kubeconfig");
    let mut config = kube::config::Kubeconfig::read_from(&member.admin).unwrap();
    config.auth_infos[0].auth_info.as_mut().unwrap().impersonate = Some("system:serviceaccount:keyhold-member:keyhold".into());
    std::fs::write(&as_keyhold, serde_json::to_string(&config).unwrap()).unwrap();
    as_keyhold
}

/// The home cluster's Keyhold, probing every second; the members listen on this machine, which a
/// person-written URL may not name unless allowed.
async fn home_server(dir: &Path) -> Server {
    Server::embedded(dir, &["--cluster-probe-interval", "1s", "--connection-test-allow", "127.0.0.1/32"]).await
}

/// Registers members with the administrator's kubeconfig of the home cluster.
fn register(home: &Path, members: &[(&str, &Path)]) {
    for (name, kubeconfig) in members {
        let (ok, out, err) = keyhold_cli(&["cluster", "add", name, "--kubeconfig", kubeconfig.to_str().unwrap()], home, None);
        assert!(ok, "{out}{err}");
    }
}

#[tokio::test]
async fn member_clusters_are_added_probed_lost_and_removed() {
    let home_dir = tempfile::tempdir().unwrap();
    let (east_dir, west_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let east = member(east_dir.path(), &["train", "serve"]);
    let west = member(west_dir.path(), &["lab", "batch"]);
    let server = home_server(home_dir.path()).await;
    let home = home_dir.path().join("kubeconfig");
    let (alice, bob) = (api_token("alice", &home), api_token("bob", &home));

    // east is reached as the manifest's ServiceAccount, west with its administrator's kubeconfig.
    let as_keyhold = as_member_service_account(&east, east_dir.path());
    register(&home, &[("east", &as_keyhold), ("west", &west.admin)]);
    let (ok, _, err) = keyhold_cli(&["cluster", "add", "Not_A_Name", "--kubeconfig", east.admin.to_str().unwrap()], &home, None);
    assert!(!ok && err.contains("name:"), "{err}");

    let probed = eventually(Duration::from_secs(20), || async {
        let (_, list) = clusters(&server, &alice).await;
        ["east", "west"].iter().all(|n| named(&list, n).is_some_and(|c| c["reachable"] == true))
    })
    .await;
    let (status, list) = clusters(&server, &alice).await;
    assert!(probed && status == StatusCode::OK, "{list}");
    let home_cluster = &list[0];
    assert_eq!((home_cluster["name"].as_str(), home_cluster["home"].as_bool()), (Some("local"), Some(true)), "{list}");
    assert_eq!(home_cluster["projects"], serde_json::json!(["etl", "nlp", "serving", "vision"]));
    let east_cluster = named(&list, "east").unwrap();
    assert_eq!(east_cluster["projects"], serde_json::json!(["serve", "train"]));
    assert!(east_cluster["version"].as_str().is_some_and(|v| v.starts_with('v')), "{east_cluster}");
    assert!(east_cluster["server"].as_str().unwrap().starts_with("https://127.0.0.1:"), "{east_cluster}");

    // Whoever can write Secrets of the system namespace writes these kubeconfigs: one that would
    // run a command or read Keyhold's own token file is refused before any client is built, and
    // a Secret whose name is not its label's is no member.
    let evidence = home_dir.path().join("ran");
    let hostile = |name: &str, user: Value| {
        let config = serde_json::json!({
            "apiVersion": "v1", "kind": "Config", "current-context": "c",
            "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
            "users": [{"name": "u", "user": user}],
            "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        });
        let secret = serde_json::json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": format!("keyhold-cluster-{name}"), "namespace": "keyhold-system", "labels": {"keyhold.dev/cluster": name}},
            "stringData": {"kubeconfig": config.to_string()},
        });
        kubectl(&home, &["apply", "-f", "-"], Some(&secret.to_string()));
    };
    hostile("runs", serde_json::json!({"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "touch", "args": [evidence.to_str().unwrap()]}}));
    hostile("reads", serde_json::json!({"tokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token"}));
    let mislabelled = serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "keyhold-cluster-other", "namespace": "keyhold-system", "labels": {"keyhold.dev/cluster": "east"}}, "stringData": {"kubeconfig": "{}"}});
    kubectl(&home, &["apply", "-f", "-"], Some(&mislabelled.to_string()));
    let refused = eventually(Duration::from_secs(20), || async {
        let (_, list) = clusters(&server, &alice).await;
        named(&list, "runs").is_some_and(|c| c["message"].as_str().unwrap().contains("runs a command")) && named(&list, "reads").is_some_and(|c| c["message"].as_str().unwrap().contains("names files"))
    })
    .await;
    let (_, list) = clusters(&server, &alice).await;
    assert!(refused, "{list}");
    assert!(!evidence.exists(), "no command ran");
    assert_eq!(named(&list, "east").unwrap()["projects"], serde_json::json!(["serve", "train"]), "the mislabelled Secret is not east: {list}");
    kubectl(&home, &["delete", "secret", "-n", "keyhold-system", "keyhold-cluster-runs", "keyhold-cluster-reads", "keyhold-cluster-other"], None);

    // Only administrators: bob, an editor, is refused.
    let (status, _) = clusters(&server, &bob).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // west stops: reported unreachable since then, with what was last seen of it; east stays.
    let mut west = west;
    west.stop();
    let lost = eventually(Duration::from_secs(30), || async {
        let (_, list) = clusters(&server, &alice).await;
        named(&list, "west").is_some_and(|c| c["reachable"] == false)
    })
    .await;
    let (_, list) = clusters(&server, &alice).await;
    assert!(lost, "{list}");
    let west_cluster = named(&list, "west").unwrap();
    assert_eq!(west_cluster["projects"], serde_json::json!(["batch", "lab"]), "the last seen projects stay");
    assert!(!west_cluster["message"].as_str().unwrap().is_empty() && !west_cluster["since"].as_str().unwrap().is_empty());
    assert_eq!(named(&list, "east").unwrap()["reachable"], true);

    // The command line lists them from the server.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keyhold"))
        .args(["cluster", "list"])
        .env("KEYHOLD_SERVER", &server.url)
        .env("KEYHOLD_TOKEN", &alice)
        .env("HOME", home_dir.path())
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(table.lines().any(|l| l.starts_with("east") && l.contains("Reachable")) && table.lines().any(|l| l.starts_with("west") && l.contains("Unreachable")), "{table}");

    // Removed: gone from the list at the next probe, no restart.
    let (ok, _, err) = keyhold_cli(&["cluster", "remove", "east"], &home, None);
    assert!(ok, "{err}");
    let removed = eventually(Duration::from_secs(20), || async { named(&clusters(&server, &alice).await.1, "east").is_none() }).await;
    assert!(removed);

    // The members' admin tokens never come back, nor reach the log.
    let token = |kubeconfig: &std::path::Path| std::fs::read_to_string(kubeconfig).unwrap().lines().find_map(|l| l.trim().strip_prefix("token: ").map(str::to_string)).unwrap();
    let east_token = token(&east.admin);
    let (_, list) = clusters(&server, &alice).await;
    assert!(!list.to_string().contains(&east_token) && !server.log().contains(&east_token));
}

/// A credential's targets as (cluster, namespace, phase, message).
async fn targets(server: &Server, token: &str, path: &str) -> Vec<(String, String, String, String)> {
    let (_, text) = server.api(Method::GET, path, Some(token), None).await;
    let row: Value = serde_json::from_str(&text).unwrap_or_default();
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    row["targets"].as_array().map(|all| all.iter().map(|t| (text(&t["cluster"]), text(&t["namespace"]), text(&t["phase"]), text(&t["message"]))).collect()).unwrap_or_default()
}

/// Whether every target is Ready and the (cluster, namespace) pairs are exactly `places`.
fn ready_in(targets: &[(String, String, String, String)], places: &[(&str, &str)]) -> bool {
    let mut found: Vec<(&str, &str)> = targets.iter().map(|(c, n, _, _)| (c.as_str(), n.as_str())).collect();
    let mut wanted = places.to_vec();
    found.sort();
    wanted.sort();
    found == wanted && targets.iter().all(|(_, _, phase, _)| phase == "Ready")
}

const HOME_PLACES: [(&str, &str); 5] = [("local", "keyhold-system"), ("local", "etl"), ("local", "nlp"), ("local", "serving"), ("local", "vision")];

#[tokio::test]
async fn account_scope_reaches_every_cluster_and_deletion_waits_for_the_lost() {
    let home_dir = tempfile::tempdir().unwrap();
    let (east_dir, west_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let east = member(east_dir.path(), &["train", "serve"]);
    let mut west = member(west_dir.path(), &["lab", "batch"]);
    let server = home_server(home_dir.path()).await;
    let home = home_dir.path().join("kubeconfig");
    let (alice, bob) = (api_token("alice", &home), api_token("bob", &home));
    // Both members reached only as the manifest's ServiceAccount: a right it lacks fails the test.
    let (east_keyhold, west_keyhold) = (as_member_service_account(&east, east_dir.path()), as_member_service_account(&west, west_dir.path()));
    register(&home, &[("east", &east_keyhold), ("west", &west_keyhold)]);
    let reachable = eventually(Duration::from_secs(20), || async {
        let (_, list) = clusters(&server, &alice).await;
        ["east", "west"].iter().all(|n| named(&list, n).is_some_and(|c| c["reachable"] == true))
    })
    .await;
    assert!(reachable);

    // Account scope reaches every project of every cluster; only an administrator makes one.
    let new = |name: &str, value: &str| json!({"displayName": name, "description": "", "scope": {"level": "Account"}, "values": {"type": "Generic", "entries": [["TOKEN", value]]}});
    let (status, _) = server.api(Method::POST, "/credentials", Some(&bob), Some(new("Bob's reach", "x"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "an editor may not make an Account-scope credential");
    let (status, text) = server.api(Method::POST, "/credentials", Some(&alice), Some(new("Org token", "first-value"))).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let row: Value = serde_json::from_str(&text).unwrap();
    assert_eq!((row["scopePath"].as_str(), row["cluster"].as_str()), (Some("All clusters"), Some("All clusters")), "{row}");
    let name = row["name"].as_str().unwrap().to_string();
    let path = format!("/credentials/keyhold-system/{name}");
    let mut everywhere: Vec<(&str, &str)> = HOME_PLACES.to_vec();
    everywhere.extend([("east", "train"), ("east", "serve"), ("west", "lab"), ("west", "batch")]);
    let propagated = eventually(Duration::from_secs(30), || async { ready_in(&targets(&server, &alice, &path).await, &everywhere) }).await;
    assert!(propagated, "{:?}", targets(&server, &alice, &path).await);
    assert_eq!(secret_value(&east.admin, "train", &name, "TOKEN"), b"first-value");
    assert_eq!(secret_value(&west.admin, "batch", &name, "TOKEN"), b"first-value");

    // A project, a department or the whole of one member: copies there only, none at home; for
    // administrators only, and only in a member Keyhold knows.
    kubectl(&west.admin, &["label", "namespace", "lab", "keyhold.dev/department=research"], None);
    let scoped = |name: &str, scope: Value| json!({"displayName": name, "description": "", "scope": scope, "values": {"type": "Generic", "entries": [["TOKEN", "scoped-value"]]}});
    let in_train = scoped("Train token", json!({"level": "Project", "project": "train", "cluster": "east"}));
    let (status, _) = server.api(Method::POST, "/credentials", Some(&bob), Some(in_train.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "an editor may not make a credential for a member's project");
    let (status, text) = server.api(Method::POST, "/credentials", Some(&alice), Some(scoped("Nowhere", json!({"level": "Cluster", "cluster": "nowhere"})))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{text}");
    assert!(text.contains(r#""field":"scope""#), "{text}");
    for (body, places, path_shown) in [
        (in_train, vec![("east", "train")], "east › train"),
        (scoped("Research in west", json!({"level": "Department", "department": "research", "cluster": "west"})), vec![("west", "lab")], "west › research"),
        (scoped("All of east", json!({"level": "Cluster", "cluster": "east"})), vec![("east", "train"), ("east", "serve")], "east"),
    ] {
        let (status, text) = server.api(Method::POST, "/credentials", Some(&alice), Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{text}");
        let row: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(row["scopePath"], path_shown, "{row}");
        let scoped_path = format!("/credentials/keyhold-system/{}", row["name"].as_str().unwrap());
        let mut wanted = places.clone();
        wanted.push(("local", "keyhold-system"));
        let copied = eventually(Duration::from_secs(20), || async { ready_in(&targets(&server, &alice, &scoped_path).await, &wanted) }).await;
        assert!(copied, "{path_shown}: {:?}", targets(&server, &alice, &scoped_path).await);
        assert_eq!(support::labelled_copies(&home, "keyhold-system", row["name"].as_str().unwrap()), ["keyhold-system"], "no copy at home");
    }
    assert_eq!(secret_value(&east.admin, "train", "train-token", "TOKEN"), b"scoped-value");
    let names_in = |member: &Path, namespace: &str| kubectl(member, &["get", "secrets", "-n", namespace, "-o", "jsonpath={.items[*].metadata.name}"], None);
    // The department's only project leaves it: said, and its copy goes.
    kubectl(&west.admin, &["label", "namespace", "lab", "keyhold.dev/department-"], None);
    let emptied = eventually(Duration::from_secs(20), || async {
        let now = targets(&server, &alice, "/credentials/keyhold-system/research-in-west").await;
        now.iter().any(|t| t.2 == "Issues" && t.3.contains("no project of department research in west")) && !names_in(&west.admin, "lab").contains("research-in-west")
    })
    .await;
    assert!(emptied, "{:?}", targets(&server, &alice, "/credentials/keyhold-system/research-in-west").await);
    // A scope changed to another member (an administrator's kubectl edit): the first one's copies go.
    kubectl(&home, &["patch", "credential", "all-of-east", "-n", "keyhold-system", "--type", "merge", "-p", r#"{"spec":{"scope":{"level":"Cluster","cluster":"west"}}}"#], None);
    let moved = eventually(Duration::from_secs(20), || async {
        ready_in(&targets(&server, &alice, "/credentials/keyhold-system/all-of-east").await, &[("local", "keyhold-system"), ("west", "lab"), ("west", "batch")])
            && !names_in(&east.admin, "train").contains("all-of-east")
            && !names_in(&east.admin, "serve").contains("all-of-east")
    })
    .await;
    assert!(moved, "{:?}", targets(&server, &alice, "/credentials/keyhold-system/all-of-east").await);

    // A copy changed in a member is restored (the member's watch tells the controller), and a new
    // project there gets its copy.
    let tampered = keyhold::domain::base64::encode(b"tampered");
    kubectl(&west.admin, &["patch", "secret", &name, "-n", "lab", "-p", &json!({"data": {"TOKEN": tampered}}).to_string()], None);
    let restored = eventually(Duration::from_secs(20), || async { secret_value(&west.admin, "lab", &name, "TOKEN") == b"first-value" }).await;
    assert!(restored, "the copy in west/lab was restored");
    kubectl(&east.admin, &["create", "namespace", "fresh"], None);
    kubectl(&east.admin, &["label", "namespace", "fresh", "keyhold.dev/project=fresh"], None);
    everywhere.push(("east", "fresh"));
    let reached = eventually(Duration::from_secs(20), || async { ready_in(&targets(&server, &alice, &path).await, &everywhere) }).await;
    assert!(reached, "{:?}", targets(&server, &alice, &path).await);

    // west stops: its targets fail to access the cluster within a minute; the others stay Ready.
    west.stop();
    let lost = eventually(Duration::from_secs(60), || async {
        let now = targets(&server, &alice, &path).await;
        let (in_west, others): (Vec<_>, Vec<_>) = now.iter().partition(|t| t.0 == "west");
        in_west.len() == 2 && in_west.iter().all(|t| t.2 == "Issues" && t.3 == "failed to access the cluster") && others.len() == everywhere.len() - 2 && others.iter().all(|t| t.2 == "Ready")
    })
    .await;
    assert!(lost, "{:?}", targets(&server, &alice, &path).await);

    // A scope moved away from west while west is down: west stays named until its copies are gone.
    kubectl(&home, &["patch", "credential", "all-of-east", "-n", "keyhold-system", "--type", "merge", "-p", r#"{"spec":{"scope":{"level":"Cluster","cluster":"east"}}}"#], None);
    let still_named = eventually(Duration::from_secs(20), || async {
        targets(&server, &alice, "/credentials/keyhold-system/all-of-east").await.iter().any(|t| t.0 == "west" && t.2 == "Issues" && t.3.contains("cannot reach west"))
    })
    .await;
    assert!(still_named, "{:?}", targets(&server, &alice, "/credentials/keyhold-system/all-of-east").await);

    // A value replaced meanwhile reaches east at once and west when it is back.
    let (status, text) = server.api(Method::PUT, &format!("{path}/values"), Some(&alice), Some(json!({"type": "Generic", "entries": [["TOKEN", "second-value"]]}))).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let east_updated = eventually(Duration::from_secs(20), || async { secret_value(&east.admin, "train", &name, "TOKEN") == b"second-value" }).await;
    assert!(east_updated);
    west.start_again();
    let caught_up = eventually(Duration::from_secs(60), || async {
        secret_value(&west.admin, "lab", &name, "TOKEN") == b"second-value" && ready_in(&targets(&server, &alice, &path).await, &everywhere)
    })
    .await;
    assert!(caught_up, "{:?}", targets(&server, &alice, &path).await);
    let left = eventually(Duration::from_secs(30), || async {
        ready_in(&targets(&server, &alice, "/credentials/keyhold-system/all-of-east").await, &[("local", "keyhold-system"), ("east", "train"), ("east", "serve"), ("east", "fresh")])
            && !names_in(&west.admin, "lab").contains("all-of-east")
    })
    .await;
    assert!(left, "west's copies go once it is back: {:?}", targets(&server, &alice, "/credentials/keyhold-system/all-of-east").await);

    // A member removed: its rows go.
    let (ok, _, err) = keyhold_cli(&["cluster", "remove", "east"], &home, None);
    assert!(ok, "{err}");
    everywhere.retain(|(cluster, _)| *cluster != "east");
    let gone = eventually(Duration::from_secs(20), || async { ready_in(&targets(&server, &alice, &path).await, &everywhere) }).await;
    assert!(gone, "{:?}", targets(&server, &alice, &path).await);

    // A member's tenants can label Secrets: one labelled as this credential's copy, outside any
    // project, and a project named like the home system namespace are not Keyhold's to touch.
    let uid = kubectl(&home, &["get", "credential", &name, "-n", "keyhold-system", "-o", "jsonpath={.metadata.uid}"], None);
    kubectl(&west.admin, &["create", "namespace", "tenant"], None);
    let decoy = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "decoy", "namespace": "tenant", "labels": {"app.kubernetes.io/managed-by": "keyhold", "keyhold.dev/credential": uid}}, "stringData": {"KEEP": "me"}});
    kubectl(&west.admin, &["apply", "-f", "-"], Some(&decoy.to_string()));
    kubectl(&west.admin, &["create", "namespace", "keyhold-system"], None);
    kubectl(&west.admin, &["label", "namespace", "keyhold-system", "keyhold.dev/project=keyhold-system"], None);
    let mine = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": "keyhold-system"}, "stringData": {"TOKEN": "west's own"}});
    kubectl(&west.admin, &["apply", "-f", "-"], Some(&mine.to_string()));

    // Deleting while west is down: the deletion waits for west and says so; the home copies go.
    let (status, text) = server.api(Method::POST, "/credentials", Some(&alice), Some(new("Lab token", "lab-value"))).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let other = serde_json::from_str::<Value>(&text).unwrap()["name"].as_str().unwrap().to_string();
    let other_path = format!("/credentials/keyhold-system/{other}");
    let other_ready = eventually(Duration::from_secs(30), || async { ready_in(&targets(&server, &alice, &other_path).await, &everywhere) }).await;
    assert!(other_ready, "{:?}", targets(&server, &alice, &other_path).await);
    // An editor's Account-scope credential in their own project is refused, copies nothing, and
    // its deletion waits for no member.
    let misplaced = json!({"apiVersion": "keyhold.dev/v1", "kind": "Credential", "metadata": {"name": "bobs-reach", "namespace": "vision"}, "spec": {"displayName": "Bob's reach", "type": "Generic", "scope": {"level": "Account"}, "secretRef": {"name": "bobs-reach"}}});
    kubectl(&home, &["apply", "--as", "bob", "--as-group", "research", "-f", "-"], Some(&misplaced.to_string()));
    let refused = eventually(Duration::from_secs(20), || async { targets(&server, &bob, "/credentials/vision/bobs-reach").await.iter().any(|t| t.2 == "Issues") }).await;
    assert!(refused, "{:?}", targets(&server, &bob, "/credentials/vision/bobs-reach").await);
    west.stop();
    let west_lost = eventually(Duration::from_secs(60), || async { named(&clusters(&server, &alice).await.1, "west").is_some_and(|c| c["reachable"] == false) }).await;
    assert!(west_lost);
    for deleted in [&path, &other_path, &"/credentials/vision/bobs-reach".to_string()] {
        let (status, text) = server.api(Method::DELETE, deleted, Some(&alice), None).await;
        assert!(status.is_success(), "{status} {text}");
    }
    let waiting = eventually(Duration::from_secs(30), || async {
        let now = targets(&server, &alice, &path).await;
        now.len() == 1 && now[0].0 == "west" && now[0].2 == "Deleting" && now[0].3.contains("cannot reach west")
    })
    .await;
    assert!(waiting, "{:?}", targets(&server, &alice, &path).await);
    let home_copies = support::labelled_copies(&home, "keyhold-system", &name);
    assert_eq!(home_copies, ["keyhold-system"], "only the source is left at home while the deletion waits");
    let bobs_gone = eventually(Duration::from_secs(20), || async { server.api(Method::GET, "/credentials/vision/bobs-reach", Some(&alice), None).await.0 == StatusCode::NOT_FOUND }).await;
    assert!(bobs_gone, "the misplaced credential's deletion waits for no member");

    // Letting go: refused to an editor and for a cluster not waited for; an administrator's ends
    // the wait (the copies in west stay).
    let let_go = |cluster: &str| json!({"cluster": cluster});
    let (status, _) = server.api(Method::POST, &format!("{other_path}/let-go"), Some(&bob), Some(let_go("west"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, text) = server.api(Method::POST, &format!("{other_path}/let-go"), Some(&alice), Some(let_go("east"))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{text}");
    assert!(text.contains(r#""field":"cluster""#), "{text}");
    let (status, text) = server.api(Method::POST, &format!("{other_path}/let-go"), Some(&alice), Some(let_go("west"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{text}");
    let released = eventually(Duration::from_secs(30), || async { server.api(Method::GET, &other_path, Some(&alice), None).await.0 == StatusCode::NOT_FOUND }).await;
    assert!(released);

    // Keyhold restarts meanwhile: the deletion still waits once it has found west unreachable.
    server.stop();
    let server = home_server(home_dir.path()).await;
    let relost = eventually(Duration::from_secs(30), || async { named(&clusters(&server, &alice).await.1, "west").is_some_and(|c| c["reachable"] == false) }).await;
    assert!(relost);
    let still = targets(&server, &alice, &path).await;
    assert!(still.len() == 1 && still[0].2 == "Deleting", "the first still waits for west after a restart: {still:?}");

    // west back: the waiting deletion cleans it and completes.
    west.start_again();
    let cleaned = eventually(Duration::from_secs(60), || async { server.api(Method::GET, &path, Some(&alice), None).await.0 == StatusCode::NOT_FOUND }).await;
    assert!(cleaned);
    let left = kubectl(&west.admin, &["get", "secrets", "-A", "-l", "app.kubernetes.io/managed-by=keyhold", "-o", "jsonpath={.items[*].metadata.name}"], None);
    assert!(!left.split_whitespace().any(|n| n == name), "west holds no copy of the deleted credential: {left}");
    assert!(left.split_whitespace().any(|n| n == other), "the copies let go of stay: {left}");
    assert!(left.split_whitespace().any(|n| n == "decoy"), "a Secret merely labelled as a copy stays: {left}");
    assert_eq!(secret_value(&west.admin, "keyhold-system", &name, "TOKEN"), b"west's own", "a namespace of the system's name is never written");

    // No value and no member credential in the log.
    let log = server.log();
    for secret in ["first-value", "second-value", "lab-value"] {
        assert!(!log.contains(secret), "{secret} in the log");
    }
    let admin_token = std::fs::read_to_string(&west.admin).unwrap().lines().find_map(|l| l.trim().strip_prefix("token: ").map(str::to_string)).unwrap();
    assert!(!log.contains(&admin_token));
}
