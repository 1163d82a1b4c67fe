//! The scheduler and the controllers of `k0rs controller`, in process: each is an API client
//! (kube-rs, over HTTPS with its own client certificate, as kube-scheduler and
//! kube-controller-manager are in k0s) and runs only while it holds its Lease, so that several
//! controllers can run for HA.

mod autoscaling;
mod certificates;
pub mod cluster_dns;
mod disruption;
mod endpoints;
pub mod events;
mod gc;
pub mod informer;
pub mod leader;
pub mod manager;
mod namespaces;
mod nodes;
mod pod_gc;
mod quota;
mod running;
pub mod scheduler;
pub mod worker_config;
mod workloads;

pub use running::{Running, client, client_from_yaml, start_controller_manager, start_scheduler};
