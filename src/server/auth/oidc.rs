//! Single sign-on with OpenID Connect (issue 18): the authorization code flow with PKCE, `state`
//! and `nonce`, against any standard provider, with the `openidconnect` crate for the protocol.
//! The provider's users and groups become a Kubernetes identity the way kube-apiserver's own
//! `--oidc-*` flags make one, so RoleBindings written for the cluster's OIDC work unchanged.
//!
//! Nothing of a token reaches a message or the log: failures are logged by their kind only.

use std::sync::Arc;
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClaimName, CoreClaimType, CoreClientAuthMethod, CoreErrorResponseType, CoreGenderClaim, CoreGrantType,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm, CoreResponseMode, CoreResponseType, CoreRevocableToken,
    CoreRevocationErrorResponse, CoreSubjectIdentifierType, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AdditionalProviderMetadata, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IdTokenFields, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, SignatureVerificationError, StandardErrorResponse, StandardTokenResponse,
    TokenResponse,
};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use tokio::sync::RwLock;

use crate::domain::identity::Identity;

/// How Keyhold signs people in through a provider; from `--oidc-*`.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub scopes: Vec<String>,
    pub username_claim: String,
    pub groups_claim: String,
    /// Put before every username (kube-apiserver's `--oidc-username-prefix`).
    pub username_prefix: String,
    pub groups_prefix: String,
    /// How the sign-in page names the provider: "Sign in with …".
    pub name: String,
    /// `<public URL>/auth/oidc/callback`, registered with the provider.
    pub redirect_url: String,
    /// Where the provider sends people after signing out there: the sign-in page.
    pub after_sign_out_url: String,
}

impl OidcSettings {
    /// kube-apiserver's default: no prefix for `email`, else the issuer and `#`; `-` means none.
    pub fn default_username_prefix(issuer: &str, claim: &str, given: Option<&str>) -> String {
        match given {
            Some("-") => String::new(),
            Some(prefix) => prefix.to_string(),
            None if claim == "email" => String::new(),
            None => format!("{issuer}#"),
        }
    }
}

/// Every claim of the ID token beyond the standard ones, for the configured groups claim (and a
/// username claim that is not a standard one).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OtherClaims(serde_json::Map<String, serde_json::Value>);

impl AdditionalClaims for OtherClaims {}

/// RP-initiated logout's endpoint, which the core metadata does not carry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EndSession {
    end_session_endpoint: Option<String>,
}

impl AdditionalProviderMetadata for EndSession {}

type ProviderMetadata = openidconnect::ProviderMetadata<
    EndSession,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

type Fields = IdTokenFields<OtherClaims, EmptyExtraTokenFields, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;
type Tokens = StandardTokenResponse<Fields, CoreTokenType>;
type Client = openidconnect::Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    Tokens,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// Why a sign-in through the provider failed. `code` is what the sign-in page is told; the rest
/// is for the log and names a kind of failure, never a token.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the provider could not be reached or described itself wrongly: {0}")]
    Unavailable(String),
    #[error("no sign-in was started in this session, or its state did not match")]
    State,
    #[error("the provider answered with an error instead of a code")]
    Refused,
    #[error("the provider did not exchange the code: {0}")]
    Exchange(String),
    #[error("the ID token was not accepted: {0}")]
    Token(String),
    #[error("the ID token has no usable {0} claim")]
    NoUsername(String),
    #[error("the ID token names a user or group in Kubernetes' reserved system: space")]
    Reserved,
    #[error("no role here names the account or its groups")]
    NoAccess,
}

impl OidcError {
    /// The sign-in page's `?error=` for it (`domain::session::sign_in_problem` words it).
    pub fn code(&self) -> &'static str {
        match self {
            OidcError::Unavailable(_) => "oidc-unavailable",
            OidcError::State => "oidc-state",
            OidcError::Refused => "oidc-refused",
            OidcError::Exchange(_) | OidcError::Token(_) => "oidc-rejected",
            OidcError::NoUsername(_) | OidcError::Reserved => "oidc-no-user",
            OidcError::NoAccess => "oidc-no-access",
        }
    }
}

/// What a session keeps between the redirect to the provider and the way back: the secrets that
/// bind the answer to this browser and this attempt.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    state: String,
    nonce: String,
    verifier: String,
    pub next: String,
}

/// The provider's metadata (endpoints and signing keys) is read at first use and again when an
/// ID token names a key it lacks (key rotation), at most this often.
const REFRESH_AT_MOST_EVERY: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Oidc {
    pub settings: Arc<OidcSettings>,
    http: reqwest::Client,
    metadata: Arc<RwLock<Option<(ProviderMetadata, Instant)>>>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(String);

impl Oidc {
    pub fn new(settings: OidcSettings) -> Oidc {
        let _ = rustls::crypto::ring::default_provider().install_default();
        // The provider's answers are read, never followed elsewhere (no redirects: SSRF).
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .expect("an HTTP client builds");
        Oidc { settings: Arc::new(settings), http, metadata: Arc::default() }
    }

    /// The issuer's origin (`scheme://host:port`), which the sign-out form may be sent on to.
    /// The origins the sign-out form may be sent on to: the issuer's, and the end-session
    /// endpoint's once discovery has named it (they may differ).
    pub fn origins(&self) -> String {
        let origin = |url: &str| reqwest::Url::parse(url).map(|u| u.origin().ascii_serialization()).ok();
        let end_session = self.metadata.try_read().ok().and_then(|m| m.as_ref().and_then(|(m, _)| m.additional_metadata().end_session_endpoint.as_deref().and_then(origin)));
        let mut origins: Vec<String> = origin(&self.settings.issuer).into_iter().chain(end_session).collect();
        origins.dedup();
        origins.join(" ")
    }

    /// The provider's end-session endpoint, for RP-initiated logout, if it has one; with the
    /// session's ID token as the hint some providers require.
    pub async fn sign_out_url(&self, id_token: Option<&str>) -> Option<String> {
        let metadata = self.metadata(false).await.ok()?;
        let end = metadata.additional_metadata().end_session_endpoint.as_deref()?;
        let mut url = reqwest::Url::parse(end).ok()?;
        url.query_pairs_mut().append_pair("client_id", &self.settings.client_id).append_pair("post_logout_redirect_uri", &self.settings.after_sign_out_url);
        if let Some(hint) = id_token {
            url.query_pairs_mut().append_pair("id_token_hint", hint);
        }
        Some(url.to_string())
    }

    /// The provider's address to send the browser to, and what the session keeps until it returns.
    pub async fn start(&self, next: String) -> Result<(String, Pending), OidcError> {
        let client = self.client(self.metadata(false).await?)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client.authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random).set_pkce_challenge(challenge);
        for scope in self.settings.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(openidconnect::Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.url();
        Ok((url.to_string(), Pending { state: state.secret().clone(), nonce: nonce.secret().clone(), verifier: verifier.secret().clone(), next }))
    }

    /// The identity the provider's answer proves, and its ID token (the hint for signing out): the
    /// state matches what this session sent, the code is exchanged with the PKCE verifier, and the
    /// ID token's signature, issuer, audience, expiry and nonce hold.
    pub async fn finish(&self, pending: Pending, state: &str, code: Option<&str>, iss: Option<&str>) -> Result<(Identity, String), OidcError> {
        if !bool::from(pending.state.as_bytes().ct_eq(state.as_bytes())) {
            return Err(OidcError::State);
        }
        // RFC 9207: an answer that says it comes from another issuer is a mix-up.
        if iss.is_some_and(|iss| iss.trim_end_matches('/') != self.settings.issuer.trim_end_matches('/')) {
            return Err(OidcError::Token("the answer names another issuer".into()));
        }
        let code = code.ok_or(OidcError::Refused)?;
        let http = self.transport();
        let client = self.client(self.metadata(false).await?)?;
        let tokens = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| OidcError::Unavailable(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier))
            .request_async(&http)
            .await
            .map_err(|e| OidcError::Exchange(exchange_failure(&e)))?;
        let id_token = tokens.id_token().ok_or_else(|| OidcError::Token("the answer has no ID token".into()))?;
        let nonce = Nonce::new(pending.nonce);
        let claims = match id_token.claims(&client.id_token_verifier(), &nonce) {
            Err(ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey)) => {
                // The provider may have rotated its keys since they were read.
                let client = self.client(self.metadata(true).await?)?;
                id_token.claims(&client.id_token_verifier(), &nonce).map_err(|e| OidcError::Token(rejection(&e)))?.clone()
            }
            other => other.map_err(|e| OidcError::Token(rejection(&e)))?.clone(),
        };
        // The crate leaves `azp` alone: a token authorized for another client is not ours.
        if claims.authorized_party().is_some_and(|azp| azp.as_str() != self.settings.client_id) {
            return Err(OidcError::Token("authorized for another client".into()));
        }
        let extra = &claims.additional_claims().0;
        let username = match self.settings.username_claim.as_str() {
            "sub" => Some(claims.subject().to_string()),
            // Only an address the provider verified: elsewhere anyone could take someone's name.
            "email" => claims.email().filter(|_| claims.email_verified() == Some(true)).map(|e| e.to_string()),
            "preferred_username" => claims.preferred_username().map(|u| u.to_string()),
            other => extra.get(other).and_then(|v| v.as_str()).map(str::to_string),
        }
        .filter(|u| !u.is_empty())
        .ok_or_else(|| OidcError::NoUsername(self.settings.username_claim.clone()))?;
        let groups = match extra.get(&self.settings.groups_claim) {
            Some(serde_json::Value::Array(items)) => items.iter().filter_map(|g| g.as_str()).map(|g| format!("{}{g}", self.settings.groups_prefix)).collect(),
            Some(serde_json::Value::String(one)) => vec![format!("{}{one}", self.settings.groups_prefix)],
            _ => Vec::new(),
        };
        // Kubernetes' own names (`system:masters`, `system:serviceaccount:…`) are never the
        // provider's to give: whoever may name their own groups there would be a cluster admin here.
        let user = format!("{}{username}", self.settings.username_prefix);
        if user.starts_with("system:") {
            return Err(OidcError::Reserved);
        }
        let groups = groups.into_iter().filter(|g: &String| !g.starts_with("system:")).collect();
        Ok((Identity { user, groups }.authenticated(), id_token.to_string()))
    }

    fn client(&self, metadata: ProviderMetadata) -> Result<Client, OidcError> {
        let redirect = RedirectUrl::new(self.settings.redirect_url.clone()).map_err(|e| OidcError::Unavailable(format!("the redirect URL: {e}")))?;
        Ok(Client::from_provider_metadata(metadata, ClientId::new(self.settings.client_id.clone()), Some(ClientSecret::new(self.settings.client_secret.clone()))).set_redirect_uri(redirect))
    }

    /// The provider's metadata and keys: read once, again when `fresh` is asked for (not more
    /// often than `REFRESH_AT_MOST_EVERY`). Discovery checks that the issuer it describes is the
    /// one configured.
    async fn metadata(&self, fresh: bool) -> Result<ProviderMetadata, OidcError> {
        if let Some((metadata, read)) = self.metadata.read().await.as_ref()
            && (!fresh || read.elapsed() < REFRESH_AT_MOST_EVERY)
        {
            return Ok(metadata.clone());
        }
        let issuer = IssuerUrl::new(self.settings.issuer.clone()).map_err(|e| OidcError::Unavailable(format!("--oidc-issuer: {e}")))?;
        let http = self.transport();
        let metadata = ProviderMetadata::discover_async(issuer, &http).await.map_err(|e| OidcError::Unavailable(discovery_failure(&e)))?;
        *self.metadata.write().await = Some((metadata.clone(), Instant::now()));
        Ok(metadata)
    }

    /// The protocol's HTTP calls, made by our client (each future owns what it uses).
    fn transport(&self) -> impl Fn(openidconnect::HttpRequest) -> std::pin::Pin<Box<dyn Future<Output = Result<openidconnect::HttpResponse, HttpError>> + Send>> {
        let http = self.http.clone();
        move |request| Box::pin(send(http.clone(), request))
    }
}

async fn send(http: reqwest::Client, request: openidconnect::HttpRequest) -> Result<openidconnect::HttpResponse, HttpError> {
    let (parts, body) = request.into_parts();
    let response = http.request(parts.method, parts.uri.to_string()).headers(parts.headers).body(body).send().await.map_err(|e| HttpError(e.to_string()))?;
    let (status, headers) = (response.status(), response.headers().clone());
    let body = response.bytes().await.map_err(|e| HttpError(e.to_string()))?;
    let mut answer = http::Response::new(body.to_vec());
    *answer.status_mut() = status;
    *answer.headers_mut() = headers;
    Ok(answer)
}

/// Discovery's failure, without the provider's body (it is the provider's text, not ours).
fn discovery_failure(e: &openidconnect::DiscoveryError<HttpError>) -> String {
    match e {
        openidconnect::DiscoveryError::Response(status, _, _) => format!("discovery answered {status}"),
        other => other.to_string(),
    }
}

/// The token endpoint's refusal by its OAuth error code (`invalid_grant` for a code used twice).
fn exchange_failure<E: std::error::Error>(e: &openidconnect::RequestTokenError<E, StandardErrorResponse<CoreErrorResponseType>>) -> String {
    match e {
        openidconnect::RequestTokenError::ServerResponse(answer) => format!("the provider said {}", answer.error()),
        openidconnect::RequestTokenError::Request(_) => "the provider could not be reached".into(),
        openidconnect::RequestTokenError::Parse(_, _) => "the provider's answer was not a token response".into(),
        openidconnect::RequestTokenError::Other(_) => "the provider's answer was unexpected".into(),
    }
}

/// Which check an ID token failed, by name only (the crate's messages quote claim values).
fn rejection(e: &ClaimsVerificationError) -> String {
    match e {
        ClaimsVerificationError::Expired(_) => "expired",
        ClaimsVerificationError::InvalidAudience(_) => "wrong audience",
        ClaimsVerificationError::InvalidIssuer(_) => "wrong issuer",
        ClaimsVerificationError::InvalidNonce(_) => "wrong nonce",
        ClaimsVerificationError::SignatureVerification(_) => "bad signature",
        _ => "invalid",
    }
    .to_string()
}
