//! The embedded cluster's object store: every object as JSON, persisted in a redb file and mirrored
//! in memory, with one cluster-wide resourceVersion counter and a change feed for watches.
//!
//! A write is acknowledged only after its redb transaction has committed (fsync), so it survives
//! `kill -9`; the counter is stored in the same transaction, so resourceVersions keep increasing
//! across restarts.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde_json::Value;
use tokio::sync::broadcast;

const OBJECTS: TableDefinition<&str, &[u8]> = TableDefinition::new("objects");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const RV_KEY: &str = "resourceVersion";

/// How many past changes a watch may resume from before it gets 410 Expired.
const HISTORY: usize = 10_000;
/// How many changes a slow watcher may fall behind before its stream is closed (it then re-watches,
/// from well within the history).
const FEED_CAPACITY: usize = 4_096;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the cluster state in {path}: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error("the cluster state in {path} is corrupt: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("cannot write the cluster state: {0}")]
    Write(String),
}

/// Where an object lives: its type's storage id, namespace ("" for cluster-scoped) and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    pub resource: String,
    pub namespace: String,
    pub name: String,
}

impl ObjectKey {
    pub fn new(resource: impl Into<String>, namespace: impl Into<String>, name: impl Into<String>) -> Self {
        ObjectKey { resource: resource.into(), namespace: namespace.into(), name: name.into() }
    }

    fn encode(&self) -> String {
        format!("{}\n{}\n{}", self.resource, self.namespace, self.name)
    }

    fn decode(s: &str) -> Option<Self> {
        let mut parts = s.splitn(3, '\n');
        Some(ObjectKey::new(parts.next()?, parts.next()?, parts.next()?))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

/// One committed change.
#[derive(Debug)]
pub struct Change {
    pub rv: u64,
    pub kind: EventType,
    pub key: ObjectKey,
    /// The new state (for deletions: the last state, stamped with the deletion's resourceVersion).
    pub object: Arc<Value>,
    /// The state before, so watches with selectors can tell entering from leaving.
    pub previous: Option<Arc<Value>>,
}

/// What a mutation decides, given the current object.
pub enum Mutation {
    Put(Value),
    Delete,
    Unchanged,
}

struct State {
    rv: u64,
    objects: BTreeMap<ObjectKey, Arc<Value>>,
    history: VecDeque<Arc<Change>>,
}

impl State {
    fn items(&self, resource: &str, namespace: Option<&str>) -> Vec<Arc<Value>> {
        let start = ObjectKey::new(resource, namespace.unwrap_or(""), "");
        self.objects
            .range(start..)
            .take_while(|(k, _)| k.resource == resource && namespace.is_none_or(|ns| k.namespace == ns))
            .map(|(_, v)| v.clone())
            .collect()
    }
}

pub struct Store {
    path: PathBuf,
    db: Database,
    state: Mutex<State>,
    feed: broadcast::Sender<Arc<Change>>,
}

/// The start of a watch: changes to replay, then the live feed.
pub struct Subscription {
    pub replay: Vec<Arc<Change>>,
    pub live: broadcast::Receiver<Arc<Change>>,
}

impl Store {
    /// Opens (or creates) the store in `dir`. Returns whether it was created now.
    pub fn open(dir: &Path) -> Result<(Self, bool), StoreError> {
        let path = dir.join("cluster.redb");
        let open_err = |reason: String| StoreError::Open { path: path.clone(), reason };
        let created = !path.exists();
        let db = Database::create(&path).map_err(|e| open_err(e.to_string()))?;
        let corrupt = |reason: String| StoreError::Corrupt { path: path.clone(), reason };

        let txn = db.begin_write().map_err(|e| corrupt(e.to_string()))?;
        txn.open_table(OBJECTS).map_err(|e| corrupt(e.to_string()))?;
        txn.open_table(META).map_err(|e| corrupt(e.to_string()))?;
        txn.commit().map_err(|e| corrupt(e.to_string()))?;

        let mut objects = BTreeMap::new();
        let read = db.begin_read().map_err(|e| corrupt(e.to_string()))?;
        let table = read.open_table(OBJECTS).map_err(|e| corrupt(e.to_string()))?;
        for entry in table.iter().map_err(|e| corrupt(e.to_string()))? {
            let (key, value) = entry.map_err(|e| corrupt(e.to_string()))?;
            let key = ObjectKey::decode(key.value()).ok_or_else(|| corrupt(format!("bad key {:?}", key.value())))?;
            let object: Value = serde_json::from_slice(value.value()).map_err(|e| corrupt(format!("object {key:?}: {e}")))?;
            objects.insert(key, Arc::new(object));
        }
        let meta = read.open_table(META).map_err(|e| corrupt(e.to_string()))?;
        let rv = meta.get(RV_KEY).map_err(|e| corrupt(e.to_string()))?.map(|v| v.value()).unwrap_or(0);
        drop((table, meta, read));

        let (feed, _) = broadcast::channel(FEED_CAPACITY);
        let state = Mutex::new(State { rv, objects, history: VecDeque::new() });
        Ok((Store { path, db, state, feed }, created))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-written state behind (redb commits
        // atomically and the map is updated after it), so a poisoned lock is safe to reuse.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The current cluster-wide resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.lock().rv
    }

    pub fn get(&self, key: &ObjectKey) -> Option<Arc<Value>> {
        self.lock().objects.get(key).cloned()
    }

    /// The objects of one type, in one namespace or all, ordered by namespace then name, with the
    /// resourceVersion of this snapshot.
    pub fn list(&self, resource: &str, namespace: Option<&str>) -> (u64, Vec<Arc<Value>>) {
        let state = self.lock();
        (state.rv, state.items(resource, namespace))
    }

    /// Applies `decide` to the current object under the store's lock and commits what it returns.
    /// Returns the committed change, or `None` when nothing changed.
    pub fn mutate<E>(
        &self,
        key: &ObjectKey,
        decide: impl FnOnce(Option<&Value>, u64) -> Result<Mutation, E>,
    ) -> Result<Option<Arc<Change>>, E>
    where
        E: From<StoreError>,
    {
        let mut state = self.lock();
        let previous = state.objects.get(key).cloned();
        let next_rv = state.rv + 1;
        let (kind, object) = match decide(previous.as_deref(), next_rv)? {
            Mutation::Unchanged => return Ok(None),
            Mutation::Put(mut object) => {
                object["metadata"]["resourceVersion"] = Value::String(next_rv.to_string());
                let kind = if previous.is_some() { EventType::Modified } else { EventType::Added };
                (kind, object)
            }
            Mutation::Delete => {
                let Some(prev) = previous.as_deref() else { return Ok(None) };
                let mut last = prev.clone();
                last["metadata"]["resourceVersion"] = Value::String(next_rv.to_string());
                (EventType::Deleted, last)
            }
        };
        self.persist(key, (kind != EventType::Deleted).then_some(&object), next_rv)?;

        let object = Arc::new(object);
        state.rv = next_rv;
        if kind == EventType::Deleted {
            state.objects.remove(key);
        } else {
            state.objects.insert(key.clone(), object.clone());
        }
        let change = Arc::new(Change { rv: next_rv, kind, key: key.clone(), object, previous });
        if state.history.len() == HISTORY {
            state.history.pop_front();
        }
        state.history.push_back(change.clone());
        // No receivers is fine: nobody is watching.
        let _ = self.feed.send(change.clone());
        Ok(Some(change))
    }

    fn persist(&self, key: &ObjectKey, object: Option<&Value>, rv: u64) -> Result<(), StoreError> {
        let write = |e: &dyn std::fmt::Display| StoreError::Write(format!("{}: {e}", self.path.display()));
        let txn = self.db.begin_write().map_err(|e| write(&e))?;
        {
            let mut objects = txn.open_table(OBJECTS).map_err(|e| write(&e))?;
            match object {
                Some(object) => {
                    let bytes = serde_json::to_vec(object).map_err(|e| write(&e))?;
                    objects.insert(key.encode().as_str(), bytes.as_slice()).map_err(|e| write(&e))?;
                }
                None => {
                    objects.remove(key.encode().as_str()).map_err(|e| write(&e))?;
                }
            }
            let mut meta = txn.open_table(META).map_err(|e| write(&e))?;
            meta.insert(RV_KEY, rv).map_err(|e| write(&e))?;
        }
        txn.commit().map_err(|e| write(&e))
    }

    /// Subscribes to changes after `from` (None: from now). Returns `Err(oldest)` when `from` is
    /// older than the retained history.
    pub fn subscribe(&self, from: Option<u64>) -> Result<Subscription, u64> {
        let state = self.lock();
        let live = self.feed.subscribe();
        let replay = match from {
            None => Vec::new(),
            Some(from) if from >= state.rv => Vec::new(),
            Some(from) => {
                let oldest = state.history.front().map(|c| c.rv).unwrap_or(state.rv + 1);
                if from + 1 < oldest {
                    return Err(oldest);
                }
                state.history.iter().filter(|c| c.rv > from).cloned().collect()
            }
        };
        Ok(Subscription { replay, live })
    }

    /// Snapshot of one type plus a live feed from exactly that snapshot, for watches that start
    /// with the current state.
    pub fn snapshot_and_subscribe(&self, resource: &str, namespace: Option<&str>) -> (u64, Vec<Arc<Value>>, Subscription) {
        // Holding the lock across both keeps the snapshot and the feed contiguous.
        let state = self.lock();
        let live = self.feed.subscribe();
        (state.rv, state.items(resource, namespace), Subscription { replay: Vec::new(), live })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn put(store: &Store, name: &str, value: Value) -> Arc<Change> {
        let key = ObjectKey::new("/secrets", "ns", name);
        store.mutate::<StoreError>(&key, |_, _| Ok(Mutation::Put(value))).unwrap().unwrap()
    }

    #[test]
    fn writes_survive_reopening_and_versions_keep_increasing() {
        let dir = tempfile::tempdir().unwrap();
        let rv = {
            let (store, created) = Store::open(dir.path()).unwrap();
            assert!(created);
            put(&store, "a", json!({"metadata": {"name": "a"}}));
            put(&store, "b", json!({"metadata": {"name": "b"}})).rv
        };
        let (store, created) = Store::open(dir.path()).unwrap();
        assert!(!created);
        assert_eq!(store.resource_version(), rv);
        let (_, items) = store.list("/secrets", Some("ns"));
        assert_eq!(items.len(), 2);
        assert_eq!(items[1]["metadata"]["resourceVersion"], json!(rv.to_string()));
        assert!(put(&store, "c", json!({"metadata": {"name": "c"}})).rv > rv);
    }

    #[test]
    fn a_corrupt_file_is_reported_not_reset() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cluster.redb"), b"this is not a database").unwrap();
        let err = Store::open(dir.path()).err().expect("must fail");
        assert!(err.to_string().contains("cluster.redb"), "{err}");
        assert_eq!(std::fs::read(dir.path().join("cluster.redb")).unwrap(), b"this is not a database");
    }

    #[test]
    fn subscriptions_replay_history_and_expire() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(dir.path()).unwrap();
        let first = put(&store, "a", json!({"metadata": {}})).rv;
        put(&store, "a", json!({"metadata": {"labels": {"x": "y"}}}));
        let sub = store.subscribe(Some(first)).ok().unwrap();
        assert_eq!(sub.replay.len(), 1);
        assert_eq!(sub.replay[0].kind, EventType::Modified);
        // After a restart the history is gone: an old version must be refused, not silently skipped.
        drop(store);
        let (store, _) = Store::open(dir.path()).unwrap();
        assert!(store.subscribe(Some(first)).is_err());
        assert!(store.subscribe(Some(store.resource_version())).is_ok());
    }
}
