//! Workload controllers: ReplicaSets, Deployments, Jobs (with their TTL after finishing),
//! CronJobs, DaemonSets and StatefulSets.

mod cron;
mod cronjob;
mod daemonset;
mod deployment;
mod deployment_status;
mod job;
mod job_tracking;
mod pods;
mod replicaset;
mod revisions;
mod rollout;
mod statefulset;
mod statefulset_status;
mod ttl;

pub use cronjob::run as cron_jobs;
pub use daemonset::run as daemon_sets;
pub use deployment::run as deployments;
pub use job::run as jobs;
pub use replicaset::{run as replica_sets, run_replication_controllers as replication_controllers};
pub use statefulset::run as stateful_sets;
