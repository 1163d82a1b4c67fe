//! The node's own loop: every 10 s ask the runtime whether it is ready, write the CNI
//! configuration once the node has its pod CIDR, and report the node's status.

use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use k0rs_cri::Cri;
use k8s_openapi::api::core::v1::Node;
use kube::Api;

use crate::cni;
use crate::node::{self, Health, Identity};

const REPORT_EVERY: Duration = Duration::from_secs(10);
const NOT_READY_EVERY: Duration = Duration::from_secs(1);

pub struct NodeLoop {
    pub nodes: Api<Node>,
    pub identity: Identity,
    pub cri: Cri,
    pub cni_conf_dir: PathBuf,
    pub ipam_dir: PathBuf,
}

impl NodeLoop {
    /// Runs until dropped. The first report happens at once.
    pub async fn run(self) {
        // Looked up once found (two `ip` runs): an interface's MTU changes with a restart of
        // the node, not between reports.
        let mut mtu = None;
        loop {
            // Until the node is ready (its pod CIDR arrives a moment after registration), look
            // every second, so that pods do not wait a whole report period for the network.
            let next = match self.once(&mut mtu).await {
                Ok(true) => REPORT_EVERY,
                Ok(false) => NOT_READY_EVERY,
                Err(error) => {
                    tracing::warn!(
                        component = "kubelet",
                        node = self.identity.name,
                        error = format!("{error:#}"),
                        "cannot report the node status"
                    );
                    NOT_READY_EVERY
                }
            };
            tokio::time::sleep(next).await;
        }
    }

    /// One report; returns whether the node is ready.
    async fn once(&self, mtu: &mut Option<u32>) -> anyhow::Result<bool> {
        let current = self.nodes.get(&self.identity.name).await?;
        let cidrs = pod_cidrs(&current);
        if !cidrs.is_empty() && mtu.is_none() {
            *mtu = crate::host::mtu_of(self.identity.address);
        }
        let mtu = *mtu;
        if !cidrs.is_empty() && cni::write(&self.cni_conf_dir, &cidrs, &self.ipam_dir, mtu)? {
            tracing::info!(
                component = "kubelet",
                ?cidrs,
                mtu,
                "wrote the CNI configuration for the node's pod CIDR"
            );
        }
        let health = self.health(&cidrs).await;
        node::report(&self.nodes, &self.identity, &health, &current).await?;
        Ok(health.ready())
    }

    async fn health(&self, cidrs: &[IpNet]) -> Health {
        let status = match self.cri.status().await {
            Ok(status) => status,
            Err(error) => {
                return Health {
                    runtime_ready: false,
                    network_ready: false,
                    problem: Some(format!("container runtime is down: {error}")),
                };
            }
        };
        let condition = |kind: &str| {
            status
                .status
                .as_ref()
                .and_then(|s| s.conditions.iter().find(|c| c.r#type == kind))
        };
        let runtime_ready = condition("RuntimeReady").is_some_and(|c| c.status);
        let network_ready = condition("NetworkReady").is_some_and(|c| c.status);
        let problem = if !runtime_ready {
            Some("container runtime is not ready".to_owned())
        } else if cidrs.is_empty() {
            Some("container runtime network not ready: the node has no pod CIDR yet".to_owned())
        } else if !network_ready {
            let message = condition("NetworkReady")
                .map(|c| c.message.clone())
                .unwrap_or_default();
            Some(format!("container runtime network not ready: {message}"))
        } else {
            None
        };
        Health {
            runtime_ready,
            network_ready,
            problem,
        }
    }
}

fn pod_cidrs(node: &Node) -> Vec<IpNet> {
    let spec = node.spec.as_ref();
    let mut cidrs: Vec<String> = spec.and_then(|s| s.pod_cidrs.clone()).unwrap_or_default();
    if cidrs.is_empty() {
        cidrs.extend(spec.and_then(|s| s.pod_cidr.clone()));
    }
    cidrs.iter().filter_map(|c| c.parse().ok()).collect()
}
