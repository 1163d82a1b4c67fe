//! A control loop under leader election as a component runs it: a client from the component's
//! kubeconfig, a candidate for the component's Lease, the work while leading, and a handle that
//! stops the work and gives the Lease up.

use std::future::Future;
use std::path::Path;

use kube::Client;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::Election;

/// A control loop running under leader election until stopped.
#[derive(Debug)]
pub struct Running {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Running {
    /// Stops the work and gives the Lease up.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Runs `work(client)` while holding the Lease `kube-system/<lease>` as `identity`; the client
/// authenticates with `kubeconfig` and is named after the Lease (`kube-scheduler`, …).
pub async fn start<F, Fut>(
    kubeconfig: &Path,
    lease: &str,
    identity: &str,
    work: F,
) -> anyhow::Result<Running>
where
    F: Fn(Client) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let client = crate::client(kubeconfig, lease).await?;
    let election = Election::new(client.clone(), lease, identity);
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        election.run(|| work(client.clone()), stopped).await;
    });
    Ok(Running { stop, task })
}
