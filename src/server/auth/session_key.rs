//! The key that signs session records, kept in the Secret `keyhold-session-key` of the system
//! namespace: made with 32 random bytes by the first replica that finds none, read by every
//! other, so replicas sharing a store verify each other's records. Someone who can write to the
//! session store but not read this Secret cannot mint a session. Replacing the Secret (and
//! restarting) ends every session.

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};

use crate::server::credentials::ownership::{MANAGED_BY, keyholds_own};

pub const SECRET_NAME: &str = "keyhold-session-key";
const DATA_KEY: &str = "hmac-sha256";
const KEY_BYTES: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum SessionKeyError {
    #[error("cannot read or create the Secret {namespace}/{SECRET_NAME}: {source}")]
    Kube { namespace: String, source: kube::Error },
    #[error("the Secret {namespace}/{SECRET_NAME} needs at least {KEY_BYTES} bytes in {DATA_KEY:?}")]
    TooShort { namespace: String },
    #[error("the Secret {namespace}/{SECRET_NAME} was not made by Keyhold for its sessions")]
    NotOwn { namespace: String },
}

/// The session key, from its Secret; created when there is none.
pub async fn load_or_create(client: Client, namespace: &str) -> Result<Vec<u8>, SessionKeyError> {
    let api = Api::<Secret>::namespaced(client, namespace);
    let kube = |source| SessionKeyError::Kube { namespace: namespace.to_string(), source };
    let secret = match api.get_opt(SECRET_NAME).await.map_err(kube)? {
        Some(secret) => secret,
        None => {
            let mut key = vec![0u8; KEY_BYTES];
            rand::fill(&mut key[..]);
            let new = Secret {
                metadata: ObjectMeta {
                    name: Some(SECRET_NAME.into()),
                    labels: Some([(MANAGED_BY.to_string(), "keyhold".to_string())].into()),
                    ..Default::default()
                },
                data: Some([(DATA_KEY.to_string(), ByteString(key))].into()),
                ..Default::default()
            };
            match api.create(&PostParams::default(), &new).await {
                Ok(created) => created,
                // Another replica made it first: use theirs.
                Err(kube::Error::Api(e)) if e.code == 409 => api.get(SECRET_NAME).await.map_err(kube)?,
                Err(e) => return Err(kube(e)),
            }
        }
    };
    if !keyholds_own(&secret.metadata) {
        return Err(SessionKeyError::NotOwn { namespace: namespace.to_string() });
    }
    secret
        .data
        .and_then(|mut data| data.remove(DATA_KEY))
        .map(|bytes| bytes.0)
        .filter(|key| key.len() >= KEY_BYTES)
        .ok_or_else(|| SessionKeyError::TooShort { namespace: namespace.to_string() })
}
