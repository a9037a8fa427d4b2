//! The signed-in person as the pages see them: who they are, how they signed in, and what the
//! console may offer them. Nothing here is a secret: it is rendered into pages.

use serde::{Deserialize, Serialize};

/// How a person proved who they are. OpenID Connect joins this list when it arrives; everything
/// downstream works from the resulting [`Identity`](super::identity::Identity) alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignInMethod {
    /// A local account's username and password.
    Password,
    /// A Kubernetes bearer token, checked with a TokenReview.
    KubernetesToken,
    /// Headers set by a trusted authenticating proxy.
    Proxy,
}

/// What the console offers; the server checks every call again, whatever this says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permissions {
    /// May list credentials in at least one namespace: the Credentials page opens.
    pub list_credentials: bool,
    /// May create credentials in at least one namespace: "New credential" shows.
    pub create_credentials: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub name: String,
    pub groups: Vec<String>,
    pub method: SignInMethod,
    pub permissions: Permissions,
}

/// The address of the sign-in page that brings a person back to `path` afterwards.
pub fn sign_in_url(path: &str) -> String {
    format!("/login?next={}", super::url::encode(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sign_in_url_carries_the_path_encoded() {
        assert_eq!(sign_in_url("/credentials?sort=name&q=a b"), "/login?next=/credentials%3Fsort%3Dname%26q%3Da%20b");
    }
}
