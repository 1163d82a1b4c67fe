//! The kubelet as a component of a worker node (`k0rs_kubelet`).

use async_trait::async_trait;
use k0rs_component::Component;
use k0rs_kubelet::{Kubelet, Options};

use crate::worker::Credentials;

#[derive(Debug)]
pub struct KubeletComponent {
    options: Options,
    credentials: Credentials,
    running: Option<Kubelet>,
}

impl KubeletComponent {
    pub fn new(options: Options, credentials: Credentials) -> Self {
        Self {
            options,
            credentials,
            running: None,
        }
    }
}

#[async_trait]
impl Component for KubeletComponent {
    fn name(&self) -> &'static str {
        "kubelet"
    }

    async fn init(&mut self) -> anyhow::Result<()> {
        let data_dir = self
            .options
            .kubelet_dir
            .parent()
            .unwrap_or(&self.options.kubelet_dir)
            .to_path_buf();
        let address = match self.options.node_ip {
            Some(ip) => ip,
            None => k0rs_kubelet::default_address()?,
        };
        self.options.node_ip = Some(address);
        let (kubeconfig, serving) = self
            .credentials
            .ensure(&data_dir, &self.options.node_name, address)
            .await?;
        self.options.kubeconfig = kubeconfig;
        self.options.serving = Some(serving);
        Ok(())
    }

    async fn start(&mut self) -> anyhow::Result<()> {
        self.running = Some(Kubelet::start(self.options.clone()).await?);
        Ok(())
    }

    async fn ready(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.running.is_some(), "not started");
        Ok(())
    }

    async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(kubelet) = self.running.take() {
            kubelet.stop().await;
        }
        Ok(())
    }
}
