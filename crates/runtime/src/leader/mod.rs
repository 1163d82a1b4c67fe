//! Lease-based leader election (coordination.k8s.io/v1, as client-go's `leaderelection` run in a
//! loop): one holder per Lease at a time, so that several controllers may run for HA while only
//! one schedules or reconciles. A candidate tries to take the Lease every `retry`; the holder
//! renews it as often and runs the work meanwhile. A holder that finds the Lease held by another,
//! or cannot renew it for `deadline`, stops its work and is a candidate again: it never stops for
//! good. A Lease that disappears (deleted by hand, or with its namespace) is created anew, and
//! work that ends or panics while leading is started again once the Lease is won again.
//! [`start`] runs a component's work this way (kube-scheduler, kube-controller-manager).

mod lease;
pub mod metrics;
mod running;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::time::Duration;

use kube::Client;
use tokio::sync::watch;
use tokio::task::{JoinError, JoinHandle};

pub use lease::LeaseLock;
pub use running::{Running, start};

/// How long a stopping candidate waits to give its Lease up.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(2);

/// Kubernetes' defaults for kube-scheduler and kube-controller-manager.
#[derive(Debug, Clone)]
pub struct Timings {
    pub duration: Duration,
    pub deadline: Duration,
    pub retry: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Self {
            duration: Duration::from_secs(15),
            deadline: Duration::from_secs(10),
            retry: Duration::from_secs(2),
        }
    }
}

/// What one attempt to take or renew the election record found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// This candidate holds it now (taken, renewed, or created).
    Held,
    /// Another candidate holds it and has renewed it within its duration.
    HeldBy(String),
    /// Someone else wrote it between this candidate's read and write: try again.
    Raced,
}

/// The record an election is held on: a Lease, or a fake in tests.
pub trait Lock: Send + Sync {
    /// Takes the record for this candidate, or renews it if it holds it already.
    fn try_acquire_or_renew(&self) -> impl Future<Output = Result<Attempt, kube::Error>> + Send;
    /// Gives the record up if this candidate holds it, so that another need not wait for it to
    /// expire.
    fn release(&self) -> impl Future<Output = ()> + Send;
    /// Its name in logs (`kube-system/kube-scheduler`).
    fn describe(&self) -> String;
    /// Its name in metrics (`kube-scheduler`): the part of [`Lock::describe`] after the
    /// namespace.
    fn name(&self) -> String {
        let described = self.describe();
        described.rsplit('/').next().unwrap_or_default().to_owned()
    }
}

/// A candidate for one election record.
pub struct Election<L> {
    pub lock: L,
    pub timings: Timings,
}

impl Election<LeaseLock> {
    /// A candidate for the Lease `kube-system/<name>`, with Kubernetes' default timings.
    pub fn new(client: Client, name: &str, identity: &str) -> Self {
        let timings = Timings::default();
        Self {
            lock: LeaseLock::new(client, "kube-system", name, identity, timings.duration),
            timings,
        }
    }
}

/// How a term as leader ended.
enum Term {
    /// The Lease is another's, or could not be renewed.
    Lost,
    /// The work returned or panicked on its own.
    WorkEnded(Result<(), JoinError>),
    /// Asked to stop.
    Stopped,
}

impl<L: Lock> Election<L> {
    /// Runs `work` (as a task of its own) while this candidate holds the Lease, until `stopped`
    /// changes; `work` is started again each time the Lease is won again.
    pub async fn run<F, Fut>(&self, work: F, mut stopped: watch::Receiver<bool>)
    where
        F: Fn() -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let lease = self.lock.describe();
        let status = metrics::status(&self.lock.name());
        status.set(0);
        loop {
            if !self.acquire(&mut stopped).await {
                return;
            }
            status.set(1);
            tracing::info!(component = "leader", %lease, "became leader");
            // A task of its own: a panic in the work ends the work, not the election.
            let mut task = tokio::spawn(work());
            let term = tokio::select! {
                result = &mut task => Term::WorkEnded(result),
                () = self.hold() => Term::Lost,
                _ = stopped.changed() => Term::Stopped,
            };
            status.set(0);
            match term {
                Term::Lost => {
                    tracing::warn!(component = "leader", %lease, "lost the lease; its work stops until it is won again");
                    stop(task).await;
                }
                Term::Stopped => {
                    stop(task).await;
                    self.release_briefly().await;
                    return;
                }
                Term::WorkEnded(result) => {
                    let error = result.err().map(|e| e.to_string());
                    tracing::error!(component = "leader", %lease, ?error, "the work ended while leading; giving the lease up to stand again");
                    // Another candidate may do better; this one tries again after a pause, so
                    // that work that fails at once does not spin.
                    self.release_briefly().await;
                    tokio::select! {
                        () = tokio::time::sleep(self.timings.retry) => {}
                        _ = stopped.changed() => return,
                    }
                }
            }
        }
    }

    /// Gives the Lease up, waiting at most [`RELEASE_TIMEOUT`]: a release only spares the next
    /// leader the lease's duration, and without a store quorum it would hold a stopping node for
    /// the request timeout.
    async fn release_briefly(&self) {
        if tokio::time::timeout(RELEASE_TIMEOUT, self.lock.release())
            .await
            .is_err()
        {
            tracing::info!(component = "leader", lease = %self.lock.describe(), "not released: the API did not answer in time; the lease expires instead");
        }
    }

    /// Tries every retry period until this candidate holds the Lease; false once stopped.
    async fn acquire(&self, stopped: &mut watch::Receiver<bool>) -> bool {
        // Errors are said once per streak: a candidate may wait long (its namespace is gone).
        let mut failing = false;
        loop {
            // Raced with the stop: without a store quorum an attempt waits out the request
            // timeout, and a stopping node must not wait for it.
            let attempt = tokio::select! {
                attempt = self.lock.try_acquire_or_renew() => attempt,
                _ = stopped.changed() => return false,
            };
            match attempt {
                Ok(Attempt::Held) => return true,
                Ok(_) => failing = false,
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(component = "leader", lease = %self.lock.describe(), error = %e, "cannot take the lease; trying again");
                }
                Err(e) => {
                    tracing::debug!(component = "leader", lease = %self.lock.describe(), error = %e, "cannot take the lease");
                }
            }
            tokio::select! {
                () = tokio::time::sleep(self.timings.retry) => {}
                _ = stopped.changed() => return false,
            }
        }
    }

    /// Renews the Lease every retry period; returns once it is lost: held by another (at once:
    /// two leaders must not overlap), or not renewed for the deadline whatever failed (a conflict,
    /// an unreachable API), as client-go's renew loop.
    async fn hold(&self) {
        let mut renewed = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(self.timings.retry).await;
            match self.lock.try_acquire_or_renew().await {
                Ok(Attempt::Held) => renewed = tokio::time::Instant::now(),
                Ok(Attempt::HeldBy(holder)) => {
                    tracing::info!(component = "leader", lease = %self.lock.describe(), %holder, "the lease is held by another");
                    return;
                }
                Ok(Attempt::Raced) => {
                    tracing::debug!(component = "leader", lease = %self.lock.describe(), "renewal raced another write");
                }
                Err(e) => {
                    tracing::debug!(component = "leader", lease = %self.lock.describe(), error = %e, "renewal failed");
                }
            }
            if renewed.elapsed() > self.timings.deadline {
                return;
            }
        }
    }
}

/// Ends a term's work and waits until it has stopped, so that it never overlaps the next term's.
async fn stop(task: JoinHandle<()>) {
    task.abort();
    let _ = task.await;
}
