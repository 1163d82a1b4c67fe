//! A watched, in-memory copy of one resource (kube-runtime's reflector), the way client-go
//! informers give controllers their caches: lists once, then follows the watch, retrying with
//! backoff on errors.

use std::fmt::Debug;
use std::future::Future;
use std::hash::Hash;

use futures::StreamExt as _;
use kube::Resource;
use kube::api::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt as _, watcher};
use serde::de::DeserializeOwned;

/// A store of `api`'s objects and the future that keeps it current (run it for as long as the
/// store is used).
pub fn informer<K>(api: Api<K>) -> (Store<K>, impl Future<Output = ()> + Send)
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + Hash + Clone + Send + Sync,
{
    let (store, writer) = reflector::store();
    // managedFields are for writers, not for controllers' decisions: dropping them halves what
    // a cached pod weighs.
    let stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .modify(|object: &mut K| object.meta_mut().managed_fields = None);
    let stream = reflector::reflector(writer, stream).for_each(|_| std::future::ready(()));
    (store, stream)
}
