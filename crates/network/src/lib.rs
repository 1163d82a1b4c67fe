//! The pod network of a k0rs node, kube-router's "routes" mode: pods get addresses from the
//! node's `spec.podCIDR` on the CNI bridge (the kubelet writes that conflist); this component
//! routes every other node's pod CIDR through that node and masquerades pod traffic that leaves
//! the cluster. It follows the Node objects, so joining and leaving nodes are routed at once.

pub mod masquerade;
pub mod routes;

use std::time::Duration;

use futures::StreamExt as _;
use ipnet::IpNet;
use k0rs_netfilter::Toolchain;
use k0rs_runtime::informer::Shared;
use k8s_openapi::api::core::v1::Node;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Re-applied this often even without changes (repairs routes or rules removed by hand).
const RESYNC: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct Options {
    pub node_name: String,
    /// The cluster's pod CIDR (`spec.network.podCIDR`).
    pub cluster_cidr: IpNet,
    pub toolchain: Toolchain,
}

#[derive(Debug)]
pub struct Network {
    task: JoinHandle<()>,
    synced: watch::Receiver<bool>,
}

impl Network {
    /// Follows `nodes` (a cache the node's components share).
    pub fn start(nodes: Shared<Node>, options: Options) -> Self {
        let (sender, synced) = watch::channel(false);
        let task = tokio::spawn(run(nodes, options, sender));
        Self { task, synced }
    }

    /// Whether routes and rules were applied at least once.
    pub fn synced(&self) -> bool {
        *self.synced.borrow()
    }

    /// Stops following nodes; routes and rules stay (pods keep talking across a restart).
    pub fn stop(self) {
        self.task.abort();
    }
}

async fn run(nodes: Shared<Node>, options: Options, synced: watch::Sender<bool>) {
    let mut changes = std::pin::pin!(nodes.changes());
    if nodes.store.wait_until_ready().await.is_err() {
        return;
    }
    let mut last = None;
    let mut resync = true;
    loop {
        let state = nodes.store.state();
        let wanted = routes::wanted(&state, &options.node_name);
        let own_cidr = state
            .iter()
            .find(|n| n.metadata.name.as_deref() == Some(options.node_name.as_str()))
            .and_then(|n| n.spec.as_ref()?.pod_cidr.as_deref()?.parse::<IpNet>().ok());
        // Nodes change every few seconds (their status); only routing changes need work.
        let now = Some((wanted.clone(), own_cidr));
        if resync || now != last {
            // A failed apply is tried again on the next change or resync.
            last = apply(&options, wanted, own_cidr, &synced)
                .await
                .then_some(now)
                .flatten();
        }
        tokio::select! {
            change = changes.next() => {
                if change.is_none() {
                    return;
                }
                resync = false;
            }
            () = tokio::time::sleep(RESYNC) => resync = true,
        }
    }
}

/// Applies routes and SNAT; whether that worked.
async fn apply(
    options: &Options,
    wanted: std::collections::BTreeMap<IpNet, std::net::IpAddr>,
    own_cidr: Option<IpNet>,
    synced: &watch::Sender<bool>,
) -> bool {
    let toolchain = options.toolchain.clone();
    let cluster_cidr = options.cluster_cidr;
    let applied = tokio::task::spawn_blocking(move || {
        routes::apply(&wanted)?;
        masquerade::apply(&toolchain, own_cidr, cluster_cidr)
    })
    .await;
    match applied {
        Ok(Ok(())) => {
            synced.send_replace(true);
            true
        }
        Ok(Err(error)) => {
            tracing::error!(
                component = "network",
                error = format!("{error:#}"),
                "sync failed"
            );
            false
        }
        Err(error) => {
            tracing::error!(component = "network", %error, "sync task failed");
            false
        }
    }
}

/// Removes k0rs's routes and SNAT rules (`k0rs reset`).
pub fn cleanup(toolchain: &Toolchain) -> anyhow::Result<()> {
    routes::apply(&std::collections::BTreeMap::new())?;
    masquerade::cleanup(toolchain)
}
