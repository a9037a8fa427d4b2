//! Who is calling: the bearer token created at first start (written into the kubeconfig, with the
//! CA that vouches for the listener's certificate) and impersonation headers
//! (k8s-api-contract.md §16.1, §16.6). The in-process client is Keyhold itself.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::private_files::write_private;

use super::Cluster;
use super::rbac::{self, Attributes, Identity, MASTERS};
use super::status::ApiError;

const TOKEN_FILE: &str = "admin.token";
const AUTHENTICATED: &str = "system:authenticated";

/// The identity of the admin token: the cluster's administrator.
pub fn admin() -> Identity {
    Identity { user: "admin".into(), groups: vec![MASTERS.into(), AUTHENTICATED.into()] }
}

/// The identity of in-process calls: Keyhold itself.
pub fn internal() -> Identity {
    Identity { user: "system:keyhold".into(), groups: vec![MASTERS.into(), AUTHENTICATED.into()] }
}

/// Reads the admin token of the cluster in `dir`, creating it on first use (mode 0600).
pub fn load_or_create_token(dir: &Path) -> std::io::Result<String> {
    let path = dir.join(TOKEN_FILE);
    match std::fs::read_to_string(&path) {
        Ok(token) => Ok(token.trim().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let token = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
            write_private(&path, token.as_bytes())?;
            Ok(token)
        }
        Err(e) => Err(e),
    }
}

fn unauthorized() -> Response {
    let status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "Unauthorized", "reason": "Unauthorized", "code": 401});
    (axum::http::StatusCode::UNAUTHORIZED, axum::Json(status)).into_response()
}

/// Authenticates a request from the loopback listener and applies impersonation.
pub async fn authenticate(State(cluster): State<Arc<Cluster>>, mut request: Request, next: Next) -> Response {
    let token = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let Some(caller) = token.and_then(|t| cluster.identity_of_token(t.trim())) else { return unauthorized() };
    let identity = match impersonate(&cluster, caller, request.headers()) {
        Ok(identity) => identity,
        Err(e) => return e.into_response(),
    };
    for name in ["impersonate-user", "impersonate-group", "impersonate-uid"] {
        request.headers_mut().remove(name);
    }
    request.extensions_mut().insert(identity);
    next.run(request).await
}

/// Applies `Impersonate-User` / `Impersonate-Group`, each allowed only if the caller may
/// impersonate it.
fn impersonate(cluster: &Cluster, caller: Identity, headers: &HeaderMap) -> Result<Identity, ApiError> {
    let values = |name: &str| headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).map(str::to_string).collect::<Vec<_>>();
    let user = values("impersonate-user").into_iter().next();
    let groups = values("impersonate-group");
    let Some(user) = user else {
        if !groups.is_empty() || headers.contains_key("impersonate-uid") {
            return Err(ApiError::bad_request(format!("requested {:?} without impersonating a user", groups)));
        }
        return Ok(caller);
    };
    let check = |resource: &str, namespace: &str, name: &str| {
        let attrs = Attributes { verb: "impersonate".into(), resource: resource.into(), namespace: namespace.into(), name: name.into(), ..Default::default() };
        if rbac::authorize(cluster.store(), &caller, &attrs).allowed {
            Ok(())
        } else {
            Err(ApiError::forbidden_on("", resource, name, &rbac::denial(&caller, &attrs)))
        }
    };
    let service_account = user.strip_prefix("system:serviceaccount:").and_then(|rest| rest.split_once(':'));
    match service_account {
        Some((namespace, name)) => check("serviceaccounts", namespace, name)?,
        None => check("users", "", &user)?,
    }
    for group in &groups {
        check("groups", "", group)?;
    }
    let mut groups = if groups.is_empty() {
        service_account.map(|(ns, _)| vec!["system:serviceaccounts".to_string(), format!("system:serviceaccounts:{ns}")]).unwrap_or_default()
    } else {
        groups
    };
    if !groups.iter().any(|g| g == AUTHENTICATED || g == "system:unauthenticated") {
        groups.push(AUTHENTICATED.into());
    }
    Ok(Identity { user, groups })
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
    write_private(file, serde_saphyr::to_string(&config).map_err(std::io::Error::other)?.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bob() -> Identity {
        Identity { user: "bob".into(), groups: vec![AUTHENTICATED.into()] }
    }

    #[test]
    fn impersonation_needs_the_impersonate_verb() {
        let dir = tempfile::tempdir().unwrap();
        let cluster = Cluster::open(dir.path()).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("impersonate-user", "alice".parse().unwrap());
        let err = impersonate(&cluster, bob(), &headers).unwrap_err();
        assert_eq!(err.code.as_u16(), 403);
        assert_eq!(err.message, "users \"alice\" is forbidden: User \"bob\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope");

        let as_admin = impersonate(&cluster, admin(), &headers).unwrap();
        assert_eq!((as_admin.user.as_str(), as_admin.groups.as_slice()), ("alice", [AUTHENTICATED.to_string()].as_slice()));
    }

    #[test]
    fn groups_without_a_user_are_a_bad_request() {
        let dir = tempfile::tempdir().unwrap();
        let cluster = Cluster::open(dir.path()).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("impersonate-group", "devs".parse().unwrap());
        assert_eq!(impersonate(&cluster, admin(), &headers).unwrap_err().code.as_u16(), 400);
    }
}
