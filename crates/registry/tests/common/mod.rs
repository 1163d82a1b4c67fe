//! What the registry's test files share: a fresh embedded store, and a bootstrapped registry on
//! one.
#![allow(dead_code)] // each test file uses a different subset

use std::sync::Arc;

use k0rs_registry::{DeleteOptions, Registry, find};
use k0rs_store::{Embedded, EmbeddedOptions, KeyRange, RangeRequest, Store};
use serde_json::{Value, json};

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

/// The store's newest revision: any write moves it.
pub async fn revision(store: &Arc<dyn Store>) -> i64 {
    let request = RangeRequest {
        limit: 1,
        ..RangeRequest::new(KeyRange::prefix(b"/registry/".to_vec()))
    };
    store.range(request).await.unwrap().revision
}

/// In `default`, a ConfigMap `c1`, a Deployment `web`, a pod `p` bound to node `n1` (so that
/// deleting it is graceful, the path a drain takes) and an unbound pod `q`; a Namespace `scratch`.
pub async fn objects(registry: &Registry) {
    let cm = find("", "v1", "configmaps").unwrap();
    registry
        .create(
            cm,
            Some("default"),
            json!({"metadata": {"name": "c1"}, "data": {"k": "v"}}),
        )
        .await
        .unwrap();
    let deployments = find("apps", "v1", "deployments").unwrap();
    let deployment = json!({"metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}});
    registry
        .create(deployments, Some("default"), deployment)
        .await
        .unwrap();
    let namespaces = find("", "v1", "namespaces").unwrap();
    registry
        .create(namespaces, None, json!({"metadata": {"name": "scratch"}}))
        .await
        .unwrap();
    let pods = find("", "v1", "pods").unwrap();
    registry
        .create(
            pods,
            Some("default"),
            json!({"metadata": {"name": "p", "labels": {"app": "p"}},
                   "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "busybox"}]}}),
        )
        .await
        .unwrap();
    registry
        .create(
            pods,
            Some("default"),
            json!({"metadata": {"name": "q"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}),
        )
        .await
        .unwrap();
}

/// Admission that lets every server-side apply through.
pub struct NoAdmission;

impl k0rs_registry::Admit for NoAdmission {
    fn admit<'a>(
        &'a self,
        _object: &'a mut Value,
        _creating: bool,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<(), k0rs_api::Status>> + Send + 'a>> {
        Box::pin(async { Ok(()) })
    }
}

/// Options that make a delete a dry run.
pub fn dry_run_options() -> DeleteOptions {
    DeleteOptions {
        dry_run: true,
        ..DeleteOptions::default()
    }
}
