//! The scheduler of `k0rs controller` (kube-scheduler's default profile), as upstream ships it:
//! a component of its own, an API client with its own certificate that schedules only while it
//! holds the Lease `kube-system/kube-scheduler`. It watches nodes and pods, puts each pending pod
//! of `default-scheduler` on the best node that passes every filter, and binds it through
//! `pods/binding`. A pod no node can take may preempt pods of lower priority; otherwise it gets
//! `PodScheduled=False` and a FailedScheduling event naming why, and is tried again when nodes
//! or pods change, once its backoff is over (see `queue`).
//!
//! The decisions (filters, scores, inter-pod affinity, topology spreading, the choice of
//! preemption victims) are pure functions of the scheduler's view of the cluster (`cache`) and
//! are unit-tested by tables of nodes, pods and expected outcomes; the loop that feeds them
//! (`schedule`) and what it writes to the API (`status`, `preemption::preempt`) are pinned by the
//! end-to-end tests.

mod affinity;
mod cache;
mod filters;
pub mod metrics;
mod preemption;
mod queue;
mod resources;
mod rules;
mod schedule;
mod scores;
mod spread;
mod status;
#[cfg(test)]
mod testing;

use std::path::Path;

use k0rs_runtime::Running;

pub use schedule::run;

/// The scheduler name pods ask for by default.
pub const NAME: &str = "default-scheduler";

/// The scheduler, on Lease `kube-system/kube-scheduler`, with the client certificate of
/// `kubeconfig`; `identity` names this candidate in the Lease.
pub async fn start_scheduler(kubeconfig: &Path, identity: &str) -> anyhow::Result<Running> {
    k0rs_runtime::leader::start(kubeconfig, "kube-scheduler", identity, run).await
}
