//! Cluster DNS for k0rs (CoreDNS's job in k0s): every worker answers the cluster's names from
//! its own caches of Services and EndpointSlices, and forwards the rest to the node's resolvers.
//! The `kube-dns` Service sends each pod's queries to its own node's server. Queries are counted
//! under CoreDNS's metric names ([`metrics`]).

pub mod forward;
pub mod metrics;
pub mod server;
pub mod zone;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::StreamExt as _;
use k0rs_runtime::informer::Shared;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::forward::Forwarder;
use crate::server::State;
use crate::zone::Zone;

/// The port each node's DNS server listens on, at the node's address: not 53, which a resolver
/// of the host may hold; the `kube-dns` Service maps 53 to it.
pub const NODE_PORT: u16 = 1053;

/// How long a change waits for those that come with it before the zone is rebuilt.
const BATCH: Duration = Duration::from_millis(20);

#[derive(Debug, Clone)]
pub struct Options {
    /// `cluster.local`.
    pub domain: String,
    pub listen: SocketAddr,
    /// The resolv.conf whose nameservers answer other names.
    pub resolv_conf: PathBuf,
}

#[derive(Debug)]
pub struct Dns {
    tasks: JoinSet<()>,
    ready: watch::Receiver<bool>,
}

impl Dns {
    /// Listens on `options.listen` (failing at once when the address is taken) and follows the
    /// cluster's services.
    pub async fn start(
        services: Shared<Service>,
        slices: Shared<EndpointSlice>,
        options: Options,
    ) -> anyhow::Result<Self> {
        let upstreams = forward::upstreams_from(&options.resolv_conf).unwrap_or_else(|error| {
            tracing::warn!(
                component = "dns",
                error = format!("{error:#}"),
                "no upstream resolvers"
            );
            Vec::new()
        });
        let (udp, tcp) = server::bind(options.listen).await?;
        let state = Arc::new(State {
            zone: RwLock::new(Arc::new(Zone::build(&options.domain, &[], &[]))),
            forwarder: Forwarder::new(upstreams),
            server: metrics::Server::new(options.listen),
        });
        let mut tasks = JoinSet::new();
        // Two receivers on one socket: one answers while the other waits for the next query.
        for _ in 0..2 {
            tasks.spawn(server::serve_udp(udp.clone(), state.clone()));
        }
        tasks.spawn(server::serve_tcp(tcp, state.clone()));
        let (sender, ready) = watch::channel(false);
        tasks.spawn(follow(services, slices, options.domain, state, sender));
        tracing::info!(component = "dns", listen = %options.listen, "serving");
        Ok(Self { tasks, ready })
    }

    /// Whether the zone holds the cluster's services.
    pub fn ready(&self) -> bool {
        *self.ready.borrow()
    }

    pub fn stop(mut self) {
        self.tasks.abort_all();
    }
}

/// Rebuilds the zone from the caches on every (batched) change.
async fn follow(
    services: Shared<Service>,
    slices: Shared<EndpointSlice>,
    domain: String,
    state: Arc<State>,
    ready: watch::Sender<bool>,
) {
    let mut changes = std::pin::pin!(futures::stream::select(
        services.changes().map(|_| ()),
        slices.changes().map(|_| ()),
    ));
    if services.store.wait_until_ready().await.is_err()
        || slices.store.wait_until_ready().await.is_err()
    {
        return;
    }
    loop {
        let zone = Zone::build(&domain, &services.store.state(), &slices.store.state());
        *state
            .zone
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(zone);
        ready.send_replace(true);
        if changes.next().await.is_none() {
            return;
        }
        tokio::time::sleep(BATCH).await;
        while futures::FutureExt::now_or_never(changes.next())
            .flatten()
            .is_some()
        {}
    }
}
