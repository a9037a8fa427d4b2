//! Member clusters (issue 20, its first part) through the real binary: two more embedded
//! Kubernetes APIs (`keyhold kube-api`) registered with `keyhold cluster add`, probed for their
//! version and projects, one stopped and reported unreachable, one removed; only administrators
//! see them, and no member's credentials come back.

mod support;

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use support::{KubeApi, Server, api_token, eventually, keyhold_cli, kubectl};

async fn clusters(server: &Server, token: &str) -> (StatusCode, Value) {
    let (status, text) = server.api(Method::GET, "/clusters", Some(token), None).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn named<'a>(list: &'a Value, name: &str) -> Option<&'a Value> {
    list.as_array()?.iter().find(|c| c["name"] == name)
}

#[tokio::test]
async fn member_clusters_are_added_probed_lost_and_removed() {
    let home_dir = tempfile::tempdir().unwrap();
    let (east_dir, west_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let east = KubeApi::start(east_dir.path());
    let west = KubeApi::start(west_dir.path());
    for (member, projects) in [(&east, ["train", "serve"]), (&west, ["lab", "batch"])] {
        for project in projects {
            kubectl(&member.admin, &["create", "namespace", project], None);
            kubectl(&member.admin, &["label", "namespace", project, &format!("keyhold.dev/project={project}")], None);
        }
    }
    // The members listen on this machine, which a person-written URL may not name unless allowed.
    let server = Server::embedded(home_dir.path(), &["--cluster-probe-interval", "1s", "--connection-test-allow", "127.0.0.1/32"]).await;
    let home = home_dir.path().join("kubeconfig");
    let (alice, bob) = (api_token("alice", &home), api_token("bob", &home));

    // east is reached as the ServiceAccount deploy/member/rbac.yaml makes (impersonated: the
    // embedded API issues no tokens), so the manifest's rights are what the probe has; west with
    // its administrator's kubeconfig.
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/member/rbac.yaml");
    kubectl(&east.admin, &["apply", "-f", manifest.to_str().unwrap()], None);
    let as_keyhold = east_dir.path().join("keyhold.kubeconfig");
    let mut config = kube::config::Kubeconfig::read_from(&east.admin).unwrap();
    config.auth_infos[0].auth_info.as_mut().unwrap().impersonate = Some("system:serviceaccount:keyhold-member:keyhold".into());
    std::fs::write(&as_keyhold, serde_json::to_string(&config).unwrap()).unwrap();
    // Registered with the administrator's kubeconfig of the home cluster.
    for (name, kubeconfig) in [("east", &as_keyhold), ("west", &west.admin)] {
        let (ok, out, err) = keyhold_cli(&["cluster", "add", name, "--kubeconfig", kubeconfig.to_str().unwrap()], &home, None);
        assert!(ok, "{out}{err}");
    }
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
    drop(west);
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
