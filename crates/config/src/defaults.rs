//! k0s's defaults, in one place. The model's `Default` impls and other crates read them from here.

/// `spec.api.port`: the Kubernetes API.
pub const API_PORT: u16 = 6443;
/// `spec.api.k0sApiPort`: the join API controllers and workers use to join.
pub const K0S_API_PORT: u16 = 9443;
/// `spec.network.podCIDR`.
pub const POD_CIDR: &str = "10.244.0.0/16";
/// `spec.network.serviceCIDR`.
pub const SERVICE_CIDR: &str = "10.96.0.0/12";
/// `spec.network.clusterDomain`.
pub const CLUSTER_DOMAIN: &str = "cluster.local";
/// `spec.network.kubeProxy.metricsBindAddress`.
pub const KUBE_PROXY_METRICS_BIND_ADDRESS: &str = "0.0.0.0:10249";
/// `spec.network.kuberouter.metricsPort`.
pub const KUBE_ROUTER_METRICS_PORT: u16 = 8080;
/// `spec.network.nodeLocalLoadBalancing.envoyProxy.apiServerBindPort`.
pub const NLLB_API_SERVER_BIND_PORT: u16 = 7443;
/// `spec.network.nodeLocalLoadBalancing.envoyProxy.konnectivityServerBindPort`.
pub const NLLB_KONNECTIVITY_BIND_PORT: u16 = 7132;
/// `spec.konnectivity.adminPort` / `agentPort`.
pub const KONNECTIVITY_ADMIN_PORT: u16 = 8133;
pub const KONNECTIVITY_AGENT_PORT: u16 = 8132;
/// `spec.extensions.helm.concurrencyLevel`.
pub const HELM_CONCURRENCY: u32 = 5;
/// `metadata.name`.
pub const CONFIG_NAME: &str = "k0s";
/// The etcd peer port (`https://<peerAddress>:2380`).
pub const ETCD_PEER_PORT: u16 = 2380;
