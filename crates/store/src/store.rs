//! The interface every backend implements, and the conveniences built on it.

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::error::{Result, StoreError};
use crate::types::{
    Compare, CompareOp, CompareTarget, KeyRange, KeyValue, Lease, LeaseId, Op, OpResponse,
    RangeRequest, RangeResponse, Revision, TxnRequest, TxnResponse, WatchRequest, WatchResponse,
};

/// An MVCC key-value store with etcd v3 semantics.
#[async_trait]
pub trait Store: Send + Sync {
    async fn range(&self, request: RangeRequest) -> Result<RangeResponse>;
    async fn txn(&self, request: TxnRequest) -> Result<TxnResponse>;
    /// Starts a watch. Events are delivered in revision order, none skipped; a start revision that
    /// was compacted yields [`StoreError::Compacted`] on the stream.
    async fn watch(&self, request: WatchRequest) -> Result<WatchStream>;
    /// Drops the history up to `revision`; reads and watches before it fail with `Compacted`.
    async fn compact(&self, revision: Revision) -> Result<()>;
    async fn current_revision(&self) -> Result<Revision>;
    async fn lease_grant(&self, ttl_secs: i64) -> Result<Lease>;
    /// Renews a lease; returns its TTL.
    async fn lease_keep_alive(&self, id: LeaseId) -> Result<i64>;
    /// Revokes a lease and deletes every key attached to it.
    async fn lease_revoke(&self, id: LeaseId) -> Result<()>;
    /// Size of the backing database in bytes.
    async fn db_size(&self) -> Result<u64>;
    /// Gives the space of compacted history back.
    async fn defragment(&self) -> Result<()>;

    /// Whether every read is served from this process's memory (the embedded store): a cache of
    /// it would only hold a second copy of the same objects.
    fn reads_from_memory(&self) -> bool {
        false
    }

    /// The key's current value.
    async fn get(&self, key: &[u8]) -> Result<Option<KeyValue>> {
        Ok(self
            .range(RangeRequest::new(KeyRange::key(key)))
            .await?
            .kvs
            .pop())
    }

    /// Writes `key` unconditionally; returns the write's revision.
    async fn put(&self, key: &[u8], value: &[u8]) -> Result<Revision> {
        Ok(self
            .txn(TxnRequest {
                success: vec![Op::put(key, value)],
                ..TxnRequest::default()
            })
            .await?
            .revision)
    }

    /// Creates `key` if it does not exist: `Ok(Some(revision))`, or `Ok(None)` if it exists.
    async fn create(&self, key: &[u8], value: &[u8], lease: LeaseId) -> Result<Option<Revision>> {
        let put = Op::put_leased(key, value, lease);
        let response = self
            .txn(TxnRequest {
                compares: vec![Compare::new(
                    key,
                    CompareOp::Equal,
                    CompareTarget::CreateRevision(0),
                )],
                success: vec![put],
                failure: vec![],
            })
            .await?;
        Ok(response.succeeded.then_some(response.revision))
    }

    /// Writes `key` only if its mod revision is still `expected`: `Ok(Ok(revision))`, or
    /// `Ok(Err(current))` with the key as it is now (`None`: it does not exist).
    async fn update(
        &self,
        key: &[u8],
        value: &[u8],
        expected: Revision,
    ) -> Result<Result<Revision, Option<KeyValue>>> {
        guarded(self, key, expected, Op::put(key, value)).await
    }

    /// [`Store::update`], the key attached to `lease` (0: none), so that it goes when the lease
    /// expires.
    async fn update_leased(
        &self,
        key: &[u8],
        value: &[u8],
        expected: Revision,
        lease: LeaseId,
    ) -> Result<Result<Revision, Option<KeyValue>>> {
        guarded(self, key, expected, Op::put_leased(key, value, lease)).await
    }

    /// Deletes `key` only if its mod revision is still `expected` (see [`Store::update`]).
    async fn delete(
        &self,
        key: &[u8],
        expected: Revision,
    ) -> Result<Result<Revision, Option<KeyValue>>> {
        guarded(self, key, expected, Op::delete(key)).await
    }
}

async fn guarded<S: Store + ?Sized>(
    store: &S,
    key: &[u8],
    expected: Revision,
    op: Op,
) -> Result<Result<Revision, Option<KeyValue>>> {
    let response = store
        .txn(TxnRequest {
            compares: vec![Compare::new(
                key,
                CompareOp::Equal,
                CompareTarget::ModRevision(expected),
            )],
            success: vec![op],
            failure: vec![Op::get(key)],
        })
        .await?;
    if response.succeeded {
        return Ok(Ok(response.revision));
    }
    match response.responses.into_iter().next() {
        Some(OpResponse::Range(mut range)) => Ok(Err(range.kvs.pop())),
        _ => Err(StoreError::Etcd(
            "guarded write: missing read of the current value".into(),
        )),
    }
}

/// Where a watch's responses come from: a backend-specific source, pulled by [`WatchStream`].
#[async_trait]
pub(crate) trait WatchSource: Send {
    async fn next(&mut self) -> Option<Result<WatchResponse>>;
}

#[async_trait]
impl WatchSource for mpsc::Receiver<Result<WatchResponse>> {
    async fn next(&mut self) -> Option<Result<WatchResponse>> {
        self.recv().await
    }
}

/// The events of one watch. Dropping it cancels the watch.
pub struct WatchStream {
    source: Box<dyn WatchSource>,
}

impl std::fmt::Debug for WatchStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchStream").finish_non_exhaustive()
    }
}

impl WatchStream {
    pub(crate) fn new(source: impl WatchSource + 'static) -> Self {
        Self {
            source: Box::new(source),
        }
    }

    /// A stream fed through `sender` by a task; the task sees the channel close when the stream is
    /// dropped.
    pub(crate) fn channel(capacity: usize) -> (mpsc::Sender<Result<WatchResponse>>, Self) {
        let (sender, receiver) = mpsc::channel(capacity);
        (sender, Self::new(receiver))
    }

    /// The next batch of events; `None` once the watch has ended.
    pub async fn next(&mut self) -> Option<Result<WatchResponse>> {
        self.source.next().await
    }
}
