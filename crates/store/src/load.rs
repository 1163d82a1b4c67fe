//! Loading a key space into an empty store through its API: how a snapshot is restored into a
//! store whose files k0rs does not own (an external etcd). The keys keep their values and leases
//! (granted anew, with their TTLs); their revisions are the store's new ones, so at the end the
//! store is compacted up to its last revision: a client holding a resourceVersion from before the
//! restore gets "compacted" and lists again instead of watching the load's writes.

use std::collections::BTreeMap;

use crate::error::{Result, StoreError};
use crate::store::Store;
use crate::types::{KeyRange, KeyValue, LeaseId, Op, RangeRequest, Revision, TxnRequest};

/// etcd's default limit of operations in one transaction is 128 (`--max-txn-ops`).
const MAX_OPS: usize = 100;
/// Well below etcd's default request limit (1.5 MiB); a larger key goes alone.
const MAX_BYTES: usize = 1 << 20;

/// What a load wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loaded {
    pub keys: usize,
    pub leases: usize,
    /// The store's revision after the load (and the compaction).
    pub revision: Revision,
}

/// Writes `kvs` (with `leases`, id → TTL) into `store`, which must hold no key at all; `progress`
/// is told the number of keys written after each transaction.
pub async fn load(
    store: &dyn Store,
    kvs: &[KeyValue],
    leases: &[(LeaseId, i64)],
    mut progress: impl FnMut(usize),
) -> Result<Loaded> {
    let existing = store
        .range(RangeRequest {
            count_only: true,
            ..RangeRequest::new(KeyRange::between(vec![0], vec![0]))
        })
        .await?
        .count;
    if existing > 0 {
        return Err(StoreError::NotEmpty { keys: existing });
    }
    let mut granted = BTreeMap::new();
    for (id, ttl) in leases {
        granted.insert(*id, store.lease_grant(*ttl).await?.id);
    }
    let mut written = 0;
    let mut batch = Vec::new();
    let mut size = 0;
    for kv in kvs {
        let lease = granted.get(&kv.lease).copied().unwrap_or(0);
        let bytes = kv.key.len() + kv.value.len();
        if !batch.is_empty() && (batch.len() == MAX_OPS || size + bytes > MAX_BYTES) {
            written += write(store, std::mem::take(&mut batch)).await?;
            size = 0;
            progress(written);
        }
        batch.push(Op::put_leased(kv.key.clone(), kv.value.clone(), lease));
        size += bytes;
    }
    if !batch.is_empty() {
        written += write(store, batch).await?;
        progress(written);
    }
    let revision = store.current_revision().await?;
    // A fresh store has no history to drop at its first revision.
    if revision > 1 {
        store.compact(revision).await?;
    }
    Ok(Loaded {
        keys: written,
        leases: granted.len(),
        revision,
    })
}

async fn write(store: &dyn Store, ops: Vec<Op>) -> Result<usize> {
    let n = ops.len();
    store
        .txn(TxnRequest {
            success: ops,
            ..TxnRequest::default()
        })
        .await?;
    Ok(n)
}
