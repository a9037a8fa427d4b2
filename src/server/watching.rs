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
    reflector::reflector(writer, watcher(api, config)).default_backoff().for_each(move |event| {
        match event {
            Ok(_) => changes.send_modify(|n| *n += 1),
            Err(e) => tracing::warn!(what, error = %e, "watch failed; retrying"),
        }
        futures::future::ready(())
    })
}

/// What each watched change concerns, as a stream of `C`s, for controllers to resolve into the
/// objects to reconcile. `concern` sees every change (`true` for a deletion). A full list (at
/// start, after a lost watch) names each concern once, when the list is complete: at start a
/// controller reconciles everything anyway, and a list of thousands of objects must not become
/// thousands of identical requests.
pub fn concerns<K, C>(events: impl futures::Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static, mut concern: impl FnMut(&K, bool) -> Vec<C> + Send + 'static, what: &'static str) -> impl futures::Stream<Item = C> + Send + 'static
where
    K: Send + 'static,
    C: Eq + Hash + Send + 'static,
{
    let mut listing: Option<std::collections::HashSet<C>> = None;
    events
        .map(move |event| {
            let now: Vec<C> = match event {
                Ok(watcher::Event::Init) => {
                    listing = Some(Default::default());
                    Vec::new()
                }
                Ok(watcher::Event::InitApply(object)) => {
                    listing.get_or_insert_default().extend(concern(&object, false));
                    Vec::new()
                }
                Ok(watcher::Event::InitDone) => listing.take().into_iter().flatten().collect(),
                Ok(watcher::Event::Apply(object)) => concern(&object, false),
                Ok(watcher::Event::Delete(object)) => concern(&object, true),
                Err(e) => {
                    tracing::warn!(what, error = %e, "watch failed; retrying");
                    Vec::new()
                }
            };
            futures::stream::iter(now)
        })
        .flatten()
}
