//! The in-memory multi-version state: every key's versions since the last compaction, the events
//! of every revision since then, and the leases. Pure data: the WAL and the writer thread feed it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ops::Bound;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Result, StoreError};
use crate::types::{
    Compare, CompareOp, CompareTarget, EventKind, KeyRange, KeyValue, LeaseId, Op, OpResponse,
    RangeRequest, RangeResponse, Revision, TxnRequest, TxnResponse,
};

/// A write as the WAL records it: deletes are already expanded to single keys, so replaying a
/// record reproduces exactly the original revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalOp {
    Put {
        key: Vec<u8>,
        value: Vec<u8>,
        lease: LeaseId,
    },
    Delete {
        key: Vec<u8>,
    },
}

/// One change as kept in the history, shared with the index.
#[derive(Debug)]
pub struct StoredEvent {
    pub kind: EventKind,
    pub kv: Arc<KeyValue>,
    pub prev: Option<Arc<KeyValue>>,
}

#[derive(Debug, Clone)]
struct Version {
    mod_revision: Revision,
    /// `None`: the key was deleted at `mod_revision`.
    kv: Option<Arc<KeyValue>>,
}

#[derive(Debug)]
pub struct LeaseState {
    pub ttl: i64,
    pub deadline: Instant,
    pub keys: BTreeSet<Vec<u8>>,
}

#[derive(Debug)]
pub struct Mvcc {
    index: BTreeMap<Vec<u8>, Vec<Version>>,
    /// The events of every revision in `(compacted, current]`, in order.
    history: VecDeque<(Revision, Vec<StoredEvent>)>,
    /// Last applied revision (the published one may lag until the WAL is synced).
    pub current: Revision,
    /// Reads below this revision fail; watches must start after it.
    pub compacted: Revision,
    pub leases: BTreeMap<LeaseId, LeaseState>,
    /// Bytes of keys and values currently visible (for size estimates).
    pub live_bytes: u64,
}

impl Default for Mvcc {
    fn default() -> Self {
        // Like etcd, an empty store is at revision 1 and the first write gets revision 2.
        Self {
            index: BTreeMap::new(),
            history: VecDeque::new(),
            current: 1,
            compacted: 0,
            leases: BTreeMap::new(),
            live_bytes: 0,
        }
    }
}

impl Mvcc {
    pub fn check_read_revision(
        &self,
        requested: Revision,
        published: Revision,
    ) -> Result<Revision> {
        let revision = if requested <= 0 { published } else { requested };
        if revision < self.compacted {
            return Err(StoreError::Compacted {
                requested: revision,
                compact_revision: self.compacted,
            });
        }
        if revision > published {
            return Err(StoreError::FutureRevision {
                requested: revision,
                current: published,
            });
        }
        Ok(revision)
    }

    /// Serves a range read at `published` or the revision asked for.
    pub fn range(&self, request: &RangeRequest, published: Revision) -> Result<RangeResponse> {
        let revision = self.check_read_revision(request.revision, published)?;
        let limit = usize::try_from(request.limit).unwrap_or(0);
        let mut response = RangeResponse {
            revision: published,
            ..RangeResponse::default()
        };
        for kv in self.visible_in(&request.range, revision) {
            response.count += 1;
            if request.count_only || (limit > 0 && response.kvs.len() >= limit) {
                continue;
            }
            let mut kv = kv.as_ref().clone();
            if request.keys_only {
                kv.value.clear();
            }
            response.kvs.push(kv);
        }
        response.more = limit > 0 && usize::try_from(response.count).unwrap_or(usize::MAX) > limit;
        Ok(response)
    }

    fn visible_in<'a>(
        &'a self,
        range: &KeyRange,
        revision: Revision,
    ) -> impl Iterator<Item = &'a Arc<KeyValue>> + 'a {
        let bounds: (Bound<&[u8]>, Bound<&[u8]>) = match range.range_end.as_deref() {
            None => (
                Bound::Included(range.key.as_slice()),
                Bound::Included(range.key.as_slice()),
            ),
            Some([0]) => (Bound::Included(range.key.as_slice()), Bound::Unbounded),
            Some(end) if end <= range.key.as_slice() => {
                (Bound::Excluded(end), Bound::Excluded(end))
            }
            Some(end) => (Bound::Included(range.key.as_slice()), Bound::Excluded(end)),
        };
        let empty = matches!(bounds, (Bound::Excluded(_), Bound::Excluded(_)));
        let iter = if empty {
            None
        } else {
            Some(self.index.range::<[u8], _>(bounds))
        };
        iter.into_iter()
            .flatten()
            .filter_map(move |(_, versions)| visible(versions, revision))
    }

    fn latest(&self, key: &[u8]) -> Option<&Arc<KeyValue>> {
        self.latest_at(key, self.current)
    }

    /// Whether `compare` holds at `revision`.
    pub fn holds_at(&self, compare: &Compare, revision: Revision) -> bool {
        let kv = self.latest_at(&compare.key, revision);
        let ordering = match (&compare.target, kv) {
            // A value compare on a missing key is false, as in etcd.
            (CompareTarget::Value(_), None) => return false,
            (CompareTarget::Value(want), Some(kv)) => kv.value.as_slice().cmp(want.as_slice()),
            (CompareTarget::Version(want), kv) => kv.map_or(0, |kv| kv.version).cmp(want),
            (CompareTarget::CreateRevision(want), kv) => {
                kv.map_or(0, |kv| kv.create_revision).cmp(want)
            }
            (CompareTarget::ModRevision(want), kv) => kv.map_or(0, |kv| kv.mod_revision).cmp(want),
            (CompareTarget::Lease(want), kv) => kv.map_or(0, |kv| kv.lease).cmp(want),
        };
        match compare.op {
            CompareOp::Equal => ordering.is_eq(),
            CompareOp::NotEqual => ordering.is_ne(),
            CompareOp::Less => ordering.is_lt(),
            CompareOp::Greater => ordering.is_gt(),
        }
    }

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
                    let prev = self.latest(key).cloned();
                    let put = WalOp::Put {
                        key: key.clone(),
                        value: value.clone(),
                        lease: *lease,
                    };
                    self.apply_op(revision, &put);
                    wal.push(put);
                    OpResponse::Put {
                        prev_kv: prev.filter(|_| *prev_kv).map(|kv| kv.as_ref().clone()),
                    }
                }
                Op::Delete { range, prev_kv } => {
                    let doomed: Vec<Arc<KeyValue>> =
                        self.visible_in(range, revision).cloned().collect();
                    for kv in &doomed {
                        let delete = WalOp::Delete {
                            key: kv.key.clone(),
                        };
                        self.apply_op(revision, &delete);
                        wal.push(delete);
                    }
                    let deleted = i64::try_from(doomed.len()).unwrap_or(i64::MAX);
                    let prev_kvs = if *prev_kv {
                        doomed.iter().map(|kv| kv.as_ref().clone()).collect()
                    } else {
                        vec![]
                    };
                    OpResponse::Delete { deleted, prev_kvs }
                }
            });
        }
        let revision = if wal.is_empty() {
            self.current
        } else {
            self.finish_revision(revision)
        };
        Ok((
            TxnResponse {
                revision,
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

    /// Applies one recorded write at `revision` (live or from the WAL); the caller finishes the
    /// revision once all its ops are applied.
    pub fn apply_op(&mut self, revision: Revision, op: &WalOp) {
        let event = match op {
            WalOp::Put { key, value, lease } => {
                let prev = self.latest_at(key, revision).cloned();
                let kv = Arc::new(KeyValue {
                    key: key.clone(),
                    value: value.clone(),
                    create_revision: prev.as_ref().map_or(revision, |p| p.create_revision),
                    mod_revision: revision,
                    version: prev.as_ref().map_or(1, |p| p.version + 1),
                    lease: *lease,
                });
                if let Some(p) = &prev {
                    self.detach(p);
                }
                if *lease != 0
                    && let Some(state) = self.leases.get_mut(lease)
                {
                    state.keys.insert(key.clone());
                }
                self.live_bytes += (key.len() + value.len()) as u64;
                self.push_version(
                    key,
                    Version {
                        mod_revision: revision,
                        kv: Some(kv.clone()),
                    },
                );
                StoredEvent {
                    kind: EventKind::Put,
                    kv,
                    prev,
                }
            }
            WalOp::Delete { key } => {
                let Some(prev) = self.latest_at(key, revision).cloned() else {
                    return;
                };
                self.detach(&prev);
                self.push_version(
                    key,
                    Version {
                        mod_revision: revision,
                        kv: None,
                    },
                );
                let kv = Arc::new(KeyValue {
                    key: key.clone(),
                    mod_revision: revision,
                    ..KeyValue::default()
                });
                StoredEvent {
                    kind: EventKind::Delete,
                    kv,
                    prev: Some(prev),
                }
            }
        };
        match self.history.back_mut() {
            Some((r, events)) if *r == revision => events.push(event),
            _ => self.history.push_back((revision, vec![event])),
        }
    }

    /// Makes `revision` the current one after its ops were applied.
    pub fn finish_revision(&mut self, revision: Revision) -> Revision {
        self.current = revision;
        revision
    }

    fn latest_at(&self, key: &[u8], revision: Revision) -> Option<&Arc<KeyValue>> {
        self.index
            .get(key)
            .and_then(|versions| visible(versions, revision))
    }

    fn push_version(&mut self, key: &[u8], version: Version) {
        let versions = self.index.entry(key.to_vec()).or_default();
        // Within one revision a later op on the same key replaces the earlier one.
        if versions
            .last()
            .is_some_and(|v| v.mod_revision == version.mod_revision)
        {
            versions.pop();
        }
        versions.push(version);
    }

    fn detach(&mut self, kv: &KeyValue) {
        self.live_bytes = self
            .live_bytes
            .saturating_sub((kv.key.len() + kv.value.len()) as u64);
        if kv.lease != 0
            && let Some(state) = self.leases.get_mut(&kv.lease)
        {
            state.keys.remove(&kv.key);
        }
    }

    /// Installs a key as a snapshot holds it (used when loading a rewritten WAL).
    pub fn restore(&mut self, kv: KeyValue) {
        if kv.lease != 0
            && let Some(state) = self.leases.get_mut(&kv.lease)
        {
            state.keys.insert(kv.key.clone());
        }
        self.live_bytes += (kv.key.len() + kv.value.len()) as u64;
        let key = kv.key.clone();
        self.push_version(
            &key,
            Version {
                mod_revision: kv.mod_revision,
                kv: Some(Arc::new(kv)),
            },
        );
    }

    /// Drops history up to and including `revision`, keeping for every key its latest version at
    /// `revision`, so reads at `revision` or later still work.
    pub fn compact(&mut self, revision: Revision) {
        let mut touched = BTreeSet::new();
        while self.history.front().is_some_and(|(r, _)| *r <= revision) {
            let (_, events) = self.history.pop_front().expect("checked non-empty");
            touched.extend(events.into_iter().map(|e| e.kv.key.clone()));
        }
        for key in touched {
            let Some(versions) = self.index.get_mut(&key) else {
                continue;
            };
            let keep_from = versions
                .partition_point(|v| v.mod_revision <= revision)
                .saturating_sub(1);
            versions.drain(..keep_from);
            if versions
                .first()
                .is_some_and(|v| v.mod_revision <= revision && v.kv.is_none())
            {
                versions.remove(0);
            }
            if versions.is_empty() {
                self.index.remove(&key);
            }
        }
        self.compacted = revision;
    }

    /// Events of the revisions in `[from, to]` for keys in `range`.
    pub fn events(&self, range: &KeyRange, from: Revision, to: Revision) -> Vec<&StoredEvent> {
        let start = self.history.partition_point(|(r, _)| *r < from);
        self.history
            .range(start..)
            .take_while(|(r, _)| *r <= to)
            .flat_map(|(_, events)| events.iter())
            .filter(|e| range.contains(&e.kv.key))
            .collect()
    }

    /// Every key visible at `compacted` (for a snapshot), and the WAL ops of each later revision.
    pub fn snapshot(&self) -> (Vec<KeyValue>, Vec<(Revision, Vec<WalOp>)>) {
        let base: Vec<KeyValue> = self
            .index
            .values()
            .filter_map(|versions| visible(versions, self.compacted))
            .map(|kv| kv.as_ref().clone())
            .collect();
        let later = self
            .history
            .iter()
            .map(|(revision, events)| {
                let ops = events
                    .iter()
                    .map(|e| match e.kind {
                        EventKind::Put => WalOp::Put {
                            key: e.kv.key.clone(),
                            value: e.kv.value.clone(),
                            lease: e.kv.lease,
                        },
                        EventKind::Delete => WalOp::Delete {
                            key: e.kv.key.clone(),
                        },
                    })
                    .collect();
                (*revision, ops)
            })
            .collect();
        (base, later)
    }

    pub fn grant_lease(&mut self, id: LeaseId, ttl: i64) {
        let deadline = Instant::now() + Duration::from_secs(u64::try_from(ttl).unwrap_or(0));
        self.leases.insert(
            id,
            LeaseState {
                ttl,
                deadline,
                keys: BTreeSet::new(),
            },
        );
    }

    /// The keys attached to a lease, to delete when it is revoked.
    pub fn lease_keys(&self, id: LeaseId) -> Result<Vec<Vec<u8>>> {
        self.leases
            .get(&id)
            .map(|l| l.keys.iter().cloned().collect())
            .ok_or(StoreError::LeaseNotFound(id))
    }

    pub fn key_count(&self) -> usize {
        self.index.len()
    }
}

fn visible(versions: &[Version], revision: Revision) -> Option<&Arc<KeyValue>> {
    let at = versions.partition_point(|v| v.mod_revision <= revision);
    at.checked_sub(1).and_then(|i| versions[i].kv.as_ref())
}
