//! Write transactions on the in-memory state: compares, then the ops of the chosen branch, checked
//! up front so that a transaction either applies whole or not at all.

use std::collections::BTreeSet;

use super::mvcc::Mvcc;
use super::stored::WalOp;
use crate::error::{Result, StoreError};
use crate::types::{KeyValue, Op, OpResponse, TxnRequest, TxnResponse};

impl Mvcc {
    /// Applies a write transaction. Returns the response and, when it changed anything, the WAL ops
    /// of its new revision.
    pub fn apply_txn(&mut self, request: &TxnRequest) -> Result<(TxnResponse, Vec<WalOp>)> {
        let succeeded = request
            .compares
            .iter()
            .all(|c| self.holds_at(c, self.current));
        let ops = if succeeded {
            &request.success
        } else {
            &request.failure
        };
        self.validate(ops)?;
        let revision = self.current + 1;
        let mut wal = Vec::new();
        let mut responses = Vec::with_capacity(ops.len());
        for op in ops {
            responses.push(match op {
                Op::Range(read) => {
                    // Reads inside a transaction see its earlier writes.
                    let mut response = self.range(read, revision)?;
                    response.revision = self.current;
                    OpResponse::Range(response)
                }
                Op::Put {
                    key,
                    value,
                    lease,
                    prev_kv,
                } => {
                    let prev = self.latest_at(key, revision).map(|p| p.to_kv(key));
                    let put = WalOp::Put {
                        key: key.clone(),
                        value: value.clone(),
                        lease: *lease,
                    };
                    self.apply_op(revision, &put);
                    wal.push(put);
                    OpResponse::Put {
                        prev_kv: prev.filter(|_| *prev_kv),
                    }
                }
                Op::Delete { range, prev_kv } => {
                    let doomed: Vec<KeyValue> = self
                        .visible_in(range, revision)
                        .map(|(k, s)| s.to_kv(k))
                        .collect();
                    for kv in &doomed {
                        let delete = WalOp::Delete {
                            key: kv.key.clone(),
                        };
                        self.apply_op(revision, &delete);
                        wal.push(delete);
                    }
                    let deleted = i64::try_from(doomed.len()).unwrap_or(i64::MAX);
                    OpResponse::Delete {
                        deleted,
                        prev_kvs: if *prev_kv { doomed } else { Vec::new() },
                    }
                }
            });
        }
        if !wal.is_empty() {
            self.current = revision;
        }
        Ok((
            TxnResponse {
                revision: self.current,
                succeeded,
                responses,
            },
            wal,
        ))
    }

    /// Checks everything that could make the transaction fail half-way, before it changes anything.
    fn validate(&self, ops: &[Op]) -> Result<()> {
        let mut written = BTreeSet::new();
        for op in ops {
            match op {
                Op::Range(read) => {
                    self.check_read_revision(read.revision, self.current)?;
                }
                Op::Put { key, lease, .. } => {
                    if *lease != 0 && !self.leases.contains_key(lease) {
                        return Err(StoreError::LeaseNotFound(*lease));
                    }
                    if !written.insert(key.clone()) {
                        return Err(StoreError::DuplicateKey(key.clone()));
                    }
                }
                Op::Delete { range, .. } => {
                    if let Some(key) = written.iter().find(|k| range.contains(k)) {
                        return Err(StoreError::DuplicateKey(key.clone()));
                    }
                }
            }
        }
        Ok(())
    }
}
