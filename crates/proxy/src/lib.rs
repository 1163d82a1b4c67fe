//! The service proxy of a k0rs worker (kube-proxy's job): it follows Services and
//! EndpointSlices and keeps this node's iptables rules matching them, and counts its syncs under
//! kube-proxy's metric names ([`metrics`]).

mod chains;
pub mod metrics;
pub mod model;
pub mod nft;
pub mod rules;
mod sync;

use k0rs_runtime::informer::Shared;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use sync::{Mode, Options, cleanup, ensure_jumps, sync};

/// A running proxy. Dropping or stopping it leaves the rules in place, so traffic keeps flowing
/// while k0rs restarts; the next start replaces them in one transaction.
#[derive(Debug)]
pub struct Proxy {
    task: JoinHandle<()>,
    synced: watch::Receiver<bool>,
}

impl Proxy {
    /// Follows `services` and `slices` (caches the node shares with cluster DNS).
    pub fn start(
        services: Shared<Service>,
        slices: Shared<EndpointSlice>,
        options: Options,
    ) -> Self {
        k0rs_netfilter::enable_forwarding("proxy");
        let (sender, synced) = watch::channel(false);
        let task = tokio::spawn(sync::run(services, slices, options, sender));
        Self { task, synced }
    }

    /// Whether the rules were written at least once.
    pub fn synced(&self) -> bool {
        *self.synced.borrow()
    }

    pub fn stop(self) {
        self.task.abort();
    }
}
