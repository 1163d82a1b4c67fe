//! Autopilot's agent on this node (`k0rs_autopilot::agent`): carries out the plan's signals on
//! the node's ControlNode (a controller) or Node (a worker) — download, verify, replace the binary
//! and restart, or import an airgap bundle. A controller takes its settings (trusted keys, health
//! timeout) from its own config, a worker from what the controllers publish, read anew for every
//! signal.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use k0rs_autopilot::agent::{Agent, NodeHost, Role, Settings};
use k0rs_component::Component;
use k0rs_config::{AutopilotSpec, DEFAULT_HEALTH_TIMEOUT};
use k8s_openapi::api::core::v1::NodeAddress;

/// Where the settings come from.
#[derive(Debug, Clone)]
enum Source {
    Config(AutopilotSpec),
    Published,
}

pub struct UpdateAgent {
    role: Role,
    name: String,
    kubeconfig: PathBuf,
    data_dir: PathBuf,
    source: Source,
    /// A worker's containerd, for airgap bundles.
    containerd_socket: Option<PathBuf>,
    addresses: Vec<NodeAddress>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl UpdateAgent {
    /// A controller's agent, on its ControlNode `hostname`.
    pub fn controller(
        data_dir: &Path,
        pki_dir: &Path,
        hostname: &str,
        spec: &AutopilotSpec,
        address: Option<std::net::IpAddr>,
    ) -> Self {
        Self {
            role: Role::Controller,
            name: hostname.to_owned(),
            kubeconfig: pki_dir.join("admin.conf"),
            data_dir: data_dir.to_owned(),
            source: Source::Config(spec.clone()),
            containerd_socket: None,
            addresses: address
                .map(|ip| NodeAddress {
                    address: ip.to_string(),
                    type_: "InternalIP".into(),
                })
                .into_iter()
                .collect(),
            task: None,
        }
    }

    /// A worker's agent, on its Node, with the node's credentials.
    pub fn worker(data_dir: &Path, node_name: &str, containerd_socket: PathBuf) -> Self {
        Self {
            role: Role::Worker,
            name: node_name.to_owned(),
            kubeconfig: data_dir.join("kubelet.conf"),
            data_dir: data_dir.to_owned(),
            source: Source::Published,
            containerd_socket: Some(containerd_socket),
            addresses: Vec::new(),
            task: None,
        }
    }
}

struct Host {
    source: Source,
    client: kube::Client,
    images_dir: PathBuf,
    containerd_socket: Option<PathBuf>,
}

#[async_trait]
impl NodeHost for Host {
    async fn settings(&self) -> anyhow::Result<Settings> {
        let spec = match &self.source {
            Source::Config(spec) => spec.clone(),
            Source::Published => crate::worker_settings::fetch(self.client.clone())
                .await?
                .autopilot
                .unwrap_or_default(),
        };
        let text = spec
            .health_timeout
            .as_deref()
            .unwrap_or(DEFAULT_HEALTH_TIMEOUT);
        let health_timeout = crate::components::control_loops::go_duration(text)
            .with_context(|| format!("spec.autopilot.healthTimeout {text:?} is not a duration"))?;
        Ok(Settings {
            trusted_keys: spec.trusted_keys,
            health_timeout,
        })
    }

    async fn import_bundle(&self, bundle: &Path, version: &str) -> anyhow::Result<Vec<String>> {
        let socket = self
            .containerd_socket
            .clone()
            .context("this node runs no containerd to import images into")?;
        // Kept among the node's bundles, as k0s keeps them: imported again at every start.
        std::fs::create_dir_all(&self.images_dir)
            .with_context(|| format!("cannot create {}", self.images_dir.display()))?;
        let name = k0rs_autopilot::agent::file_safe(version);
        let target = self.images_dir.join(format!("autopilot-airgap-{name}.tar"));
        let staged = self
            .images_dir
            .join(format!(".autopilot-airgap-{name}.tar.tmp"));
        std::fs::copy(bundle, &staged)
            .with_context(|| format!("cannot write {}", staged.display()))?;
        std::fs::rename(&staged, &target)
            .with_context(|| format!("cannot write {}", target.display()))?;
        let ctr = k0rs_kubelet::containerd::Ctr {
            binary: crate::components::containerd::find_binary("ctr")?,
            socket,
        };
        let images = ctr.import(&target).await?;
        tracing::info!(component = "autopilot", file = %target.display(), images = images.join(","), "imported the airgap bundle");
        Ok(images)
    }
}

#[async_trait]
impl Component for UpdateAgent {
    fn name(&self) -> &'static str {
        "autopilot-agent"
    }

    async fn init(&mut self) -> anyhow::Result<()> {
        Ok(())
    }

    async fn start(&mut self) -> anyhow::Result<()> {
        let client = k0rs_runtime::client(&self.kubeconfig, "autopilot-agent").await?;
        let service_role = match self.role {
            Role::Controller => crate::service::Role::Controller,
            Role::Worker => crate::service::Role::Worker,
        };
        let agent = Agent {
            role: self.role,
            name: self.name.clone(),
            dir: self.data_dir.join("autopilot"),
            binary: std::env::current_exe().context("cannot tell where this k0rs binary is")?,
            argv: std::env::args_os().collect(),
            version: crate::version::k0rs().to_owned(),
            service_managed: crate::service::running_under(service_role).is_some(),
            addresses: self.addresses.clone(),
        };
        let host = Arc::new(Host {
            source: self.source.clone(),
            client: client.clone(),
            images_dir: self.data_dir.join("images"),
            containerd_socket: self.containerd_socket.clone(),
        });
        self.task = Some(tokio::spawn(agent.run(client, host)));
        Ok(())
    }

    async fn ready(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.task.is_some(), "not started");
        Ok(())
    }

    async fn stop(&mut self) -> anyhow::Result<()> {
        // Stopped while waiting to be healthy on a new binary: not a failure to roll back.
        k0rs_autopilot::agent::interrupt(&self.data_dir.join("autopilot"));
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
        Ok(())
    }
}
