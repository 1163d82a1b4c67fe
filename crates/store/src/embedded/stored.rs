//! What the in-memory state keeps: values without their keys, events of the history, and the
//! writes as the WAL records them.

use std::sync::Arc;

use crate::types::{EventKind, KeyValue, LeaseId, Revision};

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

/// A key's value at one revision (the key itself is held by the index).
#[derive(Debug)]
pub struct Stored {
    pub create_revision: Revision,
    pub mod_revision: Revision,
    pub version: i64,
    pub lease: LeaseId,
    pub value: Box<[u8]>,
}

impl Stored {
    pub fn to_kv(&self, key: &[u8]) -> KeyValue {
        KeyValue {
            value: self.value.to_vec(),
            ..self.to_key(key)
        }
    }

    /// The key and its revisions without the value (a `keys_only` read copies no values).
    pub fn to_key(&self, key: &[u8]) -> KeyValue {
        KeyValue {
            key: key.to_vec(),
            value: Vec::new(),
            create_revision: self.create_revision,
            mod_revision: self.mod_revision,
            version: self.version,
            lease: self.lease,
        }
    }
}

/// One change as kept in the history.
#[derive(Debug)]
pub struct StoredEvent {
    pub kind: EventKind,
    pub key: Arc<[u8]>,
    pub mod_revision: Revision,
    /// The new value of a put.
    pub value: Option<Arc<Stored>>,
    pub prev: Option<Arc<Stored>>,
}

impl StoredEvent {
    /// The event's key-value as etcd reports it (for a delete: the key and the deleting revision).
    pub fn kv(&self) -> KeyValue {
        match &self.value {
            Some(value) => value.to_kv(&self.key),
            None => KeyValue {
                key: self.key.to_vec(),
                mod_revision: self.mod_revision,
                ..KeyValue::default()
            },
        }
    }

    pub fn prev_kv(&self) -> Option<KeyValue> {
        self.prev.as_ref().map(|p| p.to_kv(&self.key))
    }
}
