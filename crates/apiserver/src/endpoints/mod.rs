//! The `default/kubernetes` Endpoints and EndpointSlice list every live API server, as
//! kube-apiserver's lease endpoint reconciler keeps them. Each API server renews a Lease of its own
//! (`kube-system/k0rs-apiserver-<address>`) every few seconds; every API server then publishes the
//! addresses whose Lease is current and deletes the Leases that expired. So a controller that dies
//! drops out of the Service within the Lease's duration, and one that stops cleanly removes itself
//! at once. Expiry compares renew times with this host's clock: controllers are expected to keep
//! their clocks in step (as etcd and Lease leader election already require).

mod lease;
mod publish;

use std::net::IpAddr;
use std::time::Duration;

use k0rs_api::Status;
use k0rs_registry::{ApiEndpoint, Registry};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often an API server renews its Lease, and how long a Lease counts without renewal.
#[derive(Debug, Clone, Copy)]
pub struct EndpointTiming {
    pub renew: Duration,
    pub ttl: Duration,
}

impl Default for EndpointTiming {
    /// kube-apiserver's lease reconciler keeps its masters for 15 s; renewing every 5 s lets two
    /// renewals fail before a live API server drops out.
    fn default() -> Self {
        Self {
            renew: Duration::from_secs(5),
            ttl: Duration::from_secs(15),
        }
    }
}

/// Keeps this API server's address in the `kubernetes` Service's endpoints.
#[derive(Debug, Clone)]
pub struct EndpointReconciler {
    registry: Registry,
    endpoint: ApiEndpoint,
    timing: EndpointTiming,
}

impl EndpointReconciler {
    pub fn new(registry: Registry, endpoint: ApiEndpoint, timing: EndpointTiming) -> Self {
        Self {
            registry,
            endpoint,
            timing,
        }
    }

    /// Renews this API server's Lease, forgets the expired ones and publishes the live addresses.
    pub async fn reconcile(&self) -> Result<(), Status> {
        let address = self.endpoint.address;
        lease::renew(&self.registry, address, self.timing.ttl).await?;
        let live = lease::live_addresses(&self.registry).await?;
        publish::publish(&self.registry, &live, self.endpoint.port).await
    }

    /// Takes this API server out: its Lease goes and the others' addresses stay published.
    pub async fn withdraw(&self) -> Result<(), Status> {
        lease::remove(&self.registry, self.endpoint.address).await?;
        let live: Vec<IpAddr> = lease::live_addresses(&self.registry)
            .await?
            .into_iter()
            .filter(|a| *a != self.endpoint.address)
            .collect();
        publish::publish(&self.registry, &live, self.endpoint.port).await
    }

    /// Reconciles every renew period until `stopped` changes, then withdraws.
    pub fn spawn(self, mut stopped: watch::Receiver<bool>) -> JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                if let Err(status) = self.reconcile().await {
                    tracing::warn!(component = "apiserver", error = %status.message, "cannot publish the kubernetes endpoints");
                }
                tokio::select! {
                    () = tokio::time::sleep(self.timing.renew) => {}
                    _ = stopped.changed() => break,
                }
            }
            if let Err(status) = self.withdraw().await {
                tracing::warn!(component = "apiserver", error = %status.message, "cannot withdraw from the kubernetes endpoints");
            }
        })
    }
}
