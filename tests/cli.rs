//! The `keyhold` binary's command line: clear one-line errors with exit code 2, never a panic.

use std::process::Command;

fn keyhold(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_keyhold")).args(args).env_remove("KEYHOLD_CLUSTER").output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_bad_flag_is_one_line_and_exit_code_2() {
    let (code, stderr) = keyhold(&["serve", "--cluster", "mars"]);
    assert_eq!(code, 2);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("mars"), "{stderr}");
}

#[test]
fn an_unusable_data_directory_is_one_line_and_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-directory");
    std::fs::write(&file, b"").unwrap();
    let (code, stderr) = keyhold(&["serve", "--cluster", "embedded", "--listen", "127.0.0.1:0", "--data-dir", file.to_str().unwrap()]);
    assert_eq!(code, 2);
    let lines: Vec<_> = stderr.trim().lines().filter(|l| !l.contains(" INFO ")).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("error: cannot use data directory"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_corrupt_embedded_cluster_stops_start_up() {
    use std::os::unix::fs::DirBuilderExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::DirBuilder::new().mode(0o700).create(&data).unwrap();
    std::fs::write(data.join("cluster.redb"), b"garbage").unwrap();
    let (code, stderr) = keyhold(&["kube-api", "--listen", "127.0.0.1:0", "--data-dir", data.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("cluster.redb"), "{stderr}");
    assert_eq!(std::fs::read(data.join("cluster.redb")).unwrap(), b"garbage");
}

#[test]
fn leptos_toml_agrees_with_cargo_toml() {
    // cargo-leptos builds from Cargo.toml, the binary runs from Leptos.toml: they must name the
    // same output and site.
    let read = |file: &str| -> toml::Table {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/").to_string() + file).unwrap();
        let table: toml::Table = text.parse().unwrap();
        table["package"]["metadata"]["leptos"].as_table().unwrap().clone()
    };
    let (cargo, leptos) = (read("Cargo.toml"), read("Leptos.toml"));
    for key in ["output-name", "site-root", "site-pkg-dir"] {
        assert_eq!(cargo.get(key), leptos.get(key), "{key}");
    }
}

#[test]
fn the_crd_in_deploy_is_current() {
    let out = Command::new(env!("CARGO_BIN_EXE_keyhold")).arg("crd").output().unwrap();
    assert!(out.status.success());
    let generated = String::from_utf8(out.stdout).unwrap();
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/crd.yaml")).unwrap();
    assert!(generated == committed, "deploy/crd.yaml is stale: run `cargo run --features ssr -- crd > deploy/crd.yaml`");
}

#[test]
fn the_roles_in_deploy_are_current() {
    let out = Command::new(env!("CARGO_BIN_EXE_keyhold")).arg("roles").output().unwrap();
    assert!(out.status.success());
    let generated = String::from_utf8(out.stdout).unwrap();
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/roles.yaml")).unwrap();
    assert!(generated == committed, "deploy/roles.yaml is stale: run `cargo run --features ssr -- roles > deploy/roles.yaml`");
}

#[test]
fn json_logs_and_a_graceful_stop_on_sigterm() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_keyhold"))
        .args(["serve", "--cluster", "embedded", "--no-demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("KEYHOLD_LOG_FORMAT", "json")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines().map_while(Result::ok);
    let mut parsed = lines.by_ref().map(|l| serde_json::from_str::<serde_json::Value>(&l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")));
    let listening = parsed.by_ref().find(|l| l["message"] == "Keyhold listening").expect("a listening line");
    assert_eq!(listening["level"], "INFO");
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    assert!(parsed.any(|l| l["message"] == "stopped"), "no clean stop logged");
    assert!(child.wait().unwrap().success());
}
