//! The controller manager: every controller of k0rs in one task set, started together once the
//! manager leads (Lease `kube-system/kube-controller-manager`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use k0rs_runtime::{Running, informer};

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::{Api, Client};

/// What the controllers take from the cluster configuration.
#[derive(Debug, Clone)]
pub struct Options {
    /// `node-monitor-grace-period`: how long a silent kubelet is trusted (40 s).
    pub node_monitor_grace_period: Duration,
    /// The cluster CA in PEM, published to every namespace as `kube-root-ca.crt`.
    pub root_ca_pem: String,
    /// Where the cluster CA (`ca.crt`, `ca.key`) is, for the CSR signer (none: nothing signed).
    pub ca_dir: Option<PathBuf>,
    /// The cluster pod CIDRs nodes get their `spec.podCIDR` from (empty: no node IPAM).
    pub cluster_cidrs: Vec<IpNet>,
    /// `node-cidr-mask-size`: the prefix of each node's IPv4 pod CIDR (24).
    pub node_cidr_mask_size: u8,
    /// The `kube-dns` Service and each node's DNS listener (none: no cluster DNS).
    pub cluster_dns: Option<crate::cluster_dns::ClusterDns>,
    /// The data of the workers' settings ConfigMap (none: not published).
    pub worker_config: Option<std::collections::BTreeMap<String, String>>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            node_monitor_grace_period: Duration::from_secs(40),
            root_ca_pem: String::new(),
            ca_dir: None,
            cluster_cidrs: Vec::new(),
            node_cidr_mask_size: 24,
            cluster_dns: None,
            worker_config: None,
        }
    }
}

/// The controller manager, on Lease `kube-system/kube-controller-manager`, with the client
/// certificate of `kubeconfig`; `identity` names this candidate in the Lease.
pub async fn start_controller_manager(
    kubeconfig: &Path,
    identity: &str,
    options: Options,
) -> anyhow::Result<Running> {
    k0rs_runtime::leader::start(
        kubeconfig,
        "kube-controller-manager",
        identity,
        move |client| run(client, options.clone()),
    )
    .await
}

/// Runs every controller until dropped.
pub async fn run(client: Client, options: Options) {
    // One cache of every pod for the controllers that own pods.
    let (pods, pods_informer) = informer::shared(Api::<Pod>::all(client.clone()));
    let (jobs, jobs_informer) = informer::shared(Api::<Job>::all(client.clone()));
    let (nodes, nodes_informer) = informer::shared(Api::<Node>::all(client.clone()));
    let (revisions, revisions_informer) =
        informer::shared(Api::<ControllerRevision>::all(client.clone()));
    tokio::join!(
        pods_informer,
        jobs_informer,
        nodes_informer,
        revisions_informer,
        crate::nodes::lifecycle::run(
            client.clone(),
            nodes.clone(),
            options.node_monitor_grace_period
        ),
        crate::namespaces::run(client.clone(), options.root_ca_pem.clone()),
        crate::workloads::replica_sets(client.clone(), pods.clone()),
        crate::workloads::replication_controllers(client.clone(), pods.clone()),
        crate::workloads::jobs(client.clone(), pods.clone()),
        crate::workloads::cron_jobs(client.clone(), jobs),
        crate::workloads::daemon_sets(
            client.clone(),
            pods.clone(),
            nodes.clone(),
            revisions.clone()
        ),
        crate::cluster_dns::run(client.clone(), nodes.clone(), options.cluster_dns),
        crate::worker_config::run(client.clone(), options.worker_config.clone()),
        crate::nodes::ipam::run(
            client.clone(),
            nodes.clone(),
            options.cluster_cidrs.clone(),
            options.node_cidr_mask_size
        ),
        crate::certificates::run(client.clone(), options.ca_dir.clone()),
        crate::workloads::stateful_sets(client.clone(), pods.clone(), revisions),
        crate::workloads::deployments(client.clone()),
        crate::endpoints::run(client.clone(), pods.clone()),
        crate::disruption::run(client.clone(), pods.clone()),
        crate::quota::run(client.clone()),
        crate::autoscaling::run(client.clone()),
        crate::pod_gc::run(
            client.clone(),
            pods.clone(),
            nodes,
            crate::pod_gc::TERMINATED_THRESHOLD
        ),
        crate::gc::run(client),
    );
}
