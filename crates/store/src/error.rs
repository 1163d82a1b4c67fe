//! Errors of the store, typed so that callers (the API server) map them to the right answer.

use std::path::PathBuf;

use crate::types::{LeaseId, Revision};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The revision asked for was compacted away (the API server answers 410 Gone).
    #[error(
        "required revision {requested} has been compacted (compacted up to {compact_revision})"
    )]
    Compacted {
        requested: Revision,
        compact_revision: Revision,
    },
    #[error("required revision {requested} is a future revision (current {current})")]
    FutureRevision {
        requested: Revision,
        current: Revision,
    },
    #[error("request is too large: {size} bytes (limit {limit})")]
    RequestTooLarge { size: usize, limit: usize },
    #[error("lease {0:x} not found")]
    LeaseNotFound(LeaseId),
    #[error("duplicate key {key:?} given in one transaction", key = String::from_utf8_lossy(.0))]
    DuplicateKey(Vec<u8>),
    #[error("{path}: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("{path}: {action}: {source}")]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// A load into a store that already holds keys (see [`crate::load`]).
    #[error("the store is not empty: it holds {keys} keys")]
    NotEmpty { keys: i64 },
    #[error("etcd: {0}")]
    Etcd(String),
    #[error("the store is closed")]
    Closed,
    #[error("the store stopped after a failed write and must be reopened: {0}")]
    Failed(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
