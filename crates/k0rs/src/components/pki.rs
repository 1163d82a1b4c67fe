//! The controller's PKI as a component: everything is done in `init`.

use async_trait::async_trait;
use k0rs_component::Component;
use k0rs_config::ClusterConfig;
use k0rs_pki::{ClusterPkiSpec, api_server_sans, host_facts};

use crate::paths::HostPaths;

pub struct Pki {
    spec: ClusterPkiSpec,
}

impl Pki {
    /// The PKI this config and host call for: the API server certificate names the host, every
    /// address of it, the `kubernetes` Service and the configured addresses and SANs.
    pub fn new(config: &ClusterConfig, paths: &HostPaths) -> anyhow::Result<Self> {
        let api = &config.spec.api;
        let network = &config.spec.network;
        let mut configured = api.sans.clone();
        configured.extend(api.address.map(|a| a.to_string()));
        configured.extend(api.external_address.clone());
        let sans = api_server_sans(
            &host_facts::hostname()?,
            &host_facts::addresses()?,
            network.kubernetes_service_ip(),
            &network.cluster_domain,
            &configured,
        );
        Ok(Self {
            spec: ClusterPkiSpec {
                dir: paths.pki_dir(),
                api_server_sans: sans,
                admin_server_url: format!("https://localhost:{}", api.port),
            },
        })
    }
}

#[async_trait]
impl Component for Pki {
    fn name(&self) -> &'static str {
        "pki"
    }

    async fn init(&mut self) -> anyhow::Result<()> {
        let spec = self.spec.clone();
        tokio::task::spawn_blocking(move || k0rs_pki::ensure_cluster_pki(&spec)).await??;
        Ok(())
    }

    async fn start(&mut self) -> anyhow::Result<()> {
        Ok(())
    }

    async fn ready(&self) -> anyhow::Result<()> {
        Ok(())
    }

    async fn stop(&mut self) -> anyhow::Result<()> {
        Ok(())
    }
}
