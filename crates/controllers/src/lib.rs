//! The controller manager of `k0rs controller` (kube-controller-manager), in process: one module
//! per controller, each a reconcile loop built on `k0rs-runtime` (shared informers, the
//! controller runner with per-object backoff, the event recorder). It is an API client (kube-rs,
//! over HTTPS with its own client certificate, as kube-controller-manager is in k0s) and runs
//! only while it holds its Lease, so that several controllers can run for HA. The scheduler is a
//! crate of its own (`k0rs-scheduler`); node agents use `k0rs-runtime`, never this crate. The
//! manifest deployer (`applier`) lives here too: a control loop on the API like the others, under
//! a Lease of its own.

pub mod applier;
mod autoscaling;
mod certificates;
pub mod cluster_dns;
mod disruption;
mod endpoints;
mod gc;
pub mod manager;
mod namespaces;
mod nodes;
mod pod_gc;
mod quota;
pub mod worker_config;
mod workloads;

pub use manager::start_controller_manager;

/// What kube-controller-manager's `/metrics` serves: the workqueue of every controller, the
/// leader election, the process.
pub fn metrics_registry() -> k0rs_metrics::Registry {
    let mut registry = k0rs_metrics::Registry::default();
    k0rs_runtime::controller::metrics::register(&mut registry);
    k0rs_runtime::leader::metrics::register(&mut registry);
    registry.register_collector(Box::new(k0rs_metrics::process::ProcessCollector));
    registry
}
