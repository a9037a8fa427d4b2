//! The signed-in person as the pages see them: who they are, how they signed in, and what the
//! console may offer them. Nothing here is a secret: it is rendered into pages.

use serde::{Deserialize, Serialize};

/// How a person proved who they are; everything downstream works from the resulting
/// [`Identity`](super::identity::Identity) alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignInMethod {
    /// A local account's username and password.
    Password,
    /// A Kubernetes bearer token, checked with a TokenReview.
    KubernetesToken,
    /// Headers set by a trusted authenticating proxy.
    Proxy,
    /// An OpenID Connect provider's ID token.
    Oidc,
}

/// The ways the sign-in page offers (the server refuses the others).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInOptions {
    pub password: bool,
    pub token: bool,
    /// The provider's name for "Sign in with …", when single sign-on is configured.
    pub oidc: Option<String>,
}

/// What the sign-in page says for `?error=` after single sign-on failed; fixed texts, so nothing
/// from the address is ever shown.
pub fn sign_in_problem(code: &str) -> Option<&'static str> {
    Some(match code {
        "oidc-unavailable" => "The identity provider could not be reached, or its configuration does not match Keyhold's. Try again shortly; if it keeps failing, tell your administrator.",
        "oidc-state" => "This sign-in was not started here, or it was used already. Start again.",
        "oidc-refused" => "The identity provider did not sign you in.",
        "oidc-rejected" => "The identity provider's answer was not accepted. Start again; if it keeps failing, tell your administrator.",
        "oidc-no-user" => "Your account at the identity provider has nothing Keyhold can name you by. Tell your administrator.",
        "oidc-no-access" => "Your account has no groups Keyhold knows and no roles here. Ask your administrator for access.",
        "oidc-off" => "Single sign-on is not configured here.",
        "oidc-too-many" => "Too many sign-ins were started from here. Try again in a minute.",
        _ => return None,
    })
}

/// What the console offers; the server checks every call again, whatever this says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permissions {
    /// May list credentials in at least one namespace: the Credentials page opens.
    pub list_credentials: bool,
    /// May create credentials in at least one namespace: "New credential" shows.
    pub create_credentials: bool,
    /// An administrator of the clusters: "Clusters" shows.
    #[serde(default)]
    pub manage_clusters: bool,
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
