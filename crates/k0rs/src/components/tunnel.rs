//! The control plane → worker tunnel (`k0rs_tunnel`, k0s's konnectivity) as components: on a
//! controller the tunnel server on `spec.konnectivity.agentPort`, whose tunnels the API server
//! dials kubelets and aggregated servers through; on a worker the agent that keeps a tunnel to
//! every controller, authenticated as the node by its kubelet client certificate.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use base64::Engine as _;
use k0rs_apiserver::{NodeDialer, NodeStream};
use k0rs_component::Component;
use k0rs_config::Konnectivity;
use k0rs_tunnel::{
    Agent, AgentOptions, NodeIdentity, ServerIdentity, ServerTls, TunnelServer, Tunnels,
};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The API server's way to the nodes with a tunnel to this controller.
#[derive(Debug)]
pub struct TunnelDialer(pub Tunnels);

#[async_trait]
impl NodeDialer for TunnelDialer {
    async fn dial(
        &self,
        node: &str,
        address: SocketAddr,
    ) -> Option<io::Result<Box<dyn NodeStream>>> {
        let dialed = self.0.dial(node, address).await?;
        tracing::debug!(component = "apiserver", node, %address, ok = dialed.is_ok(), "dialled through the node's tunnel");
        Some(dialed.map(|stream| Box::new(stream) as Box<dyn NodeStream>))
    }
}

/// The tunnel server of a controller, and konnectivity-server's admin endpoint: `/metrics` and
/// `/healthz` over plain HTTP on `127.0.0.1:<spec.konnectivity.adminPort>` (its default admin bind
/// address).
pub struct TunnelServerComponent {
    bind: SocketAddr,
    admin: SocketAddr,
    pki: PathBuf,
    tunnels: Tunnels,
    serving: Vec<JoinHandle<()>>,
}

/// How often a port that is in use is tried again.
const BIND_RETRY: Duration = Duration::from_secs(5);

impl TunnelServerComponent {
    /// Listens on `ip` (the API server's bind address) at `konnectivity.agentPort`, with the API
    /// server's serving certificate; nodes are authenticated against the cluster CA.
    pub fn new(ip: IpAddr, konnectivity: &Konnectivity, pki: PathBuf, tunnels: Tunnels) -> Self {
        Self {
            bind: SocketAddr::new(ip, konnectivity.agent_port),
            admin: SocketAddr::from((Ipv4Addr::LOCALHOST, konnectivity.admin_port)),
            pki,
            tunnels,
            serving: Vec::new(),
        }
    }
}

#[async_trait]
impl Component for TunnelServerComponent {
    fn name(&self) -> &'static str {
        "tunnel-server"
    }

    async fn init(&mut self) -> anyhow::Result<()> {
        Ok(())
    }

    /// A port in use (another controller in this network namespace) costs the tunnel, not the
    /// controller, as a failing konnectivity-server does in k0s: the port is tried again until
    /// it is free, and meanwhile the API server dials kubelets directly.
    async fn start(&mut self) -> anyhow::Result<()> {
        let read = |file: &str| {
            let path = self.pki.join(file);
            std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))
        };
        let identity = ServerIdentity {
            cert_pem: read("server.crt")?,
            key_pem: read("server.key")?,
            client_ca_pem: read("ca.crt")?,
        };
        let tls = ServerTls::new(&identity).context("the worker tunnel's certificate")?;
        let (bind, tunnels) = (self.bind, self.tunnels.clone());
        self.serving.push(tokio::spawn(async move {
            let listener = bind_when_free(bind, "spec.konnectivity.agentPort").await;
            match TunnelServer::serve(listener, &tls, tunnels) {
                // Serves until this task is stopped, which drops it.
                Ok(_server) => std::future::pending::<()>().await,
                Err(error) => tracing::error!(component = "tunnel", %bind, %error, "cannot serve the worker tunnel"),
            }
        }));
        let admin = self.admin;
        self.serving.push(tokio::spawn(async move {
            let listener = bind_when_free(admin, "spec.konnectivity.adminPort").await;
            if let Err(error) = serve_admin(listener).await {
                tracing::error!(component = "tunnel", %admin, %error, "the tunnel's admin endpoint failed");
            }
        }));
        Ok(())
    }

    async fn ready(&self) -> anyhow::Result<()> {
        anyhow::ensure!(!self.serving.is_empty(), "not started");
        Ok(())
    }

    async fn stop(&mut self) -> anyhow::Result<()> {
        for task in self.serving.drain(..) {
            task.abort();
        }
        Ok(())
    }
}

/// A listener on `bind`, tried again every few seconds while the port is in use (a warning the
/// first time, naming the `setting`).
async fn bind_when_free(bind: SocketAddr, setting: &str) -> TcpListener {
    let mut failures = 0u32;
    loop {
        match TcpListener::bind(bind).await {
            Ok(listener) => return listener,
            Err(error) if failures == 0 => {
                tracing::warn!(component = "tunnel", %bind, %error, setting, "cannot listen; trying again (until then kubelets are dialled directly)");
            }
            Err(error) => tracing::debug!(component = "tunnel", %bind, %error, "cannot listen"),
        }
        failures += 1;
        tokio::time::sleep(BIND_RETRY).await;
    }
}

/// konnectivity-server's admin endpoint: the tunnel's metrics and the process's, and health.
async fn serve_admin(listener: TcpListener) -> io::Result<()> {
    use axum::routing::get;
    let mut registry = k0rs_metrics::Registry::default();
    k0rs_tunnel::metrics::register(&mut registry);
    registry.register_collector(Box::new(k0rs_metrics::process::ProcessCollector));
    let registry = std::sync::Arc::new(registry);
    let metrics = move || {
        let text = k0rs_metrics::exposition::encode(&[&registry]);
        async move {
            (
                [(
                    http::header::CONTENT_TYPE,
                    k0rs_metrics::exposition::CONTENT_TYPE,
                )],
                text,
            )
        }
    };
    let router = axum::Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }));
    tracing::info!(component = "tunnel", address = %listener.local_addr()?, "admin endpoint listening");
    axum::serve(listener, router).await
}

/// Where a worker's agent learns the controllers from.
pub enum Controllers {
    /// The node-local balancer's list (it follows the `kubernetes` Endpoints already).
    Balancer(watch::Receiver<Vec<SocketAddr>>),
    /// Followed by the agent itself from these first ones: the join token's, then the ones
    /// kept in `<data-dir>/api-servers`.
    Follow(Vec<SocketAddr>),
}

/// The tunnel agent of a worker.
pub struct TunnelAgentComponent {
    node: String,
    port: u16,
    data_dir: PathBuf,
    controllers: Option<Controllers>,
    agent: Option<Agent>,
    follow: Option<JoinHandle<()>>,
}

impl TunnelAgentComponent {
    /// An agent for `node` to the tunnel servers on `port` (`spec.konnectivity.agentPort`) of the
    /// `controllers`.
    pub fn new(node: &str, port: u16, data_dir: &Path, controllers: Controllers) -> Self {
        Self {
            node: node.to_owned(),
            port,
            data_dir: data_dir.to_path_buf(),
            controllers: Some(controllers),
            agent: None,
            follow: None,
        }
    }
}

#[async_trait]
impl Component for TunnelAgentComponent {
    fn name(&self) -> &'static str {
        "tunnel-agent"
    }

    async fn init(&mut self) -> anyhow::Result<()> {
        Ok(())
    }

    /// After the kubelet, whose client certificate (in `<data-dir>/kubelet.conf`) is the node's
    /// identity.
    async fn start(&mut self) -> anyhow::Result<()> {
        let kubeconfig = self.data_dir.join("kubelet.conf");
        let controllers = match self.controllers.take().context("started twice")? {
            Controllers::Balancer(servers) => servers,
            Controllers::Follow(first) => {
                let (servers, followed) = watch::channel(first);
                let state_file = self.data_dir.join(crate::worker_api::SAVED_SERVERS);
                self.follow = Some(tokio::spawn(super::api_balancer::learn_servers(
                    kubeconfig.clone(),
                    state_file,
                    servers,
                )));
                followed
            }
        };
        // Checked once here so that a node without credentials fails at start, not silently.
        node_identity(&kubeconfig)?;
        self.agent = Some(Agent::start(AgentOptions {
            node: self.node.clone(),
            port: self.port,
            controllers,
            identity: std::sync::Arc::new(move || node_identity(&kubeconfig)),
        }));
        Ok(())
    }

    async fn ready(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.agent.is_some(), "not started");
        Ok(())
    }

    async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(follow) = self.follow.take() {
            follow.abort();
        }
        if let Some(agent) = self.agent.take() {
            agent.stop();
        }
        Ok(())
    }
}

/// The node's client certificate, key and the cluster CA from its kubeconfig (read again at each
/// connection, so a renewed certificate is used).
fn node_identity(kubeconfig: &Path) -> io::Result<NodeIdentity> {
    let invalid = |what: &str| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: no {what}", kubeconfig.display()),
        )
    };
    let text = std::fs::read_to_string(kubeconfig)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", kubeconfig.display())))?;
    let config: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&text).map_err(|_| invalid("kubeconfig"))?;
    let data = |value: &serde_yaml_ng::Value, what: &str| {
        value
            .as_str()
            .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
            .and_then(|pem| String::from_utf8(pem).ok())
            .ok_or_else(|| invalid(what))
    };
    let user = &config["users"][0]["user"];
    Ok(NodeIdentity {
        cert_pem: data(&user["client-certificate-data"], "client-certificate-data")?,
        key_pem: data(&user["client-key-data"], "client-key-data")?,
        ca_pem: data(
            &config["clusters"][0]["cluster"]["certificate-authority-data"],
            "certificate-authority-data",
        )?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_node_identity_comes_from_its_kubeconfig() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kubelet.conf");
        let names = k0rs_pki::KubeconfigNames {
            cluster: "k0s",
            context: "k0s",
            user: "system:node:node-b",
        };
        let text = k0rs_pki::Kubeconfig::with_client_certificate(
            names,
            "https://10.0.0.1:6443",
            "CA PEM",
            "CERT PEM",
            "KEY PEM",
        )
        .to_yaml();
        std::fs::write(&path, text).unwrap();
        let identity = node_identity(&path).unwrap();
        assert_eq!(
            (
                identity.ca_pem.as_str(),
                identity.cert_pem.as_str(),
                identity.key_pem.as_str()
            ),
            ("CA PEM", "CERT PEM", "KEY PEM")
        );
        std::fs::write(&path, "apiVersion: v1\nkind: Config\nusers: []\n").unwrap();
        let error = node_identity(&path).unwrap_err().to_string();
        assert!(error.contains("no client-certificate-data"), "{error}");
    }
}
