//! Where sessions live: tower-sessions' `SessionStore` on an SQLite file in the data directory (the
//! default: sessions survive a restart) or on Redis (several replicas share them). A session holds
//! the signed-in identity only, never a value. Every record is stored with an HMAC under the
//! session key (see `session_key`), and one that does not verify is no session: a write into the
//! store cannot mint one.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use redis::IntoConnectionInfo;
use ring::hmac;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result, SessionStore};

#[derive(Debug, thiserror::Error)]
pub enum SessionStoreError {
    #[error("cannot open the session database {path}: {reason}")]
    Sqlite { path: String, reason: String },
    #[error("cannot use the Redis session store {url}: {reason}")]
    Redis { url: String, reason: String },
}

/// The configured store, one type for the session layer.
#[derive(Debug, Clone)]
pub struct Sessions(Arc<dyn SessionStore>);

impl Sessions {
    /// Redis when `url` is a `redis://` or `rediss://` URL (with `password`, if any), else SQLite
    /// in `data_dir`; records signed with `key`.
    pub async fn open(url: Option<&str>, password: Option<&str>, data_dir: &Path, key: &[u8]) -> std::result::Result<Self, SessionStoreError> {
        let codec = Codec::new(key);
        Ok(Sessions(match url {
            Some(url) => Arc::new(RedisSessions::connect(url, password, codec).await?),
            None => Arc::new(SqliteSessions::open(&data_dir.join("sessions.sqlite3"), codec)?),
        }))
    }
}

#[async_trait]
impl SessionStore for Sessions {
    async fn create(&self, record: &mut Record) -> Result<()> {
        self.0.create(record).await
    }

    async fn save(&self, record: &Record) -> Result<()> {
        self.0.save(record).await
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        self.0.load(id).await
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        self.0.delete(id).await
    }
}

/// Records as stored: the hex HMAC-SHA256 of the record's JSON, a newline, the JSON.
#[derive(Clone)]
pub struct Codec(hmac::Key);

impl std::fmt::Debug for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Codec")
    }
}

impl Codec {
    pub fn new(key: &[u8]) -> Self {
        Codec(hmac::Key::new(hmac::HMAC_SHA256, key))
    }

    fn encode(&self, record: &Record) -> Result<Vec<u8>> {
        let json = serde_json::to_vec(record).map_err(|e| Error::Encode(e.to_string()))?;
        let tag = hmac::sign(&self.0, &json);
        let mut bytes: Vec<u8> = tag.as_ref().iter().flat_map(|b| format!("{b:02x}").into_bytes()).collect();
        bytes.push(b'\n');
        bytes.extend_from_slice(&json);
        Ok(bytes)
    }

    /// The record stored under `id`, if it verifies and is the record of that id; anything else
    /// is logged and treated as no session.
    fn decode(&self, id: &Id, bytes: &[u8]) -> Option<Record> {
        let verified = bytes
            .iter()
            .position(|b| *b == b'\n')
            .map(|at| bytes.split_at(at))
            .and_then(|(tag, json)| Some((hex(tag)?, &json[1..])))
            .filter(|(tag, json)| hmac::verify(&self.0, json, tag).is_ok())
            .and_then(|(_, json)| serde_json::from_slice::<Record>(json).ok())
            .filter(|record| record.id == *id);
        if verified.is_none() {
            // Not the id: it is the cookie's value, a credential.
            tracing::warn!("a session record failed verification; treated as no session");
        }
        verified
    }
}

fn hex(text: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(text).ok()?;
    (text.len() % 2 == 0).then_some(())?;
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

fn backend(e: impl std::fmt::Display) -> Error {
    Error::Backend(e.to_string())
}

/// Sessions in an SQLite file; each call runs on the blocking pool.
#[derive(Debug, Clone)]
pub struct SqliteSessions {
    db: Arc<Mutex<rusqlite::Connection>>,
    codec: Codec,
}

impl SqliteSessions {
    pub fn open(path: &Path, codec: Codec) -> std::result::Result<Self, SessionStoreError> {
        let fail = |e: rusqlite::Error| SessionStoreError::Sqlite { path: path.display().to_string(), reason: e.to_string() };
        let db = rusqlite::Connection::open(path).map_err(fail)?;
        db.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, record BLOB NOT NULL, expires INTEGER NOT NULL);
             CREATE INDEX IF NOT EXISTS sessions_expires ON sessions (expires);",
        )
        .map_err(fail)?;
        Ok(SqliteSessions { db: Arc::new(Mutex::new(db)), codec })
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T> + Send + 'static) -> Result<T> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || work(&db.lock().unwrap_or_else(|p| p.into_inner())))
            .await
            .map_err(backend)?
            .map_err(backend)
    }
}

#[async_trait]
impl SessionStore for SqliteSessions {
    async fn create(&self, record: &mut Record) -> Result<()> {
        loop {
            let (id, bytes, expires) = (record.id.to_string(), self.codec.encode(record)?, record.expiry_date.unix_timestamp());
            let inserted = self
                .run(move |db| {
                    // Expired sessions go when new ones come, which bounds the file without a timer.
                    db.execute("DELETE FROM sessions WHERE expires <= unixepoch()", [])?;
                    db.execute("INSERT OR IGNORE INTO sessions (id, record, expires) VALUES (?1, ?2, ?3)", rusqlite::params![id, bytes, expires])
                })
                .await?;
            if inserted == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> Result<()> {
        let (id, bytes, expires) = (record.id.to_string(), self.codec.encode(record)?, record.expiry_date.unix_timestamp());
        self.run(move |db| db.execute("INSERT OR REPLACE INTO sessions (id, record, expires) VALUES (?1, ?2, ?3)", rusqlite::params![id, bytes, expires]))
            .await
            .map(drop)
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let key = id.to_string();
        let bytes: Option<Vec<u8>> = self
            .run(move |db| {
                let mut query = db.prepare_cached("SELECT record FROM sessions WHERE id = ?1 AND expires > unixepoch()")?;
                let mut rows = query.query([key])?;
                rows.next()?.map(|row| row.get(0)).transpose()
            })
            .await?;
        Ok(bytes.and_then(|b| self.codec.decode(id, &b)))
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        let id = id.to_string();
        self.run(move |db| db.execute("DELETE FROM sessions WHERE id = ?1", [id])).await.map(drop)
    }
}

/// Sessions in Redis, each a key that expires with the session.
#[derive(Clone)]
pub struct RedisSessions {
    connection: redis::aio::ConnectionManager,
    codec: Codec,
}

impl std::fmt::Debug for RedisSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedisSessions")
    }
}

impl RedisSessions {
    /// `password` comes apart from the URL, so it can come from a Secret and never show in a
    /// message that names the URL.
    pub async fn connect(url: &str, password: Option<&str>, codec: Codec) -> std::result::Result<Self, SessionStoreError> {
        let fail = |e: redis::RedisError| SessionStoreError::Redis { url: url.to_string(), reason: e.to_string() };
        let mut info = url.into_connection_info().map_err(fail)?;
        if let Some(password) = password {
            let settings = info.redis_settings().clone().set_password(password);
            info = info.set_redis_settings(settings);
        }
        let client = redis::Client::open(info).map_err(fail)?;
        let connection = client.get_connection_manager().await.map_err(fail)?;
        Ok(RedisSessions { connection, codec })
    }

    fn key(id: &Id) -> String {
        format!("keyhold:session:{id}")
    }

    /// SET with an absolute expiry; `NX` when the id must be new. Whether the key was written.
    async fn set(&self, record: &Record, only_new: bool) -> Result<bool> {
        let mut command = redis::cmd("SET");
        command.arg(Self::key(&record.id)).arg(self.codec.encode(record)?).arg("EXAT").arg(record.expiry_date.unix_timestamp());
        if only_new {
            command.arg("NX");
        }
        let reply: Option<String> = command.query_async(&mut self.connection.clone()).await.map_err(backend)?;
        Ok(reply.is_some())
    }
}

#[async_trait]
impl SessionStore for RedisSessions {
    async fn create(&self, record: &mut Record) -> Result<()> {
        while !self.set(record, true).await? {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> Result<()> {
        self.set(record, false).await.map(drop)
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let bytes: Option<Vec<u8>> = redis::cmd("GET").arg(Self::key(id)).query_async(&mut self.connection.clone()).await.map_err(backend)?;
        Ok(bytes.and_then(|b| self.codec.decode(id, &b)))
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        redis::cmd("DEL").arg(Self::key(id)).query_async::<()>(&mut self.connection.clone()).await.map_err(backend)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::{Duration, OffsetDateTime};

    fn codec() -> Codec {
        Codec::new(&[7; 32])
    }

    fn record(expires_in: Duration) -> Record {
        let mut data = std::collections::HashMap::new();
        data.insert("user".to_string(), serde_json::json!({"name": "bob"}));
        Record { id: Id::default(), data, expiry_date: OffsetDateTime::now_utc() + expires_in }
    }

    #[tokio::test]
    async fn sqlite_keeps_sessions_across_reopening_and_forgets_expired_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite3");
        let mut live = record(Duration::hours(1));
        let mut expired = record(Duration::seconds(-1));
        {
            let store = SqliteSessions::open(&path, codec()).unwrap();
            store.create(&mut live).await.unwrap();
            store.create(&mut expired).await.unwrap();
        }
        let store = SqliteSessions::open(&path, codec()).unwrap();
        assert_eq!(store.load(&live.id).await.unwrap(), Some(live.clone()));
        assert_eq!(store.load(&expired.id).await.unwrap(), None);
        store.delete(&live.id).await.unwrap();
        assert_eq!(store.load(&live.id).await.unwrap(), None);
    }

    #[tokio::test]
    async fn sqlite_create_never_overwrites_an_existing_id() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteSessions::open(&dir.path().join("s.sqlite3"), codec()).unwrap();
        let mut first = record(Duration::hours(1));
        store.create(&mut first).await.unwrap();
        let mut second = record(Duration::hours(1));
        second.id = first.id;
        store.create(&mut second).await.unwrap();
        assert_ne!(second.id, first.id);
        assert_eq!(store.load(&first.id).await.unwrap(), Some(first));
    }

    #[test]
    fn only_records_signed_with_the_key_for_their_own_id_decode() {
        let live = record(Duration::hours(1));
        let bytes = codec().encode(&live).unwrap();
        assert_eq!(codec().decode(&live.id, &bytes), Some(live.clone()));
        assert_eq!(Codec::new(&[8; 32]).decode(&live.id, &bytes), None, "another key");
        assert_eq!(codec().decode(&Id::default(), &bytes), None, "copied under another id");
        let forged = String::from_utf8(bytes).unwrap().replace("bob", "eve");
        assert_eq!(codec().decode(&live.id, forged.as_bytes()), None, "changed after signing");
        assert_eq!(codec().decode(&live.id, &serde_json::to_vec(&live).unwrap()), None, "unsigned");
    }
}
