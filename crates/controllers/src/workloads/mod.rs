//! Workload controllers: ReplicaSets and Deployments.

mod deployment;
mod deployment_status;
mod pods;
mod replicaset;
mod rollout;

pub use deployment::run as deployments;
pub use replicaset::run as replica_sets;
