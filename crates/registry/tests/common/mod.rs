//! What the registry's test files share: a fresh embedded store, and a bootstrapped registry on
//! one.
#![allow(dead_code)] // each test file uses a different subset

use std::sync::Arc;

use k0rs_registry::Registry;
use k0rs_store::{Embedded, EmbeddedOptions, Store};

/// An embedded store in a directory of its own, which lives as long as the `TempDir`.
pub async fn embedded() -> (Embedded, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Embedded::open(EmbeddedOptions::new(dir.path()))
        .await
        .unwrap();
    (store, dir)
}

/// `registry` with its built-in objects in place, as the API server starts it.
pub async fn bootstrapped(registry: Registry) -> Registry {
    registry.bootstrap(None).await.unwrap();
    registry
}

/// A bootstrapped registry on a fresh embedded store, and that store (for tests that also read
/// it directly).
pub async fn registry_and_store() -> (Registry, Arc<dyn Store>, tempfile::TempDir) {
    let (embedded, dir) = embedded().await;
    let store: Arc<dyn Store> = Arc::new(embedded);
    (bootstrapped(Registry::new(store.clone())).await, store, dir)
}

/// A bootstrapped registry on a fresh embedded store.
pub async fn registry() -> (Registry, tempfile::TempDir) {
    let (store, dir) = embedded().await;
    (bootstrapped(Registry::new(Arc::new(store))).await, dir)
}
