//! The pod network (routes, SNAT), the service proxy and cluster DNS as components of a worker
//! node. Each acts as the node (its kubelet's kubeconfig); the network and the proxy use the
//! node's one netfilter toolchain. The proxy and DNS serve their metrics where kube-proxy's and
//! CoreDNS's are (see `node_metrics`).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use async_trait::async_trait;
use k0rs_component::Component;
use k0rs_config::{KubeProxyMode, KubeProxySpec};
use k0rs_runtime::informer::{self, Shared};
use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Api;
use tokio::sync::OnceCell;

use super::node_metrics::MetricsEndpoint;

/// The caches the node's network components share: one API client (the kubelet's identity)
/// and one watch each of Nodes, Services and EndpointSlices, made by the first component that
/// starts and kept for the life of the process. Network policy makes its own watches on the
/// same client (only once a policy exists).
#[derive(Debug, Clone)]
pub struct NodeCaches {
    kubeconfig: PathBuf,
    cell: Arc<OnceCell<Caches>>,
}

#[derive(Clone)]
struct Caches {
    client: kube::Client,
    nodes: Shared<Node>,
    services: Shared<Service>,
    slices: Shared<EndpointSlice>,
}

impl std::fmt::Debug for Caches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Caches { nodes, services, endpointslices }")
    }
}

/// Changes a node's components may fall behind on before relying on their resync.
const BACKLOG: usize = 256;

impl NodeCaches {
    pub fn new(kubeconfig: PathBuf) -> Self {
        Self {
            kubeconfig,
            cell: Arc::new(OnceCell::new()),
        }
    }

    async fn get(&self) -> anyhow::Result<Caches> {
        let caches = self
            .cell
            .get_or_try_init(|| async {
                let client = k0rs_runtime::client(&self.kubeconfig, "k0rs-node-network").await?;
                let (nodes, follow_nodes) =
                    informer::shared_with_backlog(Api::<Node>::all(client.clone()), BACKLOG);
                let (services, follow_services) =
                    informer::shared_with_backlog(Api::<Service>::all(client.clone()), BACKLOG);
                let (slices, follow_slices) = informer::shared_with_backlog(
                    Api::<EndpointSlice>::all(client.clone()),
                    BACKLOG,
                );
                tokio::spawn(follow_nodes);
                tokio::spawn(follow_services);
                tokio::spawn(follow_slices);
                anyhow::Ok(Caches {
                    client,
                    nodes,
                    services,
                    slices,
                })
            })
            .await?;
        Ok(caches.clone())
    }
}

#[derive(Debug)]
pub struct NetworkComponent {
    caches: NodeCaches,
    options: k0rs_network::Options,
    running: Option<k0rs_network::Network>,
}

impl NetworkComponent {
    pub fn new(caches: NodeCaches, options: k0rs_network::Options) -> Self {
        Self {
            caches,
            options,
            running: None,
        }
    }
}

#[async_trait]
impl Component for NetworkComponent {
    fn name(&self) -> &'static str {
        "network"
    }

    async fn init(&mut self) -> anyhow::Result<()> {
        Ok(())
    }

    async fn start(&mut self) -> anyhow::Result<()> {
        let caches = self.caches.get().await?;
        self.running = Some(k0rs_network::Network::start(
            caches.nodes,
            self.options.clone(),
        ));
        Ok(())
    }

    async fn ready(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.running
                .as_ref()
                .is_some_and(k0rs_network::Network::synced),
            "routes not applied yet"
        );
        Ok(())
    }

    async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(network) = self.running.take() {
            network.stop();
        }
        Ok(())
    }
}

#[derive(Debug)]
pub struct ProxyComponent {
    caches: NodeCaches,
    mode: KubeProxyMode,
    metrics_bind_address: String,
    options: k0rs_proxy::Options,
    running: Option<k0rs_proxy::Proxy>,
    metrics: Option<MetricsEndpoint>,
}

impl ProxyComponent {
    pub fn new(caches: NodeCaches, spec: &KubeProxySpec, options: k0rs_proxy::Options) -> Self {
        Self {
            caches,
            mode: spec.mode,
            metrics_bind_address: spec.metrics_bind_address.clone(),
            options,
            running: None,
            metrics: None,
        }
    }
}

#[async_trait]
impl Component for ProxyComponent {
    fn name(&self) -> &'static str {
        "kube-proxy"
    }

    /// Refuses to start when ipset and the kernel disagree on a set type k0rs uses (k0s 1.28's
    /// failure on kernels ≥ 6.2), and on modes not built yet.
    async fn init(&mut self) -> anyhow::Result<()> {
        let revisions = self
            .options
            .toolchain
            .probe_ipset()
            .context("the service proxy cannot start")?;
        tracing::info!(
            component = "kube-proxy",
            backend = %self.options.toolchain.backend,
            ipset = ?revisions,
            "netfilter toolchain"
        );
        self.options.mode = match self.mode {
            KubeProxyMode::Iptables => k0rs_proxy::Mode::Iptables,
            KubeProxyMode::Nftables => {
                anyhow::ensure!(
                    self.options.toolchain.nft.is_some(),
                    "spec.network.kubeProxy.mode nftables needs nft: install Debian's nftables package"
                );
                k0rs_proxy::Mode::Nftables
            }
            KubeProxyMode::Ipvs => anyhow::bail!(
                "spec.network.kubeProxy.mode ipvs is not built: use iptables or nftables"
            ),
        };
        self.metrics = Some(MetricsEndpoint::proxy(&self.metrics_bind_address)?);
        Ok(())
    }

    async fn start(&mut self) -> anyhow::Result<()> {
        let caches = self.caches.get().await?;
        self.running = Some(k0rs_proxy::Proxy::start(
            caches.services,
            caches.slices,
            self.options.clone(),
        ));
        if let Some(metrics) = &mut self.metrics {
            metrics.start(k0rs_proxy::metrics::registry()).await;
        }
        Ok(())
    }

    async fn ready(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.running.as_ref().is_some_and(k0rs_proxy::Proxy::synced),
            "rules not synced yet"
        );
        Ok(())
    }

    async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(metrics) = &mut self.metrics {
            metrics.stop();
        }
        if let Some(proxy) = self.running.take() {
            proxy.stop();
        }
        Ok(())
    }
}

#[derive(Debug)]
pub struct DnsComponent {
    caches: NodeCaches,
    node_ip: Option<std::net::IpAddr>,
    options: k0rs_dns::Options,
    running: Option<k0rs_dns::Dns>,
    metrics: Option<MetricsEndpoint>,
}

impl DnsComponent {
    pub fn new(
        caches: NodeCaches,
        node_ip: Option<std::net::IpAddr>,
        options: k0rs_dns::Options,
    ) -> Self {
        Self {
            caches,
            node_ip,
            options,
            running: None,
            metrics: None,
        }
    }
}

#[async_trait]
impl Component for DnsComponent {
    fn name(&self) -> &'static str {
        "coredns"
    }

    /// Listens on the node's address only: a resolver of the host's own on another address of
    /// the same port is left alone.
    async fn init(&mut self) -> anyhow::Result<()> {
        let ip = match self.node_ip {
            Some(ip) => ip,
            None => k0rs_kubelet::default_address()?,
        };
        self.options.listen.set_ip(ip);
        self.metrics = Some(MetricsEndpoint::dns()?);
        Ok(())
    }

    async fn start(&mut self) -> anyhow::Result<()> {
        let caches = self.caches.get().await?;
        self.running =
            Some(k0rs_dns::Dns::start(caches.services, caches.slices, self.options.clone()).await?);
        if let Some(metrics) = &mut self.metrics {
            metrics.start(k0rs_dns::metrics::registry()).await;
        }
        Ok(())
    }

    async fn ready(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.running.as_ref().is_some_and(k0rs_dns::Dns::ready),
            "cluster names not loaded yet"
        );
        Ok(())
    }

    async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(metrics) = &mut self.metrics {
            metrics.stop();
        }
        if let Some(dns) = self.running.take() {
            dns.stop();
        }
        Ok(())
    }
}

#[derive(Debug)]
pub struct PolicyComponent {
    caches: NodeCaches,
    options: k0rs_netpol::Options,
    running: Option<k0rs_netpol::NetworkPolicies>,
}

impl PolicyComponent {
    pub fn new(caches: NodeCaches, options: k0rs_netpol::Options) -> Self {
        Self {
            caches,
            options,
            running: None,
        }
    }
}

#[async_trait]
impl Component for PolicyComponent {
    fn name(&self) -> &'static str {
        "network-policy"
    }

    /// Network policy matches ipsets: it refuses to start on an ipset the kernel disagrees with,
    /// as the proxy does.
    async fn init(&mut self) -> anyhow::Result<()> {
        self.options
            .toolchain
            .probe_ipset()
            .context("network policy cannot start")?;
        Ok(())
    }

    async fn start(&mut self) -> anyhow::Result<()> {
        let caches = self.caches.get().await?;
        self.running = Some(k0rs_netpol::NetworkPolicies::start(
            caches.client,
            self.options.clone(),
        ));
        Ok(())
    }

    async fn ready(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.running
                .as_ref()
                .is_some_and(k0rs_netpol::NetworkPolicies::synced),
            "network policy rules not written yet"
        );
        Ok(())
    }

    async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(policies) = self.running.take() {
            policies.stop();
        }
        Ok(())
    }
}
