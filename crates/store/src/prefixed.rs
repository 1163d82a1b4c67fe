//! A store seen under a key prefix (`spec.storage.etcd.externalCluster.etcdPrefix`): several
//! clusters share one etcd, each seeing only its own keys, as kube-apiserver's `--etcd-prefix`
//! allows. Keys gain the prefix on the way in and lose it on the way out; a range ending at
//! "every key after" (`\0`) ends at the end of the prefix.

use std::sync::Arc;

use async_trait::async_trait;

use crate::store::WatchSource;
use crate::types::{
    KeyRange, KeyValue, Lease, LeaseId, Op, OpResponse, RangeRequest, RangeResponse, Revision,
    TxnRequest, TxnResponse, WatchRequest, WatchResponse, prefix_end,
};
use crate::{Result, Store, WatchStream};

pub struct Prefixed {
    inner: Arc<dyn Store>,
    prefix: Vec<u8>,
}

impl std::fmt::Debug for Prefixed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prefixed")
            .field("prefix", &String::from_utf8_lossy(&self.prefix))
            .finish_non_exhaustive()
    }
}

impl Prefixed {
    /// `inner` with every key under `/<prefix>`.
    pub fn new(inner: Arc<dyn Store>, prefix: &str) -> Self {
        Self {
            inner,
            prefix: Self::key_prefix(prefix),
        }
    }

    /// What the keys in the inner store start with: `/<prefix>`.
    pub fn key_prefix(prefix: &str) -> Vec<u8> {
        format!("/{}", prefix.trim_matches('/')).into_bytes()
    }

    fn key(&self, key: &[u8]) -> Vec<u8> {
        let mut prefixed = self.prefix.clone();
        prefixed.extend_from_slice(key);
        prefixed
    }

    fn range(&self, range: &KeyRange) -> KeyRange {
        KeyRange {
            key: self.key(&range.key),
            range_end: range.range_end.as_ref().map(|end| match end.as_slice() {
                [0] => prefix_end(&self.prefix),
                end => self.key(end),
            }),
        }
    }

    fn op(&self, op: &Op) -> Op {
        match op {
            Op::Range(request) => Op::Range(self.range_request(request)),
            Op::Put {
                key,
                value,
                lease,
                prev_kv,
            } => Op::Put {
                key: self.key(key),
                value: value.clone(),
                lease: *lease,
                prev_kv: *prev_kv,
            },
            Op::Delete { range, prev_kv } => Op::Delete {
                range: self.range(range),
                prev_kv: *prev_kv,
            },
        }
    }

    fn range_request(&self, request: &RangeRequest) -> RangeRequest {
        RangeRequest {
            range: self.range(&request.range),
            ..request.clone()
        }
    }
}

/// Strips `prefix` from what the inner store returns.
fn strip(prefix: &[u8], mut kv: KeyValue) -> KeyValue {
    if kv.key.starts_with(prefix) {
        kv.key.drain(..prefix.len());
    }
    kv
}

fn strip_all(prefix: &[u8], kvs: Vec<KeyValue>) -> Vec<KeyValue> {
    kvs.into_iter().map(|kv| strip(prefix, kv)).collect()
}

fn strip_range(prefix: &[u8], mut response: RangeResponse) -> RangeResponse {
    response.kvs = strip_all(prefix, std::mem::take(&mut response.kvs));
    response
}

struct PrefixedWatch {
    inner: WatchStream,
    prefix: Vec<u8>,
}

#[async_trait]
impl WatchSource for PrefixedWatch {
    async fn next(&mut self) -> Option<Result<WatchResponse>> {
        let response = self.inner.next().await?;
        Some(response.map(|mut response| {
            for event in &mut response.events {
                let kv = std::mem::take(&mut event.kv);
                event.kv = strip(&self.prefix, kv);
                event.prev_kv = event.prev_kv.take().map(|kv| strip(&self.prefix, kv));
            }
            response
        }))
    }
}

#[async_trait]
impl Store for Prefixed {
    async fn range(&self, request: RangeRequest) -> Result<RangeResponse> {
        let response = self.inner.range(self.range_request(&request)).await?;
        Ok(strip_range(&self.prefix, response))
    }

    async fn txn(&self, request: TxnRequest) -> Result<TxnResponse> {
        let request = TxnRequest {
            compares: request
                .compares
                .iter()
                .map(|c| crate::types::Compare {
                    key: self.key(&c.key),
                    ..c.clone()
                })
                .collect(),
            success: request.success.iter().map(|op| self.op(op)).collect(),
            failure: request.failure.iter().map(|op| self.op(op)).collect(),
        };
        let mut response = self.inner.txn(request).await?;
        for op in &mut response.responses {
            match op {
                OpResponse::Range(range) => {
                    *range = strip_range(&self.prefix, std::mem::take(range));
                }
                OpResponse::Put { prev_kv } => {
                    *prev_kv = prev_kv.take().map(|kv| strip(&self.prefix, kv));
                }
                OpResponse::Delete { prev_kvs, .. } => {
                    *prev_kvs = strip_all(&self.prefix, std::mem::take(prev_kvs));
                }
            }
        }
        Ok(response)
    }

    async fn watch(&self, request: WatchRequest) -> Result<WatchStream> {
        let inner = self
            .inner
            .watch(WatchRequest {
                range: self.range(&request.range),
                ..request
            })
            .await?;
        Ok(WatchStream::new(PrefixedWatch {
            inner,
            prefix: self.prefix.clone(),
        }))
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        self.inner.compact(revision).await
    }

    async fn current_revision(&self) -> Result<Revision> {
        self.inner.current_revision().await
    }

    async fn lease_grant(&self, ttl_secs: i64) -> Result<Lease> {
        self.inner.lease_grant(ttl_secs).await
    }

    async fn lease_keep_alive(&self, id: LeaseId) -> Result<i64> {
        self.inner.lease_keep_alive(id).await
    }

    async fn lease_revoke(&self, id: LeaseId) -> Result<()> {
        self.inner.lease_revoke(id).await
    }

    async fn db_size(&self) -> Result<u64> {
        self.inner.db_size().await
    }

    async fn defragment(&self) -> Result<()> {
        self.inner.defragment().await
    }
}
