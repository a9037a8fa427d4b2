//! Where sessions live: tower-sessions' `SessionStore` on an SQLite file in the data directory (the
//! default: sessions survive a restart) or on Redis (several replicas share them). A session holds
//! the signed-in identity only, never a value.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
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
    /// Redis when `url` is a `redis://` or `rediss://` URL, else SQLite in `data_dir`.
    pub async fn open(url: Option<&str>, data_dir: &Path) -> std::result::Result<Self, SessionStoreError> {
        Ok(Sessions(match url {
            Some(url) => Arc::new(RedisSessions::connect(url).await?),
            None => Arc::new(SqliteSessions::open(&data_dir.join("sessions.sqlite3"))?),
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

fn encode(record: &Record) -> Result<Vec<u8>> {
    serde_json::to_vec(record).map_err(|e| Error::Encode(e.to_string()))
}

fn decode(bytes: &[u8]) -> Result<Record> {
    serde_json::from_slice(bytes).map_err(|e| Error::Decode(e.to_string()))
}

fn backend(e: impl std::fmt::Display) -> Error {
    Error::Backend(e.to_string())
}

/// Sessions in an SQLite file; each call runs on the blocking pool.
#[derive(Debug, Clone)]
pub struct SqliteSessions {
    db: Arc<Mutex<rusqlite::Connection>>,
}

impl SqliteSessions {
    pub fn open(path: &Path) -> std::result::Result<Self, SessionStoreError> {
        let fail = |e: rusqlite::Error| SessionStoreError::Sqlite { path: path.display().to_string(), reason: e.to_string() };
        let db = rusqlite::Connection::open(path).map_err(fail)?;
        db.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, record BLOB NOT NULL, expires INTEGER NOT NULL);
             CREATE INDEX IF NOT EXISTS sessions_expires ON sessions (expires);",
        )
        .map_err(fail)?;
        Ok(SqliteSessions { db: Arc::new(Mutex::new(db)) })
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
            let (id, bytes, expires) = (record.id.to_string(), encode(record)?, record.expiry_date.unix_timestamp());
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
        let (id, bytes, expires) = (record.id.to_string(), encode(record)?, record.expiry_date.unix_timestamp());
        self.run(move |db| db.execute("INSERT OR REPLACE INTO sessions (id, record, expires) VALUES (?1, ?2, ?3)", rusqlite::params![id, bytes, expires]))
            .await
            .map(drop)
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let id = id.to_string();
        let bytes: Option<Vec<u8>> = self
            .run(move |db| {
                let mut query = db.prepare_cached("SELECT record FROM sessions WHERE id = ?1 AND expires > unixepoch()")?;
                let mut rows = query.query([id])?;
                rows.next()?.map(|row| row.get(0)).transpose()
            })
            .await?;
        bytes.map(|b| decode(&b)).transpose()
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
}

impl std::fmt::Debug for RedisSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedisSessions")
    }
}

impl RedisSessions {
    pub async fn connect(url: &str) -> std::result::Result<Self, SessionStoreError> {
        let fail = |e: redis::RedisError| SessionStoreError::Redis { url: url.to_string(), reason: e.to_string() };
        let client = redis::Client::open(url).map_err(fail)?;
        let connection = client.get_connection_manager().await.map_err(fail)?;
        Ok(RedisSessions { connection })
    }

    fn key(id: &Id) -> String {
        format!("keyhold:session:{id}")
    }

    /// SET with an absolute expiry; `NX` when the id must be new. Whether the key was written.
    async fn set(&self, record: &Record, only_new: bool) -> Result<bool> {
        let mut command = redis::cmd("SET");
        command.arg(Self::key(&record.id)).arg(encode(record)?).arg("EXAT").arg(record.expiry_date.unix_timestamp());
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
        bytes.map(|b| decode(&b)).transpose()
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        redis::cmd("DEL").arg(Self::key(id)).query_async::<()>(&mut self.connection.clone()).await.map_err(backend)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::{Duration, OffsetDateTime};

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
            let store = SqliteSessions::open(&path).unwrap();
            store.create(&mut live).await.unwrap();
            store.create(&mut expired).await.unwrap();
        }
        let store = SqliteSessions::open(&path).unwrap();
        assert_eq!(store.load(&live.id).await.unwrap(), Some(live.clone()));
        assert_eq!(store.load(&expired.id).await.unwrap(), None);
        store.delete(&live.id).await.unwrap();
        assert_eq!(store.load(&live.id).await.unwrap(), None);
    }

    #[tokio::test]
    async fn sqlite_create_never_overwrites_an_existing_id() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteSessions::open(&dir.path().join("s.sqlite3")).unwrap();
        let mut first = record(Duration::hours(1));
        store.create(&mut first).await.unwrap();
        let mut second = record(Duration::hours(1));
        second.id = first.id;
        store.create(&mut second).await.unwrap();
        assert_ne!(second.id, first.id);
        assert_eq!(store.load(&first.id).await.unwrap(), Some(first));
    }
}
