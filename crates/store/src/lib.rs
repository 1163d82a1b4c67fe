//! The key-value store under the control plane, with etcd v3's semantics.
//!
//! One interface, [`Store`]: ranges (at past revisions too), transactions (compare, then success or
//! failure ops), watches that deliver every change in revision order, compaction, leases whose expiry
//! deletes their keys, size and defragmentation. Two backends implement it: [`Embedded`], the default
//! — the key space in memory and every change in a group-committed write-ahead log under
//! `<data-dir>/db` — and [`EtcdStore`], a real etcd cluster over its gRPC API. Snapshots for
//! backups: the embedded store's own (taken at one revision while it serves, restored into a new
//! log) and etcd's (saved through its API, read without etcd, and [`load`]ed into an empty store
//! through the API). The store's own figures (fsync, compaction, watch delivery) are in
//! [`metrics`], for the API server to serve. Nothing here knows about Kubernetes.

pub mod bench;
mod embedded;
mod error;
pub mod etcd;
pub mod load;
pub mod metrics;
mod prefixed;
mod store;
mod types;

pub use embedded::{Embedded, EmbeddedOptions, Snapshot, SnapshotInfo, WAL_FILE_NAME};
/// Snapshots of the embedded store: checking one, and making a new store from one.
pub mod snapshot {
    pub use crate::embedded::snapshot::{restore, verify};
}
pub use error::{Result, StoreError};
pub use etcd::{EtcdOptions, EtcdStore};
pub use prefixed::Prefixed;
pub use store::{Store, WatchStream};
pub use types::*;
