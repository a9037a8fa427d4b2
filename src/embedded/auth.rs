//! Who may use the loopback listener: the bearer token created at first start and written into
//! the kubeconfig, with the CA that vouches for the listener's certificate.

use std::net::SocketAddr;
use std::path::Path;

use axum::extract::Request;
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde_json::json;

const TOKEN_FILE: &str = "admin.token";

/// Reads the admin token of the cluster in `dir`, creating it on first use (mode 0600).
pub fn load_or_create_token(dir: &Path) -> std::io::Result<String> {
    let path = dir.join(TOKEN_FILE);
    match std::fs::read_to_string(&path) {
        Ok(token) => Ok(token.trim().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let token = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
            write_private(&path, &token)?;
            Ok(token)
        }
        Err(e) => Err(e),
    }
}

pub(super) fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    file.write_all(contents.as_bytes())
}

/// Wraps the API so that every request must carry the admin token.
pub fn require_token(router: axum::Router, token: String) -> axum::Router {
    let expected = format!("Bearer {token}");
    router.layer(middleware::from_fn(move |request: Request, next: Next| {
        let authorized = request.headers().get(header::AUTHORIZATION).is_some_and(|v| v.as_bytes() == expected.as_bytes());
        async move { if authorized { next.run(request).await } else { unauthorized() } }
    }))
}

fn unauthorized() -> Response {
    let status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "Unauthorized", "reason": "Unauthorized", "code": 401});
    (axum::http::StatusCode::UNAUTHORIZED, axum::Json(status)).into_response()
}

pub fn write_kubeconfig(file: &Path, addr: SocketAddr, token: &str, ca_pem: &str) -> std::io::Result<()> {
    use base64::Engine;
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    let server = format!("https://{addr}");
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "keyhold-embedded", "cluster": {"server": server, "certificate-authority-data": ca}}],
        "users": [{"name": "keyhold-admin", "user": {"token": token}}],
        "contexts": [{"name": "keyhold-embedded", "context": {"cluster": "keyhold-embedded", "user": "keyhold-admin"}}],
        "current-context": "keyhold-embedded",
    });
    if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    write_private(file, &serde_yaml::to_string(&config).map_err(std::io::Error::other)?)
}
