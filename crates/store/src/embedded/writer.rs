//! The single writer: a thread that takes every change in arrival order, applies a batch of them to
//! the in-memory state, appends their records to the WAL with one fsync (group commit), and only
//! then publishes the new revision and answers the callers.

use std::sync::Arc;
use std::time::Instant;

use parking_lot::RwLock;
use tokio::sync::{mpsc, oneshot, watch};

use super::codec::Record;
use super::mvcc::Mvcc;
use super::snapshot::Snapshot;
use super::wal::{self, Wal};
use crate::error::{Result, StoreError};
use crate::types::Revision;

/// Answers a caller once its batch is durable; given the failure if writing the batch failed.
pub type Completion = Box<dyn FnOnce(Option<&str>) + Send>;

/// A change: applied to the state under the write lock, its records appended to `records`.
pub type Job = Box<dyn FnOnce(&mut Mvcc, &mut Vec<u8>) -> Completion + Send>;

pub enum Message {
    Job(Job),
    /// Rewrite the WAL to hold only the state since the last compaction.
    Defragment(oneshot::Sender<Result<()>>),
    /// Capture the key space once every change before this message is durable and published.
    Snapshot(oneshot::Sender<Result<Snapshot>>),
}

/// The newest durable revision, which readers and watches see, and when it became so (for the
/// watch delay figure).
#[derive(Debug, Clone, Copy)]
pub struct Published {
    pub revision: Revision,
    pub at: Instant,
}

impl Published {
    pub fn now(revision: Revision) -> Self {
        Self {
            revision,
            at: Instant::now(),
        }
    }
}

/// How many queued changes one fsync may cover at most.
const MAX_BATCH: usize = 4096;

pub struct Writer {
    pub state: Arc<RwLock<Mvcc>>,
    pub wal: Wal,
    pub published: watch::Sender<Published>,
    pub wal_size: Arc<std::sync::atomic::AtomicU64>,
}

impl Writer {
    /// Runs until every sender of `queue` is gone.
    pub fn run(mut self, mut queue: mpsc::Receiver<Message>) {
        let mut failure: Option<String> = None;
        while let Some(first) = queue.blocking_recv() {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(message) => batch.push(message),
                    Err(_) => break,
                }
            }
            let mut records = Vec::new();
            let mut completions = Vec::with_capacity(batch.len());
            let mut defragments = Vec::new();
            let mut snapshots = Vec::new();
            {
                let mut state = self.state.write();
                for message in batch {
                    match message {
                        Message::Job(job) if failure.is_none() => {
                            completions.push(job(&mut state, &mut records));
                        }
                        Message::Job(job) => {
                            let mut scratch = Mvcc::default();
                            completions.push(job(&mut scratch, &mut Vec::new()));
                        }
                        Message::Defragment(reply) => defragments.push(reply),
                        Message::Snapshot(reply) => snapshots.push(reply),
                    }
                }
            }
            if failure.is_none()
                && !records.is_empty()
                && let Err(e) = self.wal.append(&records)
            {
                tracing::error!(component = "store", error = %e, "write failed; the store stops accepting writes");
                failure = Some(e.to_string());
            }
            if failure.is_none() {
                let current = self.state.read().current;
                // Watches wake only for a new revision, and its time is when it first showed.
                self.published.send_if_modified(|published| {
                    let new = published.revision != current;
                    if new {
                        *published = Published::now(current);
                    }
                    new
                });
                self.wal_size
                    .store(self.wal.size(), std::sync::atomic::Ordering::Relaxed);
            }
            for complete in completions {
                complete(failure.as_deref());
            }
            // Here every change applied so far is durable and published: the state's current
            // revision is the published one, and its leases match its keys.
            for reply in snapshots {
                let result = match &failure {
                    Some(f) => Err(StoreError::Failed(f.clone())),
                    None => Ok(Snapshot::capture(&self.state.read())),
                };
                let _ = reply.send(result);
            }
            for reply in defragments {
                let result = match &failure {
                    Some(f) => Err(StoreError::Failed(f.clone())),
                    None => self.rewrite(),
                };
                let _ = reply.send(result);
            }
        }
    }

    fn rewrite(&mut self) -> Result<()> {
        let records = {
            let state = self.state.read();
            let (kvs, later) = state.snapshot();
            let mut records: Vec<Record> = state
                .leases
                .iter()
                .map(|(id, lease)| Record::LeaseGrant {
                    id: *id,
                    ttl: lease.ttl,
                })
                .collect();
            records.push(Record::Snapshot {
                compacted: state.compacted,
                kvs,
            });
            records.extend(
                later
                    .into_iter()
                    .map(|(revision, ops)| Record::Txn { revision, ops }),
            );
            records
        };
        self.wal.rewrite(&records)?;
        self.wal_size
            .store(self.wal.size(), std::sync::atomic::Ordering::Relaxed);
        tracing::info!(
            component = "store",
            bytes = self.wal.size(),
            "rewrote the log"
        );
        Ok(())
    }
}

/// Frames `record` into a batch.
pub fn record(records: &mut Vec<u8>, record: &Record) {
    wal::frame(record, records);
}
