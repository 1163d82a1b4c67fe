//! The worker's node-local load balancer (k0s's `nodeLocalLoadBalancing`, there an envoy): the
//! kubelet and the node's other agents dial one loopback address, and each connection is passed,
//! unopened (TLS goes end to end, the API servers' certificates name 127.0.0.1), to one of the
//! controllers' API servers. Connections take the servers in turn; one that refuses or does not
//! answer within a second is skipped for a while and the next one is tried, so a dead controller
//! costs a client at most one reconnect. Which servers there are is the caller's to say, through a
//! watch channel (the worker learns them from the `kubernetes` Endpoints).

mod backends;

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::backends::Backends;

/// How long connecting to one server may take before the next one is tried.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// A running balancer; dropping it does not stop it, [`Balancer::stop`] does.
#[derive(Debug)]
pub struct Balancer {
    local_addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Balancer {
    /// Listens on `bind` and balances over the servers `servers` holds (its latest value for each
    /// new connection).
    pub async fn start(
        bind: SocketAddr,
        servers: watch::Receiver<Vec<SocketAddr>>,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(bind).await?;
        let local_addr = listener.local_addr()?;
        let backends = Backends::new(servers);
        let task = tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((client, _)) => {
                        tokio::spawn(forward(client, backends.clone()));
                    }
                    Err(e) => {
                        tracing::warn!(component = "balancer", error = %e, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                }
            }
        });
        tracing::info!(component = "balancer", address = %local_addr, "listening");
        Ok(Self { local_addr, task })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting; connections already passed on run until either side closes.
    pub fn stop(self) {
        self.task.abort();
    }
}

/// Connects `client` to the first server that answers and copies both ways until one side closes.
async fn forward(mut client: TcpStream, backends: Backends) {
    for server in backends.in_turn() {
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(server)).await {
            Ok(Ok(mut upstream)) => {
                backends.answered(server);
                let _ = client.set_nodelay(true);
                let _ = upstream.set_nodelay(true);
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                return;
            }
            Ok(Err(e)) => backends.failed(server, &e.to_string()),
            Err(_) => backends.failed(server, "no answer within a second"),
        }
    }
    tracing::warn!(
        component = "balancer",
        "no API server answers; the connection is closed"
    );
}
