//! Watch-fed caches that say when they change. Each drives a kube `reflector` and counts every
//! event it has applied to its store (an object added, changed or deleted, a relist) on a shared
//! counter: the credentials service rebuilds its rows, and the table's live updates fire, on it.

use std::fmt::Debug;
use std::hash::Hash;

use futures::StreamExt;
use kube::Resource;
use kube::api::Api;
use kube::runtime::reflector::{self, store::Writer};
use kube::runtime::{WatchStreamExt, watcher};
use serde::de::DeserializeOwned;
use tokio::sync::watch;

/// Keeps `writer`'s store in step with `api` (as `config` selects), counting each change on
/// `changes`; runs until the process stops, retrying a failed watch with backoff.
pub fn counted<K>(writer: Writer<K>, api: Api<K>, config: watcher::Config, changes: watch::Sender<u64>, what: &'static str) -> impl Future<Output = ()> + Send + 'static
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Send + Sync,
{
    // The reflector applies an event to the store before passing it on, so a reader that sees
    // the count move also sees the change. Deletions count too (`applied_objects` would drop them).
    reflector::reflector(writer, watcher(api, config).modify(without_managed_fields)).default_backoff().for_each(move |event| {
        match event {
            Ok(_) => changes.send_modify(|n| *n += 1),
            Err(e) => tracing::warn!(what, error = %e, "watch failed; retrying"),
        }
        futures::future::ready(())
    })
}

/// Drops an object's managedFields, which no cache reads: often the larger part of its metadata.
pub fn without_managed_fields<K: Resource>(object: &mut K) {
    object.meta_mut().managed_fields = None;
}

/// What each watched change concerns, as a stream of `C`s, for controllers to resolve into the
/// objects to reconcile. A change concerns what the object concerns now and what it concerned
/// before (a watch event carries only the new state, so each object's last concerns are kept);
/// a deletion, what it concerned. A full list (at start, after a lost watch) names each concern
/// once, when the list is complete, with those of objects that went away unseen: at start a
/// controller reconciles everything anyway, and a list of thousands of objects must not become
/// thousands of identical requests.
pub fn concerns<K, C>(events: impl futures::Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static, concern: impl Fn(&K) -> Vec<C> + Send + 'static, what: &'static str) -> impl futures::Stream<Item = C> + Send + 'static
where
    K: Resource + Send + 'static,
    C: Clone + Eq + Hash + Send + 'static,
{
    let mut known: std::collections::HashMap<(Option<String>, String), Vec<C>> = Default::default();
    let mut listing: Option<(std::collections::HashSet<C>, std::collections::HashMap<(Option<String>, String), Vec<C>>)> = None;
    let key = |object: &K| (object.meta().namespace.clone(), object.meta().name.clone().unwrap_or_default());
    events
        .map(move |event| {
            // A set: one change concerning a thing twice names it once.
            let now: std::collections::HashSet<C> = match event {
                Ok(watcher::Event::Init) => {
                    // A list that failed partway starts again: what it had already named still counts.
                    let (mut named, seen) = listing.take().unwrap_or_default();
                    named.extend(seen.into_values().flatten());
                    listing = Some((named, Default::default()));
                    Default::default()
                }
                Ok(watcher::Event::InitApply(object)) => {
                    let (named, seen) = listing.get_or_insert_default();
                    let concerns = concern(&object);
                    named.extend(known.remove(&key(&object)).into_iter().flatten().chain(concerns.iter().cloned()));
                    seen.insert(key(&object), concerns);
                    Default::default()
                }
                Ok(watcher::Event::InitDone) => {
                    let (named, seen) = listing.take().unwrap_or_default();
                    // What is left of the last list went away while the watch was down.
                    let gone = std::mem::replace(&mut known, seen).into_values().flatten();
                    named.into_iter().chain(gone).collect()
                }
                Ok(watcher::Event::Apply(object)) => {
                    let concerns = concern(&object);
                    let before = known.insert(key(&object), concerns.clone()).unwrap_or_default();
                    concerns.into_iter().chain(before).collect()
                }
                Ok(watcher::Event::Delete(object)) => {
                    let before = known.remove(&key(&object)).unwrap_or_default();
                    concern(&object).into_iter().chain(before).collect()
                }
                Err(e) => {
                    tracing::warn!(what, error = %e, "watch failed; retrying");
                    Default::default()
                }
            };
            futures::stream::iter(now)
        })
        .flatten()
}

/// The objects a reflected watch added or changed, each once the store holds it. A list's objects
/// (at start, after a lost watch) come when the list is complete, since only then does the store
/// take them in: a controller looking one up before would find the old store and drop it.
pub fn applied_when_stored<K: Send + 'static>(events: impl futures::Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static) -> impl futures::Stream<Item = Result<K, watcher::Error>> + Send + 'static {
    let mut listed: Vec<K> = Vec::new();
    events
        .map(move |event| {
            let now: Vec<Result<K, watcher::Error>> = match event {
                Ok(watcher::Event::Init) => {
                    listed.clear();
                    Vec::new()
                }
                Ok(watcher::Event::InitApply(object)) => {
                    listed.push(object);
                    Vec::new()
                }
                Ok(watcher::Event::InitDone) => std::mem::take(&mut listed).into_iter().map(Ok).collect(),
                Ok(watcher::Event::Apply(object)) => vec![Ok(object)],
                Ok(watcher::Event::Delete(_)) => Vec::new(),
                Err(e) => vec![Err(e)],
            };
            futures::stream::iter(now)
        })
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Namespace;
    use kube::ResourceExt;
    use kube::core::PartialObjectMeta;
    use watcher::Event::{Apply, Delete, Init, InitApply, InitDone};

    /// A project namespace in `department`.
    fn project(name: &str, department: &str) -> PartialObjectMeta<Namespace> {
        let mut project = PartialObjectMeta::<Namespace>::default();
        project.metadata.name = Some(name.into());
        project.metadata.labels = Some([("department".to_string(), department.to_string())].into());
        project
    }

    fn department(project: &PartialObjectMeta<Namespace>) -> Vec<String> {
        vec![project.labels()["department"].clone()]
    }

    /// What `concerns` emits for each batch of events, sorted.
    async fn emitted(batches: Vec<Vec<watcher::Event<PartialObjectMeta<Namespace>>>>) -> Vec<Vec<String>> {
        let (sender, receiver) = futures::channel::mpsc::unbounded();
        let mut stream = Box::pin(concerns(receiver, department, "test"));
        let mut out = Vec::new();
        for batch in batches {
            for event in batch {
                sender.unbounded_send(Ok(event)).unwrap();
            }
            let mut got = Vec::new();
            while let Ok(Some(concern)) = tokio::time::timeout(std::time::Duration::from_millis(20), stream.next()).await {
                got.push(concern);
            }
            got.sort();
            out.push(got);
        }
        out
    }

    #[tokio::test]
    async fn a_list_names_each_concern_once_and_changes_reach_what_was_concerned_before() {
        let emitted = emitted(vec![
            vec![Init, InitApply(project("a", "research")), InitApply(project("b", "research")), InitApply(project("c", "ops"))],
            vec![InitDone],
            vec![Apply(project("a", "ops"))],
            vec![Delete(project("c", "ops"))],
            // A relist that no longer has `b`: it went while the watch was down.
            vec![Init, InitApply(project("a", "ops")), InitDone],
        ])
        .await;
        assert_eq!(emitted[0], Vec::<String>::new(), "nothing before the list is complete");
        assert_eq!(emitted[1], ["ops", "research"]);
        assert_eq!(emitted[2], ["ops", "research"], "a project that moved concerns its old department too");
        assert_eq!(emitted[3], ["ops"]);
        assert_eq!(emitted[4], ["ops", "research"], "the project gone unseen still reaches its department");
    }

    #[tokio::test]
    async fn a_lists_objects_come_once_the_list_is_complete() {
        let (sender, receiver) = futures::channel::mpsc::unbounded::<Result<watcher::Event<PartialObjectMeta<Namespace>>, watcher::Error>>();
        let mut stream = Box::pin(applied_when_stored(receiver));
        let mut next = async || tokio::time::timeout(std::time::Duration::from_millis(20), stream.next()).await.ok().flatten().map(|o| o.unwrap().metadata.name.unwrap());
        for event in [Init, InitApply(project("a", "x"))] {
            sender.unbounded_send(Ok(event)).unwrap();
        }
        assert_eq!(next().await, None, "not before the store holds it");
        for event in [InitDone, Delete(project("a", "x")), Apply(project("b", "x"))] {
            sender.unbounded_send(Ok(event)).unwrap();
        }
        assert_eq!((next().await, next().await, next().await), (Some("a".into()), Some("b".into()), None));
    }
}
