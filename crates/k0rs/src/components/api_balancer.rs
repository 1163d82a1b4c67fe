//! The worker's node-local load balancer (`spec.network.nodeLocalLoadBalancing`) as a component:
//! `k0rs_balancer` on `127.0.0.1:<envoyProxy.apiServerBindPort>`, over the API servers the
//! `default/kubernetes` Endpoints list. The node's kubeconfig names the balancer, so the kubelet,
//! the proxy, the pod network and DNS all reach whichever controller answers.
//!
//! The first servers are the join token's and the ones this node saw last (kept in
//! `<data-dir>/api-servers`), so a worker that restarts while the controller in its token is down
//! still finds the others. The Endpoints are watched through the balancer itself.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::pin;

use anyhow::Context as _;
use async_trait::async_trait;
use futures::TryStreamExt as _;
use k0rs_balancer::Balancer;
use k0rs_component::Component;
use k8s_openapi::api::core::v1::Endpoints;
use kube::Api;
use kube::runtime::watcher::{self, watcher};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct ApiBalancerComponent {
    bind: SocketAddr,
    /// Where the servers last seen are kept.
    state_file: PathBuf,
    /// The node's kubeconfig (through the balancer), for watching the Endpoints.
    kubeconfig: PathBuf,
    balancer: Option<Balancer>,
    /// Where the servers learnt go, until `start` hands it to the learning task.
    servers: Option<watch::Sender<Vec<SocketAddr>>>,
    /// The servers as learnt, for the balancer and whoever else asks ([`Self::servers`]).
    learnt: watch::Receiver<Vec<SocketAddr>>,
    learn: Option<JoinHandle<()>>,
}

impl ApiBalancerComponent {
    pub fn new(bind: SocketAddr, seed: SocketAddr, data_dir: &std::path::Path) -> Self {
        let (servers, learnt) = watch::channel(crate::worker_api::first_servers(seed, data_dir));
        Self {
            bind,
            state_file: data_dir.join(crate::worker_api::SAVED_SERVERS),
            kubeconfig: data_dir.join("kubelet.conf"),
            balancer: None,
            servers: Some(servers),
            learnt,
            learn: None,
        }
    }

    /// The API servers the balancer spreads connections over, as it learns them.
    pub fn servers(&self) -> watch::Receiver<Vec<SocketAddr>> {
        self.learnt.clone()
    }
}

#[async_trait]
impl Component for ApiBalancerComponent {
    fn name(&self) -> &'static str {
        "balancer"
    }

    /// Listens already: the kubelet joins the cluster in its own `init`, through the balancer.
    async fn init(&mut self) -> anyhow::Result<()> {
        let balancer = Balancer::start(self.bind, self.learnt.clone())
            .await
            .with_context(|| format!("cannot listen on {} for the API servers", self.bind))?;
        self.balancer = Some(balancer);
        Ok(())
    }

    async fn start(&mut self) -> anyhow::Result<()> {
        let servers = self.servers.take().context("started twice")?;
        self.learn = Some(tokio::spawn(learn_servers(
            self.kubeconfig.clone(),
            self.state_file.clone(),
            servers,
        )));
        Ok(())
    }

    async fn ready(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.learn.is_some(), "not started");
        Ok(())
    }

    async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(learn) = self.learn.take() {
            learn.abort();
        }
        if let Some(balancer) = self.balancer.take() {
            balancer.stop();
        }
        Ok(())
    }
}

/// Follows `default/kubernetes` and hands its addresses to `servers` (and keeps them in
/// `state_file`), once the node has a kubeconfig (the kubelet writes it when it joins).
pub(crate) async fn learn_servers(
    kubeconfig: PathBuf,
    state_file: PathBuf,
    servers: watch::Sender<Vec<SocketAddr>>,
) {
    loop {
        if let Err(error) = follow(&kubeconfig, &state_file, &servers).await {
            tracing::debug!(
                component = "balancer",
                error = format!("{error:#}"),
                "cannot follow the API servers yet"
            );
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
}

async fn follow(
    kubeconfig: &std::path::Path,
    state_file: &std::path::Path,
    servers: &watch::Sender<Vec<SocketAddr>>,
) -> anyhow::Result<()> {
    anyhow::ensure!(kubeconfig.exists(), "no kubeconfig yet");
    let client = k0rs_runtime::client(kubeconfig, "balancer").await?;
    let api = Api::<Endpoints>::namespaced(client, "default");
    let config = watcher::Config::default().fields("metadata.name=kubernetes");
    let mut events = pin!(watcher(api, config));
    while let Some(event) = events.try_next().await? {
        let (watcher::Event::Apply(endpoints) | watcher::Event::InitApply(endpoints)) = event
        else {
            continue;
        };
        let found = addresses(&endpoints);
        // An empty list is a moment with no live API server: keep trying the last ones.
        if found.is_empty() {
            continue;
        }
        if crate::worker_api::read_saved(state_file) != found {
            let text: String = found.iter().map(|s| s.to_string() + "\n").collect();
            if let Err(error) = std::fs::write(state_file, text) {
                tracing::warn!(component = "balancer", file = %state_file.display(), %error, "cannot keep the API servers");
            }
        }
        if *servers.borrow() == found {
            continue;
        }
        tracing::info!(component = "balancer", servers = ?found, "API servers");
        servers.send_replace(found);
    }
    Ok(())
}

/// Every `address:port` of the Endpoints' `https` port, sorted.
fn addresses(endpoints: &Endpoints) -> Vec<SocketAddr> {
    let mut found = Vec::new();
    for subset in endpoints.subsets.iter().flatten() {
        let port = subset
            .ports
            .iter()
            .flatten()
            .find(|p| p.name.as_deref() == Some("https"))
            .and_then(|p| u16::try_from(p.port).ok());
        let Some(port) = port else { continue };
        for address in subset.addresses.iter().flatten() {
            if let Ok(ip) = address.ip.parse() {
                found.push(SocketAddr::new(ip, port));
            }
        }
    }
    found.sort();
    found
}
