//! The embedded backend: the whole key space and its recent history in memory, every change in a
//! write-ahead log under the data directory, fsynced (in groups) before it is acknowledged.

mod codec;
mod mvcc;
pub(crate) mod snapshot;
mod stored;
mod txn;
mod wal;
mod watch;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use parking_lot::{Mutex, RwLock};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use self::codec::Record;
use self::mvcc::Mvcc;
use self::stored::WalOp;
use self::writer::{Job, Message, Published, Writer};
use crate::error::{Result, StoreError};
use crate::store::{Store, WatchStream};
use crate::types::{
    Lease, LeaseId, Op, RangeRequest, RangeResponse, Revision, TxnRequest, TxnResponse,
    WatchRequest,
};

pub use self::snapshot::{Snapshot, SnapshotInfo};
pub use self::wal::FILE_NAME as WAL_FILE_NAME;

/// Settings of the embedded store.
#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    /// Where the WAL lives (`<data-dir>/db`).
    pub dir: PathBuf,
    /// Compact history older than this, every this often (Kubernetes: 5 minutes). `None`: never.
    pub auto_compaction: Option<Duration>,
    /// Interval of progress notifications to watches that ask for them (etcd: 10 minutes).
    pub progress_interval: Duration,
}

impl EmbeddedOptions {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            auto_compaction: Some(Duration::from_mins(5)),
            progress_interval: Duration::from_mins(10),
        }
    }
}

/// The embedded store. Open it with [`Embedded::open`]; [`Embedded::close`] waits for the writer.
pub struct Embedded {
    state: Arc<RwLock<Mvcc>>,
    queue: mpsc::Sender<Message>,
    published: tokio::sync::watch::Receiver<Published>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    tasks: Vec<JoinHandle<()>>,
    wal_size: Arc<AtomicU64>,
    options: EmbeddedOptions,
}

impl std::fmt::Debug for Embedded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedded")
            .field("dir", &self.options.dir)
            .finish_non_exhaustive()
    }
}

impl Embedded {
    /// Opens the store in `options.dir`, replaying its log. Must run inside a Tokio runtime.
    pub async fn open(options: EmbeddedOptions) -> Result<Self> {
        let dir = options.dir.clone();
        let (wal, state) = tokio::task::spawn_blocking(move || -> Result<_> {
            let mut state = Mvcc::default();
            let wal = wal::Wal::open(&dir, |record| replay(&dir, &mut state, record))?;
            Ok((wal, state))
        })
        .await
        .map_err(|e| StoreError::Failed(e.to_string()))??;
        tracing::info!(
            component = "store",
            dir = %options.dir.display(),
            revision = state.current,
            keys = state.key_count(),
            "opened embedded store"
        );
        let wal_size = Arc::new(AtomicU64::new(wal.size()));
        crate::metrics::compacted(state.compacted, None);
        let (published_tx, published) = tokio::sync::watch::channel(Published::now(state.current));
        let state = Arc::new(RwLock::new(state));
        let (queue, receiver) = mpsc::channel(MAX_QUEUED);
        let writer = Writer {
            state: state.clone(),
            wal,
            published: published_tx,
            wal_size: wal_size.clone(),
        };
        let writer = std::thread::Builder::new()
            .name("k0rs-store-writer".into())
            .spawn(move || writer.run(receiver))
            .map_err(|e| StoreError::Failed(format!("cannot start the writer thread: {e}")))?;
        let mut store = Self {
            state,
            queue,
            published,
            writer: Mutex::new(Some(writer)),
            tasks: Vec::new(),
            wal_size,
            options,
        };
        store.tasks.push(tokio::spawn(expire_leases(
            store.state.clone(),
            store.queue.clone(),
        )));
        if let Some(interval) = store.options.auto_compaction {
            store.tasks.push(tokio::spawn(auto_compact(
                store.queue.clone(),
                store.published.clone(),
                interval,
            )));
        }
        Ok(store)
    }

    /// Stops the background tasks and waits until the writer has finished every queued change.
    pub async fn close(mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
        }
        let writer = self.writer.lock().take();
        drop(self);
        if let Some(writer) = writer {
            let _ = tokio::task::spawn_blocking(move || writer.join()).await;
        }
    }

    /// The key space at the published revision, with every write acknowledged before this call,
    /// taken while the store keeps serving (see [`Snapshot`]).
    pub async fn snapshot(&self) -> Result<Snapshot> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Message::Snapshot(reply))
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Number of keys currently stored.
    pub fn key_count(&self) -> usize {
        self.state.read().key_count()
    }

    fn published(&self) -> Revision {
        self.published.borrow().revision
    }

    /// Runs `change` on the writer thread; resolves once its records are durable.
    async fn submit<T: Send + 'static>(
        &self,
        change: impl FnOnce(&mut Mvcc, &mut Vec<u8>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |state, records| {
            let result = change(state, records);
            Box::new(move |failure: Option<&str>| {
                let result = match failure {
                    Some(f) => Err(StoreError::Failed(f.to_owned())),
                    None => result,
                };
                let _ = reply.send(result);
            })
        });
        self.queue
            .send(Message::Job(job))
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Changes waiting for the writer before callers are slowed down.
const MAX_QUEUED: usize = 16 * 1024;

#[async_trait]
impl Store for Embedded {
    fn reads_from_memory(&self) -> bool {
        true
    }

    async fn range(&self, request: RangeRequest) -> Result<RangeResponse> {
        self.state.read().range(&request, self.published())
    }

    async fn txn(&self, request: TxnRequest) -> Result<TxnResponse> {
        request.check_size()?;
        if request.is_read_only() {
            return read_only_txn(&self.state.read(), &request, self.published());
        }
        self.submit(move |state, records| {
            let (response, ops) = state.apply_txn(&request)?;
            if !ops.is_empty() {
                writer::record(
                    records,
                    &Record::Txn {
                        revision: response.revision,
                        ops,
                    },
                );
            }
            Ok(response)
        })
        .await
    }

    async fn watch(&self, request: WatchRequest) -> Result<WatchStream> {
        let published = self.published.clone();
        let interval = self.options.progress_interval;
        Ok(WatchStream::new(watch::Watch::new(
            self.state.clone(),
            published,
            request,
            interval,
        )))
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        let published = self.published();
        self.submit(move |state, records| {
            state.check_compaction(revision, published)?;
            compact(state, revision);
            writer::record(records, &Record::Compact { revision });
            Ok(())
        })
        .await
    }

    async fn current_revision(&self) -> Result<Revision> {
        Ok(self.published())
    }

    async fn lease_grant(&self, ttl_secs: i64) -> Result<Lease> {
        let ttl = ttl_secs.max(1);
        self.submit(move |state, records| {
            let id = new_lease_id(state);
            state.grant_lease(id, ttl);
            writer::record(records, &Record::LeaseGrant { id, ttl });
            Ok(Lease { id, ttl })
        })
        .await
    }

    async fn lease_keep_alive(&self, id: LeaseId) -> Result<i64> {
        let mut state = self.state.write();
        let lease = state
            .leases
            .get_mut(&id)
            .ok_or(StoreError::LeaseNotFound(id))?;
        lease.deadline =
            Instant::now() + Duration::from_secs(u64::try_from(lease.ttl).unwrap_or(0));
        Ok(lease.ttl)
    }

    async fn lease_revoke(&self, id: LeaseId) -> Result<()> {
        self.submit(move |state, records| revoke(state, records, id))
            .await
    }

    async fn db_size(&self) -> Result<u64> {
        Ok(self.wal_size.load(Ordering::Relaxed))
    }

    async fn defragment(&self) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Message::Defragment(reply))
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

fn read_only_txn(state: &Mvcc, request: &TxnRequest, published: Revision) -> Result<TxnResponse> {
    // Compares and reads see the published state, like any other read.
    let succeeded = request
        .compares
        .iter()
        .all(|c| state.holds_at(c, published));
    let ops = if succeeded {
        &request.success
    } else {
        &request.failure
    };
    let mut responses = Vec::with_capacity(ops.len());
    for op in ops {
        if let Op::Range(read) = op {
            responses.push(crate::types::OpResponse::Range(
                state.range(read, published)?,
            ));
        }
    }
    Ok(TxnResponse {
        revision: published,
        succeeded,
        responses,
    })
}

/// Deletes the keys of a lease and forgets it, as one revision.
fn revoke(state: &mut Mvcc, records: &mut Vec<u8>, id: LeaseId) -> Result<()> {
    let keys = state.lease_keys(id)?;
    let ops: Vec<WalOp> = keys.into_iter().map(|key| WalOp::Delete { key }).collect();
    if !ops.is_empty() {
        let revision = state.current + 1;
        for op in &ops {
            state.apply_op(revision, op);
        }
        state.finish_revision(revision);
        writer::record(records, &Record::Txn { revision, ops });
    }
    state.leases.remove(&id);
    writer::record(records, &Record::LeaseRevoke { id });
    Ok(())
}

/// A positive id unique in this store: time-based, so ids are not reused across restarts.
fn new_lease_id(state: &Mvcc) -> LeaseId {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
    let floor = state.leases.keys().next_back().map_or(0, |last| last + 1);
    now.max(floor)
}

/// Revokes leases whose deadline passed.
async fn expire_leases(state: Arc<RwLock<Mvcc>>, queue: mpsc::Sender<Message>) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tick.tick().await;
        let now = Instant::now();
        let expired: Vec<LeaseId> = state
            .read()
            .leases
            .iter()
            .filter(|(_, l)| l.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            let job: Job = Box::new(move |state, records| {
                // Kept alive (or revoked) since it was seen expired: leave it.
                if state
                    .leases
                    .get(&id)
                    .is_some_and(|l| l.deadline <= Instant::now())
                {
                    let _ = revoke(state, records, id);
                }
                Box::new(|_| {})
            });
            if queue.send(Message::Job(job)).await.is_err() {
                return;
            }
        }
    }
}

/// Compacts, every `interval`, to the revision that was current one interval earlier.
async fn auto_compact(
    queue: mpsc::Sender<Message>,
    published: tokio::sync::watch::Receiver<Published>,
    interval: Duration,
) {
    let mut tick = tokio::time::interval(interval);
    tick.tick().await;
    let mut previous = published.borrow().revision;
    loop {
        tick.tick().await;
        let target = previous;
        previous = published.borrow().revision;
        let job: Job = Box::new(move |state, records| {
            if target > state.compacted {
                compact(state, target);
                writer::record(records, &Record::Compact { revision: target });
                tracing::debug!(component = "store", revision = target, "compacted");
            }
            Box::new(|_| {})
        });
        if queue.send(Message::Job(job)).await.is_err() {
            return;
        }
    }
}

/// Drops the history up to `revision`, timed for the compaction figures.
fn compact(state: &mut Mvcc, revision: Revision) {
    let started = Instant::now();
    state.compact(revision);
    crate::metrics::compacted(revision, Some(started.elapsed()));
}

/// Applies one record of the log, checking that revisions follow each other.
fn replay(dir: &Path, state: &mut Mvcc, record: Record) -> Result<()> {
    let corrupt = |reason: String| StoreError::Corrupt {
        path: dir.join(wal::FILE_NAME),
        reason,
    };
    match record {
        Record::Txn { revision, ops } => {
            if revision != state.current + 1 {
                return Err(corrupt(format!(
                    "revision {revision} follows {}",
                    state.current
                )));
            }
            for op in &ops {
                state.apply_op(revision, op);
            }
            state.finish_revision(revision);
        }
        Record::LeaseGrant { id, ttl } => state.grant_lease(id, ttl),
        Record::LeaseRevoke { id } => {
            state.leases.remove(&id);
        }
        Record::Compact { revision } => {
            if revision > state.current {
                return Err(corrupt(format!(
                    "compaction to {revision} beyond revision {}",
                    state.current
                )));
            }
            state.compact(revision);
        }
        Record::Snapshot { compacted, kvs } => {
            // A restored snapshot spreads its keys over several records at one revision.
            state.compacted = compacted;
            state.current = compacted.max(1);
            for kv in kvs {
                state.restore(kv);
            }
        }
    }
    Ok(())
}
