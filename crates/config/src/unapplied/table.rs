//! The table: every k0s setting k0rs accepts and does not apply, in the order of k0s's
//! configuration reference. Settings that only refine a choice k0s itself ignores unless it is
//! made (`calico.*` without `provider: calico`, `kubeProxy.ipvs.*` without `mode: ipvs`,
//! `envoyProxy.*` without `nodeLocalLoadBalancing.enabled`, `etcd.peerAddress`/`extraArgs`
//! without a managed etcd, everything under `kubeProxy` when it is disabled) have no entry of
//! their own: the choice is reported, or nothing runs in k0s either.

use super::Severity::{Error, Warning};
use super::{Rule, items, keys_except, when};
use crate::defaults;
use crate::model::{
    Hairpin, InstallUsers, KubeProxyMode, NetworkProvider, PullPolicy, StorageExtensionType,
    StorageType,
};

/// The kube-apiserver flags of `spec.api.extraArgs` k0rs's API server takes (read in
/// `crates/k0rs/src/components/apiserver.rs`; `etcd-compaction-interval` in
/// `crates/k0rs/src/components/store.rs`).
pub const API_EXTRA_ARGS: [&str; 5] = [
    "api-audiences",
    "bind-address",
    "etcd-compaction-interval",
    "service-account-issuer",
    "service-node-port-range",
];

/// The kube-controller-manager flags of `spec.controllerManager.extraArgs` k0rs's controller
/// manager takes (read in `crates/k0rs/src/controller.rs`).
pub const CONTROLLER_MANAGER_EXTRA_ARGS: [&str; 2] =
    ["node-cidr-mask-size", "node-monitor-grace-period"];

/// The unset value of k0s's Go durations: the component's own default.
const ZERO: &str = "0s";

pub(super) const RULES: &[Rule] = &[
    Rule {
        field: "spec.api.extraArgs",
        severity: Warning,
        reason: "k0rs's API server takes only api-audiences, bind-address, etcd-compaction-interval, service-account-issuer and service-node-port-range",
        hits: |s| keys_except(&s.api.extra_args, &API_EXTRA_ARGS),
    },
    Rule {
        field: "spec.api.k0sApiPort",
        severity: Warning,
        reason: "k0rs serves its join API for controllers only with spec.storage.type etcd without an externalCluster (an etcd k0rs manages)",
        hits: |s| {
            let managed_etcd =
                s.storage.kind == StorageType::Etcd && s.storage.etcd.external_cluster.is_none();
            when(s.api.k0s_api_port != defaults::K0S_API_PORT && !managed_etcd)
        },
    },
    Rule {
        field: "spec.storage.kine.dataSource",
        severity: Error,
        reason: "k0rs keeps its embedded store under <data-dir>/db and cannot use another database; remove dataSource, or use spec.storage.type etcd with an externalCluster",
        hits: |s| when(kine_source(s).is_some_and(|source| !source.starts_with("sqlite:"))),
    },
    Rule {
        field: "spec.storage.kine.dataSource",
        severity: Warning,
        reason: "k0rs keeps its embedded store under <data-dir>/db, not in this SQLite file",
        hits: |s| when(kine_source(s).is_some_and(|source| source.starts_with("sqlite:"))),
    },
    Rule {
        field: "spec.network.provider",
        severity: Error,
        reason: "calico: k0rs runs its own pod network in place of kube-router and cannot run Calico; use kuberouter",
        hits: |s| when(s.network.provider == NetworkProvider::Calico),
    },
    Rule {
        field: "spec.network.provider",
        severity: Error,
        reason: "custom: k0rs always runs its own pod network and cannot leave pods to another CNI plugin; use kuberouter",
        hits: |s| when(s.network.provider == NetworkProvider::Custom),
    },
    Rule {
        field: "spec.network.dualStack.IPv6serviceCIDR",
        severity: Warning,
        reason: "k0rs allocates and proxies IPv4 Services only (nodes do get IPv6 pod ranges from IPv6podCIDR)",
        hits: |s| when(s.network.dual_stack.enabled),
    },
    Rule {
        field: "spec.network.kubeProxy.mode",
        severity: Error,
        reason: "ipvs: k0rs's service proxy has no IPVS mode yet; use iptables or nftables",
        hits: |s| when(proxy(s) && s.network.kube_proxy.mode == KubeProxyMode::Ipvs),
    },
    Rule {
        field: "spec.network.kubeProxy.iptables.masqueradeBit",
        severity: Warning,
        reason: "the service proxy always marks packets to masquerade with bit 14 (kube-proxy's default)",
        hits: |s| {
            when(
                proxy(s)
                    && s.network
                        .kube_proxy
                        .iptables
                        .masquerade_bit
                        .is_some_and(|b| b != 14),
            )
        },
    },
    Rule {
        field: "spec.network.kubeProxy.iptables.masqueradeAll",
        severity: Warning,
        reason: "the service proxy masquerades only Service traffic from outside the pod network",
        hits: |s| when(proxy(s) && s.network.kube_proxy.iptables.masquerade_all),
    },
    Rule {
        field: "spec.network.kubeProxy.iptables.localhostNodePorts",
        severity: Warning,
        reason: "the service proxy takes no setting for NodePorts on localhost",
        hits: |s| when(proxy(s) && s.network.kube_proxy.iptables.localhost_node_ports.is_some()),
    },
    Rule {
        field: "spec.network.kubeProxy.iptables.minSyncPeriod",
        severity: Warning,
        reason: "the service proxy batches changes for 30 ms, whatever is set here",
        hits: |s| when(proxy(s) && s.network.kube_proxy.iptables.min_sync_period != ZERO),
    },
    Rule {
        field: "spec.network.kubeProxy.iptables.syncPeriod",
        severity: Warning,
        reason: "the service proxy re-checks its rules every 30 s, whatever is set here",
        hits: |s| when(proxy(s) && s.network.kube_proxy.iptables.sync_period != ZERO),
    },
    Rule {
        field: "spec.network.kubeProxy.nodePortAddresses",
        severity: Warning,
        reason: "the service proxy serves NodePorts on every address of the node",
        hits: |s| when(proxy(s) && !s.network.kube_proxy.node_port_addresses.is_empty()),
    },
    Rule {
        field: "spec.network.kuberouter.autoMTU",
        severity: Warning,
        reason: "k0rs's pod network always takes the MTU of the node's interface",
        hits: |s| when(!s.network.kuberouter.auto_mtu),
    },
    Rule {
        field: "spec.network.kuberouter.mtu",
        severity: Warning,
        reason: "k0rs's pod network always takes the MTU of the node's interface",
        hits: |s| when(s.network.kuberouter.mtu != 0),
    },
    Rule {
        field: "spec.network.kuberouter.metricsPort",
        severity: Warning,
        reason: "k0rs's pod network serves no metrics",
        hits: |s| {
            let port = s.network.kuberouter.metrics_port;
            when(port != 0 && port != defaults::KUBE_ROUTER_METRICS_PORT)
        },
    },
    Rule {
        field: "spec.network.kuberouter.hairpin",
        severity: Warning,
        reason: "k0rs's pod bridge always lets a pod reach itself through its Services (Enabled)",
        hits: |s| when(s.network.kuberouter.hairpin != Hairpin::Enabled),
    },
    Rule {
        field: "spec.network.kuberouter.peerRouterASNs",
        severity: Warning,
        reason: "k0rs's pod network routes between nodes without BGP",
        hits: |s| when(!s.network.kuberouter.peer_router_asns.is_empty()),
    },
    Rule {
        field: "spec.network.kuberouter.peerRouterIPs",
        severity: Warning,
        reason: "k0rs's pod network routes between nodes without BGP",
        hits: |s| when(!s.network.kuberouter.peer_router_ips.is_empty()),
    },
    Rule {
        field: "spec.network.kuberouter.extraArgs",
        severity: Warning,
        reason: "k0rs's pod network is not kube-router and takes no kube-router flags",
        hits: |s| keys_except(&s.network.kuberouter.extra_args, &[]),
    },
    Rule {
        field: "spec.network.nodeLocalLoadBalancing.envoyProxy.image",
        severity: Warning,
        reason: "k0rs balances the API servers inside the worker process: no envoy image runs",
        hits: |s| {
            let nllb = &s.network.node_local_load_balancing;
            when(nllb.enabled && nllb.envoy_proxy.image.is_some())
        },
    },
    Rule {
        field: "spec.network.nodeLocalLoadBalancing.envoyProxy.imagePullPolicy",
        severity: Warning,
        reason: "k0rs balances the API servers inside the worker process: no envoy image is pulled",
        hits: |s| {
            let nllb = &s.network.node_local_load_balancing;
            when(nllb.enabled && nllb.envoy_proxy.image_pull_policy.is_some())
        },
    },
    Rule {
        field: "spec.network.nodeLocalLoadBalancing.envoyProxy.konnectivityServerBindPort",
        severity: Warning,
        reason: "k0rs's tunnel agent connects to every controller itself, not through the node-local balancer",
        hits: |s| {
            let nllb = &s.network.node_local_load_balancing;
            when(
                nllb.enabled
                    && nllb.envoy_proxy.konnectivity_server_bind_port
                        != defaults::NLLB_KONNECTIVITY_BIND_PORT,
            )
        },
    },
    Rule {
        field: "spec.controllerManager.extraArgs",
        severity: Warning,
        reason: "k0rs's controller manager takes only node-cidr-mask-size and node-monitor-grace-period",
        hits: |s| {
            keys_except(
                &s.controller_manager.extra_args,
                &CONTROLLER_MANAGER_EXTRA_ARGS,
            )
        },
    },
    Rule {
        field: "spec.scheduler.extraArgs",
        severity: Warning,
        reason: "k0rs's scheduler takes no kube-scheduler flags",
        hits: |s| keys_except(&s.scheduler.extra_args, &[]),
    },
    Rule {
        field: "spec.workerProfiles",
        severity: Warning,
        reason: "k0rs's kubelet takes no KubeletConfiguration overlays; workers run with k0rs's settings whatever their --profile",
        hits: |s| items(s.worker_profiles.len()),
    },
    Rule {
        field: "spec.featureGates",
        severity: Warning,
        reason: "no k0rs component takes Kubernetes feature gates",
        hits: |s| items(s.feature_gates.len()),
    },
    Rule {
        field: "spec.images",
        severity: Warning,
        reason: "k0rs builds its components in and pulls no images of its own (the pause image is built into the binary)",
        hits: |s| {
            s.images.as_ref().map_or_else(Vec::new, |images| {
                images
                    .overrides()
                    .into_iter()
                    .map(|(name, _)| format!(".{name}"))
                    .collect()
            })
        },
    },
    Rule {
        field: "spec.images.repository",
        severity: Warning,
        reason: "k0rs pulls no images of its own, so there is nothing to pull from a mirror",
        hits: |s| when(s.images.as_ref().is_some_and(|i| !i.repository.is_empty())),
    },
    Rule {
        field: "spec.images.default_pull_policy",
        severity: Warning,
        reason: "k0rs pulls no images of its own; pods keep their own imagePullPolicy",
        hits: |s| {
            when(
                s.images
                    .as_ref()
                    .is_some_and(|i| i.default_pull_policy != PullPolicy::default()),
            )
        },
    },
    Rule {
        field: "spec.extensions.helm.concurrencyLevel",
        severity: Warning,
        reason: "k0rs has no Helm controller",
        hits: |s| when(s.extensions.helm.concurrency_level != defaults::HELM_CONCURRENCY),
    },
    Rule {
        field: "spec.extensions.helm.repositories",
        severity: Warning,
        reason: "k0rs has no Helm controller",
        hits: |s| items(s.extensions.helm.repositories.len()),
    },
    Rule {
        field: "spec.extensions.helm.charts",
        severity: Warning,
        reason: "k0rs has no Helm controller: the chart is not installed",
        hits: |s| items(s.extensions.helm.charts.len()),
    },
    Rule {
        field: "spec.extensions.storage.type",
        severity: Warning,
        reason: "k0rs deploys no storage provider and no default StorageClass",
        hits: |s| when(s.extensions.storage.kind != StorageExtensionType::ExternalStorage),
    },
    Rule {
        field: "spec.installConfig.users",
        severity: Warning,
        reason: "k0rs runs the control plane in its own process and creates no system users",
        hits: |s| when(s.install_config.users != InstallUsers::default()),
    },
];

/// Whether the service proxy runs (its settings count only then).
fn proxy(s: &crate::model::ClusterSpec) -> bool {
    !s.network.kube_proxy.disabled
}

/// The kine data source of a config that uses the embedded store, when one is given.
fn kine_source(s: &crate::model::ClusterSpec) -> Option<&str> {
    let kine = s.storage.kine.as_ref()?;
    (s.storage.kind == StorageType::Kine && !kine.data_source.is_empty())
        .then_some(kine.data_source.as_str())
}
