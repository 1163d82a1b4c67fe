//! The store as the API server sees it: `etcd_request_duration_seconds` by operation and
//! resource (for either backend: Kubernetes names it after etcd, its only store), and figures
//! sampled every few seconds — `apiserver_storage_objects` per resource, and the store's own
//! size and revision under etcd's names (`etcd_mvcc_db_total_size_in_bytes`,
//! `etcd_debugging_mvcc_current_revision`), which the embedded store has no port of its own
//! to serve, with the figures the store keeps itself (`k0rs_store::metrics`).

use std::collections::HashSet;
use std::sync::{Arc, LazyLock, Weak};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use k0rs_metrics::Registry;
use k0rs_metrics::buckets::ETCD_REQUEST_DURATION;
use k0rs_store::{
    CompareTarget, KeyRange, Lease, LeaseId, Op, RangeRequest, RangeResponse, Result, Revision,
    Store, TxnRequest, TxnResponse, WatchRequest, WatchStream,
};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;

use super::labels::{ResourceLabel, key_prefix, resource_of_key};

/// How often the sampled figures are refreshed (Kubernetes counts objects every minute; a
/// count of the embedded store is a walk of memory).
const SAMPLE_EVERY: Duration = Duration::from_secs(5);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: &'static str,
    r#type: ResourceLabel,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ObjectLabels {
    resource: ResourceLabel,
}

struct Storage {
    durations: Family<OperationLabels, Histogram, fn() -> Histogram>,
    objects: Family<ObjectLabels, Gauge>,
    db_size: Gauge,
    revision: Gauge,
}

static STORAGE: LazyLock<Storage> = LazyLock::new(|| Storage {
    durations: Family::new_with_constructor(|| Histogram::new(ETCD_REQUEST_DURATION)),
    objects: Family::default(),
    db_size: Gauge::default(),
    revision: Gauge::default(),
});

pub fn register(registry: &mut Registry) {
    let storage = &*STORAGE;
    registry.register(
        "etcd_request_duration_seconds",
        "Etcd request latency in seconds for each operation and object type.",
        storage.durations.clone(),
    );
    registry.register(
        "apiserver_storage_objects",
        "Number of stored objects at the time of last check split by kind.",
        storage.objects.clone(),
    );
    registry.register(
        "etcd_mvcc_db_total_size_in_bytes",
        "Total size of the underlying database physically allocated in bytes.",
        storage.db_size.clone(),
    );
    registry.register(
        "etcd_debugging_mvcc_current_revision",
        "The current revision of store.",
        storage.revision.clone(),
    );
    // The store's own figures (fsync, compaction, watch delivery), kept by the store.
    k0rs_store::metrics::register(registry);
}

/// A store whose reads and writes are timed.
pub struct Measured {
    inner: Arc<dyn Store>,
}

impl Measured {
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self { inner }
    }
}

fn observe(operation: &'static str, r#type: ResourceLabel, started: Instant) {
    STORAGE
        .durations
        .get_or_create(&OperationLabels { operation, r#type })
        .observe(started.elapsed().as_secs_f64());
}

/// What a transaction does, as Kubernetes' storage layer names its calls, and the key it is on.
fn operation_of(request: &TxnRequest) -> (&'static str, &[u8]) {
    let creates = request
        .compares
        .iter()
        .any(|c| c.target == CompareTarget::CreateRevision(0));
    match request.success.first() {
        Some(Op::Put { key, .. }) if creates => ("create", key),
        Some(Op::Put { key, .. }) => ("update", key),
        Some(Op::Delete { range, .. }) => ("delete", &range.key),
        Some(Op::Range(range)) => ("get", &range.range.key),
        None => ("txn", request.compares.first().map_or(&[][..], |c| &c.key)),
    }
}

#[async_trait]
impl Store for Measured {
    async fn range(&self, request: RangeRequest) -> Result<RangeResponse> {
        let operation = match (&request.range.range_end, request.count_only) {
            (None, _) => "get",
            (Some(_), true) => "count",
            (Some(_), false) => "list",
        };
        let r#type = ResourceLabel(resource_of_key(&request.range.key));
        let started = Instant::now();
        let response = self.inner.range(request).await;
        observe(operation, r#type, started);
        response
    }

    async fn txn(&self, request: TxnRequest) -> Result<TxnResponse> {
        let (operation, key) = operation_of(&request);
        let r#type = ResourceLabel(resource_of_key(key));
        let started = Instant::now();
        let response = self.inner.txn(request).await;
        observe(operation, r#type, started);
        response
    }

    async fn watch(&self, request: WatchRequest) -> Result<WatchStream> {
        self.inner.watch(request).await
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        self.inner.compact(revision).await
    }

    async fn current_revision(&self) -> Result<Revision> {
        self.inner.current_revision().await
    }

    async fn lease_grant(&self, ttl_secs: i64) -> Result<Lease> {
        self.inner.lease_grant(ttl_secs).await
    }

    async fn lease_keep_alive(&self, id: LeaseId) -> Result<i64> {
        self.inner.lease_keep_alive(id).await
    }

    async fn lease_revoke(&self, id: LeaseId) -> Result<()> {
        self.inner.lease_revoke(id).await
    }

    async fn db_size(&self) -> Result<u64> {
        self.inner.db_size().await
    }

    async fn defragment(&self) -> Result<()> {
        self.inner.defragment().await
    }

    fn reads_from_memory(&self) -> bool {
        self.inner.reads_from_memory()
    }
}

/// Samples the store's figures until it is gone (every holder of it dropped).
pub fn sample_store(store: &Arc<dyn Store>) {
    let store: Weak<dyn Store> = Arc::downgrade(store);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(SAMPLE_EVERY);
        loop {
            ticks.tick().await;
            let Some(store) = store.upgrade() else {
                return;
            };
            sample(store.as_ref()).await;
        }
    });
}

async fn sample(store: &dyn Store) {
    let storage = &*STORAGE;
    if let Ok(size) = store.db_size().await {
        storage.db_size.set(i64::try_from(size).unwrap_or(i64::MAX));
    }
    if let Ok(revision) = store.current_revision().await {
        storage.revision.set(revision);
    }
    let mut seen = HashSet::new();
    for resource in k0rs_registry::all_resources() {
        let prefix = key_prefix(resource);
        if !seen.insert(prefix.clone()) {
            continue;
        }
        let request = RangeRequest {
            count_only: true,
            ..RangeRequest::new(KeyRange::prefix(prefix))
        };
        if let Ok(counted) = store.range(request).await {
            storage
                .objects
                .get_or_create(&ObjectLabels {
                    resource: ResourceLabel(Some(resource)),
                })
                .set(counted.count);
        }
    }
}
