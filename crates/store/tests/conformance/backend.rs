//! The two backends under test, each on private directories (and its own etcd on free ports).

use std::sync::Arc;
use std::time::Duration;

use k0rs_store::etcd::EtcdServer;
use k0rs_store::{Embedded, EmbeddedOptions, EtcdOptions, EtcdStore, Store};

/// How often watches that ask for it get progress notifications, on both backends.
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(200);

pub struct Backend {
    pub store: Arc<dyn Store>,
    _dir: tempfile::TempDir,
    _etcd: Option<EtcdServer>,
}

pub async fn embedded() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let mut options = EmbeddedOptions::new(dir.path().join("db"));
    options.auto_compaction = None;
    options.progress_interval = PROGRESS_INTERVAL;
    let store = Embedded::open(options).await.unwrap();
    Backend {
        store: Arc::new(store),
        _dir: dir,
        _etcd: None,
    }
}

pub async fn etcd() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let interval = format!(
        "--experimental-watch-progress-notify-interval={}ms",
        PROGRESS_INTERVAL.as_millis()
    );
    let server = EtcdServer::start(&dir.path().join("etcd"), &[&interval])
        .await
        .unwrap();
    let store = EtcdStore::connect(&EtcdOptions {
        endpoints: vec![server.endpoint.clone()],
        tls: None,
    })
    .await
    .unwrap();
    Backend {
        store: Arc::new(store),
        _dir: dir,
        _etcd: Some(server),
    }
}

/// A real etcd seen under a key prefix, with keys of another tenant around it that must stay
/// invisible.
pub async fn etcd_prefixed() -> Backend {
    let mut backend = etcd().await;
    for foreign in ["/k0rs-a", "/k0rs-tenant", "/k0rs-tenanu/x", "\u{7f}"] {
        backend
            .store
            .put(foreign.as_bytes(), b"other")
            .await
            .unwrap();
    }
    backend.store = Arc::new(k0rs_store::Prefixed::new(backend.store, "k0rs-tenant"));
    backend
}
