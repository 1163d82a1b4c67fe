//! What the registry's test files share: a bootstrapped registry on a fresh embedded store.

use std::sync::Arc;

use k0rs_registry::Registry;
use k0rs_store::{Embedded, EmbeddedOptions, Store};

pub async fn registry() -> (Registry, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(
        Embedded::open(EmbeddedOptions::new(dir.path()))
            .await
            .unwrap(),
    );
    let registry = Registry::new(store);
    registry.bootstrap(None).await.unwrap();
    (registry, dir)
}
