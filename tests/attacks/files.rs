//! Files and listeners of the embedded default (issue 15, part 5): the data directory holds every
//! value in plain text, so it and its files are the owner's alone and a directory open to others
//! stops start-up; a kubeconfig is written 0600 and never through a symlink; one silent TCP
//! connection does not lock kubectl out; the embedded API stays on loopback unless allowed.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use crate::support::{KubeApi, Server, eventually, free_port, kubectl};

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
}

/// Runs `keyhold args`, which must exit within 30 s: its exit status and stderr.
async fn exits(args: &[&str]) -> (ExitStatus, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_keyhold"))
        .args(args)
        .env_remove("KEYHOLD_CLUSTER")
        .env_remove("KUBECONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let exited = eventually(Duration::from_secs(30), || std::future::ready(child.try_wait().unwrap().is_some())).await;
    if !exited {
        child.kill().unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(exited, "keyhold {args:?} kept running: {stderr}");
    (out.status, stderr)
}

/// The lines of stderr that are not log lines.
fn errors(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| !l.contains(" INFO ") && !l.contains(" WARN ")).collect()
}

#[tokio::test]
async fn the_data_directory_and_every_file_in_it_are_the_owners_alone() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let server = Server::embedded(&data, &["--no-demo"]).await;
    let mut pending = vec![data.clone()];
    let mut files = 0;
    while let Some(dir) = pending.pop() {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            // A journal SQLite removed a moment ago is not a finding.
            let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
            if meta.is_dir() {
                pending.push(path);
            } else {
                assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{}", path.display());
                files += 1;
            }
        }
    }
    // The store, the admin token, the CA, the certificate and key, the sessions, the kubeconfig.
    assert!(files >= 7, "{files} files");
    server.stop();
}

#[tokio::test]
async fn a_data_directory_open_to_others_stops_start_up_with_one_line() {
    let root = tempfile::tempdir().unwrap();
    for (command, open) in [("serve", 0o750), ("kube-api", 0o703)] {
        let data = root.path().join(command);
        std::fs::create_dir(&data).unwrap();
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(open)).unwrap();
        let listen = format!("127.0.0.1:{}", free_port());
        let mut args = vec![command, "--listen", &listen, "--data-dir", data.to_str().unwrap()];
        if command == "serve" {
            args.extend(["--cluster", "embedded"]);
        }
        let (status, stderr) = exits(&args).await;
        assert!(!status.success(), "{command}");
        let lines = errors(&stderr);
        assert_eq!(lines.len(), 1, "{command}: {stderr}");
        assert!(lines[0].contains(data.to_str().unwrap()) && lines[0].contains("chmod"), "{command}: {stderr}");
        assert_eq!(std::fs::read_dir(&data).unwrap().count(), 0, "{command} wrote into the open directory");
    }
}

#[tokio::test]
async fn write_kubeconfig_replaces_a_symlink_and_never_writes_through_it() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "the victim's file").unwrap();
    let kubeconfig = dir.path().join("admin.kubeconfig");
    std::os::unix::fs::symlink(&victim, &kubeconfig).unwrap();
    let _cluster = KubeApi::start(dir.path());
    let written = eventually(Duration::from_secs(20), || {
        std::future::ready(!kubeconfig.is_symlink() || std::fs::read_to_string(&victim).unwrap() != "the victim's file")
    })
    .await;
    assert!(written, "no kubeconfig was written");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "the victim's file", "written through the symlink");
    assert!(!kubeconfig.is_symlink());
    assert_eq!(mode(&kubeconfig), 0o600);
    kubectl(&kubeconfig, &["get", "ns", "default"], None);
}

#[tokio::test]
async fn write_kubeconfig_makes_an_existing_file_private() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("admin.kubeconfig");
    std::fs::write(&kubeconfig, "an old kubeconfig").unwrap();
    std::fs::set_permissions(&kubeconfig, std::fs::Permissions::from_mode(0o644)).unwrap();
    let _cluster = KubeApi::start(dir.path());
    let written = eventually(Duration::from_secs(20), || std::future::ready(std::fs::read_to_string(&kubeconfig).unwrap().contains("keyhold-embedded"))).await;
    assert!(written, "no kubeconfig was written");
    assert_eq!(mode(&kubeconfig), 0o600);
}

#[tokio::test]
async fn a_silent_tcp_connection_does_not_block_kubectl() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = KubeApi::start(dir.path());
    let config: serde_json::Value = serde_saphyr::from_str(&std::fs::read_to_string(&cluster.admin).unwrap()).unwrap();
    let server = config["clusters"][0]["cluster"]["server"].as_str().unwrap();
    let addr = server.strip_prefix("https://").unwrap().to_string();
    // Connections that never start (or never finish) a TLS handshake, held open.
    let mut silent = Vec::new();
    for _ in 0..3 {
        silent.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    let mut half = tokio::net::TcpStream::connect(&addr).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut half, &[0x16, 0x03, 0x01]).await.unwrap();
    // kubectl gives up after 10 s; today's listener would still be waiting on the first socket.
    let kubeconfig = cluster.admin.clone();
    let namespaces = tokio::task::spawn_blocking(move || kubectl(&kubeconfig, &["get", "ns", "default", "--request-timeout=10s", "-o", "name"], None)).await.unwrap();
    assert_eq!(namespaces.trim(), "namespace/default");
    drop((silent, half));
}

#[tokio::test]
async fn the_embedded_api_stays_on_loopback_unless_allowed() {
    let root = tempfile::tempdir().unwrap();
    let remote = format!("0.0.0.0:{}", free_port());
    let data = root.path().join("serve");
    let serve = ["serve", "--cluster", "embedded", "--no-demo", "--listen", "127.0.0.1:0", "--data-dir", data.to_str().unwrap(), "--kube-api-listen", &remote];
    let data = root.path().join("kube-api");
    let kube_api = ["kube-api", "--listen", &remote, "--data-dir", data.to_str().unwrap()];
    for args in [&serve[..], &kube_api[..]] {
        let (status, stderr) = exits(args).await;
        assert!(!status.success(), "{args:?}");
        let lines = errors(&stderr);
        assert_eq!(lines.len(), 1, "{stderr}");
        assert!(lines[0].contains("0.0.0.0") && lines[0].contains("allow-remote"), "{stderr}");
    }

    // Said explicitly, it serves.
    let kubeconfig = root.path().join("kubeconfig");
    let mut allowed = Command::new(env!("CARGO_BIN_EXE_keyhold"))
        .args(kube_api)
        .args(["--allow-remote", "--write-kubeconfig", kubeconfig.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = eventually(Duration::from_secs(20), || std::future::ready(kubeconfig.exists())).await;
    allowed.kill().unwrap();
    allowed.wait().unwrap();
    assert!(started, "kube-api --allow-remote did not start");
}
