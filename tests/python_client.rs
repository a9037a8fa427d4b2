//! Kubernetes' own Python client (`kubernetes` from PyPI, installed into `.tools/venv` by
//! `make test`) as a third real client of the embedded API, after kube-rs and kubectl: it parses
//! answers by the API server's OpenAPI document and reads error bodies as text, so it finds
//! differences the others forgive. The scenarios are in `tests/fixtures/python/client.py`.

mod support;

use std::process::Command;

use support::KubeApi;

#[test]
fn the_python_client_finds_the_embedded_api_as_it_finds_kubernetes() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = KubeApi::start(dir.path());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/python/client.py");
    let out = Command::new("python").arg(script).arg(&cluster.admin).output().expect("python on PATH (make test puts .tools/venv/bin there)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.trim_end().ends_with("ok"), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
}
