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

    // A file compressed ahead of time (`make build`) goes to a browser that asks for that encoding
    // (the server does not read the bytes: these stand in for brotli), the plain one to others;
    // both say they vary by Accept-Encoding, so a shared cache keeps them apart.
    std::fs::write(pkg.join("keyhold.js.br"), "brotli stand-in").unwrap();
    let vary = |response: &reqwest::Response| response.headers().get_all("vary").iter().any(|v| v.to_str().unwrap().to_ascii_lowercase().contains("accept-encoding"));
    let brotli = server.http.get(format!("{}/pkg/keyhold.js", server.url)).header("accept-encoding", "br").send().await.unwrap();
    assert_eq!(brotli.headers().get("content-encoding").map(|v| v.to_str().unwrap()), Some("br"));
    assert!(vary(&brotli));
    assert_eq!(brotli.text().await.unwrap(), "brotli stand-in");
    let plain = server.http.get(format!("{}/pkg/keyhold.js", server.url)).header("accept-encoding", "identity").send().await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    assert!(vary(&plain));
    // Kept by browsers but checked again on each use, so a page never mixes two builds' files.
    assert_eq!(plain.headers().get("cache-control").map(|v| v.to_str().unwrap()), Some("no-cache"));
    let modified = plain.headers().get("last-modified").unwrap().clone();
    assert_eq!(plain.text().await.unwrap(), "// the bundle");
    let again = server.http.get(format!("{}/pkg/keyhold.js", server.url)).header("accept-encoding", "identity").header("if-modified-since", modified).send().await.unwrap();
    assert_eq!(again.status(), 304);
    assert!(!server.log().contains("no site"), "{}", server.log());

    // 404 pages rendered (an unknown address anyone may ask for) while a browser fetches a page's
    // chunks: each file still comes with 200.
    let fetches = (0..100).map(|i| {
        let path = if i % 2 == 0 { "auth/no-such-page" } else { "pkg/keyhold.css" };
        server.http.get(format!("{}/{path}", server.url)).send()
    });
    let statuses: Vec<(String, u16)> = futures::future::join_all(fetches).await.into_iter().map(|r| r.unwrap()).map(|r| (r.url().path().to_string(), r.status().as_u16())).collect();
    assert!(statuses.iter().all(|(path, status)| *status == if path == "/auth/no-such-page" { 404 } else { 200 }), "{statuses:?}");
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
