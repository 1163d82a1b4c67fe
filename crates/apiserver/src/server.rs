//! Accepting connections: TLS handshake, the caller from the client certificate, then HTTP/1.1 or
//! HTTP/2 on the router.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Extension;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tower::Layer as _;

use k0rs_registry::{ApiEndpoint, Registry, ServiceNetwork};
use k0rs_store::Store;

use crate::authn::UserInfo;
use crate::routes::{self, Caller};
use crate::tls::{self, TlsMaterial};
use crate::tokens::{TokenOptions, Tokens};

/// The body of `/version` (Kubernetes' `version.Info`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionInfo {
    pub major: String,
    pub minor: String,
    pub git_version: String,
    pub git_commit: String,
    pub git_tree_state: String,
    pub build_date: String,
    pub go_version: String,
    pub compiler: String,
    pub platform: String,
}

#[derive(Clone)]
pub struct ServerOptions {
    pub bind: SocketAddr,
    /// `host:port` clients are told to use (discovery's `serverAddressByClientCIDRs`).
    pub advertise_address: String,
    pub tls: TlsMaterial,
    pub version: VersionInfo,
    pub store: Arc<dyn Store>,
    /// The API server's endpoint for the `kubernetes` Service (none: no Service is kept).
    pub endpoint: Option<ApiEndpoint>,
    /// Where Services get their ClusterIPs and NodePorts.
    pub service_network: ServiceNetwork,
    /// The service-account token issuer (none: no bearer tokens).
    pub tokens: Option<TokenOptions>,
    /// The front-proxy client identity for API aggregation (none: no aggregation).
    pub front_proxy: Option<Arc<crate::FrontProxy>>,
    /// The client identity towards kubelets (none: no logs, exec or port-forward).
    pub kubelet_client: Option<Arc<crate::KubeletClient>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error(transparent)]
    Keys(#[from] crate::tokens::KeyError),
    #[error("cannot create the initial objects: {0}")]
    Bootstrap(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// A running API server; [`ApiServer::stop`] stops accepting connections.
#[derive(Debug)]
pub struct ApiServer {
    local_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl ApiServer {
    /// Binds and starts serving; returns once the port is bound.
    pub async fn start(options: ServerOptions) -> Result<Self, ServerError> {
        let (tls_config, client_ca) = tls::server_config(&options.tls)?;
        let acceptor = TlsAcceptor::from(Arc::new(tls_config));
        let listener =
            TcpListener::bind(options.bind)
                .await
                .map_err(|source| ServerError::Bind {
                    addr: options.bind,
                    source,
                })?;
        let local_addr = listener.local_addr().map_err(|source| ServerError::Bind {
            addr: options.bind,
            source,
        })?;
        let registry = Registry::with_service_network(options.store, options.service_network);
        registry
            .bootstrap(options.endpoint.as_ref())
            .await
            .map_err(|status| ServerError::Bootstrap(status.message))?;
        let tokens = options
            .tokens
            .as_ref()
            .map(Tokens::new)
            .transpose()?
            .map(Arc::new);
        let front_proxy = options.front_proxy;
        let (shutdown, mut stopped) = watch::channel(false);
        if let Some(front_proxy) = &front_proxy {
            crate::aggregator::publish_authentication(&registry, front_proxy)
                .await
                .map_err(|status| ServerError::Bootstrap(status.message))?;
            crate::aggregator::spawn_availability(
                registry.clone(),
                front_proxy.clone(),
                shutdown.subscribe(),
            );
        }
        let context = routes::Context {
            registry,
            advertise_address: options.advertise_address.into(),
            tokens,
            front_proxy,
            kubelet_client: options.kubelet_client,
        };
        let router = routes::router(Arc::new(options.version), context);
        let task = tokio::spawn(async move {
            // Connections live in a set, so that stopping the server ends them too.
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let (tcp, peer) = tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok(accepted) => accepted,
                        Err(e) => {
                            tracing::warn!(component = "apiserver", error = %e, "accept failed");
                            continue;
                        }
                    },
                    Some(_) = connections.join_next(), if !connections.is_empty() => continue,
                    _ = stopped.changed() => {
                        connections.shutdown().await;
                        return;
                    }
                };
                connections.spawn(serve_connection(
                    acceptor.clone(),
                    client_ca.clone(),
                    router.clone(),
                    tcp,
                    peer,
                ));
            }
        });
        tracing::info!(component = "apiserver", address = %local_addr, "serving");
        Ok(Self {
            local_addr,
            shutdown,
            task,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting connections.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

/// TLS handshake, the caller from the client certificate (one the cluster CA issued; any other
/// authenticates nobody, and the request's bearer token may still), then HTTP on the router.
async fn serve_connection(
    acceptor: TlsAcceptor,
    client_ca: tls::ClientCa,
    router: axum::Router,
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
) {
    let tls = match acceptor.accept(tcp).await {
        Ok(tls) => tls,
        Err(e) => {
            tracing::debug!(component = "apiserver", %peer, error = %e, "TLS handshake failed");
            return;
        }
    };
    let user = tls
        .get_ref()
        .1
        .peer_certificates()
        .filter(|chain| client_ca.verifies(chain))
        .and_then(|chain| chain.first())
        .and_then(UserInfo::from_certificate);
    let service = Extension(Caller(user)).layer(router);
    let served = auto::Builder::new(TokioExecutor::new())
        .serve_connection_with_upgrades(TokioIo::new(tls), TowerToHyperService::new(service))
        .await;
    if let Err(e) = served {
        tracing::debug!(component = "apiserver", %peer, error = %e, "connection ended");
    }
}
