//! The site (WASM, scripts, styles) is found wherever `keyhold serve` is started from: next to the
//! binary, as `target/debug/keyhold` finds `target/site`; and when there is none, the log says
//! where Keyhold looked.

mod support;

use std::path::Path;

use support::Server;

/// The binary in `dir/bin`, as an installation would have it: a hard link where it can be (a copy
/// being written while the other test forks would make executing it fail with "text file
/// busy"), a copy across filesystems.
fn installed(dir: &Path) -> std::path::PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let binary = bin.join("keyhold");
    if std::fs::hard_link(env!("CARGO_BIN_EXE_keyhold"), &binary).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_keyhold"), &binary).unwrap();
    }
    binary
}

#[tokio::test]
async fn the_site_next_to_the_binary_is_served_from_any_directory() {
    let dir = tempfile::tempdir().unwrap();
    let binary = installed(dir.path());
    let pkg = dir.path().join("bin/site/pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("keyhold.js"), "// the bundle").unwrap();
    std::fs::write(pkg.join("keyhold.css"), "/* styles next to the binary */").unwrap();
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();

    let server = Server::start_binary(&binary, Some(&elsewhere), &dir.path().join("data"), &["--cluster", "embedded"], &[]).await;
    let css = server.http.get(format!("{}/pkg/keyhold.css", server.url)).send().await.unwrap();
    assert_eq!(css.status(), 200);
    assert_eq!(css.text().await.unwrap(), "/* styles next to the binary */");
    assert!(!server.log().contains("no site"), "{}", server.log());
}

#[tokio::test]
async fn without_a_site_the_log_says_where_keyhold_looked() {
    let dir = tempfile::tempdir().unwrap();
    let binary = installed(dir.path());
    let server = Server::start_binary(&binary, Some(dir.path()), &dir.path().join("data"), &["--cluster", "embedded"], &[]).await;
    let log = server.log();
    let line = log.lines().find(|l| l.contains("no site (styles and scripts) found in")).unwrap_or_else(|| panic!("{log}"));
    assert!(line.contains(&dir.path().join("bin/site").display().to_string()), "{line}");
}
