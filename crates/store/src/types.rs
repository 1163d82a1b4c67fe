//! The data model of the store: etcd v3's, without etcd's wire types.

/// A store revision. Every write transaction gets the next one; 0 means "none" or "current".
pub type Revision = i64;

/// A lease id (0: no lease).
pub type LeaseId = i64;

/// etcd's default limit on one request (`--max-request-bytes`, 1.5 MiB).
pub const MAX_REQUEST_BYTES: usize = 1536 * 1024;

/// A key and its value at one revision.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyValue {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    /// Revision of the write that created the key (since it last did not exist).
    pub create_revision: Revision,
    /// Revision of the last write to the key.
    pub mod_revision: Revision,
    /// Number of writes since creation (1 after the create).
    pub version: i64,
    pub lease: LeaseId,
}

/// The keys a request is about, with etcd's conventions: no `range_end` means the one key;
/// `range_end` `\0` means every key from `key` on; otherwise the half-open range `[key, range_end)`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyRange {
    pub key: Vec<u8>,
    pub range_end: Option<Vec<u8>>,
}

impl KeyRange {
    pub fn key(key: impl Into<Vec<u8>>) -> Self {
        Self {
            key: key.into(),
            range_end: None,
        }
    }

    /// Every key that starts with `prefix`.
    pub fn prefix(prefix: impl Into<Vec<u8>>) -> Self {
        let key = prefix.into();
        let range_end = prefix_end(&key);
        Self {
            key,
            range_end: Some(range_end),
        }
    }

    /// Every key in `[key, range_end)`.
    pub fn between(key: impl Into<Vec<u8>>, range_end: impl Into<Vec<u8>>) -> Self {
        Self {
            key: key.into(),
            range_end: Some(range_end.into()),
        }
    }

    pub fn contains(&self, candidate: &[u8]) -> bool {
        match self.range_end.as_deref() {
            None => candidate == self.key.as_slice(),
            Some([0]) => candidate >= self.key.as_slice(),
            Some(end) => candidate >= self.key.as_slice() && candidate < end,
        }
    }
}

/// The smallest key greater than every key starting with `prefix` (`\0` when there is none).
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RangeRequest {
    pub range: KeyRange,
    /// At most this many keys (0: no limit).
    pub limit: i64,
    /// Read at this revision (0: the current one).
    pub revision: Revision,
    pub count_only: bool,
    pub keys_only: bool,
}

impl RangeRequest {
    pub fn new(range: KeyRange) -> Self {
        Self {
            range,
            ..Self::default()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RangeResponse {
    /// Revision the read was served at.
    pub revision: Revision,
    /// The keys, sorted; empty for `count_only`.
    pub kvs: Vec<KeyValue>,
    /// How many keys are in the range, whatever the limit.
    pub count: i64,
    /// Whether the limit cut the result.
    pub more: bool,
}

/// What a compare looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompareTarget {
    Version(i64),
    CreateRevision(Revision),
    ModRevision(Revision),
    Value(Vec<u8>),
    Lease(LeaseId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Equal,
    NotEqual,
    Less,
    Greater,
}

/// One condition of a transaction, on one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compare {
    pub key: Vec<u8>,
    pub op: CompareOp,
    pub target: CompareTarget,
}

impl Compare {
    pub fn new(key: impl Into<Vec<u8>>, op: CompareOp, target: CompareTarget) -> Self {
        Self {
            key: key.into(),
            op,
            target,
        }
    }
}

/// One operation of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Range(RangeRequest),
    Put {
        key: Vec<u8>,
        value: Vec<u8>,
        lease: LeaseId,
        prev_kv: bool,
    },
    Delete {
        range: KeyRange,
        prev_kv: bool,
    },
}

impl Op {
    pub fn put(key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Self {
        Op::Put {
            key: key.into(),
            value: value.into(),
            lease: 0,
            prev_kv: false,
        }
    }

    /// A put attached to a lease: the key is deleted when the lease ends.
    pub fn put_leased(key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>, lease: LeaseId) -> Self {
        Op::Put {
            key: key.into(),
            value: value.into(),
            lease,
            prev_kv: false,
        }
    }

    pub fn delete(key: impl Into<Vec<u8>>) -> Self {
        Op::Delete {
            range: KeyRange::key(key),
            prev_kv: false,
        }
    }

    pub fn get(key: impl Into<Vec<u8>>) -> Self {
        Op::Range(RangeRequest::new(KeyRange::key(key)))
    }

    pub(crate) fn is_write(&self) -> bool {
        !matches!(self, Op::Range(_))
    }

    /// Bytes this operation adds to a request, as etcd's request size limit counts them.
    pub(crate) fn size(&self) -> usize {
        match self {
            Op::Range(r) => r.range.key.len() + r.range.range_end.as_ref().map_or(0, Vec::len),
            Op::Put { key, value, .. } => key.len() + value.len(),
            Op::Delete { range, .. } => {
                range.key.len() + range.range_end.as_ref().map_or(0, Vec::len)
            }
        }
    }
}

/// `if compares then success else failure`, applied atomically.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TxnRequest {
    pub compares: Vec<Compare>,
    pub success: Vec<Op>,
    pub failure: Vec<Op>,
}

impl TxnRequest {
    pub(crate) fn is_read_only(&self) -> bool {
        !self.success.iter().chain(&self.failure).any(Op::is_write)
    }

    /// Fails with `RequestTooLarge` above etcd's request limit, on every backend alike.
    pub(crate) fn check_size(&self) -> crate::Result<()> {
        let size = self.size();
        if size > MAX_REQUEST_BYTES {
            return Err(crate::StoreError::RequestTooLarge {
                size,
                limit: MAX_REQUEST_BYTES,
            });
        }
        Ok(())
    }

    fn size(&self) -> usize {
        let compares: usize = self
            .compares
            .iter()
            .map(|c| {
                c.key.len()
                    + if let CompareTarget::Value(v) = &c.target {
                        v.len()
                    } else {
                        8
                    }
            })
            .sum();
        compares
            + self
                .success
                .iter()
                .chain(&self.failure)
                .map(Op::size)
                .sum::<usize>()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpResponse {
    Range(RangeResponse),
    Put {
        prev_kv: Option<KeyValue>,
    },
    Delete {
        deleted: i64,
        prev_kvs: Vec<KeyValue>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnResponse {
    /// The store's revision after the transaction (its own revision if it wrote).
    pub revision: Revision,
    pub succeeded: bool,
    pub responses: Vec<OpResponse>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Put,
    Delete,
}

/// One change. For a delete, `kv` holds the key and the deleting revision as `mod_revision`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    pub kv: KeyValue,
    /// The key before the change, when the watch asked for it and the key existed.
    pub prev_kv: Option<KeyValue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WatchRequest {
    pub range: KeyRange,
    /// First revision to deliver (0: changes after the current revision).
    pub start_revision: Revision,
    pub prev_kv: bool,
    /// Send empty responses carrying the current revision while nothing changes.
    pub progress_notify: bool,
}

/// A batch of events, or (with no events) a progress notification.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WatchResponse {
    /// The store revision this response is current to.
    pub revision: Revision,
    pub events: Vec<Event>,
}

impl WatchResponse {
    pub fn is_progress_notify(&self) -> bool {
        self.events.is_empty()
    }
}

/// A lease as granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    pub id: LeaseId,
    /// Seconds.
    pub ttl: i64,
}
