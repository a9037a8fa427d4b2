//! Local accounts, kept in the cluster as one Secret in the system namespace: per user, an
//! argon2id password hash, the user's groups and the API tokens issued to them (stored as SHA-256
//! digests). Writes read, change and replace the Secret with its resourceVersion, retrying on
//! conflict, so two writers never lose each other's change. Each account has a fingerprint that
//! changes with its password, groups and token revocations; sessions keep it, so such a change
//! ends them.

use std::collections::BTreeMap;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::domain::identity::Identity;
use crate::server::credentials::ownership::{MANAGED_BY, keyholds_own};

/// The Secret that holds the accounts.
pub const SECRET_NAME: &str = "keyhold-accounts";
const TOKEN_PREFIX: &str = "kh_";

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("user name {0:?} is not valid: use lower-case letters, digits, '-', '.' or '_', at most 63")]
    InvalidName(String),
    #[error("the password must have at least 8 characters")]
    WeakPassword,
    #[error("user {0:?} already exists")]
    Exists(String),
    #[error("user {0:?} does not exist")]
    NotFound(String),
    #[error("user {user:?} has no API token {id:?}")]
    NoSuchToken { user: String, id: String },
    #[error("the accounts Secret {0} cannot be read: {1}")]
    Corrupt(String, String),
    #[error("the Secret {0} was not made by Keyhold's account store; it is not read as accounts")]
    NotOwn(String),
    #[error("the Kubernetes API failed: {0}")]
    Kube(#[from] kube::Error),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Account {
    groups: Vec<String>,
    /// argon2id, in the PHC string format.
    password: String,
    #[serde(default)]
    tokens: Vec<StoredToken>,
    /// Bumped when a token is revoked, which changes the fingerprint.
    #[serde(default)]
    revocations: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredToken {
    id: String,
    sha256: String,
    created: Timestamp,
    expires: Timestamp,
}

/// What `keyhold user list` shows: never a hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSummary {
    pub name: String,
    pub groups: Vec<String>,
    /// (token id, expiry)
    pub tokens: Vec<(String, Timestamp)>,
}

/// A newly issued API token: shown once, then only its digest is kept.
pub struct IssuedToken {
    pub id: String,
    pub token: String,
    pub expires: Timestamp,
}

type Table = BTreeMap<String, Account>;

#[derive(Clone)]
pub struct Accounts {
    api: Api<Secret>,
    namespace: String,
}

impl Accounts {
    pub fn new(client: Client, namespace: &str) -> Self {
        Accounts { api: Api::namespaced(client, namespace), namespace: namespace.to_string() }
    }

    pub async fn add(&self, name: &str, groups: &[String], password: &str) -> Result<(), AccountError> {
        check_name(name)?;
        let hash = hash_password(password).await?;
        self.update(|table| {
            if table.contains_key(name) {
                return Err(AccountError::Exists(name.into()));
            }
            table.insert(name.into(), Account { groups: groups.to_vec(), password: hash.clone(), tokens: Vec::new(), revocations: 0 });
            Ok(())
        })
        .await
    }

    pub async fn set_password(&self, name: &str, password: &str) -> Result<(), AccountError> {
        let hash = hash_password(password).await?;
        self.update(|table| {
            table.get_mut(name).ok_or_else(|| AccountError::NotFound(name.into()))?.password = hash.clone();
            Ok(())
        })
        .await
    }

    pub async fn list(&self) -> Result<Vec<AccountSummary>, AccountError> {
        let (_, table) = self.read().await?;
        Ok(table
            .into_iter()
            .map(|(name, a)| AccountSummary { name, groups: a.groups, tokens: a.tokens.into_iter().map(|t| (t.id, t.expires)).collect() })
            .collect())
    }

    /// The identity and fingerprint of `name` if `password` is theirs. An unknown user costs the
    /// same hashing time as a known one, so timing does not tell which names exist.
    pub async fn verify(&self, name: &str, password: &str) -> Result<Option<(Identity, String)>, AccountError> {
        let (_, table) = self.read().await?;
        let account = table.get(name);
        let hash = account.map(|a| a.password.clone()).unwrap_or_else(|| DECOY_HASH.to_string());
        let password = password.to_string();
        let matches = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        })
        .await
        .unwrap_or(false);
        Ok(account.filter(|_| matches).map(|a| (identity(name, a), fingerprint(a))))
    }

    /// The fingerprint of `name` now; `None` once the account is gone.
    pub async fn fingerprint(&self, name: &str) -> Result<Option<String>, AccountError> {
        let (_, table) = self.read().await?;
        Ok(table.get(name).map(fingerprint))
    }

    pub async fn issue_token(&self, name: &str, valid_for: SignedDuration) -> Result<IssuedToken, AccountError> {
        let (id, secret) = (random_text(6), random_text(32));
        let now = Timestamp::now();
        let expires = now.checked_add(valid_for).unwrap_or(Timestamp::MAX);
        self.update(|table| {
            let account = table.get_mut(name).ok_or_else(|| AccountError::NotFound(name.into()))?;
            account.tokens.retain(|t| t.expires > now);
            account.tokens.push(StoredToken { id: id.clone(), sha256: digest(&secret), created: now, expires });
            Ok(())
        })
        .await?;
        Ok(IssuedToken { token: format!("{TOKEN_PREFIX}{id}_{secret}"), id, expires })
    }

    pub async fn revoke_token(&self, name: &str, id: &str) -> Result<(), AccountError> {
        self.update(|table| {
            let account = table.get_mut(name).ok_or_else(|| AccountError::NotFound(name.into()))?;
            let before = account.tokens.len();
            account.tokens.retain(|t| t.id != id);
            if account.tokens.len() == before {
                return Err(AccountError::NoSuchToken { user: name.into(), id: id.into() });
            }
            account.revocations += 1;
            Ok(())
        })
        .await
    }

    /// Whether `token` looks like one Keyhold issues (else it may be a Kubernetes token).
    pub fn is_api_token(token: &str) -> bool {
        token.starts_with(TOKEN_PREFIX)
    }

    /// The identity of the account an unexpired API token was issued to.
    pub async fn identity_of_token(&self, token: &str) -> Result<Option<Identity>, AccountError> {
        let Some((id, secret)) = token.strip_prefix(TOKEN_PREFIX).and_then(|t| t.split_once('_')) else { return Ok(None) };
        let (_, table) = self.read().await?;
        let wanted = digest(secret);
        let now = Timestamp::now();
        Ok(table.iter().find_map(|(name, account)| {
            account
                .tokens
                .iter()
                .any(|t| t.id == id && bool::from(t.sha256.as_bytes().ct_eq(wanted.as_bytes())) && t.expires > now)
                .then(|| identity(name, account))
        }))
    }

    async fn read(&self) -> Result<(Option<Secret>, Table), AccountError> {
        let Some(secret) = self.api.get_opt(SECRET_NAME).await? else { return Ok((None, Table::new())) };
        if !keyholds_own(&secret.metadata) {
            return Err(AccountError::NotOwn(format!("{}/{SECRET_NAME}", self.namespace)));
        }
        let mut table = Table::new();
        for (name, value) in secret.data.iter().flatten() {
            let account = serde_json::from_slice(&value.0).map_err(|e| AccountError::Corrupt(format!("{}/{SECRET_NAME}", self.namespace), format!("{name}: {e}")))?;
            table.insert(name.clone(), account);
        }
        Ok((Some(secret), table))
    }

    /// Applies `change` to the current accounts and writes them back, retrying when someone else
    /// wrote in between.
    async fn update(&self, change: impl Fn(&mut Table) -> Result<(), AccountError>) -> Result<(), AccountError> {
        loop {
            let (existing, mut table) = self.read().await?;
            change(&mut table)?;
            let data = table.iter().map(|(name, a)| (name.clone(), ByteString(serde_json::to_vec(a).expect("accounts serialize")))).collect();
            let result = match existing {
                Some(mut secret) => {
                    secret.data = Some(data);
                    self.api.replace(SECRET_NAME, &PostParams::default(), &secret).await
                }
                None => {
                    let secret = Secret {
                        metadata: ObjectMeta {
                            name: Some(SECRET_NAME.into()),
                            labels: Some([(MANAGED_BY.to_string(), "keyhold".to_string())].into()),
                            ..Default::default()
                        },
                        data: Some(data),
                        ..Default::default()
                    };
                    self.api.create(&PostParams::default(), &secret).await
                }
            };
            match result {
                Err(kube::Error::Api(e)) if e.code == 409 => continue,
                other => return other.map(|_| ()).map_err(Into::into),
            }
        }
    }
}

fn identity(name: &str, account: &Account) -> Identity {
    Identity { user: name.into(), groups: account.groups.clone() }.authenticated()
}

/// A digest of what a session of this account depends on: password, groups, revocations.
fn fingerprint(account: &Account) -> String {
    digest(&serde_json::json!([account.password, account.groups, account.revocations]).to_string())
}

fn check_name(name: &str) -> Result<(), AccountError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._".contains(&b))
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && !name.starts_with("system");
    if ok { Ok(()) } else { Err(AccountError::InvalidName(name.into())) }
}

async fn hash_password(password: &str) -> Result<String, AccountError> {
    if password.chars().count() < 8 {
        return Err(AccountError::WeakPassword);
    }
    let password = password.to_string();
    let hash = tokio::task::spawn_blocking(move || {
        Argon2::default().hash_password(password.as_bytes(), &salt()).map(|h| h.to_string())
    })
    .await
    .expect("hashing does not panic")
    .expect("argon2 accepts any password with default parameters");
    Ok(hash)
}

/// A valid argon2id hash of a random password, verified against when the user does not exist.
static DECOY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    Argon2::default().hash_password(random_text(16).as_bytes(), &salt()).expect("hashing a random password").to_string()
});

fn salt() -> SaltString {
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes);
    SaltString::encode_b64(&bytes).expect("16 bytes make a valid salt")
}

/// `bytes` random bytes as URL-safe text.
fn random_text(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::fill(&mut buf[..]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf).replace(['-', '_'], "x")
}

/// A password for `keyhold user add` when none is given.
pub fn generate_password() -> String {
    random_text(15)
}

fn digest(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_follow_the_secret_key_rules_and_leave_system_names_alone() {
        for good in ["alice", "bob.smith", "ci_bot-2"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", "Alice", "-bob", "a b", "system:admin", "systemd", &"a".repeat(64)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn random_text_has_no_token_separator() {
        let text = random_text(32);
        assert!(!text.contains('_') && !text.contains('-') && text.len() >= 43, "{text}");
    }
}
