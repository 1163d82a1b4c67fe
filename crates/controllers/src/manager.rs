//! The controller manager: every controller of k0rs in one task set, started together once the
//! manager leads (Lease `kube-system/kube-controller-manager`).

use std::time::Duration;

use kube::Client;

/// What the controllers take from the cluster configuration.
#[derive(Debug, Clone)]
pub struct Options {
    /// `node-monitor-grace-period`: how long a silent kubelet is trusted (40 s).
    pub node_monitor_grace_period: Duration,
    /// The cluster CA in PEM, published to every namespace as `kube-root-ca.crt`.
    pub root_ca_pem: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            node_monitor_grace_period: Duration::from_secs(40),
            root_ca_pem: String::new(),
        }
    }
}

/// Runs every controller until dropped.
pub async fn run(client: Client, options: Options) {
    tokio::join!(
        crate::nodes::lifecycle::run(client.clone(), options.node_monitor_grace_period),
        crate::namespaces::run(client.clone(), options.root_ca_pem.clone()),
        crate::workloads::replica_sets(client.clone()),
        crate::workloads::deployments(client.clone()),
        crate::gc::run(client),
    );
}
