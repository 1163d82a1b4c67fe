//! Workload controllers: ReplicaSets, Deployments, Jobs (with their TTL after finishing),
//! CronJobs.

mod cron;
mod cronjob;
mod deployment;
mod deployment_status;
mod job;
mod job_tracking;
mod pods;
mod replicaset;
mod rollout;
mod ttl;

pub use cronjob::run as cron_jobs;
pub use deployment::run as deployments;
pub use job::run as jobs;
pub use replicaset::run as replica_sets;
