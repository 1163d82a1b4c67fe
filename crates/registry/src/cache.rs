//! The watch cache: per resource, its objects as of a store revision, kept current by one store
//! watch. As in Kubernetes 1.28 it serves reads that accept any state (`resourceVersion=0`, what
//! informers list with) and reads of a state at least as new as a given resourceVersion, without
//! asking the store; consistent reads (no resourceVersion) and exact ones go to the store.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use k0rs_api::Status;
use k0rs_store::{
    EventKind, KeyRange, KeyValue, RangeRequest, RangeResponse, Revision, Store, WatchRequest,
    prefix_end,
};

use crate::generic::store_error;

/// How long a read waits for the cache to reach the resourceVersion it asks for (Kubernetes: 3 s).
const CATCH_UP: Duration = Duration::from_secs(3);

/// The caches of every resource read through them so far.
pub struct WatchCache {
    store: Arc<dyn Store>,
    resources: Mutex<HashMap<String, Arc<ResourceCache>>>,
}

impl std::fmt::Debug for WatchCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchCache").finish_non_exhaustive()
    }
}

/// One resource's objects (every namespace) and the revision they are at.
struct ResourceCache {
    state: RwLock<State>,
    progress: tokio::sync::watch::Sender<Revision>,
    /// Cleared when the store watch ends: the next read starts a new cache.
    live: std::sync::atomic::AtomicBool,
}

#[derive(Default)]
struct State {
    objects: BTreeMap<Vec<u8>, KeyValue>,
    revision: Revision,
}

impl WatchCache {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            resources: Mutex::default(),
        }
    }

    /// The keys under `range_prefix` (within the resource whose keys start with
    /// `resource_prefix`), at a revision no older than `min_revision`.
    pub async fn range(
        &self,
        resource_prefix: &str,
        range_prefix: &str,
        min_revision: Revision,
    ) -> Result<RangeResponse, Status> {
        let cache = self.resource(resource_prefix).await?;
        let mut progress = cache.progress.subscribe();
        let reached = tokio::time::timeout(
            CATCH_UP,
            progress.wait_for(|revision| *revision >= min_revision),
        )
        .await
        .is_ok_and(|r| r.is_ok());
        if !reached {
            let current = *cache.progress.borrow();
            return Err(crate::read_at::too_large(min_revision, current));
        }
        let state = cache.state.read().expect("cache lock poisoned");
        let end = prefix_end(range_prefix.as_bytes());
        let kvs: Vec<KeyValue> = state
            .objects
            .range(range_prefix.as_bytes().to_vec()..end)
            .map(|(_, kv)| kv.clone())
            .collect();
        Ok(RangeResponse {
            revision: state.revision,
            count: i64::try_from(kvs.len()).unwrap_or(i64::MAX),
            kvs,
            more: false,
        })
    }

    async fn resource(&self, prefix: &str) -> Result<Arc<ResourceCache>, Status> {
        if let Some(cache) = self
            .resources
            .lock()
            .expect("cache map poisoned")
            .get(prefix)
            .filter(|c| c.live.load(std::sync::atomic::Ordering::Acquire))
        {
            return Ok(cache.clone());
        }
        let cache = self.fill(prefix).await?;
        self.resources
            .lock()
            .expect("cache map poisoned")
            .insert(prefix.to_owned(), cache.clone());
        Ok(cache)
    }

    /// Lists the resource, then follows it with a watch from the list's revision. The follower
    /// holds the cache weakly: a cache nobody can reach any more stops at its next event.
    async fn fill(&self, prefix: &str) -> Result<Arc<ResourceCache>, Status> {
        let response = self
            .store
            .range(RangeRequest::new(KeyRange::prefix(
                prefix.as_bytes().to_vec(),
            )))
            .await
            .map_err(|e| store_error(&e))?;
        let revision = response.revision;
        let objects = response
            .kvs
            .into_iter()
            .map(|kv| (kv.key.clone(), kv))
            .collect();
        let mut stream = self
            .store
            .watch(WatchRequest {
                range: KeyRange::prefix(prefix.as_bytes().to_vec()),
                start_revision: revision + 1,
                prev_kv: false,
                progress_notify: true,
            })
            .await
            .map_err(|e| store_error(&e))?;
        let (progress, _) = tokio::sync::watch::channel(revision);
        let cache = Arc::new(ResourceCache {
            state: RwLock::new(State { objects, revision }),
            progress,
            live: std::sync::atomic::AtomicBool::new(true),
        });
        let follower = Arc::downgrade(&cache);
        let prefix = prefix.to_owned();
        tokio::spawn(async move {
            loop {
                let next = stream.next().await;
                let Some(cache) = follower.upgrade() else {
                    return;
                };
                match next {
                    Some(Ok(response)) => cache.apply(response),
                    Some(Err(error)) => return cache.end(&prefix, &error.to_string()),
                    None => return cache.end(&prefix, "the store closed the watch"),
                }
            }
        });
        Ok(cache)
    }
}

impl ResourceCache {
    fn apply(&self, response: k0rs_store::WatchResponse) {
        let mut state = self.state.write().expect("cache lock poisoned");
        for event in response.events {
            match event.kind {
                EventKind::Put => {
                    state.objects.insert(event.kv.key.clone(), event.kv);
                }
                EventKind::Delete => {
                    state.objects.remove(&event.kv.key);
                }
            }
        }
        state.revision = state.revision.max(response.revision);
        let revision = state.revision;
        drop(state);
        self.progress.send_replace(revision);
    }

    /// The store watch ended (compaction past it, a lost connection): the next read fills a new
    /// cache.
    fn end(&self, prefix: &str, why: &str) {
        self.live.store(false, std::sync::atomic::Ordering::Release);
        tracing::debug!(component = "registry", prefix, why, "watch cache ended");
    }
}
