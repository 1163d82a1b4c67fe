//! The in-memory multi-version state: every key's versions since the last compaction, the events
//! of every revision since then, and the leases. Pure data: the WAL and the writer thread feed it.
//!
//! Memory matters here (the whole key space lives in it): each key is stored once, as an
//! `Arc<[u8]>` shared by the index, the history and the leases; values carry no copy of their key;
//! a key with one version (the common case) needs no separate allocation for its version list.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ops::Bound;
use std::sync::Arc;
use std::time::{Duration, Instant};

use smallvec::SmallVec;

use super::stored::{Stored, StoredEvent, WalOp};
use crate::error::{Result, StoreError};
use crate::types::{
    Compare, CompareOp, CompareTarget, EventKind, KeyRange, KeyValue, LeaseId, RangeRequest,
    RangeResponse, Revision,
};

#[derive(Debug, Clone)]
struct Version {
    mod_revision: Revision,
    /// `None`: the key was deleted at `mod_revision`.
    value: Option<Arc<Stored>>,
}

type Versions = SmallVec<[Version; 1]>;

/// Index bounds of a key range.
type KeyBounds<'a> = (Bound<&'a [u8]>, Bound<&'a [u8]>);

#[derive(Debug)]
pub struct LeaseState {
    pub ttl: i64,
    pub deadline: Instant,
    pub keys: BTreeSet<Arc<[u8]>>,
}

#[derive(Debug)]
pub struct Mvcc {
    index: BTreeMap<Arc<[u8]>, Versions>,
    /// The events of every revision in `(compacted, current]`, in order.
    history: VecDeque<(Revision, Vec<StoredEvent>)>,
    /// Last applied revision (the published one may lag until the WAL is synced).
    pub current: Revision,
    /// Reads below this revision fail; watches must start after it.
    pub compacted: Revision,
    pub leases: BTreeMap<LeaseId, LeaseState>,
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

    /// Checks a compaction target: after the last compaction, not beyond the published revision.
    pub fn check_compaction(&self, revision: Revision, published: Revision) -> Result<()> {
        if revision <= self.compacted {
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
        Ok(())
    }

    /// Serves a range read at `published` or the revision asked for.
    pub fn range(&self, request: &RangeRequest, published: Revision) -> Result<RangeResponse> {
        let revision = self.check_read_revision(request.revision, published)?;
        let limit = usize::try_from(request.limit).unwrap_or(0);
        let mut response = RangeResponse {
            revision: published,
            ..RangeResponse::default()
        };
        for (key, stored) in self.visible_in(&request.range, revision) {
            response.count += 1;
            if request.count_only || (limit > 0 && response.kvs.len() >= limit) {
                continue;
            }
            response.kvs.push(if request.keys_only {
                stored.to_key(key)
            } else {
                stored.to_kv(key)
            });
        }
        response.more = limit > 0 && usize::try_from(response.count).unwrap_or(usize::MAX) > limit;
        Ok(response)
    }

    pub(super) fn visible_in<'a>(
        &'a self,
        range: &KeyRange,
        revision: Revision,
    ) -> impl Iterator<Item = (&'a Arc<[u8]>, &'a Arc<Stored>)> + 'a {
        let key = range.key.as_slice();
        let bounds: Option<KeyBounds<'_>> = match range.range_end.as_deref() {
            None => Some((Bound::Included(key), Bound::Included(key))),
            Some([0]) => Some((Bound::Included(key), Bound::Unbounded)),
            Some(end) if end <= key => None,
            Some(end) => Some((Bound::Included(key), Bound::Excluded(end))),
        };
        bounds
            .map(|b| self.index.range::<[u8], _>(b))
            .into_iter()
            .flatten()
            .filter_map(move |(key, versions)| visible(versions, revision).map(|s| (key, s)))
    }

    pub(super) fn latest_at(&self, key: &[u8], revision: Revision) -> Option<&Arc<Stored>> {
        self.index
            .get(key)
            .and_then(|versions| visible(versions, revision))
    }

    /// Whether `compare` holds at `revision`.
    pub fn holds_at(&self, compare: &Compare, revision: Revision) -> bool {
        let stored = self.latest_at(&compare.key, revision);
        let ordering = match (&compare.target, stored) {
            // A value compare on a missing key is false, as in etcd.
            (CompareTarget::Value(_), None) => return false,
            (CompareTarget::Value(want), Some(s)) => s.value.as_ref().cmp(want.as_slice()),
            (CompareTarget::Version(want), s) => s.map_or(0, |s| s.version).cmp(want),
            (CompareTarget::CreateRevision(want), s) => {
                s.map_or(0, |s| s.create_revision).cmp(want)
            }
            (CompareTarget::ModRevision(want), s) => s.map_or(0, |s| s.mod_revision).cmp(want),
            (CompareTarget::Lease(want), s) => s.map_or(0, |s| s.lease).cmp(want),
        };
        match compare.op {
            CompareOp::Equal => ordering.is_eq(),
            CompareOp::NotEqual => ordering.is_ne(),
            CompareOp::Less => ordering.is_lt(),
            CompareOp::Greater => ordering.is_gt(),
        }
    }

    /// Applies one recorded write at `revision` (live or from the WAL). The revision becomes
    /// current with [`Mvcc::finish_revision`] once all its ops are applied.
    pub fn apply_op(&mut self, revision: Revision, op: &WalOp) {
        let event = match op {
            WalOp::Put { key, value, lease } => {
                let key = self.shared_key(key);
                let prev = self.latest_at(&key, revision).cloned();
                let stored = Arc::new(Stored {
                    create_revision: prev.as_ref().map_or(revision, |p| p.create_revision),
                    mod_revision: revision,
                    version: prev.as_ref().map_or(1, |p| p.version + 1),
                    lease: *lease,
                    value: value.clone().into_boxed_slice(),
                });
                if let Some(p) = &prev {
                    self.detach(&key, p);
                }
                if *lease != 0
                    && let Some(state) = self.leases.get_mut(lease)
                {
                    state.keys.insert(key.clone());
                }
                self.push_version(
                    &key,
                    Version {
                        mod_revision: revision,
                        value: Some(stored.clone()),
                    },
                );
                StoredEvent {
                    kind: EventKind::Put,
                    key,
                    mod_revision: revision,
                    value: Some(stored),
                    prev,
                }
            }
            WalOp::Delete { key } => {
                let Some(prev) = self.latest_at(key, revision).cloned() else {
                    return;
                };
                let key = self.shared_key(key);
                self.detach(&key, &prev);
                self.push_version(
                    &key,
                    Version {
                        mod_revision: revision,
                        value: None,
                    },
                );
                StoredEvent {
                    kind: EventKind::Delete,
                    key,
                    mod_revision: revision,
                    value: None,
                    prev: Some(prev),
                }
            }
        };
        match self.history.back_mut() {
            Some((r, events)) if *r == revision => events.push(event),
            _ => self.history.push_back((revision, vec![event])),
        }
    }

    /// Makes `revision` current after its ops were applied from the WAL.
    pub fn finish_revision(&mut self, revision: Revision) {
        self.current = revision;
    }

    /// The index's copy of `key`, so that every holder shares one allocation.
    fn shared_key(&self, key: &[u8]) -> Arc<[u8]> {
        self.index
            .get_key_value(key)
            .map_or_else(|| Arc::from(key), |(k, _)| k.clone())
    }

    fn push_version(&mut self, key: &Arc<[u8]>, version: Version) {
        let versions = self.index.entry(key.clone()).or_default();
        // Within one revision a later op on the same key replaces the earlier one.
        if versions
            .last()
            .is_some_and(|v| v.mod_revision == version.mod_revision)
        {
            versions.pop();
        }
        versions.push(version);
    }

    fn detach(&mut self, key: &Arc<[u8]>, prev: &Stored) {
        if prev.lease != 0
            && let Some(state) = self.leases.get_mut(&prev.lease)
        {
            state.keys.remove(key);
        }
    }

    /// Installs a key as a snapshot holds it (used when loading a rewritten WAL).
    pub fn restore(&mut self, kv: KeyValue) {
        let key: Arc<[u8]> = Arc::from(kv.key.as_slice());
        if kv.lease != 0
            && let Some(state) = self.leases.get_mut(&kv.lease)
        {
            state.keys.insert(key.clone());
        }
        let stored = Stored {
            create_revision: kv.create_revision,
            mod_revision: kv.mod_revision,
            version: kv.version,
            lease: kv.lease,
            value: kv.value.into_boxed_slice(),
        };
        self.push_version(
            &key,
            Version {
                mod_revision: kv.mod_revision,
                value: Some(Arc::new(stored)),
            },
        );
    }

    /// Drops history up to and including `revision`, keeping for every key its latest version at
    /// `revision`, so reads at `revision` or later still work.
    pub fn compact(&mut self, revision: Revision) {
        let mut touched = BTreeSet::new();
        while self.history.front().is_some_and(|(r, _)| *r <= revision) {
            let (_, events) = self.history.pop_front().expect("checked non-empty");
            touched.extend(events.into_iter().map(|e| e.key));
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
                .is_some_and(|v| v.mod_revision <= revision && v.value.is_none())
            {
                versions.remove(0);
            }
            if versions.is_empty() {
                self.index.remove(&key);
            } else {
                versions.shrink_to_fit();
            }
        }
        self.history.shrink_to_fit();
        self.compacted = revision;
    }

    /// Events of the revisions in `[from, to]` for keys in `range`.
    pub fn events(&self, range: &KeyRange, from: Revision, to: Revision) -> Vec<&StoredEvent> {
        let start = self.history.partition_point(|(r, _)| *r < from);
        self.history
            .range(start..)
            .take_while(|(r, _)| *r <= to)
            .flat_map(|(_, events)| events.iter())
            .filter(|e| range.contains(&e.key))
            .collect()
    }

    /// Every key visible at `compacted` (for a snapshot), and the WAL ops of each later revision.
    pub fn snapshot(&self) -> (Vec<KeyValue>, Vec<(Revision, Vec<WalOp>)>) {
        let base = self
            .index
            .iter()
            .filter_map(|(key, versions)| visible(versions, self.compacted).map(|s| s.to_kv(key)))
            .collect();
        let later = self
            .history
            .iter()
            .map(|(revision, events)| {
                let ops = events
                    .iter()
                    .map(|e| match &e.value {
                        Some(v) => WalOp::Put {
                            key: e.key.to_vec(),
                            value: v.value.to_vec(),
                            lease: v.lease,
                        },
                        None => WalOp::Delete {
                            key: e.key.to_vec(),
                        },
                    })
                    .collect();
                (*revision, ops)
            })
            .collect();
        (base, later)
    }

    /// Every key visible at `revision` with its value, shared rather than copied: what a
    /// snapshot holds.
    pub fn live_at(&self, revision: Revision) -> Vec<(Arc<[u8]>, Arc<Stored>)> {
        self.index
            .iter()
            .filter_map(|(key, versions)| {
                visible(versions, revision).map(|s| (key.clone(), s.clone()))
            })
            .collect()
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
            .map(|l| l.keys.iter().map(|k| k.to_vec()).collect())
            .ok_or(StoreError::LeaseNotFound(id))
    }

    pub fn key_count(&self) -> usize {
        self.index.len()
    }
}

fn visible(versions: &[Version], revision: Revision) -> Option<&Arc<Stored>> {
    let at = versions.partition_point(|v| v.mod_revision <= revision);
    at.checked_sub(1).and_then(|i| versions[i].value.as_ref())
}
