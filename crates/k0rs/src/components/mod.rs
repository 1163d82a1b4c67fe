//! Adapters that make the library crates' pieces into lifecycle components of a node.

pub mod api_balancer;
pub mod apiserver;
pub mod applier;
pub mod autopilot;
pub mod containerd;
pub mod control_loops;
pub mod etcd;
pub mod join_api;
pub mod kubelet;
pub mod network;
pub mod node_metrics;
pub mod pid_file;
pub mod pki;
pub mod status;
pub mod store;
pub mod store_snapshot;
pub mod tunnel;
pub mod update_agent;
