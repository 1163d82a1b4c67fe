//! A watched, in-memory copy of one resource (kube-runtime's reflector), the way client-go
//! informers give controllers their caches: lists once, then follows the watch, retrying with
//! backoff on errors. A [`Shared`] informer is one cache and one watch for several controllers
//! (client-go's shared informer factory): each subscribes to its changes.

use std::any::Any;
use std::collections::HashSet;
use std::fmt::Debug;
use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;

use futures::{Stream, StreamExt as _};
use k8s_openapi::api::core::v1::Pod;
use kube::Resource;
use kube::api::Api;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt as _, watcher};
use serde::de::DeserializeOwned;
use tokio::sync::broadcast;

/// A store of `api`'s objects and the future that keeps it current (run it for as long as the
/// store is used).
pub fn informer<K>(api: Api<K>) -> (Store<K>, impl Future<Output = ()> + Send)
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + Hash + Clone + Send + Sync,
{
    let (store, writer) = reflector::store();
    let stream = reflector::reflector(writer, trimmed(api)).for_each(|_| std::future::ready(()));
    (store, stream)
}

/// The watch of `api`, as caches keep it: without managedFields, which are for writers, not
/// for controllers' decisions (dropping them halves what a cached pod weighs); pods also
/// without `spec.volumes` (see `slim_pod`).
pub fn trimmed<K>(
    api: Api<K>,
) -> impl Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
{
    watcher(api, watcher::Config::default())
        .default_backoff()
        .modify(|object: &mut K| {
            object.meta_mut().managed_fields = None;
            if let Some(pod) = (object as &mut dyn Any).downcast_mut::<Pod>() {
                slim_pod(pod);
            }
        })
}

/// Drops a cached pod's volumes. No controller or scheduler decision reads them (claims of
/// StatefulSets are matched by name, not through the pod), and they are most of a pod's
/// memory: k8s-openapi's `Volume` holds every volume source inline, 3 KB each, and every pod
/// has at least the projected service-account volume. A controller that comes to need them
/// must read the pod from the API, and nothing may write a cached pod back whole.
fn slim_pod(pod: &mut Pod) {
    if let Some(spec) = pod.spec.as_mut() {
        spec.volumes = None;
    }
}

/// How many changes a slow subscriber may fall behind before it misses some (it then relies on
/// its periodic resync).
const BACKLOG: usize = 16_384;

/// One cache of a resource for several controllers, and its changes (including deletions) as
/// they reach the cache: a subscriber that reads the store on a change sees that change.
#[derive(Clone)]
pub struct Shared<K: Resource<DynamicType = ()> + 'static> {
    pub store: Store<K>,
    changes: broadcast::Sender<Arc<K>>,
}

/// A shared informer of `api` and the future that keeps it current.
pub fn shared<K>(api: Api<K>) -> (Shared<K>, impl Future<Output = ()> + Send)
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    shared_with_backlog(api, BACKLOG)
}

/// [`shared`] whose subscribers may fall `backlog` changes behind (the channel's slots are
/// allocated up front: a node's few subscribers, which only take changes as triggers, need
/// far fewer than the controller manager's).
pub fn shared_with_backlog<K>(
    api: Api<K>,
    backlog: usize,
) -> (Shared<K>, impl Future<Output = ()> + Send)
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let (store, mut writer) = reflector::store();
    let (changes, _) = broadcast::channel(backlog);
    let sender = changes.clone();
    let reader = store.clone();
    // A (re)list's objects reach the store all at once at InitDone: they are announced then,
    // with the objects the relist no longer has (deleted while the watch was down).
    let mut relisted: Vec<Arc<K>> = Vec::new();
    let run = trimmed(api).for_each(move |event| {
        let Ok(event) = event else {
            return std::future::ready(());
        };
        // Nobody listening yet is fine: subscribers list the store when they start.
        let announce = |object: Arc<K>| drop(sender.send(object));
        match event {
            watcher::Event::Init => {
                relisted.clear();
                writer.apply_watcher_event(&event);
            }
            watcher::Event::InitApply(ref object) => {
                writer.apply_watcher_event(&event);
                relisted.push(Arc::new(object.clone()));
            }
            watcher::Event::InitDone => {
                let before = reader.state();
                writer.apply_watcher_event(&event);
                let now: HashSet<ObjectRef<K>> = relisted
                    .iter()
                    .map(|o| ObjectRef::from_obj(o.as_ref()))
                    .collect();
                let gone: Vec<Arc<K>> = before
                    .into_iter()
                    .filter(|o| !now.contains(&ObjectRef::from_obj(o.as_ref())))
                    .collect();
                relisted.drain(..).chain(gone).for_each(announce);
            }
            watcher::Event::Apply(ref object) => {
                writer.apply_watcher_event(&event);
                // The store's own copy is announced: one copy per version, not two.
                let stored = reader.get(&ObjectRef::from_obj(object));
                announce(stored.unwrap_or_else(|| Arc::new(object.clone())));
            }
            watcher::Event::Delete(_) => {
                writer.apply_watcher_event(&event);
                if let watcher::Event::Delete(object) = event {
                    announce(Arc::new(object));
                }
            }
        }
        std::future::ready(())
    });
    (Shared { store, changes }, run)
}

impl<K> Shared<K>
where
    K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
{
    /// Every change, as long as the stream is polled.
    pub fn changes(&self) -> impl Stream<Item = Arc<K>> + Send + 'static {
        futures::stream::unfold(self.changes.subscribe(), |mut receiver| async move {
            loop {
                match receiver.recv().await {
                    Ok(object) => return Some((object, receiver)),
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
    }

    /// For each change, every object of `selectors` in the changed object's namespace, as
    /// triggers for their controller: objects that select others by labels (Services, budgets)
    /// must look again when a label stops matching as well as when one starts.
    pub fn neighbours<O>(
        &self,
        selectors: Store<O>,
    ) -> impl Stream<Item = ObjectRef<O>> + Send + 'static
    where
        O: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
    {
        self.changes().flat_map(move |object| {
            let namespace = object.meta().namespace.clone();
            let refs: Vec<ObjectRef<O>> = selectors
                .state()
                .iter()
                .filter(|s| s.meta().namespace == namespace)
                .map(|s| ObjectRef::from_obj(s.as_ref()))
                .collect();
            futures::stream::iter(refs)
        })
    }

    /// The controllers (of kind `O`) of the changed objects, as triggers for `O`'s controller.
    pub fn owners<O>(&self) -> impl Stream<Item = ObjectRef<O>> + Send + 'static
    where
        O: Resource<DynamicType = ()> + 'static,
    {
        let kind = O::kind(&()).into_owned();
        let api_version = O::api_version(&()).into_owned();
        self.changes().flat_map(move |object| {
            let meta = object.meta();
            let owner = meta
                .owner_references
                .iter()
                .flatten()
                .find(|o| {
                    o.controller == Some(true) && o.kind == kind && o.api_version == api_version
                })
                .map(|o| {
                    let reference = ObjectRef::<O>::new(&o.name);
                    match &meta.namespace {
                        Some(namespace) => reference.within(namespace),
                        None => reference,
                    }
                });
            futures::stream::iter(owner)
        })
    }
}

/// Waits until `store` has had its first list. kube-runtime's `Store::wait_until_ready` keeps one
/// waker for all its waiters (a oneshot receiver behind a mutex): when several tasks wait at once,
/// only the last one to poll is woken and the others hang for good — a reconcile stuck there
/// blocks its object forever. Polling again on a short timer makes every waiter see readiness.
pub async fn ready<K>(store: &Store<K>)
where
    K: Resource + Clone + 'static,
    K::DynamicType: Eq + Hash + Clone,
{
    loop {
        if let Ok(result) = tokio::time::timeout(
            std::time::Duration::from_millis(100),
            store.wait_until_ready(),
        )
        .await
        {
            // An error means the writer is gone: nothing will ever be ready; do not spin.
            let _ = result;
            return;
        }
    }
}

#[cfg(test)]
mod ready_tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;

    /// Many tasks waiting on one store at once all see it become ready.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_waiter_sees_readiness() {
        let (store, mut writer) = reflector::store::<ConfigMap>();
        let waiters: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { ready(&store).await })
            })
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        writer.apply_watcher_event(&watcher::Event::Init);
        writer.apply_watcher_event(&watcher::Event::InitDone);
        for waiter in waiters {
            tokio::time::timeout(std::time::Duration::from_secs(2), waiter)
                .await
                .expect("a waiter was never woken")
                .unwrap();
        }
    }

    /// The behaviour `ready` works around (kept so a kube upgrade that fixes it is noticed).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn kube_runtime_wakes_only_some_waiters() {
        let (store, mut writer) = reflector::store::<ConfigMap>();
        let waiters: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.wait_until_ready().await.is_ok() })
            })
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        writer.apply_watcher_event(&watcher::Event::Init);
        writer.apply_watcher_event(&watcher::Event::InitDone);
        let mut woken = 0;
        for waiter in waiters {
            if tokio::time::timeout(std::time::Duration::from_millis(500), waiter)
                .await
                .is_ok()
            {
                woken += 1;
            }
        }
        assert!(
            woken < 8,
            "kube-runtime now wakes every waiter: `informer::ready` can go"
        );
    }
}
