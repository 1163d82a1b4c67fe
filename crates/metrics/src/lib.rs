//! Prometheus metrics as Kubernetes names them, one approach for every k0rs component. Each
//! component keeps its metrics in a static of its own (Kubernetes' `legacyregistry`: the counters
//! are bumped where the work happens, with no handle threaded through), and each endpoint that
//! serves `/metrics` — the API server's, the scheduler's :10259, the controller manager's
//! :10257, the kubelet's :10250 — composes the registries of what runs behind it with the
//! process collector, and answers with [`exposition::encode`]. The instrumentation itself is
//! `prometheus-client`'s (atomic counters and gauges, label families), a workspace dependency
//! each instrumented crate names directly (its label-set derive expects the crate by that name).

pub mod buckets;
pub mod exposition;
pub mod histogram;
pub mod process;

pub use prometheus_client::registry::Registry;
