//! The pod network (routes, SNAT), the service proxy and cluster DNS as components of a worker
//! node. Each acts as the node (its kubelet's kubeconfig); the network and the proxy use the
//! node's one netfilter toolchain.

use std::path::PathBuf;

use anyhow::Context as _;
use async_trait::async_trait;
use k0rs_component::Component;
use k0rs_config::KubeProxyMode;

#[derive(Debug)]
pub struct NetworkComponent {
    kubeconfig: PathBuf,
    options: k0rs_network::Options,
    running: Option<k0rs_network::Network>,
}

impl NetworkComponent {
    pub fn new(kubeconfig: PathBuf, options: k0rs_network::Options) -> Self {
        Self {
            kubeconfig,
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
        let client = k0rs_controllers::client(&self.kubeconfig, "k0rs-network").await?;
        self.running = Some(k0rs_network::Network::start(client, self.options.clone()));
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
    kubeconfig: PathBuf,
    mode: KubeProxyMode,
    options: k0rs_proxy::Options,
    running: Option<k0rs_proxy::Proxy>,
}

impl ProxyComponent {
    pub fn new(kubeconfig: PathBuf, mode: KubeProxyMode, options: k0rs_proxy::Options) -> Self {
        Self {
            kubeconfig,
            mode,
            options,
            running: None,
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
        anyhow::ensure!(
            self.mode == KubeProxyMode::Iptables,
            "spec.network.kubeProxy.mode {:?} is not built yet: use iptables",
            self.mode
        );
        Ok(())
    }

    async fn start(&mut self) -> anyhow::Result<()> {
        let client = k0rs_controllers::client(&self.kubeconfig, "kube-proxy").await?;
        self.running = Some(k0rs_proxy::Proxy::start(client, self.options.clone()));
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
        if let Some(proxy) = self.running.take() {
            proxy.stop();
        }
        Ok(())
    }
}

#[derive(Debug)]
pub struct DnsComponent {
    kubeconfig: PathBuf,
    node_ip: Option<std::net::IpAddr>,
    options: k0rs_dns::Options,
    running: Option<k0rs_dns::Dns>,
}

impl DnsComponent {
    pub fn new(
        kubeconfig: PathBuf,
        node_ip: Option<std::net::IpAddr>,
        options: k0rs_dns::Options,
    ) -> Self {
        Self {
            kubeconfig,
            node_ip,
            options,
            running: None,
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
        Ok(())
    }

    async fn start(&mut self) -> anyhow::Result<()> {
        let client = k0rs_controllers::client(&self.kubeconfig, "k0rs-dns").await?;
        self.running = Some(k0rs_dns::Dns::start(client, self.options.clone()).await?);
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
        if let Some(dns) = self.running.take() {
            dns.stop();
        }
        Ok(())
    }
}
