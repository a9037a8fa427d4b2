//! The embedded cluster's object store: every object as JSON text, persisted in a redb file and
//! mirrored in memory, with one cluster-wide resourceVersion counter and a change feed for watches.
//! Objects are kept as text and parsed when read: a parsed `Value` takes several times the memory
//! (a map per object, a heap string per field), and most objects are rarely read.
//!
//! A write is acknowledged only after its redb transaction has committed (fsync), so it survives
//! `kill -9`; the counter is stored in the same transaction, so resourceVersions keep increasing
//! across restarts.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use redb::{Builder, Database, ReadableDatabase, ReadableTable, TableDefinition};
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
/// redb's page cache. Every object is mirrored in memory and the file is read only when opened, so
/// the cache need only hold the pages a write passes through (redb's default is 1 GiB).
const CACHE_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the cluster state in {path}: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error("the cluster state in {path} is corrupt: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("cannot write the cluster state: {0}")]
    Write(String),
    #[error("the object is nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

/// How deeply a stored object may nest (managedFields included). Every write path is checked here:
/// a JSON body cannot be deeper than the parser's limit (128), but a JSON Patch, of an object or
/// its status, can nest without bound (each `add` or `copy` a level further down), and the store
/// must parse what it keeps on every read and when it opens.
const MAX_DEPTH: usize = 100;

/// How many levels of objects and arrays `value` nests, counted without recursion.
fn depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut pending = vec![(value, 1)];
    while let Some((value, level)) = pending.pop() {
        deepest = deepest.max(level);
        match value {
            Value::Object(map) => pending.extend(map.values().map(|v| (v, level + 1))),
            Value::Array(items) => pending.extend(items.iter().map(|v| (v, level + 1))),
            _ => {}
        }
    }
    deepest
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

/// Runs a write (waiting for the store's lock, then an fsync) so that the async worker's other
/// tasks, the watch streams among them, move to another thread meanwhile: with two cores, a burst
/// of writes would otherwise starve the watches until they fall behind the feed and must list
/// again. A current-thread runtime (as in tests) has no other thread to hand them to.
fn off_the_workers<T>(write: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(write),
        _ => write(),
    }
}

/// An object as the store holds it: its JSON text.
#[derive(Debug, Clone)]
pub struct Stored(Arc<str>);

impl Stored {
    pub fn new(object: &Value) -> Self {
        Stored(object.to_string().into())
    }

    /// The object, parsed. The store wrote the text from a `Value` no deeper than `MAX_DEPTH`
    /// (within the parser's limit), so it parses.
    pub fn value(&self) -> Value {
        serde_json::from_str(&self.0).expect("the store's own JSON parses")
    }

    /// Some of the object's fields, read into `T` (the rest skipped, not parsed into values);
    /// `None` if they do not have `T`'s shape.
    pub fn read<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        serde_json::from_str(&self.0).ok()
    }

    /// Only the object's labels, as `{"metadata": {"labels": …}}`: what a label selector reads,
    /// parsed at a fraction of the cost of the whole object.
    pub fn labels(&self) -> Value {
        #[derive(serde::Deserialize, Default)]
        struct Labels {
            #[serde(default)]
            labels: Value,
        }
        #[derive(serde::Deserialize)]
        struct Head {
            #[serde(default)]
            metadata: Labels,
        }
        let head: Head = self.read().expect("the store's own JSON parses");
        serde_json::json!({"metadata": {"labels": head.metadata.labels}})
    }

    /// The JSON text, to write into a response as it is.
    pub fn json(&self) -> &str {
        &self.0
    }
}

/// One committed change.
#[derive(Debug)]
pub struct Change {
    pub rv: u64,
    pub kind: EventType,
    pub key: ObjectKey,
    /// The new state (for deletions: the last state, stamped with the deletion's resourceVersion).
    pub object: Stored,
    /// The state before, so watches with selectors can tell entering from leaving.
    pub previous: Option<Stored>,
}

/// What a mutation decides, given the current object.
pub enum Mutation {
    Put(Value),
    Delete,
    Unchanged,
}

struct State {
    rv: u64,
    objects: BTreeMap<ObjectKey, Stored>,
    history: VecDeque<Arc<Change>>,
}

impl State {
    /// The objects of one type, in one namespace or all, after the (namespace, name) `after`.
    fn items(&self, resource: &str, namespace: Option<&str>, after: Option<(&str, &str)>) -> Vec<Stored> {
        use std::ops::Bound;
        let first = ObjectKey::new(resource, namespace.unwrap_or(""), "");
        let start = match after.map(|(ns, name)| ObjectKey::new(resource, ns, name)) {
            // A continue key before the namespace listed (a token from another list) starts at its beginning.
            Some(after) if after >= first => Bound::Excluded(after),
            _ => Bound::Included(first),
        };
        self.objects
            .range((start, Bound::Unbounded))
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
        let db = Builder::new().set_cache_size(CACHE_BYTES).create(&path).map_err(|e| open_err(e.to_string()))?;
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
            // Written again as the store writes it (compact, one line), whatever wrote the file.
            objects.insert(key, Stored::new(&object));
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

    pub fn contains(&self, key: &ObjectKey) -> bool {
        self.lock().objects.contains_key(key)
    }

    pub fn get(&self, key: &ObjectKey) -> Option<Value> {
        let stored = self.lock().objects.get(key).cloned();
        stored.map(|s| s.value())
    }

    /// The objects of one type, in one namespace or all, ordered by namespace then name and starting
    /// after the (namespace, name) `after`, with the resourceVersion of this snapshot.
    pub fn list(&self, resource: &str, namespace: Option<&str>, after: Option<(&str, &str)>) -> (u64, Vec<Stored>) {
        let state = self.lock();
        (state.rv, state.items(resource, namespace, after))
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
        off_the_workers(|| self.commit(key, decide))
    }

    fn commit<E>(&self, key: &ObjectKey, decide: impl FnOnce(Option<&Value>, u64) -> Result<Mutation, E>) -> Result<Option<Arc<Change>>, E>
    where
        E: From<StoreError>,
    {
        let mut state = self.lock();
        let previous = state.objects.get(key).cloned();
        let current = previous.as_ref().map(Stored::value);
        let next_rv = state.rv + 1;
        let (kind, mut object) = match decide(current.as_ref(), next_rv)? {
            Mutation::Unchanged => return Ok(None),
            Mutation::Put(object) if depth(&object) > MAX_DEPTH => return Err(StoreError::TooDeep.into()),
            Mutation::Put(object) => (if previous.is_some() { EventType::Modified } else { EventType::Added }, object),
            Mutation::Delete => match current {
                Some(last) => (EventType::Deleted, last),
                None => return Ok(None),
            },
        };
        object["metadata"]["resourceVersion"] = Value::String(next_rv.to_string());
        let object = Stored::new(&object);
        self.persist(key, (kind != EventType::Deleted).then_some(&object), next_rv)?;

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

    fn persist(&self, key: &ObjectKey, object: Option<&Stored>, rv: u64) -> Result<(), StoreError> {
        let write = |e: &dyn std::fmt::Display| StoreError::Write(format!("{}: {e}", self.path.display()));
        let txn = self.db.begin_write().map_err(|e| write(&e))?;
        {
            let mut objects = txn.open_table(OBJECTS).map_err(|e| write(&e))?;
            match object {
                Some(object) => {
                    objects.insert(key.encode().as_str(), object.json().as_bytes()).map_err(|e| write(&e))?;
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
    pub fn snapshot_and_subscribe(&self, resource: &str, namespace: Option<&str>) -> (u64, Vec<Stored>, Subscription) {
        // Holding the lock across both keeps the snapshot and the feed contiguous.
        let state = self.lock();
        let live = self.feed.subscribe();
        (state.rv, state.items(resource, namespace, None), Subscription { replay: Vec::new(), live })
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
        let (_, items) = store.list("/secrets", Some("ns"), None);
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].value()["metadata"]["resourceVersion"], json!(rv.to_string()));
        let (_, after_a) = store.list("/secrets", Some("ns"), Some(("ns", "a")));
        assert_eq!(after_a.len(), 1);
        assert_eq!(after_a[0].value()["metadata"]["name"], "b");
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
