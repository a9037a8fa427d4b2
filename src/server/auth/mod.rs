//! Who the user is (sign-in with a local account, a Kubernetes token or a trusted proxy's headers;
//! bearer tokens for the REST API), how their session lasts, and what they may do.

pub mod access;
pub mod accounts;
pub mod oidc;
pub mod rate_limit;
pub mod redirect;
pub mod session_key;
pub mod sessions;
pub mod web;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
use kube::api::{Api, PostParams};
use kube::Client;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use crate::domain::AppError;
use crate::domain::identity::Identity;
use crate::domain::session::{SignInMethod, SignInOptions};
use accounts::Accounts;
use rate_limit::SignInLimiter;

/// The one message every failed sign-in gets, so it reveals nothing about which accounts exist.
pub const SIGN_IN_FAILED: &str = "Wrong username or password.";
const TOKEN_FAILED: &str = "This token was not accepted.";
/// What callers are told when sign-in cannot be checked; the detail goes to the log.
pub const SIGN_IN_UNAVAILABLE: &str = "Sign-in is unavailable right now. Try again shortly.";
/// Password checks run at once: each holds about 19 MiB for argon2, so a burst cannot exhaust
/// memory; more are refused at once rather than queued.
const CONCURRENT_PASSWORD_CHECKS: usize = 4;
/// Single sign-ons one client address may start in a minute.
const OIDC_STARTS_PER_MINUTE: usize = 30;
/// How long a caller refused for lack of a free password check is told to wait.
const BUSY_RETRY: Duration = Duration::from_secs(1);

/// How sign-in behaves; from the command line.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// Failed sign-ins allowed per client address and per username within `window`.
    pub max_failures: usize,
    pub window: Duration,
    /// Proxies whose `X-Forwarded-For` names the client the rate limit counts.
    pub trusted_proxies: Vec<Cidr>,
    /// Authenticating proxies whose `X-Forwarded-User` and `X-Forwarded-Groups` are believed;
    /// empty turns the headers off.
    pub auth_proxies: Vec<Cidr>,
    /// Which sign-in methods the sign-in page offers and the server accepts.
    pub password: bool,
    pub token: bool,
    pub oidc: Option<oidc::OidcSettings>,
}

/// What a session holds: the identity, how and when it signed in, and (for a local account) the
/// account's fingerprint then; nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    pub identity: Identity,
    pub method: SignInMethod,
    /// Unix seconds; the absolute lifetime counts from here.
    pub since: i64,
    /// A local account's fingerprint at sign-in: the session lasts while it is unchanged.
    pub account: Option<String>,
}

impl SignedIn {
    pub fn now(identity: Identity, method: SignInMethod, account: Option<String>) -> Self {
        SignedIn { identity, method, since: jiff::Timestamp::now().as_second(), account }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("{0}")]
    Rejected(&'static str),
    #[error("too many attempts; retry in {0:?}")]
    TooMany(Duration),
    #[error("sign-in is unavailable: {0}")]
    Unavailable(String),
}

impl From<SignInError> for AppError {
    /// The detail of `Unavailable` is for the log (the audit line has it), never for the caller.
    fn from(e: SignInError) -> Self {
        match e {
            SignInError::Rejected(message) => AppError::SignIn(message.into()),
            SignInError::TooMany(wait) => AppError::TooManyAttempts { retry_after_secs: wait.as_secs().max(1) },
            SignInError::Unavailable(_) => AppError::Unavailable(SIGN_IN_UNAVAILABLE.into()),
        }
    }
}

/// The sign-in service.
#[derive(Clone)]
pub struct Auth {
    accounts: Accounts,
    client: Client,
    limiter: SignInLimiter,
    /// Single sign-ons started per client address: each keeps a session record until it returns.
    starts: SignInLimiter,
    password_checks: Arc<Semaphore>,
    trusted_proxies: Arc<Vec<Cidr>>,
    auth_proxies: Arc<Vec<Cidr>>,
    password: bool,
    token: bool,
    oidc: Option<oidc::Oidc>,
}

impl Auth {
    pub fn new(client: Client, system_namespace: &str, settings: AuthSettings) -> Self {
        Auth {
            accounts: Accounts::new(client.clone(), system_namespace),
            client,
            limiter: SignInLimiter::new(settings.max_failures, settings.window),
            starts: SignInLimiter::new(OIDC_STARTS_PER_MINUTE, Duration::from_secs(60)),
            password_checks: Arc::new(Semaphore::new(CONCURRENT_PASSWORD_CHECKS)),
            trusted_proxies: Arc::new(settings.trusted_proxies),
            auth_proxies: Arc::new(settings.auth_proxies),
            password: settings.password,
            token: settings.token,
            oidc: settings.oidc.map(oidc::Oidc::new),
        }
    }

    /// What the sign-in page offers.
    pub fn options(&self) -> SignInOptions {
        SignInOptions { password: self.password, token: self.token, oidc: self.oidc.as_ref().map(|o| o.settings.name.clone()) }
    }

    /// Counts a single sign-on started from `client`; `Err` with the wait when it has started
    /// too many within a minute (each keeps a session record: a flood would fill the store).
    pub fn oidc_start(&self, client: IpAddr) -> Result<(), Duration> {
        self.starts.reserve(vec![format!("addr:{client}")]).map(drop)
    }

    /// Single sign-on, when configured and turned on.
    pub fn oidc(&self) -> Option<&oidc::Oidc> {
        self.oidc.as_ref()
    }

    /// Reserves an attempt for `keys` (refused when over budget), then runs `check`; the attempt
    /// counts as a failure unless the check succeeds.
    async fn limited<T>(&self, keys: Vec<String>, check: impl Future<Output = Result<Option<T>, SignInError>>, failure: &'static str) -> Result<T, SignInError> {
        let attempt = self.limiter.reserve(keys).map_err(SignInError::TooMany)?;
        match check.await {
            Ok(Some(found)) => {
                attempt.withdraw();
                Ok(found)
            }
            Ok(None) => Err(SignInError::Rejected(failure)),
            // Not the person's failure: an outage must not use up their budget.
            Err(e) => {
                attempt.withdraw();
                Err(e)
            }
        }
    }

    pub async fn sign_in_with_password(&self, username: &str, password: &str, client: IpAddr) -> Result<SignedIn, SignInError> {
        if !self.password {
            return Err(SignInError::Rejected("Signing in with a password is turned off here."));
        }
        let username = username.trim();
        let result = match self.password_checks.clone().try_acquire_owned() {
            Ok(_permit) => {
                let keys = vec![format!("addr:{client}"), format!("user:{}", username.to_lowercase())];
                let check = async { self.accounts.verify(username, password).await.map_err(|e| SignInError::Unavailable(e.to_string())) };
                self.limited(keys, check, SIGN_IN_FAILED).await.map(|(identity, account)| SignedIn::now(identity, SignInMethod::Password, Some(account)))
            }
            Err(_) => Err(SignInError::TooMany(BUSY_RETRY)),
        };
        // A refused name is logged only when it is an account's: what was typed there may be a
        // password typed into the wrong field.
        let logged = match &result {
            Err(SignInError::Rejected(_)) if !matches!(self.accounts.fingerprint(username).await, Ok(Some(_))) => "(no such account)",
            _ => username,
        };
        audit(logged, SignInMethod::Password, client, &result);
        result
    }

    pub async fn sign_in_with_token(&self, token: &str, client: IpAddr) -> Result<SignedIn, SignInError> {
        if !self.token {
            return Err(SignInError::Rejected("Signing in with a token is turned off here."));
        }
        let result = self.limited(vec![format!("addr:{client}")], self.token_review(token.trim()), TOKEN_FAILED).await;
        let result = result.map(|identity| SignedIn::now(identity, SignInMethod::KubernetesToken, None));
        audit(result.as_ref().map(|s| s.identity.user.as_str()).unwrap_or("-"), SignInMethod::KubernetesToken, client, &result);
        result
    }

    /// The identity behind a REST API bearer token: an API token Keyhold issued, else a
    /// Kubernetes token. Wrong tokens count against the client's address like wrong passwords.
    /// Unlike a sign-in, a good token is not reserved first: one API client legitimately sends
    /// many requests at once, and a token is too long to guess in the few extra tries a burst
    /// gets.
    pub async fn bearer(&self, token: &str, client: IpAddr) -> Result<Identity, SignInError> {
        let keys = [format!("addr:{client}")];
        self.limiter.check(&keys).map_err(SignInError::TooMany)?;
        let found = if Accounts::is_api_token(token) {
            // Local accounts off (single sign-on alone): their API tokens are off with them, so
            // no one bypasses the provider.
            if !self.password {
                return Err(SignInError::Rejected(TOKEN_FAILED));
            }
            self.accounts.identity_of_token(token).await.map_err(|e| SignInError::Unavailable(e.to_string()))?
        } else {
            self.token_review(token).await?
        };
        found.ok_or_else(|| {
            self.limiter.record_failure(&keys);
            SignInError::Rejected(TOKEN_FAILED)
        })
    }

    /// Whether a session may go on: not when the way it signed in has been turned off since;
    /// for a password session, not once the password, the groups or the tokens changed or the
    /// account is gone.
    pub async fn still_valid(&self, signed_in: &SignedIn) -> Result<bool, SignInError> {
        let allowed = match signed_in.method {
            SignInMethod::Password => self.password,
            SignInMethod::KubernetesToken => self.token,
            SignInMethod::Oidc => self.oidc.is_some(),
            SignInMethod::Proxy => true,
        };
        if !allowed {
            return Ok(false);
        }
        let Some(account) = &signed_in.account else { return Ok(true) };
        let now = self.accounts.fingerprint(&signed_in.identity.user).await.map_err(|e| SignInError::Unavailable(e.to_string()))?;
        Ok(now.is_some_and(|now| bool::from(now.as_bytes().ct_eq(account.as_bytes()))))
    }

    async fn token_review(&self, token: &str) -> Result<Option<Identity>, SignInError> {
        if token.is_empty() {
            return Ok(None);
        }
        let review = TokenReview { spec: TokenReviewSpec { token: Some(token.into()), ..Default::default() }, ..Default::default() };
        let answer = Api::<TokenReview>::all(self.client.clone())
            .create(&PostParams::default(), &review)
            .await
            .map_err(|e| SignInError::Unavailable(format!("the Kubernetes API did not answer the token review: {e}")))?;
        let status = answer.status.unwrap_or_default();
        Ok(status
            .authenticated
            .unwrap_or(false)
            .then(|| status.user.and_then(|u| u.username.map(|name| Identity { user: name, groups: u.groups.unwrap_or_default() }.authenticated())))
            .flatten())
    }

    /// The identity an authenticating proxy asserts, if `peer` is one (`--auth-proxy`) and it
    /// set `X-Forwarded-User`.
    pub fn proxy_identity(&self, peer: IpAddr, headers: &http::HeaderMap) -> Option<Identity> {
        if !self.auth_proxies.iter().any(|p| p.contains(peer)) {
            return None;
        }
        let user = headers.get("x-forwarded-user")?.to_str().ok()?.trim();
        let groups = headers.get_all("x-forwarded-groups").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).map(str::trim).filter(|g| !g.is_empty());
        (!user.is_empty()).then(|| Identity { user: user.into(), groups: groups.map(str::to_string).collect() }.authenticated())
    }

    /// The client's address: the peer, or the one a trusted proxy (`--trusted-proxies`)
    /// forwarded for.
    pub fn client_addr(&self, peer: IpAddr, headers: &http::HeaderMap) -> IpAddr {
        let forwarded = || headers.get("x-forwarded-for")?.to_str().ok()?.rsplit(',').next()?.trim().parse().ok();
        if self.trusted_proxies.iter().any(|p| p.contains(peer)) { forwarded().unwrap_or(peer) } else { peer }
    }
}

/// One audit line per sign-in attempt: who, how, from where, and the outcome.
fn audit(user: &str, method: SignInMethod, client: IpAddr, result: &Result<SignedIn, SignInError>) {
    let method_name = format!("{method:?}").to_lowercase();
    match result {
        Ok(signed_in) => tracing::info!(target: "audit", user = %signed_in.identity.user, ?method, %client, "signed in"),
        Err(e) => tracing::warn!(target: "audit", user, ?method, %client, outcome = %e, "sign-in refused"),
    }
    crate::server::metrics::sign_in(&method_name, if result.is_ok() { "success" } else { "refused" });
}

/// An address range, `10.0.0.0/8` or a single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn contains(&self, addr: IpAddr) -> bool {
        // Both sides as 128 bits, an IPv4 address in the top 32, so one mask serves both families.
        let bits = |a: IpAddr| -> (u128, u8) {
            match a {
                IpAddr::V4(v4) => (u128::from(u32::from(v4)) << 96, 32),
                IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                    Some(v4) => (u128::from(u32::from(v4)) << 96, 32),
                    None => (u128::from(v6), 128),
                },
            }
        };
        let ((net, width), (candidate, other)) = (bits(self.network), bits(addr));
        if width != other {
            return false;
        }
        let mask = if self.prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(self.prefix)) };
        net & mask == candidate & mask
    }
}

impl std::str::FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = s.split_once('/').map_or((s, None), |(a, p)| (a, Some(p)));
        let network: IpAddr = addr.trim().parse().map_err(|_| format!("{s:?} is not an IP address or CIDR range"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| format!("{s:?} has a bad prefix length"))?,
            None => max,
        };
        Ok(Cidr { network, prefix })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_ranges_match_their_addresses_only() {
        let range: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(range.contains("10.1.200.3".parse().unwrap()));
        assert!(range.contains("::ffff:10.1.0.9".parse().unwrap()));
        assert!(!range.contains("10.2.0.1".parse().unwrap()));
        let one: Cidr = "127.0.0.1".parse().unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()) && !one.contains("127.0.0.2".parse().unwrap()));
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()) && !v6.contains("10.0.0.1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err() && "nope".parse::<Cidr>().is_err());
    }
}
